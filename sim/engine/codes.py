"""Integer codes shared by events, postings and results."""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import numpy.typing as npt

from sim.policy.earn import MAX_ONE_TIME_RULES


class Account(IntEnum):
    """Where points sit. ``ISSUED`` is the programme's source; a member's ledger satisfies
    issued = pending + available + redeemed + expired + reversed + donated."""

    ISSUED = 0
    PENDING = 1
    AVAILABLE = 2
    REDEEMED = 3
    EXPIRED = 4
    REVERSED = 5
    DONATED = 6


N_ACCOUNTS = len(Account)


class Kind(IntEnum):
    """What an event is. Field use per kind is documented on :class:`sim.engine.DayEvents`."""

    PURCHASE = 1
    REFUND = 2
    CHECKIN = 3
    ACTION = 4
    REFERRAL = 5
    INVESTMENT = 6
    REDEEM = 7
    CASH_OFFSET = 8
    LOTTERY = 9
    BID = 10
    DONATE = 11
    FREEZE = 12
    UNFREEZE = 13
    ADJUST = 14


KIND_MAX = int(max(Kind))

BURN_KINDS = (Kind.REDEEM, Kind.CASH_OFFSET, Kind.LOTTERY, Kind.BID, Kind.DONATE)
EARN_KINDS = (Kind.PURCHASE, Kind.CHECKIN, Kind.ACTION, Kind.REFERRAL, Kind.INVESTMENT)


def _table(kinds: tuple[Kind, ...]) -> npt.NDArray[np.bool_]:
    table = np.zeros(max(Kind) + 1, bool)
    table[list(kinds)] = True
    return table


EARN_KIND = _table(EARN_KINDS)
BURN_KIND = _table(BURN_KINDS)
"""Lookup tables: ``EARN_KIND[events.kind]`` is a mask of earn events (faster than isin)."""


class Status(IntEnum):
    """Outcome of one event."""

    OK = 0
    CAPPED = 1
    """Accepted, but caps cut the points it earned (possibly to zero)."""
    NO_RULE = 2
    """Accepted; no rule of the policy pays for it."""
    DUPLICATE = 3
    """A second check-in the same day, or a one-time action already rewarded."""
    INSUFFICIENT = 4
    FROZEN = 5
    OUT_OF_STOCK = 6
    TIER_TOO_LOW = 7
    BELOW_MINIMUM = 8
    UNKNOWN_ITEM = 9
    DISABLED = 10
    """The policy has no such burn option (or it is switched off)."""
    NO_MATCH = 11
    """A refund that reversed nothing: no pending points of its order and no balance to claw
    back (what could not be taken is recorded as the member's shortfall)."""


REJECTED = frozenset(
    {
        Status.INSUFFICIENT,
        Status.FROZEN,
        Status.OUT_OF_STOCK,
        Status.TIER_TOO_LOW,
        Status.BELOW_MINIMUM,
        Status.UNKNOWN_ITEM,
        Status.DISABLED,
    }
)

STAGES = ("signup", "verified", "first_purchase")
REFERRAL_BIT = MAX_ONE_TIME_RULES
"""A referee's member flags bits ``REFERRAL_BIT + stage``: its referral stage was paid. The
one-time rules use the bits below (at most ``MAX_ONE_TIME_RULES``)."""
ROLES = ("referrer", "referee")


def referral_code(stage: str, role: str) -> int:
    """Event ``code`` of a referral event: which stage, and which side this member is."""
    return STAGES.index(stage) * 2 + ROLES.index(role)

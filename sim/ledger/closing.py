"""How far one end of day may close, and what a close would do before it is done.

Closing a day is irreversible: pending points are released, lots expire, tiers are reviewed.
A date typed wrong (``9999-12-31``) would close thousands of days and expire every point, so
one of more than :data:`MAX_DAYS` is refused outright, and an operator's close (``guarded``:
the CLI without ``--yes``) more than :data:`CONFIRM_DAYS` past the ledger's business day is
refused until confirmed (a program replaying history closes long spans on purpose). A preview
runs the same closes in a transaction that is rolled back and counts what they would expire and
release.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from sim.engine import to_date
from sim.engine.flows import point_flows
from sim.ledger.book import Step
from sim.ledger.store import LedgerError

CONFIRM_DAYS = 31
"""Days past the business day one end of day may close without confirmation."""

MAX_DAYS = 3660
"""Days one end of day may close at all (ten years): more is a mistake, not a catch-up."""


class CloseNeedsConfirmation(LedgerError):
    """A close far past the business day that the caller has not confirmed."""


def check_span(through: dt.date, closed_through: int, target: int, *, guarded: bool) -> int:
    """The days a close through ``target`` would close (0 when none), or :class:`LedgerError`
    naming ``date`` when it is too far past the business day (``closed_through + 1``)."""
    business = closed_through + 1
    days = target - closed_through
    if days <= CONFIRM_DAYS:
        return max(days, 0)
    span = f"{days:,} days, {to_date(business)} to {through}"
    if days > MAX_DAYS:
        raise LedgerError(
            f"{through} would close {span}: more than {MAX_DAYS:,} days at once is refused "
            "(close a catch-up in steps of at most that)",
            field="date",
        )
    if guarded:
        raise CloseNeedsConfirmation(
            f"{through} would close {span}, more than {CONFIRM_DAYS} days past the business "
            f"day {to_date(business)}; closing expires points and cannot be undone: confirm "
            "it if you mean it (a preview shows what it would expire and release)",
            field="date",
        )
    return days


@dataclass
class ClosePreview:
    """What closing the days from ``first`` through ``last`` would do, per group."""

    first: dt.date | None
    last: dt.date | None
    days: int
    expired_points: dict[str, int] = field(default_factory=dict)
    members_expiring: dict[str, int] = field(default_factory=dict)
    released_points: dict[str, int] = field(default_factory=dict)
    changed: bool = False
    """Always False: a preview writes nothing."""

    def add(self, grp: str, steps: list[Step]) -> None:
        expired, released = 0, 0
        members: list[np.ndarray] = []
        for step in steps:
            for chunk in step.result.posting_chunks:
                flows = point_flows(chunk.src, chunk.dst)
                gone = flows["points_expired"]
                expired += int(chunk.points[gone].sum())
                members.append(chunk.member[gone])
                released += int(chunk.points[flows["points_released"]].sum())
        self.expired_points[grp] = expired
        self.released_points[grp] = released
        self.members_expiring[grp] = len(np.unique(np.concatenate(members))) if members else 0

"""Helpers for the engine's unit tests: policies, a small runner, and one-event builders.

Every runner call checks the engine's invariants after the step, so each test checks them after
every day it runs, not only at its end.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sim.engine import (
    Account,
    CompiledPolicy,
    DayEvents,
    DayResult,
    EngineState,
    Kind,
    Postings,
    Status,
    apply_events,
    check_invariants,
    close_day,
    compile_policy,
    day_number,
    new_state,
    open_day,
    referral_code,
    step_day,
    to_date,
)
from sim.policy import ACTIONS, MICROS, Policy, load_policy, override, validate_policy

POLICIES = Path(__file__).resolve().parent.parent / "policies"

TINY = """
[program]
name = "tiny"
point_value = 0.01

[earn.purchase]
kind = "purchase"
points_per_unit = 1.0

[tiers.member]
threshold = 0

[expiry]
mode = "never"
"""
"""A minimal programme: 1 point per currency unit, one tier, points never expire."""

I64 = npt.NDArray[np.int64]


def day(text: str) -> int:
    """Day number of an ISO date."""
    return day_number(dt.date.fromisoformat(text))


def micros(cny: float) -> int:
    """Exact micro-units of a currency amount."""
    return round(cny * MICROS)


def policy_from(toml: str) -> Policy:
    """A validated policy from TOML text."""
    return validate_policy(tomllib.loads(toml), "<test>")


def compiled(toml: str) -> CompiledPolicy:
    """A compiled policy from TOML text."""
    return compile_policy(policy_from(toml))


def repo_policy(name: str, overrides: Mapping[str, Any] | None = None) -> CompiledPolicy:
    """A compiled policy from ``policies/<name>.toml``, optionally overridden."""
    policy = load_policy(POLICIES / f"{name}.toml")
    if overrides:
        policy = override(policy, overrides)
    return compile_policy(policy)


@dataclass
class Sim:
    """One engine state under one policy, stepped day by day with invariants checked."""

    cp: CompiledPolicy
    state: EngineState

    @classmethod
    def start(
        cls,
        cp: CompiledPolicy,
        n: int,
        start: str,
        *,
        joined: str | None = None,
        birth_month: Iterable[int] | None = None,
        group: Iterable[int] | None = None,
        referrer: Iterable[int] | None = None,
    ) -> Sim:
        """``n`` members, the clock before ``start``; ``joined`` (default: 2020-01-01, so that
        new-member campaigns are over) is everyone's join date."""
        join = np.full(n, day(joined or "2020-01-01"), np.int64)
        state = new_state(
            cp,
            n,
            day(start),
            join_day=join,
            birth_month=None if birth_month is None else np.array(list(birth_month), np.int8),
            group=None if group is None else np.array(list(group), np.int16),
            referrer=None if referrer is None else np.array(list(referrer), np.int64),
        )
        return cls(cp, state)

    @property
    def today(self) -> int:
        return self.state.program.day

    def step(self, date: str | int, events: DayEvents | None = None) -> DayResult:
        """Run a whole day (open, events, close), then check the invariants."""
        d = day(date) if isinstance(date, str) else date
        result = step_day(self.cp, self.state, d, events)
        check_invariants(self.cp, self.state)
        return result

    def open(self, date: str | int) -> DayResult:
        d = day(date) if isinstance(date, str) else date
        result = open_day(self.cp, self.state, d)
        check_invariants(self.cp, self.state)
        return result

    def apply(self, events: DayEvents) -> DayResult:
        result = apply_events(self.cp, self.state, self.today, events)
        check_invariants(self.cp, self.state)
        return result

    def close(self) -> DayResult:
        result = close_day(self.cp, self.state, self.today)
        check_invariants(self.cp, self.state)
        return result

    def run_through(self, date: str) -> dict[str, DayResult]:
        """Step every day after the last one opened up to and including ``date``, no events;
        the results by ISO date."""
        return {to_date(d).isoformat(): self.step(d) for d in range(self.today + 1, day(date) + 1)}

    def account(self, member: int, account: Account) -> int:
        return int(self.state.members.acct[member, account])

    def available(self, member: int) -> int:
        return self.account(member, Account.AVAILABLE)

    def pending(self, member: int) -> int:
        return self.account(member, Account.PENDING)

    def tier(self, member: int) -> str:
        return self.cp.tier_names[int(self.state.members.tier[member])]

    def set_tier(self, member: int, tier: str) -> None:
        self.state.members.tier[member] = self.cp.tier_names.index(tier)

    def give(self, date: str, points: dict[int, int]) -> None:
        """Credit points by operator adjustment on ``date``."""
        self.step(date, batch(*(adjust(m, p) for m, p in points.items())))


# --- one-event builders (all through DayEvents.build) -------------------------------------


def purchase(
    member: int, cny: float, *, category: int = 0, items: int = 0, order: int = 0
) -> DayEvents:
    return DayEvents.build(
        member, Kind.PURCHASE, amount=micros(cny), quantity=items, code=category, ref=order
    )


def refund(member: int, cny: float, points: int, order: int) -> DayEvents:
    return DayEvents.build(member, Kind.REFUND, amount=micros(cny), quantity=points, ref=order)


def checkin(member: int) -> DayEvents:
    return DayEvents.build(member, Kind.CHECKIN)


def action(member: int, name: str) -> DayEvents:
    return DayEvents.build(member, Kind.ACTION, code=ACTIONS.index(name))


def referral(member: int, stage: str, role: str) -> DayEvents:
    return DayEvents.build(member, Kind.REFERRAL, code=referral_code(stage, role))


def invest(member: int, cny: float, matures: str, order: int = -1) -> DayEvents:
    return DayEvents.build(
        member, Kind.INVESTMENT, amount=micros(cny), quantity=day(matures), ref=order
    )


def redeem(member: int, item: int, units: int = 1) -> DayEvents:
    return DayEvents.build(member, Kind.REDEEM, code=item, quantity=units)


def cash_offset(member: int, order_cny: float, points: int = 0) -> DayEvents:
    return DayEvents.build(member, Kind.CASH_OFFSET, amount=micros(order_cny), quantity=points)


def lottery(member: int, draw: float) -> DayEvents:
    return DayEvents.build(member, Kind.LOTTERY, draw=draw)


def bid(member: int, lot: int, points: int) -> DayEvents:
    return DayEvents.build(member, Kind.BID, code=lot, quantity=points)


def donate(member: int, points: int) -> DayEvents:
    return DayEvents.build(member, Kind.DONATE, quantity=points)


def adjust(member: int, points: int) -> DayEvents:
    return DayEvents.build(member, Kind.ADJUST, quantity=points)


def freeze(member: int) -> DayEvents:
    return DayEvents.build(member, Kind.FREEZE)


def unfreeze(member: int) -> DayEvents:
    return DayEvents.build(member, Kind.UNFREEZE)


def batch(*parts: DayEvents) -> DayEvents:
    """Events in the order given (``seq`` renumbered 0, 1, 2 ... in that order)."""
    events = DayEvents.concat(list(parts))
    events.seq = np.arange(len(events), dtype=np.int64)
    return events


# --- reading results -----------------------------------------------------------------------


def points_by_rule(cp: CompiledPolicy, postings: Postings, dst: Account) -> dict[str, int]:
    """Total points posted into ``dst`` per rule id (rules with nothing are left out)."""
    out: dict[str, int] = {}
    into = postings.dst == dst
    for rule, pts in zip(postings.rule[into], postings.points[into], strict=True):
        name = cp.rule_ids[int(rule)]
        out[name] = out.get(name, 0) + int(pts)
    return out


def earned(result: DayResult) -> list[int]:
    """Points earned (+) or spent (-) per event of the day, as plain ints."""
    return [int(p) for p in result.points]


def statuses(result: DayResult) -> list[str]:
    """Status names per event of the day."""
    return [Status(int(s)).name for s in result.status]

"""The order of one day (DESIGN.md section 3), as three calls both shells make:

1. :func:`open_day` releases pending points that are due and expires lots past their date;
2. :func:`apply_events` runs a batch of the day's events: control (freeze), earn, refunds,
   burns; call it once with the whole day or many times with parts of it;
3. :func:`close_day` closes auctions, reviews tiers, pays tier packs and interest at month end,
   adjusts a dynamic point value, and lists expiry reminders.

:func:`step_day` does all three. Each returns a :class:`DayResult`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.engine import calendar as cal
from sim.engine.arith import whole_points
from sim.engine.award import apply_earn, pay_mentors
from sim.engine.burn import apply_burns, apply_refunds, close_auctions
from sim.engine.codes import Account, Kind
from sim.engine.compiled import UNLIMITED, CompiledPolicy
from sim.engine.context import Ctx
from sim.engine.events import DayEvents, Postings
from sim.engine.groups import last_of_group
from sim.engine.journal import Journal, credit_lots
from sim.engine.liability import anchor_liability
from sim.engine.state import EngineState
from sim.engine.tiers import add_qualifying, review, roll_qualifying, upgrade_now

I64 = npt.NDArray[np.int64]


@dataclass
class DayResult:
    """What one engine call did.

    ``postings`` is the call's journal (joined from its chunks when first read: callers that
    aggregate can read ``posting_chunks`` instead). ``status`` and ``points`` are per event of
    the batch (empty for open/close); ``points`` is what the event earned (+) or spent (-).
    ``tier_*`` list tier changes; ``reminder_*`` list members reminded ``reminder_days``
    before ``reminder_points`` expire."""

    posting_chunks: list[Postings]
    status: npt.NDArray[np.int8]
    points: I64
    tier_member: I64
    tier_old: I64
    tier_new: I64
    reminder_member: I64
    reminder_days: I64
    reminder_points: I64

    @functools.cached_property
    def postings(self) -> Postings:
        return Postings.concat(self.posting_chunks)

    @classmethod
    def of(cls, ctx: Ctx) -> DayResult:
        def cat(parts: list[I64]) -> I64:
            return np.concatenate(parts) if parts else np.zeros(0, np.int64)

        tc, rm = ctx.tier_changes, ctx.reminders
        return cls(
            posting_chunks=ctx.journal.chunks(),
            status=ctx.status,
            points=ctx.points,
            tier_member=cat([t[0] for t in tc]),
            tier_old=cat([t[1] for t in tc]),
            tier_new=cat([t[2] for t in tc]),
            reminder_member=cat([r[0] for r in rm]),
            reminder_days=cat([np.full(len(r[0]), r[1], np.int64) for r in rm]),
            reminder_points=cat([r[2] for r in rm]),
        )

    @classmethod
    def combine(cls, parts: list[DayResult]) -> DayResult:
        def cat(name: str) -> npt.NDArray[np.generic]:
            return np.concatenate([getattr(p, name) for p in parts])

        return cls(
            [c for p in parts for c in p.posting_chunks],
            *(cat(f) for f in list(cls.__dataclass_fields__)[1:]),  # type: ignore[arg-type]
        )


def _ctx(cp: CompiledPolicy, state: EngineState, day: int, events: DayEvents | None) -> Ctx:
    value = cp.point_values(state.program.value_factor)
    journal = Journal(state, value, day)
    return Ctx(cp, state, day, events if events is not None else DayEvents.empty(), journal)


def open_day(cp: CompiledPolicy, state: EngineState, day: int) -> DayResult:
    """Start ``day``: release due pending points, then expire what is past its date."""
    ps = state.program
    if day <= ps.day:
        raise ValueError(
            f"day {cal.to_date(day)} is not after the last day opened ({cal.to_date(ps.day)})"
        )
    for d in range(max(ps.day + 1, day - 29), day + 1):
        ps.gmv_days[d % 30] = 0
    ps.day = day
    ctx = _ctx(cp, state, day, None)
    # Dated periods are expired before the release so the ring of lot buckets is current when
    # released points are filed; the two touch disjoint periods, so the result is the same as
    # releasing first (DESIGN.md section 3). Inactivity expiry follows the release.
    _refresh_counters(ctx)
    _expire_periods(ctx)
    _release(ctx)
    _expire_inactive(ctx)
    return DayResult.of(ctx)


def _refresh_counters(ctx: Ctx) -> None:
    """Reset every member's daily counters in contiguous passes (and the monthly ones and the
    qualifying months when the month changed): cheaper than the lazy per-member resets, which
    stay for states that skip days for some members."""
    ms = ctx.ms
    ms.rule_day[:] = 0
    ms.overall_day[:] = 0
    stale_month = ms.cap_month != ctx.month
    if stale_month.all():  # the first day of a month
        ms.rule_month[:] = 0
        ms.overall_month[:] = 0
        ms.cap_month[:] = ctx.month
    elif stale_month.any():
        ms.rule_month[stale_month] = 0
        ms.overall_month[stale_month] = 0
        ms.cap_month[stale_month] = ctx.month
    ms.cap_day[:] = ctx.day
    roll_qualifying(ms, np.flatnonzero(ms.qual_month < ctx.month), ctx.month)
    ctx.ps.fresh_day = ctx.day


def _release(ctx: Ctx) -> None:
    pend = ctx.ps.pending
    due = pend.release <= ctx.day
    if not due.any():
        return
    m, pts, rule = pend.member[due], pend.points[due], pend.rule[due]
    pend.keep(~due)  # before paying mentors, who are paid by appending pending rows
    ctx.journal.post(m, rule, Account.PENDING, Account.AVAILABLE, pts)
    credit_lots(ctx.ms, m, pts, ctx.earn_slot())
    pay_mentors(ctx, m, rule, pts)
    if ctx.cp.qualify_points:
        q = ctx.cp.rule_qualifying[rule]
        add_qualifying(ctx, m[q], pts[q])
        upgrade_now(ctx, m[q])


def _expire_periods(ctx: Ctx) -> None:
    scheme, ms, ps = ctx.cp.expiry, ctx.ms, ctx.ps
    rule = ctx.cp.rule("expiry")
    if scheme.periodic:
        first = scheme.first_period
        while scheme.end_day(ps.expired_through + 1) < ctx.day:
            ps.expired_through += 1
            if first is not None and ps.expired_through < first:
                continue  # before first_expiry no period holds points; its bucket may be in use
            slot = ps.expired_through % scheme.slots
            m = np.flatnonzero(ms.lots[:, slot] > 0)
            pts = ms.lots[m, slot]
            ctx.journal.post(m, rule, Account.AVAILABLE, Account.EXPIRED, pts)
            ms.lots[m, slot] = 0


def _expire_inactive(ctx: Ctx) -> None:
    scheme, ms = ctx.cp.expiry, ctx.ms
    rule = ctx.cp.rule("expiry")
    if scheme.mode == "inactivity":
        idle = ms.last_active < ctx.day - scheme.inactivity_days
        m = np.flatnonzero(idle & (ms.lots[:, 0] > 0))
        pts = ms.lots[m, 0]
        ctx.journal.post(m, rule, Account.AVAILABLE, Account.EXPIRED, pts)
        ms.lots[m, 0] = 0


def apply_events(cp: CompiledPolicy, state: EngineState, day: int, events: DayEvents) -> DayResult:
    """Apply a batch of ``day``'s events (``day`` must be open) in the canonical order:
    freezes, earn (caps in arrival order), refunds, then burns (per member in arrival order)."""
    if day != state.program.day:
        raise ValueError(
            f"events are for {cal.to_date(day)} but the open day is "
            f"{cal.to_date(state.program.day)}: call open_day first"
        )
    events.validate(len(state.members))
    ctx = _ctx(cp, state, day, events)
    _control(ctx)
    apply_earn(ctx)
    apply_refunds(ctx)
    apply_burns(ctx)
    return DayResult.of(ctx)


def _control(ctx: Ctx) -> None:
    ev = ctx.events
    if not ctx.has_kind(Kind.FREEZE, Kind.UNFREEZE):
        return
    idx = np.flatnonzero((ev.kind == Kind.FREEZE) | (ev.kind == Kind.UNFREEZE))
    pick = idx[last_of_group(ev.member[idx])]
    ctx.ms.frozen[ev.member[pick]] = ev.kind[pick] == Kind.FREEZE


def close_day(cp: CompiledPolicy, state: EngineState, day: int) -> DayResult:
    """End ``day``: auctions, tier reviews, month-end packs and interest, value level, reminders."""
    if day != state.program.day:
        raise ValueError(
            f"close_day({cal.to_date(day)}) but the open day is {cal.to_date(state.program.day)}"
        )
    ctx = _ctx(cp, state, day, None)
    close_auctions(ctx)
    review(ctx)
    if cal.is_month_end(day):
        _tier_packs(ctx)
        _interest(ctx)
    _dynamic_value(ctx)
    _reminders(ctx)
    return DayResult.of(ctx)


def _tier_packs(ctx: Ctx) -> None:
    pack = ctx.cp.tier_pack
    if not pack.any():
        return
    ms = ctx.ms
    m = np.flatnonzero(pack[ms.tier.astype(np.int64)] > 0)
    cost = pack[ms.tier[m].astype(np.int64)]
    ctx.journal.post(
        m,
        ctx.cp.rule("tier_pack"),
        Account.ISSUED,
        Account.REDEEMED,
        np.zeros(len(m), np.int64),
        cost,
    )


def _interest(ctx: Ctx) -> None:
    cp = ctx.cp
    if cp.interest_rate == 0.0:
        return
    ms = ctx.ms
    bal = ms.acct[:, Account.AVAILABLE]
    m = np.flatnonzero((bal > 0) & (bal >= cp.interest_min_balance))
    pts = whole_points(bal[m] * cp.interest_rate)
    if cp.interest_max_points < UNLIMITED:
        pts = np.minimum(pts, cp.interest_max_points)
    ctx.journal.post(m, ctx.cp.rule("interest"), Account.ISSUED, Account.AVAILABLE, pts)
    credit_lots(ms, m, pts, ctx.earn_slot())


def _dynamic_value(ctx: Ctx) -> None:
    cp, ps = ctx.cp, ctx.ps
    gmv = int(ps.gmv_days.sum())
    if not cp.dynamic_value or gmv <= 0:
        return
    liability = anchor_liability(cp, ctx.ms, ps.value_factor)
    if liability > cp.dynamic_threshold * gmv:
        ps.value_factor = max(cp.dynamic_floor, ps.value_factor * cp.dynamic_step)
    elif liability < cp.dynamic_recover_below * gmv:
        ps.value_factor = min(1.0, ps.value_factor / cp.dynamic_step)


def _reminders(ctx: Ctx) -> None:
    scheme, ms = ctx.cp.expiry, ctx.ms
    for days in scheme.reminders:
        target = ctx.day + days
        if scheme.periodic:
            p = scheme.current_period(target)
            if scheme.end_day(p) != target:
                continue
            slot = p % scheme.slots
            m = np.flatnonzero(ms.lots[:, slot] > 0)
            ctx.reminders.append((m, days, ms.lots[m, slot].copy()))
        elif scheme.mode == "inactivity":
            expires = ms.last_active + scheme.inactivity_days + 1
            m = np.flatnonzero((expires - ctx.day == days) & (ms.lots[:, 0] > 0))
            ctx.reminders.append((m, days, ms.lots[m, 0].copy()))


def step_day(
    cp: CompiledPolicy, state: EngineState, day: int, events: DayEvents | None = None
) -> DayResult:
    """A whole day: open, apply all its events, close."""
    parts = [open_day(cp, state, day)]
    parts.append(apply_events(cp, state, day, events if events is not None else DayEvents.empty()))
    parts.append(close_day(cp, state, day))
    return DayResult.combine(parts)

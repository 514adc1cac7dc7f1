"""Property tests of the engine's invariants (DESIGN.md sections 3 and 4) over random policies
(the repository's programmes with fields varied, and small policies with every kind of rule)
and random event streams of several days around month ends (strategies in strategies.py):

1. every call conserves points and its postings explain exactly how the accounts changed;
2. no negative balance, unless refunds may claw back beyond it (and then only refunds do);
3. no cap (per rule, overall; daily, monthly) is ever exceeded, and caps cut only when reached;
4. burns take the earliest-expiring lots first; expiry takes only what is left of a lot;
5. a day's events give the same result whole, member by member, in member batches, or cut
   into consecutive ranges (time splits, of a day in its canonical order);
6. the same inputs give the same results;
and postings are valued at the member's point value of the day.

Bugs these properties found carry their smallest reproduction as an explicit ``@example``, so
every run checks them again.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from strategies import (
    Scenario,
    Split,
    ample_stock,
    canonical_order,
    could_pay,
    scarce_stock,
    scenario_of,
    scenarios,
    splits,
    tight_caps,
)

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
    open_day,
    posting_deltas,
    step_day,
    to_date,
)
from sim.engine.calendar import month_index

I64 = npt.NDArray[np.int64]

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEW = settings(SETTINGS, max_examples=30)
OUTFLOWS = (Account.REDEEMED, Account.EXPIRED, Account.REVERSED, Account.DONATED)


# --------------------------------------------------------------------------- running


@dataclass
class Step:
    """One engine call of a run. ``after`` is the live state: read it before the next step."""

    call: str  # "open", "apply" or "close"
    day: int
    events: DayEvents  # the batch (empty for open and close)
    before: EngineState
    after: EngineState
    result: DayResult


def snapshot(obj: Any) -> Any:
    """A copy of engine state (dataclasses of arrays and scalars), faster than deepcopy."""
    if isinstance(obj, np.ndarray):
        return obj.copy(order="K")
    if is_dataclass(obj) and not isinstance(obj, type):
        return type(obj)(**{f.name: snapshot(getattr(obj, f.name)) for f in fields(obj)})
    if isinstance(obj, int | float | str | None):
        return obj
    return copy.deepcopy(obj)


def steps(sc: Scenario) -> Iterator[Step]:
    """Run ``sc`` day by day as open, apply (the whole day's events), close."""
    cp, state = sc.cp, sc.initial_state()
    for offset, events in zip(sc.offsets, sc.days, strict=True):
        day = sc.start + offset
        for call in ("open", "apply", "close"):
            before = snapshot(state)
            if call == "open":
                batch, result = DayEvents.empty(), open_day(cp, state, day)
            elif call == "apply":
                batch, result = events, apply_events(cp, state, day, events)
            else:
                batch, result = DayEvents.empty(), close_day(cp, state, day)
            yield Step(call, day, batch, before, state, result)


def where(step: Step) -> str:
    return f"{step.call}_day on {to_date(step.day)}"


def per_member(n: int, member: I64, values: I64) -> I64:
    out = np.zeros(n, np.int64)
    np.add.at(out, member, values)
    return out


def rows_of(obj: Any) -> npt.NDArray[np.float64]:
    """The array fields of a dataclass table as the columns of one 2-D array."""
    cols = [np.asarray(getattr(obj, f.name), np.float64) for f in fields(obj)]
    return np.stack(cols, axis=1) if cols and len(cols[0]) else np.zeros((0, len(cols)))


def as_multiset(obj: Any) -> npt.NDArray[np.float64]:
    """Rows of a dataclass table, sorted: equal for equal multisets of rows."""
    rows = rows_of(obj)
    return rows[np.lexsort(rows.T[::-1])] if len(rows) else rows


def assert_same_state(a: EngineState, b: EngineState, what: str) -> None:
    """Member arrays equal; programme tables equal, pending and bids as multisets of rows."""
    for f in fields(a.members):
        x, y = getattr(a.members, f.name), getattr(b.members, f.name)
        np.testing.assert_array_equal(x, y, err_msg=f"{what}: members.{f.name}")
    for f in fields(a.program):
        x, y = getattr(a.program, f.name), getattr(b.program, f.name)
        if is_dataclass(x):
            np.testing.assert_array_equal(
                as_multiset(x), as_multiset(y), err_msg=f"{what}: program.{f.name}"
            )
        else:
            np.testing.assert_array_equal(x, y, err_msg=f"{what}: program.{f.name}")


def assert_same_results(a: DayResult, b: DayResult, what: str) -> None:
    """Identical results, field by field and in order (the journal compared whole, however
    it is chunked)."""
    for name in ["postings", *(f.name for f in fields(a) if f.name != "posting_chunks")]:
        x, y = getattr(a, name), getattr(b, name)
        if is_dataclass(x):
            for g in fields(x):
                np.testing.assert_array_equal(
                    getattr(x, g.name), getattr(y, g.name), err_msg=f"{what}: {name}.{g.name}"
                )
        else:
            np.testing.assert_array_equal(x, y, err_msg=f"{what}: {name}")


# --------------------------------------------------------------------------- 1. conservation

# Found by these properties (fixed since): releasing delayed points that a mentor shares
# crashed open_day (the mentor's pending row was appended while the due rows were released).
MENTOR_DELAYED = {
    "program": {"name": "mentor", "point_value": 0.01},
    "earn": {
        "buy": {"kind": "purchase", "delay_days": 1},
        "mentor": {"kind": "mentor_share", "share": 0.5, "rules": ["buy"]},
    },
    "tiers": {"base": {"threshold": 0}},
}


@SETTINGS
@given(scenarios())
@example(
    scenario_of(
        MENTOR_DELAYED,
        dt.date(2026, 1, 25),
        [[(1, Kind.PURCHASE, 20_000_000, 0, 0, 1)], []],
        referrer=(-1, 0),
    )
)
def test_every_call_conserves_points_and_its_postings_explain_the_change(sc: Scenario) -> None:
    """After every open, apply and close: ``check_invariants`` holds (issued = pending +
    available + redeemed + expired + reversed + donated; lots = available - debt; pending
    table = pending account ...); the call's postings add up to the change of every member's
    accounts; and each event's ``points`` is what its member's postings for it moved."""
    n = sc.n
    for s in steps(sc):
        check_invariants(sc.cp, s.after)
        p = s.result.postings
        delta = s.after.members.acct - s.before.members.acct
        np.testing.assert_array_equal(
            posting_deltas(p, n), delta, err_msg=f"{where(s)}: postings != account changes"
        )
        assert ((p.points > 0) | (p.cost > 0)).all(), f"{where(s)}: a posting of nothing"
        assert (p.points >= 0).all() and (p.cost >= 0).all(), f"{where(s)}: negative posting"
        assert (p.src != p.dst).all() and (p.dst != Account.ISSUED).all(), where(s)
        assert np.isin(p.src, [Account.ISSUED, Account.PENDING, Account.AVAILABLE]).all()
        assert len(s.result.status) == len(s.result.points) == len(s.events), where(s)
        ev = s.events
        assert ((p.event >= -1) & (p.event < len(ev))).all(), f"{where(s)}: event index"
        if not len(ev):
            continue
        # what each event earned (+) or spent (-) is what the member's postings for it moved
        mine = (p.event >= 0) & (p.member == ev.member[np.maximum(p.event, 0)])
        sign = np.where(p.src == Account.ISSUED, 1, np.where(np.isin(p.dst, OUTFLOWS), -1, 0))
        moved = np.zeros(len(ev), np.int64)
        np.add.at(moved, p.event[mine], (sign * p.points)[mine])
        np.testing.assert_array_equal(
            s.result.points, moved, err_msg=f"{where(s)}: points per event != its postings"
        )


# --------------------------------------------------------------------------- 2. negatives


@SETTINGS
@given(scenarios())
def test_no_negative_balance_unless_refund_clawback_allows_it(sc: Scenario) -> None:
    """Balances never go negative, except by a refund clawback beyond the balance when the
    policy says ``refunds.clawback = "allow_negative"``. Refunds reverse exactly the points
    they ask for: voided pending + clawed back + recorded shortfall."""
    allow = sc.policy.refunds.clawback == "allow_negative"
    refund_rule = sc.cp.rule("refund")
    n = sc.n
    for s in steps(sc):
        ms0, ms1, p = s.before.members, s.after.members, s.result.postings
        bal0, bal1 = ms0.acct[:, Account.AVAILABLE], ms1.acct[:, Account.AVAILABLE]
        others = [a for a in Account if a != Account.AVAILABLE]
        assert (ms1.acct[:, others] >= 0).all() and (ms1.lots >= 0).all(), where(s)
        out = p.src == Account.AVAILABLE
        claw = out & (p.rule == refund_rule)
        clawed = per_member(n, p.member[claw], p.points[claw])
        spent = per_member(n, p.member[out & ~claw], p.points[out & ~claw])
        if not allow:
            assert (bal1 >= 0).all(), f"{where(s)}: negative balance {bal1}"
            assert (ms1.debt == 0).all(), f"{where(s)}: debt {ms1.debt}"
        else:
            # only a refund clawback takes a balance below zero (or deeper below it) ...
            low = np.minimum(bal1, 0) < np.minimum(bal0, 0) - clawed
            assert not low.any(), f"{where(s)}: balance {bal0} -> {bal1}, clawed back {clawed}"
        # ... and nothing else spends or expires points a member does not hold
        assert (bal1[spent > 0] >= 0).all(), f"{where(s)}: spent into a negative balance"
        ev = s.events
        refund = ev.kind == Kind.REFUND
        if refund.any():
            asked = per_member(n, ev.member[refund], ev.quantity[refund])
            rev = (p.dst == Account.REVERSED) & (p.rule == refund_rule)
            done = per_member(n, p.member[rev], p.points[rev])
            short = ms1.shortfall - ms0.shortfall
            np.testing.assert_array_equal(asked, done + short, err_msg=f"{where(s)}: refunds")
            if allow:
                assert (short == 0).all(), f"{where(s)}: shortfall under allow_negative"


# --------------------------------------------------------------------------- 3. caps


Total = dict[tuple[str, int, int, int], int]
"""Points by (period, member, day or month index, cap scope)."""
OVERALL = -1
"""The cap scope of the overall caps (other scopes are earn rule indices)."""


@dataclass
class CapLedger:
    """Points issued per member under each cap scope, per day and per calendar month, and the
    events the caps cut (status CAPPED).

    A campaign's extra points are posted under the campaign's id but count toward the caps of
    the earn rule they boost, which the postings do not name: of the rules the campaign boosts,
    those that can pay for the event's kind. ``low`` counts such points only when that leaves
    one rule (a lower bound of what each cap counts), ``high`` counts them for every such rule
    (an upper bound)."""

    cp: CompiledPolicy
    low: Total = field(default_factory=dict)
    high: Total = field(default_factory=dict)
    capped: list[tuple[int, int, set[int], int]] = field(default_factory=list)
    """(member, day, the cap scopes the event falls under, event index)."""

    def scopes(self, bases: list[int]) -> tuple[set[int], set[int]]:
        """(scopes certainly counting points of one of ``bases``, scopes possibly counting)."""
        cp = self.cp
        overall = [bool(cp.rule_overall_cap[b]) for b in bases]
        sure = {OVERALL} if overall and all(overall) else set()
        if len(bases) == 1 and bases[0] in cp.cap_col:
            sure.add(bases[0])
        maybe = {b for b in bases if b in cp.cap_col} | ({OVERALL} if any(overall) else set())
        return sure, maybe

    def add(self, step: Step) -> None:
        cp, p, ev = self.cp, step.result.postings, step.events
        earn = dict(cp.earn)
        camps = {c.rule_id: c for c in cp.campaigns}

        def payers(e: int, boosts: npt.NDArray[np.bool_] | None = None) -> list[int]:
            kind, code = int(ev.kind[e]), int(ev.code[e])
            return [
                b
                for b, r in earn.items()
                if (boosts is None or boosts[b]) and could_pay(r, kind, code)
            ]

        issued = (p.src == Account.ISSUED) & np.isin(p.dst, [Account.PENDING, Account.AVAILABLE])
        for i in np.flatnonzero(issued):
            rule, member, pts = int(p.rule[i]), int(p.member[i]), int(p.points[i])
            if rule in earn:
                bases = [rule]
            elif rule in camps and p.event[i] >= 0:
                bases = payers(int(p.event[i]), camps[rule].boosts)
            else:
                continue  # lottery prizes, interest, adjustments: not earn, not capped
            sure, maybe = self.scopes(bases)
            for table, scopes in ((self.low, sure), (self.high, maybe)):
                for scope in scopes:
                    for key in self.keys(member, step.day, scope):
                        table[key] = table.get(key, 0) + pts
        for e in np.flatnonzero(step.result.status == Status.CAPPED):
            _, maybe = self.scopes(payers(int(e)))
            self.capped.append((int(ev.member[e]), step.day, maybe, int(e)))

    @staticmethod
    def keys(member: int, day: int, scope: int) -> list[tuple[str, int, int, int]]:
        return [("daily", member, day, scope), ("monthly", member, month_index(day), scope)]

    def cap(self, period: str, scope: int) -> tuple[int | None, str]:
        """The cap of ``scope`` per ``period`` and its policy path."""
        if scope == OVERALL:
            return getattr(self.cp.policy.caps, period), f"caps.{period}"
        rule_id = self.cp.rule_ids[scope]
        return getattr(self.cp.policy.earn[rule_id].caps, period), f"earn.{rule_id}.caps.{period}"

    def check(self) -> None:
        for (period, member, when, scope), pts in self.low.items():
            cap, name = self.cap(period, scope)
            label = to_date(when) if period == "daily" else f"month {when}"
            assert cap is None or pts <= cap, (
                f"member {member} got {pts} under {name}={cap} ({label})"
            )
        for member, day, scopes, e in self.capped:
            caps = [
                (*self.cap(key[0], scope), key)
                for scope in scopes
                for key in self.keys(member, day, scope)
            ]
            names = [name for cap, name, _ in caps if cap is not None]
            reached = [
                cap for cap, _, key in caps if cap is not None and self.high.get(key, 0) >= cap
            ]
            assert reached, (
                f"event {e} of member {member} on {to_date(day)} was CAPPED, but none of the "
                f"caps it falls under was used up: {names}"
            )


def check_caps(sc: Scenario) -> None:
    ledger = CapLedger(sc.cp)
    for s in steps(sc):
        ledger.add(s)
    ledger.check()


@SETTINGS
@given(st.one_of(scenarios(), scenarios(max_events=20).flatmap(tight_caps)))
def test_caps_are_never_exceeded_and_cut_only_when_reached(sc: Scenario) -> None:
    """Summed from the postings: no member gets more points in a day or a calendar month
    under a rule than the rule's caps, or under all rules that count toward the overall caps
    (``overall_cap``) than ``caps.daily`` / ``caps.monthly``; delayed points count on the day
    they are issued (as pending). And an event is CAPPED only when one of the caps it falls
    under has been used up (no under-payment)."""
    check_caps(sc)


# --------------------------------------------------------------------------- 4. FIFO, expiry


def first_live_period(cp: CompiledPolicy, state: EngineState) -> int:
    """The earliest expiry period that can hold points: the one after the last expired, or
    the period of ``expiry.first_expiry`` if later (no period before it holds points)."""
    first = cp.expiry.first_period
    start = state.program.expired_through + 1
    return start if first is None else max(start, first)


def fifo_order(cp: CompiledPolicy, state: EngineState) -> I64:
    """Lot buckets from the earliest-expiring on: from the first live period's bucket."""
    k = cp.expiry.slots
    start = first_live_period(cp, state) % k if cp.expiry.periodic else 0
    return (start + np.arange(k)) % k


@SETTINGS
@given(scenarios())
def test_burns_take_the_earliest_expiring_lots_and_expiry_only_what_is_left(
    sc: Scenario,
) -> None:
    """Burns, refunds and auctions draw lots down earliest-expiring first: no bucket shrinks
    while an earlier-expiring one still holds points afterwards. Expiry happens in open_day
    only and takes exactly what is left in the buckets of the periods that ended (or of idle
    members), so points spent earlier never expire again."""
    cp, scheme = sc.cp, sc.cp.expiry
    for s in steps(sc):
        ms0, ms1, p = s.before.members, s.after.members, s.result.postings
        lots0, lots1 = ms0.lots, ms1.lots
        if s.call in ("apply", "close"):
            # a bucket was drawn down while an earlier-expiring one still holds points
            order = fifo_order(cp, s.before)
            before, after = lots0[:, order], lots1[:, order]
            held_earlier: I64 = np.cumsum(after > 0, axis=1) - (after > 0)
            bad = (after < before) & (held_earlier > 0)
            assert not bad.any(), (
                f"{where(s)}: not FIFO for member {int(np.flatnonzero(bad.any(axis=1))[0])}: "
                f"lots (earliest first) {before.tolist()} -> {after.tolist()}"
            )
            assert not (p.dst == Account.EXPIRED).any(), f"{where(s)}: expiry outside open_day"
        else:
            expired = per_member(
                sc.n, p.member[p.dst == Account.EXPIRED], p.points[p.dst == Account.EXPIRED]
            )
            if scheme.periodic:
                # the buckets of the periods that ended are emptied, and exactly what they
                # still held expires; released points go to today's earn bucket only (which
                # may be an emptied bucket of the ring, reused)
                old = first_live_period(cp, s.before)
                new = s.after.program.expired_through
                gone = sorted({q % scheme.slots for q in range(old, new + 1)})
                left = lots0[:, gone].sum(axis=1)
                np.testing.assert_array_equal(expired, left, err_msg=f"{where(s)}: expired")
                earn = scheme.period_for_earn(s.day) % scheme.slots
                emptied = [b for b in gone if b != earn]
                assert (lots1[:, emptied] == 0).all(), f"{where(s)}: expired buckets not emptied"
                kept = [b for b in range(scheme.slots) if b not in gone and b != earn]
                np.testing.assert_array_equal(
                    lots1[:, kept], lots0[:, kept], err_msg=f"{where(s)}: live lots changed"
                )
            elif scheme.mode == "inactivity":
                idle = ms0.last_active < s.day - scheme.inactivity_days
                released = (p.src == Account.PENDING) & (p.dst == Account.AVAILABLE)
                credit = per_member(sc.n, p.member[released], p.points[released])
                to_lots = credit - (ms0.debt - ms1.debt)
                np.testing.assert_array_equal(
                    expired, np.where(idle, lots0[:, 0] + to_lots, 0), err_msg=where(s)
                )
            else:
                assert not expired.any(), f"{where(s)}: points expired under mode=never"
        acct = ms1.acct
        gone_out = acct[:, [Account.EXPIRED, Account.REDEEMED, Account.DONATED]].sum(axis=1)
        assert (gone_out <= acct[:, Account.ISSUED]).all(), f"{where(s)}: expired + spent > issued"


# --------------------------------------------------------------------------- 5. batches


def apply_in_batches(
    cp: CompiledPolicy, state: EngineState, day: int, events: DayEvents, batches: list[I64]
) -> tuple[Postings, npt.NDArray[np.int8], I64, I64]:
    """Apply ``events`` as one call per batch of indices; the postings (their ``event`` mapped
    back to the whole day's indices), status and points per event, and tier changes (rows of
    member, old, new)."""
    status = np.full(len(events), -1, np.int8)
    points = np.zeros(len(events), np.int64)
    posted, tiers = [], []
    for idx in batches:
        if len(idx) == 0:
            continue
        result = apply_events(cp, state, day, events.take(idx))
        p = result.postings
        p.event = np.where(p.event >= 0, idx[np.maximum(p.event, 0)], -1)
        posted.append(p)
        status[idx], points[idx] = result.status, result.points
        tiers.append(np.stack([result.tier_member, result.tier_old, result.tier_new], 1))
    assert (status >= 0).all(), "every event is in one batch"
    tier_rows = np.concatenate(tiers) if tiers else np.zeros((0, 3), np.int64)
    return Postings.concat(posted), status, points, tier_rows


def check_splits(sc: Scenario, split: Split, *, by_member: bool) -> None:
    """Each day, from the same state: the whole day in one call vs the day cut by ``split``
    (by member, or in consecutive ranges): same state, postings (as multisets), statuses and
    points per event, and (member splits) tier changes."""
    cp, state = sc.cp, sc.initial_state()
    for offset, events in zip(sc.offsets, sc.days, strict=True):
        day = sc.start + offset
        open_day(cp, state, day)
        cut = snapshot(state)
        if by_member:
            batches = split.by_member(events.member, sc.n, day)
        else:
            batches = split.by_time(len(events), day)
        whole = apply_in_batches(cp, state, day, events, [np.arange(len(events))])
        parts = apply_in_batches(cp, cut, day, events, batches)
        what = f"{to_date(day)}, batches {[b.tolist() for b in batches]}"
        assert_same_state(state, cut, what)
        np.testing.assert_array_equal(
            as_multiset(whole[0]), as_multiset(parts[0]), err_msg=f"{what}: postings"
        )
        np.testing.assert_array_equal(whole[1], parts[1], err_msg=f"{what}: status")
        np.testing.assert_array_equal(whole[2], parts[2], err_msg=f"{what}: points")
        if by_member:
            np.testing.assert_array_equal(
                np.unique(whole[3], axis=0), np.unique(parts[3], axis=0), err_msg=what
            )
        close_day(cp, state, day)


@SETTINGS
@pytest.mark.slow
@given(
    scenarios().map(ample_stock),
    splits,
)
def test_member_batches_give_the_same_result_as_the_whole_day(sc: Scenario, split: Split) -> None:
    """Members' events in any split of the members into calls (each member's events together,
    in arrival order) give the result of one call, when no limited stock runs out (stock is
    shared: who gets the last unit may then differ)."""
    check_splits(sc, split, by_member=True)


# Found by these properties (fixed since): limited stock was given out in burn rounds (every
# member's first burn, then every second one ...), not in arrival order, so a time split
# changed who got the last unit; and an immediate upgrade raised the tier multiplier of later
# events of the same day only when they came in a later call.
SCARCE = {
    "program": {"name": "scarce", "point_value": 0.01},
    "earn": {"share": {"kind": "action", "action": "share", "points": 10}},
    "burn": {"catalogue": {"mug": {"points": 1, "cash_cost": 1.0, "stock": 2}}},
    "tiers": {"base": {"threshold": 0}},
}
TIERED = {
    "program": {"name": "tiered", "point_value": 0.01},
    "earn": {"buy": {"kind": "purchase"}},
    "tiers": {"base": {"threshold": 0}, "gold": {"threshold": 100, "multiplier": 2.0}},
}


@SETTINGS
@pytest.mark.slow
@given(
    st.one_of(scenarios(), scenarios().map(scarce_stock)).map(canonical_order),
    splits,
)
@example(
    scenario_of(
        SCARCE,
        dt.date(2026, 1, 25),
        [
            [(0, Kind.ACTION, 0, 0, 0), (1, Kind.ACTION, 0, 0, 0)],
            [(0, Kind.REDEEM, 0, 1, 0), (0, Kind.REDEEM, 0, 1, 0), (1, Kind.REDEEM, 0, 1, 0)],
        ],
    ),
    Split("singletons", 0),
)
@example(
    scenario_of(
        TIERED,
        dt.date(2026, 1, 25),
        [[(0, Kind.PURCHASE, 100_000_000, 0, 0, 1), (0, Kind.PURCHASE, 10_000_000, 0, 0, 2)]],
        n=1,
    ),
    Split("singletons", 0),
)
def test_time_splits_give_the_same_result_as_the_whole_day(sc: Scenario, split: Split) -> None:
    """A day's events cut into consecutive ranges, one call each (as the live ledger applies
    them as they arrive), give the result of one call, also when limited stock runs out (half
    the runs have every item limited to one or two units). The events are in the canonical
    order of a day (freezes, earn, refunds, burns: DESIGN.md section 3), which ``apply_events``
    imposes within a call. All tiers have the same point value: postings value points at the
    tier held at the time of posting, so an upgrade earlier in the day changes the value of
    later postings only when the day is split (see the xfail test below)."""
    check_splits(sc, split, by_member=False)


# An upgrade to a tier of a higher point value, then a redemption the same day.
VALUED = {
    "program": {"name": "valued", "point_value": 0.01},
    "earn": {"buy": {"kind": "purchase"}},
    "burn": {"catalogue": {"mug": {"points": 10, "cash_cost": 1.0}}},
    "tiers": {"base": {"threshold": 0}, "gold": {"threshold": 100, "point_value": 0.02}},
}


@FEW
@given(scenarios())
@example(
    scenario_of(
        VALUED,
        dt.date(2026, 1, 25),
        [[(0, Kind.PURCHASE, 100_000_000, 0, 0, 1), (0, Kind.REDEEM, 0, 1, 0)]],
        n=1,
    )
)
def test_postings_are_valued_at_the_day_s_point_value(sc: Scenario) -> None:
    """Every posting's ``value`` is its points at the member's point value that day: the value
    of the tier held when the day opened (whose benefits apply all day), times the value
    factor when the call started."""
    cp = sc.cp
    tier_at_open = sc.initial_state().members.tier
    for s in steps(sc):
        if s.call == "open":
            tier_at_open = s.before.members.tier.astype(np.int64)
        p = s.result.postings
        per_point = np.floor(cp.tier_value * s.before.program.value_factor).astype(np.int64)
        expected = p.points * per_point[tier_at_open[p.member]]
        np.testing.assert_array_equal(p.value, expected, err_msg=f"{where(s)}: posting values")


# --------------------------------------------------------------------------- 6. determinism


@FEW
@given(scenarios())
def test_the_same_inputs_give_the_same_results(sc: Scenario) -> None:
    """Twice the same run (once by ``step_day``, once by its three calls) gives identical
    results and states, in the same order."""
    cp = sc.cp
    a, b = sc.initial_state(), sc.initial_state()
    for offset, events in zip(sc.offsets, sc.days, strict=True):
        day = sc.start + offset
        ra = step_day(cp, a, day, events)
        parts = [open_day(cp, b, day), apply_events(cp, b, day, events), close_day(cp, b, day)]
        rb = DayResult.combine(parts)
        assert_same_results(ra, rb, str(to_date(day)))
        for f in fields(a.members):
            np.testing.assert_array_equal(getattr(a.members, f.name), getattr(b.members, f.name))
        for f in fields(a.program):
            x, y = getattr(a.program, f.name), getattr(b.program, f.name)
            np.testing.assert_array_equal(
                rows_of(x) if is_dataclass(x) else x, rows_of(y) if is_dataclass(y) else y
            )

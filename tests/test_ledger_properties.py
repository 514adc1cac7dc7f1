"""Property tests of the live ledger over random sequences of requests (SQLite, a fresh file
database per example): purchases, refunds of earlier orders (and of orders the ledger never
saw), check-ins, actions, redemptions, cash offsets, adjustments, freezes and unfreezes, and
end-of-day runs that skip ahead across month ends, so that pending points are released,
points expire, interest is paid and tiers are reviewed. After every business day:

1. ``audit()`` finds nothing;
2. conservation per member: issued = pending + available + redeemed + expired + reversed +
   donated (from ``balance()``);
3. no negative balance unless the policy lets a refund claw back beyond it;
4. the lots (``lots()``) hold points and sum to the available balance (plus any debt);
5. every member's balance is what the pure engine gives for the same day-ordered events
   (``new_state``, ``open_day``, ``apply_events`` on the whole day, ``close_day``), and so is
   each event's status and points -- whether the ledger took the day as one batch or as one
   request at a time;

and idempotency: a request sent again with its client id (at once, and at the end with its
day) returns the first result (same event id, ``duplicate=True``) and changes nothing.

The test policies (tests/ledger_checks.py) cover delayed issuance, dated expiry, clawback to
a negative balance, and tier reviews with a freeze that withholds earning. Each policy also
has a hand-written run through the same checks, and the plain tests at the end pin the
numbers of small cases: a release after the return window, a refund capped at the balance or
driven into debt, lots spent oldest first and expired, a tier review, a freeze, requests sent
again (also after the end of their day), one batch against one request at a time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from ledger_checks import (
    OUTFLOWS,
    POLICY_NAMES,
    START,
    allows_negative,
    check_ledger,
    ledger_policy,
    new_ledger,
    snapshot,
)
from strategies import event_class

from sim.engine import (
    Account,
    CompiledPolicy,
    DayEvents,
    DayResult,
    EngineState,
    Kind,
    Status,
    apply_events,
    check_invariants,
    close_day,
    compile_policy,
    day_number,
    new_state,
    open_day,
    to_date,
)
from sim.ledger import EventIn, EventOut, Ledger, LedgerError, NewMember
from sim.policy import ACTIONS, MICROS

SETTINGS = settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
"""Four runs per policy (each ~1.5 s of database work). No shrinking: it would replay a
failing run hundreds of times; the plan printed is small (a few days of a few requests)."""
KIND_CODE = {k.name.lower(): k for k in Kind}
BURNS = ("redeem", "cash_offset")
STARTS = (START, dt.date(2026, 2, 25), dt.date(2025, 12, 29))


# --------------------------------------------------------------------------- plans


@dataclass(frozen=True)
class Op:
    """One request. ``member`` is an index into the members in order of creation. Refunds:
    ``pick`` chooses an order of an earlier day (None: an order the ledger never saw) and
    ``quantity`` the percentage of it refunded (for an unknown order: points to claw back)."""

    kind: str
    member: int
    amount: int = 0
    quantity: int = 0
    name: str = ""
    pick: int | None = None


@dataclass(frozen=True)
class DayPlan:
    gap: int
    """Days closed with no events before this one."""
    batch: bool
    """The day's events as one ``record`` call (not strict); else one request at a time in
    the canonical order of a day, through the convenience methods where there is one."""
    joiners: int
    """Members added on this day, before its events."""
    ops: tuple[Op, ...]


@dataclass(frozen=True)
class Plan:
    policy: str
    start: dt.date
    members: int
    days: tuple[DayPlan, ...]

    def business_days(self) -> list[int]:
        out, d = [], day_number(self.start)
        for plan in self.days:
            d += plan.gap
            out.append(d)
            d += 1
        return out

    def join_days(self) -> list[int]:
        joins = [day_number(self.start)] * self.members
        for plan, d in zip(self.days, self.business_days(), strict=True):
            joins += [d] * plan.joiners
        return joins


POINTS_WANTED = (0, 0, 100, 300, 1000)


def op_strategy(n: int, items: tuple[str, ...]) -> st.SearchStrategy[Op]:
    """A request for one of members ``0 .. n-1``."""
    m = st.integers(0, n - 1)
    cents = st.integers(1, 30_000).map(lambda c: c * MICROS // 100)
    return st.one_of(
        st.builds(
            Op,
            st.just("purchase"),
            m,
            amount=cents,
            quantity=st.integers(0, 3),
            name=st.sampled_from(["", "coffee", "high_margin"]),
        ),
        st.builds(
            Op,
            st.just("refund"),
            m,
            quantity=st.sampled_from([0, 30, 50, 100, 100]),
            pick=st.none() | st.integers(0, 50),
        ),
        st.builds(Op, st.just("checkin"), m),
        st.builds(Op, st.just("action"), m, name=st.sampled_from(["share", "profile", "login"])),
        st.builds(
            Op, st.just("redeem"), m, quantity=st.integers(1, 2), name=st.sampled_from(items)
        ),
        st.builds(
            Op, st.just("cash_offset"), m, amount=cents, quantity=st.sampled_from(POINTS_WANTED)
        ),
        st.builds(
            Op, st.just("adjust"), m, quantity=st.integers(-300, 500).filter(lambda q: q != 0)
        ),
        st.builds(Op, st.sampled_from(["freeze", "unfreeze"]), m),
    )


@st.composite
def plans(draw: st.DrawFn, policy: str, max_days: int = 5, max_ops: int = 5) -> Plan:
    """A start date near a month end, 2-3 members, and 2 to ``max_days`` business days, each
    after a gap of closed days (often none; sometimes a month), with up to ``max_ops``
    requests each; a member may join later."""
    items = tuple(ledger_policy(policy).burn.catalogue)
    start = draw(st.sampled_from(STARTS))
    n = draw(st.integers(2, 3))
    total, days = n, []
    for i in range(draw(st.integers(2, max_days))):
        gap = draw(st.sampled_from([0, 0, 0, 1, 3, 29])) if i else 0
        joiners = int(i > 0 and draw(st.integers(0, 5)) == 0)
        total += joiners
        ops = draw(st.lists(op_strategy(total, items), max_size=max_ops))
        days.append(DayPlan(gap, draw(st.booleans()), joiners, tuple(ops)))
    return Plan(policy, start, n, tuple(days))


# --------------------------------------------------------------------------- running


@dataclass
class Sent:
    """A request the ledger took, and what it answered."""

    event: EventIn
    out: EventOut


@dataclass
class Run:
    """One plan applied to a ledger and, in step, to the pure engine."""

    plan: Plan
    led: Ledger
    keys: list[str]
    cp: CompiledPolicy
    state: EngineState
    orders: list[tuple[int, int, int, int]] = field(default_factory=list)
    """(member, order id, amount, points earned) of purchases of days before this one."""
    sent: list[Sent] = field(default_factory=list)
    next_ref: int = 1

    @classmethod
    def start(cls, url: str, plan: Plan) -> Run:
        led, keys = new_ledger(url, plan.policy, plan.members, plan.start)
        cp = compile_policy(ledger_policy(plan.policy))
        joins = np.array(plan.join_days(), np.int64)
        state = new_state(cp, len(joins), day_number(plan.start), join_day=joins)
        return cls(plan, led, keys, cp, state)

    @property
    def allow_negative(self) -> bool:
        return allows_negative(self.cp.policy)

    def event_of(self, op: Op, cid: str) -> EventIn:
        """The request of ``op`` (refunds resolved against the orders so far)."""
        key = self.keys[op.member]
        if op.kind == "purchase":
            ref, self.next_ref = self.next_ref, self.next_ref + 1
            return EventIn(
                key,
                "purchase",
                client_id=cid,
                amount=op.amount,
                quantity=op.quantity,
                name=op.name,
                ref=ref,
            )
        if op.kind == "refund":
            if op.pick is None or not self.orders:
                return EventIn(
                    key, "refund", client_id=cid, amount=5 * MICROS, quantity=40, ref=10**6
                )
            member, ref, paid, earned = self.orders[op.pick % len(self.orders)]
            pct = op.quantity
            amount = paid * pct // 100 // 10_000 * 10_000
            return EventIn(
                self.keys[member],
                "refund",
                client_id=cid,
                amount=amount,
                quantity=earned * pct // 100,
                ref=ref,
            )
        if op.kind in ("adjust", "freeze", "unfreeze"):
            return EventIn(key, op.kind, client_id=cid, quantity=op.quantity, note="test")
        return EventIn(
            key, op.kind, client_id=cid, amount=op.amount, quantity=op.quantity, name=op.name
        )

    def send_one(self, ev: EventIn) -> EventOut | None:
        """One request through the method a caller would use; a refused burn returns None
        (and must have changed nothing)."""
        led, cid = self.led, ev.client_id
        before = led.balance(ev.member)
        try:
            if ev.kind == "redeem":
                return led.redeem(ev.member, ev.name, ev.quantity, client_id=cid)
            if ev.kind == "cash_offset":
                return led.cash_offset(ev.member, ev.amount, ev.quantity, client_id=cid)
            if ev.kind == "adjust":
                return led.adjust(ev.member, ev.quantity, ev.note, client_id=cid)
            if ev.kind == "freeze":
                return led.freeze(ev.member, ev.note, client_id=cid)
            if ev.kind == "unfreeze":
                return led.unfreeze(ev.member, ev.note, client_id=cid)
            return led.record([ev])[0]
        except LedgerError as err:
            burn = ev.kind in BURNS or (ev.kind == "adjust" and ev.quantity < 0)
            assert burn and " refused: " in str(err), f"{ev} refused: {err}"
            assert led.balance(ev.member) == before, f"refused {ev} changed the balance"
            return None

    def day(self, i: int, plan: DayPlan, day: int) -> None:
        """Business day ``day``: close the gap before it, add members, send its requests,
        run the engine on the same events, close it, check everything."""
        led = self.led
        if plan.gap:
            led.eod(to_date(day - 1))
            for d in range(day - plan.gap, day):
                open_day(self.cp, self.state, d)
                close_day(self.cp, self.state, d)
        if plan.joiners:
            new = [f"m{len(self.keys) + j}" for j in range(plan.joiners)]
            assert led.add_members([NewMember(k) for k in new]) == len(new)
            self.keys += new
        events = [self.event_of(op, f"d{i}:{j}") for j, op in enumerate(plan.ops)]
        outs: list[EventOut | None] = []
        if plan.batch and events:
            first = led.record(events, strict=False)
            assert led.record(events, strict=False) == [replace(o, duplicate=True) for o in first]
            outs += first
        elif events:
            order = event_class(
                np.array([KIND_CODE[e.kind] for e in events], np.int64),
                np.array([e.quantity for e in events], np.int64),
            )
            events = [events[j] for j in np.argsort(order, kind="stable")]
            for ev in events:
                out = self.send_one(ev)
                outs.append(out)
                if out is not None:
                    assert led.record([ev]) == [replace(out, duplicate=True)]
        taken = [(e, o) for e, o in zip(events, outs, strict=True) if o is not None]
        self.sent += [Sent(e, o) for e, o in taken]
        res = self.engine_day(day, [e for e, _ in taken])
        for (ev, out), status, points in zip(taken, res.status, res.points, strict=True):
            want = (Status(int(status)).name.lower(), int(points))
            assert (out.status, out.points) == want, f"{ev}: ledger {out}, engine {want}"
            assert out.day == to_date(day) and not out.duplicate
        self.orders += [
            (self.keys.index(e.member), e.ref, e.amount, o.points)
            for e, o in taken
            if e.kind == "purchase"
        ]
        assert led.eod(to_date(day)) == [to_date(day)]
        close_day(self.cp, self.state, day)
        check_invariants(self.cp, self.state)
        self.compare(f"after {to_date(day)}")

    def engine_day(self, day: int, events: list[EventIn]) -> DayResult:
        open_day(self.cp, self.state, day)
        cp = self.cp
        codes = {
            "purchase": lambda e: cp.category_code(e.name),
            "action": lambda e: ACTIONS.index(e.name),
            "redeem": lambda e: cp.item_ids.index(e.name),
        }
        batch = DayEvents.build(
            np.array([self.keys.index(e.member) for e in events], np.int64),
            np.array([KIND_CODE[e.kind] for e in events], np.int64),
            seq=np.arange(1, len(events) + 1),
            amount=np.array([e.amount for e in events], np.int64),
            quantity=np.array([e.quantity for e in events], np.int64),
            code=np.array([codes.get(e.kind, lambda e: 0)(e) for e in events], np.int64),
            ref=np.array([e.ref for e in events], np.int64),
        )
        return apply_events(cp, self.state, day, batch)

    def compare(self, when: str) -> None:
        """The ledger's promises hold, and each member's balance is the engine's."""
        balances = check_ledger(self.led, self.keys, allow_negative=self.allow_negative)
        ms = self.state.members
        for i, key in enumerate(self.keys):
            engine = {a.name.lower(): int(ms.acct[i, a]) for a in Account}
            engine.update(
                tier=self.cp.tier_names[int(ms.tier[i])],
                frozen=bool(ms.frozen[i]),
                debt=int(ms.debt[i]),
                shortfall=int(ms.shortfall[i]),
            )
            ledger = {k: balances[key][k] for k in engine}
            assert ledger == engine, f"{when}, member {key}: ledger {ledger} != engine {engine}"

    def resend_all(self) -> None:
        """Every request taken, sent again with its client id and its day: the first answers
        come back and nothing changes."""
        before = snapshot(self.led)
        by_day: dict[dt.date, list[Sent]] = {}
        for s in self.sent:
            by_day.setdefault(s.out.day, []).append(s)
        for day, sent in by_day.items():
            events = [replace(s.event, day=day_number(day)) for s in sent]
            again = self.led.record(events)
            assert again == [replace(s.out, duplicate=True) for s in sent]
        assert snapshot(self.led) == before


def run_plan(url: str, plan: Plan) -> Run:
    run = Run.start(url, plan)
    run.compare("at the start")
    for i, (day_plan, day) in enumerate(zip(plan.days, plan.business_days(), strict=True)):
        run.day(i, day_plan, day)
    run.resend_all()
    run.led.engine.dispose()
    return run


def fresh_url(factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{factory.mktemp('ledger') / 'points.db'}"


# --------------------------------------------------------------------------- properties


@pytest.mark.parametrize("policy", POLICY_NAMES)
@SETTINGS
@given(data=st.data())
def test_ledger_keeps_its_promises_and_matches_the_engine(
    policy: str, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    plan = data.draw(plans(policy), label="plan")
    run_plan(fresh_url(tmp_path_factory), plan)


@pytest.mark.slow
@pytest.mark.parametrize("policy", POLICY_NAMES)
@settings(SETTINGS, max_examples=25)
@given(data=st.data())
def test_ledger_keeps_its_promises_over_many_more_plans(
    policy: str, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The same property, the slow profile: 25 plans per policy instead of 4."""
    plan = data.draw(plans(policy), label="plan")
    run_plan(fresh_url(tmp_path_factory), plan)


# --------------------------------------------------------------------------- hand-written


def op(kind: str, member: int, **fields: object) -> Op:
    return Op(kind, member, **fields)  # type: ignore[arg-type]


def buy(member: int, cny: int, items: int = 0, name: str = "") -> Op:
    return op("purchase", member, amount=cny * MICROS, quantity=items, name=name)


def day(*ops: Op, gap: int = 0, batch: bool = False, joiners: int = 0) -> DayPlan:
    return DayPlan(gap, batch, joiners, ops)


HAND_WRITTEN = {
    # a refund inside the return window voids pending points; the rest is released
    "pending": Plan(
        "pending",
        START,
        2,
        (
            day(buy(0, 150, 2, "coffee"), buy(1, 40), op("checkin", 0)),
            day(op("refund", 1, quantity=100, pick=1), op("redeem", 0, name="dessert")),
            day(op("redeem", 0, name="medium_coffee"), gap=2, batch=True),
            day(op("redeem", 0, name="merch"), op("redeem", 1, name="merch")),
        ),
    ),
    # points expire a month after they are earned; a burn takes the oldest lot first
    "expiry": Plan(
        "expiry",
        START,
        2,
        (
            day(buy(0, 120), op("adjust", 1, quantity=80)),
            day(buy(0, 60), op("redeem", 0, name="dessert"), gap=5),
            day(op("checkin", 1), gap=29),
            day(op("redeem", 0, name="dessert"), gap=3),
        ),
    ),
    # a refund after the points were spent drives the balance negative; later earning pays
    # the debt first
    "clawback": Plan(
        "clawback",
        START,
        2,
        (
            day(buy(0, 100), buy(1, 30)),
            day(op("redeem", 0, name="dessert"), op("redeem", 0, name="dessert")),
            day(op("refund", 0, quantity=100, pick=0), op("refund", 1, pick=None)),
            day(buy(0, 20), op("adjust", 1, quantity=-5), batch=True),
        ),
    ),
    # a purchase qualifies for gold at the month-end review; a frozen member earns nothing
    # and cannot spend; the next review steps down
    "tiers": Plan(
        "tiers",
        START,
        2,
        (
            day(buy(0, 150), op("freeze", 1), buy(1, 200), op("action", 0, name="share")),
            day(op("cash_offset", 0, amount=300 * MICROS), op("cash_offset", 1, amount=MICROS)),
            day(op("unfreeze", 1), buy(1, 90), gap=3, joiners=1),
            day(op("redeem", 2, name="coupon_1"), op("adjust", 2, quantity=20), gap=29),
        ),
    ),
}


@pytest.mark.parametrize("policy", POLICY_NAMES)
def test_hand_written_run_keeps_its_promises_and_matches_the_engine(
    policy: str, tmp_path: Path
) -> None:
    run_plan(f"sqlite:///{tmp_path / 'points.db'}", HAND_WRITTEN[policy])


# --------------------------------------------------------------------------- explicit numbers


def url_in(tmp_path: Path, name: str = "points") -> str:
    return f"sqlite:///{tmp_path / name}.db"


def accounts(led: Ledger, key: str) -> dict[str, object]:
    """The member's accounts, debt and shortfall (checked by :func:`check_member` first)."""
    b = led.balance(key)
    return {a: b[a] for a in ("issued", *OUTFLOWS, "debt", "shortfall")}


def ledger_days(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def test_pending_points_are_released_after_the_return_window(tmp_path: Path) -> None:
    led, keys = new_ledger(url_in(tmp_path), "pending")
    (out,) = led.record([EventIn("m0", "purchase", amount=150 * MICROS, quantity=2, name="coffee")])
    assert out.points == 160  # 150 for the spend (held 2 days) + 5 per cup, at once
    check_ledger(led, keys, allow_negative=False)
    assert accounts(led, "m0") == dict(
        issued=160, pending=150, available=10, redeemed=0, expired=0, reversed=0, donated=0,
        debt=0, shortfall=0,
    )  # fmt: skip
    led.eod(ledger_days("2026-01-28"))
    check_ledger(led, keys, allow_negative=False)
    assert (led.balance("m0")["pending"], led.balance("m0")["available"]) == (150, 10)
    led.eod(ledger_days("2026-01-29"))  # released when the 29th opens
    check_ledger(led, keys, allow_negative=False)
    assert (led.balance("m0")["pending"], led.balance("m0")["available"]) == (0, 160)
    assert led.lots("m0").to_dict("list") == {"expires_on": [None], "points": [160]}


CLAWBACK = {
    # policy: (after the refund, after a later purchase of 30 points)
    "pending": (
        dict(issued=100, pending=0, available=0, redeemed=50, expired=0, reversed=50,
             donated=0, debt=0, shortfall=50),
        dict(issued=130, pending=0, available=30, redeemed=50, expired=0, reversed=50,
             donated=0, debt=0, shortfall=50),
    ),
    "clawback": (
        dict(issued=100, pending=0, available=-50, redeemed=50, expired=0, reversed=100,
             donated=0, debt=50, shortfall=0),
        dict(issued=130, pending=0, available=-20, redeemed=50, expired=0, reversed=100,
             donated=0, debt=20, shortfall=0),
    ),
}  # fmt: skip


@pytest.mark.parametrize("policy", CLAWBACK)
def test_a_refund_of_spent_points_goes_negative_only_where_allowed(
    policy: str, tmp_path: Path
) -> None:
    """100 points earned, 50 spent, the order refunded: capped at the balance (the rest is a
    shortfall), or clawed back whole into a debt that later earning pays off."""
    led, keys = new_ledger(url_in(tmp_path), policy)
    negative = allows_negative(ledger_policy(policy))
    led.record([EventIn("m0", "purchase", amount=100 * MICROS, ref=1)])
    led.eod(ledger_days("2026-01-30"))
    assert led.redeem("m0", "dessert").points == -50
    led.record([EventIn("m0", "refund", amount=100 * MICROS, quantity=100, ref=1)])
    check_ledger(led, keys, allow_negative=negative)
    after_refund, after_purchase = CLAWBACK[policy]
    assert accounts(led, "m0") == after_refund
    assert led.lots("m0").empty
    led.record([EventIn("m0", "purchase", amount=30 * MICROS, ref=2)])
    led.eod(ledger_days("2026-02-05"))
    check_ledger(led, keys, allow_negative=negative)
    assert accounts(led, "m0") == after_purchase


def test_lots_are_spent_oldest_first_and_expire_after_a_month(tmp_path: Path) -> None:
    led, keys = new_ledger(url_in(tmp_path), "expiry")
    led.adjust("m0", 80, "welcome")
    led.eod(ledger_days("2026-02-01"))
    led.record([EventIn("m0", "purchase", amount=60 * MICROS, ref=1)])
    assert led.redeem("m0", "dessert").points == -50  # taken from the lot of 27 January

    def lots() -> list[tuple[str, int]]:
        frame = led.lots("m0")
        return [(str(d), int(p)) for d, p in zip(frame["expires_on"], frame["points"], strict=True)]

    check_ledger(led, keys, allow_negative=False)
    assert lots() == [("2026-02-27", 30), ("2026-03-02", 60)]
    led.eod(ledger_days("2026-02-27"))  # the 27th is the lot's last valid day
    check_ledger(led, keys, allow_negative=False)
    assert lots() == [("2026-02-27", 30), ("2026-03-02", 60)]
    led.eod(ledger_days("2026-02-28"))
    check_ledger(led, keys, allow_negative=False)
    assert lots() == [("2026-03-02", 60)]
    assert (led.balance("m0")["available"], led.balance("m0")["expired"]) == (60, 30)
    led.eod(ledger_days("2026-03-03"))
    check_ledger(led, keys, allow_negative=False)
    assert lots() == []
    assert accounts(led, "m0") == dict(
        issued=140, pending=0, available=0, redeemed=50, expired=90, reversed=0, donated=0,
        debt=0, shortfall=0,
    )  # fmt: skip


def test_tiers_are_reviewed_at_month_end(tmp_path: Path) -> None:
    """120 qualifying points (60 spent, doubled for a new member) reach gold (100) at the
    January review; nothing earned in February steps back down at the next one."""
    led, keys = new_ledger(url_in(tmp_path), "tiers")
    outs = led.record(
        [
            EventIn("m0", "purchase", amount=60 * MICROS, ref=1),
            EventIn("m1", "purchase", amount=30 * MICROS, ref=2),
        ]
    )
    assert [o.points for o in outs] == [120, 60]
    led.eod(ledger_days("2026-01-30"))
    assert [led.balance(k)["tier"] for k in keys] == ["normal", "normal"]  # upgrade at review
    led.eod(ledger_days("2026-01-31"))
    assert [led.balance(k)["tier"] for k in keys] == ["gold", "normal"]
    led.eod(ledger_days("2026-02-28"))
    assert [led.balance(k)["tier"] for k in keys] == ["normal", "normal"]
    check_ledger(led, keys, allow_negative=False)


def test_a_freeze_refuses_burns_and_withholds_earning_until_unfrozen(tmp_path: Path) -> None:
    led, keys = new_ledger(url_in(tmp_path), "tiers")
    led.adjust("m0", 500, "welcome")
    out = led.freeze("m0", "card reported stolen")
    assert (out.kind, out.status) == ("freeze", "ok")
    assert led.balance("m0")["frozen"] is True
    with pytest.raises(LedgerError, match="redeem coupon_5 refused: the member's points are"):
        led.redeem("m0", "coupon_5")
    (bought,) = led.record([EventIn("m0", "purchase", amount=40 * MICROS, ref=1)])
    assert bought.points == 0
    led.unfreeze("m0", "card replaced")
    assert led.balance("m0")["frozen"] is False
    assert led.redeem("m0", "coupon_5").points == -50
    check_ledger(led, keys, allow_negative=False)
    assert led.balance("m0")["available"] == 450


def test_a_request_sent_again_returns_the_first_result(tmp_path: Path) -> None:
    led, keys = new_ledger(url_in(tmp_path), "tiers")
    first = led.adjust("m0", 300, "welcome", client_id="adj-1")
    again = led.adjust("m0", 300, "welcome", client_id="adj-1")
    assert again == replace(first, duplicate=True)
    batch = [
        EventIn("m0", "purchase", client_id="buy-1", amount=25 * MICROS, ref=1),
        EventIn("m1", "checkin", client_id="in-1"),
        EventIn("m0", "redeem", client_id="red-1", name="coupon_5"),
    ]
    outs = led.record(batch)
    before = snapshot(led)
    assert led.record(batch) == [replace(o, duplicate=True) for o in outs]
    assert led.record(batch[::-1]) == [replace(o, duplicate=True) for o in outs[::-1]]
    mixed = led.record([batch[1], EventIn("m1", "checkin", client_id="in-2")])
    assert [o.duplicate for o in mixed] == [True, False]
    assert mixed[1].status == "duplicate"  # the engine's second check-in of the day
    led.eod(START)
    before = snapshot(led)
    day = day_number(START)
    dated = [replace(ev, day=day) for ev in batch]
    assert led.record(dated) == [replace(o, duplicate=True) for o in outs]
    assert snapshot(led) == before
    check_ledger(led, keys, allow_negative=False)


def test_a_retry_without_a_day_after_end_of_day_returns_the_first_result(
    tmp_path: Path,
) -> None:
    """A client that sent a request without a day (the business day) and retries it after
    the day was closed must get the first answer back, not be told to use a new id (which
    would apply it twice)."""
    led, _ = new_ledger(url_in(tmp_path), "tiers")
    ev = EventIn("m0", "adjust", client_id="adj-1", quantity=300, note="welcome")
    (first,) = led.record([ev])
    led.eod(START)
    before = snapshot(led)
    (again,) = led.record([ev])
    assert again == replace(first, duplicate=True)
    assert snapshot(led) == before


def test_one_batch_or_one_request_at_a_time_give_the_same_day(tmp_path: Path) -> None:
    """The same day's requests (in the canonical order: control, earn, refunds, burns) as one
    batch and one by one: the same outcomes and balances."""
    day_events = [
        EventIn("m1", "freeze", note="review"),
        EventIn("m0", "purchase", amount=80 * MICROS, ref=1, name="high_margin"),
        EventIn("m0", "checkin"),
        EventIn("m0", "action", name="share"),
        EventIn("m1", "adjust", quantity=200, note="goodwill"),
        EventIn("m1", "purchase", amount=10 * MICROS, ref=2),
        EventIn("m0", "refund", amount=20 * MICROS, quantity=30, ref=1),
        EventIn("m0", "redeem", name="coupon_5"),
        EventIn("m1", "redeem", name="coupon_1"),
        EventIn("m0", "adjust", quantity=-15, note="correction"),
    ]
    whole, keys = new_ledger(url_in(tmp_path, "whole"), "tiers")
    single, _ = new_ledger(url_in(tmp_path, "single"), "tiers")
    outs = whole.record(day_events, strict=False)
    ones = [single.record([ev], strict=False)[0] for ev in day_events]
    assert [(o.status, o.points) for o in outs] == [(o.status, o.points) for o in ones]
    assert ones[-2].status == "frozen"  # the freeze came first
    for led in (whole, single):
        led.eod(ledger_days("2026-01-31"))
        check_ledger(led, keys, allow_negative=False)
    assert [whole.balance(k) for k in keys] == [single.balance(k) for k in keys]

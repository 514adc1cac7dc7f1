"""Hypothesis strategies for the engine's property tests: random policies (the repository's
programmes with fields varied, and small policies built from scratch), members, and
multi-day event streams with valid fields for every event kind.

A :class:`Scenario` carries everything one run needs and prints as a reproduction (policy as a
dict of its non-default fields, events as one tuple per event) when a property fails.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cache, cached_property
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from hypothesis import strategies as st

from sim.engine import (
    CompiledPolicy,
    DayEvents,
    EngineState,
    Kind,
    compile_policy,
    day_number,
    new_state,
    referral_code,
)
from sim.engine.codes import BURN_KINDS
from sim.policy import ACTIONS, MICROS, Policy, load_policy, override, validate_policy
from sim.policy.earn import (
    ActionRule,
    CheckinRule,
    InvestmentRule,
    MentorShareRule,
    OneTimeRule,
    PerItemRule,
    PurchaseRule,
    ReferralRule,
    TaskRule,
)

I64 = npt.NDArray[np.int64]
T = TypeVar("T")

POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"
POLICY_FILES = tuple(sorted(p.name for p in POLICY_DIR.glob("*.toml")))

START_DATES = (
    dt.date(2026, 1, 25),  # month end, then February (short month)
    dt.date(2025, 12, 20),  # year end: year_end / fixed_date expiry, yearly reviews
    dt.date(2026, 3, 24),  # quarter end
    dt.date(2028, 2, 20),  # leap February
)
"""First days of the generated runs: all near a month end, so expiry, interest, tier packs
and tier reviews happen within a few days."""

CATEGORIES = ("coffee", "food", "high_margin")
HIDE: dict[str, bool | set[str]] = {"meta": True, "program": {"title"}}
"""Policy fields left out when a scenario is printed."""
FIELDS = ("member", "kind", "amount", "quantity", "code", "ref", "draw")


# --------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Scenario:
    """A policy, a member base, and one batch of events for each day run: ``start`` plus
    ``offsets`` (mostly consecutive days; a gap skips days, as a shell may)."""

    policy: Policy
    source: str
    n: int
    start: int
    join_day: tuple[int, ...]
    birth_month: tuple[int, ...]
    group: tuple[int, ...]
    referrer: tuple[int, ...]
    days: tuple[DayEvents, ...]
    offsets: tuple[int, ...]
    """Day of each batch of ``days``, as days after ``start`` (increasing; gaps skip days)."""

    @cached_property
    def cp(self) -> CompiledPolicy:
        return compile_policy(self.policy, CATEGORIES)

    def initial_state(self) -> EngineState:
        return new_state(
            self.cp,
            self.n,
            self.start,
            join_day=np.array(self.join_day, np.int64),
            birth_month=np.array(self.birth_month, np.int8),
            group=np.array(self.group, np.int16),
            referrer=np.array(self.referrer, np.int64),
        )

    def with_policy(self, policy: Policy, source: str) -> Scenario:
        return replace(self, policy=policy, source=source)

    def with_days(self, days: tuple[DayEvents, ...]) -> Scenario:
        return replace(self, days=days)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # how Hypothesis prints it
        p.text(repr(self))

    def __repr__(self) -> str:
        start = dt.date(1970, 1, 1) + dt.timedelta(days=self.start)
        policy = self.policy.model_dump(mode="json", exclude_defaults=True, exclude=HIDE)
        lines = [
            f"Scenario(source={self.source}",
            f"  policy={policy!r}",
            f"  n={self.n}, start={start} (day {self.start}), join_day={self.join_day},",
            f"  birth_month={self.birth_month}, group={self.group}, referrer={self.referrer},",
            "  days (member, kind, amount, quantity, code, ref, draw) per event:",
        ]
        for off, ev in zip(self.offsets, self.days, strict=True):
            rows = [describe_event(ev, j) for j in range(len(ev))]
            lines.append(f"    {start + dt.timedelta(days=off)}: [{', '.join(rows)}]")
        return "\n".join(lines) + ")"


def describe_event(ev: DayEvents, j: int) -> str:
    """Event ``j`` as a tuple (member, kind, amount, quantity, code, ref, draw)."""
    kind = Kind(int(ev.kind[j])).name
    vals = [int(ev.member[j]), kind, int(ev.amount[j]), int(ev.quantity[j])]
    vals += [int(ev.code[j]), int(ev.ref[j])]
    draw = float(ev.draw[j])
    vals.append(draw if draw == draw else None)  # NaN (unused) as None
    return "(" + ", ".join(repr(v) for v in vals) + ")"


def events_of(rows: list[tuple[Any, ...]]) -> DayEvents:
    """A day's events from ``(member, kind, amount, quantity, code, ref, draw)`` tuples (later
    fields may be left out), with ``seq`` 1, 2, 3 ..."""
    cols: dict[str, list[Any]] = {f: [] for f in FIELDS}
    for row in rows:
        full = (*row, *(0,) * (len(FIELDS) - 1 - len(row)), None)[: len(FIELDS)]
        for f, v in zip(FIELDS, full, strict=True):
            cols[f].append(v)
    draw = [np.nan if d is None else d for d in cols["draw"]]
    return DayEvents.build(
        np.array(cols["member"], np.int64),
        np.array(cols["kind"], np.int64),
        seq=np.arange(1, len(rows) + 1),
        amount=np.array(cols["amount"], np.int64),
        quantity=np.array(cols["quantity"], np.int64),
        code=np.array(cols["code"], np.int64),
        ref=np.array(cols["ref"], np.int64),
        draw=np.array(draw, np.float64),
    )


def scenario_of(
    policy: Mapping[str, Any],
    start: dt.date,
    days: list[list[tuple[Any, ...]]],
    *,
    n: int = 2,
    referrer: tuple[int, ...] | None = None,
) -> Scenario:
    """A hand-written scenario (for explicit examples): members join on ``start``."""
    s = day_number(start)
    return Scenario(
        policy=validate_policy(policy),
        source="hand-written",
        n=n,
        start=s,
        join_day=(s,) * n,
        birth_month=(0,) * n,
        group=(0,) * n,
        referrer=referrer if referrer is not None else (-1,) * n,
        days=tuple(events_of(rows) for rows in days),
        offsets=tuple(range(len(days))),
    )


@cache
def repo_policy(name: str) -> Policy:
    return load_policy(POLICY_DIR / name)


# --------------------------------------------------------------------------- policies


def maybe(draw: st.DrawFn, strategy: st.SearchStrategy[T], p_none: int = 2) -> T | None:
    """``None`` with probability 1/``p_none``, else a value of ``strategy``."""
    return None if draw(st.integers(0, p_none - 1)) == 0 else draw(strategy)


def caps_of(draw: st.DrawFn, path: str, most: int) -> dict[str, int | None]:
    """Overrides of a caps table: a daily and a monthly cap, each maybe unset (daily <= monthly)."""
    daily = maybe(draw, st.integers(0, most), 3)
    monthly = maybe(draw, st.integers(daily or 0, 8 * most), 3)
    return {f"{path}.daily": daily, f"{path}.monthly": monthly}


def window_date(draw: st.DrawFn, start: dt.date) -> dt.date:
    return start + dt.timedelta(days=draw(st.integers(-10, 45)))


@st.composite
def expiry_overrides(draw: st.DrawFn, start: dt.date) -> dict[str, Any]:
    mode = draw(st.sampled_from(["rolling", "rolling", "never", "inactivity", "fixed_date"]))
    ov: dict[str, Any] = {"expiry.mode": mode}
    if mode == "rolling":
        ov["expiry.months"] = draw(st.sampled_from([1, 1, 2, 3, 12]))
        ov["expiry.rounding"] = draw(
            st.sampled_from(["day", "month_end", "quarter_end", "year_end"])
        )
    elif mode == "inactivity":
        ov["expiry.inactivity_days"] = draw(st.integers(1, 15))
    elif mode == "fixed_date":
        ov["expiry.fixed_month"] = 1
        ov["expiry.fixed_day"] = draw(st.integers(1, 28))
        ov["expiry.years"] = 1
    if mode in ("rolling", "fixed_date") and draw(st.integers(0, 3)) == 0:
        # expiry switched on for a live programme: nothing expires before this date
        ov["expiry.first_expiry"] = start + dt.timedelta(days=draw(st.integers(-5, 75)))
    reminders = draw(st.sets(st.sampled_from([1, 3, 7, 30]), max_size=3))
    ov["expiry.reminders"] = () if mode == "never" else tuple(sorted(reminders))
    return ov


@st.composite
def repo_policies(draw: st.DrawFn, start: dt.date) -> tuple[Policy, str]:
    """One of the repository's programmes with some fields varied by ``override``."""
    name = draw(st.sampled_from(POLICY_FILES))
    base = repo_policy(name)
    ov: dict[str, Any] = {}
    flip = st.integers(0, 2).map(lambda x: x == 0)  # True one time in three
    if draw(flip):
        ov.update(caps_of(draw, "caps", 300))
    for rule_id, rule in base.earn.items():
        if isinstance(rule, MentorShareRule):
            continue
        if draw(flip):
            ov.update(caps_of(draw, f"earn.{rule_id}.caps", 120))
        if draw(flip):
            ov[f"earn.{rule_id}.delay_days"] = draw(st.integers(0, 3))
        if draw(flip):
            ov[f"earn.{rule_id}.overall_cap"] = draw(st.booleans())
    if draw(flip):
        ov.update(draw(expiry_overrides(start)))
    if draw(flip):
        ov["refunds.clawback"] = draw(st.sampled_from(["allow_negative", "cap_at_balance"]))
    if draw(flip):
        ov["program.point_value"] = draw(st.sampled_from([0.001, 0.01, 0.25, 1.0]))
    if draw(flip):
        ov["freeze.blocks_earn"] = draw(st.booleans())
    tiers = list(base.tiers)
    if len(tiers) > 1 and draw(flip):
        threshold = 0
        for t in tiers[1:]:
            threshold += draw(st.integers(1, 400))
            ov[f"tiers.{t}.threshold"] = threshold
            ov[f"tiers.{t}.multiplier"] = draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0]))
        ov["tiering.upgrade"] = draw(st.sampled_from(["immediate", "review"]))
        ov["tiering.downgrade"] = draw(st.sampled_from(["none", "one_step", "recompute"]))
        ov["tiering.review"] = draw(st.sampled_from(["monthly", "quarterly", "yearly"]))
    for camp_id in base.campaigns:
        if draw(flip):
            ov[f"campaigns.{camp_id}.multiplier"] = draw(st.sampled_from([1.5, 2.0, 3.0]))
        if draw(flip):
            ov[f"campaigns.{camp_id}.start"] = window_date(draw, start)
            ov[f"campaigns.{camp_id}.end"] = window_date(draw, start) + dt.timedelta(days=60)
            ov[f"campaigns.{camp_id}.yearly"] = False
    if len(base.campaigns) > 1 and draw(flip):
        ov["program.campaign_stacking"] = draw(st.sampled_from(["multiply", "max", "add"]))
    if base.burn.cash_offset is not None and draw(flip):
        ov["burn.cash_offset.max_share"] = draw(st.sampled_from([0.0, 0.05, 0.1, 0.5, 1.0]))
        ov["burn.cash_offset.min_points"] = draw(st.integers(0, 150))
        ov["burn.cash_offset.step"] = draw(st.sampled_from([1, 10, 100]))
    for item_id in base.burn.catalogue:
        if draw(st.integers(0, 4)) == 0:
            ov[f"burn.catalogue.{item_id}.stock"] = maybe(draw, st.integers(0, 4), 3)
        if draw(st.integers(0, 4)) == 0:
            ov[f"burn.catalogue.{item_id}.points"] = draw(st.integers(1, 60))
    if draw(flip):
        ov["interest.monthly_rate"] = draw(st.sampled_from([0.01, 0.05, 0.2]))
        ov["interest.min_balance"] = draw(st.integers(0, 50))
    policy = override(base, ov)
    shown = {k: str(v) if isinstance(v, dt.date) else v for k, v in ov.items()}
    return policy, f"{name} with overrides {shown}"


def rule_base(draw: st.DrawFn, *, may_delay: bool = True) -> dict[str, Any]:
    """Fields every earn rule has, randomised."""
    out: dict[str, Any] = {}
    if draw(st.integers(0, 2)) == 0:
        out["caps"] = {k.split(".")[-1]: v for k, v in caps_of(draw, "caps", 60).items()}
    if draw(st.integers(0, 3)) == 0:
        out["priority"] = draw(st.integers(-1, 2))
    if draw(st.integers(0, 3)) == 0:
        out["overall_cap"] = False
    if draw(st.integers(0, 3)) == 0:
        out["qualifying"] = False
    if draw(st.integers(0, 2)) == 0:
        out["boostable"] = draw(st.booleans())
    if may_delay and draw(st.integers(0, 3)) == 0:
        out["delay_days"] = draw(st.integers(1, 3))
    if draw(st.integers(0, 9)) == 0:
        out["enabled"] = False
    return out


def earn_rule(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    rule = {"kind": kind, **rule_base(draw, may_delay=kind != "investment")}
    if kind == "purchase":
        rule["points_per_unit"] = draw(st.sampled_from([0.5, 1.0, 1.5, 3.0]))
        rule["rounding"] = draw(st.sampled_from(["floor", "round", "ceil"]))
        rule["min_amount"] = draw(st.sampled_from([0.0, 0.0, 5.0]))
        if draw(st.booleans()):
            rule["category_multipliers"] = {"coffee": draw(st.sampled_from([0.0, 2.0, 1.5]))}
    elif kind == "per_item":
        rule["points_per_item"] = draw(st.integers(1, 10))
        if draw(st.booleans()):
            rule["categories"] = ["coffee"]
    elif kind == "checkin":
        rule["streak_points"] = draw(st.lists(st.integers(0, 20), min_size=1, max_size=7))
        rule["after_table"] = draw(st.sampled_from(["hold", "restart"]))
        if draw(st.booleans()):
            rule["bonus_day"] = draw(st.integers(1, 7))
            rule["bonus_points"] = draw(st.integers(0, 50))
    elif kind == "action":
        rule["action"] = draw(st.sampled_from(["share", "review", "login", "course", "survey"]))
        rule["points"] = draw(st.integers(1, 30))
    elif kind == "one_time":
        rule["trigger"] = draw(st.sampled_from(["profile", "first_purchase", "survey", "course"]))
        rule["points"] = draw(st.integers(1, 100))
    elif kind == "referral":
        rule["stage"] = draw(st.sampled_from(["signup", "verified", "first_purchase"]))
        rule["referrer_points"] = draw(st.integers(0, 50))
        rule["referee_points"] = draw(st.integers(0 if rule["referrer_points"] else 1, 50))
    elif kind == "task":
        task = draw(st.sampled_from(["count", "spend", "streak"]))
        rule["task"] = task
        rule["points"] = draw(st.integers(1, 80))
        rule["period"] = draw(st.sampled_from(["week", "month"]))
        if task == "count":
            rule["action"] = draw(st.sampled_from(["purchase", "checkin", "share", "login"]))
            rule["count"] = draw(st.integers(1, 4))
        elif task == "spend":
            rule["spend"] = draw(st.sampled_from([20.0, 100.0, 450.5]))
        else:
            rule["action"] = draw(st.sampled_from(["purchase", "checkin", "login"]))
            rule["days"] = draw(st.integers(2, 4))
    elif kind == "investment":
        rule["points_per_unit"] = draw(st.sampled_from([0.001, 0.01, 0.5]))
    return rule


@st.composite
def small_policies(draw: st.DrawFn, start: dt.date) -> tuple[Policy, str]:
    """A small policy built from scratch: a random subset of every kind of earn rule (tasks,
    delayed issuance, mentor share), campaigns, a catalogue with stock and tier-only items,
    cash offset, lottery, auction, donation, tiers, expiry, interest and dynamic value."""
    kinds = ["purchase", "per_item", "checkin", "action", "one_time", "referral", "task"]
    kinds += ["task", "investment"]
    chosen = draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=6))
    earn: dict[str, Any] = {}
    for i, kind in enumerate(chosen):
        earn[f"{kind}_{i}"] = earn_rule(draw, kind)
    if draw(st.booleans()):
        shared = draw(st.lists(st.sampled_from(sorted(earn)), min_size=1, max_size=3, unique=True))
        mentor: dict[str, Any] = {
            "kind": "mentor_share",
            "share": draw(st.sampled_from([0.1, 0.5, 1.0])),
            "rules": shared,
            "delay_days": draw(st.integers(1, 3)),
        }
        if draw(st.booleans()):
            mentor["days"] = draw(st.integers(1, 60))
        earn["mentor"] = mentor

    n_tiers = draw(st.integers(1, 3))
    tiers: dict[str, Any] = {"t0": {"threshold": 0}}
    threshold = 0.0
    for t in range(1, n_tiers):
        threshold += draw(st.sampled_from([1.0, 30.0, 150.0, 500.0]))
        tiers[f"t{t}"] = {
            "threshold": threshold,
            "multiplier": draw(st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0])),
            "birthday_multiplier": draw(st.sampled_from([1.0, 2.0])),
            "monthly_pack_cost": draw(st.sampled_from([0.0, 2.5])),
        }
        if draw(st.booleans()):
            tiers[f"t{t}"]["point_value"] = draw(st.sampled_from([0.012, 0.5]))
    tier_ids = list(tiers)

    campaigns: dict[str, Any] = {}
    for c in range(draw(st.integers(0, 2))):
        camp: dict[str, Any] = {"multiplier": draw(st.sampled_from([1.0, 1.5, 2.0, 3.0]))}
        camp["bonus"] = draw(st.integers(0 if camp["multiplier"] > 1 else 1, 10))
        if draw(st.booleans()):
            camp["start"] = window_date(draw, start)
            camp["end"] = camp["start"] + dt.timedelta(days=draw(st.integers(0, 30)))
        if draw(st.booleans()):
            camp["rules"] = draw(st.lists(st.sampled_from(sorted(earn)), max_size=2, unique=True))
        if n_tiers > 1 and draw(st.integers(0, 2)) == 0:
            camp["tiers"] = draw(st.lists(st.sampled_from(tier_ids), min_size=1, unique=True))
        if draw(st.integers(0, 2)) == 0:
            camp["groups"] = ["b"]
        if draw(st.integers(0, 2)) == 0:
            camp["max_days_since_join"] = draw(st.integers(0, 40))
        if draw(st.integers(0, 3)) == 0:
            camp["birthday_month"] = True
        campaigns[f"camp_{c}"] = camp

    burn: dict[str, Any] = {}
    if draw(st.booleans()):
        burn["cash_offset"] = {
            "max_share": draw(st.sampled_from([0.0, 0.1, 0.5, 1.0])),
            "min_points": draw(st.integers(0, 20)),
            "step": draw(st.sampled_from([1, 5])),
            "enabled": draw(st.integers(0, 5)) > 0,
        }
    items: dict[str, Any] = {}
    for k in range(draw(st.integers(0, 3))):
        item: dict[str, Any] = {
            "points": draw(st.sampled_from([1, 10, 25, 100])),
            "cash_cost": draw(st.sampled_from([0.0, 0.5, 3.0])),
            "category": draw(st.sampled_from(["coffee", "food"])),
        }
        if draw(st.booleans()):
            item["stock"] = draw(st.integers(0, 4))
        if n_tiers > 1 and draw(st.integers(0, 3)) == 0:
            item["min_tier"] = draw(st.sampled_from(tier_ids))
        if draw(st.integers(0, 5)) == 0:
            item["enabled"] = False
        items[f"item_{k}"] = item
    if items:
        burn["catalogue"] = items
    if draw(st.integers(0, 2)) == 0:
        burn["points_day"] = {
            "day_of_month": draw(st.integers(1, 28)),
            "price_factor": draw(st.sampled_from([0.5, 0.8])),
        }
    if draw(st.booleans()):
        probs = draw(st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.3]), min_size=1, max_size=3))
        burn["lottery"] = {
            "cost_points": draw(st.integers(1, 30)),
            "prizes": [
                {
                    "name": f"p{j}",
                    "probability": p,
                    "points": draw(st.integers(0, 60)),
                    "cash_cost": draw(st.sampled_from([0.0, 1.0])),
                }
                for j, p in enumerate(probs)
            ],
        }
    if draw(st.booleans()):
        burn["auction"] = {
            f"lot_{k}": {
                "quantity": draw(st.integers(1, 2)),
                "reserve_points": draw(st.integers(1, 40)),
                "cash_cost": 5.0,
                "close_day_of_month": draw(st.sampled_from([1, 2, 25, 28, start.day])),
            }
            for k in range(draw(st.integers(1, 2)))
        }
    if draw(st.booleans()):
        burn["donation"] = {
            "min_points": draw(st.integers(0, 10)),
            "enabled": draw(st.integers(0, 5)) > 0,
        }
        if draw(st.booleans()):
            burn["donation"]["cash_per_point"] = 0.01

    data: dict[str, Any] = {
        "program": {
            "name": "small",
            "point_value": draw(st.sampled_from([0.001, 0.01, 0.25, 1.0])),
            "campaign_stacking": draw(st.sampled_from(["multiply", "max", "add"])),
            "groups": ["a", "b"],
        },
        "earn": earn,
        "campaigns": campaigns,
        "burn": burn,
        "tiers": tiers,
        "tiering": {
            "measure": draw(st.sampled_from(["points", "spend"])),
            "window_months": draw(st.integers(1, 3)),
            "review": draw(st.sampled_from(["monthly", "quarterly", "yearly"])),
            "upgrade": draw(st.sampled_from(["immediate", "review"])),
            "downgrade": draw(st.sampled_from(["none", "one_step", "recompute"])),
        },
        "caps": {k.split(".")[-1]: v for k, v in caps_of(draw, "caps", 150).items()},
        "freeze": {"blocks_earn": draw(st.booleans())},
        "refunds": {"clawback": draw(st.sampled_from(["allow_negative", "cap_at_balance"]))},
    }
    expiry = draw(expiry_overrides(start))
    data["expiry"] = {k.split(".", 1)[1]: v for k, v in expiry.items()}
    if draw(st.booleans()):
        data["interest"] = {
            "monthly_rate": draw(st.sampled_from([0.01, 0.05, 0.2])),
            "min_balance": draw(st.integers(0, 50)),
        }
        if draw(st.booleans()):
            data["interest"]["max_points"] = draw(st.integers(1, 20))
    if draw(st.integers(0, 2)) == 0:
        data["dynamic_value"] = {
            "threshold": draw(st.sampled_from([0.001, 0.05, 2.0])),
            "recover_below": 0.0005,
            "step": 0.8,
            "floor": 0.3,
        }
    return validate_policy(data, "small"), "small policy"


def policies(start: dt.date) -> st.SearchStrategy[tuple[Policy, str]]:
    return st.one_of(repo_policies(start), small_policies(start))


# --------------------------------------------------------------------------- events

KINDS = (
    [Kind.PURCHASE] * 5
    + [Kind.REFUND] * 2
    + [Kind.CHECKIN] * 2
    + [Kind.ACTION] * 2
    + [Kind.REDEEM] * 3
    + [Kind.REFERRAL, Kind.INVESTMENT, Kind.CASH_OFFSET, Kind.LOTTERY, Kind.BID]
    + [Kind.DONATE, Kind.FREEZE, Kind.UNFREEZE, Kind.ADJUST]
)


@dataclass
class Orders:
    """Orders so far (purchases, investments), for refunds that reference them, and the next
    order id."""

    rows: list[tuple[int, int, int, int]]  # (member, order id, amount, points it may earn)
    next_ref: int = 1


def event(
    draw: st.DrawFn,
    cp: CompiledPolicy,
    kinds: list[Kind],
    n: int,
    day: int,
    orders: Orders,
) -> tuple[int, int, int, int, int, int, float]:
    """One valid event of one of ``kinds`` for one of members ``0 .. n-1``:
    (member, kind, amount, quantity, code, ref, draw)."""
    kind = draw(st.sampled_from(kinds))
    member = draw(st.integers(0, n - 1))
    amount = quantity = code = ref = 0
    rnd = float("nan")
    if kind == Kind.PURCHASE:
        amount = draw(st.integers(0, 30_000)) * 10_000  # 0 to 300 CNY, to the cent
        quantity = draw(st.integers(0, 3))
        code = draw(st.integers(0, len(cp.categories) - 1))
        ref = orders.next_ref
        orders.next_ref += 1
        orders.rows.append((member, ref, amount, 3 * amount // MICROS))
    elif kind == Kind.REFUND:
        if orders.rows and draw(st.integers(0, 4)) > 0:
            member, ref, paid, most = orders.rows[draw(st.integers(0, len(orders.rows) - 1))]
            amount = draw(st.integers(0, paid // 10_000)) * 10_000
            quantity = draw(st.integers(0, max(1, most)))
        else:  # an order the engine knows nothing of
            ref = 10**6 + draw(st.integers(0, 5))
            amount = draw(st.integers(0, 100)) * MICROS
            quantity = draw(st.integers(0, 100))
    elif kind == Kind.ACTION:
        rewarded = rewarded_actions(cp)
        if rewarded and draw(st.integers(0, 3)) > 0:
            code = draw(st.sampled_from(rewarded))
        else:
            code = draw(st.integers(0, len(ACTIONS) - 1))
    elif kind == Kind.REFERRAL:
        stage = draw(st.sampled_from(["signup", "verified", "first_purchase"]))
        code = referral_code(stage, draw(st.sampled_from(["referrer", "referee"])))
    elif kind == Kind.INVESTMENT:
        amount = draw(st.integers(0, 100_000)) * MICROS
        quantity = day + draw(st.integers(-1, 6))  # maturity day
        ref = orders.next_ref
        orders.next_ref += 1
        orders.rows.append((member, ref, 0, min(amount // MICROS, 1000)))
    elif kind == Kind.REDEEM:
        code = draw(st.integers(-1, len(cp.item_ids)))  # includes unknown items
        quantity = draw(st.integers(0, 3))
    elif kind == Kind.CASH_OFFSET:
        amount = draw(st.integers(0, 30_000)) * 10_000
        quantity = draw(st.sampled_from([0, 0, 1, 50, 100, 250, 1000]))
    elif kind == Kind.LOTTERY:
        rnd = draw(st.floats(0.0, 1.0, exclude_max=True, allow_nan=False))
    elif kind == Kind.BID:
        code = draw(st.integers(-1, len(cp.lot_ids)))
        quantity = draw(st.integers(0, 120))
    elif kind == Kind.DONATE:
        quantity = draw(st.integers(0, 150))
    elif kind == Kind.ADJUST:
        quantity = draw(st.integers(-150, 150))
    return member, int(kind), amount, quantity, code, ref, rnd


def rewarded_actions(cp: CompiledPolicy) -> list[int]:
    """Codes of the actions some earn rule of ``cp`` pays for (or counts in a task)."""
    names: set[str] = set()
    for _, rule in cp.earn:
        if isinstance(rule, ActionRule):
            names.add(rule.action)
        elif isinstance(rule, OneTimeRule | TaskRule):
            names.add(rule.trigger if isinstance(rule, OneTimeRule) else rule.action)
    return sorted(ACTIONS.index(a) for a in names if a in ACTIONS)


@st.composite
def scenarios(
    draw: st.DrawFn,
    *,
    max_members: int = 12,
    max_days: int = 40,
    max_events: int = 10,
    gaps: bool = True,
    policy: Callable[[dt.date], st.SearchStrategy[tuple[Policy, str]]] | None = None,
) -> Scenario:
    """A run: a start date near a month end, a policy (``policy(start)``, default: the
    repository's or a small one), 2 to ``max_members`` members (join days, birth months,
    groups, referrers), and 1 to ``max_days`` days of up to ``max_events`` events each."""
    start = draw(st.sampled_from(START_DATES))
    pol, source = draw(policy(start) if policy else policies(start))
    cp = compile_policy(pol, CATEGORIES)
    n = draw(st.integers(2, max_members))
    s = day_number(start)
    n_groups = len(pol.program.groups)
    join = tuple(s - draw(st.sampled_from([0, 0, 5, 29, 30, 60])) for _ in range(n))
    birth = tuple(draw(st.integers(0, 12)) for _ in range(n))
    group = tuple(draw(st.integers(0, n_groups - 1)) for _ in range(n))
    referrer = tuple(
        -1 if draw(st.booleans()) else (i + draw(st.integers(1, n - 1))) % n for i in range(n)
    )
    # most runs concentrate on a few kinds and members, so that caps, stock, tiers and balances
    # are pushed to their limits
    kinds = KINDS if draw(st.booleans()) else draw(st.lists(st.sampled_from(KINDS), min_size=1))
    active = draw(st.integers(1, n)) if draw(st.booleans()) else n
    n_days = draw(st.integers(1, max_days))
    orders = Orders([])
    days, offsets = [], []
    offset = 0
    for d in range(n_days):
        if d and gaps and draw(st.integers(0, 7)) == 0:
            offset += draw(st.sampled_from([1, 2, 5, 31, 40]))  # days on which nothing is run
        k = draw(st.integers(0, max_events))
        rows = [event(draw, cp, kinds, active, s + offset, orders) for _ in range(k)]
        days.append(events_of(rows))
        offsets.append(offset)
        offset += 1
    return Scenario(pol, source, n, s, join, birth, group, referrer, tuple(days), tuple(offsets))


# --------------------------------------------------------------------------- variants


def event_class(kind: I64, quantity: I64) -> I64:
    """The step of the canonical order of a day an event belongs to: 0 freezes, 1 earn
    (and positive adjustments), 2 refunds, 3 burns (and negative adjustments)."""
    out = np.full(len(kind), 1, np.int64)
    out[np.isin(kind, [Kind.FREEZE, Kind.UNFREEZE])] = 0
    out[kind == Kind.REFUND] = 2
    out[np.isin(kind, list(BURN_KINDS)) | ((kind == Kind.ADJUST) & (quantity < 0))] = 3
    return out


def canonical_order(sc: Scenario) -> Scenario:
    """The same events with each day's sorted into the canonical order of a day (freezes,
    earn, refunds, burns; arrival order kept within each step), ``seq`` renumbered."""
    days = []
    for ev in sc.days:
        order = np.argsort(event_class(ev.kind, ev.quantity), kind="stable")
        out = ev.take(order)
        out.seq = np.arange(1, len(out) + 1, dtype=np.int64)
        days.append(out)
    return sc.with_days(tuple(days))


def ample_stock(sc: Scenario) -> Scenario:
    """Every limited catalogue item given more stock than any run can use."""
    ov = {
        f"burn.catalogue.{k}.stock": 10**6
        for k, item in sc.policy.burn.catalogue.items()
        if item.stock is not None
    }
    return sc.with_policy(override(sc.policy, ov), f"{sc.source}, ample stock")


@st.composite
def tight_caps(draw: st.DrawFn, sc: Scenario) -> Scenario:
    """``sc`` with small overall caps and small caps on some of its earn rules, so that caps
    cut often (use with ``flatmap``)."""
    ov: dict[str, Any] = {}
    for rule_id, rule in sc.policy.earn.items():
        if not isinstance(rule, MentorShareRule) and draw(st.booleans()):
            ov.update(caps_of(draw, f"earn.{rule_id}.caps", 40))
    ov.update(caps_of(draw, "caps", 60))
    return sc.with_policy(override(sc.policy, ov), f"{sc.source}, tight caps {ov}")


def scarce_stock(sc: Scenario) -> Scenario:
    """Every catalogue item limited to one or two units programme-wide."""
    ov = {f"burn.catalogue.{k}.stock": 1 + i % 2 for i, k in enumerate(sc.policy.burn.catalogue)}
    return sc.with_policy(override(sc.policy, ov), f"{sc.source}, scarce stock")


# --------------------------------------------------------------------------- rule helpers


def could_pay(rule: object, kind: int, code: int) -> bool:
    """Whether an earn rule can pay anything for an event of this kind and code (a superset
    of the events it does pay for)."""
    if isinstance(rule, PurchaseRule | PerItemRule | InvestmentRule):
        want = Kind.INVESTMENT if isinstance(rule, InvestmentRule) else Kind.PURCHASE
        return kind == want
    if isinstance(rule, CheckinRule):
        return kind == Kind.CHECKIN
    if isinstance(rule, ActionRule):
        return kind == Kind.ACTION and code == ACTIONS.index(rule.action)
    if isinstance(rule, OneTimeRule):
        if rule.trigger == "first_purchase":
            return kind == Kind.PURCHASE
        return kind == Kind.ACTION and code == ACTIONS.index(rule.trigger)
    if isinstance(rule, ReferralRule):
        stage = ("signup", "verified", "first_purchase").index(rule.stage)
        return kind == Kind.REFERRAL and code // 2 == stage
    if isinstance(rule, TaskRule):
        action = "purchase" if rule.task == "spend" else rule.action
        if action == "purchase":
            return kind == Kind.PURCHASE
        if action == "checkin":
            return kind == Kind.CHECKIN
        return kind == Kind.ACTION and code == ACTIONS.index(action)
    return False


# --------------------------------------------------------------------------- splits


@dataclass(frozen=True)
class Split:
    """How to cut a day's batch into several ``apply_events`` calls: ``"singletons"`` (one call
    per member, or per event), or ``"random"`` batches chosen from ``seed``."""

    mode: str
    seed: int

    def by_member(self, member: I64, n: int, day: int) -> list[I64]:
        """Event indices per call; each member's events in one call, in arrival order."""
        rng = np.random.default_rng([self.seed, day])
        if self.mode == "singletons":
            label = rng.permutation(n)
        else:
            label = rng.integers(0, rng.integers(1, n + 1), n)
        return [np.flatnonzero(label[member] == b) for b in range(n)]

    def by_time(self, n_events: int, day: int) -> list[I64]:
        """Event indices per call: consecutive ranges of the day's events."""
        if self.mode == "singletons":
            return [np.array([i]) for i in range(n_events)]
        rng = np.random.default_rng([self.seed, day])
        cut = np.flatnonzero(rng.random(max(n_events - 1, 0)) < rng.random()) + 1
        return [part for part in np.split(np.arange(n_events), cut) if len(part)]


splits = st.builds(
    Split, st.sampled_from(["random", "random", "singletons"]), st.integers(0, 2**32 - 1)
)

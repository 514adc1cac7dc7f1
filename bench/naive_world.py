"""The naive baseline for ``world_bench.py``: the e-commerce world written the way an analyst
would write it with SimPy, one Python object and one SimPy process per member.

Each member wakes once a day (``yield env.timeout(1)``) and lives that day in plain Python with
one seeded :class:`random.Random` shared by the population: expiry of monthly buckets, BG/NBD
buying with Gamma-Gamma order values, check-in streaks, shares, profile completion, the rules of
``policies/ecommerce_super_points.toml`` (spend points, high-margin category, tier and birthday
multipliers, new-member double points, per-rule and overall daily caps), cash offset at checkout
once the balance passes the member's threshold (FIFO burn), immediate tier upgrades and the
year-end review. A SimPy process brings in new members (Poisson) at the scenario's rate. The
rule numbers are read from the policy file and the population's (start date, currency scale,
tenure, joins, category share) from ``scenarios/ecommerce.toml``, with :mod:`tomllib`; the
behaviour numbers are the project's defaults (:class:`BaselineParams`, :class:`Traits`).

It is the same *workload* as the vectorised world (kinds and rates of events, rules), not the
same simulation event for event: it exists to measure member-days per second.

    .venv/bin/python bench/naive_world.py [--members N] [--days D] [--seed S]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
import time
import tomllib
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import simpy

from sim.behaviour.baseline import BaselineParams
from sim.behaviour.params import RedemptionModel, Traits

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "ecommerce.toml"
POLICY = ROOT / "policies" / "ecommerce_super_points.toml"
EPS = 1e-9


@dataclass(frozen=True)
class Setup:
    """The population numbers of the scenario file (read with :mod:`tomllib`)."""

    start: dt.date
    currency_scale: float  # CDNOW dollars to the programme's currency
    tenure_days: int  # members there at the start joined uniformly over this many days before
    joins_per_member_day: float  # new members a day, per member at the start
    high_margin_share: float  # share of orders in the high-margin category

    @classmethod
    def from_toml(cls, path: Path = SCENARIO) -> Setup:
        with path.open("rb") as f:
            scn: dict[str, Any] = tomllib.load(f)
        pop = scn["population"]
        (segment,) = pop["segments"].values()  # the e-commerce scenario has one segment
        return cls(
            start=scn["horizon"]["start"],
            currency_scale=float(segment["baseline"]["currency_scale"]),
            tenure_days=int(pop["tenure_days"]),
            joins_per_member_day=float(pop["joins_per_day"]) / int(pop["size"]),
            high_margin_share=float(pop["categories"]["high_margin"]),
        )


@dataclass(frozen=True)
class Rules:
    """The policy's numbers the naive world applies (read from the policy file)."""

    points_per_unit: float
    high_margin: float
    streak_points: tuple[int, ...]
    bonus_day: int
    bonus_points: int
    share_points: int
    share_daily_cap: int
    profile_points: int
    daily_cap: int
    new_member_days: int
    new_member_multiplier: float
    new_member_rules: frozenset[str]
    tier_names: tuple[str, ...]
    tier_thresholds: tuple[float, ...]
    tier_multipliers: tuple[float, ...]
    tier_values: tuple[float, ...]
    tier_birthday: tuple[float, ...]
    window_months: int
    offset_share: float
    offset_min: int
    offset_step: int
    expiry_months: int

    @classmethod
    def from_toml(cls, path: Path = POLICY) -> Rules:
        with path.open("rb") as f:
            pol: dict[str, Any] = tomllib.load(f)
        earn, burn = pol["earn"], pol["burn"]["cash_offset"]
        value = float(pol["program"]["point_value"])
        tiers = sorted(pol["tiers"].items(), key=lambda kv: float(kv[1]["threshold"]))
        camp = pol["campaigns"]["new_member"]
        return cls(
            points_per_unit=float(earn["purchase"]["points_per_unit"]),
            high_margin=float(earn["purchase"]["category_multipliers"]["high_margin"]),
            streak_points=tuple(int(x) for x in earn["checkin"]["streak_points"]),
            bonus_day=int(earn["checkin"]["bonus_day"]),
            bonus_points=int(earn["checkin"]["bonus_points"]),
            share_points=int(earn["share"]["points"]),
            share_daily_cap=int(earn["share"]["caps"]["daily"]),
            profile_points=int(earn["profile"]["points"]),
            daily_cap=int(pol["caps"]["daily"]),
            new_member_days=int(camp["max_days_since_join"]),
            new_member_multiplier=float(camp["multiplier"]),
            new_member_rules=frozenset(camp["rules"]),
            tier_names=tuple(name for name, _ in tiers),
            tier_thresholds=tuple(float(t["threshold"]) for _, t in tiers),
            tier_multipliers=tuple(float(t.get("multiplier", 1.0)) for _, t in tiers),
            tier_values=tuple(float(t.get("point_value", value)) for _, t in tiers),
            tier_birthday=tuple(float(t.get("birthday_multiplier", 1.0)) for _, t in tiers),
            window_months=int(pol["tiering"]["window_months"]),
            offset_share=float(burn["max_share"]),
            offset_min=int(burn["min_points"]),
            offset_step=int(burn["step"]),
            expiry_months=int(pol["expiry"]["months"]),
        )


@dataclass(eq=False)
class Member:
    """One member: traits, balances, lots and counters."""

    join_day: int
    birth_month: int
    lam: float  # BG/NBD purchase rate per day
    drop: float  # dropout probability after each purchase
    buy_p: float  # daily purchase probability (1 - exp(-lam * drop)) / drop
    nu: float  # Gamma-Gamma spend rate
    checkin_p: float  # 0 for members without the habit
    share_p: float
    threshold: int  # redeem at checkout once the balance reaches this
    alive: bool = True
    tier: int = 0
    streak: int = 0
    last_checkin: int = -10
    profile_done: bool = False
    balance: int = 0
    buckets: deque[list[int]] = field(default_factory=deque)  # [month earned, points], FIFO
    qualifying: dict[int, int] = field(default_factory=dict)  # month -> qualifying points
    earned_today: int = 0
    shared_today: int = 0
    issued: int = 0
    burned: int = 0
    expired: int = 0
    orders: int = 0
    gmv: float = 0.0
    checkins: int = 0
    shares: int = 0
    offsets: int = 0


class NaiveWorld:
    """A population of :class:`Member` objects, each a SimPy process, under one policy."""

    def __init__(
        self,
        members: int,
        seed: int,
        rules: Rules | None = None,
        setup: Setup | None = None,
    ) -> None:
        if members < 0:
            raise ValueError(f"members(={members}) must be >= 0")
        self.rules = rules if rules is not None else Rules.from_toml()
        self.setup = setup if setup is not None else Setup.from_toml()
        self.member_days = 0
        self.rng = random.Random(seed)
        self.baseline = BaselineParams()
        self.traits = Traits()
        self.checkout_share = RedemptionModel().checkout_share
        self.env = simpy.Environment()
        self.month_of: list[int] = []  # calendar, filled for the days run
        self.month_of_year: list[int] = []
        self.year_end: list[bool] = []
        self.members: list[Member] = []
        for _ in range(members):
            self._add(self._new_member(-self.rng.randrange(self.setup.tenure_days + 1)))
        self.joins_per_day = self.setup.joins_per_member_day * members
        if self.joins_per_day > 0:
            self.env.process(self._joins())

    def _add(self, m: Member) -> None:
        self.members.append(m)
        self.env.process(self._life(m))

    def _joins(self) -> Generator[simpy.Event, Any, None]:
        """New members arrive as a Poisson process and start living at once."""
        while True:
            yield self.env.timeout(self.rng.expovariate(self.joins_per_day))
            self._add(self._new_member(int(self.env.now)))

    def _new_member(self, join_day: int) -> Member:
        rng, bp, tr = self.rng, self.baseline, self.traits
        lam = rng.gammavariate(bp.r, 1.0 / (bp.alpha * bp.time_unit_days))
        drop = rng.betavariate(bp.a, bp.b)
        buy_p = min(1.0, lam, -math.expm1(-lam * drop) / drop) if drop > 0 else min(lam, 1.0)
        habit = rng.random() < tr.checkin_share
        median = tr.threshold_multiple * self.rules.offset_min
        return Member(
            join_day=join_day,
            birth_month=rng.randint(1, 12),
            lam=lam,
            drop=drop,
            buy_p=buy_p,
            nu=rng.gammavariate(bp.q, 1.0 / bp.gamma),
            checkin_p=rng.betavariate(tr.checkin_a, tr.checkin_b) if habit else 0.0,
            share_p=rng.gammavariate(0.5, tr.share_rate / 0.5),
            threshold=round(rng.lognormvariate(math.log(median), tr.threshold_sigma)),
        )

    def run(self, days: int) -> None:
        """Simulate ``days`` more days (every member, every day)."""
        first = len(self.month_of)
        for d in range(first, first + days + 1):
            date = self.setup.start + dt.timedelta(days=d)
            self.month_of.append(date.year * 12 + date.month - 1)
            self.month_of_year.append(date.month)
            self.year_end.append(date.month == 12 and date.day == 31)
        self.env.run(until=first + days)

    def _life(self, m: Member) -> Generator[simpy.Event, Any, None]:
        while True:
            self.member_days += 1
            self.member_day(m, int(self.env.now))
            yield self.env.timeout(1)

    # --- one member's day -----------------------------------------------------------------

    def member_day(self, m: Member, day: int) -> None:
        rng, rules = self.rng, self.rules
        month = self.month_of[day]
        # 1. expiry: a bucket earned in month k expires after the end of month k + months
        while m.buckets and m.buckets[0][0] + rules.expiry_months < month:
            _, pts = m.buckets.popleft()
            m.balance -= pts
            m.expired += pts
        m.earned_today = m.shared_today = 0
        if m.alive:
            # 2. earn: check-in, shares, profile, purchase (in arrival order)
            if m.checkin_p > 0.0:
                pull = 1.0 + 0.2 * min(m.streak, 7) / 7 if m.last_checkin == day - 1 else 1.0
                if rng.random() < m.checkin_p * pull:
                    m.streak = m.streak + 1 if m.last_checkin == day - 1 else 1
                    m.last_checkin = day
                    m.checkins += 1
                    pos = (m.streak - 1) % len(rules.streak_points) + 1
                    pts = rules.streak_points[pos - 1]
                    if pos == rules.bonus_day:
                        pts += rules.bonus_points
                    self.award(m, day, month, "checkin", pts)
            if rng.random() < m.share_p:
                for _ in range(rng.randint(1, 6)):
                    m.shares += 1
                    self.award(m, day, month, "share", rules.share_points)
            if not m.profile_done and rng.random() < self.traits.profile_rate:
                m.profile_done = True
                self.award(m, day, month, "profile", rules.profile_points)
            if rng.random() < m.buy_p:
                amount = rng.gammavariate(self.baseline.p, 1.0 / m.nu) * self.setup.currency_scale
                m.orders += 1
                m.gmv += amount
                cat = rules.high_margin if rng.random() < self.setup.high_margin_share else 1.0
                base = math.floor(amount * rules.points_per_unit * cat + EPS)
                self.award(m, day, month, "purchase", base)
                # 3. burn: cash offset at checkout once the balance passes the threshold
                if m.balance >= m.threshold and rng.random() < self.checkout_share:
                    self.cash_offset(m, amount)
                if rng.random() < m.drop:
                    m.alive = False
        # 4. end of day: the year-end tier review (upgrades happen as points come in)
        if self.year_end[day]:
            self.review(m, month)

    def award(self, m: Member, day: int, month: int, rule: str, base: int) -> None:
        rules = self.rules
        mult = 1.0
        if rule == "purchase":
            mult = rules.tier_multipliers[m.tier]
            if m.birth_month == self.month_of_year[day]:
                mult *= rules.tier_birthday[m.tier]
        if day - m.join_day < rules.new_member_days and rule in rules.new_member_rules:
            mult *= rules.new_member_multiplier
        pts = math.floor(base * mult + EPS)
        if rule == "share":
            pts = min(pts, rules.share_daily_cap - m.shared_today)
        pts = min(pts, rules.daily_cap - m.earned_today)
        if pts <= 0:
            return
        if rule == "share":
            m.shared_today += pts
        m.earned_today += pts
        m.issued += pts
        m.balance += pts
        if m.buckets and m.buckets[-1][0] == month:
            m.buckets[-1][1] += pts
        else:
            m.buckets.append([month, pts])
        m.qualifying[month] = m.qualifying.get(month, 0) + pts
        top = len(rules.tier_thresholds) - 1
        if m.tier < top:
            total = self.qualifying(m, month)
            while m.tier < top and total >= rules.tier_thresholds[m.tier + 1]:
                m.tier += 1

    def qualifying(self, m: Member, month: int) -> int:
        oldest = month - self.rules.window_months
        return sum(v for k, v in m.qualifying.items() if k > oldest)

    def cash_offset(self, m: Member, amount: float) -> None:
        rules = self.rules
        most = math.floor(rules.offset_share * amount / rules.tier_values[m.tier] + EPS)
        pts = min(most, m.balance) // rules.offset_step * rules.offset_step
        if pts < rules.offset_min:
            return
        m.offsets += 1
        m.balance -= pts
        m.burned += pts
        left = pts
        while left:  # oldest-expiring bucket first
            bucket = m.buckets[0]
            take = min(left, bucket[1])
            bucket[1] -= take
            left -= take
            if bucket[1] == 0:
                m.buckets.popleft()

    def review(self, m: Member, month: int) -> None:
        oldest = month - self.rules.window_months
        m.qualifying = {k: v for k, v in m.qualifying.items() if k > oldest}
        total = sum(m.qualifying.values())
        target = sum(1 for t in self.rules.tier_thresholds[1:] if total >= t)
        m.tier = max(m.tier - 1, target) if target < m.tier else target


def run_naive(members: int, days: int, seed: int) -> dict[str, Any]:
    """Build and run the naive world: ``members`` at the start, newcomers joining at the
    scenario's rate (scaled to ``members``). Timing covers drawing the members and running them;
    ``member_days`` counts the days every member (newcomers too) was simulated."""
    rules = Rules.from_toml()
    t0 = time.perf_counter()
    world = NaiveWorld(members, seed, rules)
    world.run(days)
    seconds = time.perf_counter() - t0
    ms = world.members
    tiers = [0] * len(rules.tier_names)
    for m in ms:
        tiers[m.tier] += 1
    return {
        "members": members,
        "members_at_end": len(ms),
        "days": days,
        "member_days": world.member_days,
        "seconds": seconds,
        "member_days_per_s": world.member_days / seconds if seconds > 0 else float("inf"),
        "orders": sum(m.orders for m in ms),
        "gmv": round(sum(m.gmv for m in ms), 2),
        "checkins": sum(m.checkins for m in ms),
        "shares": sum(m.shares for m in ms),
        "cash_offsets": sum(m.offsets for m in ms),
        "points_issued": sum(m.issued for m in ms),
        "points_burned": sum(m.burned for m in ms),
        "points_expired": sum(m.expired for m in ms),
        "points_outstanding": sum(m.balance for m in ms),
        "alive": sum(m.alive for m in ms),
        "tiers": dict(zip(rules.tier_names, tiers, strict=True)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=5000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print(json.dumps(run_naive(args.members, args.days, args.seed)))


if __name__ == "__main__":
    main()

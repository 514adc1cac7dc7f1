"""The naive baseline for ``world_bench.py``: the e-commerce world written the way an analyst
would write it with SimPy, one Python object and one SimPy process per member.

Each member wakes once a day (``yield env.timeout(1)``) and lives that day in plain Python with
one seeded :class:`random.Random` shared by the population, in the order of the world's day
(``ArmWorld.step`` in ``sim/world/arm.py`` around the engine's ``open_day``, ``apply_events``
and ``close_day`` in ``sim/engine/day.py``):

1. *Open the day*: buckets of points past their 12 months (rounded to the month end) expire;
   the 12-month qualifying window moves on at a month change; a dormant (dropped-out) member
   who got an expiry reminder yesterday comes back with ``Reactivation.reminder``
   (``ArmWorld._wake``).
2. *Decide*, on the balance and tier the member opened the day with (the world reads its
   arrays before it calls the engine):

   * buying (``ArmWorld._buy``, ``_lift``, ``_progress``): the BG/NBD daily probability times
     the loyalty lifts of ``sim/behaviour/loyalty.py``: goal gradient towards the nearer of the
     member's redemption threshold and the next tier, expiry pressure for "flexible" members
     while a reminder presses them, the redemption halo, and the reward response to the
     new-member double points (elasticity times the extra value per unit spent plus salience,
     times the member's valuation of points, decaying from the start of the member's exposure,
     damped by pressure). As in the world, the lifts are worked out only for members whose
     uniform falls under the largest lift possible today. Gamma-Gamma order value; the
     high-margin category at its share; dropout after the purchase lowered by switching costs
     (balance towards the threshold, tier rank); a return drawn at ``Returns.rate`` and
     scheduled within ``Returns.window_days``;
   * engagement (``ArmWorld._engage``): a check-in by members with the habit, pulled up by the
     running streak (at most 0.98 a day); one share a day at the member's rate; profile
     completion once. Only the actions the policy pays for are drawn, as in the world;
   * cash offset at checkout (``ArmWorld._redeem``): a buyer holding the minimum pays with
     points with probability ``checkout_share`` times the logistic of balance over threshold;
   * catalogue redemption (``ArmWorld._redeem``, ``_choose_items``): alive members who can
     afford the cheapest item redeem with the logistic probability of Stourm et al. against
     their stockpiling threshold, raised on the points day (the 18th) and under expiry
     pressure; the item is drawn among those affordable at today's price, allowed for the tier
     and in stock, in proportion to face value per point.
3. *Apply* as the engine does: earn in arrival order (purchase, check-in, share, profile) with
   the rules of ``policies/ecommerce_super_points.toml`` (spend points, high-margin category,
   tier and platinum birthday multipliers on purchases, new-member double points on all four
   rules, the streak table with its day-7 bonus, per-rule share cap and overall daily cap),
   qualifying points and immediate upgrades, the tier in force being the one the day opened
   with; refunds that are due (the order's points clawed back up to the balance, earliest
   expiring first, and taken off qualifying points); then the burns (cash offset up to 10% of
   the order at the tier's point value in steps of 100; the catalogue item at the points-day
   price, limited stock), each checked against the balance left.
4. *Close the day*: the year-end tier review (one-step downgrade); expiry reminders 30, 7 and 1
   days before a month end on which the member holds expiring points, which press the member
   for that many days and may wake a dormant member the next day.

A SimPy process brings in new members (Poisson) at the scenario's rate, scaled to the number of
members at the start (the world keeps the scenario's ``joins_per_day`` whatever its size). The
rule numbers are read from the policy file and the population's from
``scenarios/ecommerce.toml`` with :mod:`tomllib`; behaviour numbers are the project's
(:class:`BaselineParams`, :class:`Traits`, :class:`Behaviour`) with the scenario's overrides.

Left out, because the world does not run them for this scenario either: referrals (no referred
members, ``population.referred_share`` is 0, and no referral rule), logins, reviews, courses and
surveys (the policy pays for none, so the world draws none), lotteries, donations and auctions
(not in the policy), the campaign wake-up of dormant members (only dated campaigns wake them;
the new-member campaign is a standing rule), delayed (pending) points, freezes, interest, tier
packs and a dynamic point value (not in the policy). Left out of the world's work on purpose:
its metric tables (``sim/world/recorder.py``: daily balances, liability, tier counts, 30-day
actives, retention; here only per-member counters summed at the end), its event log and its
common-random-number streams; leaving them out can only make the baseline faster.

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
import statistics
import time
import tomllib
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import simpy

from sim.behaviour.baseline import BaselineParams
from sim.behaviour.params import Behaviour, Traits

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "ecommerce.toml"
POLICY = ROOT / "policies" / "ecommerce_super_points.toml"
EPS = 1e-9
NEVER = -(10**9)
"""Day of an event that never happened (a redemption, a reminder, an expiry pressure)."""
EARN_RULES = ("purchase", "checkin", "share", "profile")


@dataclass(frozen=True)
class Setup:
    """The population numbers of the scenario file (read with :mod:`tomllib`) and the
    behaviour numbers: the project's defaults with the scenario's overrides."""

    start: dt.date
    tenure_days: int  # members there at the start joined uniformly over this many days before
    joins_per_member_day: float  # new members a day, per member at the start
    high_margin_share: float  # share of orders in the high-margin category
    baseline: BaselineParams  # BG/NBD and Gamma-Gamma, currency scale
    traits: Traits
    behaviour: Behaviour

    @classmethod
    def from_toml(cls, path: Path = SCENARIO) -> Setup:
        with path.open("rb") as f:
            scn: dict[str, Any] = tomllib.load(f)
        pop = scn["population"]
        (segment,) = pop["segments"].values()  # the e-commerce scenario has one segment
        if pop.get("referred_share", 0.0):
            raise ValueError("the naive world brings in no referred members")
        return cls(
            start=scn["horizon"]["start"],
            tenure_days=int(pop["tenure_days"]),
            joins_per_member_day=float(pop["joins_per_day"]) / int(pop["size"]),
            high_margin_share=float(pop["categories"]["high_margin"]),
            baseline=BaselineParams(**segment.get("baseline", {})),
            traits=Traits(**segment.get("traits", {})),
            behaviour=Behaviour.model_validate(scn.get("behaviour", {})),
        )


@dataclass(frozen=True)
class Item:
    """A catalogue item as members see it."""

    points: int
    weight: float  # face value per point: members prefer good value
    min_tier: int  # -1: any tier
    stock: int | None  # None: unlimited


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
    review: str
    downgrade: str
    offset_share: float
    offset_min: int
    offset_step: int
    items: tuple[Item, ...]
    points_day: int  # day of the month
    points_day_factor: float  # price factor of catalogue items on the points day
    expiry_months: int
    reminders: tuple[int, ...]  # days before expiry

    @classmethod
    def from_toml(cls, path: Path = POLICY) -> Rules:
        with path.open("rb") as f:
            pol: dict[str, Any] = tomllib.load(f)
        earn, burn = pol["earn"], pol["burn"]
        offset = burn["cash_offset"]
        value = float(pol["program"]["point_value"])
        tiers = sorted(pol["tiers"].items(), key=lambda kv: float(kv[1]["threshold"]))
        names = [name for name, _ in tiers]
        camp = pol["campaigns"]["new_member"]
        if pol["refunds"]["clawback"] != "cap_at_balance" or pol["expiry"]["mode"] != "rolling":
            raise ValueError("the naive world knows capped clawback and rolling expiry only")
        items = tuple(
            Item(
                points=int(it["points"]),
                weight=float(it.get("face_value", it["cash_cost"])) / int(it["points"]),
                min_tier=names.index(it["min_tier"]) if "min_tier" in it else -1,
                stock=int(it["stock"]) if "stock" in it else None,
            )
            for it in burn["catalogue"].values()
            if it.get("enabled", True)
        )
        tiering = pol["tiering"]
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
            tier_names=tuple(names),
            tier_thresholds=tuple(float(t["threshold"]) for _, t in tiers),
            tier_multipliers=tuple(float(t.get("multiplier", 1.0)) for _, t in tiers),
            tier_values=tuple(float(t.get("point_value", value)) for _, t in tiers),
            tier_birthday=tuple(float(t.get("birthday_multiplier", 1.0)) for _, t in tiers),
            window_months=int(tiering["window_months"]),
            review=str(tiering.get("review", "yearly")),
            downgrade=str(tiering.get("downgrade", "one_step")),
            offset_share=float(offset["max_share"]),
            offset_min=int(offset["min_points"]),
            offset_step=int(offset["step"]),
            items=items,
            points_day=int(burn["points_day"]["day_of_month"]),
            points_day_factor=float(burn["points_day"]["price_factor"]),
            expiry_months=int(pol["expiry"]["months"]),
            reminders=tuple(sorted((int(d) for d in pol["expiry"]["reminders"]), reverse=True)),
        )

    @property
    def offset_gate(self) -> int:
        """Points a member must hold to think of a cash offset (the smallest one possible)."""
        return max(self.offset_min, self.offset_step)

    @property
    def typical(self) -> float:
        """Median points of the burn options: the stockpiling thresholds are multiples of it."""
        return float(statistics.median([it.points for it in self.items] + [self.offset_gate]))


@dataclass(eq=False)
class Member:
    """One member: traits, balances, lots and counters."""

    join_day: int
    birth_month: int
    drop: float  # dropout probability after each purchase
    buy_p: float  # daily purchase probability (1 - exp(-lam * drop)) / drop
    nu: float  # Gamma-Gamma spend rate
    valuation: float  # worth of a point to the member, as a share of its face value
    flexible: bool  # buys more while points are about to expire
    checkin_p: float  # 0 for members without the habit
    share_p: float
    threshold: float  # stockpiling threshold: redeems readily once the balance passes it
    alive: bool = True
    tier: int = 0
    streak: int = 0
    last_checkin: int = NEVER
    profile_done: bool = False
    balance: int = 0
    buckets: deque[list[int]] = field(default_factory=deque)  # [month earned, points], FIFO
    qualifying: dict[int, int] = field(default_factory=dict)  # month -> qualifying points
    qual_total: int = 0  # qualifying points in the window
    qual_month: int = NEVER  # the month ``qual_total`` is current to
    earned_today: int = 0
    shared_today: int = 0
    last_redeem: int = NEVER
    pressure_until: int = NEVER  # an expiry reminder presses the member until this day
    reminded_on: int = NEVER
    returns: list[tuple[int, float, int]] = field(default_factory=list)  # (day, amount, points)
    issued: int = 0
    burned: int = 0
    expired: int = 0
    reversed: int = 0
    orders: int = 0
    gmv: float = 0.0
    refunded_gmv: float = 0.0
    incentive_gmv: float = 0.0
    checkins: int = 0
    shares: int = 0
    profiles: int = 0
    offsets: int = 0
    redemptions: int = 0
    refused: int = 0  # burns the member asked for and could not make
    refunds: int = 0
    reminders: int = 0
    wakes: int = 0
    churns: int = 0


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
        self.baseline = self.setup.baseline
        self.traits = self.setup.traits
        self.b = self.setup.behaviour
        r = self.rules
        self.typical = r.typical
        self.cheapest = min(it.points for it in r.items)
        self.stock = [it.stock for it in r.items]
        self.prices = [it.points for it in r.items]
        self.points_day_prices = [
            math.ceil(it.points * r.points_day_factor - EPS) for it in r.items
        ]
        top = len(r.tier_names) - 1
        self.tier_rank = [i / max(top, 1) for i in range(top + 1)]
        self.lift_bound = self._lift_bound()
        self.earned = dict.fromkeys(EARN_RULES, 0)  # points issued by rule, campaign included
        self.env = simpy.Environment()
        self.month_of: list[int] = []  # calendar, filled for the days run
        self.month_of_year: list[int] = []
        self.review_day: list[bool] = []
        self.points_day: list[bool] = []
        self.reminders_on: list[tuple[tuple[int, int], ...]] = []  # (days before, month expiring)
        self.members: list[Member] = []
        for _ in range(members):
            tenure = self.rng.randrange(self.setup.tenure_days) if self.setup.tenure_days else 0
            self._add(self._new_member(-tenure))
        self.joins_per_day = self.setup.joins_per_member_day * members
        if self.joins_per_day > 0:
            self.env.process(self._joins())

    def _lift_bound(self) -> float:
        """The largest factor the loyalty responses can put on anyone's purchase rate (the
        new-member campaign runs every day): members whose uniform is above ``buy_p`` times
        this cannot buy, so their lifts need not be worked out."""
        b, r = self.b, self.rules
        bound = 1.0
        rr = b.reward_response
        if rr.enabled:
            boost = max(m * d for m, d in zip(r.tier_multipliers, r.tier_birthday, strict=True))
            extra = r.points_per_unit * max(r.tier_values) * boost * (r.new_member_multiplier - 1)
            if extra > 0:
                bound = 1.0 + rr.elasticity * extra + rr.salience
        if b.goal_gradient.enabled:
            bound *= 1.0 + b.goal_gradient.g
        if b.expiry_pressure.enabled:
            bound *= 1.0 + b.expiry_pressure.buy_lift
        if b.redemption_halo.enabled:
            bound *= 1.0 + b.redemption_halo.lift
        return bound

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
        factor = tr.threshold_multiple * math.exp(tr.threshold_sigma * rng.gauss(0.0, 1.0))
        return Member(
            join_day=join_day,
            birth_month=rng.randint(1, 12),
            drop=drop,
            buy_p=buy_p,
            nu=rng.gammavariate(bp.q, 1.0 / bp.gamma),
            valuation=rng.betavariate(tr.valuation_a, tr.valuation_b),
            flexible=rng.random() < tr.flexible_share,
            checkin_p=rng.betavariate(tr.checkin_a, tr.checkin_b) if habit else 0.0,
            share_p=rng.gammavariate(0.5, tr.share_rate / 0.5) if tr.share_rate else 0.0,
            threshold=max(factor * self.typical, 1.0),
        )

    def run(self, days: int) -> None:
        """Simulate ``days`` more days (every member, every day)."""
        first = len(self.month_of)
        review_months = {"monthly": range(1, 13), "quarterly": (3, 6, 9, 12), "yearly": (12,)}
        months = review_months[self.rules.review]
        for d in range(first, first + days + 1):
            date = self.setup.start + dt.timedelta(days=d)
            month_end = (date + dt.timedelta(days=1)).day == 1
            self.month_of.append(date.year * 12 + date.month - 1)
            self.month_of_year.append(date.month)
            self.review_day.append(month_end and date.month in months)
            self.points_day.append(date.day == self.rules.points_day)
            targets = []
            for before in self.rules.reminders:
                target = date + dt.timedelta(days=before)
                if (target + dt.timedelta(days=1)).day == 1:  # points expire at month ends
                    targets.append((before, target.year * 12 + target.month - 1))
            self.reminders_on.append(tuple(targets))
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
        self.open_day(m, day, month)
        # decide, on the balance and tier the day opened with
        bal, tier = m.balance, m.tier
        amount = self.shop(m, day, bal, tier) if m.alive else 0.0
        checkin = share = profile = offset = False
        item = -1
        if m.alive:
            checkin = m.checkin_p > 0.0 and self.checks_in(m, day)
            if self.b.activity.enabled:
                share = rng.random() < m.share_p
                profile = not m.profile_done and rng.random() < self.traits.profile_rate
            if bal >= self.cheapest and self.b.redemption.enabled:
                item = self.choose_redemption(m, day, bal, tier)
        if amount and bal >= rules.offset_gate and self.b.redemption.enabled:
            offset = rng.random() < self.b.redemption.checkout_share * self.logistic(m, bal)
        # apply: earn in arrival order, refunds due, then burns
        if amount:
            self.purchase(m, day, month, tier, amount)
        if checkin:
            m.streak = m.streak + 1 if m.last_checkin == day - 1 else 1
            m.last_checkin = day
            m.checkins += 1
            pos = (m.streak - 1) % len(rules.streak_points) + 1
            pts = rules.streak_points[pos - 1]
            if pos == rules.bonus_day:
                pts += rules.bonus_points
            self.award(m, day, month, tier, "checkin", pts)
        if share:
            m.shares += 1
            self.award(m, day, month, tier, "share", rules.share_points)
        if profile:
            m.profile_done = True
            m.profiles += 1
            self.award(m, day, month, tier, "profile", rules.profile_points)
        if m.returns:
            self.refunds_due(m, day, month)
        if offset:
            self.cash_offset(m, day, tier, amount)
        if item >= 0:
            self.redeem(m, day, item)
        # close the day: tier review, expiry reminders
        if self.review_day[day]:
            self.review(m)
        targets = self.reminders_on[day]
        if targets:
            self.remind(m, day, targets)

    def open_day(self, m: Member, day: int, month: int) -> None:
        """Expiry, the qualifying window, the daily counters, and a dormant member's return."""
        # a bucket earned in month k expires after the end of month k + months
        while m.buckets and m.buckets[0][0] + self.rules.expiry_months < month:
            _, pts = m.buckets.popleft()
            m.balance -= pts
            m.expired += pts
        if m.qual_month != month:
            oldest = month - self.rules.window_months
            for k in [k for k in m.qualifying if k <= oldest]:
                m.qual_total -= m.qualifying.pop(k)
            m.qual_month = month
        m.earned_today = m.shared_today = 0
        react = self.b.reactivation
        if (
            not m.alive
            and m.reminded_on == day - 1
            and react.enabled
            and self.rng.random() < react.reminder
        ):
            m.alive = True
            m.wakes += 1

    def progress(self, m: Member, bal: int, tier: int) -> float:
        """Share of the way done towards the nearer goal: the member's threshold (next reward)
        or the next tier."""
        reward = min(bal / m.threshold, 1.0)
        thresholds = self.rules.tier_thresholds
        if tier + 1 < len(thresholds):
            reward = max(reward, min(m.qual_total / max(thresholds[tier + 1], 1.0), 1.0))
        return min(max(reward, 0.0), 1.0)

    def logistic(self, m: Member, bal: int) -> float:
        """The stockpiling curve: how ready the member is to spend points at this balance."""
        x = self.b.redemption.steepness * (bal / m.threshold - 1.0)
        return 1.0 / (1.0 + math.exp(-x))

    def shop(self, m: Member, day: int, bal: int, tier: int) -> float:
        """Whether the member buys today (0.0: no) and for how much; may drop out after."""
        rng, b = self.rng, self.b
        u = rng.random()
        p = m.buy_p
        if u >= p * self.lift_bound:
            return 0.0
        progress = self.progress(m, bal, tier)
        pm = min(p * self.lift(m, day, tier, progress), 1.0)
        if u >= pm:
            return 0.0
        amount = rng.gammavariate(self.baseline.p, 1.0 / m.nu) * self.baseline.currency_scale
        m.incentive_gmv += (1.0 - p / pm) * amount
        drop = m.drop
        sc = b.switching_cost
        if sc.enabled:
            drop *= (1.0 - sc.balance * progress) * (1.0 - sc.tier * self.tier_rank[tier])
        if rng.random() < drop:
            m.alive = False
            m.churns += 1
        returns = b.returns
        if returns.enabled and rng.random() < returns.rate:
            when = day + 1 + math.floor(rng.random() * returns.window_days)
            m.returns.append((when, amount, -1))  # its points are known once it is earned
        return amount

    def lift(self, m: Member, day: int, tier: int, progress: float) -> float:
        """The loyalty responses' factor on the member's purchase rate today."""
        b, rules = self.b, self.rules
        val = m.valuation
        pressed = m.pressure_until >= day
        lift = 1.0
        if b.goal_gradient.enabled:
            lift *= 1.0 + b.goal_gradient.g * val * progress
        if b.expiry_pressure.enabled and m.flexible and pressed:
            lift *= 1.0 + b.expiry_pressure.buy_lift
        halo = b.redemption_halo
        if halo.enabled:
            lift *= 1.0 + halo.lift * val * math.exp(-max(day - m.last_redeem, 0) / halo.days)
        rr = b.reward_response
        if rr.enabled and day - m.join_day < rules.new_member_days:  # in the campaign
            tier_f = rules.tier_multipliers[tier]
            if m.birth_month == self.month_of_year[day]:
                tier_f *= rules.tier_birthday[tier]
            extra = rules.points_per_unit * rules.tier_values[tier] * tier_f
            extra *= rules.new_member_multiplier - 1.0
            if extra > 0:
                strength = (rr.elasticity * extra + rr.salience) * val
                decay = math.exp(-(day - max(m.join_day, 0)) / rr.decay_days)
                pressure = 1.0 if pressed else progress
                lift *= 1.0 + strength * decay * (1.0 - rr.pressure_damping * pressure)
        return lift

    def checks_in(self, m: Member, day: int) -> bool:
        habit = self.b.checkin
        if not habit.enabled:
            return False
        streak = m.streak if m.last_checkin == day - 1 else 0
        p = min(m.checkin_p * (1.0 + habit.streak_pull * min(streak, 7) / 7.0), 0.98)
        return self.rng.random() < p

    def choose_redemption(self, m: Member, day: int, bal: int, tier: int) -> int:
        """The catalogue item the member asks for today (-1: none)."""
        rp = self.b.redemption
        u = self.rng.random()
        pressed = m.pressure_until >= day
        points_day = self.points_day[day]
        day_lift = 1.0 + rp.points_day_lift if points_day else 1.0
        if u >= rp.max_daily * day_lift and not pressed:
            return -1  # above the highest probability possible: no need for the curve
        p = min(rp.max_daily * self.logistic(m, bal) * day_lift + rp.expiry_lift * pressed, 1.0)
        if u >= p:
            return -1
        prices = self.points_day_prices if points_day else self.prices
        choices = [
            (i, it.weight)
            for i, it in enumerate(self.rules.items)
            if prices[i] <= bal and it.min_tier <= tier and self.stock[i] != 0
        ]
        if not choices:
            return -1
        pick = self.rng.random() * sum(w for _, w in choices)
        for i, w in choices:
            pick -= w
            if pick < 0:
                return i
        return choices[-1][0]

    def purchase(self, m: Member, day: int, month: int, tier: int, amount: float) -> None:
        rules = self.rules
        m.orders += 1
        m.gmv += amount
        cat = rules.high_margin if self.rng.random() < self.setup.high_margin_share else 1.0
        base = math.floor(amount * rules.points_per_unit * cat + EPS)
        pts = self.award(m, day, month, tier, "purchase", base)
        if m.returns and m.returns[-1][2] < 0:  # the return drawn for this order
            when, value, _ = m.returns[-1]
            m.returns[-1] = (when, value, pts)

    def award(self, m: Member, day: int, month: int, tier: int, rule: str, base: int) -> int:
        """Points for one event: multipliers, caps, lots, qualifying, upgrades. Returns them."""
        rules = self.rules
        mult = 1.0
        if rule == "purchase":
            mult = rules.tier_multipliers[tier]
            if m.birth_month == self.month_of_year[day]:
                mult *= rules.tier_birthday[tier]
        if day - m.join_day < rules.new_member_days and rule in rules.new_member_rules:
            mult *= rules.new_member_multiplier
        pts = math.floor(base * mult + EPS)
        if rule == "share":
            pts = min(pts, rules.share_daily_cap - m.shared_today)
        pts = min(pts, rules.daily_cap - m.earned_today)
        if pts <= 0:
            return 0
        if rule == "share":
            m.shared_today += pts
        m.earned_today += pts
        m.issued += pts
        self.earned[rule] += pts
        m.balance += pts
        if m.buckets and m.buckets[-1][0] == month:
            m.buckets[-1][1] += pts
        else:
            m.buckets.append([month, pts])
        m.qualifying[month] = m.qualifying.get(month, 0) + pts
        m.qual_total += pts
        top = len(rules.tier_thresholds) - 1
        while m.tier < top and m.qual_total >= rules.tier_thresholds[m.tier + 1]:
            m.tier += 1
        return pts

    def refunds_due(self, m: Member, day: int, month: int) -> None:
        """Returned orders: their points come back off the balance (at most the balance)."""
        due = [r for r in m.returns if r[0] <= day]
        if not due:
            return
        m.returns = [r for r in m.returns if r[0] > day]
        for _, amount, pts in due:
            m.refunds += 1
            m.refunded_gmv += amount
            take = min(pts, max(m.balance, 0))
            if take <= 0:
                continue
            self.debit(m, take)
            m.reversed += take
            m.qualifying[month] = m.qualifying.get(month, 0) - take
            m.qual_total -= take

    def debit(self, m: Member, pts: int) -> None:
        """Take points off the balance, oldest-expiring bucket first."""
        m.balance -= pts
        left = pts
        while left:
            bucket = m.buckets[0]
            take = min(left, bucket[1])
            bucket[1] -= take
            left -= take
            if bucket[1] == 0:
                m.buckets.popleft()

    def cash_offset(self, m: Member, day: int, tier: int, amount: float) -> None:
        rules = self.rules
        most = math.floor(rules.offset_share * amount / rules.tier_values[tier] + EPS)
        pts = min(most, m.balance) // rules.offset_step * rules.offset_step
        if pts < max(rules.offset_min, 1):
            m.refused += 1
            return
        self.debit(m, pts)
        m.offsets += 1
        m.burned += pts
        m.last_redeem = day

    def redeem(self, m: Member, day: int, item: int) -> None:
        need = (self.points_day_prices if self.points_day[day] else self.prices)[item]
        stock = self.stock[item]
        if m.balance < need or stock == 0:
            m.refused += 1
            return
        if stock is not None:
            self.stock[item] = stock - 1
        self.debit(m, need)
        m.redemptions += 1
        m.burned += need
        m.last_redeem = day

    def review(self, m: Member) -> None:
        """The scheduled tier review on the qualifying points of the window."""
        rules = self.rules
        target = sum(1 for t in rules.tier_thresholds[1:] if m.qual_total >= t)
        if target >= m.tier or rules.downgrade == "recompute":
            m.tier = target
        elif rules.downgrade == "one_step":
            m.tier = max(m.tier - 1, target)

    def remind(self, m: Member, day: int, targets: tuple[tuple[int, int], ...]) -> None:
        """Expiry reminders: ``before`` days ahead of the end of a month in which some of the
        member's points expire. They press the member and may wake a dormant one tomorrow."""
        horizon = self.b.redemption.horizon_days
        for before, expiring in targets:
            earned = expiring - self.rules.expiry_months
            for k, _ in m.buckets:  # oldest first
                if k >= earned:
                    if k == earned:
                        m.reminders += 1
                        m.reminded_on = day
                        if before <= horizon:
                            m.pressure_until = max(m.pressure_until, day + before)
                    break


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

    def total(name: str) -> int:
        return int(sum(getattr(m, name) for m in ms))

    return {
        "members": members,
        "members_at_end": len(ms),
        "days": days,
        "member_days": world.member_days,
        "seconds": seconds,
        "member_days_per_s": world.member_days / seconds if seconds > 0 else float("inf"),
        "orders": total("orders"),
        "gmv": round(sum(m.gmv for m in ms), 2),
        "incentive_gmv": round(sum(m.incentive_gmv for m in ms), 2),
        "refunded_gmv": round(sum(m.refunded_gmv for m in ms), 2),
        "checkins": total("checkins"),
        "shares": total("shares"),
        "profiles": total("profiles"),
        "cash_offsets": total("offsets"),
        "redemptions": total("redemptions"),
        "burns_refused": total("refused"),
        "refunds": total("refunds"),
        "reminders": total("reminders"),
        "wakes": total("wakes"),
        "churned": total("churns"),
        "points_issued": total("issued"),
        "points_burned": total("burned"),
        "points_expired": total("expired"),
        "points_reversed": total("reversed"),
        "points_outstanding": total("balance"),
        "points_by_rule": dict(world.earned),
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

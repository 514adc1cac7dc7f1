"""The naive baseline for ``world_bench.py``: the e-commerce world written the way an analyst
would write it with SimPy, one Python object and one SimPy process per member.

Each member wakes once a day (``yield env.timeout(1)``) and lives that day in plain Python with
one seeded :class:`random.Random` shared by the population, in the order of the world's day
(``ArmWorld.step`` in ``sim/world/arm.py`` around the engine's ``open_day``, ``apply_events``
and ``close_day`` in ``sim/engine/day.py``). The formulas are those of
``sim/behaviour/loyalty.py``, written per member; their parameters are
``sim/behaviour/params.py``'s.

1. *Open the day*: buckets of points past their 12 months (rounded to the month end) expire;
   the 12-month qualifying window moves on at a month change.
2. *Perceive* (``Perception.refresh`` in ``sim/world/perception.py``), again only when the
   member's balance or tier changed since the last time: the perceived value of a point
   ``v = valuation * max_j value_j / (1 + discount_per_day * days_j)`` over the burn options
   the tier may use (the Pareto front of cheaper or better-value options: catalogue items at
   face value per point, the cash offset at the tier's point value), ``days_j`` the days until
   the balance reaches option ``j`` at the member's earning speed (mean order's points times
   the daily purchase probability, plus the expected points a day of check-ins and shares);
   the perceived reward rate ``rho`` = a mean order's everyday points (purchase rule, category
   mix, tier multiplier, daily cap) per unit spent times ``v``; the same under the reference
   programme (``v0``, ``rho0``: here the reference is the policy itself, so they are ``v`` and
   ``rho``) and the price factor ``odds = ((1 - f(rho)) / (1 - f(rho0))) ** -elasticity``,
   ``f(rho) = s * (1 - exp(-rho / s))`` the felt price cut (1 here, computed all the same);
   the largest promotion factor the member can have today.
3. *Win back*: a lapsed (dropped-out) member reminded yesterday of expiring points comes back
   with ``WinBack.reminder`` (``ArmWorld._wake``; 0 by default, so nobody does).
4. *Decide*, on the balance and tier the member opened the day with (the world reads its
   arrays before it calls the engine):

   * buying (``ArmWorld._buy``, ``_factors``, ``_debt``, ``_substitute``): the BG/NBD daily
     probability times the purchase-rate factor: the new-member campaign's promotion factor
     ``((1 - rho - d_rho * w) / (1 - rho)) ** -elasticity``, ``d_rho = rho * (multiplier - 1)``
     and ``w = 2 ** (-days in the campaign / promotion_half_life_days)`` (the campaign counted
     from the member's join or from the first day), times ``odds``, the goal gradient towards
     the nearer of the member's redemption threshold and the next tier, the redemption halo
     and, for "flexible" members, the expiry deadline ``1 + buy_lift * exp(-d / days)`` (``d``
     the days until their earliest-expiring bucket's last valid day), all through the
     share-of-wallet transform ``M / (1 - s + s * M)`` (``s = p / (p + kappa)``); then the
     post-promotion dip ``1 - min(debt, 0.9)``, the debt of borrowed purchases decaying
     at the purchase rate. As in the world, the factor is worked out only for members whose
     uniform falls under the largest it can be for them today. A purchase the promotion
     brought adds ``borrowed_share * (1 - 1 / promotion part)`` to the member's debt.
     Gamma-Gamma order value; the high-margin category at its share; dropout with
     probability ``drop`` on a day the uniform falls under the baseline ``p`` (a baseline
     purchase: lifetimes do not depend on what the loyalty factors do), lowered by the
     switching cost
     ``1 - max_reduction * x / (x + 1)``, ``x`` what leaving would forfeit in mean orders
     (the balance's redeemable value now plus a year of the tier's extra earning, times the
     valuation); a return drawn at ``Returns.rate`` and scheduled within
     ``Returns.window_days``;
   * engagement (``ArmWorld._engage``, ``_pays``): a check-in by members with the habit,
     pulled up by the running streak; one share a day at the member's rate; profile
     completion once; each propensity times what the action pays, ``(1 + c) V / (V + c V0)``
     with ``V`` its points times ``v`` and ``V0`` the same under the reference; at most 0.98
     a day. Only the actions the policy pays for are drawn, as in the world;
   * cash offset at checkout (``ArmWorld._redeem``): a buyer holding the minimum pays with
     points with probability ``checkout_share`` times the same readiness as below;
   * catalogue redemption (``ArmWorld._redeem``, ``_choose_items``): members who can afford
     the cheapest item, lapsed ones too, redeem with the logistic probability of Stourm et
     al. against their stockpiling threshold, faded towards 1 by ``fade * exp(-d / days)``
     as points near expiry, raised on the points day (the 18th), times the
     deadline factor ``1 + redeem_lift * exp(-d / days) + reminder_lift * exp(-days since the
     last reminder / 3)``, times ``lapsed`` for a member who dropped out; the item is drawn
     among those affordable at today's price, allowed for the tier and in stock, in
     proportion to face value per point.
5. *Apply* as the engine does: earn in arrival order (purchase, check-in, share, profile) with
   the rules of ``policies/ecommerce_super_points.toml`` (spend points, high-margin category,
   tier and platinum birthday multipliers on purchases, new-member double points on all four
   rules, the streak table with its day-7 bonus, per-rule share cap and overall daily cap),
   qualifying points and immediate upgrades, the tier in force being the one the day opened
   with; refunds that are due (the order's points clawed back up to the balance, earliest
   expiring first, and taken off qualifying points); then the burns (cash offset up to 10% of
   the order at the tier's point value in steps of 100; the catalogue item at the points-day
   price, limited stock), each checked against the balance left; a burn made is the
   member's last redemption (the halo's clock).
6. *Close the day*: the year-end tier review (one-step downgrade); expiry reminders 30, 7 and 1
   days before a month end on which the member holds expiring points (they raise redemption
   for a few days, and may win a lapsed member back the next day).

A SimPy process brings in new members (Poisson) at the scenario's rate, scaled to the number of
members at the start (the world keeps the scenario's ``joins_per_day`` whatever its size). The
rule numbers are read from the policy file and the population's from
``scenarios/ecommerce.toml`` with :mod:`tomllib`; behaviour numbers are the project's
(:class:`BaselineParams`, :class:`Traits`, :class:`Behaviour`) with the scenario's overrides.
Members' valuations of points are Gamma (``valuation_mean``, ``valuation_shape``); the
share-of-wallet constant ``kappa`` is set so that the median member at the start holds
``median_share`` (the world takes the median over newcomers too).

Left out, because the world does not run them for this scenario either: referrals (no referred
members, ``population.referred_share`` is 0, and no referral rule), logins, reviews, courses and
surveys (the policy pays for none, so the world draws none), lotteries, donations and auctions
(not in the policy), what only dated or announced campaigns do (the win-back of lapsed members
during a campaign, the pre-promotion dip and the purchases it puts off: the new-member campaign
is a standing rule, announced to nobody), delayed (pending) points, freezes, interest, tier
packs and a dynamic point value (not in the policy). Left out of the world's work on purpose:
its metric tables (``sim/world/recorder.py``: daily balances, liability, tier counts, 30-day
actives, retention; here only per-member counters summed at the end), its event log and its
common-random-number streams; leaving them out can only make the baseline faster.

It is the same *workload* and the same model as the vectorised world (kinds and rates of
events, rules, responses), not the same simulation event for event (other random streams): it
exists to measure member-days per second.

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
from sim.behaviour.params import (
    Behaviour,
    Engagement,
    ExpiryDeadline,
    RewardRate,
    ShareOfWallet,
    SwitchingCost,
    Traits,
)

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "ecommerce.toml"
POLICY = ROOT / "policies" / "ecommerce_super_points.toml"
EPS = 1e-9
NEVER = -(10**9)
"""Day of an event that never happened (a redemption, a reminder, a check-in)."""
EARN_RULES = ("purchase", "checkin", "share", "profile")
MAX_DIP = 0.9  # deepest post-promotion dip (sim.behaviour.loyalty.MAX_DIP)
DAYS_A_YEAR = 365.0  # a year of the tier's extra earning (sim.world.perception)
REMINDER_DAYS = 3.0  # e-folding days of a reminder's pull on redemption (sim.world.arm)
HALO_HORIZON = 40.0  # halo days after which nothing is left, exp(-40) (sim.world.arm)


# -- the loyalty formulas of sim/behaviour/loyalty.py, for one member -------------------------


def felt_rate(p: RewardRate, rho: float) -> float:
    """The price cut a reward rate is felt as, ``s * (1 - exp(-rho / s))``."""
    s = p.saturation
    return s * -math.expm1(-max(rho, 0.0) / s)


def price_factor(p: RewardRate, rho: float, rho0: float) -> float:
    """Purchase rate factor of a perceived reward rate against the reference's."""
    if not p.enabled:
        return 1.0
    return float(((1.0 - felt_rate(p, rho)) / (1.0 - felt_rate(p, rho0))) ** (-p.elasticity))


def promotion_factor(p: RewardRate, rho: float, extra: float, age_days: float) -> float:
    """Purchase rate factor of a promotion adding ``extra`` to ``rho``, ``age_days`` in."""
    if not p.enabled:
        return 1.0
    w = 2.0 ** (-max(age_days, 0.0) / p.promotion_half_life_days)
    promoted = felt_rate(p, rho + extra * w)
    return float(((1.0 - promoted) / (1.0 - felt_rate(p, rho))) ** (-p.elasticity))


def wallet_factor(p: ShareOfWallet, odds: float, share: float) -> float:
    """Purchase rate factor of a factor ``odds`` on the odds of buying here."""
    if not p.enabled:
        return odds
    return odds / (1.0 - share + share * odds)


def deadline(p: ExpiryDeadline, days_left: float, lift: float) -> float:
    """The pull of points expiring in ``days_left`` days (inf: nothing expires)."""
    if not p.enabled or lift == 0:
        return 1.0
    return 1.0 + lift * math.exp(-max(days_left, 0.0) / p.days)


def engagement_factor(p: Engagement, reward: float, reference: float) -> float:
    """``(1 + c) V / (V + c V0)``; ``V0 = V`` where the reference pays nothing."""
    c = p.half_saturation
    v0 = reference if reference > 0 else reward
    return (1.0 + c) * reward / (reward + c * v0) if reward > 0 else 0.0


def dropout(p: SwitchingCost, drop: float, lost: float) -> float:
    """Dropout probability when leaving would forfeit ``lost`` mean orders."""
    if not p.enabled:
        return drop
    x = max(lost, 0.0) / p.half_value
    return drop * (1.0 - p.max_reduction * x / (x + 1.0))


# -- the scenario and the policy --------------------------------------------------------------


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
        if scn.get("reference"):
            raise ValueError("the naive world takes the policy itself as the reference")
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
    offset_enabled: bool
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
        if pol["expiry"].get("rounding", "month_end") != "month_end":
            raise ValueError("the naive world knows expiry at month ends only")
        if len(pol["campaigns"]) != 1 or "start" in camp or "end" in camp:
            raise ValueError("the naive world knows the standing new-member campaign only")
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
            offset_enabled=bool(offset.get("enabled", True)),
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
        gate = [self.offset_gate] if self.offset_enabled else []
        return float(statistics.median([it.points for it in self.items] + gate))

    @property
    def checkin_points(self) -> float:
        """Mean points of a check-in over a week's streak (``PolicyFacts.checkin_points``)."""
        table = self.streak_points
        week = [table[min(d, len(table) - 1)] for d in range(7)]
        return (sum(week) + (self.bonus_points if self.bonus_day <= 7 else 0)) / 7.0

    def options(self, tier: int) -> tuple[tuple[float, float], ...]:
        """The burn options a member of ``tier`` may use as (points, currency per point): the
        Pareto front of cheaper or better value (``PolicyFacts.option_cost/option_value``)."""
        opts = [
            (float(it.points), it.weight)
            for it in self.items
            if it.min_tier <= tier and it.points > 0
        ]
        if self.offset_enabled:
            opts.append((float(self.offset_gate), self.tier_values[tier]))
        opts.sort(key=lambda o: (o[0], -o[1]))
        front: list[tuple[float, float]] = []
        for cost, value in opts:
            if not front or value > front[-1][1]:
                front.append((cost, value))
        return tuple(front)


# -- the members ------------------------------------------------------------------------------


@dataclass(eq=False)
class Member:
    """One member: traits, what they perceive, balances, lots and counters."""

    join_day: int
    birth_month: int
    drop: float  # dropout probability after each purchase
    buy_p: float  # daily purchase probability (1 - exp(-lam * drop)) / drop
    nu: float  # Gamma-Gamma spend rate
    mean_order: float  # mean order value, currency
    valuation: float  # multiple of what a point buys at which the member values it
    flexible: bool  # buys more while points are about to expire
    checkin_p: float  # 0 for members without the habit
    share_p: float
    threshold: float  # stockpiling threshold: redeems readily once the balance passes it
    action_speed: float  # expected points a day from check-ins and shares
    wallet_share: float = 0.0  # share of the member's category purchases made here
    # the member's view of the programme, for the balance and tier it was worked out on
    view_bal: int = -1
    view_tier: int = -1
    v: float = 0.0  # perceived currency value of a point
    v0: float = 0.0  # the same under the reference programme
    rho: float = 0.0  # perceived reward rate (value back per unit spent)
    rho0: float = 0.0
    odds: float = 1.0  # price factor of rho against rho0
    promo_cap: float = 1.0  # the largest promotion factor on a campaign day
    debt: float = 0.0  # purchases borrowed by the promotion, still owed on ``debt_day``
    debt_day: int = 0
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
        n_tiers = len(r.tier_names)
        self.typical = r.typical
        self.cheapest_item = min(it.points for it in r.items)
        self.stock = [it.stock for it in r.items]
        self.prices = [it.points for it in r.items]
        self.points_day_prices = [
            math.ceil(it.points * r.points_day_factor - EPS) for it in r.items
        ]
        # everyday points per unit spent by tier: the category mix, the tier's multiplier
        hm = self.setup.high_margin_share
        mix = (1.0 - hm) + hm * r.high_margin
        self.unit_rate = [r.points_per_unit * mix * r.tier_multipliers[t] for t in range(n_tiers)]
        self.pays_for_spend = any(x > 0 for x in self.unit_rate)
        self.options = [r.options(t) for t in range(n_tiers)]
        self.usable = [any(v > 0 for _, v in opts) for opts in self.options]
        self.checkin_points = r.checkin_points
        # the campaign factor on purchase points of a member in the new-member campaign
        self.promo_mult = r.new_member_multiplier if "purchase" in r.new_member_rules else 1.0
        self.bound = self._bound()
        self.earned = dict.fromkeys(EARN_RULES, 0)  # points issued by rule, campaign included
        self.env = simpy.Environment()
        self.month_of: list[int] = []  # calendar, filled for the days run
        self.month_of_year: list[int] = []
        self.review_day: list[bool] = []
        self.points_day: list[bool] = []
        self.reminders_on: list[tuple[tuple[int, int], ...]] = []  # (days before, month expiring)
        self.month_end: dict[int, int] = {}  # month -> day number of its last day
        self.members: list[Member] = []
        self.kappa = 0.0
        starting = []
        for _ in range(members):
            tenure = self.rng.randrange(self.setup.tenure_days) if self.setup.tenure_days else 0
            starting.append(self._new_member(-tenure))
        # share of wallet p / (p + kappa): the median member at the start holds median_share
        s = min(max(self.b.share_of_wallet.median_share, 1e-6), 1.0 - 1e-6)
        median_p = statistics.median([m.buy_p for m in starting]) if starting else 0.0
        self.kappa = max(median_p, 1e-12) * (1.0 - s) / s
        for m in starting:
            m.wallet_share = m.buy_p / (m.buy_p + self.kappa)
            self._add(m)
        self.joins_per_day = self.setup.joins_per_member_day * members
        if self.joins_per_day > 0:
            self.env.process(self._joins())

    def _bound(self) -> float:
        """A factor no member's purchase-rate factor exceeds once multiplied by the larger of
        1 and the member's ``odds`` and by their ``promo_cap`` (``ArmWorld._bound``)."""
        b = self.b
        bound = 1.0 + (b.goal_gradient.g if b.goal_gradient.enabled else 0.0)
        bound *= 1.0 + (b.expiry_deadline.buy_lift if b.expiry_deadline.enabled else 0.0)
        bound *= 1.0 + (b.redemption_halo.lift if b.redemption_halo.enabled else 0.0)
        return bound

    def _add(self, m: Member) -> None:
        self.members.append(m)
        self.env.process(self._life(m))

    def _joins(self) -> Generator[simpy.Event, Any, None]:
        """New members arrive as a Poisson process and start living at once."""
        while True:
            yield self.env.timeout(self.rng.expovariate(self.joins_per_day))
            m = self._new_member(int(self.env.now))
            m.wallet_share = m.buy_p / (m.buy_p + self.kappa)
            self._add(m)

    def _new_member(self, join_day: int) -> Member:
        rng, bp, tr = self.rng, self.baseline, self.traits
        lam = rng.gammavariate(bp.r, 1.0 / (bp.alpha * bp.time_unit_days))
        drop = rng.betavariate(bp.a, bp.b)
        buy_p = min(1.0, lam, -math.expm1(-lam * drop) / drop) if drop > 0 else min(lam, 1.0)
        nu = rng.gammavariate(bp.q, 1.0 / bp.gamma)
        habit = rng.random() < tr.checkin_share
        checkin_p = rng.betavariate(tr.checkin_a, tr.checkin_b) if habit else 0.0
        share_p = rng.gammavariate(0.5, tr.share_rate / 0.5) if tr.share_rate else 0.0
        factor = tr.threshold_multiple * math.exp(tr.threshold_sigma * rng.gauss(0.0, 1.0))
        return Member(
            join_day=join_day,
            birth_month=rng.randint(1, 12),
            drop=drop,
            buy_p=buy_p,
            nu=nu,
            mean_order=bp.p * bp.currency_scale / nu,
            valuation=rng.gammavariate(tr.valuation_shape, tr.valuation_mean / tr.valuation_shape),
            flexible=rng.random() < tr.flexible_share,
            checkin_p=checkin_p,
            share_p=share_p,
            threshold=max(factor * self.typical, 1.0),
            action_speed=(checkin_p * self.checkin_points + share_p * self.rules.share_points)
            * self.b.engagement.enabled,
        )

    def run(self, days: int) -> None:
        """Simulate ``days`` more days (every member, every day)."""
        first = len(self.month_of)
        review_months = {"monthly": range(1, 13), "quarterly": (3, 6, 9, 12), "yearly": (12,)}
        months = review_months[self.rules.review]
        start = self.setup.start
        for d in range(first, first + days + 1):
            date = start + dt.timedelta(days=d)
            month_end = (date + dt.timedelta(days=1)).day == 1
            month = date.year * 12 + date.month - 1
            self.month_of.append(month)
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
        rng, rules, b = self.rng, self.rules, self.b
        month = self.month_of[day]
        self.open_day(m, day, month)
        # decide, on the balance and tier the day opened with
        bal, tier = m.balance, m.tier
        if bal != m.view_bal or tier != m.view_tier:
            self.perceive(m, bal, tier)
        wb = b.winback
        if (
            not m.alive
            and wb.used
            and wb.reminder > 0
            and m.reminded_on == day - 1
            and rng.random() < wb.reminder
        ):
            m.alive = True
            m.wakes += 1
        amount = self.shop(m, day, bal, tier) if m.alive else 0.0
        checkin = share = profile = offset = False
        item = -1
        if m.alive and b.engagement.enabled:
            eg = b.engagement
            if m.checkin_p > 0.0 and self.checkin_points > 0:
                streak = m.streak if m.last_checkin == day - 1 else 0
                p = m.checkin_p * (1.0 + eg.streak_pull * min(streak, 7) / 7.0)
                p *= self.pays(m, self.checkin_points, self.checkin_points)
                checkin = rng.random() < min(p, 0.98)
            p = m.share_p * self.pays(m, rules.share_points, rules.share_points)
            share = rng.random() < min(p, 0.98)
            if not m.profile_done:
                p = self.traits.profile_rate
                p *= self.pays(m, rules.profile_points, rules.profile_points)
                profile = rng.random() < min(p, 0.98)
                m.profile_done = profile
        if b.redemption.enabled:
            if amount and rules.offset_enabled and bal >= rules.offset_gate:
                p = b.redemption.checkout_share * self.readiness(m, bal, self.urgency(m, day))
                offset = rng.random() < p
            if bal >= self.cheapest_item:
                item = self.choose_redemption(m, day, bal, tier)
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
        """Expiry, the qualifying window and the daily counters."""
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

    def per_order(self, m: Member, tier: int) -> float:
        """Everyday points of the member's mean order at ``tier`` (the daily cap applied)."""
        return min(self.unit_rate[tier] * m.mean_order, float(self.rules.daily_cap))

    def perceive(self, m: Member, bal: int, tier: int) -> None:
        """What a point is worth to the member, the reward rate they perceive, its price factor
        against the reference, and their largest promotion factor (``Perception.refresh``)."""
        b = self.b
        m.view_bal, m.view_tier = bal, tier
        if not b.redemption.enabled:  # members who never redeem value points at nothing
            v = rho = 0.0
        else:
            per_order = self.per_order(m, tier)
            speed = m.buy_p * per_order + m.action_speed
            pv = b.perceived_value
            k = pv.discount_per_day if pv.enabled else 0.0
            best = 0.0
            for cost, value in self.options[tier]:
                gap = cost - bal
                days = gap / max(speed, 1e-12) if gap > 0 else 0.0
                best = max(best, value / (1.0 + k * days))
            v = m.valuation * best
            rho = per_order / m.mean_order * v
        # the reference programme is the policy itself: the same view of it
        m.v, m.rho, m.v0, m.rho0 = v, rho, v, rho
        m.odds = price_factor(b.reward_rate, rho, m.rho0)
        m.promo_cap = promotion_factor(b.reward_rate, rho, rho * (self.promo_mult - 1.0), 0.0)

    def lost_value(self, m: Member, bal: int, tier: int) -> float:
        """What leaving would forfeit, perceived, in mean orders: the balance's redeemable
        value plus a year of the tier's extra everyday earning (``Perception.lost_value``)."""
        if not self.b.redemption.enabled:
            return 0.0
        best = max((value for cost, value in self.options[tier] if cost <= bal), default=0.0)
        extra = self.per_order(m, tier) - self.per_order(m, 0)
        tier_gain = 0.0
        if self.usable[tier]:
            tier_gain = extra * m.buy_p * DAYS_A_YEAR * self.rules.tier_values[tier]
        return m.valuation * (bal * best + tier_gain) / m.mean_order

    def days_to_expiry(self, m: Member, day: int) -> float:
        """Days to the last valid day of the member's earliest-expiring points (inf: none)."""
        if not m.buckets:
            return math.inf
        expiring = m.buckets[0][0] + self.rules.expiry_months
        end = self.month_end.get(expiring)
        if end is None:
            year, month0 = divmod(expiring + 1, 12)  # the month after, 0-based
            last = dt.date(year, month0 + 1, 1) - dt.timedelta(days=1)
            end = self.month_end[expiring] = (last - self.setup.start).days
        return float(end - day)

    def progress(self, m: Member, bal: int, tier: int) -> float:
        """Share of the way done towards the nearer goal: the member's threshold (next reward)
        or the next tier."""
        reward = min(bal / m.threshold, 1.0)
        thresholds = self.rules.tier_thresholds
        if tier + 1 < len(thresholds):
            reward = max(reward, min(m.qual_total / max(thresholds[tier + 1], 1.0), 1.0))
        return reward

    def readiness(self, m: Member, bal: int, urge: float) -> float:
        """The stockpiling curve: how ready the member is to spend points at this balance,
        faded towards 1 by the urgency of points about to expire."""
        x = self.b.redemption.steepness * (bal / m.threshold - 1.0)
        level = 1.0 / (1.0 + math.exp(-x))
        return level + self.b.expiry_deadline.fade * urge * (1.0 - level)

    def urgency(self, m: Member, day: int) -> float:
        """``exp(-days to the earliest expiry / days)`` (0 with the deadline off)."""
        ed = self.b.expiry_deadline
        if not ed.enabled:
            return 0.0
        return math.exp(-max(self.days_to_expiry(m, day), 0.0) / ed.days)

    def pays(self, m: Member, points: float, ref_points: float) -> float:
        """Engagement factor of an action paying ``points`` here and ``ref_points`` under the
        reference programme, at the member's perceived point values (``ArmWorld._pays``)."""
        if self.b.redemption.enabled:
            reward, reference = points * m.v, ref_points * m.v0
        else:  # points that are never used: the face value
            value = self.rules.tier_values[0]
            reward, reference = points * value, ref_points * value
        return engagement_factor(self.b.engagement, reward, reference)

    def shop(self, m: Member, day: int, bal: int, tier: int) -> float:
        """Whether the member buys today (0.0: no) and for how much; may drop out after."""
        rng, b = self.rng, self.b
        u = rng.random()
        p = m.buy_p
        cap = max(m.odds, 1.0) * self.bound
        if b.reward_rate.enabled:  # the new-member campaign runs every day
            cap *= m.promo_cap
        if u >= p * cap:
            return 0.0
        total, promo = self.factors(m, day, bal, tier)
        pm = min(p * total, 1.0)
        if u < p:  # a baseline purchase day: dropout may follow, whatever the factors did
            drop = dropout(b.switching_cost, m.drop, self.lost_value(m, bal, tier))
            if rng.random() < drop:
                m.alive = False
                m.churns += 1
        if u >= pm:
            return 0.0
        sub = b.substitution
        if sub.enabled and promo > 1.0:  # the chance this purchase was the promotion's
            m.debt += sub.borrowed_share * (1.0 - 1.0 / promo)
        amount = rng.gammavariate(self.baseline.p, 1.0 / m.nu) * self.baseline.currency_scale
        m.incentive_gmv += (1.0 - min(p / pm, 1.0)) * amount
        returns = b.returns
        if returns.enabled and returns.rate > 0 and rng.random() < returns.rate:
            when = day + 1 + math.floor(rng.random() * returns.window_days)
            m.returns.append((when, amount, -1))  # its points are known once it is earned
        return amount

    def factors(self, m: Member, day: int, bal: int, tier: int) -> tuple[float, float]:
        """The loyalty responses' factor on the member's purchase rate today, and the part of
        it the running promotion adds (``ArmWorld._factors``)."""
        b, rules = self.b, self.rules
        promo = 1.0
        rr = b.reward_rate
        in_campaign = day - m.join_day < rules.new_member_days
        if rr.enabled and self.pays_for_spend and in_campaign and self.promo_mult > 1.0:
            age = day - max(m.join_day, 0)  # from the join, or from the first day
            promo = promotion_factor(rr, m.rho, m.rho * (self.promo_mult - 1.0), age)
        pull = 1.0  # goal, halo and deadline: reasons to buy here, within the headroom
        if b.goal_gradient.enabled:
            pull *= 1.0 + b.goal_gradient.g * self.progress(m, bal, tier)
        halo = b.redemption_halo
        if halo.enabled and halo.lift > 0:
            since = day - m.last_redeem
            if since < HALO_HORIZON * halo.days:
                pull *= 1.0 + halo.lift * math.exp(-max(since, 0) / halo.days)
        ed = b.expiry_deadline
        if ed.enabled and ed.buy_lift > 0 and m.flexible:
            pull *= deadline(ed, self.days_to_expiry(m, day), ed.buy_lift)
        sw = b.share_of_wallet
        total = wallet_factor(sw, m.odds * promo * pull, m.wallet_share)
        promo_part = total / wallet_factor(sw, m.odds * pull, m.wallet_share)
        sub = b.substitution
        if sub.enabled:
            if m.debt > 0:  # repaid at the member's purchase rate
                rate = m.buy_p / sub.repay_interpurchase
                m.debt *= math.exp(-rate * (day - m.debt_day))
            m.debt_day = day
            total *= 1.0 - min(max(m.debt, 0.0), MAX_DIP)
        return total, promo_part

    def choose_redemption(self, m: Member, day: int, bal: int, tier: int) -> int:
        """The catalogue item the member asks for today (-1: none)."""
        rp, ed = self.b.redemption, self.b.expiry_deadline
        u = self.rng.random()
        points_day = self.points_day[day]
        day_lift = 1.0 + rp.points_day_lift if points_day else 1.0
        pull = 1.0 + (ed.redeem_lift + ed.reminder_lift if ed.enabled else 0.0)
        if u >= rp.max_daily * day_lift * pull:
            return -1  # above the highest probability possible: no need for the curve
        urge = self.urgency(m, day)
        p = rp.max_daily * self.readiness(m, bal, urge) * day_lift
        if ed.enabled:
            since = day - m.reminded_on
            p *= 1.0 + ed.redeem_lift * urge + ed.reminder_lift * math.exp(-since / REMINDER_DAYS)
        if not m.alive:
            p *= rp.lapsed
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
        member's points expire. They raise redemption for a few days and may win a lapsed
        member back tomorrow."""
        for _, expiring in targets:
            earned = expiring - self.rules.expiry_months
            for k, _ in m.buckets:  # oldest first
                if k >= earned:
                    if k == earned:
                        m.reminders += 1
                        m.reminded_on = day
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

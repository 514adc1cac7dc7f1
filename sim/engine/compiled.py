"""A policy turned into the arrays and lookup tables the engine's array code uses.

Compiling is done once per policy (and category vocabulary); the day step reads only this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from sim.engine.codes import ROLES, STAGES, Kind
from sim.engine.expiry_scheme import ExpiryScheme
from sim.policy import ACTIONS, MICROS, SYSTEM_RULES, Policy
from sim.policy.control import Campaign
from sim.policy.earn import (
    MAX_ONE_TIME_RULES,
    EarnRule,
    MentorShareRule,
    OneTimeRule,
    TaskRule,
)

if TYPE_CHECKING:
    from sim.engine.boost import Stacking

UNLIMITED = np.iinfo(np.int64).max // 4
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


def _micros(value: float) -> int:
    return round(value * MICROS)


@dataclass(frozen=True)
class CompiledCampaign:
    rule_id: int
    start: tuple[int, int, int] | None  # (year, month, day); year ignored when yearly
    end: tuple[int, int, int] | None
    yearly: bool
    boosts: B  # per rule index
    multiplier: float
    bonus: int
    tiers: B | None  # per tier index, None: all
    groups: B | None  # per group index, None: all
    max_days_since_join: int | None
    birthday_month: bool


@dataclass(frozen=True)
class CompiledPolicy:
    """Everything the engine needs, as arrays indexed by rule, tier, item or category code."""

    policy: Policy
    categories: tuple[str, ...]
    rule_ids: tuple[str, ...]
    rule_channel: tuple[str, ...]
    rule_qualifying: B
    rule_overall_cap: B
    rule_boostable: B
    rule_delay: I64
    earn: tuple[tuple[int, EarnRule], ...]
    cap_col: dict[int, int]
    cap_day: I64
    cap_month: I64
    overall_day: int
    overall_month: int
    task_col: dict[int, int]
    one_time_bit: dict[int, int]
    mentor: tuple[tuple[int, MentorShareRule, B], ...]
    campaigns: tuple[CompiledCampaign, ...]
    tier_names: tuple[str, ...]
    tier_threshold: F64  # points, or micros of spend
    tier_mult: F64
    tier_bday: F64
    tier_value: I64  # micros per point
    tier_pack: I64  # micros per month
    item_ids: tuple[str, ...]
    item_points: I64
    item_cost: I64
    item_stock: I64  # UNLIMITED where unlimited
    item_min_tier: I64
    item_enabled: B
    lot_ids: tuple[str, ...]
    lot_reserve: I64
    lot_quantity: I64
    lot_cost: I64
    lot_close_dom: I64
    prize_cum: F64
    prize_points: I64
    prize_cost: I64
    expiry: ExpiryScheme
    anchor_value: int  # micros per point
    # -- the policy's settings the day step reads, in their final units ------------------
    campaign_stacking: Stacking
    qualify_points: bool
    """Tier qualification counts points (else spend, in micros)."""
    upgrade_immediate: bool
    """Upgrades as soon as a threshold is reached (else at the review)."""
    review: str  # "monthly", "quarterly" or "yearly"
    downgrade: str  # "none", "one_step" or "recompute"
    window_months: int
    freeze_blocks_earn: bool
    clawback_cap: bool
    """A refund claws back at most the balance (the rest is a shortfall); else the balance may
    go negative."""
    points_day: int
    """Day of the month of the points day (0: none)."""
    points_day_price: I64
    """Points price of one unit of each catalogue item on the points day (rounded up)."""
    offset_enabled: bool
    offset_max_share: float
    offset_min_points: int
    offset_step: int
    lottery_cost: int  # points a spin; 0: no lottery
    donation_enabled: bool
    donation_min: int
    donation_per_point: int
    """Micros a donated point is worth (-1: the member's point value)."""
    interest_rate: float  # monthly; 0.0: no interest
    interest_min_balance: int
    interest_max_points: int  # UNLIMITED where unlimited
    dynamic_value: bool
    dynamic_threshold: float  # liability / 30-day GMV above which the value steps down
    dynamic_recover_below: float
    dynamic_step: float
    dynamic_floor: float
    cost_per_point_issued: float  # currency per point (statistics are in currency floats)
    cost_per_point_burned: float

    @property
    def n_rules(self) -> int:
        return len(self.rule_ids)

    def rule(self, rule_id: str) -> int:
        return self.rule_ids.index(rule_id)

    def category_code(self, name: str) -> int:
        """Code of a purchase category; unknown categories are code 0 ("default")."""
        try:
            return self.categories.index(name)
        except ValueError:
            return 0

    def item_code(self, item_id: str) -> int:
        return self.item_ids.index(item_id)

    def point_values(self, value_factor: float) -> I64:
        """Micros a point is worth by tier index at a dynamic value level: the value postings
        carry, and what liability counts."""
        out: I64 = np.floor(self.tier_value * value_factor).astype(np.int64)
        return out

    def event_name(self, kind: int, code: int) -> str:
        """What an event's ``code`` stands for: the purchase category, action, catalogue item,
        auction lot or referral ``stage:role`` (empty for kinds without one)."""
        table: dict[int, tuple[str, ...]] = {
            Kind.PURCHASE: self.categories,
            Kind.ACTION: ACTIONS,
            Kind.REDEEM: self.item_ids,
            Kind.BID: self.lot_ids,
            Kind.REFERRAL: tuple(f"{s}:{r}" for s in STAGES for r in ROLES),
        }
        names = table.get(int(kind), ())
        return names[code] if 0 <= code < len(names) else ""


def policy_categories(policy: Policy) -> set[str]:
    cats: set[str] = set()
    for rule in policy.earn.values():
        cats.update(getattr(rule, "category_multipliers", {}) or {})
        cats.update(getattr(rule, "categories", ()) or ())
    cats.update(item.category for item in policy.burn.catalogue.values())
    return cats


def compile_policy(policy: Policy, categories: tuple[str, ...] = ()) -> CompiledPolicy:
    """Compile ``policy``. ``categories`` fixes the codes of purchase categories (code 0 is
    "default"); categories the policy names but the list lacks are appended in sorted order."""
    cats = ["default", *[c for c in categories if c != "default"]]
    cats += sorted(policy_categories(policy) - set(cats))

    earn = policy.ordered_earn()
    camps = policy.ordered_campaigns()
    rule_ids = [k for k, _ in earn] + [k for k, _ in camps]
    rule_ids += policy.burn_rule_ids() + list(SYSTEM_RULES)
    index = {k: i for i, k in enumerate(rule_ids)}
    n = len(rule_ids)

    channel = ["system"] * n
    qualifying = np.zeros(n, bool)
    overall = np.zeros(n, bool)
    boostable = np.zeros(n, bool)
    delay = np.zeros(n, np.int64)
    for k, r in earn:
        i = index[k]
        channel[i] = r.channel
        qualifying[i] = r.qualifying
        overall[i] = r.overall_cap
        boostable[i] = r.boostable
        delay[i] = r.delay_days
    for k, _ in camps:
        channel[index[k]] = "campaign"
    for k in policy.burn_rule_ids():
        channel[index[k]] = "burn"
    qualifying[index["interest"]] = False

    cap_col: dict[int, int] = {}
    cap_day: list[int] = []
    cap_month: list[int] = []
    task_col: dict[int, int] = {}
    one_time: dict[int, int] = {}
    mentor: list[tuple[int, MentorShareRule, B]] = []
    for k, r in earn:
        i = index[k]
        if r.caps.daily is not None or r.caps.monthly is not None:
            cap_col[i] = len(cap_day)
            cap_day.append(UNLIMITED if r.caps.daily is None else r.caps.daily)
            cap_month.append(UNLIMITED if r.caps.monthly is None else r.caps.monthly)
        if isinstance(r, TaskRule):
            task_col[i] = len(task_col)
        if isinstance(r, OneTimeRule):
            if len(one_time) >= MAX_ONE_TIME_RULES:  # the policy's validation says so first
                raise ValueError(f"at most {MAX_ONE_TIME_RULES} one-time rules are supported")
            one_time[i] = len(one_time)
        if isinstance(r, MentorShareRule):
            shared = np.zeros(n, bool)
            shared[[index[x] for x in r.rules if x in index]] = True
            mentor.append((i, r, shared))

    tiers = list(policy.tiers)
    groups = list(policy.program.groups)
    compiled_camps = tuple(
        _compile_campaign(index[k], c, index, boostable, tiers, groups) for k, c in camps
    )

    spend = policy.tiering.measure == "spend"
    tier_threshold = np.array(
        [t.threshold * (MICROS if spend else 1) for t in policy.tiers.values()], np.float64
    )
    items = policy.burn.catalogue
    lots = policy.burn.auction
    prizes = policy.burn.lottery.prizes if policy.burn.lottery else ()
    item_points = np.array([it.points for it in items.values()], np.int64)
    points_day = policy.burn.points_day
    offset = policy.burn.cash_offset
    donation = policy.burn.donation
    interest = policy.interest
    dynamic = policy.dynamic_value
    return CompiledPolicy(
        policy=policy,
        categories=tuple(cats),
        rule_ids=tuple(rule_ids),
        rule_channel=tuple(channel),
        rule_qualifying=qualifying,
        rule_overall_cap=overall,
        rule_boostable=boostable,
        rule_delay=delay,
        earn=tuple((index[k], r) for k, r in earn),
        cap_col=cap_col,
        cap_day=np.array(cap_day, np.int64),
        cap_month=np.array(cap_month, np.int64),
        overall_day=UNLIMITED if policy.caps.daily is None else policy.caps.daily,
        overall_month=UNLIMITED if policy.caps.monthly is None else policy.caps.monthly,
        task_col=task_col,
        one_time_bit=one_time,
        mentor=tuple(mentor),
        campaigns=compiled_camps,
        tier_names=tuple(tiers),
        tier_threshold=tier_threshold,
        tier_mult=np.array([t.multiplier for t in policy.tiers.values()], np.float64),
        tier_bday=np.array([t.birthday_multiplier for t in policy.tiers.values()], np.float64),
        tier_value=np.array([_micros(policy.tier_value(t)) for t in tiers], np.int64),
        tier_pack=np.array([_micros(t.monthly_pack_cost) for t in policy.tiers.values()], np.int64),
        item_ids=tuple(items),
        item_points=item_points,
        item_cost=np.array([_micros(it.cash_cost) for it in items.values()], np.int64),
        item_stock=np.array(
            [UNLIMITED if it.stock is None else it.stock for it in items.values()], np.int64
        ),
        item_min_tier=np.array(
            [-1 if it.min_tier is None else tiers.index(it.min_tier) for it in items.values()],
            np.int64,
        ),
        item_enabled=np.array([it.enabled for it in items.values()], bool),
        lot_ids=tuple(lots),
        lot_reserve=np.array([a.reserve_points for a in lots.values()], np.int64),
        lot_quantity=np.array([a.quantity for a in lots.values()], np.int64),
        lot_cost=np.array([_micros(a.cash_cost) for a in lots.values()], np.int64),
        lot_close_dom=np.array([a.close_day_of_month for a in lots.values()], np.int64),
        prize_cum=np.cumsum([p.probability for p in prizes]).astype(np.float64),
        prize_points=np.array([p.points for p in prizes], np.int64),
        prize_cost=np.array([_micros(p.cash_cost) for p in prizes], np.int64),
        expiry=ExpiryScheme.from_policy(policy.expiry),
        anchor_value=_micros(policy.program.point_value),
        campaign_stacking=policy.program.campaign_stacking,
        qualify_points=policy.tiering.measure == "points",
        upgrade_immediate=policy.tiering.upgrade == "immediate",
        review=policy.tiering.review,
        downgrade=policy.tiering.downgrade,
        window_months=policy.tiering.window_months,
        freeze_blocks_earn=policy.freeze.blocks_earn,
        clawback_cap=policy.refunds.clawback == "cap_at_balance",
        points_day=0 if points_day is None else points_day.day_of_month,
        points_day_price=np.ceil(
            item_points * (1.0 if points_day is None else points_day.price_factor) - 1e-9
        ).astype(np.int64),
        offset_enabled=offset is not None and offset.enabled,
        offset_max_share=0.0 if offset is None else offset.max_share,
        offset_min_points=0 if offset is None else offset.min_points,
        offset_step=1 if offset is None else offset.step,
        lottery_cost=0 if policy.burn.lottery is None else policy.burn.lottery.cost_points,
        donation_enabled=donation is not None and donation.enabled,
        donation_min=0 if donation is None else donation.min_points,
        donation_per_point=(
            -1
            if donation is None or donation.cash_per_point is None
            else _micros(donation.cash_per_point)
        ),
        interest_rate=0.0 if interest is None else interest.monthly_rate,
        interest_min_balance=0 if interest is None else interest.min_balance,
        interest_max_points=(
            UNLIMITED if interest is None or interest.max_points is None else interest.max_points
        ),
        dynamic_value=dynamic is not None,
        dynamic_threshold=0.0 if dynamic is None else dynamic.threshold,
        dynamic_recover_below=0.0 if dynamic is None else dynamic.recover_below,
        dynamic_step=1.0 if dynamic is None else dynamic.step,
        dynamic_floor=1.0 if dynamic is None else dynamic.floor,
        cost_per_point_issued=policy.cost.per_point_issued,
        cost_per_point_burned=policy.cost.per_point_burned,
    )


def _compile_campaign(
    rule_id: int,
    c: Campaign,
    index: dict[str, int],
    boostable: B,
    tiers: list[str],
    groups: list[str],
) -> CompiledCampaign:
    if c.rules:
        boosts = np.zeros(len(boostable), bool)
        boosts[[index[r] for r in c.rules if r in index]] = True
    else:
        boosts = boostable.copy()
    tier_mask = np.isin(np.array(tiers), np.array(c.tiers)) if c.tiers else None
    group_mask = np.isin(np.array(groups), np.array(c.groups)) if c.groups else None

    def ymd(d: Any) -> tuple[int, int, int] | None:
        return None if d is None else (d.year, d.month, d.day)

    return CompiledCampaign(
        rule_id=rule_id,
        start=ymd(c.start),
        end=ymd(c.end),
        yearly=c.yearly,
        boosts=boosts,
        multiplier=c.multiplier,
        bonus=c.bonus,
        tiers=tier_mask,
        groups=group_mask,
        max_days_since_join=c.max_days_since_join,
        birthday_month=c.birthday_month,
    )

"""What the world's members need to know about a policy: which actions pay and how much,
what the burn options cost and are worth, how much a unit spent earns, how far the tiers are.
Read once per group from the compiled policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.engine import CompiledPolicy
from sim.engine.boost import tier_factor_bound
from sim.engine.compiled import UNLIMITED
from sim.engine.quote import purchase_rule
from sim.policy import ACTIONS
from sim.policy.base import MICROS
from sim.policy.earn import (
    ActionRule,
    CheckinRule,
    InvestmentRule,
    OneTimeRule,
    PerItemRule,
    PurchaseRule,
    ReferralRule,
    TaskRule,
)

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class PolicyFacts:
    points_per_unit: float
    """Points per currency unit of the purchase rule (0: none)."""
    tier_value: F64
    """Currency value of a point per tier."""
    tier_rank: F64
    """0 for the lowest tier, 1 for the top."""
    max_boost: float
    """Largest tier x birthday factor on purchase points."""
    unit_rate: F64
    """Everyday points per currency unit spent, per tier: the spend rules (purchase with the
    scenario's category mix, investment, per-item at the scenario's item price), the tier's
    multiplier on the boostable ones; campaigns and birthdays not included."""
    order_points: F64
    """Everyday points per order whatever its amount, per tier (per-item rules when an order
    is one item)."""
    daily_cap: float
    """Points a member can earn in a day (inf: no cap)."""
    option_cost: F64
    """(tiers, options): points of each burn option a member of the tier may use (inf:
    none), the Pareto front of cheaper or better value."""
    option_value: F64
    """(tiers, options): currency each option gives per point (face value; the cash offset at
    the tier's point value); 0 where ``option_cost`` is inf."""
    checkin: bool
    checkin_points: float
    """Mean points of a check-in over a week's streak (0: check-ins do not pay)."""
    actions: frozenset[str]
    """Actions the policy rewards (share, review, login, course, survey, profile)."""
    action_points: dict[str, float]
    """Points one of each rewarded action pays."""
    referral_stages: frozenset[str]
    item_points: I64
    item_weight: F64
    """Face value per point of each enabled catalogue item (0: disabled)."""
    item_min_tier: I64
    cash_offset_min: int | None
    lottery_cost: int | None
    donation_min: int | None
    lot_reserve: I64
    cheapest: float
    """Points of the cheapest burn option (inf: nothing to burn)."""
    typical: float
    """Median points of the burn options (inf: nothing to burn): stockpiling thresholds are
    multiples of it."""
    category_codes: I64
    category_cum: F64
    """Cumulative order shares of the scenario's categories (codes in ``category_codes``)."""

    @property
    def pays_for_spend(self) -> bool:
        return bool((self.unit_rate > 0).any() or (self.order_points > 0).any())

    @classmethod
    def of(
        cls, cp: CompiledPolicy, categories: dict[str, float], item_price: float | None = None
    ) -> PolicyFacts:
        policy = cp.policy
        rule = purchase_rule(cp)
        ppu = 0.0
        if rule is not None:
            purchase = cp.earn[[i for i, _ in cp.earn].index(rule)][1]
            assert isinstance(purchase, PurchaseRule)
            ppu = purchase.points_per_unit
        rules = [r for _, r in cp.earn]
        actions: set[str] = {r.action for r in rules if isinstance(r, ActionRule)}
        actions |= {str(r.trigger) for r in rules if isinstance(r, OneTimeRule)}
        actions |= {str(r.action) for r in rules if isinstance(r, TaskRule)}
        actions &= set(ACTIONS)
        stages = {r.stage for r in rules if isinstance(r, ReferralRule)}
        burn = policy.burn
        enabled = cp.item_enabled
        face = np.array(
            [
                (it.face_value if it.face_value is not None else it.cash_cost) / it.points
                for it in burn.catalogue.values()
            ]
            + [0.0] * (len(cp.item_ids) - len(burn.catalogue))
        )
        weight = np.where(enabled, np.maximum(face, 1e-12), 0.0)
        offset = burn.cash_offset
        offset_min = max(offset.min_points, offset.step) if offset and offset.enabled else None
        lottery = burn.lottery.cost_points if burn.lottery is not None else None
        donation = burn.donation
        donation_min = donation.min_points if donation is not None and donation.enabled else None
        prices = [float(p) for p, e in zip(cp.item_points, enabled, strict=True) if e]
        prices += [float(x) for x in (offset_min, lottery, donation_min) if x is not None]
        prices += [float(x) for x in cp.lot_reserve]
        n_tiers = len(cp.tier_names)
        names = list(categories)
        tier_value = cp.tier_value / MICROS
        unit_rate, order_points = _spend_rates(cp, categories, item_price)
        cost, value = _options(cp, face, tier_value, offset_min)
        return cls(
            points_per_unit=ppu,
            tier_value=tier_value,
            tier_rank=np.arange(n_tiers) / max(n_tiers - 1, 1),
            max_boost=tier_factor_bound(cp),
            unit_rate=unit_rate,
            order_points=order_points,
            daily_cap=float("inf") if cp.overall_day >= UNLIMITED else float(cp.overall_day),
            option_cost=cost,
            option_value=value,
            checkin=any(isinstance(r, CheckinRule) for r in rules),
            checkin_points=_checkin_points(rules),
            actions=frozenset(actions),
            action_points=_action_points(rules),
            referral_stages=frozenset(stages),
            item_points=cp.item_points,
            item_weight=weight,
            item_min_tier=cp.item_min_tier,
            cash_offset_min=offset_min,
            lottery_cost=lottery,
            donation_min=donation_min,
            lot_reserve=cp.lot_reserve,
            cheapest=min(prices) if prices else float("inf"),
            typical=float(np.median(prices)) if prices else float("inf"),
            category_codes=np.array([cp.category_code(c) for c in names], np.int64),
            category_cum=np.cumsum([categories[c] for c in names]),
        )


def _spend_rates(
    cp: CompiledPolicy, categories: dict[str, float], item_price: float | None
) -> tuple[F64, F64]:
    """Everyday points per currency unit and per order, per tier (see :class:`PolicyFacts`)."""
    n_tiers = len(cp.tier_names)
    unit = np.zeros(n_tiers)
    order = np.zeros(n_tiers)
    other = max(1.0 - sum(categories.values()), 0.0)
    for idx, rule in cp.earn:
        tier = cp.tier_mult if cp.rule_boostable[idx] else np.ones(n_tiers)
        if isinstance(rule, PurchaseRule):
            mix = other + sum(
                share * rule.category_multipliers.get(c, 1.0) for c, share in categories.items()
            )
            unit += rule.points_per_unit * mix * tier
        elif isinstance(rule, InvestmentRule):
            unit += rule.points_per_unit * tier
        elif isinstance(rule, PerItemRule):
            share = sum(categories.get(c, 0.0) for c in rule.categories) if rule.categories else 1.0
            if item_price is not None:
                unit += rule.points_per_item * share / item_price * tier
            else:
                order += rule.points_per_item * share * tier
    return unit, order


def _options(
    cp: CompiledPolicy, face: F64, tier_value: F64, offset_min: int | None
) -> tuple[F64, F64]:
    """Per tier, the burn options a member may use as (points, currency per point), keeping
    only those no other option beats on both (cheaper and at least as good value)."""
    n_tiers = len(cp.tier_names)
    per_tier: list[list[tuple[float, float]]] = []
    for t in range(n_tiers):
        opts = [
            (float(p), float(f))
            for p, f, e, mt in zip(
                cp.item_points, face, cp.item_enabled, cp.item_min_tier, strict=False
            )
            if e and mt <= t and p > 0
        ]
        if offset_min is not None:
            opts.append((float(offset_min), float(tier_value[t])))
        opts.sort(key=lambda o: (o[0], -o[1]))
        front: list[tuple[float, float]] = []
        for cost, value in opts:  # ascending cost: keep each that beats every cheaper one
            if not front or value > front[-1][1]:
                front.append((cost, value))
        per_tier.append(front)
    width = max((len(f) for f in per_tier), default=0) or 1
    costs: F64 = np.full((n_tiers, width), np.inf)
    values: F64 = np.zeros((n_tiers, width))
    for t, front in enumerate(per_tier):
        for j, (c, v) in enumerate(front):
            costs[t, j] = c
            values[t, j] = v
    return costs, values


def _checkin_points(rules: Sequence[object]) -> float:
    for r in rules:
        if isinstance(r, CheckinRule):
            table = list(r.streak_points)
            week = [table[min(d, len(table) - 1)] for d in range(7)]
            bonus = r.bonus_points if r.bonus_day is not None and r.bonus_day <= 7 else 0
            return (sum(week) + bonus) / 7.0
    return 0.0


def _action_points(rules: Sequence[object]) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in rules:
        if isinstance(r, ActionRule):
            out[r.action] = out.get(r.action, 0.0) + r.points
        elif isinstance(r, OneTimeRule):
            out[str(r.trigger)] = out.get(str(r.trigger), 0.0) + r.points
        elif isinstance(r, TaskRule) and r.action in ACTIONS:
            out[str(r.action)] = out.get(str(r.action), 0.0) + r.points / max(r.count, 1)
    return out

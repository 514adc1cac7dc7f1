"""What the world's members need to know about a policy: which actions pay, what the burn
options cost, how far the tiers are. Read once per group from the compiled policy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.engine import CompiledPolicy
from sim.engine.boost import tier_factor_bound
from sim.engine.quote import purchase_rule
from sim.policy import ACTIONS
from sim.policy.base import MICROS
from sim.policy.earn import (
    ActionRule,
    CheckinRule,
    OneTimeRule,
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
    checkin: bool
    actions: frozenset[str]
    """Actions the policy rewards (share, review, login, course, survey, profile)."""
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

    @classmethod
    def of(cls, cp: CompiledPolicy, categories: dict[str, float]) -> PolicyFacts:
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
        return cls(
            points_per_unit=ppu,
            tier_value=cp.tier_value / MICROS,
            tier_rank=np.arange(n_tiers) / max(n_tiers - 1, 1),
            max_boost=tier_factor_bound(cp),
            checkin=any(isinstance(r, CheckinRule) for r in rules),
            actions=frozenset(actions),
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

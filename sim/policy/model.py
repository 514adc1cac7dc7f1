"""The whole policy: one frozen, validated tree (see DESIGN.md section 9)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, JsonValue, field_validator, model_validator

from sim.policy.base import MICROS, Caps, Frozen, Identifier, PosFloat
from sim.policy.burn import Burn
from sim.policy.control import (
    Campaign,
    CostModel,
    DynamicValue,
    Expiry,
    Freeze,
    Interest,
    Refunds,
    Tier,
    Tiering,
)
from sim.policy.earn import EarnRule, MentorShareRule, PurchaseRule

SYSTEM_RULES = (
    "release",
    "expiry",
    "refund",
    "adjust",
    "interest",
    "lottery_prize",
    "tier_pack",
)
"""Rule ids the engine posts under besides the policy's own (which may not reuse them)."""


class Program(Frozen):
    """Programme identity and the value anchor."""

    name: Identifier
    title: str = ""
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    point_value: PosFloat
    """Currency value of one point (the anchor)."""
    campaign_stacking: Literal["multiply", "max", "add"] = "max"
    """How several campaign multipliers on the same points combine."""
    groups: tuple[Identifier, ...] = ("all",)
    """Experiment groups members can be assigned to (campaign audiences refer to them)."""
    transferable: bool = False

    @field_validator("point_value")
    @classmethod
    def _exact(cls, value: float) -> float:
        if abs(value * MICROS - round(value * MICROS)) > 1e-6:
            raise ValueError(f"point_value(={value}) must be a whole number of micro-units")
        return value


class Policy(Frozen):
    """A loyalty programme's complete rules. Build with :func:`sim.policy.load_policy`."""

    program: Program
    earn: dict[Identifier, EarnRule] = {}
    caps: Caps = Caps()
    campaigns: dict[Identifier, Campaign] = {}
    burn: Burn = Burn()
    tiering: Tiering = Tiering()
    tiers: dict[Identifier, Tier] = Field(min_length=1)
    expiry: Expiry = Expiry()
    freeze: Freeze = Freeze()
    refunds: Refunds = Refunds()
    dynamic_value: DynamicValue | None = None
    interest: Interest | None = None
    cost: CostModel = CostModel()
    meta: dict[str, JsonValue] = {}
    """Free-form notes: the source, and the outcomes the source reports."""

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        problems: list[str] = []
        thresholds = [t.threshold for t in self.tiers.values()]
        if thresholds[0] != 0:
            problems.append(f"tiers: the first tier's threshold must be 0, got {thresholds[0]:g}")
        for (a, ta), (b, tb) in zip(
            list(self.tiers.items()), list(self.tiers.items())[1:], strict=False
        ):
            if tb.threshold <= ta.threshold:
                problems.append(
                    f"tiers.{b}.threshold(={tb.threshold:g}) must be above "
                    f"tiers.{a}.threshold(={ta.threshold:g}): thresholds overlap"
                )
        reserved = set(SYSTEM_RULES) | set(self.burn_rule_ids())
        for rule_id in list(self.earn) + list(self.campaigns):
            if rule_id in reserved:
                problems.append(f"earn/campaigns: {rule_id!r} is a reserved rule id")
        clash = set(self.earn) & set(self.campaigns)
        for rule_id in sorted(clash):
            problems.append(f"campaigns.{rule_id}: the id is also an earn rule's id")
        for name, camp in self.campaigns.items():
            for rule in camp.rules:
                if rule not in self.earn:
                    problems.append(f"campaigns.{name}.rules: no earn rule {rule!r}")
            for tier in camp.tiers:
                if tier not in self.tiers:
                    problems.append(f"campaigns.{name}.tiers: no tier {tier!r}")
            for group in camp.groups:
                if group not in self.program.groups:
                    problems.append(f"campaigns.{name}.groups: no group {group!r} in program.groups")
        for item_id, item in self.burn.catalogue.items():
            if item.min_tier is not None and item.min_tier not in self.tiers:
                problems.append(f"burn.catalogue.{item_id}.min_tier: no tier {item.min_tier!r}")
        for rule_id, rule in self.earn.items():
            if isinstance(rule, MentorShareRule):
                for ref in rule.rules:
                    if ref not in self.earn or isinstance(self.earn[ref], MentorShareRule):
                        problems.append(
                            f"earn.{rule_id}.rules: {ref!r} is not an earn rule it can share"
                        )
            if isinstance(rule, PurchaseRule):
                for cat in rule.category_multipliers:
                    if cat == "default":
                        problems.append(
                            f"earn.{rule_id}.category_multipliers: 'default' is reserved"
                        )
        if len(set(self.program.groups)) != len(self.program.groups):
            problems.append("program.groups: group names must be unique")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def burn_rule_ids(self) -> list[str]:
        """Rule ids of the burn side, as they appear on postings."""
        ids = ["cash_offset", "lottery", "donation"]
        ids += [f"item:{k}" for k in self.burn.catalogue]
        ids += [f"auction:{k}" for k in self.burn.auction]
        return ids

    def ordered_earn(self) -> list[tuple[str, EarnRule]]:
        """Enabled earn rules in application order: priority, then file order."""
        rules = [(k, r) for k, r in self.earn.items() if r.enabled]
        order = {k: i for i, k in enumerate(self.earn)}
        return sorted(rules, key=lambda kr: (kr[1].priority, order[kr[0]]))

    def ordered_campaigns(self) -> list[tuple[str, Campaign]]:
        """Enabled campaigns in application order: priority, then file order."""
        camps = [(k, c) for k, c in self.campaigns.items() if c.enabled]
        order = {k: i for i, k in enumerate(self.campaigns)}
        return sorted(camps, key=lambda kc: (kc[1].priority, order[kc[0]]))

    def tier_value(self, tier: str) -> float:
        """Value of one point for a member of ``tier``."""
        value = self.tiers[tier].point_value
        return self.program.point_value if value is None else value

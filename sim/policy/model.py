"""The whole policy: one frozen, validated tree (see DESIGN.md section 9)."""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, JsonValue, field_validator, model_validator

from sim.policy.base import (
    Caps,
    Frozen,
    FrozenDict,
    Identifier,
    Lax,
    PosFloat,
    ReadOnly,
    whole_micros,
)
from sim.policy.burn import Burn
from sim.policy.control import (
    Accounting,
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
from sim.policy.earn import MAX_ONE_TIME_RULES, EarnRule, MentorShareRule, OneTimeRule, PurchaseRule

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


def _deep_freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return FrozenDict({k: _deep_freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_deep_freeze(v) for v in value)
    return value


class Program(Frozen):
    """Programme identity and the value anchor."""

    name: Identifier
    title: str = ""
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    point_value: PosFloat
    """Currency value of one point (the anchor)."""
    campaign_stacking: Literal["multiply", "max", "add"] = "max"
    """How several campaign multipliers on the same points combine."""
    groups: Annotated[tuple[Identifier, ...], Lax] = ("all",)
    """Experiment groups members can be assigned to (campaign audiences refer to them)."""
    transferable: bool = False

    _exact = field_validator("point_value")(whole_micros)


class Policy(Frozen):
    """A loyalty programme's complete rules. Build with :func:`sim.policy.load_policy`."""

    program: Program
    earn: Annotated[dict[Identifier, EarnRule], ReadOnly] = FrozenDict()
    caps: Caps = Caps()
    campaigns: Annotated[dict[Identifier, Campaign], ReadOnly] = FrozenDict()
    burn: Burn = Burn()
    tiering: Tiering = Tiering()
    tiers: Annotated[dict[Identifier, Tier], ReadOnly, Field(min_length=1)]
    expiry: Expiry = Expiry()
    freeze: Freeze = Freeze()
    refunds: Refunds = Refunds()
    dynamic_value: DynamicValue | None = None
    interest: Interest | None = None
    cost: CostModel = CostModel()
    accounting: Accounting = Accounting()
    meta: Annotated[dict[str, JsonValue], AfterValidator(_deep_freeze)] = FrozenDict()
    """Free-form notes: the source, and the outcomes the source reports."""

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        problems = self._cross_field_problems()
        if problems:
            raise ValueError("\n".join(f"{path}: {msg}" for path, msg in problems))
        return self

    def _cross_field_problems(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        tiers = list(self.tiers.items())
        if tiers[0][1].threshold != 0:
            problems.append(
                (
                    f"tiers.{tiers[0][0]}.threshold",
                    f"the first tier's threshold must be 0 (got {tiers[0][1].threshold:g})",
                )
            )
        for (a, ta), (b, tb) in itertools.pairwise(tiers):
            if tb.threshold <= ta.threshold:
                problems.append(
                    (
                        f"tiers.{b}.threshold",
                        f"{tb.threshold:g} must be above "
                        f"tiers.{a}.threshold ({ta.threshold:g}): tier thresholds overlap",
                    )
                )
        reserved = set(SYSTEM_RULES) | set(self.burn_rule_ids())
        for table, ids in (("earn", self.earn), ("campaigns", self.campaigns)):
            for rule_id in ids:
                if rule_id in reserved:
                    problems.append(
                        (
                            f"{table}.{rule_id}",
                            f"{rule_id!r} is reserved for the engine's own "
                            f"postings ({', '.join(SYSTEM_RULES)})",
                        )
                    )
        for rule_id in self.earn:
            if rule_id in self.campaigns:
                problems.append((f"campaigns.{rule_id}", "the id is also an earn rule's id"))
        once = [k for k, r in self.earn.items() if isinstance(r, OneTimeRule)]
        if len(once) > MAX_ONE_TIME_RULES:
            problems.append(
                (
                    f"earn.{once[MAX_ONE_TIME_RULES]}",
                    f"{len(once)} one-time rules, at most {MAX_ONE_TIME_RULES} are supported "
                    "(each is a flag bit of the member)",
                )
            )
        for name, camp in self.campaigns.items():
            for rule in camp.rules:
                if rule not in self.earn:
                    problems.append((f"campaigns.{name}.rules", f"no earn rule {rule!r}"))
            for tier in camp.tiers:
                if tier not in self.tiers:
                    problems.append((f"campaigns.{name}.tiers", f"no tier {tier!r}"))
            for group in camp.groups:
                if group not in self.program.groups:
                    problems.append(
                        (f"campaigns.{name}.groups", f"no group {group!r} in program.groups")
                    )
        for item_id, item in self.burn.catalogue.items():
            if item.min_tier is not None and item.min_tier not in self.tiers:
                problems.append(
                    (f"burn.catalogue.{item_id}.min_tier", f"no tier {item.min_tier!r}")
                )
        for rule_id, earn_rule in self.earn.items():
            if isinstance(earn_rule, MentorShareRule):
                for ref in earn_rule.rules:
                    if ref not in self.earn or isinstance(self.earn[ref], MentorShareRule):
                        problems.append(
                            (f"earn.{rule_id}.rules", f"{ref!r} is not an earn rule it can share")
                        )
            if isinstance(earn_rule, PurchaseRule) and "default" in earn_rule.category_multipliers:
                problems.append(
                    (f"earn.{rule_id}.category_multipliers", "'default' is a reserved category")
                )
        if len(set(self.program.groups)) != len(self.program.groups):
            problems.append(("program.groups", "group names must be unique"))
        if self.expiry.mode == "never" and self.expiry.reminders:
            problems.append(("expiry.reminders", "points never expire: there is nothing to remind"))
        return problems

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

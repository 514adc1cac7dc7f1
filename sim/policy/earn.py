"""Earn rules: every way a member can be issued points.

Each rule lives in the policy under ``[earn.<rule_id>]`` and names its ``kind``. Rules are applied
in ``priority`` order (lower first), ties broken by their order in the file.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from sim.policy.base import (
    Caps,
    Frozen,
    FrozenDict,
    Identifier,
    Lax,
    Money,
    Multiplier,
    NonNegInt,
    PosInt,
    Rate,
    ReadOnly,
    Share,
)

MAX_ONE_TIME_RULES = 59
"""One-time rules a policy may have: each is a bit of a member's flags (the engine keeps the
bits above for the referral stages)."""

ACTIONS = ("share", "review", "login", "course", "profile", "survey")
"""Non-purchase actions a member can perform; events name one of these."""

Action = Literal["share", "review", "login", "course", "profile", "survey"]
TaskAction = Literal["purchase", "checkin", "share", "review", "login", "course", "survey"]
Rounding = Literal["floor", "round", "ceil"]


class RuleBase(Frozen):
    """Fields every earn rule has."""

    priority: int = 0
    enabled: bool = True
    channel: Identifier = "behaviour"
    caps: Caps = Caps()
    overall_cap: bool = True
    """Whether points of this rule count towards (and are limited by) the overall caps."""
    qualifying: bool = True
    """Whether points of this rule count as tier-qualifying points."""
    boostable: bool = False
    """Whether tier, birthday and campaign multipliers apply to this rule."""
    delay_days: NonNegInt = 0
    """Points wait this many days as pending before they become available."""


class PurchaseRule(RuleBase):
    """Points for spend: ``points_per_unit`` per currency unit, times category multipliers."""

    kind: Literal["purchase"]
    channel: Identifier = "purchase"
    boostable: bool = True
    points_per_unit: Rate = 1.0
    rounding: Rounding = "floor"
    min_amount: Money = 0.0
    category_multipliers: Annotated[dict[Identifier, Multiplier], ReadOnly] = FrozenDict()


class PerItemRule(RuleBase):
    """A fixed bonus per item bought (e.g. +5 beans per cup), optionally for some categories."""

    kind: Literal["per_item"]
    channel: Identifier = "purchase"
    points_per_item: PosInt
    categories: Annotated[tuple[Identifier, ...], Lax] = ()


class CheckinRule(RuleBase):
    """Daily check-in: streak day n pays ``streak_points[n-1]``; a missed day resets the streak."""

    kind: Literal["checkin"]
    streak_points: Annotated[tuple[NonNegInt, ...], Lax, Field(min_length=1)]
    after_table: Literal["hold", "restart"] = "hold"
    """After the last entry: keep paying it ("hold") or start the table again ("restart")."""
    bonus_day: PosInt | None = None
    bonus_points: NonNegInt = 0

    @model_validator(mode="after")
    def _bonus(self) -> CheckinRule:
        if self.bonus_points and self.bonus_day is None:
            raise ValueError("bonus_points is set but bonus_day is not")
        return self


class ActionRule(RuleBase):
    """Points per occurrence of an action (share, review, login, course, survey ...)."""

    kind: Literal["action"]
    action: Action
    points: PosInt


class OneTimeRule(RuleBase):
    """Points paid once per member for an action, or for the member's first purchase."""

    kind: Literal["one_time"]
    trigger: Literal["profile", "first_purchase", "survey", "course"]
    points: PosInt


class ReferralRule(RuleBase):
    """Referral paid to both sides at one stage (sign-up, verification or first purchase)."""

    kind: Literal["referral"]
    channel: Identifier = "referral"
    stage: Literal["signup", "verified", "first_purchase"]
    referrer_points: NonNegInt = 0
    referee_points: NonNegInt = 0

    @model_validator(mode="after")
    def _something(self) -> ReferralRule:
        if self.referrer_points == 0 and self.referee_points == 0:
            raise ValueError("a referral rule must pay the referrer or the referee")
        return self


class TaskRule(RuleBase):
    """A task: do ``action`` ``count`` times in a period, spend ``spend`` in a month,
    or do ``action`` on ``days`` consecutive days."""

    kind: Literal["task"]
    channel: Identifier = "task"
    task: Literal["count", "spend", "streak"]
    action: TaskAction = "purchase"
    count: PosInt = 1
    period: Literal["week", "month"] = "month"
    spend: Money = 0.0
    days: PosInt = 1
    points: PosInt

    @model_validator(mode="after")
    def _shape(self) -> TaskRule:
        if self.task == "spend" and self.spend <= 0:
            raise ValueError("a spend task needs spend > 0")
        if self.task == "streak" and self.days < 2:
            raise ValueError("a streak task needs days >= 2")
        return self


class InvestmentRule(RuleBase):
    """Points per currency unit invested, issued only when the investment matures."""

    kind: Literal["investment"]
    channel: Identifier = "investment"
    points_per_unit: Rate
    rounding: Rounding = "floor"


class MentorShareRule(RuleBase):
    """A mentor (the referrer) receives ``share`` of the points a referred member earns
    from ``rules`` (their own points, not a campaign's extra), for ``days`` after the referred
    member joined (None: for ever). Shared when the points become available (so delayed points
    voided by a refund are never shared); paid as pending points due ``delay_days`` later."""

    kind: Literal["mentor_share"]
    channel: Identifier = "referral"
    share: Share
    rules: Annotated[tuple[Identifier, ...], Lax, Field(min_length=1)]
    days: PosInt | None = None
    delay_days: NonNegInt = 1
    overall_cap: bool = False

    @model_validator(mode="after")
    def _delay(self) -> MentorShareRule:
        if self.caps != Caps() or self.overall_cap:
            raise ValueError(
                "caps and overall_cap do not apply to mentor_share (it pays another member; "
                "limit it with share and days)"
            )
        if self.delay_days < 1:
            raise ValueError("mentor share is paid to another member: delay_days must be >= 1")
        return self


EarnRule = Annotated[
    PurchaseRule
    | PerItemRule
    | CheckinRule
    | ActionRule
    | OneTimeRule
    | ReferralRule
    | TaskRule
    | InvestmentRule
    | MentorShareRule,
    Field(discriminator="kind"),
]

"""Control rules: tiers, expiry, freezing, refunds, value, interest and the cost model."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from sim.policy.base import (
    Frozen,
    Identifier,
    Lax,
    Money,
    Multiplier,
    NonNegFloat,
    NonNegInt,
    PosFloat,
    PosInt,
    Share,
    whole_micros,
)


class Tier(Frozen):
    """A tier level and its benefits."""

    threshold: NonNegFloat
    """Qualifying measure (points, or currency of spend) needed in the window."""
    multiplier: Multiplier = 1.0
    """Earn multiplier on boostable rules."""
    point_value: PosFloat | None = None
    """Value of one point for members of this tier (default: program.point_value)."""
    birthday_multiplier: Multiplier = 1.0
    """Extra earn multiplier on boostable rules in the member's birthday month."""
    monthly_pack_cost: Money = 0.0
    """Cash cost of the coupon pack each member of this tier receives every month."""

    _exact = field_validator("point_value")(whole_micros)


class Tiering(Frozen):
    """How tiers are qualified and reviewed."""

    measure: Literal["points", "spend"] = "points"
    """Qualifying points earned, or spend; never the redeemable balance."""
    window_months: int = Field(default=12, ge=1, le=36)
    review: Literal["monthly", "quarterly", "yearly"] = "yearly"
    upgrade: Literal["immediate", "review"] = "immediate"
    downgrade: Literal["none", "one_step", "recompute"] = "one_step"


class Expiry(Frozen):
    """When points expire: ``rolling`` N months after they are earned (rounded up to the end of
    the day, month, quarter or year), on a ``fixed_date`` some years after the year earned,
    ``never``, or after ``inactivity_days`` without any activity."""

    mode: Literal["rolling", "fixed_date", "never", "inactivity"] = "rolling"
    months: int = Field(default=12, ge=1, le=120)
    rounding: Literal["day", "month_end", "quarter_end", "year_end"] = "month_end"
    fixed_month: int = Field(default=12, ge=1, le=12)
    fixed_day: int = Field(default=31, ge=1, le=31)
    years: int = Field(default=1, ge=1, le=10)
    inactivity_days: PosInt = 365
    reminders: Annotated[tuple[PosInt, ...], Lax] = ()
    """Remind members this many days before their points expire."""
    first_expiry: Annotated[dt.date | None, Lax] = None
    """No expiry before this date (set when expiry is turned on for a live programme)."""

    @model_validator(mode="after")
    def _shape(self) -> Expiry:
        if self.mode == "fixed_date":
            try:
                dt.date(2001, self.fixed_month, self.fixed_day)
            except ValueError as err:
                raise ValueError(
                    f"fixed_month={self.fixed_month}, fixed_day={self.fixed_day} "
                    "is not a date in a non-leap year"
                ) from err
        if len(set(self.reminders)) != len(self.reminders):
            raise ValueError("reminders must not repeat a day")
        return self


class Freeze(Frozen):
    """What an operator's freeze does: burns are always refused; earning may be too."""

    blocks_earn: bool = False


class Refunds(Frozen):
    """Refund clawback of points already available: let the balance go negative, or take at
    most the balance and record the shortfall."""

    clawback: Literal["allow_negative", "cap_at_balance"] = "cap_at_balance"


class DynamicValue(Frozen):
    """A programme-wide value factor (starting at 1) multiplies every point value. Each day the
    outstanding liability exceeds ``threshold`` x the last 30 days' GMV, the factor is multiplied
    by ``step`` (e.g. 0.95), but not below ``floor``; each day liability is under
    ``recover_below`` x that GMV, it is divided by ``step``, up to 1."""

    threshold: PosFloat
    recover_below: NonNegFloat
    step: float = Field(gt=0.0, lt=1.0)
    floor: float = Field(gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _band(self) -> DynamicValue:
        if self.recover_below >= self.threshold:
            raise ValueError(
                f"recover_below(={self.recover_below}) must be below threshold(={self.threshold})"
            )
        return self


class Interest(Frozen):
    """Interest on available balances, paid as new points on the last day of each month."""

    monthly_rate: float = Field(gt=0.0, le=0.2)
    min_balance: NonNegInt = 0
    max_points: PosInt | None = None


class CostModel(Frozen):
    """Operating cost per point (currency) and margin earned on extra sales (share of GMV)."""

    per_point_issued: NonNegFloat = 0.0
    per_point_burned: NonNegFloat = 0.0
    margin_rate: Share = 0.2


class Accounting(Frozen):
    """How the ledger books the points a sale issues (IFRS 15 / ASC 606, ``sim.accounting``)."""

    expected_redemption: Share | None = None
    """Share of the points issued by sales expected to be redeemed: the points' stand-alone
    selling price is their value times it when a sale's price is allocated, and the default
    estimate of each issue cohort's redemptions (1: no breakage expected, all deferred).
    Unset: estimated from the programme's own history each month (a chain ladder of the
    month cohorts' redemptions, ``sim.accounting.books``), 1 until a year of it supports
    one."""


class Campaign(Frozen):
    """A campaign: in a date window (None: always), for an audience, a multiplier on some
    earn rules' points or a fixed bonus per qualifying event."""

    start: Annotated[dt.date | None, Lax] = None
    end: Annotated[dt.date | None, Lax] = None
    yearly: bool = False
    """Repeat the start-end window every year (same month and day)."""
    rules: Annotated[tuple[Identifier, ...], Lax] = ()
    """Earn rules it boosts, whether boostable or not (empty: every boostable rule)."""
    multiplier: float = Field(default=1.0, ge=1.0, le=100.0, allow_inf_nan=False)
    bonus: NonNegInt = 0
    tiers: Annotated[tuple[Identifier, ...], Lax] = ()
    groups: Annotated[tuple[Identifier, ...], Lax] = ()
    max_days_since_join: NonNegInt | None = None
    birthday_month: bool = False
    priority: int = 0
    enabled: bool = True

    @model_validator(mode="after")
    def _shape(self) -> Campaign:
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"end(={self.end}) is before start(={self.start})")
        if self.yearly and (self.start is None or self.end is None):
            raise ValueError("a yearly campaign needs both start and end")
        if self.multiplier == 1.0 and self.bonus == 0:
            raise ValueError("a campaign needs a multiplier other than 1 or a bonus")
        return self

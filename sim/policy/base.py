"""Shared pieces of the policy model: the strict base class and small value types."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

MICROS = 1_000_000
"""Money is held exactly as integer micro-units of the currency (1 CNY = 1,000,000)."""


class Frozen(BaseModel):
    """Base of every policy table: unknown keys are errors, values are immutable once built."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, validate_default=True)


NonNegInt = Annotated[int, Field(ge=0)]
PosInt = Annotated[int, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
PosFloat = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Multiplier = Annotated[float, Field(ge=0.0, le=100.0, allow_inf_nan=False)]
Money = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,47}$")]
Date = dt.date


def money_to_micros(value: float) -> int:
    """Round a currency amount to exact integer micro-units."""
    return round(value * MICROS)


class Caps(Frozen):
    """Per-member limits on points, per day and per calendar month (None: no limit)."""

    daily: NonNegInt | None = None
    monthly: NonNegInt | None = None

"""Shared pieces of the policy model: the strict base class and small value types."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, NoReturn

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

MICROS = 1_000_000
"""Money is held exactly as integer micro-units of the currency (1 CNY = 1,000,000)."""


class FrozenDict(dict):  # type: ignore[type-arg]
    """A dict that refuses changes: the keyed tables of a policy (rules, tiers, items ...)."""

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("policy tables are read-only: make a variant with sim.policy.override")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _refuse  # type: ignore[assignment]
    __ior__ = _refuse  # type: ignore[assignment]

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self.items()))

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict:
        return self


ReadOnly = AfterValidator(FrozenDict)
"""Put on every ``dict`` field: ``Annotated[dict[K, V], ReadOnly]``."""
Lax = Field(strict=False)
"""Put on every ``tuple`` field, so TOML arrays (lists) are accepted."""


class Frozen(BaseModel):
    """Base of every policy table: unknown keys are errors, types are strict (no "5" for 5, no
    1 for true), values are immutable once built."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, validate_default=True)


MAX_NUMBER = 10**9
"""Every count, points figure, day count and amount of money a policy states is at most this
(a billion): far above any programme, far below what the engine's int64 points and micros hold
once multiplied together (:data:`MAX_RATE`, the multipliers' 100, and the ledger's largest
amount, a billion currency units; ``sim.engine.arith`` refuses anything beyond)."""
MAX_RATE = 10**4
"""Most points per currency unit a rate may give (ten thousand)."""

NonNegInt = Annotated[int, Field(ge=0, le=MAX_NUMBER)]
PosInt = Annotated[int, Field(gt=0, le=MAX_NUMBER)]
NonNegFloat = Annotated[float, Field(ge=0.0, le=MAX_NUMBER, allow_inf_nan=False)]
PosFloat = Annotated[float, Field(gt=0.0, le=MAX_NUMBER, allow_inf_nan=False)]
Rate = Annotated[float, Field(gt=0.0, le=MAX_RATE, allow_inf_nan=False)]
"""Points per currency unit."""
Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Multiplier = Annotated[float, Field(ge=0.0, le=100.0, allow_inf_nan=False)]
Money = Annotated[float, Field(ge=0.0, le=MAX_NUMBER, allow_inf_nan=False)]
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,47}$")]
Date = dt.date


def whole_micros(cls: type, value: float | None) -> float | None:
    """Field validator: a currency value per point must be a whole number of micro-units."""
    if value is not None and abs(value * MICROS - round(value * MICROS)) > 1e-6:
        raise ValueError(f"must be a whole number of micro-units (1e-6), got {value!r}")
    return value


def money_to_micros(value: float) -> int:
    """Round a currency amount to exact integer micro-units."""
    return round(value * MICROS)


class Caps(Frozen):
    """Per-member limits on points, per day and per calendar month (None: no limit)."""

    daily: NonNegInt | None = None
    monthly: NonNegInt | None = None

    @model_validator(mode="after")
    def _order(self) -> Caps:
        if self.daily is not None and self.monthly is not None and self.daily > self.monthly:
            raise ValueError(f"daily(={self.daily}) is above monthly(={self.monthly})")
        return self

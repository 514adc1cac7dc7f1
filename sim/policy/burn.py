"""Burn rules: every way points leave a member's balance by the member's choice."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from sim.policy.base import (
    Frozen,
    FrozenDict,
    Identifier,
    Lax,
    Money,
    NonNegInt,
    PosFloat,
    PosInt,
    ReadOnly,
    Share,
)


class CashOffset(Frozen):
    """Points as cash at checkout: each point is worth the member's point value, at most
    ``max_share`` of the order, at least ``min_points``, in multiples of ``step``."""

    enabled: bool = True
    max_share: Share = 1.0
    min_points: NonNegInt = 0
    step: PosInt = 1


class CatalogueItem(Frozen):
    """An item of the redemption catalogue."""

    name: str = ""
    kind: Literal["coupon", "goods", "virtual", "privilege", "experience"] = "coupon"
    points: PosInt
    cash_cost: Money
    """What one redemption costs the programme, in currency."""
    face_value: Money | None = None
    """What a member perceives the item to be worth, in currency (default: cash_cost)."""
    stock: NonNegInt | None = None
    """Units available in the whole programme (None: unlimited)."""
    min_tier: Identifier | None = None
    category: Identifier = "general"
    enabled: bool = True


class PointsDay(Frozen):
    """A monthly day on which catalogue redemptions cost ``price_factor`` of their price."""

    day_of_month: int = Field(ge=1, le=28)
    price_factor: float = Field(gt=0.0, le=1.0)


class Prize(Frozen):
    """One line of a lottery's prize table."""

    name: Identifier
    probability: Share
    points: NonNegInt = 0
    """Points paid back to the member (issued as new points)."""
    cash_cost: Money = 0.0


class Lottery(Frozen):
    """A wheel: each spin costs ``cost_points``; prizes by probability (the rest wins nothing)."""

    cost_points: PosInt
    prizes: Annotated[tuple[Prize, ...], Lax, Field(min_length=1)]

    @model_validator(mode="after")
    def _probabilities(self) -> Lottery:
        total = sum(p.probability for p in self.prizes)
        if total > 1.0 + 1e-9:
            raise ValueError(f"prize probabilities sum to {total:g}; expected at most 1")
        names = [p.name for p in self.prizes]
        if len(set(names)) != len(names):
            raise ValueError("prize names must be unique")
        return self


class AuctionLot(Frozen):
    """A scarce item sold by sealed first-price bids that close on ``close_day_of_month``."""

    name: str = ""
    quantity: PosInt = 1
    reserve_points: PosInt
    cash_cost: Money
    close_day_of_month: int = Field(default=28, ge=1, le=28)


class Donation(Frozen):
    """Members give points to a cause; the programme pays ``cash_per_point`` for each
    (default: the member's point value)."""

    enabled: bool = True
    min_points: NonNegInt = 1
    cash_per_point: PosFloat | None = None


class Burn(Frozen):
    """All burn options of a programme."""

    cash_offset: CashOffset | None = None
    catalogue: Annotated[dict[Identifier, CatalogueItem], ReadOnly] = FrozenDict()
    points_day: PointsDay | None = None
    lottery: Lottery | None = None
    auction: Annotated[dict[Identifier, AuctionLot], ReadOnly] = FrozenDict()
    donation: Donation | None = None

"""The scenario language: population, horizon, behaviour, experiment groups, health bands."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Field, JsonValue, model_validator

from sim.behaviour.baseline import BaselineParams
from sim.behaviour.params import Behaviour, Traits
from sim.policy.base import (
    Frozen,
    FrozenDict,
    Identifier,
    Lax,
    NonNegFloat,
    NonNegInt,
    PosFloat,
    PosInt,
    ReadOnly,
    Share,
)
from sim.scenario.sweep_spec import SweepSpec

MAX_DAYS = 3650
FIRST_DATE = dt.date(1900, 1, 1)
LAST_DATE = dt.date(9000, 12, 31)
"""Simulated days lie between these: expiry dates, tier reviews and the ledger's day numbers
reach years past the last simulated day, and the calendar ends with 9999."""


class Horizon(Frozen):
    """Simulated days: ``warmup_days`` first (left out of the metrics), then ``days``, then
    at most ``runoff_days`` in which only the points outstanding at the end are followed."""

    start: Annotated[dt.date, Lax]
    """First day of the metric window (the warm-up runs before it)."""
    days: int = Field(ge=1, le=MAX_DAYS)
    warmup_days: int = Field(default=0, ge=0, le=MAX_DAYS)
    runoff_days: int = Field(default=0, ge=0, le=MAX_DAYS)
    """After the window, the programme goes on (no new members, no dated campaigns) for up to
    this many days, in whole 30-day periods, or until every point outstanding at the window's
    end has been redeemed or has left: what share of them is redeemed is the forecast behind
    the expected liability after breakage (0: no run-off, and no such forecast)."""

    @model_validator(mode="after")
    def _dates(self) -> Horizon:
        span = (self.start - FIRST_DATE).days
        first = span - self.warmup_days
        last = span + self.days + self.runoff_days + 29
        if first < 0 or last > (LAST_DATE - FIRST_DATE).days:
            first_day = FIRST_DATE + dt.timedelta(days=max(first, 0))
            shown = f"{self.start} - {self.warmup_days} warm-up days" if first < 0 else first_day
            end = f"{self.start} + {self.days + self.runoff_days} days"
            raise ValueError(
                f"the simulated days run from {shown} to {end}, expected dates between "
                f"{FIRST_DATE} and {LAST_DATE} (points are dated and expire years later)"
            )
        return self


class Segment(Frozen):
    """A share of the population with its own buying parameters and traits."""

    share: float = Field(gt=0.0, le=1.0, allow_inf_nan=False)
    baseline: BaselineParams = BaselineParams()
    traits: Traits = Traits()


class Population(Frozen):
    """Who the members are and when they join."""

    size: PosInt
    """Members at the start of the simulation (the warm-up's first day)."""
    joins_per_day: NonNegFloat = 0.0
    """Mean new members a day (Poisson) after the start."""
    tenure_days: NonNegInt = 365
    """Members there at the start joined uniformly over this many days before (0: that day)."""
    referred_share: Share = 0.0
    """Share of new members brought in by an existing member's referral."""
    segments: Annotated[dict[Identifier, Segment], ReadOnly] = FrozenDict(
        {"all": Segment(share=1.0)}
    )
    categories: Annotated[dict[Identifier, Share], ReadOnly] = FrozenDict()
    """Share of orders in each purchase category (the rest: no category)."""
    item_price: PosFloat | None = None
    """Currency per item: an order's item count is its value / item_price, at least 1."""
    purchases_as: Literal["purchase", "investment"] = "purchase"
    """Investment: each order is an investment maturing ``investment_term_days`` later."""
    investment_term_days: int = Field(default=90, ge=1, le=MAX_DAYS)

    @model_validator(mode="after")
    def _shares(self) -> Population:
        total = sum(s.share for s in self.segments.values())
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"segments: shares sum to {total:g}; expected 1")
        cats = sum(self.categories.values())
        if cats > 1.0 + 1e-9:
            raise ValueError(f"categories: shares sum to {cats:g}; expected at most 1")
        return self


class Group(Frozen):
    """An experiment group: its policy (default: the scenario's) with its own overrides."""

    share: Share = 1.0
    """Share of members in the group (``split`` design only)."""
    policy: str | None = None
    """Policy file, relative to the scenario file (default: the scenario's policy)."""
    set: Annotated[dict[str, Any], ReadOnly] = FrozenDict()
    """Dotted-path overrides of the group's policy."""
    label: Identifier | None = None
    """The policy's ``program.groups`` entry members of the group carry (default: the group's
    name when the policy lists it, else the policy's first group)."""


NO_PROGRAMME = "no_programme"
"""The group :attr:`Experiment.no_programme` adds."""


class Experiment(Frozen):
    """Groups that run different policies on common random numbers.

    ``twin``: every group is the whole population, members and random numbers identical, so a
    difference between groups is the policy's effect. ``split``: members are divided by the
    groups' shares (a gray release), each drawing the same numbers it would draw anywhere."""

    design: Literal["twin", "split"] = "twin"
    control: Identifier | None = None
    """The group others are compared with (default: the first)."""
    groups: Annotated[dict[Identifier, Group], ReadOnly] = FrozenDict()
    """The groups (none: one group ``all`` on the scenario's policy)."""
    no_programme: bool = False
    """Add a group ``no_programme``: the control's policy with every earn rule and campaign
    off, nothing to earn or burn, on the same members and random numbers (twin design), so
    that the summary shows the programme's own effect against none."""

    @model_validator(mode="after")
    def _consistent(self) -> Experiment:
        if not self.groups and not self.no_programme:
            raise ValueError("groups: give at least one group (or no_programme = true)")
        if self.control is not None and self.control not in self.groups:
            raise ValueError(f"control: no group {self.control!r} in experiment.groups")
        if self.no_programme and self.design != "twin":
            raise ValueError("no_programme: needs the twin design (every group all members)")
        if self.no_programme and NO_PROGRAMME in self.groups:
            raise ValueError(f"groups: {NO_PROGRAMME!r} is the no-programme group's name")
        if self.design == "split":
            total = sum(g.share for g in self.groups.values())
            if abs(total - 1.0) > 1e-9:
                raise ValueError(f"groups: shares sum to {total:g}; expected 1 for a split")
        return self

    @property
    def control_group(self) -> str:
        return self.control if self.control is not None else next(iter(self.groups), "all")


class Band(Frozen):
    """Healthy range of a headline metric (either end may be open)."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _order(self) -> Band:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min(={self.min:g}) is above max(={self.max:g})")
        return self


class ScenarioSpec(Frozen):
    """A scenario file, validated (see ``scenarios/*.toml``)."""

    name: Identifier
    title: str = ""
    description: str = ""
    policy: str
    """Policy file, relative to the scenario file."""
    set: Annotated[dict[str, Any], ReadOnly] = FrozenDict()
    """Dotted-path overrides of the policy (every group's)."""
    reference_policy: str | None = None
    """The programme members' baseline behaviour was observed under: a policy file relative to
    the scenario file, or ``"none"``, no programme (the control's policy with every earn rule
    and campaign off: the baseline rates are how members buy without a programme). Default:
    the control group's policy as this file defines it."""
    seed: NonNegInt = 0
    replications: int = Field(default=1, ge=1, le=10_000)
    horizon: Horizon
    population: Population
    behaviour: Behaviour = Behaviour()
    experiment: Experiment | None = None
    health: Annotated[dict[str, Band], ReadOnly] = FrozenDict()
    meta: Annotated[dict[str, JsonValue], ReadOnly] = FrozenDict()
    """Free-form notes: the source, and the outcomes it reports."""
    sweep: SweepSpec | None = None
    """Policy and scenario parameters to vary (``pointsim sweep``; ``pointsim run`` ignores it)."""


SCENARIO_KEYS = frozenset(ScenarioSpec.model_fields)
"""Top-level keys of a scenario: a ``--set`` path starting with one of these sets the scenario;
any other path sets the policy."""

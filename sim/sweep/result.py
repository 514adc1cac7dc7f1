"""What a sweep's analysis holds: the tables and answers the report and ``sweep.json`` show."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

FIGURE_METRICS = (
    "cost_ratio",
    "liability_end",
    "liability_to_monthly_gmv",
    "breakage",
    "redemption_participation",
    "retention_90",
    "retention_365",
    "active_days_per_member_month",
    "gmv",
    "roi",
)
"""The headline metrics of a sweep, in the order figures and tables show them."""


@dataclass(frozen=True)
class ParamInfo:
    """One swept parameter."""

    path: str
    """Dotted path, e.g. ``caps.daily``; also its column name in ``points``."""
    kind: str
    """``grid`` (a list of values) or ``range`` (sampled)."""
    values: tuple[Any, ...]
    """The distinct values the points take, in order."""
    numeric: bool
    """Whether the values are numbers (bools are not): only numeric ones are regressed on."""


@dataclass(frozen=True)
class Bound:
    """A constraint on a metric, and how the chosen point stands against it."""

    text: str
    """As written, e.g. ``cost_ratio <= 0.03``."""
    metric: str
    op: str
    bound: float
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    holds: bool
    """The mean keeps the bound."""
    straddles: bool
    """The 95% CI reaches across the bound: the point may not keep it."""


@dataclass(frozen=True)
class Best:
    """The answer to "which point gives the most (least) METRIC subject to the constraints"."""

    point: int | None
    """None: no point keeps every constraint."""
    label: str
    metric: str
    direction: str
    """``max`` or ``min``."""
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    bounds: tuple[Bound, ...]
    runner_up: int | None
    warnings: tuple[str, ...]
    answer: str
    """The answer in one sentence."""
    text: str
    """The answer with its warnings."""


@dataclass
class SweepAnalysis:
    """Everything :func:`sim.sweep.analysis.analyse` works out from the finished runs."""

    scenario: str
    title: str
    currency: str
    group: str
    """The experiment group the analysis reads (``points`` holds every group)."""
    groups: tuple[str, ...]
    params: tuple[ParamInfo, ...]
    replications: int
    baseline: int
    """Point ROI and the other ``*_vs_baseline`` figures are measured against."""
    points: pd.DataFrame
    """One row per (point, group): ``point``, ``label``, ``group``, one column per parameter
    path, ``runs_ok``, ``runs_failed``; per metric M (every headline metric, ``tier_*_share``
    and ``roi``): ``M`` (mean over replications), ``M_ci_low``, ``M_ci_high`` (95%
    t-interval; NaN with fewer than two replications), ``M_n``; ``feasible`` (every
    constraint kept by the mean) and ``pareto`` (on the trade-off frontier; False outside the
    analysed group)."""
    runs: pd.DataFrame
    """One row per (point, replication, group) as the runs wrote them (``status``, ``error``,
    ``seconds``, metric columns)."""
    sensitivity: pd.DataFrame
    """One row per (metric, parameter): ``src`` (standardised regression coefficient over
    the runs of the analysed group), ``r2`` (of the metric's regression on every numeric
    parameter)."""
    frontier: tuple[str, str]
    """(x metric, lower is better; y metric, higher is better)."""
    bands: dict[str, tuple[float | None, float | None]]
    """The scenario's health bands by metric."""
    constraints: tuple[str, ...]
    best: Best | None
    """None when no objective was given."""
    units: dict[str, str] = field(default_factory=dict)
    """Metric name -> unit (``currency``, ``share``, ``ratio``, ``members`` ...)."""

    def table_metrics(self) -> list[str]:
        """The metrics a points table shows: :data:`FIGURE_METRICS`, then the objective and
        the constrained metrics when they are others."""
        asked = [self.best.metric] if self.best is not None else []
        asked += [c.split("<")[0].split(">")[0].strip() for c in self.constraints]
        names = dict.fromkeys([*FIGURE_METRICS, *asked])
        return [m for m in names if m in self.points.columns]

    def group_points(self) -> pd.DataFrame:
        """The rows of ``points`` for the analysed group."""
        return self.points[self.points["group"] == self.group].reset_index(drop=True)

"""The result tables of a run and what the summary needs besides them.

The metric catalogue (index and metric columns with units, headline metrics, the tables'
container) lives in the foundation module :mod:`sim.kpi`, which every layer may import; it is
re-exported here so that ``from sim.metrics.schema import DAILY`` keeps working. New code below
the analysis layer (inputs, shells) imports :mod:`sim.kpi`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.kpi import (
    BY_RULE,
    BY_RULE_INDEX,
    COHORT,
    COHORT_INDEX,
    COHORT_PERIOD_DAYS,
    DAILY,
    EXPERIMENT,
    INDEX,
    RETENTION,
    RETENTION_INDEX,
    RUN,
    RUN_INDEX,
    SUMMARY,
    Column,
    Headline,
    RunTables,
)

__all__ = [
    "BY_RULE",
    "BY_RULE_INDEX",
    "COHORT",
    "COHORT_INDEX",
    "COHORT_PERIOD_DAYS",
    "DAILY",
    "EXPERIMENT",
    "INDEX",
    "RETENTION",
    "RETENTION_INDEX",
    "RUN",
    "RUN_INDEX",
    "SUMMARY",
    "Column",
    "Headline",
    "RunTables",
    "SummarySpec",
]


@dataclass(frozen=True)
class SummarySpec:
    """What the summary needs to know besides the tables."""

    scenario: str
    title: str
    groups: tuple[str, ...]
    """Experiment groups in display order."""
    control: str | None
    """The group the others are compared with (None: no experiment)."""
    tiers: tuple[str, ...]
    """Tier names, lowest first (the ``tier_<name>`` columns)."""
    bands: dict[str, tuple[float | None, float | None]]
    """Health band (low, high; None: open) per headline metric name."""
    currency: str
    policies: dict[str, dict[str, str]]
    """Per group: ``name``, ``file`` and ``content_hash`` of the policy it ran."""
    reported: dict[str, object] = field(default_factory=dict)
    """The scenario's ``[meta.reported]`` figures."""
    warmup_days: int = 0
    """Days simulated before the metric window (for the warm-up check)."""
    runoff_days: int = 0
    """The scenario's ``horizon.runoff_days`` (for the run-off caution)."""
    run: dict[str, object] | None = None
    """How the scenario was loaded (``sim.scenario.Origin`` as a dict), recorded in
    ``summary.json`` so the run can be repeated (None: a sweep point)."""
    no_programme: str | None = None
    """The group with nothing to earn or burn (None: none): every other group's programme is
    compared with it."""
    assumptions: tuple[str, ...] = ()
    """Assumptions the figures rest on that a reader must be told (e.g. a win-back rate)."""

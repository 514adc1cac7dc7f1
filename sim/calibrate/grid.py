"""Solving for one setting: the value of a scenario or policy setting at which a metric hits a
target, found over runs on common random numbers.

The setting is run at a grid of values, every value over the same replications (the same
members and random numbers: :func:`sim.sweep.execute.run_sweep`, a local pool or a Dask
cluster, resumed from a folder). On common random numbers each replication's metric is a
smooth function of the setting, so each replication is solved on its own: the first crossing
of the target between two neighbouring grid values, by linear interpolation. The answer is the
mean of the replications' solutions with its t interval (the spread over replications is the
Monte Carlo uncertainty of the answer). A replication whose curve does not reach the target
inside the grid's range has no solution, and the answer says so: the target needs a value
outside the range searched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from sim.calibrate.logs import CalibrationError
from sim.execute import Backend, RunTask, scenario_key
from sim.metrics.summary import experiment_metrics, t_interval
from sim.scenario import Scenario, ScenarioError, load_scenario
from sim.scenario.load import Sources
from sim.scenario.model import NO_PROGRAMME
from sim.sweep.execute import RunStore, run_sweep

F64 = npt.NDArray[np.float64]

__all__ = ["Curve", "Loader", "Solution", "metric_rows", "run_grid", "solve"]


@dataclass(frozen=True)
class Curve:
    """A metric over a grid of values: ``values`` (ascending) and ``y[r, i]`` the metric of
    replication ``r`` at ``values[i]``."""

    values: F64
    y: F64

    def mean(self) -> F64:
        out: F64 = np.nanmean(self.y, axis=0)
        return out

    def at(self, value: float) -> float:
        """The replications' mean, interpolated at ``value``."""
        return float(np.interp(value, self.values, self.mean()))


@dataclass(frozen=True)
class Solution:
    """Where a :class:`Curve` crosses ``target``: per replication (NaN where it does not
    inside the grid), their mean with its 95% interval."""

    target: float
    per_replication: F64
    mean: float | None
    low: float | None
    high: float | None
    unsolved: int
    """Replications whose curve does not reach the target within the grid."""
    direction: str
    """Where the target lies when unsolved: "below", "above" the grid's range, or ""."""

    @property
    def solved(self) -> bool:
        return self.mean is not None and self.unsolved == 0


def solve(curve: Curve, target: float) -> Solution:
    """Each replication's first crossing of ``target`` (module docstring)."""
    roots = np.array([_crossing(curve.values, row, target) for row in curve.y], np.float64)
    found = roots[np.isfinite(roots)]
    unsolved = int(len(roots) - len(found))
    direction = ""
    if unsolved:
        mean = curve.mean()
        first, last = mean[0], mean[-1]
        rising = last >= first
        below = target < min(first, last)
        above = target > max(first, last)
        if below:
            direction = "below" if rising else "above"
        elif above:
            direction = "above" if rising else "below"
    stats = t_interval(found)
    return Solution(
        target=target,
        per_replication=roots,
        mean=_num(stats["mean"]),
        low=_num(stats["ci_low"]),
        high=_num(stats["ci_high"]),
        unsolved=unsolved,
        direction=direction,
    )


def _num(x: float | int | None) -> float | None:
    return None if x is None else float(x)


def _crossing(x: F64, y: F64, target: float) -> float:
    d = y - target
    ok = np.isfinite(d)
    for i in range(len(x) - 1):
        if not (ok[i] and ok[i + 1]):
            continue
        if d[i] == 0:
            return float(x[i])
        if d[i] * d[i + 1] < 0:
            return float(x[i] + (x[i + 1] - x[i]) * d[i] / (d[i] - d[i + 1]))
    if ok[-1] and d[-1] == 0:
        return float(x[-1])
    return float("nan")


def run_grid(
    scenarios: Sequence[Scenario],
    folder: Path,
    backend: Backend,
    on_run: Callable[[bool], None] | None = None,
) -> pd.DataFrame:
    """Every scenario (one per grid value, point = its index) over its replications, resumed
    from ``folder``: the headline rows (one per point, replication and group)."""
    reps = scenarios[0].spec.replications
    todo = [
        RunTask(i, r, scenario_key(sc), sc) for r in range(reps) for i, sc in enumerate(scenarios)
    ]
    store = RunStore(folder, "metrics")
    report = run_sweep(todo, store, backend, on_run=on_run)
    if report.failed:
        raise RuntimeError(f"{report.failed} calibration run(s) failed; see {folder}")
    return store.read(todo)


def metric_rows(rows: pd.DataFrame, base: Scenario, metric: str, group: str | None) -> F64:
    """``y[replication, point]`` of ``metric``: a group's headline metric (``group``, default
    the control or the only group), or an effect of a treatment against the control
    (``incremental_gmv``, ``roi`` ...: :data:`sim.kpi.EXPERIMENT`), or a group against the
    no-programme group (``programme_<headline>``: the group minus no programme, on the same
    members)."""
    points = sorted(rows["point"].unique())
    reps = sorted(rows["replication"].unique())
    out = np.full((len(reps), len(points)), np.nan)
    for j, point in enumerate(points):
        frame = rows[rows["point"] == point]
        per_rep = frame.set_index(["replication", "group"]).drop(
            columns=["point", "key", "status", "error", "seconds"], errors="ignore"
        )
        values = _metric(per_rep, base, metric, group)
        for i, r in enumerate(reps):
            if r in values.index:
                out[i, j] = float(values.loc[r])
    return out


def _metric(per_rep: pd.DataFrame, base: Scenario, metric: str, group: str | None) -> pd.Series:
    if metric.startswith("programme_"):
        if not any(a.group == NO_PROGRAMME for a in base.arms):
            raise ValueError(
                f"{metric}: the scenario has no no-programme group ([experiment] no_programme)"
            )
        none = NO_PROGRAMME
        name = metric.removeprefix("programme_")
        mine = group or _first_programme_group(base, none)
        diff = per_rep.xs(mine, level="group")[name] - per_rep.xs(none, level="group")[name]
        return diff
    if metric in per_rep.columns:
        mine = group or base.control or base.arms[0].group
        out: pd.Series = per_rep.xs(mine, level="group")[metric]
        return out
    control = base.control
    if control is None:
        raise ValueError(f"{metric}: not a headline metric, and the scenario has no control group")
    treatment = group or next(a.group for a in base.arms if a.group != control)
    effects = experiment_metrics(per_rep, treatment, control)
    if metric not in effects.columns:
        raise ValueError(f"{metric}: not a headline metric or an effect")
    effect: pd.Series = effects[metric]
    return effect


def _first_programme_group(base: Scenario, none: str) -> str:
    return next(a.group for a in base.arms if a.group != none)


@dataclass(frozen=True)
class Loader:
    """A scenario file loaded once as given (:attr:`base`) and again at any values: the
    files read once (:class:`sim.scenario.load.Sources`), problems raised as
    :class:`~sim.calibrate.logs.CalibrationError`."""

    path: Path | str
    kwargs: dict[str, Any]
    sources: Sources
    base: Scenario

    @classmethod
    def of(cls, path: Path | str, load: dict[str, Any] | None) -> Loader:
        kwargs = dict(load or {})
        sources = Sources()
        try:
            base = load_scenario(path, sources=sources, **kwargs)
        except ScenarioError as err:
            raise CalibrationError(err.problems) from None
        return cls(path, kwargs, sources, base)

    def at(self, values: dict[str, Any], label: str) -> Scenario:
        """The scenario with ``values`` set (``label`` names them in a problem)."""
        try:
            return load_scenario(self.path, sources=self.sources, values=values, **self.kwargs)
        except ScenarioError as err:
            raise CalibrationError([f"{label}: {p}" for p in err.problems]) from None

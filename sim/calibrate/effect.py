"""Calibrating a response to an observed effect (``pointsim calibrate effect``).

A behaviour parameter whose value is assumed (its plausible range and source declared in
:mod:`sim.behaviour.params`) is set to the value at which the scenario reproduces a figure
observed elsewhere: the programme-versus-none lift in visits a month, a past campaign's
incremental GMV, an article's before-and-after cost ratio. The parameter is run over a grid
across its plausible range on common random numbers and each replication solved for the
target (:mod:`sim.calibrate.grid`); the answer is the mean with its interval. When the
target needs a value outside the plausible range the answer says so, and which way: the
model, as assumed, cannot produce that figure from this parameter alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from sim.calibrate.grid import Curve, Loader, Solution, metric_rows, run_grid, solve
from sim.calibrate.logs import CalibrationError
from sim.execute import Backend
from sim.scenario import Scenario
from sim.scenario.model import NO_PROGRAMME
from sim.text import format_value

__all__ = [
    "EffectCalibration",
    "EffectPlan",
    "calibrate_effect",
    "parameter_range",
    "plan_effect",
    "run_effect",
]


@dataclass(frozen=True)
class EffectCalibration:
    """The answer: ``parameter`` (its ``assumed`` value, ``low``..``high`` the range searched,
    its plausible range unless the caller gave one, ``source``) at which ``metric`` of
    ``group`` hits ``target``."""

    scenario: str
    parameter: str
    assumed: float
    low: float
    high: float
    source: str
    metric: str
    group: str | None
    target: float
    curve: Curve
    solution: Solution
    unit: str

    def text(self) -> str:
        """What to tell the user, in one paragraph."""
        s = self.solution
        at_low, at_high = self.curve.mean()[0], self.curve.mean()[-1]
        fig = (
            f"{self.metric} {self._fmt(at_low)} at {self.low:g} .. "
            f"{self._fmt(at_high)} at {self.high:g}"
        )
        if s.solved and s.mean is not None:
            interval = (
                f" (95% CI {s.low:.4g} to {s.high:.4g} over {len(s.per_replication)} replications)"
                if s.low is not None and s.high is not None
                else " (one replication: no interval)"
            )
            return (
                f"{self.parameter} = {s.mean:.4g}{interval} reproduces {self.metric} = "
                f"{self._fmt(self.target)} in {self.scenario} (assumed {self.assumed:g}; "
                f"searched {self.low:g} to {self.high:g}: {fig})."
            )
        if s.unsolved < len(s.per_replication) and s.mean is not None:
            return (
                f"{self.parameter} reaches {self.metric} = {self._fmt(self.target)} in only "
                f"{len(s.per_replication) - s.unsolved} of {len(s.per_replication)} "
                f"replications, at {s.mean:.4g} on average: the target is at the edge of what "
                f"{self.low:g} to {self.high:g} gives ({fig}); more replications or a wider "
                "range would settle it."
            )
        side = {"above": "above", "below": "below"}.get(s.direction, "outside")
        return (
            f"{self.metric} = {self._fmt(self.target)} needs {self.parameter} {side} the range "
            f"searched ({self.low:g} to {self.high:g}, its plausible range from: "
            f"{self.source}): across it {fig}. The model as assumed does not produce that "
            "figure from this parameter alone."
        )

    def _fmt(self, value: float) -> str:
        return format_value(float(value), self.unit) if np.isfinite(value) else "undefined"

    def frame(self) -> pd.DataFrame:
        """The runs: one row per (value, replication) with the metric."""
        reps, points = self.curve.y.shape
        return pd.DataFrame(
            {
                "parameter": self.parameter,
                "value": np.tile(self.curve.values, reps),
                "replication": np.repeat(np.arange(reps), points),
                self.metric: self.curve.y.reshape(-1),
            }
        )


def parameter_range(sc: Scenario, parameter: str) -> tuple[float, float, float, str]:
    """(assumed value, low, high, source) of a behaviour parameter with a plausible range."""
    for a in sc.spec.behaviour.assumptions():
        if a.path == parameter:
            return a.value, a.low, a.high, a.source
    known = ", ".join(a.path for a in sc.spec.behaviour.assumptions()[:8])
    raise CalibrationError(
        f"--parameter {parameter}: not a behaviour parameter with a plausible range (e.g. "
        f"{known} ...; `pointsim calibrate effect --list` shows them all), or give --low and "
        "--high for any numeric scenario or policy setting"
    )


@dataclass(frozen=True)
class EffectPlan:
    """A checked calibration, ready to run: the scenario as assumed and at each grid value."""

    base: Scenario
    scenarios: list[Scenario]
    grid: npt.NDArray[np.float64]
    parameter: str
    metric: str
    target: float
    group: str | None
    assumed: float
    low: float
    high: float
    source: str


def plan_effect(
    path: Path | str,
    parameter: str,
    metric: str,
    target: float,
    *,
    group: str | None = None,
    low: float | None = None,
    high: float | None = None,
    points: int = 7,
    load: dict[str, Any] | None = None,
) -> EffectPlan:
    """Check every input and load the scenario at each grid value (nothing runs, nothing is
    written); :class:`CalibrationError` names what is wrong. ``load``:
    :func:`sim.scenario.load_scenario` keywords (members, replications, sets ...)."""
    if points < 3:
        raise CalibrationError(f"--points {points}: expected at least 3 grid values")
    if not np.isfinite(target):
        raise CalibrationError(f"--target {target}: expected a finite number")
    loader = Loader.of(path, load)
    base = loader.base
    if low is None or high is None:
        assumed, plausible_low, plausible_high, source = parameter_range(base, parameter)
        low = plausible_low if low is None else low
        high = plausible_high if high is None else high
    else:
        assumed, source = _current(base, parameter), "the range given (--low, --high)"
    if not (np.isfinite(low) and np.isfinite(high)) or low >= high:
        raise CalibrationError(f"--low {low} --high {high}: expected low < high, both finite")
    check_metric(base, metric, group)
    grid = np.linspace(low, high, points)
    scenarios = [loader.at({parameter: float(v)}, f"--parameter {parameter}={v:g}") for v in grid]
    return EffectPlan(
        base, scenarios, grid, parameter, metric, float(target), group, assumed,
        float(low), float(high), source,
    )  # fmt: skip


def run_effect(
    plan: EffectPlan,
    *,
    folder: Path,
    backend: Backend,
    on_run: Callable[[bool], None] | None = None,
) -> EffectCalibration:
    """Run the plan's grid (kept in ``folder``: a rerun resumes) and solve it."""
    rows = run_grid(plan.scenarios, folder, backend, on_run=on_run)
    try:
        y = metric_rows(rows, plan.base, plan.metric, plan.group)
    except (ValueError, KeyError) as err:
        raise CalibrationError(f"--metric {plan.metric}: {err}") from None
    curve = Curve(plan.grid, y)
    return EffectCalibration(
        scenario=plan.base.name,
        parameter=plan.parameter,
        assumed=plan.assumed,
        low=plan.low,
        high=plan.high,
        source=plan.source,
        metric=plan.metric,
        group=plan.group,
        target=plan.target,
        curve=curve,
        solution=solve(curve, plan.target),
        unit=_unit(plan.metric),
    )


def calibrate_effect(
    path: Path | str,
    parameter: str,
    metric: str,
    target: float,
    *,
    folder: Path,
    backend: Backend,
    on_run: Callable[[bool], None] | None = None,
    **options: Any,
) -> EffectCalibration:
    """Solve ``parameter`` for ``metric`` = ``target`` (module docstring): :func:`plan_effect`
    with ``options`` (group, low, high, points, load), then :func:`run_effect`."""
    plan = plan_effect(path, parameter, metric, target, **options)
    return run_effect(plan, folder=folder, backend=backend, on_run=on_run)


def check_metric(sc: Scenario, metric: str, group: str | None) -> None:
    """Refuse a metric or group the scenario cannot give, before anything runs."""
    from sim.kpi import EXPERIMENT, SUMMARY

    groups = [a.group for a in sc.arms]
    if group is not None and group not in groups:
        raise CalibrationError(f"--group {group}: not a group of {sc.name} ({', '.join(groups)})")
    levels = {m.name for m in SUMMARY}
    tiers = {f"tier_{t}_share" for a in sc.arms for t in a.policy.tiers}
    name = metric.removeprefix("programme_")
    if metric.startswith("programme_"):
        ok = name in levels | tiers and any(g == NO_PROGRAMME for g in groups)
        why = "needs [experiment] no_programme = true (or --no-programme)"
    elif metric in levels | tiers:
        ok, why = True, ""
    else:
        ok = metric in {m.name for m in EXPERIMENT} and sc.control is not None and len(groups) > 1
        why = "an effect needs a control and a treatment group"
    if not ok:
        raise CalibrationError(
            f"--metric {metric}: expected a headline metric (cost_ratio, gmv, "
            f"redemption_participation ...), an effect against the control (incremental_gmv, "
            f"roi ...) or programme_<headline> against the no-programme group"
            + (f"; {why}" if why else "")
        )


def _current(sc: Scenario, parameter: str) -> float:
    """The scenario's value of ``parameter`` (NaN when it is not a plain number there)."""
    for a in sc.spec.behaviour.assumptions():
        if a.path == parameter:
            return a.value
    return float("nan")


def _unit(metric: str) -> str:
    from sim.kpi import EXPERIMENT, SUMMARY

    name = metric.removeprefix("programme_")
    for m in (*SUMMARY, *EXPERIMENT):
        if m.name == name:
            return m.unit
    return ""


def assumption_paths(sc: Scenario) -> Iterable[str]:
    """Every behaviour parameter with a plausible range, for ``--list``."""
    for a in sc.spec.behaviour.assumptions():
        yield f"{a.path} = {a.value:g} (plausible {a.low:g} to {a.high:g}; {a.source})"

"""From a scenario's ``[sweep]`` table (and the command line) to the list of points to run,
every one validated before anything runs.

A point is a set of parameter values; its scenario is the base scenario with those values set,
as ``--set`` would. Replication ``k`` of every point draws the same members and random
numbers (the world's seed comes from the scenario's seed, name and ``k`` only), so
differences between points are the parameters' effect.
"""

from __future__ import annotations

import itertools
import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError
from scipy.stats import qmc

from sim.execute import RunTask, scenario_key
from sim.metrics.schema import EXPERIMENT, SUMMARY
from sim.policy.load import Problem, problems_of
from sim.scenario import DEFAULT_SCENARIO, Scenario, ScenarioError, Sources, load_scenario
from sim.scenario.sweep_spec import Range, SweepSpec, parse_constraint
from sim.sweep.result import ParamInfo

__all__ = ["Point", "RunTask", "SweepPlan", "metric_names", "plan_sweep"]


@dataclass(frozen=True)
class Point:
    index: int
    values: dict[str, Any]
    """Parameter path -> value."""
    label: str
    scenario: Scenario
    key: str
    """Content hash of what the point simulates (its scenario and policies, the pointsim
    version): a finished run whose key differs is stale and is run again."""


@dataclass(frozen=True)
class SweepPlan:
    source: str
    spec: SweepSpec
    params: tuple[ParamInfo, ...]
    points: tuple[Point, ...]
    replications: int
    baseline: int
    group: str
    base: Scenario

    @property
    def name(self) -> str:
        return self.base.name

    def tasks(self) -> list[RunTask]:
        """Every run, replication-major (the first replication of every point first)."""
        return [
            RunTask(p.index, r, p.key, p.scenario)
            for r in range(self.replications)
            for p in self.points
        ]


def metric_names(scenario: Scenario) -> list[str]:
    """Metrics a sweep can be asked about: the headline metrics, tier shares, the figures
    against the baseline point (``roi`` ...) and, in an experiment, a treatment's effect
    against the control within each point (``vs_control_roi`` ...)."""
    tiers = [f"tier_{t}_share" for t in scenario.arms[0].policy.tiers]
    baseline = ["incremental_gmv", "incremental_margin", "incremental_points_cost", "roi"]
    effects = [f"vs_control_{h.name}" for h in EXPERIMENT] if scenario.control else []
    return [h.name for h in SUMMARY] + tiers + baseline + effects


def _label(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{path}={_show(v)}" for path, v in values.items())


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return json.dumps(value) if not isinstance(value, str) else value


def _samples(spec: SweepSpec, ranges: Sequence[str], seed: int) -> list[dict[str, Any]]:
    """``spec.samples`` points over the ranges, the same for the same scenario seed."""
    if not ranges:
        return [{}]
    n, d = int(spec.samples or 0), len(ranges)
    if spec.sampler == "lhs":
        u = qmc.LatinHypercube(d=d, seed=seed).random(n)
    elif spec.sampler == "sobol":
        u = qmc.Sobol(d=d, scramble=True, seed=seed).random_base2(int(np.log2(n)))
    else:
        u = np.random.default_rng(seed).random((n, d))
    out = []
    for row in u:
        out.append(
            {
                path: rng.value(float(x))
                for path, rng, x in zip(
                    ranges, [spec.parameters[p] for p in ranges], row, strict=True
                )
                if isinstance(rng, Range)
            }
        )
    return out


def _sweep_spec(base: Scenario, overrides: Mapping[str, Any], source: str) -> SweepSpec:
    raw: dict[str, Any] = {}
    if base.spec.sweep is not None:
        raw = base.spec.sweep.model_dump(mode="python", exclude_unset=True)
        raw["parameters"] = dict(base.spec.sweep.parameters)
    params = {**raw.get("parameters", {}), **overrides.get("parameters", {})}
    raw.update({k: v for k, v in overrides.items() if k != "parameters"})
    if params:
        raw["parameters"] = params
    if overrides.get("maximize") is not None:
        raw.pop("minimize", None)
    if overrides.get("minimize") is not None:
        raw.pop("maximize", None)
    if "parameters" not in raw:
        raise ScenarioError(
            [Problem(source, "sweep", "no parameters to sweep: add a [sweep] table or --vary")]
        )
    try:
        return SweepSpec.model_validate(raw)
    except ValidationError as err:
        problems = problems_of(err, raw, source)
        raise ScenarioError(
            [
                Problem(p.source, f"sweep.{p.path}" if p.path else "sweep", p.message)
                for p in problems
            ]
        ) from None


def plan_sweep(
    path: Path | str | None = None,
    *,
    sets: Iterable[str] = (),
    members: int | None = None,
    days: int | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> SweepPlan:
    """Read a scenario and its sweep, make every point and validate it. ``overrides`` are
    command-line changes to the ``[sweep]`` table (``parameters`` are added to the table's).
    Raises :class:`ScenarioError` naming the file (or option) and path of every problem,
    before anything runs."""
    path = Path(path) if path is not None else DEFAULT_SCENARIO
    # every point is built from the files as parsed once, never read again
    common: dict[str, Any] = {
        "sets": tuple(sets),
        "members": members,
        "days": days,
        "sources": Sources(),
    }
    base = load_scenario(path, **common)
    overrides = dict(overrides or {})
    source = f"{path} with command-line options" if overrides else str(path)
    spec = _sweep_spec(base, overrides, source)

    problems: list[Problem] = []
    for param, value in spec.parameters.items():
        tried = [value.low, value.high] if isinstance(value, Range) else list(value)
        seen: set[str] = set()
        for v in tried:
            try:
                load_scenario(path, **common, values={param: v})
            except ScenarioError as err:
                for p in err.problems:
                    if p.message not in seen:
                        seen.add(p.message)
                        what = p.message if p.path in (param, "") else f"{p.path}: {p.message}"
                        shown = json.dumps(v, default=str)
                        problems.append(
                            Problem(source, f"sweep.parameters.{param}", f"value {shown}: {what}")
                        )
    _check_metrics(base, spec, source, problems)
    if problems:
        raise ScenarioError(problems)

    grid = [p for p, v in spec.parameters.items() if not isinstance(v, Range)]
    ranges = [p for p, v in spec.parameters.items() if isinstance(v, Range)]
    seed = zlib.crc32(f"{base.spec.seed}:{base.name}:sweep".encode())
    samples = _samples(spec, ranges, seed)
    grid_values = [list(v) for p, v in spec.parameters.items() if p in grid]
    points: list[Point] = []
    combos = itertools.product(itertools.product(*grid_values), samples)
    for number, (combo, sample) in enumerate(combos):
        fixed = dict(zip(grid, combo, strict=True))
        values = {p: fixed[p] if p in fixed else sample[p] for p in spec.parameters}
        label = _label(values)
        try:
            sc = load_scenario(path, **common, values=values)
        except ScenarioError as err:
            problems += [
                Problem(source, "sweep", f"point {number} ({label}): {p}") for p in err.problems
            ]
            continue
        points.append(Point(len(points), values, label, sc, scenario_key(sc)))
    if problems:
        raise ScenarioError(problems)
    params = tuple(
        ParamInfo(
            p,
            "range" if p in ranges else "grid",
            tuple(dict.fromkeys(pt.values[p] for pt in points)),
            all(
                isinstance(pt.values[p], int | float) and not isinstance(pt.values[p], bool)
                for pt in points
            ),
        )
        for p in spec.parameters
    )
    baseline = _baseline(spec, points, source)
    group = _group(base, spec, source)
    reps = spec.replications if spec.replications is not None else base.spec.replications
    return SweepPlan(str(path), spec, params, tuple(points), reps, baseline, group, base)


def _check_metrics(base: Scenario, spec: SweepSpec, source: str, problems: list[Problem]) -> None:
    known = metric_names(base)
    asked = [("maximize", spec.maximize), ("minimize", spec.minimize)]
    asked += [(f"frontier.{i}", m) for i, m in enumerate(spec.frontier)]
    asked += [
        (f"constraints.{i}", parse_constraint(c).metric) for i, c in enumerate(spec.constraints)
    ]
    for where, metric in asked:
        if metric is not None and metric not in known:
            problems.append(
                Problem(
                    source,
                    f"sweep.{where}",
                    f"{metric!r} is not a sweep metric (expected one of: {', '.join(known)})",
                )
            )


def _baseline(spec: SweepSpec, points: Sequence[Point], source: str) -> int:
    if not spec.baseline:
        return 0
    for pt in points:
        if all(pt.values[p] == v for p, v in spec.baseline.items()):
            return pt.index
    raise ScenarioError(
        [Problem(source, "sweep.baseline", f"no point has {_label(spec.baseline)}")]
    )


def _group(base: Scenario, spec: SweepSpec, source: str) -> str:
    groups = [a.group for a in base.arms]
    if spec.group is not None:
        if spec.group not in groups:
            raise ScenarioError(
                [Problem(source, "sweep.group", f"no group {spec.group!r} (groups: {groups})")]
            )
        return spec.group
    others = [g for g in groups if g != base.control]
    return others[0] if base.control is not None and others else groups[0]

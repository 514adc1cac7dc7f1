"""A sweep's analysis: per point the mean and 95% CI of every headline metric over
replications, ROI against the baseline point (paired by replication: common random numbers),
the trade-off frontier, a sensitivity ranking, and the best point under constraints.

Everything is computed from the run files alone (``OUT/runs/``), so an analysis can be made
again, or in a notebook, without running anything.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from sim.metrics.schema import EXPERIMENT, SUMMARY
from sim.metrics.summary import experiment_metrics, json_ready, t_interval
from sim.scenario.sweep_spec import Constraint, parse_constraint
from sim.sweep.plan import SweepPlan
from sim.sweep.result import FIGURE_METRICS, Best, Bound, SweepAnalysis
from sim.text import format_value

__all__ = [
    "VS_CONTROL",
    "analyse",
    "analysis_json",
    "best_point",
    "pareto_mask",
    "standardised_coefficients",
]

F64 = npt.NDArray[np.float64]
_RUN_COLUMNS = ("point", "replication", "group", "key", "status", "error", "seconds", "member_days")
_VS_BASELINE = ("incremental_gmv", "incremental_margin", "incremental_points_cost", "roi")
VS_CONTROL = "vs_control_"
"""Prefix of a treatment group's effect against the control within each point."""


def _units(tiers: Sequence[str]) -> dict[str, str]:
    units = {h.name: h.unit for h in (*SUMMARY, *EXPERIMENT)}
    units.update({f"{VS_CONTROL}{h.name}": h.unit for h in EXPERIMENT})
    units.update({f"tier_{t}_share": "share" for t in tiers})
    return units


def _with_control(runs: pd.DataFrame, metrics: list[str], group: str, control: str) -> pd.DataFrame:
    """``runs`` with, on ``group``'s successful runs, its effect against ``control`` in the
    same point and replication (the experiment's figures: ``vs_control_roi`` ...)."""
    names = [f"{VS_CONTROL}{h.name}" for h in EXPERIMENT]
    runs = runs.assign(**{name: np.nan for name in names})
    ok = runs[runs["status"] == "ok"]
    for point, part in ok.groupby("point"):
        per_rep = part.set_index(["replication", "group"])[[*metrics, "margin_rate"]]
        if not {group, control} <= set(part["group"]):
            continue
        diff = experiment_metrics(per_rep, group, control)
        rows = (runs["point"] == point) & (runs["group"] == group) & (runs["status"] == "ok")
        where = runs.loc[rows, "replication"]
        for h, name in zip(EXPERIMENT, names, strict=True):
            runs.loc[rows, name] = diff[h.name].reindex(where).to_numpy(dtype=float)
    return runs


def _with_baseline(ok: pd.DataFrame, metrics: list[str], baseline: int) -> pd.DataFrame:
    """``ok`` (one group's successful runs) with the point-minus-baseline figures of each run,
    paired by replication; NaN at the baseline itself and where the pair is missing."""
    per_rep = ok.set_index(["replication", "point"])[[*metrics, "margin_rate"]]
    per_rep.index = per_rep.index.set_names(["replication", "group"])
    out = ok.copy()
    for name in _VS_BASELINE:
        out[name] = np.nan
    points = per_rep.index.get_level_values("group").unique()
    if baseline not in points:
        return out
    for p in points:
        if p == baseline:
            continue
        diff = experiment_metrics(per_rep, p, baseline)
        rows = out["point"] == p
        where = out.loc[rows, "replication"]
        for name in _VS_BASELINE:
            out.loc[rows, name] = diff[name].reindex(where).to_numpy(dtype=float)
    return out


def pareto_mask(x: Sequence[float] | F64, y: Sequence[float] | F64) -> npt.NDArray[np.bool_]:
    """Points not dominated by another: none has lower-or-equal ``x`` and higher-or-equal ``y``
    with one of them strict. Points with a NaN are never on the frontier."""
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(xa) & np.isfinite(ya)
    out = np.zeros(len(xa), dtype=bool)
    idx = np.flatnonzero(ok)
    xs, ys = xa[idx], ya[idx]
    for k, i in enumerate(idx):
        better = (xs <= xs[k]) & (ys >= ys[k]) & ((xs < xs[k]) | (ys > ys[k]))
        out[i] = not better.any()
    return out


def standardised_coefficients(X: F64, y: F64) -> tuple[F64, float]:
    """Standardised regression coefficients of ``y`` on the columns of ``X`` (least squares
    with an intercept; coefficient x sd(x) / sd(y)) and the fit's R². Columns or a ``y``
    without spread give NaN."""
    n, k = X.shape
    src = np.full(k, np.nan)
    sy = float(np.std(y, ddof=1)) if n > 1 else 0.0
    sx = X.std(axis=0, ddof=1) if n > 1 else np.zeros(k)
    use = sx > 0
    if sy == 0 or not use.any() or n <= int(use.sum()) + 1:
        return src, math.nan
    A = np.column_stack([np.ones(n), X[:, use]])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    src[use] = coef[1:] * sx[use] / sy
    resid = y - A @ coef
    r2 = 1.0 - float(resid @ resid) / float(((y - y.mean()) ** 2).sum())
    return src, r2


def _sensitivity(runs: pd.DataFrame, plan: SweepPlan, metrics: Sequence[str]) -> pd.DataFrame:
    params = [p.path for p in plan.params if p.numeric]
    rows: list[dict[str, Any]] = []
    if not params or runs.empty:
        return pd.DataFrame(columns=["metric", "parameter", "src", "r2"])
    values = {pt.index: pt.values for pt in plan.points}
    X_all = np.array([[float(values[p][q]) for q in params] for p in runs["point"]], dtype=float)
    for metric in metrics:
        y = runs[metric].to_numpy(dtype=float)
        keep = np.isfinite(y)
        src, r2 = standardised_coefficients(X_all[keep], y[keep])
        rows += [
            {"metric": metric, "parameter": p, "src": float(s), "r2": r2}
            for p, s in zip(params, src, strict=True)
        ]
    return pd.DataFrame(rows, columns=["metric", "parameter", "src", "r2"])


def _summarise_points(runs: pd.DataFrame, plan: SweepPlan, metrics: list[str]) -> pd.DataFrame:
    rows = []
    for (point, group), part in runs.groupby(["point", "group"], sort=True):
        pt = plan.points[int(point)]
        ok = part[part["status"] == "ok"]
        row: dict[str, Any] = {"point": int(point), "label": pt.label, "group": group}
        row.update(pt.values)
        row["runs_ok"] = len(ok)
        row["runs_failed"] = int((part["status"] != "ok").sum())
        for m in metrics:
            st = t_interval(ok[m].to_numpy(dtype=float)) if m in ok else t_interval([])
            row[m] = st["mean"]
            row[f"{m}_ci_low"] = st["ci_low"]
            row[f"{m}_ci_high"] = st["ci_high"]
            row[f"{m}_n"] = st["n"]
        rows.append(row)
    frame = pd.DataFrame(rows)
    floats = {f"{m}{suffix}": float for m in metrics for suffix in ("", "_ci_low", "_ci_high")}
    return frame.astype(floats).copy()  # None -> NaN; one block


def _bounds(row: pd.Series, constraints: Sequence[Constraint]) -> tuple[Bound, ...]:
    out = []
    for c in constraints:
        mean, lo, hi = (row[f"{c.metric}{s}"] for s in ("", "_ci_low", "_ci_high"))
        finite = bool(np.isfinite(mean))
        out.append(
            Bound(
                str(c),
                c.metric,
                c.op,
                c.bound,
                float(mean) if finite else None,
                float(lo) if np.isfinite(lo) else None,
                float(hi) if np.isfinite(hi) else None,
                finite and c.holds(float(mean)),
                bool(np.isfinite(lo) and np.isfinite(hi) and lo <= c.bound <= hi),
            )
        )
    return tuple(out)


def _feasible(points: pd.DataFrame, constraints: Sequence[Constraint]) -> pd.Series:
    ok = pd.Series(True, index=points.index)
    for c in constraints:
        ok &= points[c.metric].map(lambda v, c=c: bool(np.isfinite(v)) and c.holds(float(v)))
    return ok


def _binding(
    points: pd.DataFrame, constraints: Sequence[Constraint], units: dict[str, str], currency: str
) -> str:
    """Which constraints bind, in words: how many points keep each on its own, and for one
    that none keeps, the point that comes closest."""
    parts = []
    for c in constraints:
        values = points[c.metric].astype(float)
        kept = int(_feasible(points, [c]).sum())
        if kept:
            parts.append(f"{c} holds at {kept} of {len(points)} point(s)")
            continue
        finite = values[np.isfinite(values)]
        if finite.empty:
            parts.append(f"{c} holds at no point (no value)")
            continue
        best = finite.idxmin() if c.op in ("<=", "<") else finite.idxmax()
        row = points.loc[best]
        parts.append(
            f"{c} holds at no point (closest: point {int(row['point'])}, {row['label']}, "
            f"{_fmt(float(row[c.metric]), units, c.metric, currency)})"
        )
    return "; ".join(parts)


def best_point(
    points: pd.DataFrame,
    objective: tuple[str, str],
    constraints: Sequence[Constraint],
    units: dict[str, str],
    currency: str = "",
) -> Best:
    """The point of ``points`` (one group's rows) with the highest (``max``) or lowest mean of
    the objective among those whose means keep every constraint, with warnings: a constraint
    whose CI straddles its bound, a runner-up inside the best point's CI, failed runs."""
    metric, direction = objective
    measured = points[np.isfinite(points[metric].astype(float))]
    feasible = measured[_feasible(measured, constraints)]
    subject = f" subject to {', '.join(map(str, constraints))}" if constraints else ""
    verb = "Most" if direction == "max" else "Least"
    if feasible.empty:
        text = (
            f"No point has a value of {metric} (see the runs' errors, or a horizon too short "
            "for the metric)"
            if measured.empty
            else f"No point keeps {', '.join(map(str, constraints))}: "
            + _binding(measured, constraints, units, currency)
        )
        text += "."
        return Best(None, "", metric, direction, None, None, None, (), None, (), text, text)
    order = feasible.sort_values(metric, ascending=direction == "min", kind="stable")
    row, runner = order.iloc[0], (order.iloc[1] if len(order) > 1 else None)
    bounds = _bounds(row, constraints)
    warnings = []
    for b in bounds:
        if b.straddles:
            warnings.append(
                f"the 95% CI of {b.metric} ({_fmt(b.ci_low, units, b.metric, currency)} to "
                f"{_fmt(b.ci_high, units, b.metric, currency)}) straddles the bound {b.text}: "
                "the point may not keep it; run more replications to be sure"
            )
    lo, hi = row[f"{metric}_ci_low"], row[f"{metric}_ci_high"]
    if runner is not None and np.isfinite(lo) and np.isfinite(hi) and lo <= runner[metric] <= hi:
        warnings.append(
            f"the runner-up, point {int(runner['point'])} ({runner['label']}), has "
            f"{metric} {_fmt(runner[metric], units, metric, currency)}, inside this point's "
            "95% CI: the two are not distinguishable"
        )
    if not np.isfinite(lo):
        warnings.append("one replication only: no confidence interval")
    if int(row["runs_failed"]):
        warnings.append(f"{int(row['runs_failed'])} run(s) of this point failed")
    ci = (
        f" (95% CI {_fmt(lo, units, metric, currency)} to {_fmt(hi, units, metric, currency)})"
        if np.isfinite(lo)
        else ""
    )
    kept = "; ".join(
        f"{b.metric} {_fmt(b.mean, units, b.metric, currency)}"
        for b in bounds
        if b.mean is not None
    )
    answer = (
        f"{verb} {metric}{subject}: point {int(row['point'])} ({row['label']}), {metric} "
        f"{_fmt(row[metric], units, metric, currency)}{ci}" + (f"; {kept}" if kept else "") + "."
    )
    text = answer + "".join(f" Warning: {w}." for w in warnings)
    return Best(
        int(row["point"]),
        str(row["label"]),
        metric,
        direction,
        float(row[metric]),
        float(lo) if np.isfinite(lo) else None,
        float(hi) if np.isfinite(hi) else None,
        bounds,
        int(runner["point"]) if runner is not None else None,
        tuple(warnings),
        answer,
        text,
    )


def _fmt(value: Any, units: dict[str, str], metric: str, currency: str) -> str:
    v = None if value is None or not np.isfinite(value) else float(value)
    return format_value(v, units.get(metric, ""), currency)


def analyse(
    plan: SweepPlan,
    runs: pd.DataFrame,
    *,
    objective: tuple[str, str] | None = None,
    constraints: Sequence[str] | None = None,
) -> SweepAnalysis:
    """The analysis of the planned runs' rows (:meth:`RunStore.read`). ``objective`` and
    ``constraints`` default to the sweep's own."""
    base = plan.base
    tiers = tuple(base.arms[0].policy.tiers)
    units = _units(tiers)
    metrics = [h.name for h in SUMMARY] + [f"tier_{t}_share" for t in tiers]
    texts = list(constraints) if constraints is not None else list(plan.spec.constraints)
    parsed = [parse_constraint(c) for c in texts]
    objective = objective if objective is not None else plan.spec.objective
    if runs.empty:
        raise ValueError("no finished runs to analyse")
    missing = [m for m in [*metrics, "margin_rate"] if m not in runs.columns]
    runs = runs.assign(**{m: np.nan for m in missing})  # every run failed: no metric columns
    parts = []
    for _group, part in runs.groupby("group", sort=False):
        ok = part[part["status"] == "ok"]
        failed = part[part["status"] != "ok"]
        parts += [_with_baseline(ok, metrics, plan.baseline) if len(ok) else ok, failed]
    runs = pd.concat(parts, ignore_index=True).sort_values(["point", "replication", "group"])
    runs = runs.reset_index(drop=True)
    all_metrics = metrics + list(_VS_BASELINE)
    control = base.control
    if control is not None and plan.group != control:
        runs = _with_control(runs, metrics, plan.group, control)
        all_metrics += [f"{VS_CONTROL}{h.name}" for h in EXPERIMENT]
    points = _summarise_points(runs, plan, all_metrics)
    points["feasible"] = _feasible(points, parsed)
    points["pareto"] = False
    mine = points["group"] == plan.group
    x, y = plan.spec.frontier
    points.loc[mine, "pareto"] = pareto_mask(points.loc[mine, x], points.loc[mine, y])
    analysed = runs[(runs["group"] == plan.group) & (runs["status"] == "ok")]
    currency = base.arms[0].policy.program.currency
    analysis = SweepAnalysis(
        scenario=plan.name,
        title=base.spec.title or plan.name,
        currency=currency,
        group=plan.group,
        groups=tuple(a.group for a in base.arms),
        params=plan.params,
        replications=plan.replications,
        baseline=plan.baseline,
        points=points,
        runs=runs,
        sensitivity=_sensitivity(analysed, plan, FIGURE_METRICS),
        frontier=(x, y),
        bands=base.bands(),
        constraints=tuple(texts),
        best=None,
        units=units,
    )
    if objective is not None:
        best = best_point(analysis.group_points(), objective, parsed, units, currency)
        analysis = dataclasses.replace(analysis, best=best)
    return analysis


def analysis_json(analysis: SweepAnalysis, plan: SweepPlan) -> dict[str, Any]:
    """``sweep.json``: the plan, the runs' outcome, the best point, the frontier, the
    sensitivity ranking (NaN as null)."""
    runs = analysis.runs
    failed = runs[runs["status"] != "ok"].drop_duplicates(["point", "replication"])
    mine = analysis.group_points()
    x, y = analysis.frontier
    out: dict[str, Any] = json_ready(
        {
            "scenario": analysis.scenario,
            "title": analysis.title,
            "group": analysis.group,
            "replications": analysis.replications,
            "baseline": {"point": analysis.baseline, "label": plan.points[analysis.baseline].label},
            "parameters": [dataclasses.asdict(p) for p in analysis.params],
            "points": [
                {"point": p.index, "label": p.label, "values": p.values, "key": p.key}
                for p in plan.points
            ],
            "runs": {
                "planned": len(plan.points) * plan.replications,
                "ok": int(
                    runs.loc[runs["status"] == "ok"]
                    .drop_duplicates(["point", "replication"])
                    .shape[0]
                ),
                "failed": len(failed),
                "failures": [
                    {
                        "point": int(r.point),
                        "replication": int(r.replication),
                        "error": str(r.error).strip().splitlines()[-1] if r.error else "",
                    }
                    for r in failed.itertuples()
                ],
            },
            "constraints": list(analysis.constraints),
            "best": None if analysis.best is None else dataclasses.asdict(analysis.best),
            "frontier": {
                "x": x,
                "y": y,
                "points": [int(p) for p in mine.loc[mine["pareto"], "point"]],
            },
            "sensitivity": analysis.sensitivity.to_dict(orient="records"),
        }
    )
    return out

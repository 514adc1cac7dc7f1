"""The sweep's single-file HTML report, ``sweep.html``: the answer, a table of every point,
figures of the metrics against the parameters, the trade-off and what matters most.

Rendered from the template ``sweep.html`` of :mod:`sim.report.html` (on the ``base.html`` it
shares with the run report); this module only turns the analysis into plain rows of text for
it, and the template escapes every value. Like the run report everything is inline (CSS,
figures as base64 PNG); the file is written atomically.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

import sim
from sim.files import write_text_atomic
from sim.health import judge
from sim.report.figures import Chart
from sim.report.html import Cell, generated_text, render_page
from sim.sweep.display import flags, metric_title, param_text, short_value
from sim.sweep.figures import build_sweep_charts
from sim.sweep.result import SweepAnalysis
from sim.text import band_text, format_value, label

__all__ = ["MAX_ROWS", "render_sweep_report", "write_sweep_report"]

MAX_ROWS = 60
"""The points table shows at most this many points."""


# --- the page's data --------------------------------------------------------------------------


@dataclass(frozen=True)
class Failed:
    """Runs that failed: how many of how many, and where."""

    count: int
    total: int
    where: str


@dataclass(frozen=True)
class Head:
    """A metric's column head: its name and healthy band (``""``: none)."""

    name: str
    band: str


@dataclass(frozen=True)
class PointRow:
    point: int
    label: str
    tags: tuple[str, ...]
    params: tuple[str, ...]
    cells: tuple[Cell, ...]
    feasible: str
    """``yes``, ``no``, or ``–`` without constraints."""
    pareto: bool
    best: bool


@dataclass(frozen=True)
class PointsTable:
    intro: str
    truncated: str
    """Which points are shown when not all are (``""``: all are)."""
    params: tuple[tuple[str, ...], ...]
    """Each parameter's path, cut at its dots (the page may break the line there)."""
    metrics: tuple[Head, ...]
    rows: tuple[PointRow, ...]


def _num(value: Any) -> float | None:
    """A cell's value as a finite float, or None."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _no_objective(a: SweepAnalysis, n_points: int) -> str:
    runs = n_points * a.replications
    return (
        f"{n_points:,} point(s) × {a.replications:,} replication(s) ran ({runs:,} runs per "
        "group). No objective was given, so no point is picked: to get one, pass "
        "--maximize METRIC --subject-to 'cost_ratio<=0.03'."
    )


def _params_text(a: SweepAnalysis) -> str:
    items = []
    for p in a.params:
        if p.kind == "range" and p.numeric and p.values:
            nums = [float(v) for v in p.values]
            where = f"sampled from {param_text(min(nums))} to {param_text(max(nums))}"
        else:
            where = ", ".join(param_text(v) for v in p.values)
        items.append(f"{p.path} ({where})")
    return "; ".join(items)


def _meta(a: SweepAnalysis, gp: pd.DataFrame) -> list[str]:
    labels = gp.loc[gp["point"] == a.baseline, "label"]
    base = f"point {a.baseline}" + (f" ({labels.iloc[0]})" if len(labels) else "")
    lines = [
        f"{len(gp):,} point(s) · {a.replications:,} replication(s) each · analysed group "
        f"{a.group} · baseline {base} · money in {a.currency}",
        f"Parameters swept: {_params_text(a)}",
    ]
    if a.constraints:
        lines.append(f"Constraints: {'; '.join(a.constraints)}")
    return lines


def _failed(a: SweepAnalysis) -> Failed | None:
    failed = _counts(a.points, "runs_failed")
    total = int(failed.sum())
    if not total:
        return None
    ok = int(_counts(a.points, "runs_ok").sum())
    bad = a.points[failed > 0]
    where = ", ".join(
        f"{int(n)} at point {p} ({g})"
        for p, g, n in zip(bad["point"], bad["group"], failed[failed > 0], strict=True)
    )
    return Failed(total, ok + total, where)


def _metric_cell(a: SweepAnalysis, row: pd.Series, metric: str) -> Cell:
    unit = a.units.get(metric, "")
    mean = _num(row.get(metric))
    lo, hi = _num(row.get(f"{metric}_ci_low")), _num(row.get(f"{metric}_ci_high"))
    value = format_value(mean, unit)  # the currency is in the column's head
    ci = ""
    if lo is not None and hi is not None:
        ci = f"{_ci_bound(lo, unit)} to {_ci_bound(hi, unit)}"

    cls, title = "", ""
    band = a.bands.get(metric)
    verdict = judge(mean, lo, hi, band)
    if verdict is not None and band is not None and band != (None, None):
        text = band_text(band, unit, a.currency)
        cls = {"inside": "ok", "straddling": "edge", "outside": "out"}[verdict.status]
        title = f"{verdict.text()}: {text}"
    return Cell(value=value, ci=ci, cls=cls, title=title)


def _ci_bound(value: float, unit: str) -> str:
    """An interval's end: big numbers short (``1.34M``) so that the column stays narrow."""
    if unit not in ("share", "ratio") and abs(value) >= 1e5:
        return short_value(value, unit)
    return format_value(value, unit)


def _counts(frame: pd.DataFrame, column: str) -> pd.Series:
    """A count column as numbers, 0 where missing."""
    if column not in frame:
        return pd.Series(0.0, index=frame.index)
    return pd.to_numeric(frame[column], errors="coerce").fillna(0.0)


def _objective(a: SweepAnalysis) -> tuple[str, str] | None:
    if a.best is None or a.best.metric not in a.points.columns:
        return None
    return a.best.metric, a.best.direction


def _rows_shown(a: SweepAnalysis, gp: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The points the table shows, and a note when that is not all of them."""
    if len(gp) <= MAX_ROWS:
        return gp, ""
    objective = _objective(a)
    if objective is None:
        ranked = gp.sort_values("point")
        why = "the first"
    else:
        metric, direction = objective
        ranked = gp.assign(_f=flags(gp, "feasible"), _v=gp[metric].astype(float)).sort_values(
            ["_f", "_v"], ascending=[False, direction == "min"], na_position="last"
        )
        word = "highest" if direction == "max" else "lowest"
        why = f"those meeting the constraints first, then the {word} {label(metric).lower()};"
    must = [p for p in (a.best.point if a.best else None, a.baseline) if p is not None]
    keep = list(dict.fromkeys([*[p for p in ranked["point"] if p in must], *ranked["point"]]))
    chosen = set(keep[:MAX_ROWS])
    shown = ranked[ranked["point"].isin(chosen)].drop(columns=["_f", "_v"], errors="ignore")
    note = (
        f"Showing {len(shown)} of {len(gp):,} points: {why} in that order"
        + (" (plus the best and baseline points)" if must else "")
        + ". sweep.json has them all."
    )
    return shown, note


def _head(a: SweepAnalysis, metric: str) -> Head:
    band = a.bands.get(metric)
    text = ""
    if band is not None and (band[0] is not None or band[1] is not None):
        text = band_text(band, a.units.get(metric, ""), a.currency)
    return Head(metric_title(a, metric), text)


def _points_table(a: SweepAnalysis, gp: pd.DataFrame) -> PointsTable:
    shown, note = _rows_shown(a, gp)
    metrics = a.table_metrics()
    best = a.best.point if a.best is not None else None
    feasible, pareto = flags(shown, "feasible"), flags(shown, "pareto")
    rows = []
    for k, (_, row) in enumerate(shown.iterrows()):
        point = int(row["point"])
        tags = [t for t, on in (("★ best", point == best), ("baseline", point == a.baseline)) if on]
        rows.append(
            PointRow(
                point=point,
                label=str(row.get("label", "")),
                tags=tuple(tags),
                params=tuple(param_text(row[p.path]) for p in a.params),
                cells=tuple(_metric_cell(a, row, m) for m in metrics),
                feasible=("yes" if feasible[k] else "no") if a.constraints else "–",
                pareto=bool(pareto[k]),
                best=point == best,
            )
        )
    intro = (
        "Mean over replications, with its 95% confidence interval beneath. Green: inside the "
        "healthy band; amber: the interval reaches across the band's edge; red: outside, "
        "with its whole interval. "
        "Pareto: no other point is both cheaper and better on the trade-off figure below. "
        "– : not defined (ROI at the baseline point itself, or no interval from one "
        "replication)."
    )
    if not a.constraints:
        intro += " No constraints were given."
    return PointsTable(
        intro=intro,
        truncated=note,
        params=tuple(tuple(p.path.split(".")) for p in a.params),
        metrics=tuple(_head(a, m) for m in metrics),
        rows=tuple(rows),
    )


# --- the document -----------------------------------------------------------------------------


def render_sweep_report(analysis: SweepAnalysis, charts: Sequence[Chart] | None = None) -> str:
    """The report as one HTML document (``charts``: drawn here unless given)."""
    a = analysis
    if charts is None:
        charts = build_sweep_charts(a)
    gp = a.group_points()
    return render_page(
        "sweep.html",
        {
            "title": a.title,
            "scenario": a.scenario,
            "best": a.best,
            "no_objective": _no_objective(a, len(gp)),
            "meta": _meta(a, gp),
            "failed": _failed(a),
            "table": _points_table(a, gp),
            "charts": charts,
            "n_points": len(gp),
            "replications": a.replications,
            "generated": generated_text(),
            "version": sim.__version__,
        },
    )


def write_sweep_report(analysis: SweepAnalysis, path: Path) -> None:
    """Draw the figures and write the report to ``path``: complete, or not there at all."""
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path.parent}: no such directory for the sweep report")
    write_text_atomic(path, render_sweep_report(analysis))

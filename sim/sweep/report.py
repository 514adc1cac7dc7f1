"""The sweep's single-file HTML report, ``sweep.html``: the answer, a table of every point,
figures of the metrics against the parameters, the trade-off and what matters most.

Like the run report (:mod:`sim.report.html`) everything is inline (CSS, figures as base64 PNG)
and every piece of run text is escaped; the file is written atomically.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

import sim
from sim.files import write_text_atomic
from sim.metrics.summary import format_value
from sim.report.figures import Chart
from sim.report.html import CSS, _band_text, _label, figures_html
from sim.sweep.display import flags, param_text, short_value
from sim.sweep.figures import build_sweep_charts
from sim.sweep.result import SweepAnalysis

__all__ = ["MAX_ROWS", "render_sweep_report", "write_sweep_report"]

MAX_ROWS = 60
"""The points table shows at most this many points."""

SWEEP_CSS = """
.scroll{overflow-x:auto;margin-top:8px}
table.points{font-size:12px;margin-top:0}
table.points th{font-size:11px;line-height:1.3;padding:6px 5px;vertical-align:bottom}
table.points td{padding:5px}
table.points th .ci{font-weight:400}
tr.best td{box-shadow:inset 0 2px 0 #e08a00,inset 0 -2px 0 #e08a00}
tr.best td:first-child{box-shadow:inset 2px 2px 0 #e08a00,inset 0 -2px 0 #e08a00}
tr.best td.pt{background:#fff3d6}
td.pt .tag{color:#8a6200}td.no{color:#a3281b;font-weight:600}
ul.warn{background:#fcefc7;border-left:4px solid #e08a00;padding:8px 12px 8px 30px;
 margin:8px 0;font-size:14px;color:#5c4100}
p.fail{background:#f8d5d0;border-left:4px solid #a3281b;padding:8px 12px;color:#7a1d12;
 font-size:14px}
"""


# --- pieces -----------------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    """A cell's value as a finite float, or None."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _headline(a: SweepAnalysis, n_points: int) -> str:
    if a.best is not None:
        parts = [f'<h1 id="headline">{escape(a.best.answer)}</h1>']
        if a.best.warnings:
            items = "".join(f"<li>{escape(w)}</li>" for w in a.best.warnings)
            parts.append(f'<ul class="warn" id="warnings">{items}</ul>')
        return "\n".join(parts)
    runs = n_points * a.replications
    text = (
        f"{n_points:,} point(s) × {a.replications:,} replication(s) ran ({runs:,} runs per "
        "group). No objective was given, so no point is picked: to get one, pass "
        "--maximize METRIC --subject-to 'cost_ratio<=0.03'."
    )
    return f'<h1 id="headline">{escape(text)}</h1>'


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


def _meta(a: SweepAnalysis, gp: pd.DataFrame) -> str:
    labels = gp.loc[gp["point"] == a.baseline, "label"]
    base = f"point {a.baseline}" + (f" ({labels.iloc[0]})" if len(labels) else "")
    lines = [
        f"{len(gp):,} point(s) · {a.replications:,} replication(s) each · analysed group "
        f"{a.group} · baseline {base} · money in {a.currency}",
        f"Parameters swept: {_params_text(a)}",
    ]
    if a.constraints:
        lines.append(f"Constraints: {'; '.join(a.constraints)}")
    parts = [f'<p class="meta">{escape(line)}</p>' for line in lines]
    failed = _counts(a.points, "runs_failed")
    total = int(failed.sum())
    if total:
        ok = int(_counts(a.points, "runs_ok").sum())
        bad = a.points[failed > 0]
        where = ", ".join(
            f"{int(n)} at point {p} ({g})"
            for p, g, n in zip(bad["point"], bad["group"], failed[failed > 0], strict=True)
        )
        parts.append(
            f'<p class="fail" id="failed">{total:,} of {ok + total:,} runs failed '
            f"({escape(where)}). Those points' means are over the runs that finished; "
            "sweep.json has the errors.</p>"
        )
    return "\n".join(parts)


def _metric_cell(a: SweepAnalysis, row: pd.Series, metric: str) -> str:
    unit = a.units.get(metric, "")
    mean = _num(row.get(metric))
    lo, hi = _num(row.get(f"{metric}_ci_low")), _num(row.get(f"{metric}_ci_high"))
    value = escape(format_value(mean, unit))  # the currency is in the column's head
    ci = ""
    if lo is not None and hi is not None:
        interval = f"{_ci_bound(lo, unit)} to {_ci_bound(hi, unit)}"
        ci = f'<span class="ci">{escape(interval)}</span>'

    cls, title = "", ""
    band = a.bands.get(metric)
    if mean is not None and band is not None and (band[0] is not None or band[1] is not None):
        low, high = band
        text = _band_text(band, unit, a.currency)
        if (low is not None and mean < low) or (high is not None and mean > high):
            cls, title = "out", f"outside the healthy band {text}"
        elif (low is not None and lo is not None and lo < low) or (
            high is not None and hi is not None and hi > high
        ):
            cls, title = "edge", f"inside the healthy band {text}, but the interval reaches out"
        else:
            cls, title = "ok", f"inside the healthy band {text}"
    attr = f' title="{escape(title)}"' if title else ""
    return f'<td class="num {cls}"{attr}><span class="v">{value}</span>{ci}</td>'


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
        why = f"those meeting the constraints first, then the {word} {_label(metric).lower()};"
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


def _points_table(a: SweepAnalysis) -> str:
    gp = a.group_points()
    shown, note = _rows_shown(a, gp)
    metrics = a.table_metrics()
    best = a.best.point if a.best is not None else None
    head = ["<th>Point</th>"]
    head += [f"<th>{escape(p.path).replace('.', '.<wbr>')}</th>" for p in a.params]
    for m in metrics:
        band = a.bands.get(m)
        unit = a.units.get(m, "")
        sub = ""
        if band is not None and (band[0] is not None or band[1] is not None):
            sub = f'<span class="ci">healthy {escape(_band_text(band, unit, a.currency))}</span>'
        name = _label(m) + (f" ({a.currency})" if unit == "currency" else "")
        head.append(f"<th>{escape(name)}{sub}</th>")
    head += ["<th>Meets constraints</th>", "<th>Pareto</th>"]
    rows = ["<tr>" + "".join(head) + "</tr>"]
    feasible, pareto = flags(shown, "feasible"), flags(shown, "pareto")
    for k, (_, row) in enumerate(shown.iterrows()):
        point = int(row["point"])
        tags = []
        if point == best:
            tags.append("★ best")
        if point == a.baseline:
            tags.append("baseline")
        tag = "".join(f'<span class="tag">{escape(t)}</span>' for t in tags)
        label = escape(str(row.get("label", "")))
        cells = [f'<td class="pt" title="{label}"><b>{point}</b>{tag}</td>']
        cells += [f'<td class="num">{escape(param_text(row[p.path]))}</td>' for p in a.params]
        cells += [_metric_cell(a, row, m) for m in metrics]
        if not a.constraints:
            cells.append("<td>–</td>")
        elif feasible[k]:
            cells.append("<td>yes</td>")
        else:
            cells.append('<td class="no">no</td>')
        cells.append("<td>yes</td>" if pareto[k] else "<td></td>")
        cls = ' class="best"' if point == best else ""
        rows.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    intro = (
        "Mean over replications, with its 95% confidence interval beneath. Green: inside the "
        "healthy band; amber: inside, but the interval reaches past the edge; red: outside. "
        "Pareto: no other point is both cheaper and better on the trade-off figure below. "
        "– : not defined (ROI at the baseline point itself, or no interval from one "
        "replication)."
    )
    if not a.constraints:
        intro += " No constraints were given."
    parts = [f'<p class="note">{escape(intro)}</p>']
    if note:
        parts.append(f'<p class="note" id="truncated">{escape(note)}</p>')
    table = '<table class="points">\n' + "\n".join(rows) + "\n</table>"
    parts.append(f'<div class="scroll">{table}</div>')
    return "\n".join(parts)


# --- the document -----------------------------------------------------------------------------


def render_sweep_report(analysis: SweepAnalysis, charts: Sequence[Chart] | None = None) -> str:
    """The report as one HTML document (``charts``: drawn here unless given)."""
    a = analysis
    if charts is None:
        charts = build_sweep_charts(a)
    gp = a.group_points()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(a.title)} – pointsim sweep</title>",
        f"<style>{CSS}{SWEEP_CSS}</style></head><body><main>",
        f'<p class="eyebrow">{escape(a.title)} · sweep of scenario {escape(a.scenario)}</p>',
        _headline(a, len(gp)),
        _meta(a, gp),
        "<h2>Every point</h2>",
        _points_table(a),
    ]
    if charts:
        parts += ["<h2>Charts</h2>", figures_html(charts)]
    parts += [
        f"<footer><p>Scenario <b>{escape(a.scenario)}</b>; {len(gp):,} point(s) × "
        f"{a.replications:,} replication(s). Generated {escape(now)} by pointsim "
        f"{escape(sim.__version__)}.</p></footer>",
        "</main></body></html>",
        "",
    ]
    return "\n".join(parts)


def write_sweep_report(analysis: SweepAnalysis, path: Path) -> None:
    """Draw the figures and write the report to ``path``: complete, or not there at all."""
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path.parent}: no such directory for the sweep report")
    write_text_atomic(path, render_sweep_report(analysis))

"""The sweep report's figures, each from a :class:`~sim.sweep.result.SweepAnalysis` alone.

Every builder returns a :class:`~matplotlib.figure.Figure` (Agg canvas, no pyplot) or ``None``
when the sweep has nothing to show for it; :func:`build_sweep_charts` draws them all and returns
PNG bytes with a title and a "how to read this".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import Formatter, FuncFormatter, LogLocator, NullLocator

from sim.metrics.summary import format_value
from sim.report.figures import Chart
from sim.report.html import _band_text, _label
from sim.report.plotting import PALETTE, new_figure, png_bytes, y_format
from sim.sweep.result import FIGURE_METRICS, ParamInfo, SweepAnalysis
from sim.sweep.spec import parse_constraint

__all__ = ["HEATMAP_METRICS", "build_sweep_charts", "flags", "param_text", "short_value"]

WIDTH = 11.0
COLS = 5
MAX_LINES = 6
"""At most this many lines per panel (one per combination of the other parameters)."""
MAX_PAIRS = 10
HEATMAP_METRICS = ("cost_ratio", "retention_365", "gmv", "roi")
BAND_COLOUR = "#2e9e5b"
GREY = "#9aa3b2"
POSITIVE, NEGATIVE = PALETTE[0], PALETTE[1]


# --- formatting -------------------------------------------------------------------------------


def param_text(value: Any) -> str:
    """A parameter value for people: ``0.005``, ``1,000``, ``true``."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, Integral):
        return f"{int(value):,}"
    if isinstance(value, Real):
        v = float(value)
        if not math.isfinite(v):
            return "–"
        if abs(v) >= 1e4:
            return f"{v:,.0f}"
        return f"{v:.4g}"
    return str(value)


def short_value(value: float, unit: str) -> str:
    """A number short enough for a heatmap cell, three digits: ``2.1%``, ``1.20M``, ``35.0k``,
    ``1.23``."""
    if not math.isfinite(value):
        return "–"
    if unit == "share":
        pct = value * 100
        return f"{pct:.1f}%" if abs(pct) >= 1 else f"{pct:.2f}%"
    if unit == "ratio":
        return f"{value:.2f}"
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            v = value / size
            return f"{v:.{max(0, 2 - math.floor(math.log10(abs(v))))}f}{suffix}"
    return f"{value:.3g}"


class _Ticks(Formatter):
    """Tick labels with as few decimals as the tick spacing needs: ``2.25%`` but ``2%``;
    big numbers short (``1.5M``)."""

    def __init__(self, unit: str) -> None:
        self.unit = unit
        self.ticks: list[float] = []

    def set_locs(self, locs: Sequence[float]) -> None:
        self.ticks = [float(v) for v in locs]

    def __call__(self, x: float, pos: int | None = None) -> str:
        locs = [v for v in self.ticks if math.isfinite(v)]
        top = max((abs(v) for v in locs), default=abs(x))
        scale, suffix = (100.0, "%") if self.unit == "share" else (1.0, "")
        for threshold, size, letter in ((1e9, 1e9, "B"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
            if self.unit != "share" and top >= threshold:
                scale, suffix = 1 / size, letter
                break
        scaled = sorted(v * scale for v in locs)
        step = float(min(np.diff(scaled))) if len(scaled) > 1 else 1.0
        digits = next((d for d in range(4) if abs(round(step, d) - step) < 1e-6 * step), 4)
        return f"{x * scale:,.{digits}f}{suffix}"


def _axis_format(ax: Axes, unit: str, axis: str) -> None:
    """Share as %, other numbers short (``1.2M``) on the x or y axis."""
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(_Ticks(unit))


def _metric_title(a: SweepAnalysis, metric: str) -> str:
    unit = a.units.get(metric, "")
    return f"{_label(metric)} ({a.currency})" if unit == "currency" else _label(metric)


# --- data helpers -----------------------------------------------------------------------------


def _frame(a: SweepAnalysis) -> pd.DataFrame:
    """The analysed group's points with non-numeric parameters as display strings (hashable,
    sortable) and numeric ones as floats."""
    frame = a.group_points()
    for p in a.params:
        if p.numeric:
            frame[p.path] = pd.to_numeric(frame[p.path], errors="coerce").astype(float)
        else:
            frame[p.path] = frame[p.path].map(param_text)
    return frame


def _positions(p: ParamInfo, column: pd.Series) -> pd.Series:
    """Where the values go on an axis: the number itself, or the index of a category."""
    if p.numeric:
        return column.astype(float)
    order = {param_text(v): i for i, v in enumerate(p.values)}
    return column.map(lambda v: order.get(v, len(order))).astype(float)


def _log_axis(p: ParamInfo, column: pd.Series) -> bool:
    values = column.dropna().astype(float) if p.numeric else pd.Series(dtype=float)
    return bool(p.numeric and len(values) and values.min() > 0 and values.max() / values.min() > 20)


def _param_axis(ax: Axes, p: ParamInfo, column: pd.Series, axis: str = "x") -> None:
    """A parameter's axis: log when it spans > 20x, its own values as ticks for a grid."""
    target = ax.xaxis if axis == "x" else ax.yaxis
    if _log_axis(p, column):
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
        target.set_minor_locator(NullLocator())
        if p.kind == "range":
            target.set_major_locator(LogLocator(base=10, subs=(1.0, 3.0)))
    if p.kind == "grid" or not p.numeric:
        ticks = sorted(set(_positions(p, column.dropna())))
        labels = (
            [param_text(t) for t in ticks]
            if p.numeric
            else [param_text(p.values[int(t)]) for t in ticks]
        )
        (ax.set_xticks if axis == "x" else ax.set_yticks)(ticks, labels)
    elif p.numeric:
        target.set_major_formatter(FuncFormatter(lambda v, _pos: param_text(v)))


def _combos(frame: pd.DataFrame, others: Sequence[str]) -> list[tuple[str, pd.DataFrame]]:
    """The points split by the values of ``others``: (legend label, rows)."""
    if not others:
        return [("", frame)]
    out = []
    for key, rows in frame.groupby(list(others), sort=True, dropna=False):
        keys = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{o}={param_text(k)}" for o, k in zip(others, keys, strict=True))
        out.append((label, rows))
    return out


def _mean_over_others(rows: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per x value: the mean over the other parameters' points, with a 95% interval from the
    points' own intervals (half-width sqrt(sum h_i^2) / k; NaN when any point has none)."""
    half = (rows[f"{metric}_ci_high"] - rows[f"{metric}_ci_low"]) / 2
    data = pd.DataFrame({"x": rows["_x"], "mean": rows[metric], "h2": half**2})
    g = data.groupby("x", sort=True)
    mean = g["mean"].mean()
    k = g["mean"].count()
    h = np.sqrt(g["h2"].sum(min_count=1)) / k
    h[g["h2"].apply(lambda s: s.isna().any())] = np.nan
    return pd.DataFrame({"mean": mean, "low": mean - h, "high": mean + h})


def _band(ax: Axes, band: tuple[float | None, float | None] | None, text: str) -> None:
    """The healthy band as a light green horizontal span. A finite edge close to the data
    widens the view to show it; a band wholly out of view is named at the panel's edge."""
    if band is None or (band[0] is None and band[1] is None):
        return
    low, high = band
    y0, y1 = ax.get_ylim()
    span = (y1 - y0) or 1.0
    for edge in (low, high):
        if edge is not None and y0 - span <= edge <= y1 + span:
            y0, y1 = min(y0, edge - 0.04 * span), max(y1, edge + 0.04 * span)
    lo = y0 if low is None else max(low, y0)
    hi = y1 if high is None else min(high, y1)
    if lo < hi:
        ax.axhspan(lo, hi, color=BAND_COLOUR, alpha=0.12, lw=0, zorder=0)
    else:
        above = low is not None and low > y1
        ax.text(
            0.98,
            0.97 if above else 0.03,
            f"healthy {text} {'↑' if above else '↓'}",
            transform=ax.transAxes,
            ha="right",
            va="top" if above else "bottom",
            fontsize=7,
            color=BAND_COLOUR,
        )
    ax.set_ylim(y0, y1)


def _panels(n: int, height: float) -> tuple[Figure, list[Axes]]:
    rows = max(1, math.ceil(n / COLS))
    fig = new_figure(WIDTH, 0.5 + height * rows)
    grid = fig.subplots(rows, COLS, squeeze=False)
    axes = list(grid.ravel())
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


# --- builders ---------------------------------------------------------------------------------


def parameter_figure(a: SweepAnalysis, p: ParamInfo) -> Figure | None:
    """Every headline metric against one parameter, one panel each."""
    frame = _frame(a)
    metrics = [m for m in FIGURE_METRICS if m in frame.columns]
    if frame.empty or not metrics:
        return None
    frame["_x"] = _positions(p, frame[p.path])
    others = [q.path for q in a.params if q.path != p.path]
    if p.kind == "range":
        grid_others = [q.path for q in a.params if q.path != p.path and q.kind == "grid"]
        split = _combos(frame, grid_others)
        series = split if len(split) <= MAX_LINES else [("", frame)]
    else:
        split = _combos(frame, others)
        series = split if len(split) <= MAX_LINES else [("mean over the others", frame)]
    averaged = p.kind == "grid" and len(split) > MAX_LINES
    fig, axes = _panels(len(metrics), 2.5)
    for ax, metric in zip(axes, metrics, strict=True):
        unit = a.units.get(metric, "")
        for i, (_label_text, rows) in enumerate(series):
            colour = PALETTE[i % len(PALETTE)]
            if p.kind == "range":
                r = rows.sort_values("_x")
                mean = r[metric].to_numpy(dtype=float)
                err = np.vstack(
                    [
                        mean - r[f"{metric}_ci_low"].to_numpy(float),
                        r[f"{metric}_ci_high"].to_numpy(float) - mean,
                    ]
                )
                ax.errorbar(
                    r["_x"],
                    mean,
                    yerr=np.nan_to_num(err),
                    fmt="o",
                    ms=3.5,
                    color=colour,
                    ecolor=colour,
                    elinewidth=0.9,
                    capsize=0,
                    alpha=0.85,
                )
                continue
            if averaged:
                band = _mean_over_others(rows, metric)
            else:
                r = rows.sort_values("_x").set_index("_x")
                band = pd.DataFrame(
                    {
                        "mean": r[metric],
                        "low": r[f"{metric}_ci_low"],
                        "high": r[f"{metric}_ci_high"],
                    }
                ).astype(float)
            ax.plot(band.index, band["mean"], color=colour, lw=1.6, marker="o", ms=3)
            if band["low"].notna().any():
                ax.fill_between(
                    band.index, band["low"], band["high"], color=colour, alpha=0.18, lw=0
                )
        ax.set_title(_metric_title(a, metric), fontsize=9)
        ax.tick_params(labelsize=7)
        y_format(ax, "share" if unit == "share" else "number")
        _axis_format(ax, unit, "y")
        _band(ax, a.bands.get(metric), _band_text(a.bands.get(metric), unit, a.currency))
        _param_axis(ax, p, frame[p.path])
        if frame[metric].isna().all():
            ax.text(0.5, 0.5, "not defined", transform=ax.transAxes, ha="center", color=GREY)
    for ax in axes[-COLS:]:
        ax.set_xlabel(p.path, fontsize=8)
    labelled = [(lab, PALETTE[i % len(PALETTE)]) for i, (lab, _) in enumerate(series) if lab]
    handles: list[Any] = [Line2D([], [], color=c, marker="o", ms=4) for _, c in labelled]
    labels = [lab for lab, _ in labelled]
    if any(a.bands.get(m) for m in metrics):
        handles.append(Patch(color=BAND_COLOUR, alpha=0.2))
        labels.append("healthy band")
    if handles:
        fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=min(len(labels), 4),
            frameon=False,
            fontsize=8,
        )
    return fig


def pair_figure(a: SweepAnalysis, p: ParamInfo, q: ParamInfo) -> Figure | None:
    """Four metrics over two parameters: a heatmap for two grids, else a scatter."""
    frame = _frame(a)
    metrics = [m for m in HEATMAP_METRICS if m in frame.columns]
    if frame.empty or not metrics:
        return None
    grid = p.kind == "grid" and q.kind == "grid"
    wide = grid and frame[p.path].nunique() > 4  # cells too narrow for their numbers in a row
    per_row = 2 if wide else len(metrics)
    rows = math.ceil(len(metrics) / per_row)
    height = 0.9 + 0.45 * frame[q.path].nunique() if wide else 3.4
    fig = new_figure(WIDTH, rows * max(2.6, height))
    axes = list(fig.subplots(rows, per_row, squeeze=False).ravel())[: len(metrics)]
    for ax, metric in zip(axes, metrics, strict=True):
        unit = a.units.get(metric, "")
        if grid:
            _heatmap(ax, frame, p, q, metric, unit)
        else:
            x, y = _positions(p, frame[p.path]), _positions(q, frame[q.path])
            values = frame[metric].astype(float)
            ok = values.notna()
            ax.scatter(x[~ok], y[~ok], s=22, facecolors="none", edgecolors=GREY, lw=0.8)
            dots = ax.scatter(x[ok], y[ok], c=values[ok], cmap="viridis", s=26)
            bar = fig.colorbar(dots, ax=ax, shrink=0.85, pad=0.02)
            bar.ax.tick_params(labelsize=7)
            bar.ax.yaxis.set_major_formatter(_Ticks(unit))
            _param_axis(ax, p, frame[p.path], "x")
            _param_axis(ax, q, frame[q.path], "y")
            ax.margins(0.12)
        ax.set_title(_metric_title(a, metric), fontsize=9)
        ax.set_xlabel(p.path, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[::per_row]:
        ax.set_ylabel(q.path, fontsize=8)
    return fig


def _heatmap(
    ax: Axes, frame: pd.DataFrame, p: ParamInfo, q: ParamInfo, metric: str, unit: str
) -> None:
    cols = sorted(frame[p.path].dropna().unique(), key=lambda v: _sort_key(p, v))
    rows = sorted(frame[q.path].dropna().unique(), key=lambda v: _sort_key(q, v))
    table = frame.pivot_table(index=q.path, columns=p.path, values=metric, aggfunc="mean")
    table = table.reindex(index=rows, columns=cols)
    data = table.to_numpy(dtype=float)
    finite = data[np.isfinite(data)]
    lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    ax.imshow(
        np.ma.masked_invalid(data),
        cmap="YlGnBu",
        aspect="auto",
        origin="lower",
        vmin=lo,
        vmax=hi if hi > lo else lo + 1,
    )
    for (r, c), v in np.ndenumerate(data):
        dark = math.isfinite(v) and hi > lo and (v - lo) / (hi - lo) > 0.6
        ax.text(
            c,
            r,
            short_value(v, unit),
            ha="center",
            va="center",
            fontsize=8 if len(cols) <= 10 else 6,
            color="white" if dark else "#1d2433",
        )
    ax.set_xticks(range(len(cols)), [param_text(v) for v in cols])
    ax.set_yticks(range(len(rows)), [param_text(v) for v in rows])
    for side in ax.spines.values():
        side.set_visible(False)


def _sort_key(p: ParamInfo, v: Any) -> float:
    if p.numeric:
        return float(v)
    order = [param_text(x) for x in p.values]
    return float(order.index(v)) if v in order else float(len(order))


def frontier_figure(a: SweepAnalysis) -> Figure | None:
    """The trade-off between the two frontier metrics, the efficient points joined."""
    xm, ym = a.frontier
    frame = a.group_points()
    if xm not in frame.columns or ym not in frame.columns:
        return None
    frame = frame[frame[xm].notna() & frame[ym].notna()]
    if frame.empty:
        return None
    xu, yu = a.units.get(xm, ""), a.units.get(ym, "")
    x, y = frame[xm].to_numpy(float), frame[ym].to_numpy(float)
    xerr = np.nan_to_num(
        np.vstack(
            [x - frame[f"{xm}_ci_low"].to_numpy(float), frame[f"{xm}_ci_high"].to_numpy(float) - x]
        )
    )
    yerr = np.nan_to_num(
        np.vstack(
            [y - frame[f"{ym}_ci_low"].to_numpy(float), frame[f"{ym}_ci_high"].to_numpy(float) - y]
        )
    )
    fig = new_figure(WIDTH, 5.6)
    ax = fig.subplots()
    ax.errorbar(
        x,
        y,
        xerr=xerr,
        yerr=yerr,
        fmt="o",
        ms=5,
        color=GREY,
        ecolor="#b3bac6",
        elinewidth=0.9,
        capsize=0,
        label="point (mean, 95% CI)",
        zorder=2,
    )
    pareto = flags(frame, "pareto")
    if pareto.any():
        order = np.argsort(x[pareto])
        px, py = x[pareto][order], y[pareto][order]
        ax.step(px, py, where="post", color=PALETTE[0], lw=1.4, zorder=3)
        ax.plot(px, py, "o", ms=7, color=PALETTE[0], label="efficient (Pareto) point", zorder=4)
    best = a.best.point if a.best is not None else None
    points = frame["point"].to_numpy()
    if best is not None and best in points:
        i = int(np.flatnonzero(points == best)[0])
        ax.plot(
            x[i],
            y[i],
            "o",
            ms=17,
            mfc="none",
            mec="#e08a00",
            mew=2.2,
            label="best point",
            zorder=5,
        )
    for text in a.constraints:
        try:
            c = parse_constraint(text)
        except ValueError:
            continue
        if c.metric not in (xm, ym):
            continue
        unit = xu if c.metric == xm else yu
        op = {"<=": "≤", ">=": "≥"}.get(c.op, c.op)
        bound = format_value(c.bound, unit, a.currency)
        label = f"constraint: {_label(c.metric).lower()} {op} {bound}"
        line = ax.axvline if c.metric == xm else ax.axhline
        line(c.bound, color="#a3281b", ls="--", lw=1.2, label=label, zorder=1)
    band = a.bands.get(xm)
    if band is not None and (band[0] is not None or band[1] is not None):
        x0, x1 = ax.get_xlim()  # the points and constraints; the band is shaded where in view
        lo = x0 if band[0] is None else max(band[0], x0)
        hi = x1 if band[1] is None else min(band[1], x1)
        ax.axvspan(
            lo,
            max(lo, hi),
            color=BAND_COLOUR,
            alpha=0.12,
            lw=0,
            zorder=0,
            label=f"healthy band of {_label(xm).lower()} ({_band_text(band, xu, a.currency)})",
        )
        ax.set_xlim(x0, x1)
    _point_labels(ax, frame, x, y, pareto, best, a.baseline)
    ax.set_xlabel(f"{_metric_title(a, xm)} — lower is better", fontsize=9)
    ax.set_ylabel(f"{_metric_title(a, ym)} — higher is better", fontsize=9)
    y_format(ax, "share" if yu == "share" else "number")
    _axis_format(ax, yu, "y")
    _axis_format(ax, xu, "x")
    ax.grid(True, axis="x", color="#e3e3e3", lw=0.8)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, frameon=False, fontsize=8, loc="outside right upper")
    return fig


def _point_labels(
    ax: Axes,
    frame: pd.DataFrame,
    x: np.ndarray,
    y: np.ndarray,
    pareto: np.ndarray,
    best: int | None,
    baseline: int,
) -> None:
    """Label points with their index: the best, the baseline, the efficient ones, then the
    rest. Each label goes to the first corner of its point where it covers no other label or
    point, or is left out (the best and the baseline are always labelled)."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    width, height = 8.0 * 72, 4.8 * 72  # the axes' size in points, about
    px = (x - x0) / ((x1 - x0) or 1) * width
    py = (y - y0) / ((y1 - y0) or 1) * height
    taken = [(u - 4.0, v - 4.0, u + 4.0, v + 4.0) for u, v in zip(px, py, strict=True)]
    points = frame["point"].to_numpy()
    rank = sorted(
        (0 if p == best else 1 if p == baseline else 2 if pareto[i] else 3, i)
        for i, p in enumerate(points)
    )
    for priority, i in rank:
        point = int(points[i])
        text = f"{point} (baseline)" if point == baseline else str(point)
        w, h = 4.9 * len(text), 9.0
        gap = 9.0 if point == best else 5.0  # clear of the best point's ring
        corners = [(gap, gap - 2), (-gap - w, gap - 2), (gap, 2 - gap - h), (-gap - w, 2 - gap - h)]
        boxes = [(px[i] + dx, py[i] + dy, px[i] + dx + w, py[i] + dy + h) for dx, dy in corners]
        free = [
            k
            for k, box in enumerate(boxes)
            if not any(
                box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
                for j, b in enumerate(taken)
                if j != i
            )
        ]
        if not free and priority >= 2:
            continue
        k = free[0] if free else 0
        taken.append(boxes[k])
        ax.annotate(
            text,
            (x[i], y[i]),
            xytext=corners[k],
            textcoords="offset points",
            ha="left",
            va="bottom",
            fontsize=8,
            color="#3b4458",
            zorder=6,
        )


def flags(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A yes/no column as booleans; missing or NaN is no."""
    if column not in frame:
        return np.zeros(len(frame), dtype=bool)
    return np.array([bool(pd.notna(v) and v) for v in frame[column]], dtype=bool)


def sensitivity_figure(a: SweepAnalysis) -> Figure | None:
    """Per metric: which parameters move it most (standardised regression coefficients)."""
    sens = a.sensitivity
    if sens is None or sens.empty:
        return None
    metrics = [m for m in FIGURE_METRICS if m in set(sens["metric"])]
    if not metrics:
        return None
    n_params = int(sens.groupby("metric")["parameter"].nunique().max())
    rows = math.ceil(len(metrics) / 2)
    fig = new_figure(WIDTH, 0.7 + rows * (0.75 + 0.32 * n_params))
    grid = fig.subplots(rows, 2, squeeze=False, sharex=True)
    axes = list(grid.ravel())
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    axes = axes[: len(metrics)]
    biggest = float(sens["src"].abs().max(skipna=True))
    top = max(1.0, biggest * 1.15 if math.isfinite(biggest) else 0.0)
    for ax, metric in zip(axes, metrics, strict=True):
        s = sens[sens["metric"] == metric]
        r2 = s["r2"].dropna()
        r2_text = f"R² = {float(r2.iloc[0]):.2f}" if len(r2) else "R² –"
        ax.set_title(f"{_label(metric)}  ({r2_text})", fontsize=9, loc="left")
        s = s.dropna(subset=["src"])
        s = s.assign(size=s["src"].abs()).sort_values("size")
        colours = [POSITIVE if v >= 0 else NEGATIVE for v in s["src"]]
        ax.barh(s["parameter"].astype(str), s["size"], color=colours, height=0.6)
        for i, v in enumerate(s["src"]):
            ax.text(abs(v) + top * 0.01, i, f"{v:+.2f}", va="center", fontsize=7)
        if s.empty:
            ax.set_yticks([])
            ax.text(0.5, 0.5, "not estimated", transform=ax.transAxes, ha="center", color=GREY)
        ax.set_xlim(0, top)
        ax.tick_params(labelsize=7)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    for ax in axes[-2:]:
        ax.set_xlabel("|standardised effect|", fontsize=8)
        ax.xaxis.set_tick_params(labelbottom=True)
    fig.legend(
        [Patch(color=POSITIVE), Patch(color=NEGATIVE)],
        ["raises the metric as the parameter goes up", "lowers it"],
        loc="outside lower center",
        ncols=2,
        frameon=False,
        fontsize=8,
    )
    return fig


# --- all of them ------------------------------------------------------------------------------


def _band_note(a: SweepAnalysis) -> str:
    return "; light green: the scenario's healthy band" if a.bands else ""


def build_sweep_charts(a: SweepAnalysis) -> list[Chart]:
    """Draw every figure that has data; the order is the report's."""
    reps = a.replications
    ci = (
        "shaded: its 95% confidence interval over replications"
        if reps > 1
        else ("one replication per point, so no confidence interval")
    )
    charts: list[Chart] = []

    def add(key: str, title: str, fig: Figure | None, how: str) -> None:
        if fig is not None:
            charts.append(Chart(key, title, how, png_bytes(fig)))

    for i, p in enumerate(a.params):
        others = [q.path for q in a.params if q is not p]
        if p.kind == "range":
            how = (
                f"Each dot is one sampled point: its mean over {reps} replication(s), the "
                f"vertical bar its 95% confidence interval. A clear slope means {p.path} moves "
                "that metric; a cloud with no slope means it does not (or the other "
                f"parameters matter more){_band_note(a)}."
            )
        elif others:
            how = (
                f"Each panel is one metric against {p.path}; the line is the mean over "
                f"replications, {ci}. Several lines: one per setting of the other parameters "
                "(legend); a single line averages over them. Lines that rise or fall together "
                f"mean the effect does not depend on the others{_band_note(a)}."
            )
        else:
            how = (
                f"Each panel is one metric against {p.path}; the line is the mean over "
                f"replications, {ci}{_band_note(a)}."
            )
        kind = "sampled" if p.kind == "range" else "grid"
        add(f"param-{i}", f"Metrics against {p.path} ({kind})", parameter_figure(a, p), how)

    pairs = list(combinations(a.params, 2))[:MAX_PAIRS]
    for p, q in pairs:
        i, j = a.params.index(p), a.params.index(q)
        if p.kind == "grid" and q.kind == "grid":
            how = (
                f"Each cell is one combination of {p.path} (across) and {q.path} (up), showing "
                "the mean over replications (and over any other parameters); darker is higher. "
                "Look for the corner where the metrics you care about are good together."
            )
        else:
            how = (
                f"Each dot is one point, placed by its {p.path} (across) and {q.path} (up), "
                "coloured by the metric's mean (scale beside each panel; hollow grey: no "
                "value). Colour changing along one axis only means only that parameter matters."
            )
        add(f"pair-{i}-{j}", f"{p.path} and {q.path} together", pair_figure(a, p, q), how)

    xm, ym = a.frontier
    extras = []
    if a.best is not None and a.best.point is not None:
        extras.append("the orange ring is the best point")
    if any(c.split("<")[0].split(">")[0].strip() in (xm, ym) for c in a.constraints):
        extras.append("dashed red lines are constraints")
    if a.bands.get(xm):
        extras.append(f"green: the healthy band of {_label(xm).lower()}")
    add(
        "frontier",
        f"Trade-off: {_label(xm).lower()} against {_label(ym).lower()}",
        frontier_figure(a),
        f"Each grey dot is a point (number = point index), with 95% intervals as bars. Left is "
        f"cheaper ({_label(xm).lower()}), up is better ({_label(ym).lower()}). Blue dots joined "
        "by the step line are efficient: no other point is both further left and higher"
        + "".join(f"; {e}" for e in extras)
        + ".",
    )
    add(
        "sensitivity",
        "Which parameters matter",
        sensitivity_figure(a),
        "Per metric, bars rank the parameters by how much the metric moves with them "
        "(standardised regression coefficient: the change in the metric, in standard "
        "deviations, for one standard deviation of the parameter). Blue raises the metric, red "
        "lowers it. R² near 1: the parameters explain the metric's spread; near 0: noise or "
        "effects a straight line cannot capture.",
    )
    return charts

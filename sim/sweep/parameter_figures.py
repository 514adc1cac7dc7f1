"""Figures of the metrics against the sweep's parameters: every headline metric against one
parameter (lines with confidence bands, or dots for a sampled range), and four metrics over a pair
of parameters (a heatmap for two grids, else a coloured scatter).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

from sim.report.plotting import PALETTE, new_figure, y_format
from sim.sweep.display import (
    BAND_COLOUR,
    GREY,
    WIDTH,
    axis_format,
    metric_title,
    param_text,
    short_value,
)
from sim.sweep.result import FIGURE_METRICS, ParamInfo, SweepAnalysis
from sim.text import band_text

__all__ = ["HEATMAP_METRICS", "pair_figure", "parameter_figure"]

COLS = 5
MAX_LINES = 6
"""At most this many lines per panel (one per combination of the other parameters)."""
HEATMAP_METRICS = ("cost_ratio", "retention_365", "gmv", "roi")


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
        ax.set_title(metric_title(a, metric), fontsize=9)
        ax.tick_params(labelsize=7)
        y_format(ax, "share" if unit == "share" else "number")
        axis_format(ax, unit, "y")
        _band(ax, a.bands.get(metric), band_text(a.bands.get(metric), unit, a.currency))
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
            axis_format(bar.ax, unit, "y")
            _param_axis(ax, p, frame[p.path], "x")
            _param_axis(ax, q, frame[q.path], "y")
            ax.margins(0.12)
        ax.set_title(metric_title(a, metric), fontsize=9)
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

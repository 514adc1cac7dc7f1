"""The trade-off figures: the frontier between two metrics (efficient points, the best point,
constraints, the healthy band, point labels) and which parameters move each metric most.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from sim.report.plotting import PALETTE, new_figure, y_format
from sim.scenario.sweep_spec import parse_constraint
from sim.sweep.display import BAND_COLOUR, GREY, WIDTH, axis_format, flags, metric_title
from sim.sweep.result import FIGURE_METRICS, SweepAnalysis
from sim.text import band_text, format_value, label

__all__ = ["frontier_figure", "sensitivity_figure"]

POSITIVE, NEGATIVE = PALETTE[0], PALETTE[1]


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
        legend_text = f"constraint: {label(c.metric).lower()} {op} {bound}"
        line = ax.axvline if c.metric == xm else ax.axhline
        line(c.bound, color="#a3281b", ls="--", lw=1.2, label=legend_text, zorder=1)
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
            label=f"healthy band of {label(xm).lower()} ({band_text(band, xu, a.currency)})",
        )
        ax.set_xlim(x0, x1)
    _point_labels(ax, frame, x, y, pareto, best, a.baseline)
    ax.set_xlabel(f"{metric_title(a, xm)} — lower is better", fontsize=9)
    ax.set_ylabel(f"{metric_title(a, ym)} — higher is better", fontsize=9)
    y_format(ax, "share" if yu == "share" else "number")
    axis_format(ax, yu, "y")
    axis_format(ax, xu, "x")
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
        ax.set_title(f"{label(metric)}  ({r2_text})", fontsize=9, loc="left")
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

"""Drawing helpers for the report's figures: mean and 95% band over replications, axis
formatting for people, campaign shading, PNG bytes.

Figures are :class:`matplotlib.figure.Figure` objects drawn on the Agg canvas directly: no pyplot
and no global backend state.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter
from scipy import stats

__all__ = [
    "CAMPAIGN_COLOUR",
    "by_replication",
    "control_label",
    "date_axis",
    "group_colour",
    "legend",
    "mean_band",
    "new_figure",
    "plot_band",
    "png_bytes",
    "shade_campaigns",
    "y_format",
]

PALETTE = ("#1f5fa8", "#d1495b", "#2e9e5b", "#7b52ab", "#e08a00", "#5d6d7e")
CAMPAIGN_COLOUR = "#f2c14e"


def group_colour(groups: Sequence[str], group: str) -> str:
    """The colour of a group: the same in every figure."""
    return PALETTE[list(groups).index(group) % len(PALETTE)]


def new_figure(width: float, height: float) -> Figure:
    """A figure on the Agg canvas, laid out so that labels never overlap."""
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, facecolor="white")
    return buf.getvalue()


def mean_band(wide: pd.DataFrame) -> pd.DataFrame:
    """Per row of ``wide`` (one column per replication): mean over replications and a 95%
    t-interval (``low``/``high`` NaN where fewer than two replications have a value)."""
    n = wide.notna().sum(axis=1).to_numpy()
    mean = wide.mean(axis=1).to_numpy(dtype=float)
    sd = wide.std(axis=1, ddof=1).to_numpy(dtype=float)
    q = stats.t.ppf(0.975, np.maximum(n - 1, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        half = np.where(n >= 2, q * sd / np.sqrt(np.maximum(n, 1)), np.nan)
    return pd.DataFrame({"mean": mean, "low": mean - half, "high": mean + half}, index=wide.index)


def plot_band(
    ax: Axes, band: pd.DataFrame, colour: str, label: str, *, linestyle: str = "-"
) -> None:
    """The mean as a line and its 95% interval as a light band."""
    x = band.index
    ax.plot(x, band["mean"], color=colour, lw=1.8, label=label, linestyle=linestyle)
    if band["low"].notna().any():
        ax.fill_between(x, band["low"], band["high"], color=colour, alpha=0.18, lw=0)


def _thousands(value: float, _pos: object = None) -> str:
    if abs(value) >= 1e6:
        return f"{value / 1e6:,.1f}M"
    if float(value).is_integer() or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def y_format(ax: Axes, kind: str) -> None:
    """Format the y axis: ``share`` as %, anything else with thousands separators."""
    if kind == "share":
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=None))
    else:
        ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.grid(True, axis="y", color="#e3e3e3", lw=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def date_axis(ax: Axes) -> None:
    """Short, non-overlapping date labels."""
    locator = AutoDateLocator(minticks=4, maxticks=8)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def shade_campaigns(
    ax: Axes,
    campaigns: Sequence[tuple[str, date, date]],
    start: pd.Timestamp,
    end: pd.Timestamp,
    *,
    label: bool,
) -> None:
    """Shade each campaign's days (first to last inclusive), clipped to [start, end]."""
    for i, (name, first, last) in enumerate(campaigns):
        lo = max(pd.Timestamp(first), start)
        hi = min(pd.Timestamp(last) + timedelta(days=1), end)
        if lo >= hi:
            continue
        ax.axvspan(
            lo,  # type: ignore[arg-type]
            hi,  # type: ignore[arg-type]
            color=CAMPAIGN_COLOUR,
            alpha=0.25,
            lw=0,
            zorder=0,
            label=f"campaign: {name}" if label and i < 4 else None,
        )


def control_label(group: str, control: str | None) -> str:
    """The group's name, marked when it is the control (unless its name says so)."""
    if group == control and "control" not in group.lower():
        return f"{group} (control)"
    return group


def by_replication(
    frame: pd.DataFrame, values: pd.Series | str, index: str = "day"
) -> pd.DataFrame:
    """One row per ``index``, one column per replication."""
    series = frame[values] if isinstance(values, str) else values
    data = pd.DataFrame({index: frame[index], "rep": frame["replication"], "v": series})
    wide: pd.DataFrame = data.groupby([index, "rep"])["v"].mean().unstack("rep")
    return wide


def legend(ax: Axes) -> None:
    """A frameless legend, when the axes have labelled artists."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, fontsize=9, loc="best")

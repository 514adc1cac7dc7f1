"""How a sweep's values are shown, shared by its figures and its HTML report: parameter values
and short numbers as text, tick labels, metric titles, yes/no flags, and the figures' common width
and colours.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import Formatter

from sim.sweep.result import SweepAnalysis
from sim.text import label

__all__ = [
    "BAND_COLOUR",
    "GREY",
    "WIDTH",
    "axis_format",
    "flags",
    "metric_title",
    "param_text",
    "short_value",
]

WIDTH = 11.0
BAND_COLOUR = "#2e9e5b"
GREY = "#9aa3b2"


# --- values as text ---------------------------------------------------------------------------


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


# --- ticks and titles -------------------------------------------------------------------------


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


def axis_format(ax: Axes, unit: str, axis: str) -> None:
    """Share as %, other numbers short (``1.2M``) on the x or y axis."""
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(_Ticks(unit))


def metric_title(a: SweepAnalysis, metric: str) -> str:
    """A metric's name for an axis or panel title, with the currency for money."""
    unit = a.units.get(metric, "")
    return f"{label(metric)} ({a.currency})" if unit == "currency" else label(metric)


# --- data -------------------------------------------------------------------------------------


def flags(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A yes/no column as booleans; missing or NaN is no."""
    if column not in frame:
        return np.zeros(len(frame), dtype=bool)
    return np.array([bool(pd.notna(v) and v) for v in frame[column]], dtype=bool)

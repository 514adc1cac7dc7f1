"""Economy health: whether a metric sits inside its healthy band, judged with its confidence
interval (DESIGN.md section 5). The one place that decides it: the summary, the run and sweep
reports, the notebooks and the ledger's apply gate all call :func:`judge`.

A band is ``(low, high)``, either end ``None`` (open). With a 95% interval ``[ci_low, ci_high]``:

- ``inside``: the whole interval is inside the band;
- ``straddling``: the interval reaches across an edge, so the replications cannot tell
  whether the metric is healthy (more replications, or a longer window, may);
- ``outside``: the whole interval is beyond one edge.

Without an interval (one replication) the mean alone is judged, and the verdict says so
(``certain`` is False): a single replication never makes a metric certainly healthy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = ["Band", "Health", "Status", "judge", "worst"]

Status = Literal["inside", "straddling", "outside"]
Band = tuple[float | None, float | None]
"""(low, high) of a healthy band; ``None``: open at that end."""

_ORDER: dict[Status, int] = {"inside": 0, "straddling": 1, "outside": 2}


@dataclass(frozen=True)
class Health:
    """How a metric stands against its band."""

    status: Status
    side: Literal["low", "high"] | None
    """Which edge is crossed or reached across (None when inside)."""
    certain: bool
    """False when there was no interval to judge (one replication): the mean alone decided."""

    @property
    def ok(self) -> bool:
        """Certainly inside the band."""
        return self.status == "inside" and self.certain

    def text(self) -> str:
        """In words, e.g. ``above its band``, ``its 95% CI straddles the upper edge``."""
        where = {"low": "below", "high": "above"}
        edge = {"low": "lower", "high": "upper"}
        if self.status == "inside":
            words = "inside its healthy band"
        elif self.status == "outside":
            words = f"{where[self.side or 'high']} its band"
        else:
            words = f"its 95% CI straddles the {edge[self.side or 'high']} edge of its band"
        return words if self.certain else f"{words} (one replication: no interval)"


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def judge(
    mean: float | None,
    ci_low: float | None,
    ci_high: float | None,
    band: Band | None,
) -> Health | None:
    """How a metric with this mean and 95% interval stands against ``band``; ``None`` when
    there is no band or no mean to judge."""
    mean, ci_low, ci_high = _finite(mean), _finite(ci_low), _finite(ci_high)
    if band is None or mean is None:
        return None
    low, high = band
    if low is not None and high is not None and low > high:
        raise ValueError(f"band(={band}) must have low <= high")
    certain = ci_low is not None and ci_high is not None
    lo, hi = (ci_low, ci_high) if certain else (mean, mean)
    assert lo is not None and hi is not None
    if low is not None and hi < low:
        return Health("outside", "low", certain)
    if high is not None and lo > high:
        return Health("outside", "high", certain)
    if low is not None and lo < low:
        return Health("straddling", "low", certain)
    if high is not None and hi > high:
        return Health("straddling", "high", certain)
    return Health("inside", None, certain)


def worst(verdicts: list[Health | None]) -> Status | None:
    """The worst status among ``verdicts`` (``None`` when none was judged)."""
    seen: list[Status] = [v.status for v in verdicts if v is not None]
    if not seen:
        return None
    return max(seen, key=lambda s: _ORDER[s])

"""Whether the window holds what it measures: a treatment's effect still moving at the
window's end, and balances still building up after the warm-up. Each check gives a warning in
words, or nothing."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

BLOCK = 30
"""Days in the blocks compared at the window's end."""
SETTLED = 0.02
"""A per-member balance moving less than this share a month counts as settled."""
TREND_DAYS = 90
"""Days over which the balance trend is fitted."""

Interval = Callable[[np.ndarray], dict[str, float | int | None]]


def _by_rep(daily: pd.DataFrame, group: str, column: str) -> pd.DataFrame:
    """Days x replications of ``column`` in ``group``."""
    rows = daily[daily["group"] == group]
    return rows.pivot_table(index="day", columns="replication", values=column, aggfunc="sum")


def effect_still_moving(
    daily: pd.DataFrame, treatment: str, control: str, currency: str, interval: Interval
) -> str | None:
    """A warning when the treatment's daily GMV difference in the window's last
    :data:`BLOCK` days is distinguishable from zero: the window misses part of the effect.
    Suggests a longer window from the decay between the last two blocks."""
    diff = (_by_rep(daily, treatment, "gmv") - _by_rep(daily, control, "gmv")).dropna()
    if len(diff) < 2 * BLOCK or diff.shape[1] < 2:
        return None
    last = diff.iloc[-BLOCK:].sum().to_numpy(dtype=float)
    before = diff.iloc[-2 * BLOCK : -BLOCK].sum().to_numpy(dtype=float)
    st = interval(last)
    lo, hi, mean = st["ci_low"], st["ci_high"], st["mean"]
    if lo is None or hi is None or mean is None or lo <= 0 <= hi:
        return None
    ratio = mean / float(before.mean()) if before.mean() else math.inf
    if 0 < ratio < 1:
        blocks = math.ceil(math.log(0.05) / math.log(ratio))
        longer = (
            f"it shrank to {ratio:.0%} of the block before, so a window about {blocks * BLOCK}"
            f" days longer would hold 95% of what is left"
        )
    else:
        longer = "it is not shrinking, so lengthen the window and look again"
    return (
        f"The effect of {treatment!r} is still moving at the window's end: GMV"
        f" {mean:+,.0f} {currency} in its last {BLOCK} days (95% CI {lo:+,.0f} to {hi:+,.0f});"
        f" {longer}. Figures over the window leave that part out."
    )


def _monthly_trend(values: pd.DataFrame) -> np.ndarray:
    """Per replication, the least-squares slope of ``values`` (days x replications) as a
    share of its mean per 30 days."""
    x = np.arange(len(values), dtype=float)
    x -= x.mean()
    y = values.to_numpy(dtype=float)
    slope = (x[:, None] * (y - y.mean(axis=0))).sum(axis=0) / (x**2).sum()
    mean = y.mean(axis=0)
    out: np.ndarray = np.where(mean != 0, slope * 30.0 / np.where(mean != 0, mean, 1.0), 0.0)
    return out


def balances_not_settled(
    daily: pd.DataFrame, group: str, warmup_days: int, interval: Interval
) -> str | None:
    """A warning when outstanding points per member were still trending by more than
    :data:`SETTLED` a month over the window's first :data:`TREND_DAYS` days (distinguishably
    from zero): the warm-up has not reached a steady state. Says about how long a warm-up
    would, from when the trend in the window falls below that."""
    per_member = _by_rep(daily, group, "outstanding_points") / _by_rep(daily, group, "members")
    per_member = per_member.dropna()
    if len(per_member) < TREND_DAYS or per_member.shape[1] < 2:
        return None
    start = _monthly_trend(per_member.iloc[:TREND_DAYS])
    st = interval(start)
    lo, hi, mean = st["ci_low"], st["ci_high"], st["mean"]
    if lo is None or hi is None or mean is None or lo <= 0 <= hi or abs(mean) < SETTLED:
        return None
    settles = None
    for first in range(BLOCK, len(per_member) - TREND_DAYS + 1, BLOCK):
        trend = float(_monthly_trend(per_member.iloc[first : first + TREND_DAYS]).mean())
        if abs(trend) < SETTLED:
            settles = first
            break
    need = (
        f"about {warmup_days + settles:,} days of warm-up would (the trend falls below"
        f" {SETTLED:.0%} a month {settles} days into the window)"
        if settles is not None
        else f"it does not settle within the window: more than {warmup_days + len(per_member):,}"
        " days would be needed, or the programme has no steady state (points that never"
        " expire keep accumulating)"
    )
    return (
        f"Balances of {group!r} were still {'growing' if mean > 0 else 'shrinking'} at the"
        f" start of the window (outstanding points per member {mean:+.1%} a month over its"
        f" first {TREND_DAYS} days, 95% CI {lo:+.1%} to {hi:+.1%}): the {warmup_days:,}-day"
        f" warm-up has not reached a steady state, so level figures (liability, cost ratio)"
        f" depend on when the window starts; {need}."
    )

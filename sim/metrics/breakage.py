"""What share of the points outstanding at the window's end will be redeemed, per replication,
from the cohorts' run-off (``cohorts.parquet``, :mod:`sim.accounting.runoff`), and the caution
when that share rests on an extrapolated tail.

Without a run-off (``horizon.runoff_days = 0``) these figures are undefined (NaN): a window
alone cannot say how much of a never-expiring balance will ever be redeemed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from sim.accounting import RunOff, run_off
from sim.metrics.schema import COHORT, COHORT_INDEX, COHORT_PERIOD_DAYS
from sim.text import format_value

__all__ = [
    "ESTIMATE_CAUTION",
    "RUNOFF_COLUMNS",
    "TAIL_CAUTION",
    "estimate_caution",
    "runoff_caution",
    "runoff_metrics",
]

KEYS = ["replication", "group"]
_LEFT = ["expired", "reversed", "donated"]

RUNOFF_COLUMNS = (
    "expected_redemptions_end",
    "outstanding_redeemed_share",
    "outstanding_redeemed_in_runoff",
    "runoff_tail_share",
    "ultimate_redemption_rate",
)
"""Per (replication, group) figures :func:`runoff_metrics` gives."""

TAIL_CAUTION = 0.10
"""A forecast whose extrapolated tail is more than this share of it gets a caution."""

ESTIMATE_CAUTION = 0.05
"""The books' redemption rate estimated from their history gets a caution when it is further
than this from the rate the run-off shows."""


def runoff_metrics(
    cohorts: pd.DataFrame, index: pd.Index, window_start: pd.Timestamp
) -> pd.DataFrame:
    """:data:`RUNOFF_COLUMNS` for each (replication, group) of ``index``: NaN where the run
    had no run-off or nothing outstanding (and ``outstanding_redeemed_share`` where no
    decaying tail could be fitted to what the run-off left)."""
    missing = [c for c in (*COHORT_INDEX, *(c.name for c in COHORT)) if c not in cohorts.columns]
    if missing:
        raise ValueError(f"cohorts table: missing column(s) {missing}")
    out = pd.DataFrame(np.nan, index=index, columns=list(RUNOFF_COLUMNS))
    for key, rows in cohorts.groupby(KEYS, sort=False):
        if key not in out.index or not (rows["runoff_period"] > 0).any():
            continue
        ro = _run_off(rows)
        if ro.stock <= 0:
            continue
        out.loc[key, "expected_redemptions_end"] = ro.future
        out.loc[key, "outstanding_redeemed_share"] = ro.share()
        out.loc[key, "outstanding_redeemed_in_runoff"] = ro.bounds()[0]
        out.loc[key, "runoff_tail_share"] = ro.tail_share()
        out.loc[key, "ultimate_redemption_rate"] = _ultimate(rows, ro, window_start)
    return out


def _run_off(rows: pd.DataFrame) -> RunOff:
    stock = float(rows.drop_duplicates("cohort_start")["outstanding"].sum())
    after = rows[rows["runoff_period"] > 0].groupby("runoff_period")
    return run_off(
        stock,
        after["redeemed"].sum().to_numpy(np.float64),
        after[_LEFT].sum().sum(axis=1).to_numpy(np.float64),
    )


def _ultimate(rows: pd.DataFrame, ro: RunOff, window_start: pd.Timestamp) -> float:
    """Of the points issued by the cohorts whose period lies in the window, the share
    redeemed by the run-off's end plus their part (by what they still held) of the tail."""
    mine = rows[rows["cohort_start"] >= window_start]
    if mine.empty:
        return float("nan")
    per = mine.groupby("cohort_start")
    issued = float(per["issued"].first().sum())
    redeemed = float(mine["redeemed"].sum())
    left = float(mine[_LEFT].sum().sum())
    remaining = issued - redeemed - left
    if issued <= 0:
        return float("nan")
    tail = ro.tail * remaining / ro.remaining if ro.remaining > 0 else 0.0
    return (redeemed + tail) / issued


def runoff_caution(
    per_rep: pd.DataFrame,
    group: str,
    runoff_days: int,
    interval: Callable[[Sequence[float] | np.ndarray], dict[str, float | int | None]],
) -> str:
    """A caution when ``group``'s forecast of redemptions of the outstanding points rests
    more than :data:`TAIL_CAUTION` on the tail extrapolated past the run-off ("" if not)."""
    rows = per_rep.xs(group, level="group")
    tail = interval(rows["runoff_tail_share"].to_numpy(np.float64))
    if tail["mean"] is None or tail["mean"] <= TAIL_CAUTION:
        return ""
    low = interval(rows["outstanding_redeemed_in_runoff"].to_numpy(np.float64))["mean"]
    share = interval(rows["outstanding_redeemed_share"].to_numpy(np.float64))["mean"]
    shown = "could not be extrapolated" if share is None else f"is {format_value(share, 'share')}"
    periods = -(-runoff_days // COHORT_PERIOD_DAYS)
    return (
        f"The expected liability after breakage ({group}) rests on an extrapolation: of the "
        f"points outstanding at the end, {format_value(low or 0.0, 'share')} were redeemed in "
        f"the {periods * COHORT_PERIOD_DAYS}-day run-off and the forecast share {shown}, "
        f"{format_value(tail['mean'], 'share')} of it from the tail fitted past the run-off; "
        "a longer horizon.runoff_days narrows this."
    )


def estimate_caution(
    per_rep: pd.DataFrame,
    group: str,
    interval: Callable[[Sequence[float] | np.ndarray], dict[str, float | int | None]],
) -> str:
    """When the IFRS 15 books of ``group`` ran on their own estimate of the redemption rate
    (the policy set none) and the run-off shows a rate further than :data:`ESTIMATE_CAUTION`
    from it, or when they had no estimate and so recognised no breakage: a sentence saying
    so ("" otherwise)."""
    rows = per_rep.xs(group, level="group")
    truth = interval(rows["ultimate_redemption_rate"].to_numpy(np.float64))["mean"]
    if truth is None:
        return ""
    used = rows["expected_redemption_rate_end"].to_numpy(np.float64)
    estimate = rows["redemption_rate_estimate_end"].to_numpy(np.float64)
    shown = format_value(truth, "share")
    if np.isnan(estimate).all() and (used == 1.0).all():
        if truth > 1.0 - ESTIMATE_CAUTION:
            return ""
        return (
            f"No breakage was recognised ({group}): the books expected every point from a "
            "sale to be redeemed (the policy's [accounting] expected_redemption, or where it "
            "is unset because their history did not support an estimate by the window's end, "
            f"sim.accounting.books), while the run-off shows {shown} of the window's points "
            "redeemed in the end. Set [accounting] expected_redemption to book breakage at a "
            "rate you can support."
        )
    if not np.allclose(used, estimate, equal_nan=False):
        return ""  # the policy sets the rate
    mean = interval(estimate)["mean"]
    if mean is None or abs(mean - truth) <= ESTIMATE_CAUTION:
        return ""
    early = mean < truth
    return (
        f"The books' redemption rate estimated from their own history ({group}, "
        f"{format_value(mean, 'share')} at the end, chain ladder) is "
        f"{abs(mean - truth) * 100:.0f} points {'below' if early else 'above'} the "
        f"{shown} the run-off shows for the window's points: breakage is recognised "
        f"{'early and would be reversed' if early else 'late and would be caught up'} as the "
        "programme matures."
    )

"""Text and number formatting for people, shared by the run report, the sweep page and its
figures, and the summary's headline: numbers with their unit (:func:`format_value`), metric
names (:func:`label`), healthy bands (:func:`band_text`) and confidence intervals
(:func:`ci_text`).

A foundation module (``tests/test_layers.py``): plain functions of plain values, importing
nothing of ours, so that every layer may use it. Everything returned is plain text, never
markup: the pages' templates escape it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

__all__ = [
    "LABELS",
    "band_text",
    "ci_text",
    "format_value",
    "label",
    "thousands",
]

LABELS: Mapping[str, str] = {
    "gmv": "GMV",
    "orders": "Orders",
    "repurchase_rate": "Repurchase rate",
    "points_cost": "Points cost",
    "programme_cost": "Programme cost",
    "cost_ratio": "Cost ratio",
    "liability_end": "Liability at the end",
    "expected_liability_end": "Expected liability after breakage",
    "expected_redemptions_end": "Outstanding points forecast to be redeemed",
    "outstanding_redeemed_share": "Share of outstanding points forecast to be redeemed",
    "outstanding_redeemed_in_runoff": "Share redeemed within the run-off",
    "runoff_tail_share": "Forecast share from the tail past the run-off",
    "ultimate_redemption_rate": "Ultimate redemption rate (window's cohorts)",
    "liability_to_monthly_gmv": "Liability in months of GMV",
    "deferred_revenue_start": "Deferred revenue at the start (opening)",
    "revenue_allocated": "Sales revenue allocated to points",
    "revenue_recognised": "Revenue recognised from points",
    "breakage_recognised": "of which breakage",
    "revenue_reestimated": "of which catch-up on a changed estimate",
    "expected_redemption_rate_end": "Expected redemption rate in force at the end",
    "redemption_rate_estimate_end": "Redemption rate estimated from history (chain ladder)",
    "deferred_revenue_end": "Deferred revenue at the end (contract liability)",
    "points_issued": "Points issued",
    "points_burned": "Points redeemed",
    "points_expired": "Points expired",
    "earn_rate": "Earn rate",
    "burn_rate": "Burn rate (per month)",
    "breakage": "Breakage",
    "redeemed_share_of_settled": "Redeemed share of settled points",
    "redemption_participation": "Redemption participation",
    "active_members_per_day": "Members buying a day",
    "active_days_per_member_month": "Buying days per member a month",
    "engaged_days_per_member_month": "Engaged days per member a month (any action)",
    "retention_90": "90-day retention (still buying)",
    "retention_365": "365-day retention (still buying)",
    "churned_share": "Churned members",
    "incremental_gmv": "Incremental GMV",
    "incremental_margin": "Incremental margin",
    "incremental_points_cost": "Incremental points cost",
    "roi": "ROI (with outstanding points)",
    "roi_redeemed_only": "ROI (redemptions in the window only)",
    "outstanding_points_cost": "Expected cost of extra outstanding points",
    "outstanding_points_end": "Points outstanding at the end",
    "margin_rate": "Margin rate",
    "liability_change": "Change in liability",
    "retention_change": "Change in 90-day retention",
    "active_change": "Change in members buying a day",
    "cost_ratio_change": "Change in cost ratio",
}
"""A headline metric's name for people (:func:`label` derives the others)."""


def format_value(
    value: float | None, unit: str, currency: str = "", *, signed: bool = False
) -> str:
    """A number for people: thousands separated, shares as % (differences of shares as
    percentage points when ``signed``), money with its currency; ``None`` as an en dash."""
    if value is None or not math.isfinite(value):
        return "–"
    sign = "+" if signed else ""
    if unit == "share":
        pct = value * 100
        digits = 2 if abs(pct) < 10 else 1
        text = _unsigned_zero(f"{pct:{sign},.{digits}f}")
        return f"{text} pp" if signed else f"{text}%"
    if unit == "ratio":
        return _unsigned_zero(f"{value:{sign},.2f}")
    digits = 0 if abs(value) >= 100 or float(value).is_integer() else 2
    text = _unsigned_zero(f"{value:{sign},.{digits}f}")
    if unit == "currency" and currency:
        return f"{text} {currency}"
    return text


def _unsigned_zero(text: str) -> str:
    """ "0.00" for "-0.00" or "+0.00": a rounded zero has no sign."""
    return text.lstrip("+-") if not text.strip("+-0.,") else text


def thousands(count: int) -> str:
    """A count with thousands separated: ``12,000``."""
    return f"{count:,}"


def label(name: str) -> str:
    """A metric's name for people: ``Cost ratio``, ``ROI against the control``, ``Members in
    tier gold``; an unknown name with its underscores as spaces."""
    if name.startswith("vs_control_"):
        return f"{label(name.removeprefix('vs_control_'))} against the control"
    if name.startswith("tier_") and name.endswith("_share"):
        return f"Members in tier {name[5:-6]}"
    return LABELS.get(name, name.replace("_", " ").capitalize())


def _bound(value: float, unit: str, currency: str) -> str:
    """A band's edge, as short as it was written: 0.01 -> 1%."""
    return f"{value * 100:.4g}%" if unit == "share" else format_value(value, unit, currency)


def band_text(band: Sequence[float | None] | None, unit: str, currency: str = "") -> str:
    """A healthy band for people: ``1% – 3%``, ``≤ 40%``, ``≥ 60%``; no band as an en dash."""
    if band is None or (band[0] is None and band[1] is None):
        return "–"
    low, high = band
    if low is None:
        assert high is not None
        return f"≤ {_bound(high, unit, currency)}"
    if high is None:
        return f"≥ {_bound(low, unit, currency)}"
    return f"{_bound(low, unit, currency)} – {_bound(high, unit, currency)}"


def ci_text(
    low: float | None, high: float | None, unit: str, currency: str = "", *, signed: bool = False
) -> str:
    """A 95% confidence interval for people, ``95% CI 1.2% to 1.9%``; ``""`` without one (a
    single replication)."""
    if low is None or high is None:
        return ""
    lo = format_value(low, unit, currency, signed=signed)
    hi = format_value(high, unit, currency, signed=signed)
    return f"95% CI {lo} to {hi}"

"""The summary of a run: headline metrics per group and replication, their mean and 95%
confidence interval over replications, the treatment-minus-control effect, and a headline in
plain words (DESIGN.md section 5). The result is a JSON-ready dict, ``summary.json``.

Every metric is computed per (replication, group) first, over the metric window (the daily rows
present: warm-up is already left out); only then are replications averaged. Experiment effects
are differences per replication (treatment and control share their random numbers, so common
shocks cancel) and then averaged.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.health import Band, judge
from sim.metrics.breakage import estimate_caution, runoff_caution, runoff_metrics
from sim.metrics.horizon import balances_not_settled, effect_still_moving
from sim.metrics.reported import reported_rows
from sim.metrics.results import (
    Comparison,
    Metric,
    MonthHealth,
    PolicyRef,
    RunRecord,
    Stat,
    Summary,
    Window,
)
from sim.metrics.schema import (
    DAILY,
    EXPERIMENT,
    RETENTION,
    RUN,
    RUN_INDEX,
    SUMMARY,
    Headline,
    RunTables,
    SummarySpec,
)
from sim.metrics.verdict import roi_verdict
from sim.text import format_value

__all__ = [
    "experiment_metrics",
    "format_value",
    "headline_metrics",
    "json_ready",
    "replication_metrics",
    "summarise",
    "t_interval",
]

KEYS = ["replication", "group"]
_SUMS = (
    "gmv",
    "orders",
    "points_issued",
    "points_burned",
    "points_expired",
    "points_cost",
    "programme_cost",
    "incentive_gmv",
    "active_members",
    "engaged_members",
    "revenue_allocated",
    "revenue_recognised",
    "breakage_recognised",
    "revenue_reestimated",
)


def headline_metrics(spec: SummarySpec) -> tuple[Headline, ...]:
    """The per-group metrics of the summary: :data:`SUMMARY` and one share per tier."""
    tiers = tuple(
        Headline(f"tier_{name}_share", "share", f"members in tier {name} at the end", "")
        for name in spec.tiers
    )
    return SUMMARY + tiers


# --- per replication --------------------------------------------------------------------------


def _check(frame: pd.DataFrame, table: str, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{table} table: missing column(s) {missing}; expected {list(columns)}")


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    """``num / den`` as floats, NaN where the denominator is zero."""
    den = den.astype(float)
    return num.astype(float) / den.where(den != 0)


def _one_point(tables: RunTables, spec: SummarySpec) -> None:
    daily = tables.daily
    if daily.empty:
        raise ValueError("daily table: no rows (the metric window is empty)")
    for col in ("scenario", "point"):
        values = sorted(map(str, daily[col].unique()))
        if len(values) > 1:
            raise ValueError(
                f"daily table: {col} has {len(values)} values {values[:5]}; summarise one "
                "scenario and sweep point at a time (filter the tables first)"
            )
    present = set(map(str, daily["group"].unique()))
    missing = [g for g in spec.groups if g not in present]
    if missing:
        raise ValueError(f"daily table: group(s) {missing} of the summary spec have no rows")
    if spec.control is not None and spec.control not in spec.groups:
        raise ValueError(f"summary spec: control={spec.control!r} is not one of {spec.groups}")


def replication_metrics(tables: RunTables, spec: SummarySpec) -> pd.DataFrame:
    """One row per (replication, group) of ``spec.groups``: every headline metric over the metric
    window, as floats (NaN where a metric is undefined, e.g. a ratio over zero), and the run's
    ``margin_rate``."""
    tier_cols = [f"tier_{name}" for name in spec.tiers]
    _check(tables.daily, "daily", [*KEYS, "day", *(c.name for c in DAILY), *tier_cols])
    _check(tables.runs, "runs", [*RUN_INDEX, *(c.name for c in RUN)])
    _check(tables.retention, "retention", [*KEYS, "age_days", *(c.name for c in RETENTION)])
    _one_point(tables, spec)

    daily = tables.daily[tables.daily["group"].isin(spec.groups)].sort_values([*KEYS, "day"])
    by = daily.groupby(KEYS, sort=True)
    sums = by[list(_SUMS)].sum().astype(float)
    last = by.tail(1).set_index(KEYS)
    means = by[["outstanding_points", "members", "active_members"]].mean()

    runs = tables.runs.drop_duplicates(KEYS, keep="last").set_index(KEYS)
    absent = sums.index.difference(runs.index)
    if len(absent):
        raise ValueError(f"runs table: no row for (replication, group) {list(absent)[:5]}")
    runs = runs.reindex(sums.index)
    days = runs["window_days"].astype(float)
    months = days / 30.0

    out = pd.DataFrame(index=sums.index)
    for name in ("gmv", "orders", "points_issued", "points_burned", "points_expired"):
        out[name] = sums[name]
    out["points_cost"] = sums["points_cost"]
    out["programme_cost"] = sums["programme_cost"]
    out["cost_ratio"] = _ratio(sums["points_cost"], sums["gmv"])
    urr = _ratio(sums["points_burned"], sums["points_burned"] + sums["points_expired"])
    out["liability_end"] = last["liability"].astype(float)
    out["outstanding_points_end"] = last["outstanding_points"].astype(float)
    window_start = pd.Timestamp(daily["day"].min())
    out = out.join(runoff_metrics(tables.cohorts, out.index, window_start))
    # the run-off's forecast of what share of the outstanding points will be redeemed
    out["expected_liability_end"] = out["liability_end"] * out["outstanding_redeemed_share"]
    out["liability_to_monthly_gmv"] = _ratio(out["liability_end"], sums["gmv"] / days * 30.0)
    out["deferred_revenue_end"] = last["deferred_revenue"].astype(float)
    first = by.head(1).set_index(KEYS)
    out["deferred_revenue_start"] = (
        first["deferred_revenue"] - first["revenue_allocated"] + first["revenue_recognised"]
    ).astype(float)
    for name in (
        "revenue_allocated",
        "revenue_recognised",
        "breakage_recognised",
        "revenue_reestimated",
    ):
        out[name] = sums[name]
    for name in ("expected_redemption_rate", "redemption_rate_estimate"):
        out[f"{name}_end"] = last[name].astype(float)
    out["earn_rate"] = _ratio(sums["points_issued"], sums["engaged_members"])
    out["burn_rate"] = _ratio(sums["points_burned"] / months, means["outstanding_points"])
    out["redemption_participation"] = _ratio(runs["redeemers_window"], runs["members"])
    out["breakage"] = _ratio(sums["points_expired"], sums["points_issued"])
    out["redeemed_share_of_settled"] = urr
    out["active_members_per_day"] = means["active_members"].astype(float)
    out["active_days_per_member_month"] = _ratio(sums["active_members"] / months, means["members"])
    out["engaged_days_per_member_month"] = _ratio(
        sums["engaged_members"] / months, means["members"]
    )
    out["repurchase_rate"] = _ratio(runs["repeat_buyers_window"], runs["buyers_window"])
    for age in (90, 365):
        at_age = tables.retention[tables.retention["age_days"] == age]
        retained = at_age.drop_duplicates(KEYS, keep="last").set_index(KEYS)["retained"]
        out[f"retention_{age}"] = retained.reindex(out.index).astype(float)
    out["churned_share"] = _ratio(runs["churned_end"], runs["members"])
    for name, col in zip(spec.tiers, tier_cols, strict=True):
        out[f"tier_{name}_share"] = _ratio(last[col], last["members"])
    out["margin_rate"] = runs["margin_rate"].astype(float)
    return out.replace([np.inf, -np.inf], np.nan)


def experiment_metrics(
    per_rep: pd.DataFrame, treatment: Hashable, control: Hashable
) -> pd.DataFrame:
    """Treatment minus control per replication (replications present in both groups), from
    :func:`replication_metrics`: the :data:`EXPERIMENT` metrics, and the difference of every
    headline metric under its own name. The margin rate is the treatment's policy's.

    ROI counts what the treatment leaves behind: the extra points forecast to be redeemed of
    those outstanding at the end (treatment minus control ``expected_redemptions_end``, from
    the run-off) cost the cash cost per redeemed point (the treatment's points cost / points
    burned). Without a run-off the extra outstanding points are taken at the treatment's
    redeemed share of the points settled in the window, burned / (burned + expired); 1 where
    nothing expired, so an upper bound on that cost."""
    t = per_rep.xs(treatment, level="group")
    c = per_rep.xs(control, level="group")
    reps = t.index.intersection(c.index)
    t, c = t.loc[reps], c.loc[reps]
    diff = (t - c).drop(columns=["margin_rate"])
    out = pd.DataFrame(index=reps)
    out["incremental_gmv"] = diff["gmv"]
    out["incremental_margin"] = diff["gmv"] * t["margin_rate"]
    out["margin_rate"] = t["margin_rate"]
    out["incremental_points_cost"] = diff["points_cost"]
    per_point = _ratio(t["points_cost"], t["points_burned"]).fillna(0.0)
    settled = diff["outstanding_points_end"] * t["redeemed_share_of_settled"].fillna(1.0)
    extra = diff["expected_redemptions_end"].where(t["expected_redemptions_end"].notna(), settled)
    out["outstanding_points_cost"] = extra * per_point
    out["roi"] = _ratio(
        out["incremental_margin"], out["incremental_points_cost"] + out["outstanding_points_cost"]
    )
    out["roi_redeemed_only"] = _ratio(out["incremental_margin"], out["incremental_points_cost"])
    out["liability_change"] = diff["liability_end"]
    out["retention_change"] = diff["retention_90"]
    out["active_change"] = diff["active_members_per_day"]
    out["cost_ratio_change"] = diff["cost_ratio"]
    return pd.concat([out, diff.add_prefix("diff_")], axis=1)


# --- over replications ------------------------------------------------------------------------


def t_interval(values: Sequence[float] | np.ndarray) -> dict[str, float | int | None]:
    """Mean, sample sd and a 95% t-interval of the finite values (``None`` where undefined:
    no finite value, or one value for sd and the interval)."""
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    n = int(arr.size)
    if n == 0:
        return {"mean": None, "ci_low": None, "ci_high": None, "sd": None, "n": 0}
    mean = float(arr.mean())
    if n == 1:
        return {"mean": mean, "ci_low": None, "ci_high": None, "sd": None, "n": 1}
    sd = float(arr.std(ddof=1))
    half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "sd": sd, "n": n}


def _stat(values: pd.Series, metric: Headline) -> Stat:
    return Stat(**t_interval(values.to_numpy(dtype=float)), unit=metric.unit, text=metric.text)


def _metric(values: pd.Series, metric: Headline, band: Band | None) -> Metric:
    st = t_interval(values.to_numpy(dtype=float))
    verdict = judge(st["mean"], st["ci_low"], st["ci_high"], band)
    return Metric(
        **st,
        unit=metric.unit,
        text=metric.text,
        band=band,
        status=None if verdict is None else verdict.status,
        side=None if verdict is None else verdict.side,
        certain=None if verdict is None else verdict.certain,
    )


MONTHLY = frozenset(
    {
        "gmv",
        "orders",
        "points_issued",
        "points_burned",
        "points_expired",
        "points_cost",
        "programme_cost",
        "cost_ratio",
        "liability_end",
        "outstanding_points_end",
        "liability_to_monthly_gmv",
        "earn_rate",
        "burn_rate",
        "breakage",
        "active_members_per_day",
        "active_days_per_member_month",
        "engaged_days_per_member_month",
    }
)
"""Headline metrics computed from the daily table alone, which can be judged month by month."""


MIN_MONTH_DAYS = 14
"""A partial month is judged on its own only with at least this many days in the window."""


def monthly_health(tables: RunTables, spec: SummarySpec) -> dict[str, dict[str, list[MonthHealth]]]:
    """Group -> banded metric -> its figure and verdict in each calendar month of the window
    (a partial first or last month over its days in the window, when it has at least
    :data:`MIN_MONTH_DAYS` of them: fewer would be noise)."""
    banded = [name for name in spec.bands if name in MONTHLY]
    out: dict[str, dict[str, list[MonthHealth]]] = {
        g: {name: [] for name in banded} for g in spec.groups
    }
    if not banded:
        return out
    daily = tables.daily
    for period, rows in daily.groupby(daily["day"].dt.to_period("M"), sort=True):
        n_days = int(rows["day"].nunique())
        if n_days < MIN_MONTH_DAYS:
            continue
        runs = tables.runs.assign(window_days=n_days)
        # the run-off forecasts the window's end, not a month's: left out (NaN) here
        month = RunTables(rows, tables.by_rule, tables.retention, runs, tables.cohorts.iloc[0:0])
        per_rep = replication_metrics(month, spec)
        for group in spec.groups:
            if group == spec.no_programme:
                continue  # a comparison arm: the bands are the programme's
            reps = per_rep.xs(group, level="group")
            for name in banded:
                st = t_interval(reps[name].to_numpy(dtype=float))
                health = judge(st["mean"], st["ci_low"], st["ci_high"], spec.bands[name])
                out[group][name].append(
                    MonthHealth(
                        month=str(period),
                        mean=st["mean"],
                        ci_low=st["ci_low"],
                        ci_high=st["ci_high"],
                        status=None if health is None else health.status,
                        side=None if health is None else health.side,
                    )
                )
    return out


def _comparison(
    per_rep: pd.DataFrame, spec: SummarySpec, group: str, vs: str, *, verdict: bool
) -> Comparison:
    """``group`` against ``vs`` on common random numbers (with the ROI verdict if asked)."""
    diff = experiment_metrics(per_rep, group, vs)
    figures = {m.name: _stat(diff[m.name], m) for m in EXPERIMENT}
    return Comparison(
        vs=vs,
        metrics=figures,
        differences={m.name: _stat(diff[f"diff_{m.name}"], m) for m in headline_metrics(spec)},
        verdict=roi_verdict(figures["roi"]) if verdict else None,
    )


def _window_warnings(tables: RunTables, spec: SummarySpec, treatments: list[str]) -> list[str]:
    """Whether the window holds what it measures (see :mod:`sim.metrics.horizon`)."""
    out = []
    if spec.control is not None:
        for group in treatments:
            moving = effect_still_moving(
                tables.daily, group, spec.control, spec.currency, t_interval
            )
            if moving:
                out.append(moving)
    first = spec.control if spec.control is not None else spec.groups[0]
    settle = balances_not_settled(tables.daily, first, spec.warmup_days, t_interval)
    if settle:
        out.append(settle)
    return out


def _runoff_warnings(per_rep: pd.DataFrame, spec: SummarySpec) -> list[str]:
    groups = [g for g in spec.groups if g != spec.no_programme]
    found = [runoff_caution(per_rep, g, spec.runoff_days, t_interval) for g in groups]
    found += [estimate_caution(per_rep, g, t_interval) for g in groups]
    return [text for text in found if text]


def summarise(tables: RunTables, spec: SummarySpec) -> Summary:
    """The summary of one scenario and sweep point (see the module docstring). An undefined
    figure (a ratio over zero, an interval from one replication) is ``None``."""
    per_rep = replication_metrics(tables, spec)
    by_month = monthly_health(tables, spec)
    metrics: dict[str, dict[str, Metric]] = {}
    for group in spec.groups:
        rows = per_rep.xs(group, level="group")
        bands = spec.bands if group != spec.no_programme else {}  # the programme's bands
        metrics[group] = {
            m.name: _metric(rows[m.name], m, bands.get(m.name)).model_copy(
                update={"months": by_month[group].get(m.name, [])}
            )
            for m in headline_metrics(spec)
        }

    experiment: dict[str, Comparison] | None = None
    control = spec.control
    treatments = [g for g in spec.groups if g not in (control, spec.no_programme)]
    if control is not None and treatments:
        experiment = {g: _comparison(per_rep, spec, g, control, verdict=True) for g in treatments}
    programme_effect: dict[str, Comparison] | None = None
    if spec.no_programme is not None:
        none = spec.no_programme
        programme_effect = {
            g: _comparison(per_rep, spec, g, none, verdict=False) for g in spec.groups if g != none
        }

    days = pd.DatetimeIndex(tables.daily["day"].unique())
    draft = Summary(
        scenario=spec.scenario,
        title=spec.title,
        currency=spec.currency,
        replications=int(tables.daily["replication"].nunique()),
        groups=list(spec.groups),
        control=control,
        window=Window(start=days.min().date(), end=days.max().date(), days=int(days.size)),
        policies={g: PolicyRef(**p) for g, p in spec.policies.items()},
        metrics=metrics,
        experiment=experiment,
        programme_effect=programme_effect,
        warnings=[
            *_window_warnings(tables, spec, treatments),
            *_runoff_warnings(per_rep, spec),
        ],
        reported=reported_rows(
            spec.reported,
            per_rep,
            next(g for g in spec.groups if g != spec.no_programme),
            spec.no_programme,
            lambda values: t_interval(values.to_numpy(dtype=float)),
        ),
        assumptions=list(spec.assumptions),
        run=RunRecord.model_validate(spec.run) if spec.run is not None else None,
        headline="",
    )
    return draft.model_copy(update={"headline": headline(draft)})


def json_ready(value: Any) -> Any:
    """``value`` with numpy scalars made Python and NaN/inf made ``None``, recursively."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --- words ------------------------------------------------------------------------------------


def _ci_text(st: Stat, unit: str, currency: str, *, signed: bool) -> str:
    """``95% CI a to b CUR``, or "" without an interval (one replication)."""
    if st.ci_low is None:
        return ""
    low = format_value(st.ci_low, unit, signed=signed).removesuffix(" pp")
    high = format_value(st.ci_high, unit, currency, signed=signed)
    return f"95% CI {low} to {high}"


def _diff_phrase(label: str, st: Stat, unit: str, currency: str) -> str:
    if st.mean is None:
        return f"{label} not measured"
    text = f"{label} {format_value(st.mean, unit, currency, signed=True)}"
    note = _ci_text(st, unit, currency, signed=True)
    low, high = st.ci_low, st.ci_high
    if low is not None and high is not None and low <= 0 <= high:
        note += ", not distinguishable from zero" if high > low else ", no change"
    return f"{text} ({note})" if note else text


def _level_phrase(label: str, st: Stat, unit: str, currency: str) -> str:
    if st.mean is None:
        return f"{label} not measured"
    text = f"{label} {format_value(st.mean, unit, currency)}"
    note = _ci_text(st, unit, currency, signed=False)
    return f"{text} ({note})" if note else text


def headline(summary: Summary) -> str:
    """One or two plain sentences per comparison: what the policy does to GMV, cost, liability
    and retention, with 95% confidence intervals over replications."""
    cur = summary.currency
    days = summary.window.days
    out = []
    if summary.experiment:
        for group, res in summary.experiment.items():
            m = res.metrics
            roi = m["roi"]
            rate = m["margin_rate"].mean if "margin_rate" in m else None
            roi_text = (
                "ROI not defined (no change in points cost)"
                if roi.mean is None
                else _level_phrase("ROI", roi, "ratio", cur)
                + " counting the extra points still outstanding at their expected cost"
                + ("" if rate is None else f", at a {rate:.0%} margin")
                + "; break-even is 1"
            )
            if res.verdict is not None:
                out.append(f"{res.verdict.text}.")
            out.append(
                f"Over {days:,} days, {group!r} against {res.vs!r}: "
                f"{_diff_phrase('GMV', m['incremental_gmv'], 'currency', cur)}, "
                f"{_diff_phrase('points cost', m['incremental_points_cost'], 'currency', cur)}"
                f", {roi_text}. "
                f"{_diff_phrase('Liability at the end', m['liability_change'], 'currency', cur)}"
                f"; {_diff_phrase('90-day retention', m['retention_change'], 'share', cur)}."
            )
    else:
        groups = [
            g
            for g in summary.groups
            if summary.programme_effect is None or g in summary.programme_effect
        ]
        for group in groups:
            lm = summary.metrics[group]
            who = f"{group!r}: over" if len(groups) > 1 else "Over"
            ratio = lm["cost_ratio"]
            verdict = ratio.health()
            where = f", {verdict.text()}" if verdict is not None else ""
            off_band = ratio.months_text()
            where += f" (month by month: {off_band})" if off_band else ""
            liab = lm["liability_to_monthly_gmv"].mean
            months = "" if liab is None else f", {liab:,.2g} months of GMV"
            out.append(
                f"{who} {days:,} days, {_level_phrase('GMV was', lm['gmv'], 'currency', cur)}"
                f"; redemptions cost "
                f"{format_value(lm['points_cost'].mean, 'currency', cur)}, "
                f"{_level_phrase('a cost ratio of', ratio, 'share', cur)}{where}. "
                f"{_level_phrase('Liability at the end was', lm['liability_end'], 'currency', cur)}"
                f"{months}; "
                f"{_level_phrase('90-day retention was', lm['retention_90'], 'share', cur)}."
            )
    for group, res in (summary.programme_effect or {}).items():
        m, d = res.metrics, res.differences
        base = summary.metrics[res.vs]["gmv"].mean
        share = m["incremental_gmv"].mean
        pct = f" ({share / base:+.1%})" if share is not None and base else ""
        out.append(
            f"The programme itself ({group!r} against {res.vs!r}, the same members with nothing"
            f" to earn or burn): {_diff_phrase('GMV', m['incremental_gmv'], 'currency', cur)}"
            f"{pct}; {_diff_phrase('orders', d['orders'], 'orders', cur)}; "
            f"{_diff_phrase('margin', m['incremental_margin'], 'currency', cur)} against "
            f"{_diff_phrase('points cost', m['incremental_points_cost'], 'currency', cur)}; "
            f"{_diff_phrase('90-day retention', m['retention_change'], 'share', cur)}."
        )
    out.extend(f"Caution: {w}" for w in summary.warnings)
    if summary.replications == 1:
        out.append("One replication only: no confidence intervals.")
    return " ".join(out)

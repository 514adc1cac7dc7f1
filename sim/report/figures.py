"""The report's figures, each from the result tables (:mod:`sim.metrics.schema`) alone.

Every builder takes a :class:`Context` and returns a :class:`~matplotlib.figure.Figure`, or
``None`` when the run has nothing to show for it (no experiment, no tiers, ...).
:func:`build_charts` draws them all and returns PNG bytes with a title and a "how to read this".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from sim.metrics.schema import RunTables, SummarySpec
from sim.report.plotting import (
    CAMPAIGN_COLOUR,
    by_replication,
    control_label,
    date_axis,
    group_colour,
    legend,
    mean_band,
    new_figure,
    plot_band,
    png_bytes,
    shade_campaigns,
    y_format,
)
from sim.text import band_text

__all__ = ["Chart", "Context", "build_charts"]

WIDTH = 11.0


@dataclass(frozen=True)
class Context:
    """What every figure builder reads."""

    tables: RunTables
    spec: SummarySpec
    campaigns: Sequence[tuple[str, date, date]]

    @property
    def start(self) -> pd.Timestamp:
        return pd.Timestamp(self.tables.daily["day"].min())

    @property
    def end(self) -> pd.Timestamp:
        return pd.Timestamp(self.tables.daily["day"].max())

    def daily(self, group: str) -> pd.DataFrame:
        d = self.tables.daily
        return d[d["group"] == group]

    def label(self, group: str) -> str:
        return control_label(group, self.spec.control)

    def colour(self, group: str) -> str:
        return group_colour(self.spec.groups, group)

    def time_axes(self, ax: Axes, *, legend_campaigns: bool = True) -> None:
        shade_campaigns(ax, self.campaigns, self.start, self.end, label=legend_campaigns)
        ax.set_xlim(self.start, self.end)  # type: ignore[arg-type]
        date_axis(ax)


@dataclass(frozen=True)
class Chart:
    """One drawn figure of the report."""

    key: str
    title: str
    how_to_read: str
    png: bytes


# --- builders ---------------------------------------------------------------------------------


def _side_by_side(
    ctx: Context, columns: tuple[str, str], titles: tuple[str, str], units: tuple[str, str]
) -> Figure:
    """Two daily columns over time, side by side, a mean line and 95% band per group; the
    y-label of each panel is its unit (the currency for money)."""
    fig = new_figure(WIDTH, 4.0)
    axes = fig.subplots(1, 2, squeeze=False)[0]
    for group in ctx.spec.groups:
        d = ctx.daily(group)
        for ax, column in zip(axes, columns, strict=True):
            band = mean_band(by_replication(d, column))
            plot_band(ax, band, ctx.colour(group), ctx.label(group))
    for ax, title, unit in zip(axes, titles, units, strict=True):
        ax.set_title(title)
        ax.set_ylabel(ctx.spec.currency if unit == "currency" else unit)
        y_format(ax, "points" if unit == "currency" else unit)
        ctx.time_axes(ax, legend_campaigns=ax is axes[0])
    legend(axes[0])
    return fig


def balances_figure(ctx: Context) -> Figure | None:
    return _side_by_side(
        ctx,
        ("outstanding_points", "liability"),
        (
            "Outstanding points (pending + available)",
            "Liability (outstanding points at their value)",
        ),
        ("points", "currency"),
    )


def flows_figure(ctx: Context) -> Figure | None:
    rules = ctx.tables.by_rule
    rules = rules[rules["group"].isin(ctx.spec.groups)]
    if rules.empty:
        return None
    monthly = (ctx.end - ctx.start).days > 120
    freq, width, word = ("M", 24.0, "month") if monthly else ("W", 5.5, "week")
    period = rules["day"].dt.to_period(freq).dt.start_time
    channels = sorted(map(str, rules["channel"].unique()))
    cmap = [
        "#4e79a7",
        "#f28e2b",
        "#59a14f",
        "#e15759",
        "#76b7b2",
        "#edc948",
        "#b07aa1",
        "#ff9da7",
        "#9c755f",
        "#bab0ac",
    ]
    colours = {c: cmap[i % len(cmap)] for i, c in enumerate(channels)}
    groups = list(ctx.spec.groups)
    fig = new_figure(WIDTH, 1.2 + 2.8 * len(groups))
    axes = fig.subplots(len(groups), 3, squeeze=False, sharex=True)
    for row, group in enumerate(groups):
        sel = rules["group"] == group
        reps = max(1, ctx.daily(group)["replication"].nunique())
        for col, (measure, title) in enumerate(
            (("earned", "earned"), ("burned", "redeemed"), ("expired", "expired"))
        ):
            ax: Axes = axes[row, col]
            table = (
                rules[sel]
                .assign(period=period[sel])
                .pivot_table(index="period", columns="channel", values=measure, aggfunc="sum")
                .reindex(columns=channels)
                .fillna(0.0)
                / reps
            )
            bottom = np.zeros(len(table))
            for channel in channels:
                values = table[channel].to_numpy(dtype=float)
                if values.any():
                    ax.bar(
                        table.index,
                        values,
                        width=width,
                        bottom=bottom,
                        color=colours[channel],
                        label=channel,
                        align="edge",
                    )
                    bottom += values
            ax.set_title(f"{ctx.label(group)}: points {title} per {word}", fontsize=10)
            y_format(ax, "points")
            shade_campaigns(ax, ctx.campaigns, ctx.start, ctx.end, label=False)
            date_axis(ax)
            if col == 0:
                ax.set_ylabel("points")
    handles = [Patch(color=colours[c]) for c in channels]
    labels = [f"channel: {c}" for c in channels]
    if ctx.campaigns:
        handles.append(Patch(color=CAMPAIGN_COLOUR, alpha=0.25))
        labels.append("campaign days")
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncols=min(len(labels), 6),
        frameon=False,
    )
    return fig


def cost_ratio_figure(ctx: Context) -> Figure | None:
    fig = new_figure(WIDTH, 4.0)
    ax = fig.subplots()
    days = ctx.tables.daily["day"].nunique()
    window = min(30, days)
    for group in ctx.spec.groups:
        d = ctx.daily(group).sort_values(["replication", "day"])
        roll = d.groupby("replication")[["points_cost", "gmv"]].rolling(window).sum()
        roll.index = d.index
        ratio = roll["points_cost"] / roll["gmv"].where(roll["gmv"] != 0)
        plot_band(ax, mean_band(by_replication(d, ratio)), ctx.colour(group), ctx.label(group))
    band = ctx.spec.bands.get("cost_ratio")
    if band is not None:
        low, high = band
        top = ax.get_ylim()[1]
        lo, hi = low if low is not None else 0.0, high if high is not None else top
        ax.axhspan(
            lo,
            hi,
            color="#2e9e5b",
            alpha=0.12,
            lw=0,
            label=f"healthy band {band_text(band, 'share')}",
        )
        ax.set_ylim(bottom=0, top=max(top, hi * 1.15))
    ax.set_title(f"Cost ratio: points cost / GMV over the last {window} days")
    ax.set_ylabel("points cost as % of GMV")
    y_format(ax, "share")
    ctx.time_axes(ax)
    legend(ax)
    return fig


def activity_figure(ctx: Context) -> Figure | None:
    return _side_by_side(
        ctx,
        ("active_members", "engaged_members"),
        ("Members buying per day", "Members with any action per day (engaged)"),
        ("members", "members"),
    )


def retention_figure(ctx: Context) -> Figure | None:
    ret = ctx.tables.retention
    ret = ret[ret["group"].isin(ctx.spec.groups)]
    if ret.empty:
        return None
    fig = new_figure(WIDTH, 4.0)
    ax = fig.subplots()
    for group in ctx.spec.groups:
        r = ret[ret["group"] == group]
        if not r.empty:
            band = mean_band(by_replication(r, "retained", index="age_days"))
            plot_band(ax, band, ctx.colour(group), ctx.label(group))
    ax.set_title("Retention by membership age")
    ax.set_xlabel("days since joining")
    ax.set_ylabel("members still active")
    y_format(ax, "share")
    ax.set_ylim(bottom=0)
    legend(ax)
    return fig


def tiers_figure(ctx: Context) -> Figure | None:
    tiers = list(ctx.spec.tiers)
    if len(tiers) < 2:
        return None
    groups = list(ctx.spec.groups)
    fig = new_figure(WIDTH, 0.8 + 2.9 * len(groups))
    axes = fig.subplots(len(groups), 1, squeeze=False, sharex=True)[:, 0]
    shades = ["#c6dbef", "#6baed6", "#2171b5", "#08306b", "#f4a582", "#b2182b"]
    colours = [shades[i % len(shades)] for i in range(len(tiers))]
    for ax, group in zip(axes, groups, strict=True):
        d = ctx.daily(group)
        members = d["members"].astype(float).where(d["members"] != 0)
        shares = [mean_band(by_replication(d, d[f"tier_{t}"] / members))["mean"] for t in tiers]
        ax.stackplot(shares[0].index, *shares, labels=tiers, colors=colours, alpha=0.95)
        ax.set_title(f"{ctx.label(group)}: share of members in each tier", fontsize=10)
        ax.set_ylabel("share of members")
        ax.set_ylim(0, 1)
        ax.set_xlim(ctx.start, ctx.end)  # type: ignore[arg-type]
        y_format(ax, "share")
        date_axis(ax)
        for i, (name, first, last) in enumerate(ctx.campaigns):
            for edge in (pd.Timestamp(first), pd.Timestamp(last) + pd.Timedelta(days=1)):
                if ctx.start <= edge <= ctx.end + pd.Timedelta(days=1):
                    ax.axvline(
                        edge,
                        color="#c07c00",
                        lw=1.2,
                        ls="--",  # type: ignore[arg-type]
                        label=f"campaign: {name}"
                        if edge == pd.Timestamp(first) and i < 4
                        else None,
                    )
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles[::-1], labels[::-1], loc="outside right upper", frameon=False)
    return fig


def experiment_figure(ctx: Context) -> Figure | None:
    control = ctx.spec.control
    treatments = [g for g in ctx.spec.groups if g != control]
    if control is None or not treatments:
        return None
    cur = ctx.spec.currency
    fig = new_figure(WIDTH, 0.6 + 3.6 * len(treatments))
    axes = fig.subplots(len(treatments), 2, squeeze=False)
    base = ctx.daily(control).set_index(["replication", "day"])[["gmv", "points_cost"]]
    for row, group in enumerate(treatments):
        left, right = axes[row]
        diff = (
            (ctx.daily(group).set_index(["replication", "day"])[["gmv", "points_cost"]] - base)
            .dropna()
            .reset_index()
            .sort_values(["replication", "day"])
        )
        by_rep = diff.groupby("replication")
        smooth = by_rep["gmv"].rolling(7, min_periods=1).mean()
        smooth.index = diff.index
        plot_band(
            left, mean_band(by_replication(diff, smooth)), ctx.colour(group), "GMV difference"
        )
        left.set_title(f"{group} minus {control}: daily GMV (7-day average)", fontsize=10)
        left.set_ylabel(f"{cur} per day")
        cum_gmv = by_rep["gmv"].cumsum()
        cum_cost = by_rep["points_cost"].cumsum()
        plot_band(
            right, mean_band(by_replication(diff, cum_gmv)), ctx.colour(group), "incremental GMV"
        )
        plot_band(
            right,
            mean_band(by_replication(diff, cum_cost)),
            "#e08a00",
            "incremental points cost",
            linestyle="--",
        )
        right.set_title(f"{group} minus {control}: cumulative", fontsize=10)
        right.set_ylabel(cur)
        for ax in (left, right):
            ax.axhline(0, color="#555555", lw=0.8)
            y_format(ax, "currency")
            ctx.time_axes(ax, legend_campaigns=ax is left)
            legend(ax)
    return fig


# --- all of them ------------------------------------------------------------------------------


def build_charts(
    tables: RunTables, spec: SummarySpec, campaigns: Sequence[tuple[str, date, date]] = ()
) -> list[Chart]:
    """Draw every figure that has data; the order is the report's."""
    days = tables.daily["day"]
    start, end = pd.Timestamp(days.min()), pd.Timestamp(days.max())
    shown = tuple(c for c in campaigns if pd.Timestamp(c[1]) < end and pd.Timestamp(c[2]) >= start)
    ctx = Context(tables, spec, shown)
    cur = spec.currency
    band = "; lighter bands: 95% interval over replications" if _reps(tables) > 1 else ""
    shade = "; yellow: campaign days" if shown else ""
    builders: list[tuple[str, str, Callable[[Context], Figure | None], str]] = [
        (
            "experiment",
            "Campaign effect: treatment minus control",
            experiment_figure,
            f"Left: how much more (above 0) or less GMV the treatment made each day, in {cur}. "
            "Right: the running totals of extra GMV and extra points cost; where the cost line "
            f"stays far below the GMV line the extra sales pay for the points{band}.",
        ),
        (
            "balances",
            "Outstanding points and liability",
            balances_figure,
            f"Points members hold but have not spent, and what they would cost in {cur} if "
            f"redeemed; a line that only climbs means liability is piling up{band}{shade}.",
        ),
        (
            "cost_ratio",
            "Cost ratio over time",
            cost_ratio_figure,
            "Share of GMV spent on redemptions over the last 30 days; the green region is the "
            f"healthy band, a line above it means rewards cost more than planned{band}{shade}.",
        ),
        (
            "flows",
            "Points earned, redeemed and expired by channel",
            flows_figure,
            "Points per period by the channel that moved them, averaged over replications; "
            "the first and last bars may cover part of a period.",
        ),
        (
            "activity",
            "Active members",
            activity_figure,
            f"Members who did anything on a day (left) and in the last 30 days (right){band}"
            f"{shade}.",
        ),
        (
            "retention",
            "Retention",
            retention_figure,
            "Of the members who have been members at least this many days, the share still "
            f"active at or after that age; higher and flatter is better{band}.",
        ),
        (
            "tiers",
            "Tier distribution",
            tiers_figure,
            "Share of members in each tier at the end of each day, highest tier on top.",
        ),
    ]
    charts = []
    for key, title, build, how in builders:
        fig = build(ctx)
        if fig is not None:
            charts.append(Chart(key, title, how, png_bytes(fig)))
    return charts


def _reps(tables: RunTables) -> int:
    return int(tables.daily["replication"].nunique())

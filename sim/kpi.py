"""The metric catalogue: what a run's result tables hold and which headline metrics its summary
reports, each metric with its unit and meaning.

A foundation module: declarations only, importing nothing of ours, so that every layer may read
it (the scenario checks its health bands against the headline names, the world writes the
tables, the analysis reads them; ``tests/test_layers.py``). :mod:`sim.metrics.schema`
re-exports these names.

Every reader (summary, report, sweep, notebooks) reads these tables and nothing else
(DESIGN.md sections 2 and 5). Money is in the programme's currency (float, statistics);
points are whole numbers.

``metrics.parquet``: one row per (scenario, point, replication, group, day), warm-up days
left out. ``by_rule.parquet``: one row per (..., day, rule) with non-zero movement.
``retention.parquet``: one row per (..., group, age_days): the survival curve by membership age.
``runs.parquet``: one row per (..., group).
``cohorts.parquet``: one row per (..., group, cohort_start, age): each issue cohort's
development, for the forecast of what outstanding points will still be redeemed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only the tables' container names it; readers of the catalogue need no pandas
    import pandas as pd

__all__ = [
    "BY_RULE",
    "BY_RULE_INDEX",
    "COHORT",
    "COHORT_INDEX",
    "COHORT_PERIOD_DAYS",
    "DAILY",
    "EXPERIMENT",
    "INDEX",
    "RETENTION",
    "RETENTION_INDEX",
    "RUN",
    "RUN_INDEX",
    "SUMMARY",
    "Column",
    "Headline",
    "RunTables",
]

INDEX = ("scenario", "point", "replication", "group", "day")
"""Index columns of ``metrics.parquet``: ``point`` is the sweep point (0 outside sweeps), ``day``
a date (``datetime64[ns]``), ``group`` the experiment group's name."""


@dataclass(frozen=True)
class Column:
    """A metric column of a result table."""

    name: str
    unit: str
    text: str


DAILY: tuple[Column, ...] = (
    Column("day_index", "days", "days since the horizon's start (warm-up days are negative)"),
    Column("members", "members", "members joined by the end of the day"),
    Column("new_members", "members", "members who joined today"),
    Column("alive", "members", "members who have not churned (simulation truth)"),
    Column("churned", "members", "members who churned today"),
    Column("active_members", "members", "members who bought today"),
    Column("active_30d", "members", "members who bought in the last 30 days"),
    Column(
        "engaged_members", "members", "members with any action today (buying, earning, redeeming)"
    ),
    Column("engaged_30d", "members", "members with any action in the last 30 days"),
    Column("orders", "orders", "purchases (one per buyer a day)"),
    Column("gmv", "currency", "purchase amount"),
    Column(
        "incentive_gmv",
        "currency",
        "expected part of today's purchases the loyalty factors brought, member by member (a"
        " diagnostic: it misses lifetimes and dropout; the programme's effect is the"
        " difference against a no-programme group, --no-programme)",
    ),
    Column("checkins", "events", "check-ins"),
    Column("actions", "events", "shares, reviews, logins, courses, surveys, profiles"),
    Column("redemptions", "events", "accepted burn events (catalogue, cash offset, lottery ...)"),
    Column("redeemers_30d", "members", "members who redeemed in the last 30 days"),
    Column("points_issued", "points", "new points (issued to pending or available)"),
    Column("points_released", "points", "pending points made available"),
    Column("points_burned", "points", "points redeemed"),
    Column("points_expired", "points", "points expired"),
    Column("points_reversed", "points", "points reversed by refunds"),
    Column("points_donated", "points", "points donated"),
    Column(
        "points_cost", "currency", "cash cost of what was redeemed (items, cash offset, prizes)"
    ),
    Column("programme_cost", "currency", "points cost plus the cost model's per-point costs"),
    Column("pending_points", "points", "pending points at the end of the day"),
    Column("available_points", "points", "available points at the end of the day"),
    Column("outstanding_points", "points", "pending + available at the end of the day"),
    Column("liability", "currency", "outstanding points at each member's point value"),
    Column(
        "revenue_allocated",
        "currency",
        "part of today's sales allocated to the points they issued (IFRS 15: relative"
        " stand-alone price, the policy's accounting.expected_redemption)",
    ),
    Column(
        "deferred_revenue",
        "currency",
        "contract liability for points from sales at the end of the day (IFRS 15)",
    ),
    Column(
        "revenue_recognised",
        "currency",
        "revenue recognised today from points (redemptions, breakage, catch-up)",
    ),
    Column(
        "breakage_recognised",
        "currency",
        "the part of revenue_recognised that is breakage: expected breakage in proportion to"
        " today's redemptions, and what is left of a cohort once none of its points is held",
    ),
    Column(
        "revenue_reestimated",
        "currency",
        "the part of revenue_recognised that is the catch-up on earlier redemptions when the"
        " expected redemption rate changed (negative when it rose)",
    ),
    Column(
        "expected_redemption_rate",
        "share",
        "share of the points from sales expected to be redeemed, in force at the day's end:"
        " the policy's accounting.expected_redemption, else the books' estimate (1 until"
        " one is supported)",
    ),
    Column(
        "redemption_rate_estimate",
        "share",
        "the books' own estimate of the ultimate redemption rate: chain ladder of every month"
        " cohort's redemptions, re-made at each month's end (NaN until the history supports"
        " one: a year of it, a nearly settled oldest cohort, a steady development;"
        " sim.accounting.books)",
    ),
    Column("value_factor", "ratio", "dynamic point value level (1: the anchor)"),
)
"""Metric columns of ``metrics.parquet``, besides one ``tier_<name>`` column per tier (members
holding it at the end of the day)."""

BY_RULE_INDEX = (*INDEX, "rule", "channel")
BY_RULE: tuple[Column, ...] = (
    Column("earned", "points", "points issued under the rule (pending or available)"),
    Column("burned", "points", "points redeemed under the rule"),
    Column("expired", "points", "points expired"),
    Column("reversed", "points", "points reversed"),
    Column("cost", "currency", "cash cost posted under the rule"),
)

RETENTION_INDEX = ("scenario", "point", "replication", "group", "age_days")
RETENTION: tuple[Column, ...] = (
    Column("eligible", "members", "members who had been members for at least age_days by the end"),
    Column("retained", "share", "share of those who bought at or after age_days"),
)


COHORT_PERIOD_DAYS = 30
"""Length of an issue cohort's period and of one age step, in days."""

COHORT_INDEX = ("scenario", "point", "replication", "group", "cohort_start", "age")
"""Index of ``cohorts.parquet``: ``cohort_start`` the first day of the cohort's period (periods
of :data:`COHORT_PERIOD_DAYS` days counted back from the last simulated day, warm-up included,
so every cohort's development ends on a period boundary; the first may start before the
simulation), ``age`` whole periods since it (0 ... the cohort's age at the end)."""
COHORT: tuple[Column, ...] = (
    Column(
        "runoff_period",
        "periods",
        "0 for ages reached by the window's end; j for the j-th period of the run-off after it",
    ),
    Column("issued", "points", "points issued in the cohort's period (the cohort's, every row)"),
    Column("redeemed", "points", "points of the cohort redeemed at this age (oldest first)"),
    Column("expired", "points", "points of the cohort expired at this age"),
    Column("reversed", "points", "points of the cohort reversed by refunds at this age"),
    Column("donated", "points", "points of the cohort donated at this age"),
    Column(
        "outstanding",
        "points",
        "points of the cohort still held at the window's end (the cohort's, every row)",
    ),
)


RUN_INDEX = ("scenario", "point", "replication", "group")
RUN: tuple[Column, ...] = (
    Column("members", "members", "members joined by the end"),
    Column("redeemers_window", "members", "members who redeemed in the metric window"),
    Column("buyers_window", "members", "members who bought in the metric window"),
    Column("repeat_buyers_window", "members", "members who bought twice or more in the window"),
    Column("churned_end", "members", "members churned by the end"),
    Column("window_days", "days", "days in the metric window"),
    Column("margin_rate", "share", "the policy's gross margin rate (cost.margin_rate)"),
    Column("point_value", "currency", "the policy's anchor point value"),
)
"""``runs.parquet``: one row per (scenario, point, replication, group), what the daily frame
cannot give (distinct members over the window)."""


@dataclass(frozen=True)
class Headline:
    """A headline metric of ``summary.json``; ``better`` is the direction a report calls good."""

    name: str
    unit: str
    text: str
    better: str  # "higher", "lower" or "" (no direction)


SUMMARY: tuple[Headline, ...] = (
    Headline("gmv", "currency", "GMV over the metric window", "higher"),
    Headline("orders", "orders", "orders over the metric window", "higher"),
    Headline("points_issued", "points", "points issued", ""),
    Headline("points_burned", "points", "points redeemed", ""),
    Headline("points_expired", "points", "points expired", ""),
    Headline("points_cost", "currency", "cash cost of redemptions", "lower"),
    Headline("programme_cost", "currency", "points cost plus per-point costs", "lower"),
    Headline("cost_ratio", "share", "points cost / GMV (healthy 1-3%)", ""),
    Headline("liability_end", "currency", "outstanding points' value at the end", "lower"),
    Headline("outstanding_points_end", "points", "points outstanding at the end", ""),
    Headline(
        "expected_liability_end",
        "currency",
        "liability at the end x outstanding_redeemed_share: the part of it expected to be"
        " redeemed (undefined without a run-off, horizon.runoff_days)",
        "lower",
    ),
    Headline(
        "expected_redemptions_end",
        "points",
        "points outstanding at the end forecast to be redeemed: redeemed in the run-off after"
        " the window plus the tail fitted past it",
        "",
    ),
    Headline(
        "outstanding_redeemed_share",
        "share",
        "expected_redemptions_end / the points outstanding at the end (1 - its breakage)",
        "",
    ),
    Headline(
        "outstanding_redeemed_in_runoff",
        "share",
        "of the points outstanding at the end, the share redeemed within the run-off (the"
        " forecast's lower bound)",
        "",
    ),
    Headline(
        "runoff_tail_share",
        "share",
        "part of expected_redemptions_end extrapolated past the run-off (0: the run-off saw"
        " every point leave)",
        "",
    ),
    Headline(
        "ultimate_redemption_rate",
        "share",
        "of the points issued by the cohorts in the window, the share redeemed by the"
        " run-off's end plus their part of the tail",
        "",
    ),
    Headline("liability_to_monthly_gmv", "ratio", "liability at the end / mean monthly GMV", ""),
    Headline(
        "deferred_revenue_start",
        "currency",
        "contract liability for points at the window's start: the roll forward's opening",
        "",
    ),
    Headline(
        "deferred_revenue_end",
        "currency",
        "contract liability for points from sales at the end (IFRS 15: allocated, less"
        " recognised in proportion to redemptions over expected redemptions)",
        "",
    ),
    Headline("revenue_allocated", "currency", "sales revenue allocated to points", ""),
    Headline("revenue_recognised", "currency", "revenue recognised from points", ""),
    Headline("breakage_recognised", "currency", "of which breakage", ""),
    Headline(
        "revenue_reestimated",
        "currency",
        "of which the catch-up when the expected redemption rate changed",
        "",
    ),
    Headline(
        "expected_redemption_rate_end",
        "share",
        "share of points from sales expected to be redeemed at the end (the policy's, else"
        " the books' estimate from history)",
        "",
    ),
    Headline(
        "redemption_rate_estimate_end",
        "share",
        "the books' chain-ladder estimate of the ultimate redemption rate at the end, made"
        " from the history up to then (undefined until one is supported)",
        "",
    ),
    Headline("earn_rate", "points", "points issued per engaged member-day", ""),
    Headline("burn_rate", "share", "points burned per month / mean outstanding points", ""),
    Headline(
        "redemption_participation", "share", "members who redeemed in the window / members", ""
    ),
    Headline("breakage", "share", "points expired / points issued", ""),
    Headline(
        "redeemed_share_of_settled",
        "share",
        "of the points that left the books in the window, the share redeemed rather than"
        " expired: burned / (burned + expired)",
        "higher",
    ),
    Headline("active_members_per_day", "members", "mean members buying a day", "higher"),
    Headline("active_days_per_member_month", "days", "buying days per member per month", "higher"),
    Headline(
        "engaged_days_per_member_month",
        "days",
        "days with any action (buying, earning, redeeming) per member per month",
        "higher",
    ),
    Headline("repurchase_rate", "share", "buyers in the window who bought again", "higher"),
    Headline("retention_90", "share", "members still buying 90 days after joining", "higher"),
    Headline("retention_365", "share", "members still buying 365 days after joining", "higher"),
    Headline("churned_share", "share", "members churned by the end / members", "lower"),
)
"""Headline metrics of ``summary.json`` (per group: mean and 95% CI over replications), besides
``tier_<name>_share`` (share of members in each tier at the end)."""

EXPERIMENT: tuple[Headline, ...] = (
    Headline("incremental_gmv", "currency", "treatment minus control GMV", "higher"),
    Headline("incremental_margin", "currency", "incremental GMV x margin rate", "higher"),
    Headline("margin_rate", "share", "the treatment policy's gross margin rate", ""),
    Headline("incremental_points_cost", "currency", "treatment minus control points cost", "lower"),
    Headline(
        "outstanding_points_cost",
        "currency",
        "expected cost of the extra points still outstanding at the end: extra points x the"
        " redemption rate x cash cost per redeemed point",
        "lower",
    ),
    Headline(
        "roi",
        "ratio",
        "incremental margin / (incremental points cost + outstanding_points_cost); break-even 1",
        "higher",
    ),
    Headline(
        "roi_redeemed_only",
        "ratio",
        "incremental margin / incremental points cost (the window's redemptions only)",
        "higher",
    ),
    Headline("liability_change", "currency", "change in liability at the end", "lower"),
    Headline("retention_change", "share", "change in retention_90", "higher"),
    Headline("active_change", "members", "change in mean members buying a day", "higher"),
    Headline("cost_ratio_change", "share", "change in cost ratio", ""),
)
"""Treatment-minus-control figures of ``summary.json`` (per replication on common random
numbers, then mean and 95% CI)."""


@dataclass
class RunTables:
    """The tables of one or more runs (replications, groups, sweep points), concatenated."""

    daily: pd.DataFrame
    """``metrics.parquet``: :data:`INDEX` + :data:`DAILY` + ``tier_<name>`` columns."""
    by_rule: pd.DataFrame
    """``by_rule.parquet``: :data:`BY_RULE_INDEX` + :data:`BY_RULE`."""
    retention: pd.DataFrame
    """``retention.parquet``: :data:`RETENTION_INDEX` + :data:`RETENTION`."""
    runs: pd.DataFrame
    """``runs.parquet``: :data:`RUN_INDEX` + :data:`RUN`."""
    cohorts: pd.DataFrame
    """``cohorts.parquet``: :data:`COHORT_INDEX` + :data:`COHORT`."""

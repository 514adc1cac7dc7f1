"""The summary: per-replication metrics, intervals over replications, experiment effects."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.metrics.results import Summary, SummaryError
from sim.metrics.schema import (
    BY_RULE,
    BY_RULE_INDEX,
    COHORT,
    COHORT_INDEX,
    DAILY,
    EXPERIMENT,
    INDEX,
    RETENTION,
    RETENTION_INDEX,
    RUN,
    RUN_INDEX,
    SUMMARY,
    RunTables,
    SummarySpec,
)
from sim.metrics.summary import (
    format_value,
    replication_metrics,
    summarise,
    t_interval,
)

START = pd.Timestamp("2026-01-01")
TIERS = ("base", "gold")
POINTS = {c.name for c in DAILY if c.unit == "points"}


def make_tables(
    groups: tuple[str, ...] = ("control", "treatment"),
    reps: int = 3,
    days: int = 120,
    *,
    gmv_lift: float = 50.0,
    cost_lift: float = 5.0,
    runoff: tuple[tuple[float, float], ...] = (),
) -> RunTables:
    """Synthetic tables that follow the schema exactly.

    Per day, control GMV is ``1000 + 200 r + 10 (d mod 7)`` (``r`` the replication: a common
    shock every group of that replication shares) and points cost ``20 + r``; every later group
    adds ``gmv_lift`` to GMV and ``cost_lift`` to points cost a day.

    Two issue cohorts hold 600 and 400 points at the window's end; ``runoff`` gives the
    (redeemed, expired) points of that stock in each run-off period (the first cohort's 60%,
    the second's 40%), none by default (no run-off).
    """
    rows, rules, ret, runs, cohorts = [], [], [], [], []
    for gi, group in enumerate(groups):
        k = 1 if gi else 0
        for r in range(reps):
            for d in range(days):
                day = START + pd.Timedelta(days=d)
                members = 1000 + d
                gold = 100 + d + 10 * k
                outstanding = 50_000 + 100 * d + 1000 * r
                issued, burned, expired = 2000 + 10 * r, 1500, 100 + k * 20
                row = {
                    "scenario": "demo",
                    "point": 0,
                    "replication": r,
                    "group": group,
                    "day": day,
                    "day_index": d,
                    "members": members,
                    "new_members": 1,
                    "alive": members - 5,
                    "churned": 0,
                    "active_members": 300 + 10 * r + 20 * k,
                    "active_30d": 600 + 10 * r + 30 * k,
                    "engaged_members": 500 + 10 * r + 20 * k,
                    "engaged_30d": 900 + 10 * r + 30 * k,
                    "orders": 40 + r,
                    "gmv": 1000.0 + 200 * r + 10 * (d % 7) + gmv_lift * k,
                    "incentive_gmv": 50.0 + gmv_lift * k,
                    "checkins": 100,
                    "actions": 30,
                    "redemptions": 12,
                    "redeemers_30d": 200,
                    "points_issued": issued,
                    "points_released": issued,
                    "points_burned": burned,
                    "points_expired": expired,
                    "points_reversed": 0,
                    "points_donated": 0,
                    "points_cost": 20.0 + r + cost_lift * k,
                    "programme_cost": 25.0 + r + cost_lift * k,
                    "pending_points": 1000,
                    "available_points": outstanding - 1000,
                    "outstanding_points": outstanding,
                    "liability": outstanding * 0.01,
                    "revenue_allocated": 5.0 + k,
                    "deferred_revenue": 300.0 + d + 10 * k,
                    "revenue_recognised": 4.0 + k,
                    "breakage_recognised": 0.5,
                    "revenue_reestimated": 0.25,
                    "expected_redemption_rate": 0.75,
                    "redemption_rate_estimate": 0.75,
                    "value_factor": 1.0,
                    "tier_base": members - gold,
                    "tier_gold": gold,
                }
                rows.append(row)
                for rule, channel, earned, burn, exp in (
                    ("spend", "purchase", issued - 300, 0, expired),
                    ("checkin", "checkin", 300, 0, 0),
                    ("coupon", "catalogue", 0, burned, 0),
                ):
                    rules.append(
                        {
                            **{c: row[c] for c in INDEX},
                            "rule": rule,
                            "channel": channel,
                            "earned": earned,
                            "burned": burn,
                            "expired": exp,
                            "reversed": 0,
                            "cost": row["points_cost"] if burn else 0.0,
                        }
                    )
            for age in range(0, days + 1, 30):
                ret.append(
                    {
                        **{c: row[c] for c in RETENTION_INDEX[:4]},
                        "age_days": age,
                        "eligible": 1000 - 5 * age,
                        "retained": 0.9 - age / 400 - 0.01 * r + 0.02 * k,
                    }
                )
            for c, (start, held, share) in enumerate(
                ((START, 600, 0.6), (START + pd.Timedelta(days=30), 400, 0.4))
            ):
                flows = [(0.0, 0.0)] * (2 - c) + list(runoff)
                for age, (red, exp) in enumerate(flows):
                    cohorts.append(
                        {
                            **{col: row[col] for col in COHORT_INDEX[:4]},
                            "cohort_start": start,
                            "age": age,
                            "runoff_period": max(age - (1 - c), 0),
                            "issued": held + 500,
                            "redeemed": round(red * share) + (250 if age == 0 else 0),
                            "expired": round(exp * share),
                            "reversed": 0,
                            "donated": 0,
                            "outstanding": held,
                        }
                    )
            runs.append(
                {
                    "scenario": "demo",
                    "point": 0,
                    "replication": r,
                    "group": group,
                    "members": 1000 + days - 1,
                    "redeemers_window": 200 + r,
                    "buyers_window": 600,
                    "repeat_buyers_window": 300 + 10 * r,
                    "churned_end": 50,
                    "window_days": days,
                    "margin_rate": 0.3,
                    "point_value": 0.01,
                }
            )
    daily = pd.DataFrame(rows)
    for col in POINTS | {
        "members",
        "new_members",
        "alive",
        "churned",
        "active_members",
        "active_30d",
        "engaged_members",
        "engaged_30d",
        "orders",
        "checkins",
        "actions",
        "redemptions",
        "redeemers_30d",
        "tier_base",
        "tier_gold",
        "day_index",
    }:
        daily[col] = daily[col].astype("int64")
    daily["day"] = daily["day"].astype("datetime64[ns]")
    by_rule = pd.DataFrame(rules)
    by_rule = by_rule[(by_rule[["earned", "burned", "expired"]] != 0).any(axis=1)]
    tables = RunTables(
        daily,
        by_rule.reset_index(drop=True),
        pd.DataFrame(ret),
        pd.DataFrame(runs),
        pd.DataFrame(cohorts),
    )
    assert list(tables.daily.columns) == [
        *INDEX,
        *(c.name for c in DAILY),
        "tier_base",
        "tier_gold",
    ]
    assert list(tables.by_rule.columns) == [*BY_RULE_INDEX, *(c.name for c in BY_RULE)]
    assert list(tables.retention.columns) == [*RETENTION_INDEX, *(c.name for c in RETENTION)]
    assert list(tables.runs.columns) == [*RUN_INDEX, *(c.name for c in RUN)]
    assert list(tables.cohorts.columns) == [*COHORT_INDEX, *(c.name for c in COHORT)]
    return tables


def make_spec(
    groups: tuple[str, ...] = ("control", "treatment"),
    control: str | None = "control",
    bands: dict[str, tuple[float | None, float | None]] | None = None,
) -> SummarySpec:
    return SummarySpec(
        scenario="demo",
        title="Double points in March",
        groups=groups,
        control=control,
        tiers=TIERS,
        bands={"cost_ratio": (0.01, 0.03)} if bands is None else bands,
        currency="CNY",
        policies={
            g: {"name": f"policy-{g}", "file": f"policies/{g}.toml", "content_hash": "ab12" * 16}
            for g in groups
        },
    )


@pytest.fixture
def tables() -> RunTables:
    return make_tables()


@pytest.fixture
def spec() -> SummarySpec:
    return make_spec()


def _control_gmv(r: int, days: int = 120) -> float:
    return sum(1000.0 + 200 * r + 10 * (d % 7) for d in range(days))


def test_cost_ratio_per_replication_and_its_interval(tables: RunTables, spec: SummarySpec) -> None:
    ratios = [120 * (20.0 + r) / _control_gmv(r) for r in range(3)]
    mean = sum(ratios) / 3
    sd = math.sqrt(sum((x - mean) ** 2 for x in ratios) / 2)
    half = 4.302652729911275 * sd / math.sqrt(3)  # t(0.975, 2 df)

    entry = summarise(tables, spec).metric("control", "cost_ratio")

    assert entry.n == 3
    assert entry.mean == pytest.approx(mean, rel=1e-12)
    assert entry.sd == pytest.approx(sd, rel=1e-9)
    assert entry.ci_low == pytest.approx(mean - half, rel=1e-9)
    assert entry.ci_high == pytest.approx(mean + half, rel=1e-9)
    assert entry.unit == "share"
    assert entry.band == (0.01, 0.03)
    assert entry.status == "inside" and entry.certain


def test_window_metrics_by_hand(tables: RunTables, spec: SummarySpec) -> None:
    per = replication_metrics(tables, spec).loc[(1, "control")]
    days, months = 120, 4.0
    gmv = _control_gmv(1)
    liability = (50_000 + 100 * 119 + 1000) * 0.01
    urr = 1500 / (1500 + 100)
    assert per["gmv"] == pytest.approx(gmv)
    assert per["orders"] == 41 * days
    assert per["liability_end"] == pytest.approx(liability)
    assert per["redeemed_share_of_settled"] == pytest.approx(urr)
    assert math.isnan(per["expected_liability_end"])  # no run-off in these tables
    assert per["liability_to_monthly_gmv"] == pytest.approx(liability / (gmv / days * 30))
    assert per["earn_rate"] == pytest.approx(2010 / 510)  # per engaged member-day
    mean_out = 50_000 + 1000 + 100 * 59.5
    assert per["burn_rate"] == pytest.approx(1500 * days / months / mean_out)
    assert per["redemption_participation"] == pytest.approx(201 / 1119)
    assert per["breakage"] == pytest.approx(100 / 2010)
    assert per["active_members_per_day"] == pytest.approx(310)
    assert per["active_days_per_member_month"] == pytest.approx(310 * days / 1059.5 / months)
    assert per["engaged_days_per_member_month"] == pytest.approx(510 * days / 1059.5 / months)
    assert per["repurchase_rate"] == pytest.approx(310 / 600)
    assert per["retention_90"] == pytest.approx(0.9 - 90 / 400 - 0.01)
    assert math.isnan(per["retention_365"])
    assert per["churned_share"] == pytest.approx(50 / 1119)
    assert per["tier_gold_share"] == pytest.approx(219 / 1119)
    assert per["tier_base_share"] == pytest.approx(900 / 1119)


def test_common_shocks_cancel_in_the_experiment(tables: RunTables, spec: SummarySpec) -> None:
    summary = summarise(tables, spec)
    assert summary.experiment is not None
    exp = summary.experiment["treatment"]
    assert exp.vs == "control"
    m = exp.metrics
    assert set(m) == {h.name for h in EXPERIMENT}
    # Control GMV differs by 200 a day between replications; the difference does not.
    sd = summary.metric("control", "gmv").sd
    assert sd is not None and sd > 10_000
    gmv = m["incremental_gmv"]
    assert gmv.mean == pytest.approx(50.0 * 120)
    assert gmv.sd == pytest.approx(0.0, abs=1e-6)
    assert gmv.ci_low == pytest.approx(6000.0)
    assert gmv.ci_high == pytest.approx(6000.0)
    assert m["incremental_margin"].mean == pytest.approx(6000.0 * 0.3)
    assert m["incremental_points_cost"].mean == pytest.approx(5.0 * 120)
    assert m["roi"].mean == pytest.approx(1800.0 / 600.0)
    assert m["retention_change"].mean == pytest.approx(0.02)
    assert m["active_change"].mean == pytest.approx(20.0)
    assert m["liability_change"].mean == pytest.approx(0.0)
    ratio_change = [
        (120 * (25.0 + r)) / (_control_gmv(r) + 6000) - 120 * (20.0 + r) / _control_gmv(r)
        for r in range(3)
    ]
    assert m["cost_ratio_change"].mean == pytest.approx(np.mean(ratio_change))
    assert exp.differences["gmv"].mean == pytest.approx(6000.0)
    assert "GMV +6,000 CNY" in summary.headline
    assert "not distinguishable from zero" not in summary.headline.split("Liability")[0]


def test_roi_is_none_when_the_cost_difference_is_zero() -> None:
    summary = summarise(make_tables(cost_lift=0.0), make_spec())
    roi = summary.effect("treatment", "roi")
    assert roi.mean is None and roi.ci_low is None and roi.n == 0
    assert "ROI not defined" in summary.headline
    json.loads(summary.to_json())


def test_roi_counts_the_extra_points_left_outstanding_at_their_expected_cost() -> None:
    """By hand: the treatment ends with 2,000 more points outstanding than the control. Its
    cash cost per redeemed point is (25 + r) x 120 / (1,500 x 120) in replication r, and it
    expects to redeem 1,500 / (1,500 + 120) of its points (burned / (burned + expired) a day),
    so those points are expected to cost 2,000 x (25 + r) / 1,620. ROI = margin 1,800 / (points
    cost 600 + that); without them (redemptions in the window only) it is 1,800 / 600 = 3."""
    tables = make_tables()
    daily = tables.daily
    last = (daily["group"] == "treatment") & (daily["day"] == daily["day"].max())
    daily.loc[last, "outstanding_points"] += 2000
    summary = summarise(tables, make_spec())
    expected_cost = [2000 * (25 + r) / 1620 for r in range(3)]
    roi = [1800 / (600 + c) for c in expected_cost]
    assert summary.effect("treatment", "outstanding_points_cost").mean == pytest.approx(
        np.mean(expected_cost)
    )
    assert summary.effect("treatment", "roi").mean == pytest.approx(np.mean(roi))
    assert summary.effect("treatment", "roi_redeemed_only").mean == pytest.approx(3.0)
    assert summary.effect("treatment", "margin_rate").mean == pytest.approx(0.3)
    assert np.mean(roi) == pytest.approx(2.8477, abs=1e-4)  # the figure a reader checks
    assert "at a 30% margin; break-even is 1" in summary.headline
    assert summary.experiment is not None
    verdict = summary.experiment["treatment"].verdict
    assert verdict is not None and verdict.outcome == "pays"
    assert summary.headline.startswith("It pays for itself: ROI 2.85 (95% CI")


def test_roi_with_nothing_left_outstanding_is_the_redeemed_only_roi(tables: RunTables) -> None:
    summary = summarise(tables, make_spec())
    assert summary.effect("treatment", "outstanding_points_cost").mean == pytest.approx(0.0)
    assert summary.effect("treatment", "roi").mean == pytest.approx(3.0)
    assert summary.effect("treatment", "roi_redeemed_only").mean == pytest.approx(3.0)


def test_status_against_bands(tables: RunTables) -> None:
    bands: dict[str, tuple[float | None, float | None]] = {
        "cost_ratio": (0.01, 0.03),
        "breakage": (None, 0.01),
        "retention_90": (0.95, None),
        "liability_to_monthly_gmv": (None, None),
    }
    m = summarise(tables, make_spec(bands=bands)).metrics["control"]
    assert m["cost_ratio"].status == "inside"
    assert (m["breakage"].status, m["breakage"].side) == ("outside", "high")
    assert m["breakage"].band == (None, 0.01)
    assert (m["retention_90"].status, m["retention_90"].side) == ("outside", "low")
    assert m["liability_to_monthly_gmv"].status == "inside"
    assert m["gmv"].status is None and m["gmv"].band is None
    narrow = summarise(tables, make_spec(bands={"cost_ratio": (0.0201, 0.03)}))
    cost = narrow.metric("control", "cost_ratio")
    assert cost.ci_low is not None and cost.ci_low < 0.0201 < (cost.ci_high or 0)
    assert (cost.status, cost.side) == ("straddling", "low")


def test_one_group_one_replication_has_no_interval_and_no_nan(tmp_path: Path) -> None:
    tables = make_tables(groups=("control",), reps=1, days=60)
    spec = make_spec(groups=("control",), control=None)
    summary = summarise(tables, spec)
    text = summary.to_json()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in summary.json"))
    assert summary.experiment is None
    assert summary.replications == 1
    assert json.loads(summary.window.model_dump_json()) == {
        "start": "2026-01-01",
        "end": "2026-03-01",
        "days": 60,
    }
    gmv = summary.metric("control", "gmv")
    assert gmv.n == 1 and gmv.ci_low is None and gmv.ci_high is None
    assert gmv.sd is None
    assert summary.metric("control", "retention_90").mean is None  # window too short
    assert "one replication" in summary.headline.lower()
    assert set(summary.metrics["control"]) == {h.name for h in SUMMARY} | {
        "tier_base_share",
        "tier_gold_share",
    }

    out = tmp_path / "summary.json"
    summary.write(out)
    assert Summary.read(out) == summary
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_nan_anywhere_never_reaches_json(tables: RunTables, spec: SummarySpec) -> None:
    tables.daily.loc[tables.daily["group"] == "control", "gmv"] = 0.0
    summary = summarise(tables, spec)
    json.loads(summary.to_json(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert summary.metric("control", "cost_ratio").mean is None
    assert summary.metric("control", "cost_ratio").status is None


def test_write_summary_is_atomic(
    tables: RunTables, spec: SummarySpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "summary.json"
    summary = summarise(tables, spec)

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("sim.files.os.replace", boom)
    with pytest.raises(OSError):
        summary.write(out)
    assert list(tmp_path.iterdir()) == []


def test_t_interval_matches_scipy() -> None:
    values = [1.0, 2.0, 4.0, float("nan")]
    st = t_interval(values)
    low, high = stats.t.interval(0.95, 2, loc=7 / 3, scale=stats.sem([1.0, 2.0, 4.0]))
    assert st["n"] == 3
    assert st["ci_low"] == pytest.approx(low) and st["ci_high"] == pytest.approx(high)
    assert t_interval([]) == {"mean": None, "ci_low": None, "ci_high": None, "sd": None, "n": 0}


def test_bad_tables_are_refused_with_the_column(tables: RunTables, spec: SummarySpec) -> None:
    with pytest.raises(ValueError, match=r"daily table: missing column.*liability"):
        summarise(
            RunTables(
                tables.daily.drop(columns="liability"),
                tables.by_rule,
                tables.retention,
                tables.runs,
                tables.cohorts,
            ),
            spec,
        )
    two_points = pd.concat([tables.daily, tables.daily.assign(point=1)])
    with pytest.raises(ValueError, match="one scenario and sweep point"):
        summarise(
            RunTables(two_points, tables.by_rule, tables.retention, tables.runs, tables.cohorts),
            spec,
        )
    with pytest.raises(ValueError, match="no rows"):
        summarise(tables, make_spec(groups=("control", "other")))


def test_format_value() -> None:
    assert format_value(1234567.891, "currency", "CNY") == "1,234,568 CNY"
    assert format_value(0.0185, "share") == "1.85%"
    assert format_value(0.004, "share", signed=True) == "+0.40 pp"
    assert format_value(-1500, "currency", "CNY", signed=True) == "-1,500 CNY"
    assert format_value(None, "points") == "–"
    assert format_value(float("nan"), "points") == "–"


def test_summary_json_schema_round_trip(
    tables: RunTables, spec: SummarySpec, tmp_path: Path
) -> None:
    """summary.json validates against the model's JSON Schema and reads back equal."""
    import jsonschema

    summary = summarise(tables, spec)
    out = tmp_path / "summary.json"
    summary.write(out)
    data = json.loads(out.read_text())
    jsonschema.validate(data, json.loads(Summary.json_schema_text()))
    assert data["schema_version"] == 2
    assert Summary.read(out) == summary
    assert Summary.parse(summary.to_json()).headline == summary.headline


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"scenario": "x"}', "schema_version 1"),
        (b"\xff\xfe", "not JSON"),
        (b'{"schema_version": 2, "scenario": "x"}', "title"),
    ],
)
def test_a_file_that_is_not_a_summary_is_refused_naming_it(text: bytes, expected: str) -> None:
    with pytest.raises(SummaryError, match=expected) as err:
        Summary.parse(text, "reports/x/summary.json")
    assert str(err.value).startswith("reports/x/summary.json: ")


def test_a_missing_summary_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SummaryError, match="cannot read"):
        Summary.read(tmp_path / "nope.json")


def test_the_shipped_json_schema_is_current() -> None:
    shipped = Path(__file__).resolve().parent.parent / "docs" / "summary.schema.json"
    assert shipped.read_text(encoding="utf-8") == Summary.json_schema_text(), (
        "docs/summary.schema.json is stale: write Summary.json_schema_text() to it"
    )


def test_a_band_inside_for_the_window_but_breached_in_a_month_names_the_month() -> None:
    """Constructed: points cost 20 + r a day (about 2% of GMV) from January to March and 5% of
    GMV in April, while the four months together stay at 2.4-2.7%, inside a 1-3% band: the
    window's verdict is inside, April is named outside."""
    tables = make_tables(groups=("control",))
    daily = tables.daily
    april = daily["day"] >= "2026-04-01"
    daily.loc[april, "points_cost"] = 0.05 * daily.loc[april, "gmv"]
    summary = summarise(tables, make_spec(groups=("control",), control=None))
    ratio = summary.metric("control", "cost_ratio")
    assert ratio.status == "inside"
    assert [m.month for m in ratio.months] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert [m.status for m in ratio.months] == ["inside", "inside", "inside", "outside"]
    assert ratio.months[-1].mean == pytest.approx(0.05)
    assert ratio.months[0].mean == pytest.approx(
        np.mean(
            [
                (20 + r) * 31 / sum(1000 + 200 * r + 10 * (d % 7) for d in range(31))
                for r in range(3)
            ]
        )
    )
    assert ratio.months[-1].side == "high"
    assert ratio.months_text() == "above its band in 2026-04"
    assert "(month by month: above its band in 2026-04)" in summary.headline
    json.loads(summary.to_json())


def test_a_metric_without_a_band_or_not_window_additive_has_no_months(
    tables: RunTables,
) -> None:
    spec = make_spec(bands={"cost_ratio": (0.01, 0.03), "retention_90": (0.5, None)})
    summary = summarise(tables, spec)
    assert len(summary.metric("control", "cost_ratio").months) == 4
    assert summary.metric("control", "retention_90").months == []  # not from the daily table
    assert summary.metric("control", "gmv").months == []  # no band


def test_liability_after_breakage_is_undefined_without_a_run_off() -> None:
    """A never-expire programme (nothing expired in the window): burned / (burned + expired)
    is 1 by construction, so liability x that rate would claim no breakage at all. Without a
    run-off nothing says what share of the outstanding points will be redeemed: the figure is
    left undefined rather than shown as face value."""
    tables = make_tables()
    tables.daily["points_expired"] = 0
    summary = summarise(tables, make_spec())
    assert summary.metric("control", "redeemed_share_of_settled").mean == pytest.approx(1.0)
    assert summary.metric("control", "expected_liability_end").mean is None
    assert summary.metric("control", "liability_end").mean is not None


def test_liability_after_breakage_from_a_run_off_that_saw_every_point_leave() -> None:
    """By hand: 1,000 points outstanding at the end; the run-off redeems 500 then 300 and
    expires 100 then 100, so 80% of them are redeemed, exactly (no tail)."""
    summary = summarise(make_tables(runoff=((500, 100), (300, 100))), make_spec())
    control = summary.metrics["control"]
    assert control["outstanding_redeemed_share"].mean == pytest.approx(0.8)
    assert control["outstanding_redeemed_in_runoff"].mean == pytest.approx(0.8)
    assert control["runoff_tail_share"].mean == pytest.approx(0.0)
    assert control["expected_redemptions_end"].mean == pytest.approx(800)
    liability = control["liability_end"].mean
    assert liability is not None
    assert control["expected_liability_end"].mean == pytest.approx(0.8 * liability)
    # the window's cohorts issued 1,100 + 900 points; redeemed 250 each at age 0, then 800
    assert control["ultimate_redemption_rate"].mean == pytest.approx((500 + 800) / 2000)
    assert summary.warnings == [] or all("extrapolation" not in w for w in summary.warnings)


def test_liability_after_breakage_for_a_never_expire_policy_is_below_face_value() -> None:
    """Nothing expires; the run-off redeems 300, 150 and 75 of 1,000 points and 475 are still
    held: the forecast lies between the run-off alone (52.5%) and everything held (100%), below
    face value, and the report says how much rests on the extrapolated tail."""
    tables = make_tables(runoff=((300, 0), (150, 0), (75, 0), (37.5, 0), (18.75, 0), (9.375, 0)))
    summary = summarise(
        tables,
        make_spec(),
    )
    control = summary.metrics["control"]
    share = control["outstanding_redeemed_share"].mean
    low = control["outstanding_redeemed_in_runoff"].mean
    assert low is not None and share is not None
    assert 0.55 < low < share < 1.0
    liability = control["liability_end"].mean
    assert liability is not None
    assert control["expected_liability_end"].mean == pytest.approx(share * liability)
    assert control["runoff_tail_share"].mean > 0.0

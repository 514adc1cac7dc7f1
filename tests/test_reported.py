"""Reported vs simulated: each figure a scenario's source reports, beside the simulated one
computed with a matching definition, or the reason there is none."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.metrics.reported import reported_rows
from sim.metrics.summary import t_interval


def _per_rep() -> pd.DataFrame:
    """Two groups x three replications of the metrics the definitions read."""
    rows = []
    for group, visits, cost in (("all", 3.8, 0.02), ("no_programme", 2.0, 0.0)):
        for r in range(3):
            rows.append(
                {
                    "replication": r,
                    "group": group,
                    "active_days_per_member_month": visits + 0.1 * r,
                    "engaged_days_per_member_month": visits + 1.0,
                    "repurchase_rate": 0.5,
                    "cost_ratio": cost,
                    "margin_rate": 0.25,
                }
            )
    return pd.DataFrame(rows).set_index(["replication", "group"])


def _interval(values: pd.Series) -> dict[str, float | int | None]:
    return t_interval(values.to_numpy(dtype=float))


REPORTED = {
    "visits_per_month_before": 2.1,
    "visits_per_month_after": 3.8,
    "visits_per_month_change": 0.81,
    "points_cost_share_of_revenue": 0.008,
    "members_buying_more_often": 0.82,
    "aum_change": 0.35,
    "something_else": 1.5,
    "note": "a string is not a figure",
}


def test_each_reported_figure_beside_its_simulated_definition() -> None:
    rows = {r.key: r for r in reported_rows(REPORTED, _per_rep(), "all", "no_programme", _interval)}
    assert "note" not in rows
    before, after, change = (rows[f"visits_per_month_{w}"] for w in ("before", "after", "change"))
    assert before.simulated == pytest.approx(2.1) and before.reported == 2.1
    assert after.simulated == pytest.approx(3.9)
    # per replication (3.8 + 0.1 r) / (2.0 + 0.1 r) - 1, then the mean
    expected = sum((3.8 + 0.1 * r) / (2.0 + 0.1 * r) - 1 for r in range(3)) / 3
    assert change.simulated == pytest.approx(expected) and change.unit == "share"
    assert change.ci_low is not None and change.ci_low < expected < change.ci_high
    assert "active_days_per_member_month" in after.definition
    revenue = rows["points_cost_share_of_revenue"]
    assert revenue.simulated == pytest.approx(0.02 / 0.25)
    assert rows["members_buying_more_often"].simulated is None
    assert "with and without the programme" in rows["members_buying_more_often"].reason
    assert rows["something_else"].reason == "no matching definition in the simulation"
    assert rows["aum_change"].reason == "assets under management are not simulated"


def test_before_and_change_need_the_no_programme_group() -> None:
    per_rep = _per_rep().drop(index="no_programme", level="group")
    rows = {r.key: r for r in reported_rows(REPORTED, per_rep, "all", None, _interval)}
    for key in ("visits_per_month_before", "visits_per_month_change"):
        assert rows[key].simulated is None
        assert "--no-programme" in rows[key].reason
    assert rows["visits_per_month_after"].simulated == pytest.approx(3.9)

"""Robustness: each behaviour assumption at the ends of its plausible range, one at a time, on
the same members and random numbers; ordering and verdict flips on constructed effects with a
known answer; resume and the CLI outputs on a tiny scenario."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from stylised_helpers import only
from world_helpers import scenario_file

from sim.cli import main
from sim.execute import Backend
from sim.sweep import robustness as rb

KEEP = ("reward_rate", "perceived_value", "redemption")
TWIN = """
[experiment]
control = "control"
[experiment.groups.control]
[experiment.groups.treatment]
set = { "earn.purchase.points_per_unit" = 2.0 }
"""


def _variants(tmp_path: Path) -> list[rb.Variant]:
    return rb.variants(scenario_file(tmp_path, extra=TWIN), sets=only(*KEEP))


def test_only_enabled_mechanisms_are_varied_at_both_ends(tmp_path: Path) -> None:
    vs = _variants(tmp_path)
    assert vs[0].end == "assumed" and vs[0].path is None
    varied = {v.path for v in vs[1:]}
    assert varied and all(p is not None and p.split(".")[1] in KEEP for p in varied)
    elasticity = [v for v in vs if v.path == "behaviour.reward_rate.elasticity"]
    assert [(v.end, v.value) for v in elasticity] == [("low", 1.0), ("high", 4.0)]
    for v in elasticity:  # the variant sets exactly its own value
        assert v.scenario.spec.behaviour.reward_rate.elasticity == v.value
    # an end equal to the assumed value is skipped (saturation's high end is its default)
    assert [v.end for v in vs if v.path == "behaviour.reward_rate.saturation"] == ["low"]


def test_swings_are_ordered_largest_first_and_flips_interpolate(tmp_path: Path) -> None:
    vs = _variants(tmp_path)
    # constructed effects: ROI 1.2 as assumed; the elasticity moves it most (0.8 .. 1.6)
    at = pd.Series({v.index: 1.2 for v in vs}, dtype=float)
    for v in vs:
        if v.path == "behaviour.reward_rate.elasticity":
            at[v.index] = 0.8 if v.end == "low" else 1.6
        if v.path == "behaviour.redemption.max_daily":
            at[v.index] = 1.1 if v.end == "low" else 1.3
    rows = rb.swings(vs, at)
    assert [r.path for r in rows[:2]] == [
        "behaviour.reward_rate.elasticity",
        "behaviour.redemption.max_daily",
    ]
    top = rows[0]
    assert (top.at_low, top.at_high) == (0.8, 1.6) and math.isclose(top.swing, 0.8)
    # ROI falls from 1.2 at 2.62 to 0.8 at 1.0: it crosses 1 half-way, at 1.81
    assert (
        rb.flips(top, 1.2) == "the verdict flips if behaviour.reward_rate.elasticity is below 1.81"
    )
    assert rb.flips(rows[1], 1.2) is None  # 1.1 .. 1.3: never below 1


def test_runs_resume_and_the_cli_writes_the_tornado(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    vs = _variants(tmp_path / "a")
    folder = tmp_path / "runs"
    first = rb.run(vs, folder, Backend.local(1))
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.parquet")}
    assert len(stamps) == len(vs)  # one replication
    again = rb.run(vs, folder, Backend.local(1))  # every run is there: nothing runs again
    assert {p.name: p.stat().st_mtime_ns for p in folder.glob("*.parquet")} == stamps
    pd.testing.assert_frame_equal(first, again)
    at = rb.effects(first, vs[0].scenario, "roi")
    assert len(at) == len(vs)

    out = tmp_path / "out"
    sets = [arg for s in only(*KEEP) for arg in ("--set", s)]
    result = CliRunner().invoke(
        main,
        ["run", str(scenario_file(tmp_path / "b", extra=TWIN)), *sets, "--workers", "1",
         "--robustness", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Robustness of roi (as assumed" in result.output
    table = pd.read_csv(out / "robustness.csv")
    assert list(table.columns[:6]) == ["assumption", "assumed", "low", "high", "roi_at_low",
                                       "roi_at_high"]  # fmt: skip
    assert table["swing"].is_monotonic_decreasing
    assert (out / "robustness.png").stat().st_size > 1000
    assert any((out / "robustness").glob("*.parquet"))
    assert "How far roi rests on each assumption" in (out / "report.html").read_text()


@pytest.mark.parametrize("bad", ["behaviour.reward_rate.saturation=1.5"])
def test_a_value_outside_a_parameter_bound_is_refused(tmp_path: Path, bad: str) -> None:
    from sim.scenario import ScenarioError

    with pytest.raises(ScenarioError, match="saturation"):
        rb.variants(scenario_file(tmp_path), sets=(bad,))

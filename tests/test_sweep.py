"""``pointsim sweep`` as a user runs it: planning and its errors, the outputs, common random
numbers, failures recorded, resume after a kill, and the same results on a Dask cluster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sweep_helpers import ROOT, SCENARIO, sweep, write_scenario

from sim.scenario import ScenarioError
from sim.sweep.plan import plan_sweep


def read_points(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "points.parquet")


# --- planning ---------------------------------------------------------------------------------


def test_grid_points_are_the_product_in_declared_order(tmp_path: Path) -> None:
    plan = plan_sweep(write_scenario(tmp_path))
    assert [p.values for p in plan.points] == [
        {"program.point_value": 0.01, "caps.daily": 100},
        {"program.point_value": 0.01, "caps.daily": 500},
        {"program.point_value": 0.02, "caps.daily": 100},
        {"program.point_value": 0.02, "caps.daily": 500},
    ]
    assert plan.points[3].scenario.arms[0].policy.caps.daily == 500
    assert plan.points[3].scenario.arms[0].policy.program.point_value == 0.02
    assert len({p.key for p in plan.points}) == 4
    assert len(plan.tasks()) == 4 * 2


@pytest.mark.parametrize("sampler", ["random", "lhs", "sobol"])
def test_ranges_are_sampled_the_same_every_time(tmp_path: Path, sampler: str) -> None:
    text = SCENARIO.replace(
        '"caps.daily" = [100, 500]', '"caps.daily" = { low = 100, high = 900 }'
    ).replace("[sweep]\n", f'[sweep]\nsampler = "{sampler}"\nsamples = 8\n')
    path = write_scenario(tmp_path, text)
    first, again = plan_sweep(path), plan_sweep(path)
    assert len(first.points) == 2 * 8
    assert [p.values for p in first.points] == [p.values for p in again.points]
    caps = [p.values["caps.daily"] for p in first.points[:8]]
    assert all(isinstance(c, int) and 100 <= c <= 900 for c in caps)
    assert len(set(caps)) >= 6  # spread over the range, not one value
    # the grid is crossed with the same samples
    assert caps == [p.values["caps.daily"] for p in first.points[8:]]
    # a money field sampled over a range stays valid (whole micro-units)
    money = plan_sweep(
        path, overrides={"parameters": {"program.point_value": {"low": 0.005, "high": 0.02}}}
    )
    assert {p.values["program.point_value"] for p in money.points} <= {
        p.scenario.arms[0].policy.program.point_value for p in money.points
    }
    if sampler == "lhs":  # one sample in each eighth of the range
        assert sorted((c - 100) * 8 // 801 for c in caps) == list(range(8))


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        (
            '"caps.daily" = [100, 500]',
            '"caps.dayly" = [100, 500]',
            ["sweep.parameters.caps.dayly", "no such field"],
        ),
        (
            '"caps.daily" = [100, 500]',
            '"caps.daily" = [100, "many"]',
            ["sweep.parameters.caps.daily", '"many"'],
        ),
        ('"caps.daily" = [100, 500]', '"caps.daily" = []', ["sweep.parameters.caps.daily"]),
        (
            '"caps.daily" = [100, 500]',
            '"caps.daily" = { low = 500, high = 500 }',
            ["sweep.parameters.caps.daily", "empty range"],
        ),
        (
            '"caps.daily" = [100, 500]',
            '"population.size" = [100, -5]',
            ["sweep.parameters.population.size", "-5"],
        ),
        (
            'maximize = "active_days_per_member_month"',
            'maximize = "happiness"',
            ["sweep.maximize", "happiness"],
        ),
        (
            'constraints = ["cost_ratio <= 0.05"]',
            'constraints = ["cost_ratio about 0.05"]',
            ["sweep.constraints", "METRIC OP NUMBER"],
        ),
        (
            "[sweep]\n",
            '[sweep]\nbaseline = { "caps.daily" = 7 }\n',
            ["sweep.baseline", "caps.daily=7"],
        ),
    ],
)
def test_an_invalid_sweep_fails_before_anything_runs(
    tmp_path: Path, old: str, new: str, named: list[str]
) -> None:
    assert old in SCENARIO
    path = write_scenario(tmp_path / "in", SCENARIO.replace(old, new))
    out = tmp_path / "out"
    result = sweep(path, "--out", out)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    for part in [str(path), *named]:
        assert part in result.output, f"{part!r} not in {result.output!r}"
    assert not out.exists()
    with pytest.raises(ScenarioError):
        plan_sweep(path)


def test_sobol_needs_a_power_of_two(tmp_path: Path) -> None:
    text = SCENARIO.replace(
        '"caps.daily" = [100, 500]', '"caps.daily" = { low = 100, high = 900 }'
    ).replace("[sweep]\n", '[sweep]\nsampler = "sobol"\nsamples = 6\n')
    result = sweep(write_scenario(tmp_path, text), "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "sweep.toml: sweep: samples(=6): Sobol sampling needs a power of 2" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--vary", "caps.daily=300"], ["--vary", "expected PATH=[v1, v2, ...]"]),
        (["--vary", "caps.weekly_cap=[1, 2]"], ["sweep.parameters.caps.weekly_cap"]),
        (["--subject-to", "cost_ratio<=lots"], ["sweep.constraints", "METRIC OP NUMBER"]),
        (["--maximize", "gmv", "--minimize", "cost_ratio"], ["--maximize or --minimize"]),
        (["--scheduler", "tcp://127.0.0.1:9"], ["--scheduler", "cannot reach"]),
        (["--group", "treatment"], ["sweep.group", "treatment"]),
    ],
)
def test_bad_options_fail_before_anything_is_written(
    tmp_path: Path, args: list[str], named: list[str]
) -> None:
    path = write_scenario(tmp_path / "in")
    out = tmp_path / "out"
    result = sweep(path, "--out", out, *args)
    assert result.exit_code in (1, 2), result.output
    for part in named:
        assert part in result.output, f"{part!r} not in {result.output!r}"
    assert not out.exists()


# --- running ----------------------------------------------------------------------------------


def test_sweep_writes_runs_points_summary_and_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = sweep(write_scenario(tmp_path), "--out", out, "--workers", "2")
    assert result.exit_code == 0, result.output
    runs = sorted(p.name for p in (out / "runs").glob("*.parquet"))
    assert runs == [f"p{p:05d}-r{r:04d}.parquet" for p in range(4) for r in range(2)]
    dataset = pd.read_parquet(out / "runs")  # the folder reads as one Parquet dataset
    assert len(dataset) == 8 and set(dataset["status"]) == {"ok"}
    points = read_points(out)
    assert list(points["point"]) == [0, 1, 2, 3]
    assert list(points["caps.daily"]) == [100, 500, 100, 500]
    for metric in ("cost_ratio", "gmv", "retention_90", "breakage", "roi"):
        assert f"{metric}_ci_low" in points
    assert points["runs_ok"].tolist() == [2, 2, 2, 2]
    assert np.isnan(points.loc[0, "roi"])  # point 0 is the baseline
    assert points["gmv"].gt(0).all()
    # the mean is the mean of the runs
    gmv0 = dataset.loc[dataset["point"] == 0, "gmv"].mean()
    assert points.loc[0, "gmv"] == pytest.approx(gmv0)
    summary = json.loads((out / "sweep.json").read_text())
    assert summary["runs"] == {"planned": 8, "ok": 8, "failed": 0, "failures": []}
    best = summary["best"]
    assert best["metric"] == "active_days_per_member_month" and best["point"] is not None
    feasible = points[points["cost_ratio"] <= 0.05]
    assert best["point"] == int(feasible.loc[feasible[best["metric"]].idxmax(), "point"])
    assert best["text"].splitlines()[0] in result.output
    html = (out / "sweep.html").read_text()
    assert "<img" in html and "Tiny sweep" in html


def test_points_share_their_random_numbers(tmp_path: Path) -> None:
    """Points that differ only in a field the simulation does not read (the programme's
    title) give identical results: a run's numbers come from (scenario, replication) only."""
    path = write_scenario(tmp_path)
    out = tmp_path / "out"
    result = sweep(
        path, "--out", out, "--vary", 'program.title=["a", "b", "c"]', "--workers", "2",
        "--vary", "caps.daily=[300]", "--vary", "program.point_value=[0.01]",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    runs = pd.read_parquet(out / "runs")
    metrics = runs.drop(columns=["point", "key", "seconds"]).set_index(["replication", "group"])
    by_point = [metrics[runs["point"].to_numpy() == p] for p in range(3)]
    pd.testing.assert_frame_equal(by_point[0], by_point[1])
    pd.testing.assert_frame_equal(by_point[0], by_point[2])
    # ... while replications differ
    assert by_point[0]["gmv"].nunique() == 2


def test_a_failing_point_is_recorded_and_the_rest_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_scenario(tmp_path)
    out = tmp_path / "out"
    monkeypatch.setenv("POINTSIM_FAIL_POINTS", "1")
    result = sweep(path, "--out", out, "--workers", "2")
    assert result.exit_code == 3, result.output
    assert "2 run(s) failed" in result.output
    runs = pd.read_parquet(out / "runs")
    failed = runs[runs["status"] == "failed"]
    assert sorted(failed["point"].unique()) == [1]
    assert failed["error"].str.contains("injected failure").all()
    assert set(runs.loc[runs["point"] != 1, "status"]) == {"ok"}
    summary = json.loads((out / "sweep.json").read_text())
    assert summary["runs"]["failed"] == 2
    assert {f["point"] for f in summary["runs"]["failures"]} == {1}
    points = read_points(out)
    assert points.loc[1, "runs_failed"] == 2 and np.isnan(points.loc[1, "gmv"])
    assert (out / "sweep.html").is_file()

    # fixed: started again, only the failed runs run
    monkeypatch.delenv("POINTSIM_FAIL_POINTS")
    again = sweep(path, "--out", out, "--workers", "2")
    assert again.exit_code == 0, again.output
    assert "6 of 8 run(s) already finished: skipped" in again.output
    assert set(pd.read_parquet(out / "runs")["status"]) == {"ok"}


@pytest.mark.slow
def test_a_killed_sweep_resumes_where_it_stopped(tmp_path: Path) -> None:
    text = SCENARIO.replace('"caps.daily" = [100, 500]', '"caps.daily" = [100, 200, 300, 500]')
    path = write_scenario(tmp_path, text)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "sim", "sweep", str(path), "--out", str(out), "--workers", "1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(list((out / "runs").glob("*.parquet"))) < 3:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    kept = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.parquet")}
    assert 3 <= len(kept) < 16

    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"{len(kept)} of 16 run(s) already finished: skipped" in again.stderr
    for name, mtime in kept.items():  # finished runs were not run again
        assert (out / "runs" / name).stat().st_mtime_ns == mtime
    assert not list((out / "runs").glob(".*.tmp"))

    whole = tmp_path / "whole"
    ref = sweep(path, "--out", whole, "--workers", "2", "--no-report")
    assert ref.exit_code == 0, ref.output
    pd.testing.assert_frame_equal(read_points(out), read_points(whole))


@pytest.mark.slow
def test_a_dask_cluster_gives_the_local_pool_s_results(tmp_path: Path) -> None:
    from distributed import LocalCluster

    path = write_scenario(tmp_path)
    local = tmp_path / "local"
    assert sweep(path, "--out", local, "--workers", "2", "--no-report").exit_code == 0
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        result = sweep(path, "--out", tmp_path / "dask", "--scheduler", cluster.scheduler_address)
    assert result.exit_code == 0, result.output
    assert "on the Dask cluster at" in result.output
    pd.testing.assert_frame_equal(read_points(local), read_points(tmp_path / "dask"))
    a = pd.read_parquet(local / "runs").drop(columns="seconds")
    b = pd.read_parquet(tmp_path / "dask" / "runs").drop(columns="seconds")
    pd.testing.assert_frame_equal(a, b)


def test_a_changed_point_runs_again_and_old_files_are_not_read(tmp_path: Path) -> None:
    path = write_scenario(tmp_path)
    out = tmp_path / "out"
    assert sweep(path, "--out", out, "--workers", "1", "--no-report").exit_code == 0
    before = read_points(out)
    # the same sweep with point 3 changed (caps 500 -> 700) and one replication less
    changed = write_scenario(
        tmp_path,
        SCENARIO.replace("[100, 500]", "[100, 700]").replace(
            "replications = 2", "replications = 1"
        ),
    )
    result = sweep(changed, "--out", out, "--workers", "1", "--no-report")
    assert result.exit_code == 0, result.output
    assert "2 of 4 run(s) already finished: skipped" in result.output
    after = read_points(out)
    assert list(after["runs_ok"]) == [1, 1, 1, 1]
    assert after.loc[0, "gmv"] == pytest.approx(
        pd.read_parquet(out / "runs" / "p00000-r0000.parquet")["gmv"].iloc[0]
    )
    assert before.loc[0, "gmv_n"] == 2


def test_an_experiment_sweep_gives_each_point_the_run_command_s_effect(tmp_path: Path) -> None:
    """In a scenario with a control, the analysed treatment's effect against the control in
    each point (``vs_control_*``) is what ``pointsim run`` reports for that point."""
    text = SCENARIO.replace(
        "[sweep]",
        '[experiment]\ncontrol = "control"\n[experiment.groups.control]\n'
        '[experiment.groups.treatment]\nset = { "caps.daily" = 2000 }\n\n[sweep]',
    ).replace(
        '"program.point_value" = [0.01, 0.02]\n"caps.daily" = [100, 500]',
        '"earn.purchase.points_per_unit" = [1.0, 3.0]',
    )
    path = write_scenario(tmp_path, text)
    out = tmp_path / "out"
    result = sweep(path, "--out", out, "--maximize", "vs_control_incremental_gmv")
    assert result.exit_code == 0, result.output
    points = read_points(out)
    assert list(points["group"]) == ["control", "treatment"] * 2
    treated = points[points["group"] == "treatment"].set_index("point")
    assert points.loc[points["group"] == "control", "vs_control_roi"].isna().all()

    from click.testing import CliRunner

    from sim.cli import main

    run_out = tmp_path / "run"
    args = ["run", str(path), "--set", "earn.purchase.points_per_unit=3.0", "--out", str(run_out)]
    ran = CliRunner().invoke(main, [*args, "--no-report"])
    assert ran.exit_code == 0, ran.output
    effect = json.loads((run_out / "summary.json").read_text())["experiment"]["treatment"]
    for name in ("incremental_gmv", "incremental_points_cost", "liability_change"):
        assert treated.loc[1, f"vs_control_{name}"] == pytest.approx(
            effect["metrics"][name]["mean"], rel=1e-9, abs=1e-9
        )
        assert treated.loc[1, f"vs_control_{name}_ci_low"] == pytest.approx(
            effect["metrics"][name]["ci_low"], rel=1e-9, abs=1e-9
        )


def test_restart_runs_everything_again(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, SCENARIO.replace("replications = 2", "replications = 1"))
    out = tmp_path / "out"
    assert sweep(path, "--out", out, "--workers", "1", "--no-report").exit_code == 0
    before = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.parquet")}
    again = sweep(path, "--out", out, "--workers", "1", "--no-report", "--restart")
    assert again.exit_code == 0, again.output
    assert "already finished" not in again.output and "4 run(s) in" in again.output
    after = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.parquet")}
    assert before.keys() == after.keys()
    assert all(after[name] != before[name] for name in before)


def test_a_sweep_where_no_point_keeps_the_constraints_exits_1_naming_the_binding_one(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    result = sweep(
        write_scenario(tmp_path), "--out", out, "--workers", "2", "--no-report",
        "--subject-to", "cost_ratio<=0.000001",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "error: No point keeps cost_ratio <= 1e-06: cost_ratio <= 1e-06 holds at no point" in (
        result.output
    )
    assert "(closest: point" in result.output
    summary = json.loads((out / "sweep.json").read_text())  # the analysis is written all the same
    assert summary["best"]["point"] is None

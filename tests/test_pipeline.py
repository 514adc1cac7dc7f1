"""One pipeline for runs and sweeps: a run is a one-point sweep on the same executor, so a run
on a Dask cluster, a run in this process and a sweep's kept daily tables are the same tables;
a sweep started again after every run finished re-analyses and exits 0."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result
from sweep_helpers import sweep, write_scenario

from sim.cli import main
from sim.execute import Backend, RunTask, execute, scenario_key
from sim.scenario import load_scenario

TABLES = ("metrics.parquet", "by_rule.parquet", "retention.parquet", "runs.parquet")


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, ["run", *map(str, args)])


def assert_same_tables(a: Path, b: Path) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(
            pd.read_parquet(a / name), pd.read_parquet(b / name), check_exact=True
        )


@pytest.mark.slow
def test_a_run_on_a_dask_cluster_writes_the_local_run_s_tables(tmp_path: Path) -> None:
    from distributed import LocalCluster

    path = write_scenario(tmp_path)
    local = run(path, "--out", tmp_path / "local", "--workers", "2", "--no-report")
    assert local.exit_code == 0, local.output
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        remote = run(
            path, "--out", tmp_path / "dask", "--scheduler", cluster.scheduler_address,
            "--no-report",
        )  # fmt: skip
    assert remote.exit_code == 0, remote.output
    assert "the Dask cluster at" in remote.output
    assert_same_tables(tmp_path / "local", tmp_path / "dask")
    assert (tmp_path / "local" / "summary.json").read_bytes() == (
        tmp_path / "dask" / "summary.json"
    ).read_bytes()


def test_an_unreachable_scheduler_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "in")
    result = run(path, "--out", tmp_path / "out", "--scheduler", "tcp://127.0.0.1:9")
    assert result.exit_code == 1, result.output
    assert "--scheduler tcp://127.0.0.1:9: cannot reach a Dask scheduler" in result.output
    assert not (tmp_path / "out").exists()


def test_inline_and_local_processes_give_the_same_outputs(tmp_path: Path) -> None:
    sc = load_scenario(write_scenario(tmp_path), replications=2)
    tasks = [RunTask(0, r, scenario_key(sc), sc) for r in range(2)]
    inline = {o.task.replication: o for o in execute(tasks, Backend.local(1), "daily")}
    pooled = {o.task.replication: o for o in execute(tasks, Backend("processes", 2), "daily")}
    for r in range(2):
        a, b = inline[r], pooled[r]
        assert a.ok and b.ok
        assert a.tables is not None and b.tables is not None
        pd.testing.assert_frame_equal(a.tables.daily, b.tables.daily, check_exact=True)
        pd.testing.assert_frame_equal(
            a.rows.drop(columns="seconds"), b.rows.drop(columns="seconds"), check_exact=True
        )
    assert list(execute([], Backend("processes", 2))) == [], "nothing to run starts nothing"


def test_a_sweep_started_again_after_every_run_finished_reanalyses(tmp_path: Path) -> None:
    path = write_scenario(tmp_path)
    out = tmp_path / "out"
    first = sweep(path, "--out", out, "--workers", "2", "--no-report")
    assert first.exit_code == 0, first.output
    points = pd.read_parquet(out / "points.parquet")
    (out / "points.parquet").unlink()
    (out / "sweep.json").unlink()
    again = sweep(path, "--out", out, "--workers", "2")  # every run is there: 0 to run
    assert again.exit_code == 0, again.output
    assert "8 of 8 run(s) already finished: skipped" in again.output
    assert "0 run(s)" in again.output
    pd.testing.assert_frame_equal(pd.read_parquet(out / "points.parquet"), points)
    assert (out / "sweep.json").is_file() and (out / "sweep.html").is_file()


def test_kept_daily_tables_are_the_run_command_s_tables_for_that_point(tmp_path: Path) -> None:
    path = write_scenario(tmp_path)
    out = tmp_path / "sweep"
    result = sweep(path, "--out", out, "--workers", "2", "--no-report", "--keep", "daily")
    assert result.exit_code == 0, result.output
    daily = pd.read_parquet(out / "daily" / "metrics")
    assert sorted(daily["point"].unique()) == [0, 1, 2, 3]
    assert sorted(os.listdir(out / "daily")) == ["by_rule", "metrics", "retention"]
    # point 3 is program.point_value=0.02, caps.daily=500 (grid order); replication 1
    one = run(
        path, "--out", tmp_path / "run", "--workers", "1", "--no-report",
        "--set", "program.point_value=0.02", "--set", "caps.daily=500",
    )  # fmt: skip
    assert one.exit_code == 0, one.output
    for table in ("metrics", "by_rule", "retention"):
        kept = pd.read_parquet(out / "daily" / table / "p00003-r0001.parquet")
        ran = pd.read_parquet(tmp_path / "run" / f"{table}.parquet")
        ran = ran[ran["replication"] == 1].reset_index(drop=True)
        pd.testing.assert_frame_equal(
            kept.drop(columns="point"), ran.drop(columns="point"), check_exact=True
        )
    # started again with --keep daily: nothing to run; a run missing its daily file runs again
    (out / "daily" / "metrics" / "p00002-r0000.parquet").unlink()
    again = sweep(path, "--out", out, "--workers", "1", "--no-report", "--keep", "daily")
    assert again.exit_code == 0, again.output
    assert "7 of 8 run(s) already finished" in again.output
    assert (out / "daily" / "metrics" / "p00002-r0000.parquet").is_file()


def test_a_sweep_reads_each_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Points are built in memory from the parsed scenario and policy, not by reading the
    files again for every point and every value checked."""
    import sim.policy.load as policy_load
    from sim.sweep.plan import plan_sweep

    path = write_scenario(tmp_path)
    reads: list[Path] = []
    real = policy_load.read_toml

    def counting(p: Path | str) -> dict[str, object]:
        reads.append(Path(p).resolve())
        return real(p)

    monkeypatch.setattr(policy_load, "read_toml", counting)
    monkeypatch.setattr("sim.scenario.load.read_toml", counting)
    plan = plan_sweep(path)
    assert len(plan.points) == 4
    assert sorted(map(str, reads)) == sorted({str(p) for p in reads}), "a file read twice"
    assert len(reads) == 2  # the scenario and its policy


def test_a_failed_replication_stops_the_run_with_nothing_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_scenario(tmp_path / "in")
    monkeypatch.setenv("POINTSIM_FAIL_POINTS", "0")
    result = run(path, "--out", tmp_path / "out", "--workers", "2")
    assert result.exit_code == 1, result.output
    assert "tiny_sweep: replication" in result.output and "injected failure" in result.output
    assert not (tmp_path / "out").exists()

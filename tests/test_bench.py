"""The benchmark scripts run and end with a JSON line of figures (speed is not asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def bench_figures(script: str, *args: str, timeout: float = 300) -> dict[str, Any]:
    """Run ``bench/SCRIPT ARGS`` and read the JSON object on its last line."""
    out = subprocess.run(
        [sys.executable, f"bench/{script}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout,
    )
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


@pytest.mark.slow
def test_engine_bench_prints_its_figures_as_json() -> None:
    figures = bench_figures("engine_bench.py", "--members", "20000", "--days", "3", "--warmup", "3")
    assert figures["members"] == 20000
    assert figures["events_per_day"] > 20000 * 0.3
    assert figures["engine_member_days_per_s"] > 0
    assert figures["bare_member_days_per_s"] > 0


@pytest.mark.slow
def test_ledger_bench_prints_its_figures_as_json() -> None:
    """A short run: pgbench and the ledger on a private PostgreSQL server, and SQLite (one
    writer and two: each writer is a process that takes a while to start)."""
    args = [
        "--seconds",
        "1",
        "--members",
        "20",
        "--batch",
        "5",
        "--scale",
        "1",
        "--writers",
        "1",
        "2",
    ]
    figures = bench_figures("ledger_bench.py", *args, timeout=600)
    for writers in (1, 2):
        assert figures[f"pgbench_tps_{writers}"] > 0
        for backend in ("sqlite", "postgresql"):
            assert figures[f"{backend}_{writers}w_batch1"] > 0
            assert figures[f"{backend}_{writers}w_batch5"] > 0
            assert figures[f"{backend}_{writers}w_stream"] > 0
        for mode in ("batch1", "batch5", "stream"):
            assert figures[f"postgresql_{writers}w_{mode}_vs_pgbench"] > 0


@pytest.mark.slow
def test_sweep_bench_prints_its_figures_as_json() -> None:
    args = ["--members", "300", "--days", "20", "--points", "2", "--replications", "1"]
    figures = bench_figures("sweep_bench.py", *args)
    assert figures["runs"] == 2 and figures["members"] == 300
    assert figures["runs_per_min_1w"] > 0 and figures["runs_per_min_2w"] > 0
    assert figures["speedup_2w"] > 0 and figures["member_days_per_run"] > 300 * 20

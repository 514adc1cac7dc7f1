"""The world benchmark runs and ends with a JSON line of figures (speed is not asserted here);
its naive SimPy baseline is deterministic and conserves points."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _naive_world() -> ModuleType:
    spec = importlib.util.spec_from_file_location("naive_world", ROOT / "bench" / "naive_world.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("naive_world", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_naive_baseline_is_deterministic_and_conserves_points() -> None:
    nw = _naive_world()
    first = nw.run_naive(50, 20, seed=7)
    again = nw.run_naive(50, 20, seed=7)
    other = nw.run_naive(50, 20, seed=8)
    timing = {"seconds", "member_days_per_s"}

    def strip(d: dict[str, object]) -> dict[str, object]:
        return {k: v for k, v in d.items() if k not in timing}

    assert strip(first) == strip(again)
    assert strip(first) != strip(other)
    assert first["member_days"] >= 50 * 20  # newcomers add their days
    assert first["points_issued"] > 0

    # long enough (from 2026-01-01 to past 2027-02-01) for the first buckets to expire
    for days in (20, 420):
        world = nw.NaiveWorld(50, seed=7)
        world.run(days)
        for m in world.members:
            assert m.balance >= 0
            assert m.balance == sum(pts for _, pts in m.buckets)
            assert all(pts > 0 for _, pts in m.buckets)
            assert m.issued == m.balance + m.burned + m.expired + m.reversed
            assert m.qual_total == sum(m.qualifying.values())
        if days == 420:
            for counter in ("expired", "burned", "redemptions", "offsets", "reminders"):
                assert sum(getattr(m, counter) for m in world.members) > 0, counter


@pytest.mark.slow
def test_world_bench_prints_its_figures_as_json() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "bench/world_bench.py",
            "--members",
            "2000",
            "--days",
            "30",
            "--baseline-members",
            "200",
            "--big-members",
            "0",
            "--demo-members",
            "1000",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["members"] == 2000
    assert figures["days"] == 30
    for key in (
        "naive_member_days_per_s",
        "world_member_days_per_s",
        "world_vs_naive",
        "demo_seconds",
    ):
        assert figures[key] > 0, key
    assert figures["big_seconds"] is None  # --big-members 0 skips the big run
    assert figures["big_peak_rss_gib"] is None

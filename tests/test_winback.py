"""Lapsed members stay lapsed unless a scenario sets a win-back rate, and a run that uses one
says so in its summary and report (with the rate's source, or that it has none)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "double_points.toml"
SMALL = (
    "--members", "1500", "--days", "60", "--replications", "1", "--workers", "1",
    "--set", "horizon.start=2026-10-20", "--set", "horizon.warmup_days=30",
    "--set", "horizon.runoff_days=0",
)  # fmt: skip


def _run(out: Path, *sets: str) -> tuple[dict[str, object], pd.DataFrame, str]:
    args = ["run", str(SCENARIO), *SMALL, "--out", str(out)]
    for s in sets:
        args += ["--set", s]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    daily = pd.read_parquet(out / "metrics.parquet")
    return summary, daily, (out / "report.html").read_text(encoding="utf-8")


def _comebacks(daily: pd.DataFrame) -> int:
    """Members alive today beyond yesterday's alive and today's joiners, summed over days."""
    total = 0
    for _, g in daily.sort_values("day").groupby("group"):
        alive = g["alive"].to_numpy()
        joined = g["new_members"].to_numpy()
        total += int(((alive[1:] - alive[:-1] - joined[1:]).clip(min=0)).sum())
    return total


def test_by_default_lapsed_members_stay_lapsed_and_no_winback_is_named(tmp_path: Path) -> None:
    summary, daily, report = _run(tmp_path / "out")
    assert _comebacks(daily) == 0
    notes = summary["assumptions"]
    assert isinstance(notes, list)
    assert any("reference programme" in n for n in notes)
    assert not any("won back" in n for n in notes)
    assert "won back" not in report


def test_a_winback_rate_is_used_and_named_with_its_source(tmp_path: Path) -> None:
    summary, daily, report = _run(
        tmp_path / "out",
        "behaviour.winback.campaign=0.05",
        "behaviour.winback.source=Programme win-back study 2025",
    )
    assert _comebacks(daily) > 0
    notes = [n for n in summary["assumptions"] if "won back" in n]  # type: ignore[union-attr]
    assert len(notes) == 1
    assert "0.05 a day" in notes[0] and "Programme win-back study 2025" in notes[0]
    assert "What these figures assume" in report and "Programme win-back study 2025" in report


def test_a_winback_rate_without_a_source_is_called_an_assumption(tmp_path: Path) -> None:
    summary, _, _ = _run(tmp_path / "out", "behaviour.winback.reminder=0.02")
    notes = [n for n in summary["assumptions"] if "won back" in n]  # type: ignore[union-attr]
    assert notes and "no source given: an assumption" in notes[0]

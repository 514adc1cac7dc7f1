"""``pointsim run --strict``: exit 1 when a health band is breached, for the window or in a
month, naming the metric and the month; a run inside its bands exits 0; outputs are written
either way."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _run(tmp_path: Path, scenario: str, *extra: str) -> tuple[int, str, Path]:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        ["run", str(ROOT / "scenarios" / scenario), "--replications", "3", "--workers", "1",
         "--no-report", "--out", str(out), "--set", "horizon.runoff_days=0", *extra],
    )  # fmt: skip
    return result.exit_code, result.output, out


def test_a_breached_band_fails_the_run_naming_metric_and_month(tmp_path: Path) -> None:
    # the fintech scenario's points cost is far above its 0.01%-of-GMV band (a FINDING the
    # scenario file explains), every month
    code, output, out = _run(tmp_path, "fintech_wealth.toml", "--strict")
    assert code == 1, output
    assert "error: health band breached: cost_ratio of 'all': above its band over the window" in (
        output
    )
    assert "error: health band breached: cost_ratio of 'all': above its band in 2026-01" in output
    summary = json.loads((out / "summary.json").read_text())  # written all the same
    months = summary["metrics"]["all"]["cost_ratio"]["months"]
    assert [m["month"] for m in months][:2] == ["2026-01", "2026-02"]


def test_without_strict_a_breach_is_reported_but_exits_0(tmp_path: Path) -> None:
    code, output, _ = _run(tmp_path, "fintech_wealth.toml")
    assert code == 0, output
    assert "above its band" in output


def test_a_run_inside_its_bands_passes_strict(tmp_path: Path) -> None:
    code, output, _ = _run(
        tmp_path, "ecommerce.toml", "--members", "2000", "--days", "90", "--strict"
    )
    assert code == 0, output
    assert "error:" not in output


def test_the_no_programme_group_is_not_judged_against_the_programme_bands(
    tmp_path: Path,
) -> None:
    """Its cost ratio is 0, below the e-commerce band's 1%: that is no breach, it is the
    comparison arm."""
    code, output, out = _run(
        tmp_path, "ecommerce.toml", "--members", "2000", "--days", "90", "--strict",
        "--no-programme",
    )  # fmt: skip
    assert code == 0, output
    summary = json.loads((out / "summary.json").read_text())
    none = summary["metrics"]["no_programme"]["cost_ratio"]
    assert none["mean"] == 0 and none["band"] is None and none["months"] == []

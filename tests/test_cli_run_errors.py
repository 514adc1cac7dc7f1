"""``pointsim run`` with bad input: a non-zero exit, a message naming the file, field or
argument, no traceback, and the output folder exactly as it was. Plus one tiny run that adds
its outputs to a folder and keeps what was there."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from sim.cli import main
from sim.metrics.results import Summary

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "ecommerce.toml"
SUPER = ROOT / "policies" / "ecommerce_super_points.toml"
SENTINEL = "keep me\n"
Case = Callable[[Path], tuple[list[str], list[str]]]
"""A bad input: given ``tmp_path``, the command's arguments and what the output must name."""
OUTPUTS = ("metrics.parquet", "runs.parquet", "retention.parquet", "by_rule.parquet")


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file and folder under ``folder`` with its content (None for folders)."""
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def scenario_variant(tmp_path: Path, old: str, new: str) -> Path:
    text = SCENARIO.read_text(encoding="utf-8")
    text = text.replace('policy = "../policies/ecommerce_super_points.toml"', f'policy = "{SUPER}"')
    assert old in text
    path = tmp_path / "input" / "scenario.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, ["run", *map(str, args)])


def assert_clean_failure(result: Result, *named: str) -> None:
    """Exit code != 0 by a deliberate exit (no exception escaped), naming every ``named``."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    for part in named:
        assert part in result.output, f"{part!r} not in {result.output!r}"


@pytest.fixture(params=["existing", "absent"])
def out(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """The ``--out`` folder: already there with a sentinel file in it, or not there at all."""
    folder = tmp_path / "out"
    if request.param == "existing":
        folder.mkdir()
        (folder / "sentinel.txt").write_text(SENTINEL, encoding="utf-8")
    return folder


def _bad_toml(tmp_path: Path) -> tuple[list[str], list[str]]:
    path = tmp_path / "input" / "broken.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text('name = "broken"\npolicy = \n', encoding="utf-8")
    return [str(path)], [f"{path}: not valid TOML"]


def _missing(tmp_path: Path) -> tuple[list[str], list[str]]:
    path = tmp_path / "input" / "nowhere.toml"
    return [str(path)], [f"{path}: no such file"]


def _bad_field(tmp_path: Path) -> tuple[list[str], list[str]]:
    path = scenario_variant(tmp_path, "days = 365", "days = 0")
    return [str(path)], [f"{path}: horizon.days:", "greater than or equal to 1"]


def _unknown_key(tmp_path: Path) -> tuple[list[str], list[str]]:
    path = scenario_variant(tmp_path, "size = 10000", "size = 10000\nsizes = 5")
    return [str(path)], [f"{path}: population.sizes: unknown key"]


def _bad_band(tmp_path: Path) -> tuple[list[str], list[str]]:
    path = scenario_variant(tmp_path, "cost_ratio = {", "costratio = {")
    return [str(path)], [f"{path}: health.costratio: not a headline metric"]


def _missing_policy(tmp_path: Path) -> tuple[list[str], list[str]]:
    gone = tmp_path / "input" / "gone.toml"
    path = scenario_variant(tmp_path, f'policy = "{SUPER}"', f'policy = "{gone}"')
    return [str(path)], [f"{path}: policy: no such policy file: {gone}"]


def _broken_policy(tmp_path: Path) -> tuple[list[str], list[str]]:
    broken = tmp_path / "input" / "policy.toml"
    broken.parent.mkdir(exist_ok=True)
    text = SUPER.read_text(encoding="utf-8")
    broken.write_text(text.replace("[program]\n", "[program]\ncolour = 1\n", 1))
    path = scenario_variant(tmp_path, f'policy = "{SUPER}"', f'policy = "{broken}"')
    return [str(path)], [f"{broken}: program.colour: unknown key"]


def _set_unknown_policy_path(tmp_path: Path) -> tuple[list[str], list[str]]:
    return [str(SCENARIO), "--set", "caps.dayly=300"], ["--set: caps.dayly: no such field"]


def _set_unknown_scenario_path(tmp_path: Path) -> tuple[list[str], list[str]]:
    return [str(SCENARIO), "--set", "population.sizes=50"], ["--set: population.sizes: no such"]


def _set_wrong_type(tmp_path: Path) -> tuple[list[str], list[str]]:
    return [str(SCENARIO), "--set", "population.size=abc"], ["--set: population.size:", "'abc'"]


def _set_policy_wrong_type(tmp_path: Path) -> tuple[list[str], list[str]]:
    return [str(SCENARIO), "--set", "caps.daily=lots"], ["--set: caps.daily:", "'lots'"]


def _set_without_value(tmp_path: Path) -> tuple[list[str], list[str]]:
    return [str(SCENARIO), "--set", "caps.daily"], ["--set: caps.daily: expected PATH=VALUE"]


def _members_zero(tmp_path: Path) -> tuple[list[str], list[str]]:
    return [str(SCENARIO), "--members", "0"], ["--members", "0 is not in the range"]


def _days_zero(tmp_path: Path) -> tuple[list[str], list[str]]:
    return [str(SCENARIO), "--days", "0"], ["--days"]


def _members_not_a_number(tmp_path: Path) -> tuple[list[str], list[str]]:
    return [str(SCENARIO), "--members", "many"], ["--members", "'many'"]


def _workers_zero(tmp_path: Path) -> tuple[list[str], list[str]]:
    return [str(SCENARIO), "--workers", "0"], ["--workers"]


def _export_events_txt(tmp_path: Path) -> tuple[list[str], list[str]]:
    events = tmp_path / "x.txt"
    return [str(SCENARIO), "--export-events", str(events)], [
        "--export-events",
        f"{events}: expected a .csv or .parquet file",
    ]


def _unknown_option(tmp_path: Path) -> tuple[list[str], list[str]]:
    return [str(SCENARIO), "--member", "300"], ["--member"]


BAD: list[Case] = [
    _missing,
    _bad_toml,
    _bad_field,
    _unknown_key,
    _bad_band,
    _missing_policy,
    _broken_policy,
    _set_unknown_policy_path,
    _set_unknown_scenario_path,
    _set_wrong_type,
    _set_policy_wrong_type,
    _set_without_value,
    _members_zero,
    _days_zero,
    _members_not_a_number,
    _workers_zero,
    _export_events_txt,
    _unknown_option,
]


@pytest.mark.parametrize("case", BAD, ids=lambda f: f.__name__.lstrip("_"))
def test_bad_input_fails_cleanly_and_leaves_out_alone(
    case: Case, tmp_path: Path, out: Path
) -> None:
    args, named = case(tmp_path)
    before = snapshot(tmp_path)
    # the case's own options last: they win over these (a case that does not fail runs once)
    result = invoke("--out", out, "--workers", "1", "--replications", "1", "--no-report", *args)
    assert_clean_failure(result, *named)
    assert snapshot(tmp_path) == before, "nothing written, nothing removed"
    if before.get("out/sentinel.txt") is None:
        assert not out.exists()


def test_bad_input_fails_cleanly_in_a_real_process(tmp_path: Path) -> None:
    path = scenario_variant(tmp_path, "days = 365", "days = 0")
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(path), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.strip() == f"error: {path}: horizon.days: " + (
        "Input should be greater than or equal to 1 (got 0)"
    )
    assert not out.exists()


def test_every_problem_is_printed(tmp_path: Path) -> None:
    path = scenario_variant(tmp_path, "seed = 31", 'seed = 31\ncolour = "red"')
    path.write_text(path.read_text(encoding="utf-8").replace("days = 365", "days = 0"))
    result = invoke(path, "--out", tmp_path / "out")
    assert_clean_failure(result, f"{path}: colour:", f"{path}: horizon.days:")
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2


def test_a_tiny_run_adds_its_outputs_and_keeps_other_files(tmp_path: Path) -> None:
    """Into a folder holding a file of the user's only with --force (tests/test_cli_outputs.py
    has the refusal), and that file is kept."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "sentinel.txt").write_text(SENTINEL, encoding="utf-8")
    result = invoke(
        "--force",
        SCENARIO,
        "--members",
        "300",
        "--days",
        "20",
        "--replications",
        "1",
        "--set",
        "horizon.warmup_days=10",
        "--workers",
        "1",
        "--no-report",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    assert result.exception is None
    assert f"-> {out}" in result.output
    for name in (*OUTPUTS, "summary.json"):
        assert (out / name).is_file(), name
    assert not (out / "report.html").exists()
    assert (out / "sentinel.txt").read_text(encoding="utf-8") == SENTINEL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "no temporary folder left"
    daily = pd.read_parquet(out / "metrics.parquet")
    assert len(daily) == 20
    assert set(daily["group"]) == {"all"}
    summary = Summary.read(out / "summary.json")
    assert summary.scenario == "ecommerce"
    assert summary.replications == 1

"""``pointsim policy ...`` run as a user runs it: a separate process, exit codes, stdout/stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.policy import content_hash, load_policy

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
SUPER = POLICIES / "ecommerce_super_points.toml"
DOUBLE = POLICIES / "ecommerce_double_points.toml"
COFFEE = POLICIES / "coffee_beans.toml"


def pointsim(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "bad.toml"
    text = COFFEE.read_text(encoding="utf-8").replace("[program]\n", '[program]\ncolour = "red"\n')
    path.write_text(text, encoding="utf-8")
    return path


def assert_clean_failure(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout


def test_check_ok() -> None:
    result = pointsim("policy", "check", SUPER)
    assert result.returncode == 0, result.stderr
    digest = content_hash(load_policy(SUPER))[:12]
    assert result.stdout.strip() == (
        f"{SUPER}: ok (4 earn rules, 1 campaigns, 7 catalogue items, content hash {digest})"
    )
    assert result.stderr == ""


def test_check_a_bad_file(bad_file: Path) -> None:
    result = pointsim("policy", "check", bad_file)
    assert_clean_failure(result)
    assert result.returncode == 1
    assert f"{bad_file}: program.colour: unknown key" in result.stderr
    assert "ok (" not in result.stdout


def test_check_reports_every_file(bad_file: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    result = pointsim("policy", "check", SUPER, bad_file, missing, COFFEE)
    assert_clean_failure(result)
    assert result.returncode == 1
    assert f"{SUPER}: ok" in result.stdout
    assert f"{COFFEE}: ok" in result.stdout
    assert f"{bad_file}: program.colour" in result.stderr
    assert f"{missing}: no such file" in result.stderr


def test_check_lists_every_problem_on_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "two.toml"
    text = COFFEE.read_text(encoding="utf-8").replace("[program]\n", "[program]\ncolour = 1\n")
    path.write_text(text.replace("monthly_rate = 0.01", "monthly_rate = 5"), encoding="utf-8")
    result = pointsim("policy", "check", path)
    assert_clean_failure(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2
    assert any(": program.colour:" in line for line in lines)
    assert any(": interest.monthly_rate:" in line for line in lines)


def test_check_with_set() -> None:
    result = pointsim("policy", "check", COFFEE, "--set", "interest.monthly_rate=0.02")
    assert result.returncode == 0, result.stderr
    assert content_hash(load_policy(COFFEE))[:12] not in result.stdout


def test_show_prints_the_three_sentences_first() -> None:
    result = pointsim("policy", "show", SUPER)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Spend 1 CNY, earn 1 point; gold earns 1.5x, platinum 2x."
    assert lines[1].startswith("Use points as cash at checkout (1 point = 0.01 CNY, up to 10%")
    assert lines[2] == "Points expire 12 months after you earn them, at the end of the month."
    assert lines[3] == ""
    assert "E-commerce super points (ecommerce_super_points)" in result.stdout
    assert "Reported outcomes:" in result.stdout


def test_show_with_set() -> None:
    result = pointsim("policy", "show", SUPER, "--set", "expiry.months=24")
    assert result.returncode == 0, result.stderr
    assert "Points expire 24 months after you earn them" in result.stdout


def test_show_a_bad_file(bad_file: Path) -> None:
    result = pointsim("policy", "show", bad_file)
    assert_clean_failure(result)
    assert "program.colour" in result.stderr
    assert result.stdout == ""


def test_diff_of_the_ecommerce_files() -> None:
    result = pointsim("policy", "diff", SUPER, DOUBLE)
    assert result.returncode == 0, result.stderr
    assert "  campaigns.double11: (missing) -> {" in result.stdout
    assert "program.name:" in result.stdout
    assert "3 fields differ" in result.stdout


def test_diff_of_a_file_with_itself() -> None:
    result = pointsim("policy", "diff", COFFEE, COFFEE)
    assert result.returncode == 0, result.stderr
    assert "no differences" in result.stdout


def test_diff_with_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "gone.toml"
    result = pointsim("policy", "diff", COFFEE, missing)
    assert_clean_failure(result)
    assert f"{missing}: no such file" in result.stderr


def test_schema_is_json() -> None:
    result = pointsim("policy", "schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert "properties" in schema
    assert {"program", "earn", "burn", "tiers", "expiry"} <= set(schema["properties"])


def test_schema_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "policy.schema.json"
    result = pointsim("policy", "schema", "--out", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "properties" in json.loads(out.read_text(encoding="utf-8"))
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left


def test_schema_to_a_missing_directory(tmp_path: Path) -> None:
    result = pointsim("policy", "schema", "--out", tmp_path / "no" / "such" / "dir.json")
    assert_clean_failure(result)
    assert "dir.json" in result.stderr


def test_set_of_an_unknown_path() -> None:
    result = pointsim("policy", "check", SUPER, "--set", "caps.weekly=3")
    assert_clean_failure(result)
    assert "caps.weekly" in result.stderr
    assert "no such field" in result.stderr
    assert str(SUPER) in result.stderr


def test_set_without_equals() -> None:
    result = pointsim("policy", "show", SUPER, "--set", "foo")
    assert_clean_failure(result)
    assert result.returncode == 2  # a usage error
    assert "'foo'" in result.stderr
    assert "PATH=VALUE" in result.stderr


def test_set_of_a_wrong_type() -> None:
    result = pointsim("policy", "check", SUPER, "--set", "caps.daily=lots")
    assert_clean_failure(result)
    assert "caps.daily" in result.stderr
    assert "valid integer" in result.stderr


def test_missing_file() -> None:
    result = pointsim("policy", "check", "policies/nope.toml")
    assert_clean_failure(result)
    assert "policies/nope.toml: no such file" in result.stderr


def test_unknown_command() -> None:
    result = pointsim("policy", "frobnicate")
    assert_clean_failure(result)
    assert "frobnicate" in result.stderr


def test_cli_runner_check_and_show() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["policy", "check", str(COFFEE), str(SUPER)])
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok (") == 2
    shown = runner.invoke(main, ["policy", "show", str(COFFEE)])
    assert shown.exit_code == 0
    assert shown.output.startswith("Spend 1 CNY, earn 1 point, plus 5 points per item of coffee.")

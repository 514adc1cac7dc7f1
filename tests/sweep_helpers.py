"""A tiny sweep scenario and a way to run ``pointsim sweep`` on it, for the sweep tests."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
SUPER = ROOT / "policies" / "ecommerce_super_points.toml"

SCENARIO = f"""
name = "tiny_sweep"
title = "Tiny sweep"
policy = "{SUPER}"
seed = 5
replications = 2

[horizon]
start = 2026-01-01
days = 40
warmup_days = 10

[population]
size = 300
joins_per_day = 2
tenure_days = 200

[health]
cost_ratio = {{ min = 0.01, max = 0.03 }}

[sweep]
constraints = ["cost_ratio <= 0.05"]
maximize = "active_days_per_member_month"
frontier = ["cost_ratio", "active_days_per_member_month"]
[sweep.parameters]
"program.point_value" = [0.01, 0.02]
"caps.daily" = [100, 500]
"""


def write_scenario(folder: Path, text: str = SCENARIO, name: str = "sweep.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def sweep(*args: str | Path) -> Result:
    """``pointsim sweep ARGS`` in this process."""
    return CliRunner().invoke(main, ["sweep", *map(str, args)])

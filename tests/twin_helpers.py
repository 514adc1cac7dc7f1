"""Twin runs for the stylised-facts tests: the same members live the same days under two
policies (or two behaviours) on common random numbers, and the difference is the effect."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from sim.scenario import Scenario, load_scenario
from sim.world.world import simulate

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    return repr(v)


def twin_file(
    folder: Path,
    policy: str = "ecommerce_super_points.toml",
    *,
    treatment: Mapping[str, Any] | None = None,
    control: Mapping[str, Any] | None = None,
    size: int = 4000,
    days: int = 365,
    warmup: int = 120,
    start: str = "2026-01-01",
    joins: float = 0.0,
    sets: Mapping[str, Any] | None = None,
    extra: str = "",
    name: str = "twin",
    replications: int = 1,
    seed: int = 11,
    baseline: str = "currency_scale = 5.0",
) -> Path:
    """A twin scenario file: ``control`` and ``treatment`` groups with their own policy
    overrides (``treatment``/``control``), every group's overrides ``sets``."""

    def table(d: Mapping[str, Any] | None) -> str:
        return "{ " + ", ".join(f'"{k}" = {_toml_value(v)}' for k, v in (d or {}).items()) + " }"

    path = folder / f"{name}.toml"
    path.write_text(
        f"""
name = "{name}"
policy = "{(POLICIES / policy).as_posix()}"
seed = {seed}
replications = {replications}
set = {table(sets)}

[horizon]
start = {start}
days = {days}
warmup_days = {warmup}

[population]
size = {size}
joins_per_day = {joins}
tenure_days = 365
categories = {{ high_margin = 0.2 }}

[population.segments.all]
share = 1.0
baseline = {{ {baseline} }}

[experiment]
design = "twin"
control = "control"
[experiment.groups.control]
set = {table(control)}
[experiment.groups.treatment]
set = {table(treatment)}
{extra}
""",
        encoding="utf-8",
    )
    return path


def run_twin(
    path: Path, sets: tuple[str, ...] = (), replications: int | None = None
) -> pd.DataFrame:
    """Every replication's daily metrics of both groups (``metrics`` table rows)."""
    scenario: Scenario = load_scenario(path, sets=sets, replications=replications)
    frames = [simulate(scenario, r).tables.daily for r in range(scenario.spec.replications)]
    return pd.concat(frames, ignore_index=True)


def window_totals(metrics: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per replication, ``column`` summed over the window: columns control, treatment."""
    m = metrics[metrics["day_index"] >= 0]
    return m.pivot_table(index="replication", columns="group", values=column, aggfunc="sum")


def relative_effect(metrics: pd.DataFrame, column: str) -> float:
    """Treatment over control minus 1, ``column`` summed over the window and replications."""
    t = window_totals(metrics, column)
    return float(t["treatment"].sum() / t["control"].sum() - 1.0)

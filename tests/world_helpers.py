"""Small scenarios for the world's tests, written as files the way users write them."""

from __future__ import annotations

from pathlib import Path

from sim.behaviour.params import Behaviour
from sim.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"

EFFECTS_OFF = [f"behaviour.{name}.enabled=false" for name in Behaviour.model_fields]
"""``--set`` overrides turning every loyalty response off (the BG/NBD baseline alone)."""


def scenario_file(
    tmp_path: Path,
    policy: str = "ecommerce_super_points.toml",
    *,
    size: int = 300,
    days: int = 40,
    warmup: int = 10,
    replications: int = 1,
    extra: str = "",
    name: str = "tiny",
) -> Path:
    """A scenario file in ``tmp_path`` (``extra`` is appended TOML)."""
    path = tmp_path / f"{name}.toml"
    path.write_text(
        f"""
name = "{name}"
policy = "{(POLICIES / policy).as_posix()}"
seed = 7
replications = {replications}

[horizon]
start = 2026-10-20
days = {days}
warmup_days = {warmup}

[population]
size = {size}
joins_per_day = 3
tenure_days = 60
categories = {{ high_margin = 0.2 }}

[population.segments.all]
share = 1.0
baseline = {{ currency_scale = 5.0, r = 0.6 }}
{extra}
""",
        encoding="utf-8",
    )
    return path


def tiny(tmp_path: Path, policy: str = "ecommerce_super_points.toml", **kw: object) -> Scenario:
    sets = kw.pop("sets", ())
    return load_scenario(scenario_file(tmp_path, policy, **kw), sets=sets)  # type: ignore[arg-type]

"""Scenarios: a policy, a population, a horizon, behaviour, experiment groups, health bands."""

from sim.scenario.load import (
    DEFAULT_SCENARIO,
    Arm,
    Scenario,
    ScenarioError,
    Sources,
    load_scenario,
)
from sim.scenario.model import SCENARIO_KEYS, ScenarioSpec

__all__ = [
    "DEFAULT_SCENARIO",
    "SCENARIO_KEYS",
    "Arm",
    "Scenario",
    "ScenarioError",
    "ScenarioSpec",
    "Sources",
    "load_scenario",
]

"""``members=`` (``--members N``) is the same economy, smaller: it sets ``population.size`` and
scales ``population.joins_per_day`` by N / the file's size, so new members a day per member
stay as written (issue 13, item 7d).

This changes the population of every run given ``--members`` on purpose (before, the joiners
stayed as written, so ``--members 2000`` on the default scenario was a different economy with
five times the newcomers per member). A run without ``--members``, such as the default
scenario's, draws exactly the members it drew before. ``--set population.size=N`` and a sweep
over ``population.size`` still set the size alone.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from world_helpers import EFFECTS_OFF

from sim.scenario import DEFAULT_SCENARIO, ScenarioError, load_scenario
from sim.world import simulate

SCENARIOS = sorted((Path(__file__).resolve().parent.parent / "scenarios").glob("*.toml"))


def population(path: Path, **kwargs: Any) -> dict[str, Any]:
    return load_scenario(path, **kwargs).spec.population.model_dump()


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_members_scales_the_joiners_and_nothing_else(path: Path) -> None:
    written = load_scenario(path).spec
    scaled = load_scenario(path, members=2000).spec
    size, joins = written.population.size, written.population.joins_per_day
    assert scaled.population.size == 2000
    assert scaled.population.joins_per_day == joins * 2000 / size
    assert scaled.model_dump(exclude={"population"}) == written.model_dump(exclude={"population"})
    assert scaled.population.model_dump(exclude={"size", "joins_per_day"}) == (
        written.population.model_dump(exclude={"size", "joins_per_day"})
    )


def test_the_default_scenario_at_2000_members() -> None:
    spec = load_scenario(DEFAULT_SCENARIO).spec.population
    assert (spec.size, spec.joins_per_day) == (10_000, 8.0)
    small = load_scenario(DEFAULT_SCENARIO, members=2000).spec.population
    assert (small.size, small.joins_per_day) == (2000, 8.0 * 2000 / 10_000)


def test_members_equal_to_the_size_changes_nothing() -> None:
    written = load_scenario(DEFAULT_SCENARIO)
    same = load_scenario(DEFAULT_SCENARIO, members=written.spec.population.size)
    assert same.spec == written.spec
    assert same.spec.population.joins_per_day == 8.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sets": ["population.joins_per_day=5"]},
        {"sets": ["population.joins_per_day=5.0"]},
        {"values": {"population.joins_per_day": 5.0}},
    ],
    ids=["set_int", "set_float", "values"],
)
def test_an_explicit_joins_per_day_wins(kwargs: dict[str, Any]) -> None:
    pop = population(DEFAULT_SCENARIO, members=2000, **kwargs)
    assert (pop["size"], pop["joins_per_day"]) == (2000, 5.0)


@pytest.mark.parametrize(
    "kwargs",
    [{"sets": ["population.size=2000"]}, {"values": {"population.size": 2000}}],
    ids=["set", "sweep_values"],
)
def test_setting_the_size_sets_the_size_alone(kwargs: dict[str, Any]) -> None:
    pop = population(DEFAULT_SCENARIO, **kwargs)
    assert (pop["size"], pop["joins_per_day"]) == (2000, 8.0)


def test_a_bad_members_is_one_problem_about_the_size() -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario(DEFAULT_SCENARIO, members=0)
    assert [(p.source, p.path) for p in err.value.problems] == [("--set", "population.size")]


def test_a_smaller_run_has_as_many_newcomers_per_member() -> None:
    """New members a day per member over a year: the default scenario (10,000 members, 8
    joins a day) against ``--members 2000`` (1.6 a day), equal within 4 standard errors of
    the Poisson counts (and both near 8 / 10,000); without the scaling the small run would
    have five times as many."""
    days, rate = 365, 8.0 / 10_000
    rates, variances = [], []
    # a run's first day counts its starting members as new: one warm-up day leaves it out
    sets = [*EFFECTS_OFF, "horizon.warmup_days=1"]
    for members in (None, 2000):
        scn = load_scenario(
            DEFAULT_SCENARIO,
            members=members,
            days=days,
            replications=1,
            sets=sets,
        )
        daily = simulate(scn).tables.daily
        daily = daily[daily["group"] == scn.control]
        assert len(daily) == days
        size = scn.spec.population.size
        rates.append(int(daily["new_members"].sum()) / (days * size))
        variances.append(rate / (days * size))
    tolerance = 4 * math.sqrt(sum(variances))
    assert abs(rates[0] - rates[1]) <= tolerance, (rates, tolerance)
    for got, var in zip(rates, variances, strict=True):
        assert abs(got - rate) <= 4 * math.sqrt(var), (got, rate)

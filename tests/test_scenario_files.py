"""The scenario files in scenarios/ load with their policies, and bad scenarios, bad policies
behind them and bad overrides are refused with a message naming the file (or ``--set``), the
dotted field and what was expected."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from sim.behaviour.baseline import BaselineParams
from sim.kpi import EXPERIMENT, SUMMARY
from sim.policy import content_hash, load_policy
from sim.policy.load import Problem
from sim.scenario import DEFAULT_SCENARIO, Scenario, ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
POLICIES = ROOT / "policies"
FILES = sorted(SCENARIOS.glob("*.toml"))
BASE = SCENARIOS / "ecommerce.toml"
"""The scenario the bad variants are made from (one group, bands, categories)."""
SUPER = POLICIES / "ecommerce_super_points.toml"
HEADLINES = {h.name for h in SUMMARY} | {h.name for h in EXPERIMENT}


def base_text() -> str:
    """``BASE`` with its policy path made absolute, so a copy works from any folder."""
    text = BASE.read_text(encoding="utf-8")
    relative = 'policy = "../policies/ecommerce_super_points.toml"'
    assert relative in text
    return text.replace(relative, f'policy = "{SUPER}"')


def variant(tmp_path: Path, old: str, new: str, name: str = "scenario.toml") -> Path:
    """A copy of ``BASE`` in ``tmp_path`` with ``old`` replaced by ``new`` (once)."""
    text = base_text()
    assert old in text, f"{old!r} is not in {BASE}"
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def problems_of(
    path: Path | None, *, sets: Iterable[str] = (), **kwargs: int | None
) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, sets=sets, **kwargs)
    assert info.value.problems, "a ScenarioError lists its problems"
    assert str(info.value) == "\n".join(str(p) for p in info.value.problems)
    return info.value.problems


def assert_problem(problems: list[Problem], source: object, path: str, *expected: str) -> None:
    """One of ``problems`` is at ``source``/``path`` and its text says every ``expected``."""
    lines = [str(p) for p in problems]
    hits = [p for p in problems if p.source == str(source) and p.path == path]
    assert hits, f"no problem at {source}: {path} in {lines}"
    text = str(hits[0])
    assert text.startswith(f"{source}: {path}: ")
    for part in expected:
        assert part in text, f"{part!r} not in {text!r}"


# --- the files in scenarios/ -------------------------------------------------------------------


def test_the_article_scenarios_are_there() -> None:
    names = {f.name for f in FILES}
    assert {
        "double_points.toml",
        "ecommerce.toml",
        "coffee_beans.toml",
        "fintech_wealth.toml",
    } <= names
    assert DEFAULT_SCENARIO in FILES


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_scenario_file_loads_with_its_policies(path: Path) -> None:
    scn = load_scenario(path)
    assert isinstance(scn, Scenario)
    assert scn.source == str(path)
    assert scn.arms, "a scenario runs at least one group"
    for arm in scn.arms:
        file = Path(arm.policy_file)
        assert file.is_file() and file.parent == POLICIES
        assert arm.policy_hash == content_hash(arm.policy)
        assert 0 <= arm.label < len(arm.policy.program.groups)
        assert 0 < arm.share <= 1
    assert set(scn.bands()) <= HEADLINES | {f"tier_{t}_share" for t in scn.arms[0].policy.tiers}
    if scn.control is not None:
        assert scn.control in {a.group for a in scn.arms}


def test_scenario_names_are_unique() -> None:
    names = [load_scenario(path).name for path in FILES]
    assert len(set(names)) == len(names)


def test_the_default_scenario_is_double_points() -> None:
    scn = load_scenario()
    assert scn.source == str(DEFAULT_SCENARIO)
    assert [a.group for a in scn.arms] == ["control", "treatment"]
    assert scn.control == "control"


@pytest.mark.parametrize(
    ("scenario", "policy", "days"),
    [
        ("ecommerce.toml", "ecommerce_super_points.toml", 365),
        ("coffee_beans.toml", "coffee_beans.toml", 365),
        ("fintech_wealth.toml", "fintech_wealth.toml", 90),
    ],
)
def test_article_scenarios_carry_the_reported_outcomes(
    scenario: str, policy: str, days: int
) -> None:
    scn = load_scenario(SCENARIOS / scenario)
    assert Path(scn.arms[0].policy_file) == POLICIES / policy
    meta = scn.spec.meta
    assert isinstance(meta.get("source"), str)
    reported = meta.get("reported")
    assert isinstance(reported, dict)
    assert all(isinstance(v, int | float) for v in reported.values())
    from_policy = load_policy(POLICIES / policy).meta.get("reported")
    assert isinstance(from_policy, dict)
    assert from_policy.items() <= reported.items(), "the policy's outcomes, copied"
    assert scn.spec.horizon.days == days
    assert 60 <= scn.spec.horizon.warmup_days <= 120
    assert scn.spec.population.size == 10_000
    assert scn.spec.population.joins_per_day > 0


def _weighted(scn: Scenario, value: Callable[[BaselineParams], float]) -> float:
    """Population mean of a per-segment baseline figure."""
    segs = scn.spec.population.segments.values()
    return sum(s.share * value(s.baseline) for s in segs)


def test_coffee_members_buy_weekly_cups() -> None:
    scn = load_scenario(SCENARIOS / "coffee_beans.toml")
    pop = scn.spec.population
    per_week = _weighted(scn, lambda b: b.r / b.alpha * 7.0 / b.time_unit_days)
    # the article's 2.1 visits a month before the programme, for members still buying
    assert 0.45 <= per_week <= 1.0, "about one visit every one to two weeks without the programme"
    order = _weighted(scn, lambda b: b.p * b.gamma / (b.q - 1.0) * b.currency_scale)
    assert 35.0 <= order <= 40.0, "an order is about a cup"
    assert pop.item_price is not None and 25.0 <= pop.item_price <= 40.0
    assert pop.categories.get("coffee", 0.0) > 0.5, "the per-cup rule pays on coffee orders"
    assert pop.referred_share > 0, "the referral rule pays"
    assert pop.purchases_as == "purchase"


def test_fintech_members_invest_large_sums_and_log_in() -> None:
    scn = load_scenario(SCENARIOS / "fintech_wealth.toml")
    pop = scn.spec.population
    assert pop.purchases_as == "investment"
    assert 60 <= pop.investment_term_days <= 120
    order = _weighted(scn, lambda b: b.p * b.gamma / (b.q - 1.0) * b.currency_scale)
    assert 10_000 <= order <= 100_000, "tens of thousands of CNY an investment"
    assert pop.referred_share > 0
    for seg in pop.segments.values():
        assert seg.traits.login_rate >= 0.2
        assert seg.traits.course_rate >= 0.01


def test_a_policy_path_is_relative_to_the_scenario_file(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    copy = tmp_path / "rules" / "mine.toml"
    copy.write_text(SUPER.read_text(encoding="utf-8"), encoding="utf-8")
    path = variant(tmp_path, f'policy = "{SUPER}"', 'policy = "rules/mine.toml"')
    scn = load_scenario(path)
    assert scn.arms[0].policy_file == str(copy)
    assert scn.arms[0].policy_hash == content_hash(load_policy(SUPER))


# --- bad scenario files ------------------------------------------------------------------------

EXPERIMENT_2 = "[experiment]\n[experiment.groups.a]\n[experiment.groups.b]\n\n[health]"

BAD_FIELDS = [
    # (id, old text, new text, dotted field, what the message says)
    ("unknown_top_key", "seed = 31", 'seed = 31\ncolour = "red"', "colour", ["unknown key"]),
    (
        "unknown_nested_key",
        "size = 10000",
        "size = 10000\nsizes = 5",
        "population.sizes",
        ["unknown key"],
    ),
    (
        "unknown_behaviour_key",
        "checkout_share = 0.7",
        "checkout_shares = 0.7",
        "behaviour.redemption.checkout_shares",
        ["unknown key"],
    ),
    (
        "size_as_text",
        "size = 10000",
        'size = "10"',
        "population.size",
        ["valid integer", "'10'"],
    ),
    ("size_fraction", "size = 10000", "size = 10.5", "population.size", ["valid integer", "10.5"]),
    ("size_zero", "size = 10000", "size = 0", "population.size", ["greater than 0", "got 0"]),
    ("days_zero", "days = 365", "days = 0", "horizon.days", ["greater than or equal to 1"]),
    ("days_too_many", "days = 365", "days = 4000", "horizon.days", ["less than or equal to"]),
    (
        "warmup_negative",
        "warmup_days = 120",
        "warmup_days = -1",
        "horizon.warmup_days",
        ["greater than or equal to 0", "-1"],
    ),
    ("start_not_a_date", "start = 2026-01-01", 'start = "soon"', "horizon.start", ["date"]),
    (
        "replications_zero",
        "replications = 4",
        "replications = 0",
        "replications",
        ["greater than or equal to 1", "got 0"],
    ),
    ("seed_negative", "seed = 31", "seed = -1", "seed", ["greater than or equal to 0"]),
    ("bad_name", 'name = "ecommerce"', 'name = "e commerce!"', "name", ["pattern"]),
    (
        "referred_share_above_1",
        "tenure_days = 365",
        "tenure_days = 365\nreferred_share = 1.5",
        "population.referred_share",
        ["less than or equal to 1", "1.5"],
    ),
    (
        "purchases_as_unknown",
        "tenure_days = 365",
        'tenure_days = 365\npurchases_as = "loan"',
        "population.purchases_as",
        ["'purchase' or 'investment'", "'loan'"],
    ),
    (
        "baseline_negative",
        "baseline = { currency_scale = 5.0 }",
        "baseline = { currency_scale = -5.0 }",
        "population.segments.all.baseline.currency_scale",
        ["greater than 0"],
    ),
    (
        "trait_above_1",
        "baseline = { currency_scale = 5.0 }",
        "baseline = { currency_scale = 5.0 }\ntraits = { login_rate = 2 }",
        "population.segments.all.traits.login_rate",
        ["less than or equal to 1"],
    ),
    (
        "band_min_above_max",
        "cost_ratio = { min = 0.01, max = 0.03 }",
        "cost_ratio = { min = 0.05, max = 0.03 }",
        "health.cost_ratio",
        ["min(=0.05) is above max(=0.03)"],
    ),
    (
        "band_without_ends",
        "cost_ratio = { min = 0.01, max = 0.03 }",
        "cost_ratio = {}",
        "health.cost_ratio",
        ["give min, max or both"],
    ),
    (
        "band_unknown_key",
        "cost_ratio = { min = 0.01, max = 0.03 }",
        "cost_ratio = { min = 0.01, mid = 0.03 }",
        "health.cost_ratio.mid",
        ["unknown key"],
    ),
    (
        "band_not_a_number",
        "cost_ratio = { min = 0.01, max = 0.03 }",
        'cost_ratio = { min = "low" }',
        "health.cost_ratio.min",
        ["valid number", "'low'"],
    ),
    (
        "band_unknown_metric",
        "cost_ratio = { min = 0.01, max = 0.03 }",
        "costratio = { min = 0.01, max = 0.03 }",
        "health.costratio",
        ["not a headline metric", "cost_ratio", "liability_to_monthly_gmv"],
    ),
    (
        "experiment_without_groups",
        "[health]",
        "[experiment]\ngroups = {}\n\n[health]",
        "experiment.groups",
        ["give at least one group (or no_programme = true)"],
    ),
    (
        "experiment_unknown_design",
        "[health]",
        '[experiment]\ndesign = "ab"\n[experiment.groups.a]\n\n[health]',
        "experiment.design",
        ["'twin' or 'split'", "'ab'"],
    ),
    (
        "policy_not_text",
        f'policy = "{SUPER}"',
        "policy = 5",
        "policy",
        ["valid string"],
    ),
    ("policy_missing", f'policy = "{SUPER}"', "", "policy", ["required field is missing"]),
    (
        "horizon_missing",
        "[horizon]\nstart = 2026-01-01\ndays = 365\nwarmup_days = 120\n",
        "",
        "horizon",
        ["required field is missing"],
    ),
]

# Checks of a whole table (shares adding up, control naming a group) report the field inside
# the table that is wrong: "population.segments: shares sum to ...".
BAD_TABLES = [
    (
        "segment_shares_not_1",
        "share = 1.0",
        "share = 0.7",
        "population.segments",
        ["shares sum to 0.7; expected 1"],
    ),
    (
        "segment_shares_above_1",
        "share = 1.0",
        "share = 1.0\n[population.segments.more]\nshare = 0.5",
        "population.segments",
        ["shares sum to 1.5; expected 1"],
    ),
    (
        "category_shares_above_1",
        "categories = { high_margin = 0.2 }",
        "categories = { high_margin = 0.7, gadgets = 0.6 }",
        "population.categories",
        ["shares sum to 1.3; expected at most 1"],
    ),
    (
        "control_names_no_group",
        "[health]",
        EXPERIMENT_2.replace("[experiment]\n", '[experiment]\ncontrol = "nobody"\n'),
        "experiment.control",
        ["no group 'nobody' in experiment.groups"],
    ),
    (
        "split_shares_not_1",
        "[health]",
        '[experiment]\ndesign = "split"\n[experiment.groups.a]\nshare = 0.5\n'
        "[experiment.groups.b]\nshare = 0.4\n\n[health]",
        "experiment.groups",
        ["shares sum to 0.9; expected 1 for a split"],
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "field", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_FIELDS + BAD_TABLES],
)
def test_a_bad_field_names_the_file_and_field(
    tmp_path: Path, old: str, new: str, field: str, expected: list[str]
) -> None:
    path = variant(tmp_path, old, new)
    problems = problems_of(path)
    assert_problem(problems, path, field, *expected)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("share = 1.0", "share = 0.7", "population.segments"),
        (
            "[health]",
            EXPERIMENT_2.replace("[experiment]\n", '[experiment]\ncontrol = "nobody"\n'),
            "experiment.control",
        ),
    ],
    ids=["segments", "control"],
)
def test_a_whole_table_check_names_the_dotted_field(
    tmp_path: Path, old: str, new: str, field: str
) -> None:
    path = variant(tmp_path, old, new)
    assert any(p.path == field for p in problems_of(path))


def test_a_band_for_a_tier_the_policy_lacks_is_refused(tmp_path: Path) -> None:
    path = variant(
        tmp_path,
        "cost_ratio = { min = 0.01, max = 0.03 }",
        "tier_diamond_share = { max = 0.3 }",
    )
    assert_problem(problems_of(path), path, "health.tier_diamond_share", "tier")


def test_a_band_for_a_tier_of_the_policy_is_taken(tmp_path: Path) -> None:
    path = variant(
        tmp_path, "cost_ratio = { min = 0.01, max = 0.03 }", "tier_gold_share = { max = 0.3 }"
    )
    assert load_scenario(path).bands() == {
        "tier_gold_share": (None, 0.3),
        "liability_to_monthly_gmv": (None, 1.0),
    }


def test_every_problem_is_listed(tmp_path: Path) -> None:
    path = variant(tmp_path, "seed = 31", 'seed = 31\ncolour = "red"\nreplications_ = 2')
    path.write_text(path.read_text(encoding="utf-8").replace("days = 365", "days = 0"))
    problems = problems_of(path)
    assert {p.path for p in problems} == {"colour", "replications_", "horizon.days"}
    assert all(p.source == str(path) for p in problems)


def test_a_missing_scenario_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    problems = problems_of(path)
    assert [str(p) for p in problems] == [f"{path}: no such file"]


def test_a_scenario_file_that_is_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('name = "x"\npolicy = \n', encoding="utf-8")
    (problem,) = problems_of(path)
    assert str(problem).startswith(f"{path}: not valid TOML: ")
    assert "line 2" in problem.message


# --- the policies behind a scenario ------------------------------------------------------------


def test_a_missing_policy_file(tmp_path: Path) -> None:
    gone = POLICIES / "no_such_policy.toml"
    path = variant(tmp_path, f'policy = "{SUPER}"', f'policy = "{gone}"')
    assert_problem(problems_of(path), path, "policy", "no such policy file", str(gone))


def test_a_missing_relative_policy_file_is_shown_resolved(tmp_path: Path) -> None:
    path = variant(tmp_path, f'policy = "{SUPER}"', 'policy = "../gone.toml"')
    expected = (tmp_path.parent / "gone.toml").resolve()
    assert_problem(problems_of(path), path, "policy", f"no such policy file: {expected}")


def test_a_broken_policy_is_reported_in_the_policy_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken_policy.toml"
    text = SUPER.read_text(encoding="utf-8")
    broken.write_text(text.replace("[program]\n", '[program]\ncolour = "red"\n', 1))
    path = variant(tmp_path, f'policy = "{SUPER}"', f'policy = "{broken}"')
    problems = problems_of(path)
    assert_problem(problems, broken, "program.colour", "unknown key")
    assert all(p.source == str(broken) for p in problems)


def test_a_policy_that_is_not_toml(tmp_path: Path) -> None:
    broken = tmp_path / "policy.toml"
    broken.write_text("[program\n", encoding="utf-8")
    path = variant(tmp_path, f'policy = "{SUPER}"', f'policy = "{broken}"')
    (problem,) = problems_of(path)
    assert str(problem).startswith(f"{broken}: not valid TOML")


def test_a_group_policy_that_is_missing(tmp_path: Path) -> None:
    new = "[experiment]\n[experiment.groups.a]\npolicy = 'nope.toml'\n\n[health]"
    path = variant(tmp_path, "[health]", new)
    assert_problem(
        problems_of(path),
        path,
        "experiment.groups.a.policy",
        f"no such policy file: {tmp_path / 'nope.toml'}",
    )


def test_a_group_label_not_in_the_policy(tmp_path: Path) -> None:
    new = "[experiment]\n[experiment.groups.a]\nlabel = 'vip'\n\n[health]"
    path = variant(tmp_path, "[health]", new)
    assert_problem(
        problems_of(path),
        path,
        "experiment.groups.a.label",
        "'vip' is not in the policy's program.groups ['control', 'treatment']",
    )


def test_a_group_label_of_the_policy(tmp_path: Path) -> None:
    new = "[experiment]\n[experiment.groups.a]\nlabel = 'treatment'\n[experiment.groups.b]\n\n"
    path = variant(tmp_path, "[health]", new + "[health]")
    scn = load_scenario(path)
    assert [(a.group, a.label) for a in scn.arms] == [("a", 1), ("b", 0)]


@pytest.mark.parametrize(
    ("table", "where"),
    [
        ("set = { 'caps.dayly' = 3 }", "all"),
        ("[experiment.groups.a]\nset = { 'caps.dayly' = 3 }", "a"),
    ],
    ids=["scenario_set", "group_set"],
)
def test_a_policy_override_in_the_file_with_an_unknown_path(
    tmp_path: Path, table: str, where: str
) -> None:
    if table.startswith("set"):
        path = variant(tmp_path, "seed = 31", f"seed = 31\n{table}")
    else:
        path = variant(tmp_path, "[health]", f"[experiment]\n{table}\n\n[health]")
    source = f"{path} (policy overrides of group {where!r})"
    assert_problem(problems_of(path), source, "caps.dayly", "no such field to override", "daily")


def test_a_policy_override_in_the_file_of_the_wrong_type(tmp_path: Path) -> None:
    path = variant(tmp_path, "seed = 31", "seed = 31\nset = { 'caps.daily' = 'lots' }")
    source = f"{path} (policy overrides of group 'all')"
    assert_problem(problems_of(path), source, "caps.daily", "valid integer", "'lots'")


# --- overrides (--set) and keyword shorthands --------------------------------------------------


def test_set_overrides_the_scenario_and_the_policy() -> None:
    plain = load_scenario(BASE)
    assert plain.arms[0].policy.caps.daily == 500
    scn = load_scenario(BASE, sets=["population.size=50", "caps.daily=300"])
    assert scn.spec.population.size == 50
    assert scn.arms[0].policy.caps.daily == 300
    assert scn.arms[0].policy_hash != plain.arms[0].policy_hash
    assert scn.spec.horizon == plain.spec.horizon


def test_set_overrides_every_group_policy() -> None:
    scn = load_scenario(DEFAULT_SCENARIO, sets=["caps.daily=300", "horizon.days=30"])
    assert [a.policy.caps.daily for a in scn.arms] == [300, 300]
    assert scn.spec.horizon.days == 30


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ("population.sizes=50", "population.sizes", ["no such field to override", "size"]),
        ("horizon.weeks=3", "horizon.weeks", ["no such field to override", "days"]),
        ("caps.dayly=300", "caps.dayly", ["no such field to override", "daily"]),
        ("program.colour=1", "program.colour", ["no such field to override"]),
        ("population.size=abc", "population.size", ["valid integer", "'abc'"]),
        ("population.size=0", "population.size", ["greater than 0"]),
        ("horizon.days=0", "horizon.days", ["greater than or equal to 1"]),
        ("replications=many", "replications", ["valid integer", "'many'"]),
        ('caps.daily="lots"', "caps.daily", ["valid integer", "'lots'"]),
        ("caps.daily=-5", "caps.daily", ["greater than or equal to 0"]),
        ("caps.daily", "caps.daily", ["expected PATH=VALUE"]),
        ("=3", "=3", ["expected PATH=VALUE"]),
        ("caps..daily=3", "caps..daily=3", ["expected PATH=VALUE"]),
    ],
)
def test_a_bad_set_names_the_argument_and_path(text: str, field: str, expected: list[str]) -> None:
    assert_problem(problems_of(BASE, sets=[text]), "--set", field, *expected)


def test_a_set_is_checked_even_when_another_is_good() -> None:
    problems = problems_of(BASE, sets=["population.size=50", "caps.dayly=3"])
    assert [p.path for p in problems] == ["caps.dayly"]


def test_keyword_shorthands_set_the_scenario() -> None:
    scn = load_scenario(BASE, members=123, days=7, replications=2, seed=9)
    spec = scn.spec
    assert (spec.population.size, spec.horizon.days, spec.replications, spec.seed) == (
        123,
        7,
        2,
        9,
    )
    assert spec.horizon.warmup_days == load_scenario(BASE).spec.horizon.warmup_days


@pytest.mark.parametrize(
    ("kwargs", "field", "expected"),
    [
        ({"members": 0}, "population.size", "greater than 0"),
        ({"days": 0}, "horizon.days", "greater than or equal to 1"),
        ({"days": 100_000}, "horizon.days", "less than or equal to"),
        ({"replications": 0}, "replications", "greater than or equal to 1"),
        ({"seed": -1}, "seed", "greater than or equal to 0"),
    ],
    ids=["members", "days", "days_too_many", "replications", "seed"],
)
def test_a_bad_keyword_shorthand(kwargs: dict[str, int], field: str, expected: str) -> None:
    problems = problems_of(
        BASE,
        members=kwargs.get("members"),
        days=kwargs.get("days"),
        replications=kwargs.get("replications"),
        seed=kwargs.get("seed"),
    )
    assert_problem(problems, "--set", field, expected)


def test_the_file_is_checked_before_its_overrides(tmp_path: Path) -> None:
    path = variant(tmp_path, "seed = 31", "seed = -1")
    problems = problems_of(path, sets=["population.size=50"], days=3)
    assert [(p.source, p.path) for p in problems] == [(str(path), "seed")]

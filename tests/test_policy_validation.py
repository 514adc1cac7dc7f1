"""Bad policies are refused with a problem naming the file, the dotted field and what was
expected; overrides make new validated policies; the content hash identifies a policy."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pydantic
import pytest

from sim.policy import (
    Policy,
    PolicyError,
    Problem,
    content_hash,
    load_policy,
    override,
    parse_override,
)
from sim.policy.base import Caps

TINY = """\
[program]
name = "tiny"
point_value = 0.01
groups = ["control", "treatment"]

[earn.purchase]
kind = "purchase"
points_per_unit = 1.0

[earn.share]
kind = "action"
action = "share"
points = 10

[caps]
daily = 500

[tiers.base]
threshold = 0

[tiers.gold]
threshold = 1000
multiplier = 1.5
"""


@pytest.fixture
def tiny_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    return path


@pytest.fixture
def tiny_policy(tiny_file: Path) -> Policy:
    return load_policy(tiny_file)


def problems_of(tmp_path: Path, text: str, name: str = "bad.toml") -> list[Problem]:
    """Write ``text`` as a policy file and return the problems loading it reports."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    problems = info.value.problems
    assert problems, "a PolicyError must list at least one problem"
    for problem in problems:
        assert problem.source == str(path), f"problem does not name the file: {problem}"
    return problems


def at(problems: list[Problem], path: str) -> Problem:
    """The problem reported at dotted field ``path`` (fails listing them all otherwise)."""
    found = [p for p in problems if p.path == path]
    assert found, f"no problem at {path!r}; got: {[str(p) for p in problems]}"
    return found[0]


def mentioning(problems: list[Problem], path: str) -> Problem:
    """The problem whose text names dotted field ``path`` (cross-field checks put the path
    in the message)."""
    found = [p for p in problems if path in str(p)]
    assert found, f"no problem names {path!r}; got: {[str(p) for p in problems]}"
    return found[0]


def with_program(extra: str) -> str:
    return TINY.replace("point_value = 0.01\n", f"point_value = 0.01\n{extra}\n")


# --- the fixture itself is valid, so each failure below is due to the one change ----------------


def test_tiny_policy_is_valid(tiny_policy: Policy) -> None:
    assert tiny_policy.program.name == "tiny"
    assert list(tiny_policy.earn) == ["purchase", "share"]


# --- unknown keys -------------------------------------------------------------------------------


def test_unknown_top_level_key(tmp_path: Path) -> None:
    problem = at(problems_of(tmp_path, 'colour = "red"\n' + TINY), "colour")
    assert "unknown key" in problem.message


def test_unknown_top_level_table(tmp_path: Path) -> None:
    problem = at(problems_of(tmp_path, TINY + "[rewards]\nx = 1\n"), "rewards")
    assert "unknown key" in problem.message


def test_unknown_key_in_program(tmp_path: Path) -> None:
    problem = at(problems_of(tmp_path, with_program('colour = "red"')), "program.colour")
    assert "unknown key" in problem.message
    assert "bad.toml: program.colour: unknown key" in str(problem)


def test_misspelt_earn_field(tmp_path: Path) -> None:
    text = TINY.replace("points_per_unit = 1.0", "ponts_per_unit = 1.0")
    problem = at(problems_of(tmp_path, text), "earn.purchase.ponts_per_unit")
    assert "unknown key" in problem.message


def test_unknown_key_in_nested_caps(tmp_path: Path) -> None:
    text = TINY.replace("daily = 500", "daily = 500\nweekly = 10")
    assert "unknown key" in at(problems_of(tmp_path, text), "caps.weekly").message


def test_unknown_key_in_catalogue_item(tmp_path: Path) -> None:
    text = TINY + "[burn.catalogue.mug]\npoints = 100\ncash_cost = 3.0\nprice = 7\n"
    assert "unknown key" in at(problems_of(tmp_path, text), "burn.catalogue.mug.price").message


# --- wrong types and ranges ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "path", "expected"),
    [
        ("daily = 500", 'daily = "lots"', "caps.daily", "valid integer"),
        ("daily = 500", "daily = 2.5", "caps.daily", "valid integer"),
        ("point_value = 0.01", 'point_value = "cheap"', "program.point_value", "valid number"),
        (
            "points_per_unit = 1.0",
            "points_per_unit = [1]",
            "earn.purchase.points_per_unit",
            "valid number",
        ),
        ("threshold = 1000", "threshold = {at = 1}", "tiers.gold.threshold", "valid number"),
        ('name = "tiny"', 'name = "tiny shop"', "program.name", "pattern"),
        (
            'kind = "purchase"',
            'kind = "purchase"\nrounding = "up"',
            "earn.purchase.rounding",
            "'floor', 'round' or 'ceil'",
        ),
        ("point_value = 0.01", "point_value = nan", "program.point_value", "finite"),
        ("point_value = 0.01", "point_value = 0", "program.point_value", "greater than 0"),
        ("multiplier = 1.5", "multiplier = 101", "tiers.gold.multiplier", "less than or equal"),
        ('groups = ["control", "treatment"]', "groups = 3", "program.groups", "valid tuple"),
    ],
)
def test_wrong_type_or_range_names_the_field(
    tmp_path: Path, old: str, new: str, path: str, expected: str
) -> None:
    assert old in TINY
    problem = at(problems_of(tmp_path, TINY.replace(old, new, 1)), path)
    assert expected in problem.message


def test_wrong_type_reports_the_value_given(tmp_path: Path) -> None:
    problem = at(problems_of(tmp_path, TINY.replace("daily = 500", 'daily = "lots"')), "caps.daily")
    assert "'lots'" in problem.message


def test_negative_overall_cap(tmp_path: Path) -> None:
    problem = at(problems_of(tmp_path, TINY.replace("daily = 500", "daily = -5")), "caps.daily")
    assert "greater than or equal to 0" in problem.message
    assert "-5" in problem.message


def test_negative_rule_cap(tmp_path: Path) -> None:
    text = TINY.replace("points_per_unit = 1.0", "points_per_unit = 1.0\ncaps = { monthly = -1 }")
    problem = at(problems_of(tmp_path, text), "earn.purchase.caps.monthly")
    assert "greater than or equal to 0" in problem.message


def test_cash_offset_share_above_one(tmp_path: Path) -> None:
    text = TINY + "[burn.cash_offset]\nmax_share = 1.5\n"
    problem = at(problems_of(tmp_path, text), "burn.cash_offset.max_share")
    assert "less than or equal to 1" in problem.message
    assert "1.5" in problem.message


def test_points_day_after_the_28th(tmp_path: Path) -> None:
    text = TINY + "[burn.points_day]\nday_of_month = 31\nprice_factor = 0.8\n"
    problem = at(problems_of(tmp_path, text), "burn.points_day.day_of_month")
    assert "less than or equal to 28" in problem.message


def test_expiry_months_zero(tmp_path: Path) -> None:
    text = TINY + "[expiry]\nmonths = 0\n"
    assert "greater than or equal to 1" in at(problems_of(tmp_path, text), "expiry.months").message


def test_unknown_expiry_mode(tmp_path: Path) -> None:
    text = TINY + '[expiry]\nmode = "sometimes"\n'
    assert "'rolling'" in at(problems_of(tmp_path, text), "expiry.mode").message


def test_every_problem_of_a_file_is_reported(tmp_path: Path) -> None:
    text = with_program('colour = "red"').replace("daily = 500", "daily = -1")
    text += "[burn.cash_offset]\nmax_share = 1.5\n"
    problems = problems_of(tmp_path, text)
    paths = {p.path for p in problems}
    assert {"program.colour", "caps.daily", "burn.cash_offset.max_share"} <= paths


# --- tiers --------------------------------------------------------------------------------------


def test_tier_thresholds_overlap(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, TINY.replace("threshold = 1000", "threshold = 0"))
    problem = mentioning(problems, "tiers.gold.threshold")
    assert "must be above tiers.base.threshold" in problem.message


def test_tier_thresholds_not_increasing(tmp_path: Path) -> None:
    text = TINY + "[tiers.silver]\nthreshold = 500\n"
    problem = at(problems_of(tmp_path, text), "tiers.silver.threshold")
    assert "500 must be above tiers.gold.threshold (1000)" in problem.message


def test_first_tier_threshold_not_zero(tmp_path: Path) -> None:
    text = TINY.replace("threshold = 0", "threshold = 10")
    problem = at(problems_of(tmp_path, text), "tiers.base.threshold")
    assert "first tier's threshold must be 0 (got 10)" in problem.message


def test_no_tiers(tmp_path: Path) -> None:
    text = TINY[: TINY.index("[tiers.base]")]
    assert "required" in at(problems_of(tmp_path, text), "tiers").message


def test_empty_tiers_table(tmp_path: Path) -> None:
    text = TINY[: TINY.index("[tiers.base]")] + "[tiers]\n"
    assert "at least 1 item" in at(problems_of(tmp_path, text), "tiers").message


# --- earn rules ---------------------------------------------------------------------------------


def test_unknown_earn_kind(tmp_path: Path) -> None:
    text = TINY + '[earn.bonus]\nkind = "jackpot"\npoints = 1\n'
    problem = at(problems_of(tmp_path, text), "earn.bonus")
    assert "'jackpot'" in problem.message
    assert "kind" in problem.message
    assert "purchase, per_item" in problem.message  # lists what was expected


def test_earn_rule_without_kind(tmp_path: Path) -> None:
    text = TINY + "[earn.bonus]\npoints = 1\n"
    assert "'kind'" in at(problems_of(tmp_path, text), "earn.bonus").message


def test_missing_required_program_field(tmp_path: Path) -> None:
    text = TINY.replace("point_value = 0.01\n", "")
    problem = at(problems_of(tmp_path, text), "program.point_value")
    assert problem.message == "required field is missing"


def test_missing_program_table(tmp_path: Path) -> None:
    text = TINY[TINY.index("[earn.purchase]") :]
    assert "required" in at(problems_of(tmp_path, text), "program").message


def test_missing_required_earn_field(tmp_path: Path) -> None:
    text = TINY + '[earn.profile]\nkind = "one_time"\ntrigger = "profile"\n'
    assert "required" in at(problems_of(tmp_path, text), "earn.profile.points").message


def test_missing_required_catalogue_field(tmp_path: Path) -> None:
    text = TINY + "[burn.catalogue.mug]\npoints = 100\n"
    assert "required" in at(problems_of(tmp_path, text), "burn.catalogue.mug.cash_cost").message


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ('[earn.like]\nkind = "action"\naction = "share"\n', "earn.like.points"),
        ('[earn.like]\nkind = "action"\naction = "share"\npoints = "x"\n', "earn.like.points"),
        ('[earn.big]\nkind = "task"\ntask = "spend"\npoints = 100\n', "earn.big"),
    ],
    ids=["action-missing-points", "action-points-not-int", "task-spend-without-spend"],
)
def test_problems_of_action_and_task_rules_name_their_path(
    tmp_path: Path, extra: str, path: str
) -> None:
    at(problems_of(tmp_path, TINY + extra), path)


def test_checkin_bonus_points_without_bonus_day(tmp_path: Path) -> None:
    text = TINY + '[earn.checkin]\nkind = "checkin"\nstreak_points = [5, 10]\nbonus_points = 50\n'
    problem = at(problems_of(tmp_path, text), "earn.checkin")
    assert "bonus_points is set but bonus_day is not" in problem.message


def test_checkin_needs_a_streak_table(tmp_path: Path) -> None:
    text = TINY + '[earn.checkin]\nkind = "checkin"\nstreak_points = []\n'
    assert (
        "at least 1 item" in at(problems_of(tmp_path, text), "earn.checkin.streak_points").message
    )


def test_referral_paying_nobody(tmp_path: Path) -> None:
    text = TINY + '[earn.invite]\nkind = "referral"\nstage = "signup"\n'
    problem = at(problems_of(tmp_path, text), "earn.invite")
    assert "must pay the referrer or the referee" in problem.message


def test_spend_task_without_spend(tmp_path: Path) -> None:
    text = TINY + '[earn.big]\nkind = "task"\ntask = "spend"\npoints = 100\n'
    assert "spend > 0" in mentioning(problems_of(tmp_path, text), "earn.big").message


def test_streak_task_of_one_day(tmp_path: Path) -> None:
    text = TINY + '[earn.week]\nkind = "task"\ntask = "streak"\ndays = 1\npoints = 100\n'
    assert "days >= 2" in mentioning(problems_of(tmp_path, text), "earn.week").message


def test_mentor_share_paid_the_same_day(tmp_path: Path) -> None:
    text = TINY + (
        '[earn.mentor]\nkind = "mentor_share"\nshare = 0.1\nrules = ["purchase"]\ndelay_days = 0\n'
    )
    assert "delay_days must be >= 1" in at(problems_of(tmp_path, text), "earn.mentor").message


def test_mentor_share_of_an_unknown_rule(tmp_path: Path) -> None:
    text = TINY + '[earn.mentor]\nkind = "mentor_share"\nshare = 0.1\nrules = ["tips"]\n'
    problem = mentioning(problems_of(tmp_path, text), "earn.mentor.rules")
    assert "'tips' is not an earn rule it can share" in problem.message


def test_default_category_is_reserved(tmp_path: Path) -> None:
    text = TINY.replace("points_per_unit = 1.0", "category_multipliers = { default = 2.0 }")
    problem = at(problems_of(tmp_path, text), "earn.purchase.category_multipliers")
    assert "'default' is a reserved category" in problem.message


@pytest.mark.parametrize("rule_id", ["expiry", "refund", "interest", "cash_offset"])
def test_reserved_earn_rule_id(tmp_path: Path, rule_id: str) -> None:
    text = TINY + f'[earn.{rule_id}]\nkind = "action"\naction = "review"\npoints = 5\n'
    problem = at(problems_of(tmp_path, text), f"earn.{rule_id}")
    assert "reserved for the engine's own postings" in problem.message


def test_reserved_campaign_id(tmp_path: Path) -> None:
    text = TINY + "[campaigns.release]\nmultiplier = 2.0\n"
    problem = at(problems_of(tmp_path, text), "campaigns.release")
    assert "reserved for the engine's own postings" in problem.message


def test_campaign_id_clashing_with_an_earn_rule(tmp_path: Path) -> None:
    text = TINY + "[campaigns.share]\nmultiplier = 2.0\n"
    problem = mentioning(problems_of(tmp_path, text), "campaigns.share")
    assert "also an earn rule's id" in problem.message


def test_rule_id_that_is_not_an_identifier(tmp_path: Path) -> None:
    text = TINY + '[earn."9lives"]\nkind = "action"\naction = "review"\npoints = 5\n'
    problem = mentioning(problems_of(tmp_path, text), "earn.9lives")
    assert "pattern" in problem.message


# --- campaigns ----------------------------------------------------------------------------------


def test_campaign_end_before_start(tmp_path: Path) -> None:
    text = TINY + "[campaigns.sale]\nstart = 2026-11-11\nend = 2026-11-01\nmultiplier = 2.0\n"
    problem = at(problems_of(tmp_path, text), "campaigns.sale")
    assert "end(=2026-11-01) is before start(=2026-11-11)" in problem.message


def test_campaign_with_a_bad_date(tmp_path: Path) -> None:
    text = TINY + '[campaigns.sale]\nstart = "tomorrow"\nmultiplier = 2.0\n'
    assert "date" in at(problems_of(tmp_path, text), "campaigns.sale.start").message


def test_campaign_that_changes_nothing(tmp_path: Path) -> None:
    text = TINY + "[campaigns.sale]\nmultiplier = 1.0\n"
    problem = at(problems_of(tmp_path, text), "campaigns.sale")
    assert "multiplier other than 1 or a bonus" in problem.message


def test_yearly_campaign_without_end(tmp_path: Path) -> None:
    text = TINY + "[campaigns.sale]\nstart = 2026-11-01\nyearly = true\nmultiplier = 2.0\n"
    assert "needs both start and end" in at(problems_of(tmp_path, text), "campaigns.sale").message


def test_campaign_on_an_unknown_rule(tmp_path: Path) -> None:
    text = TINY + '[campaigns.sale]\nmultiplier = 2.0\nrules = ["purchse"]\n'
    problem = mentioning(problems_of(tmp_path, text), "campaigns.sale.rules")
    assert "no earn rule 'purchse'" in problem.message


def test_campaign_for_an_unknown_tier(tmp_path: Path) -> None:
    text = TINY + '[campaigns.sale]\nmultiplier = 2.0\ntiers = ["diamond"]\n'
    problem = mentioning(problems_of(tmp_path, text), "campaigns.sale.tiers")
    assert "no tier 'diamond'" in problem.message


def test_campaign_for_an_unknown_group(tmp_path: Path) -> None:
    text = TINY + '[campaigns.sale]\nmultiplier = 2.0\ngroups = ["treatmnt"]\n'
    problem = mentioning(problems_of(tmp_path, text), "campaigns.sale.groups")
    assert "no group 'treatmnt' in program.groups" in problem.message


def test_duplicate_groups(tmp_path: Path) -> None:
    text = TINY.replace('groups = ["control", "treatment"]', 'groups = ["a", "a"]')
    problem = mentioning(problems_of(tmp_path, text), "program.groups")
    assert "unique" in problem.message


# --- burn ---------------------------------------------------------------------------------------


def test_catalogue_item_for_an_unknown_tier(tmp_path: Path) -> None:
    text = TINY + '[burn.catalogue.box]\npoints = 2000\ncash_cost = 25.0\nmin_tier = "platinum"\n'
    problem = mentioning(problems_of(tmp_path, text), "burn.catalogue.box.min_tier")
    assert "no tier 'platinum'" in problem.message


def test_catalogue_item_with_zero_points(tmp_path: Path) -> None:
    text = TINY + "[burn.catalogue.box]\npoints = 0\ncash_cost = 1.0\n"
    assert "greater than 0" in at(problems_of(tmp_path, text), "burn.catalogue.box.points").message


def test_lottery_probabilities_above_one(tmp_path: Path) -> None:
    text = TINY + (
        "[burn.lottery]\ncost_points = 20\nprizes = [\n"
        '  { name = "big", probability = 0.7 },\n'
        '  { name = "small", probability = 0.5 },\n]\n'
    )
    problem = at(problems_of(tmp_path, text), "burn.lottery")
    assert "sum to 1.2; expected at most 1" in problem.message


def test_lottery_prize_probability_out_of_range(tmp_path: Path) -> None:
    text = TINY + '[burn.lottery]\ncost_points = 20\nprizes = [{ name = "x", probability = 2 }]\n'
    problem = at(problems_of(tmp_path, text), "burn.lottery.prizes.0.probability")
    assert "less than or equal to 1" in problem.message


def test_lottery_duplicate_prize_names(tmp_path: Path) -> None:
    text = TINY + (
        "[burn.lottery]\ncost_points = 20\nprizes = [\n"
        '  { name = "x", probability = 0.1 },\n  { name = "x", probability = 0.2 },\n]\n'
    )
    assert "unique" in at(problems_of(tmp_path, text), "burn.lottery").message


# --- value, expiry ------------------------------------------------------------------------------


def test_dynamic_value_recover_not_below_threshold(tmp_path: Path) -> None:
    text = (
        TINY + "[dynamic_value]\nthreshold = 3.0\nrecover_below = 3.0\nstep = 0.05\nfloor = 0.5\n"
    )
    problem = at(problems_of(tmp_path, text), "dynamic_value")
    assert "recover_below(=3.0) must be below threshold(=3.0)" in problem.message


def test_point_value_not_whole_micro_units(tmp_path: Path) -> None:
    text = TINY.replace("point_value = 0.01", "point_value = 0.0000001")
    problem = at(problems_of(tmp_path, text), "program.point_value")
    assert "whole number of micro-units" in problem.message


def test_interest_rate_too_high(tmp_path: Path) -> None:
    text = TINY + "[interest]\nmonthly_rate = 0.5\n"
    problem = at(problems_of(tmp_path, text), "interest.monthly_rate")
    assert "less than or equal to 0.2" in problem.message


def test_fixed_date_expiry_on_february_30(tmp_path: Path) -> None:
    text = TINY + '[expiry]\nmode = "fixed_date"\nfixed_month = 2\nfixed_day = 30\n'
    problem = at(problems_of(tmp_path, text), "expiry")
    assert "fixed_month=2, fixed_day=30 is not a date" in problem.message


def test_repeated_reminder_days(tmp_path: Path) -> None:
    text = TINY + "[expiry]\nreminders = [30, 7, 30]\n"
    assert "must not repeat" in at(problems_of(tmp_path, text), "expiry").message


# --- the file itself ----------------------------------------------------------------------------


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, TINY + "[earn.broken\n", name="broken.toml")
    assert len(problems) == 1
    assert "broken.toml" in str(problems[0])
    assert "not valid TOML" in problems[0].message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    (problem,) = info.value.problems
    assert problem.source == str(path)
    assert problem.message == "no such file"
    assert str(path) in str(info.value)


def test_a_directory_is_not_a_policy(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path)
    assert "cannot read the file" in info.value.problems[0].message


# --- overrides ----------------------------------------------------------------------------------


def test_override_changes_only_that_field(tiny_policy: Policy) -> None:
    changed = override(tiny_policy, {"caps.daily": 300})
    assert changed is not tiny_policy
    assert changed.caps.daily == 300
    assert tiny_policy.caps.daily == 500
    before = tiny_policy.model_dump()
    after = changed.model_dump()
    before["caps"]["daily"] = 300
    assert after == before


def test_override_of_a_nested_rule_field(tiny_policy: Policy) -> None:
    path, value = parse_override("earn.purchase.points_per_unit=2")
    changed = override(tiny_policy, {path: value})
    assert changed.earn["purchase"].model_dump()["points_per_unit"] == 2.0
    assert tiny_policy.earn["purchase"].model_dump()["points_per_unit"] == 1.0


def test_load_with_overrides(tiny_file: Path) -> None:
    policy = load_policy(tiny_file, {"tiers.gold.multiplier": 2.0, "program.title": "T"})
    assert policy.tiers["gold"].multiplier == 2.0
    assert policy.program.title == "T"


def test_policies_are_frozen(tiny_policy: Policy) -> None:
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        tiny_policy.caps = Caps(daily=1)  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        tiny_policy.caps.daily = 1  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        tiny_policy.tiers["gold"].multiplier = 3.0  # type: ignore[misc]
    assert tiny_policy.caps.daily == 500


def test_override_of_an_unknown_path(tiny_policy: Policy) -> None:
    with pytest.raises(PolicyError) as info:
        override(tiny_policy, {"caps.weekly": 10})
    problem = at(info.value.problems, "caps.weekly")
    assert "no such field" in problem.message
    assert "daily" in problem.message  # lists the fields that are there


def test_override_of_an_unknown_table(tiny_policy: Policy) -> None:
    with pytest.raises(PolicyError) as info:
        override(tiny_policy, {"rewards.x": 1})
    assert "no such field" in at(info.value.problems, "rewards").message


def test_override_of_an_unknown_rule(tiny_policy: Policy) -> None:
    with pytest.raises(PolicyError) as info:
        override(tiny_policy, {"earn.checkin.points": 5})
    assert "no such field" in at(info.value.problems, "earn.checkin").message


def test_override_with_a_wrong_type(tiny_policy: Policy) -> None:
    path, value = parse_override("caps.daily=lots")
    assert value == "lots"
    with pytest.raises(PolicyError) as info:
        override(tiny_policy, {path: value})
    assert "valid integer" in at(info.value.problems, "caps.daily").message


def test_override_that_breaks_a_cross_field_rule(tiny_policy: Policy) -> None:
    with pytest.raises(PolicyError) as info:
        override(tiny_policy, {"tiers.gold.threshold": 0})
    assert "thresholds overlap" in mentioning(info.value.problems, "tiers.gold.threshold").message


def test_override_inside_an_unset_optional_table(tiny_policy: Policy) -> None:
    assert tiny_policy.dynamic_value is None
    with pytest.raises(PolicyError) as info:
        override(tiny_policy, {"dynamic_value.threshold": 1})
    missing = {p.path for p in info.value.problems if "required" in p.message}
    assert missing == {"dynamic_value.recover_below", "dynamic_value.step", "dynamic_value.floor"}


def test_override_setting_a_whole_optional_table(tiny_policy: Policy) -> None:
    path, value = parse_override(
        "dynamic_value={threshold = 3.0, recover_below = 1.0, step = 0.05, floor = 0.5}"
    )
    changed = override(tiny_policy, {path: value})
    assert changed.dynamic_value is not None
    assert changed.dynamic_value.threshold == 3.0
    assert tiny_policy.dynamic_value is None


def test_override_setting_an_optional_table_field_by_field(tiny_policy: Policy) -> None:
    changed = override(
        tiny_policy,
        {
            "dynamic_value.threshold": 3.0,
            "dynamic_value.recover_below": 1.0,
            "dynamic_value.step": 0.05,
            "dynamic_value.floor": 0.5,
        },
    )
    assert changed.dynamic_value is not None


def test_override_problems_name_the_source(tiny_policy: Policy) -> None:
    with pytest.raises(PolicyError) as info:
        override(tiny_policy, {"caps.daily": -1}, source="tiny.toml --set")
    assert str(info.value.problems[0]).startswith("tiny.toml --set: caps.daily:")


def test_no_overrides_returns_the_same_policy(tiny_policy: Policy) -> None:
    assert override(tiny_policy, {}) is tiny_policy


def test_override_of_a_list_element(tiny_policy: Policy) -> None:
    with_reminders = override(tiny_policy, {"expiry.reminders": [30, 7]})
    changed = override(with_reminders, {"expiry.reminders.0": 60})
    assert changed.expiry.reminders == (60, 7)


@pytest.mark.parametrize(
    ("text", "path", "value"),
    [
        ("caps.daily=500", "caps.daily", 500),
        (" caps.daily = 500 ", "caps.daily", 500),
        ("tiers.gold.multiplier=1.5", "tiers.gold.multiplier", 1.5),
        ("freeze.blocks_earn=true", "freeze.blocks_earn", True),
        ("expiry.reminders=[30, 7]", "expiry.reminders", [30, 7]),
        ('program.title="Two words"', "program.title", "Two words"),
        ("program.title=Two words", "program.title", "Two words"),
        ("campaigns.sale.start=2026-11-01", "campaigns.sale.start", dt.date(2026, 11, 1)),
    ],
)
def test_parse_override(text: str, path: str, value: object) -> None:
    assert parse_override(text) == (path, value)


@pytest.mark.parametrize("text", ["foo", "=3", "caps..daily=1", ".daily=1", "caps.=1"])
def test_parse_override_refuses_a_malformed_setting(text: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_override(text)
    (problem,) = info.value.problems
    assert problem.path == text
    assert "PATH=VALUE" in problem.message


# --- content hash -------------------------------------------------------------------------------


def test_content_hash_is_stable(tiny_file: Path) -> None:
    first = content_hash(load_policy(tiny_file))
    again = content_hash(load_policy(tiny_file))
    assert first == again
    assert len(first) == 64
    assert int(first, 16) >= 0


def test_content_hash_ignores_comments_and_layout(tiny_file: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text("# a comment\n" + TINY.replace("daily = 500", "daily   =   500  # cap"))
    assert content_hash(load_policy(other)) == content_hash(load_policy(tiny_file))


def test_content_hash_changes_with_an_override(tiny_policy: Policy) -> None:
    changed = override(tiny_policy, {"caps.daily": 501})
    assert content_hash(changed) != content_hash(tiny_policy)
    back = override(changed, {"caps.daily": 500})
    assert content_hash(back) == content_hash(tiny_policy)


def test_content_hash_changes_with_meta(tiny_policy: Policy) -> None:
    changed = override(tiny_policy, {"program.title": "renamed"})
    assert content_hash(changed) != content_hash(tiny_policy)


def test_content_hash_sees_the_order_rules_apply_in(tmp_path: Path) -> None:
    swapped = TINY.replace(
        '[earn.purchase]\nkind = "purchase"\npoints_per_unit = 1.0\n\n', ""
    ).replace("[caps]", '[earn.purchase]\nkind = "purchase"\npoints_per_unit = 1.0\n\n[caps]')
    a_path, b_path = tmp_path / "a.toml", tmp_path / "b.toml"
    a_path.write_text(TINY)
    b_path.write_text(swapped)
    a, b = load_policy(a_path), load_policy(b_path)
    assert [k for k, _ in a.ordered_earn()] != [k for k, _ in b.ordered_earn()]
    assert content_hash(a) != content_hash(b)

"""A policy in plain words: the three sentences, the full description, and diffs."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sim.policy import Policy, PolicyError, load_policy, override, validate_policy
from sim.policy.describe import describe, three_sentences
from sim.policy.diff import MISSING, diff, render_diff
from sim.policy.earn import TaskRule

TINY = """\
[program]
name = "tiny"
point_value = 0.01

[earn.purchase]
kind = "purchase"

[tiers.base]
threshold = 0
"""

# Every table and every kind of rule the policy language has, with values off their defaults.
KITCHEN_SINK = """\
[program]
name = "sink"
title = "Kitchen sink"
currency = "EUR"
point_value = 0.02
campaign_stacking = "multiply"
groups = ["control", "treatment"]
transferable = true

[earn.purchase]
kind = "purchase"
points_per_unit = 2.0
rounding = "round"
min_amount = 5.0
category_multipliers = { wine = 1.5 }
priority = 1
caps = { daily = 400, monthly = 4000 }
delay_days = 14

[earn.per_cup]
kind = "per_item"
points_per_item = 5
categories = ["coffee"]
qualifying = false

[earn.checkin]
kind = "checkin"
streak_points = [5, 8, 10]
after_table = "hold"
bonus_day = 7
bonus_points = 50
boostable = true

[earn.share]
kind = "action"
action = "share"
points = 10
overall_cap = false
channel = "social"

[earn.profile]
kind = "one_time"
trigger = "profile"
points = 100

[earn.invite]
kind = "referral"
stage = "first_purchase"
referrer_points = 50
referee_points = 30

[earn.weekly]
kind = "task"
task = "count"
action = "review"
count = 3
period = "week"
points = 40

[earn.monthly_spend]
kind = "task"
task = "spend"
spend = 500.0
period = "month"
points = 200

[earn.streak]
kind = "task"
task = "streak"
action = "login"
days = 7
points = 70

[earn.invest]
kind = "investment"
points_per_unit = 0.001
rounding = "ceil"

[earn.mentor]
kind = "mentor_share"
share = 0.1
rules = ["purchase"]
days = 90

[caps]
daily = 500
monthly = 5000

[campaigns.double11]
start = 2026-11-01
end = 2026-11-11
yearly = true
multiplier = 2.0
bonus = 5
rules = ["purchase"]
tiers = ["gold"]
groups = ["treatment"]
max_days_since_join = 30
birthday_month = true
priority = 2

[burn.cash_offset]
max_share = 0.1
min_points = 100
step = 10

[burn.catalogue.coupon]
name = "Coupon"
points = 50
cash_cost = 0.4
face_value = 5.0

[burn.catalogue.box]
name = "Gift box"
kind = "goods"
points = 2000
cash_cost = 25.0
stock = 10
min_tier = "gold"
category = "gifts"

[burn.points_day]
day_of_month = 18
price_factor = 0.8

[burn.lottery]
cost_points = 20
prizes = [{ name = "big", probability = 0.01, points = 500, cash_cost = 1.0 }]

[burn.auction.watch]
name = "Watch"
quantity = 2
reserve_points = 5000
cash_cost = 80.0
close_day_of_month = 20

[burn.donation]
min_points = 10

[tiering]
measure = "spend"
window_months = 6
review = "quarterly"
upgrade = "review"
downgrade = "recompute"

[tiers.base]
threshold = 0

[tiers.gold]
threshold = 1000
multiplier = 1.5
point_value = 0.03
birthday_multiplier = 2.0
monthly_pack_cost = 3.0

[expiry]
mode = "rolling"
months = 18
rounding = "quarter_end"
reminders = [30, 7]
first_expiry = 2027-01-01

[freeze]
blocks_earn = true

[refunds]
clawback = "allow_negative"

[dynamic_value]
threshold = 3.0
recover_below = 1.0
step = 0.05
floor = 0.5

[interest]
monthly_rate = 0.01
min_balance = 100
max_points = 1000

[cost]
per_point_issued = 0.001
per_point_burned = 0.002
margin_rate = 0.3

[meta]
source = "made up"
[meta.reported]
uplift = 0.1
"""


def policy_of(text: str) -> Policy:
    return validate_policy(tomllib.loads(text))


@pytest.fixture
def tiny_policy() -> Policy:
    return policy_of(TINY)


@pytest.fixture
def sink() -> Policy:
    return policy_of(KITCHEN_SINK)


# --- three sentences ----------------------------------------------------------------------------


def test_three_sentences_of_the_sink(sink: Policy) -> None:
    assert three_sentences(sink) == [
        "Spend 1 EUR, earn 2 points, plus 5 points per item of coffee; gold earns 1.5x.",
        "Use points as cash at checkout (1 point = 0.02 EUR, up to 10% of an order), "
        "in the catalogue (from 50 points), on the prize wheel (20 points a spin), "
        "in auctions or as a donation; on the 18th of every month catalogue rewards are 20% off.",
        "Points expire 18 months after you earn them, at the end of the quarter "
        "(none before 2027-01-01); your balance earns 1% interest a month.",
    ]


def test_spend_per_point(tiny_policy: Policy) -> None:
    sentence = three_sentences(override(tiny_policy, {"earn.purchase.points_per_unit": 0.1}))[0]
    assert sentence == "Spend 10 CNY, earn 1 point."


def test_no_purchase_rule() -> None:
    text = TINY.replace('kind = "purchase"', 'kind = "action"\naction = "share"\npoints = 10')
    text += '[earn.checkin]\nkind = "checkin"\nstreak_points = [5]\n'
    first = three_sentences(policy_of(text))[0]
    assert first == "Earn points for each share (10 points) and daily check-ins."


def test_many_ways_to_earn_without_purchase() -> None:
    text = TINY.replace('kind = "purchase"', 'kind = "action"\naction = "share"\npoints = 10')
    for action in ("review", "login", "course"):
        text += f'[earn.{action}]\nkind = "action"\naction = "{action}"\npoints = 1\n'
    assert three_sentences(policy_of(text))[0].endswith("and more.")


def test_investment_instead_of_purchase() -> None:
    text = TINY.replace('kind = "purchase"', 'kind = "investment"\npoints_per_unit = 0.001')
    first = three_sentences(policy_of(text))[0]
    assert first == "Invest 1,000 CNY, earn 1 point when the investment matures."


def test_no_earn_rules() -> None:
    text = TINY.replace('[earn.purchase]\nkind = "purchase"\n', "")
    assert three_sentences(policy_of(text))[0] == "There is no way to earn points."


def test_tier_multipliers_only_when_something_is_boosted(sink: Policy) -> None:
    assert "gold earns 1.5x" in three_sentences(sink)[0]
    plain = override(sink, {f"earn.{k}.boostable": False for k in sink.earn})
    assert "gold" not in three_sentences(plain)[0]


def test_nothing_to_spend_on(tiny_policy: Policy) -> None:
    assert three_sentences(tiny_policy)[1] == "Points cannot be spent."


def test_cash_offset_only(tiny_policy: Policy) -> None:
    whole = override(tiny_policy, {"burn.cash_offset": {}})
    assert three_sentences(whole)[1] == "Use points as cash at checkout (1 point = 0.01 CNY)."
    part = override(tiny_policy, {"burn.cash_offset": {"max_share": 0.25}})
    assert "up to 25% of an order" in three_sentences(part)[1]
    off = override(tiny_policy, {"burn.cash_offset": {"enabled": False}})
    assert three_sentences(off)[1] == "Points cannot be spent."


def test_catalogue_without_cash_offset(sink: Policy) -> None:
    text = three_sentences(override(sink, {"burn.cash_offset": None}))[1]
    assert "checkout" not in text
    assert text.startswith("Use points in the catalogue (from 50 points)")


@pytest.mark.parametrize(
    ("expiry", "sentence"),
    [
        ({"mode": "never"}, "Points never expire."),
        (
            {"mode": "rolling", "months": 12, "rounding": "month_end"},
            "Points expire 12 months after you earn them, at the end of the month.",
        ),
        (
            {"mode": "rolling", "months": 24, "rounding": "day"},
            "Points expire 24 months after you earn them.",
        ),
        (
            {"mode": "rolling", "months": 12, "rounding": "year_end"},
            "Points expire 12 months after you earn them, at the end of the year.",
        ),
        (
            {"mode": "fixed_date", "fixed_month": 12, "fixed_day": 31},
            "Points expire on 31 December of the year after the one you earn them in.",
        ),
        (
            {"mode": "fixed_date", "fixed_month": 6, "fixed_day": 30, "years": 2},
            "Points expire on 30 June, 2 years after the year you earn them in.",
        ),
        (
            {"mode": "inactivity", "inactivity_days": 180},
            "Points expire after 180 days without any activity.",
        ),
        (
            {"mode": "never", "first_expiry": "2027-01-01"},
            "Points never expire.",
        ),
    ],
)
def test_expiry_sentence(tiny_policy: Policy, expiry: dict[str, Any], sentence: str) -> None:
    assert three_sentences(override(tiny_policy, {"expiry": expiry}))[2] == sentence


def test_three_sentences_are_three(sink: Policy, tiny_policy: Policy) -> None:
    for policy in (sink, tiny_policy):
        sentences = three_sentences(policy)
        assert len(sentences) == 3
        assert all(s.endswith(".") and "\n" not in s for s in sentences)


# --- describe -----------------------------------------------------------------------------------


def section(text: str, title: str) -> str:
    """The lines of one section of :func:`describe`'s output."""
    for block in text.split("\n\n"):
        if block.startswith(title + "\n") or block.startswith(title + " ("):
            return block
    raise AssertionError(f"no section {title!r} in:\n{text}")


def test_describe_has_every_section(sink: Policy) -> None:
    text = describe(sink)
    for title in ("Earn", "Campaigns", "Caps", "Burn", "Value", "Tiers", "Expiry", "Control"):
        section(text, title)
    assert text.startswith("Kitchen sink (sink)\n")
    assert "Reported outcomes:\n    uplift: 0.1" in section(text, "Notes")


def test_earn_rules_in_application_order(sink: Policy) -> None:
    earn = section(describe(sink), "Earn")
    numbered = re.findall(r"^  \d+\. (\w+) ", earn, flags=re.M)
    assert numbered == [k for k, _ in sink.ordered_earn()]
    assert numbered[-1] == "purchase"  # priority 1, after the priority-0 rules
    first = override(sink, {"earn.purchase.priority": -1})
    assert re.findall(r"^  \d+\. (\w+) ", section(describe(first), "Earn"), flags=re.M)[0] == (
        "purchase"
    )


def test_disabled_rules_and_campaigns_are_listed_apart(sink: Policy) -> None:
    off = override(sink, {"earn.share.enabled": False, "campaigns.double11.enabled": False})
    text = describe(off)
    assert "Disabled: share [action]." in section(text, "Earn")
    assert not re.search(r"^  \d+\. share ", section(text, "Earn"), flags=re.M)
    assert "Disabled: double11." in section(text, "Campaigns")


def test_catalogue_sorted_by_points(sink: Policy) -> None:
    bigger = override(sink, {"burn.catalogue.coupon.points": 5000})
    rows = [line.split() for line in section(describe(bigger), "Burn").splitlines()]
    items = [r[1] for r in rows if r and r[0].replace(",", "").isdigit()]
    assert items == ["box", "coupon"]
    rows = [line.split() for line in section(describe(sink), "Burn").splitlines()]
    items = [r[1] for r in rows if r and r[0].replace(",", "").isdigit()]
    assert items == ["coupon", "box"]


def test_catalogue_row(sink: Policy) -> None:
    burn = section(describe(sink), "Burn")
    row = next(line for line in burn.splitlines() if " box " in line).split()
    assert row[0] == "2,000"
    assert row[-2:] == ["10", "gold"]  # stock, min tier
    assert "25" in row  # cash cost
    assert "25 (=cost)" in " ".join(row)  # face value defaults to the cost


def test_value_by_tier(sink: Policy) -> None:
    value = section(describe(sink), "Value")
    assert "By tier (EUR per point): base 0.02, gold 0.03." in value
    assert "Dynamic value:" in value
    assert "Interest: 1% a month" in value


def test_describe_every_policy_file() -> None:
    for path in sorted((Path(__file__).resolve().parent.parent / "policies").glob("*.toml")):
        policy = load_policy(path)
        text = describe(policy)
        for rule_id in policy.earn:
            assert f" {rule_id} [" in text
        for item_id in policy.burn.catalogue:
            assert f" {item_id} " in text


# Every field of the policy language must show in the description: changing any field (to
# another valid value) must change the text. Fields that only matter in some modes (expiry,
# tasks) are covered by the variants; a field counts as covered if it shows in one of them.

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _leaves(
    node: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list) and node and all(isinstance(x, dict) for x in node):
        for i, value in enumerate(node):
            yield from _leaves(value, (*path, i))
    else:
        yield path, node


def _field_key(path: tuple[str | int, ...], data: dict[str, Any]) -> str:
    """``earn[task].spend``, ``tiers[*].multiplier``: a field of the language, not of a file."""
    parts = [str(p) for p in path]
    if parts[0] == "earn" and len(parts) > 2:
        return f"earn[{data['earn'][parts[1]]['kind']}]." + ".".join(parts[2:])
    if parts[0] in ("campaigns", "tiers") and len(parts) > 2:
        return f"{parts[0]}[*]." + ".".join(parts[2:])
    if parts[:2] in (["burn", "catalogue"], ["burn", "auction"]) and len(parts) > 3:
        return f"burn.{parts[1]}[*]." + ".".join(parts[3:])
    if parts[:3] == ["burn", "lottery", "prizes"]:
        return "burn.lottery.prizes[*]." + ".".join(parts[4:])
    return ".".join(parts)


def _candidates(value: Any, policy: Policy) -> list[Any]:
    names = [*policy.tiers, *policy.earn, *policy.program.groups, "other"]
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value - 1, value - 2, value + 5]
    if isinstance(value, float):
        return [value * 2, value / 2, value + 0.5, value + 1, 0.5]
    if isinstance(value, str):
        if DATE.match(value):
            day = dt.date.fromisoformat(value)
            return [(day + dt.timedelta(days=1)).isoformat(), (day - dt.timedelta(1)).isoformat()]
        literals = [
            "floor", "round", "ceil", "hold", "restart", "signup", "verified", "first_purchase",
            "count", "spend", "streak", "week", "month", "share", "review", "login", "course",
            "profile", "survey", "purchase", "checkin", "coupon", "goods", "virtual", "privilege",
            "experience", "multiply", "max", "add", "points", "monthly", "quarterly", "yearly",
            "immediate", "review", "none", "one_step", "recompute", "day", "month_end",
            "quarter_end", "year_end", "cap_at_balance", "allow_negative", "rolling",
            "fixed_date", "never", "inactivity", "USD",
        ]  # fmt: skip
        return [x for x in [*literals, *names, value + "x"] if x != value]
    if isinstance(value, list):
        shorter = [value[:-1]] if value else []
        return [*shorter, *([*value, n] for n in [*names, 3, 60])]
    if value is None:
        return [5, 0.5, *names, "2027-06-30"]
    raise AssertionError(f"no candidates for {value!r}")


def _covered(policy: Policy) -> tuple[set[str], set[str]]:
    """(field keys of ``policy`` that some valid change reaches, those whose change changes
    the description). A field no valid policy can change (e.g. caps on mentor_share, which the
    model refuses) has nothing to render."""
    data = policy.model_dump(mode="json")
    text = describe(policy)
    keys: set[str] = set()
    shown: set[str] = set()
    for path, value in _leaves(data):
        key = _field_key(path, data)
        if key in shown:
            continue
        for candidate in _candidates(value, policy):
            changed = policy.model_dump(mode="json")
            node: Any = changed
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = candidate
            try:
                other = validate_policy(changed)
            except PolicyError:
                continue
            keys.add(key)
            if describe(other) != text:
                shown.add(key)
                break
    return keys, shown


def test_describe_renders_every_field(sink: Policy) -> None:
    variants = [
        sink,
        override(sink, {"expiry.mode": "fixed_date", "expiry.years": 2}),
        override(sink, {"expiry.mode": "inactivity"}),
        override(sink, {"earn.checkin.after_table": "restart"}),
    ]
    keys: set[str] = set()
    shown: set[str] = set()
    for variant in variants:
        k, s = _covered(variant)
        keys |= k
        shown |= s
    assert len(keys) > 150  # the sink really holds the whole language
    # A rule's kind decides which fields it has, so it cannot change alone; it is shown beside
    # the rule's id.
    kinds = {k for k in keys if re.fullmatch(r"earn\[\w+\]\.kind", k)}
    for rule_id, rule in sink.earn.items():
        assert f" {rule_id} [{rule.kind}]: " in describe(sink)
    assert sorted(keys - shown - kinds) == []


def test_the_sink_uses_every_kind_and_table(sink: Policy) -> None:
    kinds = {rule.kind for rule in sink.earn.values()}
    assert kinds == {
        "purchase", "per_item", "checkin", "action", "one_time", "referral", "task",
        "investment", "mentor_share",
    }  # fmt: skip
    tasks = {r.task for r in sink.earn.values() if isinstance(r, TaskRule)}
    assert tasks == {"count", "spend", "streak"}
    unset = [name for name, value in sink if value is None]
    assert unset == []


# --- diff ---------------------------------------------------------------------------------------


def test_diff_of_a_policy_with_itself(sink: Policy) -> None:
    assert diff(sink, sink) == []
    assert render_diff([]) == "no differences\n"


def test_diff_of_one_field(sink: Policy) -> None:
    changed = override(sink, {"tiers.gold.multiplier": 2.0})
    assert diff(sink, changed) == [("tiers.gold.multiplier", 1.5, 2.0)]
    assert (
        render_diff(diff(sink, changed))
        == "1 field differs:\n  tiers.gold.multiplier: 1.5 -> 2.0\n"
    )


def test_diff_of_added_and_removed_tables(sink: Policy, tiny_policy: Policy) -> None:
    changes = {path: (a, b) for path, a, b in diff(tiny_policy, sink)}
    assert changes["dynamic_value"] == (None, sink.dynamic_value.model_dump(mode="json"))  # type: ignore[union-attr]
    assert changes["earn.share"][0] is MISSING
    assert changes["earn.share"][1]["points"] == 10  # type: ignore[index]
    assert changes["earn.purchase.points_per_unit"] == (1.0, 2.0)
    backwards = {path: (a, b) for path, a, b in diff(sink, tiny_policy)}
    assert backwards["earn.share"][1] is MISSING
    assert "earn.share: {" in render_diff(diff(sink, tiny_policy))
    assert "(missing)" in render_diff(diff(sink, tiny_policy))


def test_diff_of_lists(sink: Policy) -> None:
    changed = override(sink, {"expiry.reminders": [30, 7, 1]})
    assert diff(sink, changed) == [("expiry.reminders", [30, 7], [30, 7, 1])]
    prizes = [
        {"name": "big", "probability": 0.02, "points": 500, "cash_cost": 1.0},
        {"name": "small", "probability": 0.2},
    ]
    more = override(sink, {"burn.lottery.prizes": prizes})
    changes = {path: (a, b) for path, a, b in diff(sink, more)}
    assert changes["burn.lottery.prizes.0.probability"] == (0.01, 0.02)
    assert changes["burn.lottery.prizes.1"][0] is MISSING
    assert len(changes) == 2


def test_diff_sees_a_type_change(tiny_policy: Policy) -> None:
    a = override(tiny_policy, {"meta": {"x": 1}})
    b = override(tiny_policy, {"meta": {"x": True}})
    assert diff(a, b) == [("meta.x", 1, True)]


def test_diff_sees_the_order_rules_apply_in() -> None:
    one = TINY + '[earn.share]\nkind = "action"\naction = "share"\npoints = 10\n'
    two = TINY.replace('[earn.purchase]\nkind = "purchase"\n', "")
    two += '[earn.share]\nkind = "action"\naction = "share"\npoints = 10\n'
    two += '[earn.purchase]\nkind = "purchase"\n'
    a, b = policy_of(one), policy_of(two)
    assert diff(a, b) == [("earn:order", ["purchase", "share"], ["share", "purchase"])]

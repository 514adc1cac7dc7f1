"""The programme files in policies/ load and carry the numbers the source article gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.policy import Policy, load_policy
from sim.policy.diff import MISSING, diff
from sim.policy.earn import (
    ActionRule,
    CheckinRule,
    InvestmentRule,
    OneTimeRule,
    PerItemRule,
    PurchaseRule,
    ReferralRule,
)

POLICIES = Path(__file__).resolve().parent.parent / "policies"
FILES = sorted(POLICIES.glob("*.toml"))
ECOMMERCE = ["ecommerce_super_points.toml", "ecommerce_double_points.toml"]


def load(name: str) -> Policy:
    return load_policy(POLICIES / name)


def test_the_article_policies_are_there() -> None:
    names = {f.name for f in FILES}
    assert {*ECOMMERCE, "coffee_beans.toml", "fintech_wealth.toml"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_policy_file_loads(path: Path) -> None:
    policy = load_policy(path)
    assert policy.earn, "a programme needs a way to earn"
    assert policy.program.title


def test_programme_names_are_unique() -> None:
    names = [load_policy(path).program.name for path in FILES]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_policy_file_reports_outcomes(path: Path) -> None:
    policy = load_policy(path)
    reported = policy.meta.get("reported")
    assert isinstance(reported, dict)
    assert len(reported) >= 4
    assert all(isinstance(v, int | float) for v in reported.values())
    assert isinstance(policy.meta.get("source"), str)


@pytest.mark.parametrize("name", ECOMMERCE)
def test_ecommerce_carries_the_article_numbers(name: str) -> None:
    p = load(name)
    # value: 0.01 anchor, 0.012 gold, 0.015 platinum; tiers 1x / 1.5x / 2x
    assert p.program.point_value == 0.01
    assert [p.tier_value(t) for t in p.tiers] == [0.01, 0.012, 0.015]
    assert list(p.tiers) == ["normal", "gold", "platinum"]
    assert [t.multiplier for t in p.tiers.values()] == [1.0, 1.5, 2.0]
    # earn: 1 point per CNY, check-in with a day-7 bonus of 50, share 10 capped at 50 a day
    purchase = p.earn["purchase"]
    assert isinstance(purchase, PurchaseRule)
    assert purchase.points_per_unit == 1.0
    checkin = p.earn["checkin"]
    assert isinstance(checkin, CheckinRule)
    assert (checkin.bonus_day, checkin.bonus_points) == (7, 50)
    assert min(checkin.streak_points) == 5
    assert max(checkin.streak_points) == 20
    share = p.earn["share"]
    assert isinstance(share, ActionRule)
    assert (share.action, share.points, share.caps.daily) == ("share", 10, 50)
    profile = p.earn["profile"]
    assert isinstance(profile, OneTimeRule)
    assert profile.points == 100
    assert p.caps.daily == 500
    # burn: cash offset up to 10% of an order, points day on the 18th at 80%
    assert p.burn.cash_offset is not None
    assert p.burn.cash_offset.max_share == 0.10
    assert p.burn.points_day is not None
    assert (p.burn.points_day.day_of_month, p.burn.points_day.price_factor) == (18, 0.8)
    # campaigns: new members' first 30 days doubled
    new_member = p.campaigns["new_member"]
    assert (new_member.max_days_since_join, new_member.multiplier) == (30, 2.0)
    # expiry: 12 months, reminders 30 / 7 / 1 days before
    assert (p.expiry.mode, p.expiry.months) == ("rolling", 12)
    assert p.expiry.reminders == (30, 7, 1)
    # a price ladder 10-50 / 100-500 / 1000+, one item for platinum only
    prices = sorted(i.points for i in p.burn.catalogue.values())
    assert prices[0] <= 50
    assert any(100 <= x <= 500 for x in prices)
    assert prices[-1] >= 1000
    assert [k for k, i in p.burn.catalogue.items() if i.min_tier] == ["platinum_gift"]


def test_coffee_carries_the_article_numbers() -> None:
    p = load("coffee_beans.toml")
    assert p.program.point_value == 0.25
    assert p.expiry.mode == "never"
    assert p.interest is not None
    assert p.interest.monthly_rate == 0.01
    cup = p.earn["per_cup"]
    assert isinstance(cup, PerItemRule)
    assert (cup.points_per_item, cup.categories) == (5, ("coffee",))
    referral = p.earn["referral"]
    assert isinstance(referral, ReferralRule)
    assert (referral.referrer_points, referral.referee_points) == (50, 50)
    prices = {k: i.points for k, i in p.burn.catalogue.items()}
    assert prices == {"medium_coffee": 100, "dessert": 50, "merch": 200}
    assert p.burn.donation is not None


def test_fintech_carries_the_article_numbers() -> None:
    p = load("fintech_wealth.toml")
    invest = p.earn["investment"]
    assert isinstance(invest, InvestmentRule)
    assert invest.points_per_unit == 0.001
    login = p.earn["login"]
    assert isinstance(login, ActionRule)
    assert (login.action, login.points, login.caps.daily) == ("login", 5, 5)
    course = p.earn["course"]
    assert isinstance(course, ActionRule)
    assert (course.action, course.points) == ("course", 20)
    stages = {r.stage: r.referrer_points for r in p.earn.values() if isinstance(r, ReferralRule)}
    assert stages == {"signup": 50, "verified": 50}
    assert (p.expiry.mode, p.expiry.months) == ("rolling", 24)
    assert p.program.transferable is False
    assert sorted(i.points for i in p.burn.catalogue.values()) == [100, 500, 1000]


def test_double_points_differs_from_super_points_only_by_the_campaign() -> None:
    base, double = load(ECOMMERCE[0]), load(ECOMMERCE[1])
    changes = {path: (old, new) for path, old, new in diff(base, double)}
    assert set(changes) == {"program.name", "program.title", "campaigns.double11"}
    old, campaign = changes["campaigns.double11"]
    assert old is MISSING
    assert isinstance(campaign, dict)
    assert campaign["start"] == "2026-11-01"
    assert campaign["end"] == "2026-11-11"
    assert campaign["multiplier"] == 2.0
    assert campaign["rules"] == ["purchase"]
    assert double.campaigns["double11"].yearly is True

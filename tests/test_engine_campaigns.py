"""Campaigns and earn multipliers: date windows, audiences, tier and birthday multipliers,
fixed bonuses, stacking, and the rule id campaign extras are posted under.

The e-commerce case of the second article (seeds/003, 3.1) doubles points in a new member's
first 30 days; ecommerce_double_points.toml adds double points on 1-11 November for the
treatment group.
"""

from __future__ import annotations

import pytest
from engine_helpers import (
    TINY,
    Sim,
    action,
    batch,
    checkin,
    compiled,
    earned,
    points_by_rule,
    purchase,
    repo_policy,
)

from sim.engine import Account


def test_new_members_earn_double_for_their_first_30_days_day_29_in_day_30_out() -> None:
    cp = repo_policy("ecommerce_super_points")
    sim = Sim.start(cp, 1, "2026-03-01", joined="2026-03-01")
    joining = sim.step("2026-03-01", batch(checkin(0), action(0, "profile")))
    assert earned(joining) == [10, 200]  # named rules are doubled even if not boostable
    day_29 = sim.step("2026-03-30", purchase(0, 100.0))
    assert earned(day_29) == [200]
    day_30 = sim.step("2026-03-31", purchase(0, 100.0))
    assert earned(day_30) == [100]
    assert sim.available(0) == 10 + 200 + 200 + 100


def test_campaign_extra_is_posted_under_the_campaign_rule_for_the_same_event() -> None:
    cp = repo_policy("ecommerce_super_points")
    sim = Sim.start(cp, 1, "2026-03-01", joined="2026-03-01")
    result = sim.step("2026-03-10", batch(checkin(0), purchase(0, 120.0)))
    p = result.postings
    rows = sorted(
        (cp.rule_ids[int(r)], int(e), int(pts))
        for r, e, pts in zip(p.rule, p.event, p.points, strict=True)
    )
    assert rows == [
        ("checkin", 0, 5),
        ("new_member", 0, 5),
        ("new_member", 1, 120),
        ("purchase", 1, 120),
    ]
    assert (p.dst == Account.AVAILABLE).all()


def test_double11_doubles_purchases_on_1_to_11_november_for_the_treatment_group_yearly() -> None:
    cp = repo_policy("ecommerce_double_points")
    control, treatment = cp.policy.program.groups.index("control"), 1
    assert cp.policy.program.groups[treatment] == "treatment"
    sim = Sim.start(cp, 2, "2026-10-31", group=[control, treatment])
    paid: dict[str, list[int]] = {}
    for date in ["2026-10-31", "2026-11-01", "2026-11-11", "2026-11-12", "2027-11-05"]:
        paid[date] = earned(sim.step(date, batch(purchase(0, 100.0), purchase(1, 100.0))))
    assert paid == {
        "2026-10-31": [100, 100],
        "2026-11-01": [100, 200],
        "2026-11-11": [100, 200],
        "2026-11-12": [100, 100],
        "2027-11-05": [100, 200],
    }
    only_purchases = sim.step("2027-11-06", batch(checkin(0), checkin(1)))
    assert earned(only_purchases) == [5, 5]


def test_yearly_campaign_window_may_wrap_over_the_new_year() -> None:
    cp = compiled(
        TINY
        + """
[campaigns.festive]
start = 2026-12-20
end = 2027-01-05
yearly = true
multiplier = 2.0
"""
    )
    sim = Sim.start(cp, 1, "2026-12-19")
    paid = {}
    for date in [
        "2026-12-19",
        "2026-12-20",
        "2027-01-05",
        "2027-01-06",
        "2027-12-25",
        "2028-01-03",
    ]:
        paid[date] = earned(sim.step(date, purchase(0, 100.0)))[0]
    assert paid == {
        "2026-12-19": 100,
        "2026-12-20": 200,
        "2027-01-05": 200,
        "2027-01-06": 100,
        "2027-12-25": 200,
        "2028-01-03": 200,
    }


def test_tier_birthday_multiplier_applies_in_the_birth_month_on_top_of_the_tier() -> None:
    cp = repo_policy("ecommerce_super_points")
    sim = Sim.start(cp, 3, "2026-05-20", birth_month=[5, 6, 5])
    sim.set_tier(0, "platinum")  # 2x, birthday 2x
    sim.set_tier(1, "platinum")
    sim.set_tier(2, "gold")  # 1.5x, no birthday multiplier
    may = sim.step("2026-05-20", batch(*(purchase(m, 100.0) for m in range(3))))
    assert earned(may) == [400, 200, 150]
    june = sim.step("2026-06-01", batch(*(purchase(m, 100.0) for m in range(3))))
    assert earned(june) == [200, 400, 150]
    assert points_by_rule(cp, june.postings, Account.AVAILABLE) == {"purchase": 750}


def test_birthday_month_campaign_boosts_only_members_born_this_month() -> None:
    cp = compiled(
        TINY
        + """
[campaigns.birthday]
birthday_month = true
multiplier = 2.0
"""
    )
    sim = Sim.start(cp, 3, "2026-05-20", birth_month=[5, 6, 0])
    result = sim.step("2026-05-20", batch(*(purchase(m, 50.0) for m in range(3))))
    assert earned(result) == [100, 50, 50]
    assert points_by_rule(cp, result.postings, Account.AVAILABLE) == {
        "purchase": 150,
        "birthday": 50,
    }


def test_fixed_bonus_campaign_adds_its_bonus_per_qualifying_event_in_its_window() -> None:
    cp = compiled(
        TINY
        + """
[campaigns.march_bonus]
start = 2026-03-01
end = 2026-03-31
bonus = 20
rules = ["purchase"]
"""
    )
    sim = Sim.start(cp, 1, "2026-03-15")
    inside = sim.step("2026-03-15", batch(purchase(0, 100.0), purchase(0, 50.0)))
    assert earned(inside) == [120, 70]
    assert points_by_rule(cp, inside.postings, Account.AVAILABLE) == {
        "purchase": 150,
        "march_bonus": 40,
    }
    assert earned(sim.step("2026-04-01", purchase(0, 100.0))) == [100]


@pytest.mark.parametrize(("stacking", "total"), [("multiply", 600), ("max", 300), ("add", 400)])
def test_two_campaigns_stack_by_the_programme_rule(stacking: str, total: int) -> None:
    toml = TINY.replace(
        "point_value = 0.01", f'point_value = 0.01\ncampaign_stacking = "{stacking}"'
    )
    cp = compiled(
        toml
        + """
[campaigns.double]
multiplier = 2.0

[campaigns.triple]
multiplier = 3.0
"""
    )
    sim = Sim.start(cp, 1, "2026-03-15")
    result = sim.step("2026-03-15", purchase(0, 100.0))
    assert earned(result) == [total]
    # the whole extra goes under the campaign with the largest multiplier
    assert points_by_rule(cp, result.postings, Account.AVAILABLE) == {
        "purchase": 100,
        "triple": total - 100,
    }


def test_campaign_for_a_tier_boosts_only_members_of_that_tier() -> None:
    cp = compiled(
        TINY.replace("[tiers.member]\nthreshold = 0", "")
        + """
[tiers.normal]
threshold = 0

[tiers.gold]
threshold = 100000

[campaigns.gold_week]
tiers = ["gold"]
multiplier = 3.0
"""
    )
    sim = Sim.start(cp, 2, "2026-03-15")
    sim.set_tier(1, "gold")
    result = sim.step("2026-03-15", batch(purchase(0, 10.0), purchase(1, 10.0)))
    assert earned(result) == [10, 30]

"""Tiers: the qualifying measure (points earned or spend, never the balance), immediate upgrades,
downgrades at the review date, and the rolling qualifying window.

The e-commerce policy (seeds/003, 3.1, and section 5.1) has normal / gold / platinum tiers; its
thresholds of 2,000 and 8,000 qualifying points in 12 months are assumed.
"""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import (
    Sim,
    adjust,
    batch,
    compiled,
    day,
    purchase,
    redeem,
    refund,
    repo_policy,
)

from sim.engine import DayResult, new_state
from sim.engine.tiers import roll_qualifying

ECOMMERCE = "ecommerce_super_points"
NO_CAP = {"caps.daily": None}


def changes(result: DayResult) -> list[tuple[int, int, int]]:
    """(member, old tier, new tier) of every tier change in ``result``."""
    return [
        (int(m), int(o), int(n))
        for m, o, n in zip(result.tier_member, result.tier_old, result.tier_new, strict=True)
    ]


def test_tier_follows_qualifying_points_not_the_balance_so_redeeming_keeps_it() -> None:
    cp = repo_policy(ECOMMERCE, NO_CAP)
    towel = cp.item_code("kitchen_towel")
    sim = Sim.start(cp, 2, "2026-03-03")
    earned = sim.step("2026-03-03", batch(purchase(0, 2500.0), adjust(1, 5000)))
    assert changes(earned) == [(0, 0, 1)]  # adjustments do not qualify
    sim.step("2026-03-04", redeem(0, towel, units=5))
    assert sim.available(0) == 1000
    reviewed = sim.step("2026-12-31")
    assert changes(reviewed) == []
    assert (sim.tier(0), sim.tier(1)) == ("gold", "normal")


SPEND_TIERS = """
[program]
name = "spend_tiers"
point_value = 0.01

[earn.purchase]
kind = "purchase"
points_per_unit = 0.1

[tiering]
measure = "spend"
review = "monthly"
upgrade = "{upgrade}"
downgrade = "recompute"

[tiers.normal]
threshold = 0

[tiers.gold]
threshold = 1000

[expiry]
mode = "never"
"""


def test_spend_measure_qualifies_on_currency_spent_net_of_refunds() -> None:
    cp = compiled(SPEND_TIERS.format(upgrade="review"))
    sim = Sim.start(cp, 3, "2026-03-03")
    sim.step(
        "2026-03-03",
        batch(purchase(0, 1200.0, order=7), adjust(1, 5000), purchase(2, 1200.0, order=8)),
    )
    assert [sim.available(m) for m in range(3)] == [120, 5000, 120]
    sim.step("2026-03-20", refund(2, 300.0, points=30, order=8))
    assert [sim.tier(m) for m in range(3)] == ["normal"] * 3
    reviewed = sim.step("2026-03-31")  # spent in the window: 1200, 0 and 900 CNY
    assert changes(reviewed) == [(0, 0, 1)]


def test_a_refund_of_spend_from_before_the_window_leaves_the_lowest_tier_not_below_it() -> None:
    # found by the world: a one-month window, a purchase in March refunded in April leaves
    # April's qualifying total negative; the review must keep the member in the lowest tier
    text = SPEND_TIERS.format(upgrade="review").replace(
        'review = "monthly"', 'review = "monthly"\nwindow_months = 1'
    )
    sim = Sim.start(compiled(text), 1, "2026-03-30")
    sim.step("2026-03-30", purchase(0, 300.0, order=1))
    reviewed = sim.step("2026-04-02", refund(0, 300.0, points=30, order=1))
    assert changes(reviewed) == []
    sim.step("2026-04-30")
    assert sim.tier(0) == "normal"
    assert int(sim.state.members.qual_total[0]) < 0


def test_spend_measure_upgrades_immediately_when_the_policy_says_so() -> None:
    cp = compiled(SPEND_TIERS.format(upgrade="immediate"))
    sim = Sim.start(cp, 1, "2026-03-03")
    result = sim.step("2026-03-03", purchase(0, 1200.0))
    assert changes(result) == [(0, 0, 1)]
    assert sim.tier(0) == "gold"


def test_upgrade_is_immediate_or_waits_for_the_review_by_policy() -> None:
    for upgrade, on_the_day, at_review in [
        ("immediate", "gold", "gold"),
        ("review", "normal", "gold"),
    ]:
        cp = repo_policy(ECOMMERCE, {**NO_CAP, "tiering.upgrade": upgrade})
        sim = Sim.start(cp, 1, "2026-06-01")
        sim.step("2026-06-01", purchase(0, 2000.0))
        assert sim.tier(0) == on_the_day, upgrade
        sim.step("2026-12-30")
        assert sim.tier(0) == on_the_day, upgrade
        sim.step("2026-12-31")
        assert sim.tier(0) == at_review, upgrade


@pytest.mark.parametrize(
    ("downgrade", "after"),
    [
        ("none", ["platinum", "platinum"]),
        ("one_step", ["gold", "gold"]),
        ("recompute", ["normal", "gold"]),
    ],
)
def test_downgrade_at_the_review_date_by_policy(downgrade: str, after: list[str]) -> None:
    cp = repo_policy(ECOMMERCE, {**NO_CAP, "tiering.downgrade": downgrade})
    sim = Sim.start(cp, 2, "2026-06-01")
    sim.set_tier(0, "platinum")  # no qualifying points this year
    sim.set_tier(1, "platinum")
    sim.step("2026-06-01", purchase(1, 2500.0))  # enough for gold only
    sim.step("2026-12-30")
    assert [sim.tier(m) for m in range(2)] == ["platinum", "platinum"]
    sim.step("2026-12-31")
    assert [sim.tier(m) for m in range(2)] == after


def test_rolling_qualifying_window_drops_months_that_leave_it() -> None:
    cp = repo_policy(
        ECOMMERCE,
        {
            **NO_CAP,
            "tiering.window_months": 3,
            "tiering.review": "monthly",
            "tiering.downgrade": "recompute",
        },
    )
    sim = Sim.start(cp, 1, "2026-01-10")
    assert changes(sim.step("2026-01-10", purchase(0, 2500.0))) == [(0, 0, 1)]
    for month_end in ["2026-01-31", "2026-02-28", "2026-03-31"]:
        assert changes(sim.step(month_end)) == [], month_end
    assert changes(sim.step("2026-04-30")) == [(0, 1, 0)]  # window now February to April
    assert sim.available(0) == 2500  # the points themselves stay


@pytest.mark.parametrize("everyone", [True, False])
def test_rolling_qualifying_months_matches_a_member_by_member_reference(everyone: bool) -> None:
    cp = repo_policy("ecommerce_super_points")
    window = cp.policy.tiering.window_months
    rng = np.random.default_rng(7)
    n, month = 60, 700
    state = new_state(cp, n, day("2026-03-02"))
    ms = state.members
    ms.qual[:] = rng.integers(0, 50, (n, window))
    ms.qual_total[:] = ms.qual.sum(axis=1)
    ms.qual_month[:] = month - rng.integers(0, 2 * window, n)  # behind by 0 .. 2 windows
    expected_qual = ms.qual.copy()
    for i in range(n):  # reference: clear each month that left member i's window
        for m in range(int(ms.qual_month[i]) + 1, month + 1):
            expected_qual[i, m % window] = 0
    members = np.arange(n) if everyone else np.arange(0, n, 3)
    roll_qualifying(ms, members, month)
    touched = np.isin(np.arange(n), members)
    assert (ms.qual[touched] == expected_qual[touched]).all()
    assert (ms.qual_total == ms.qual.sum(axis=1)).all()
    assert (ms.qual_month[touched] == month).all()

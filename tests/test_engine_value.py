"""Point value: interest on balances, dynamic value against liability, value by tier, and the
monthly cost of tier coupon packs.

Numbers from the second article (seeds/003): the coffee "bean bank" pays 1% a month (3.2); an
e-commerce point is worth 0.01 CNY, 0.012 for gold and 0.015 for platinum members (3.1);
strategy 4 lowers point value when outstanding points pass a threshold.
"""

from __future__ import annotations

import pytest
from engine_helpers import (
    Sim,
    adjust,
    batch,
    cash_offset,
    compiled,
    earned,
    points_by_rule,
    purchase,
    repo_policy,
)

from sim.engine import Account

DYNAMIC = """
[program]
name = "dynamic"
point_value = 0.01

[tiers.member]
threshold = 0

[expiry]
mode = "never"

[burn.cash_offset]
max_share = 1.0

[dynamic_value]
threshold = 0.5
recover_below = 0.2
step = 0.9
floor = 0.5
"""


def test_coffee_bean_bank_pays_1_percent_of_the_balance_at_month_end() -> None:
    cp = repo_policy("coffee_beans")  # at least 100 beans to earn interest
    sim = Sim.start(cp, 3, "2026-03-30")
    before = sim.step(
        "2026-03-30", batch(purchase(0, 1000.0), purchase(1, 150.0), purchase(2, 99.0))
    )
    assert earned(before) == [1000, 150, 99]
    assert points_by_rule(cp, before.postings, Account.AVAILABLE) == {"purchase": 1249}
    month_end = sim.step("2026-03-31")
    assert points_by_rule(cp, month_end.postings, Account.AVAILABLE) == {"interest": 11}
    assert [sim.available(m) for m in range(3)] == [1010, 151, 99]
    assert int(month_end.postings.cost.sum()) == 0
    sim.step("2026-04-30")
    assert [sim.available(m) for m in range(3)] == [1020, 152, 99]


def test_dynamic_value_steps_down_while_liability_exceeds_the_threshold_and_back_up() -> None:
    cp = compiled(DYNAMIC)
    sim = Sim.start(cp, 2, "2026-03-02")
    # 100,000 points at 0.01 = 1,000 CNY outstanding against 1,000 CNY of GMV in 30 days
    sim.step("2026-03-02", batch(adjust(0, 99_000), adjust(1, 1_000), purchase(0, 1000.0)))
    factors = [sim.state.program.value_factor]
    for _ in range(7):
        sim.step(sim.today + 1)
        factors.append(sim.state.program.value_factor)
    # down by 0.9 a day to the floor of 0.5; at exactly 0.5 x GMV it stays
    assert factors == pytest.approx([0.9, 0.81, 0.729, 0.6561, 0.59049, 0.531441, 0.5, 0.5])

    offset = sim.step("2026-03-10", cash_offset(1, 1000.0, points=1000))
    assert earned(offset) == [-1000]
    assert [int(c) for c in offset.postings.cost] == [1000 * 5_000]  # 0.005 CNY a point

    sim.step("2026-03-11", adjust(0, -90_000))  # 9,000 points left: under 0.2 x GMV
    factors = [sim.state.program.value_factor]
    for _ in range(7):
        sim.step(sim.today + 1)
        factors.append(sim.state.program.value_factor)
    up = [0.5 / 0.9**k for k in range(1, 7)] + [1.0, 1.0]
    assert factors == pytest.approx(up[:8])


def test_cash_offset_values_points_by_the_member_tier() -> None:
    cp = repo_policy("ecommerce_super_points")
    sim = Sim.start(cp, 3, "2026-03-02")
    sim.set_tier(1, "gold")
    sim.set_tier(2, "platinum")
    sim.give("2026-03-02", {0: 5000, 1: 5000, 2: 5000})
    result = sim.step("2026-03-03", batch(*(cash_offset(m, 1000.0, points=1000) for m in range(3))))
    assert earned(result) == [-1000, -1000, -1000]
    assert [int(c) for c in result.postings.cost] == [10_000_000, 12_000_000, 15_000_000]


def test_monthly_tier_pack_cost_is_posted_at_month_end_for_each_member_of_the_tier() -> None:
    cp = compiled(
        """
[program]
name = "packs"
point_value = 0.01

[tiers.normal]
threshold = 0

[tiers.gold]
threshold = 1000
monthly_pack_cost = 5.0

[tiers.platinum]
threshold = 5000
monthly_pack_cost = 12.5

[expiry]
mode = "never"
"""
    )
    sim = Sim.start(cp, 3, "2026-03-30")
    sim.set_tier(1, "gold")
    sim.set_tier(2, "platinum")
    assert len(sim.step("2026-03-30").postings) == 0
    p = sim.step("2026-03-31").postings
    assert [cp.rule_ids[int(r)] for r in p.rule] == ["tier_pack", "tier_pack"]
    assert [int(m) for m in p.member] == [1, 2]
    assert [int(c) for c in p.cost] == [5_000_000, 12_500_000]
    assert [int(x) for x in p.points] == [0, 0]
    assert (p.src == Account.ISSUED).all() and (p.dst == Account.REDEEMED).all()
    assert int(sim.state.members.acct.sum()) == 0


def test_postings_carry_the_points_value_at_the_member_tier_and_the_cash_cost() -> None:
    cp = repo_policy("ecommerce_super_points")
    sim = Sim.start(cp, 2, "2026-03-02")
    sim.set_tier(0, "gold")
    result = sim.step("2026-03-02", batch(purchase(0, 100.0), purchase(1, 100.0)))
    issued = result.postings.src == Account.ISSUED
    by_member = {
        int(m): (int(p), int(v))
        for m, p, v in zip(
            result.postings.member[issued],
            result.postings.points[issued],
            result.postings.value[issued],
            strict=True,
        )
    }
    # gold earns 1.5x and its points are worth 0.012 CNY; normal 1x at 0.01 CNY
    assert by_member == {0: (150, 150 * 12_000), 1: (100, 100 * 10_000)}
    offset = sim.step("2026-03-03", cash_offset(0, 100.0))
    burn = offset.postings.dst == Account.REDEEMED
    # 10% of 100 CNY at 0.012 allows 833 points; the balance (150) allows 100 in steps of 100
    assert offset.postings.points[burn].tolist() == [100]
    assert offset.postings.cost[burn].tolist() == [1_200_000]
    sim.give("2026-03-04", {0: 1000})
    offset = sim.step("2026-03-05", cash_offset(0, 100.0))
    burn = offset.postings.dst == Account.REDEEMED
    assert offset.postings.points[burn].tolist() == [800]
    assert offset.postings.value[burn].tolist() == [800 * 12_000]
    assert offset.postings.cost[burn].tolist() == [9_600_000]

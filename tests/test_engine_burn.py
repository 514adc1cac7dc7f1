"""Burn options: cash offset, catalogue (points day, tier-only items, stock), refusals, freezing,
lottery, sealed-bid auction, donation and operator adjustments.

Numbers from the second article (seeds/003, 3.1): cash offset at 1 point = 0.01 CNY for at most
10% of the order, 0.012 for gold and 0.015 for platinum members; the 18th of each month is
"points day" with redemptions at 80% of their price. Coffee beans (3.2) can be donated.
"""

from __future__ import annotations

import numpy as np
from engine_helpers import (
    TINY,
    Sim,
    adjust,
    batch,
    bid,
    cash_offset,
    compiled,
    donate,
    earned,
    freeze,
    lottery,
    points_by_rule,
    purchase,
    redeem,
    repo_policy,
    statuses,
    unfreeze,
)

from sim.engine import Account, Postings

ECOMMERCE = "ecommerce_super_points"


def _costs(postings: Postings) -> list[int]:
    """Cash cost (micros) of each posting."""
    return [int(c) for c in postings.cost]


def test_cash_offset_covers_at_most_10_percent_of_the_order_at_the_tier_point_value() -> None:
    cp = repo_policy(ECOMMERCE)
    sim = Sim.start(cp, 3, "2026-03-02")
    sim.set_tier(1, "gold")
    sim.set_tier(2, "platinum")
    sim.give("2026-03-02", {0: 5000, 1: 5000, 2: 5000})
    result = sim.step("2026-03-03", batch(*(cash_offset(m, 200.0) for m in range(3))))
    # 10% of 200 CNY = 20 CNY: 2000 points at 0.01; 1666 at 0.012 and 1333 at 0.015, in
    # steps of 100
    assert earned(result) == [-2000, -1600, -1300]
    assert statuses(result) == ["OK", "OK", "OK"]
    p = result.postings
    assert [cp.rule_ids[int(r)] for r in p.rule] == ["cash_offset"] * 3
    assert (p.dst == Account.REDEEMED).all()
    assert _costs(p) == [20_000_000, 19_200_000, 19_500_000]
    assert [sim.available(m) for m in range(3)] == [3000, 3400, 3700]


def test_cash_offset_honours_the_minimum_and_the_step() -> None:
    cp = repo_policy(ECOMMERCE)  # min_points = 100, step = 100
    sim = Sim.start(cp, 3, "2026-03-02")
    sim.give("2026-03-02", {0: 150, 1: 99, 2: 5000})
    result = sim.step(
        "2026-03-03",
        batch(
            cash_offset(0, 200.0),  # balance 150 -> 100
            cash_offset(1, 200.0),  # balance 99 < 100
            cash_offset(2, 5.0),  # 10% of 5 CNY = 50 points, under the minimum
            cash_offset(2, 200.0, points=250),  # asks 250 -> 200
            cash_offset(2, 15.0),  # 150 allowed -> 100
        ),
    )
    assert earned(result) == [-100, 0, 0, -200, -100]
    assert statuses(result) == ["OK", "INSUFFICIENT", "BELOW_MINIMUM", "OK", "OK"]
    assert [sim.available(m) for m in range(3)] == [50, 99, 4700]


def test_points_day_on_the_18th_prices_redemptions_at_80_percent() -> None:
    cp = repo_policy(ECOMMERCE)
    towel, shipping, coupon = (
        cp.item_code(k) for k in ("kitchen_towel", "free_shipping", "coupon_1")
    )
    sim = Sim.start(cp, 1, "2026-03-16")
    sim.give("2026-03-16", {0: 2000})
    assert earned(sim.step("2026-03-17", redeem(0, towel))) == [-300]
    day18 = sim.step(
        "2026-03-18", batch(redeem(0, towel), redeem(0, shipping), redeem(0, coupon, units=2))
    )
    assert earned(day18) == [-240, -80, -16]
    assert _costs(day18.postings) == [3_200_000, 900_000, 160_000]  # the cash cost is not
    assert earned(sim.step("2026-03-19", redeem(0, towel))) == [-300]
    assert sim.available(0) == 2000 - 300 - 336 - 300
    assert sim.account(0, Account.REDEEMED) == 936


def test_tier_only_item_is_refused_below_its_tier() -> None:
    cp = repo_policy(ECOMMERCE)
    gift = cp.item_code("platinum_gift")
    sim = Sim.start(cp, 2, "2026-03-02")
    sim.set_tier(0, "gold")
    sim.set_tier(1, "platinum")
    sim.give("2026-03-02", {0: 5000, 1: 5000})
    result = sim.step("2026-03-03", batch(redeem(0, gift), redeem(1, gift)))
    assert statuses(result) == ["TIER_TOO_LOW", "OK"]
    assert earned(result) == [0, -2000]
    assert (sim.available(0), sim.available(1)) == (5000, 3000)


def test_limited_stock_runs_out_in_arrival_order() -> None:
    cp = repo_policy(ECOMMERCE, {"burn.catalogue.earbuds.stock": 2})
    earbuds = cp.item_code("earbuds")
    sim = Sim.start(cp, 3, "2026-03-02")
    sim.give("2026-03-02", {0: 10_000, 1: 10_000, 2: 10_000})
    result = sim.step(
        "2026-03-03", batch(redeem(1, earbuds), redeem(2, earbuds), redeem(0, earbuds))
    )
    assert statuses(result) == ["OK", "OK", "OUT_OF_STOCK"]
    assert earned(result) == [-10_000, -10_000, 0]
    assert int(sim.state.program.stock[earbuds]) == 0
    assert statuses(sim.step("2026-03-04", redeem(0, earbuds))) == ["OUT_OF_STOCK"]
    assert [sim.available(m) for m in range(3)] == [10_000, 0, 0]


def test_redemption_beyond_the_balance_is_refused_and_changes_nothing() -> None:
    cp = repo_policy(ECOMMERCE, {"burn.catalogue.kitchen_towel.stock": 5})
    towel = cp.item_code("kitchen_towel")
    sim = Sim.start(cp, 1, "2026-03-02")
    sim.give("2026-03-02", {0: 250})
    sim.open("2026-03-03")
    before = sim.state.copy()
    result = sim.apply(redeem(0, towel))
    assert statuses(result) == ["INSUFFICIENT"]
    assert earned(result) == [0]
    assert len(result.postings) == 0
    after = sim.state
    assert np.array_equal(after.members.acct, before.members.acct)
    assert np.array_equal(after.members.lots, before.members.lots)
    assert np.array_equal(after.program.stock, before.program.stock)
    sim.close()
    assert sim.available(0) == 250


def test_frozen_member_cannot_burn_until_unfrozen_but_still_earns() -> None:
    cp = repo_policy(ECOMMERCE)
    coupon = cp.item_code("coupon_5")
    sim = Sim.start(cp, 1, "2026-03-02")
    sim.give("2026-03-02", {0: 1000})
    same_day = sim.step("2026-03-03", batch(freeze(0), redeem(0, coupon)))
    assert statuses(same_day) == ["OK", "FROZEN"]
    later = sim.step(
        "2026-03-04", batch(redeem(0, coupon), cash_offset(0, 200.0), purchase(0, 80.0))
    )
    assert statuses(later) == ["FROZEN", "FROZEN", "OK"]
    assert earned(later) == [0, 0, 80]
    assert sim.available(0) == 1080
    thawed = sim.step("2026-03-05", batch(unfreeze(0), redeem(0, coupon)))
    assert statuses(thawed) == ["OK", "OK"]
    assert sim.available(0) == 1030


def test_freeze_that_blocks_earning_pays_nothing_while_frozen() -> None:
    cp = repo_policy(ECOMMERCE, {"freeze.blocks_earn": True})
    sim = Sim.start(cp, 1, "2026-03-02")
    frozen = sim.step("2026-03-02", batch(freeze(0), purchase(0, 80.0), adjust(0, 30)))
    assert statuses(frozen) == ["OK", "FROZEN", "OK"]
    assert earned(frozen) == [0, 0, 30]  # an operator's adjustment still goes through
    assert earned(sim.step("2026-03-03", batch(unfreeze(0), purchase(0, 80.0)))) == [0, 80]
    assert sim.available(0) == 110


def test_lottery_uses_the_event_draw_against_the_prize_table() -> None:
    cp = compiled(
        TINY
        + """
[burn.lottery]
cost_points = 20
prizes = [
  { name = "jackpot", probability = 0.1, points = 500 },
  { name = "coupon", probability = 0.3, cash_cost = 2.0 },
]
"""
    )
    sim = Sim.start(cp, 2, "2026-03-02")
    sim.give("2026-03-02", {0: 100, 1: 10})
    # draws: [0, 0.1) jackpot, [0.1, 0.4) coupon, [0.4, 1) nothing
    result = sim.step(
        "2026-03-03",
        batch(
            lottery(0, 0.05), lottery(0, 0.1), lottery(0, 0.5), lottery(0, 0.3999), lottery(1, 0.05)
        ),
    )
    assert earned(result) == [480, -20, -20, -20, 0]
    assert statuses(result) == ["OK", "OK", "OK", "OK", "INSUFFICIENT"]
    assert points_by_rule(cp, result.postings, Account.REDEEMED) == {"lottery": 80}
    assert points_by_rule(cp, result.postings, Account.AVAILABLE) == {"lottery_prize": 500}
    assert int(result.postings.cost.sum()) == 2 * 2_000_000
    assert (sim.available(0), sim.available(1)) == (520, 10)


AUCTION = (
    TINY
    + """
[burn.auction.signed_ball]
name = "Signed ball"
quantity = 1
reserve_points = 100
cash_cost = 50.0
close_day_of_month = 20
"""
)


def test_sealed_bid_auction_closes_on_its_day_highest_bid_wins_ties_to_the_earlier() -> None:
    cp = compiled(AUCTION)
    ball = cp.lot_ids.index("signed_ball")
    sim = Sim.start(cp, 4, "2026-03-01")
    sim.give("2026-03-01", {0: 1000, 1: 1000, 2: 1000, 3: 100})
    bids = sim.step(
        "2026-03-10",
        batch(
            bid(0, ball, 300),
            bid(1, ball, 500),
            bid(2, ball, 500),
            bid(0, ball, 50),
            bid(3, ball, 200),
        ),
    )
    assert statuses(bids) == ["OK", "OK", "OK", "BELOW_MINIMUM", "INSUFFICIENT"]
    assert earned(bids) == [0, 0, 0, 0, 0]
    assert len(sim.step("2026-03-19").postings) == 0  # not closed yet
    closing = sim.step("2026-03-20")
    assert points_by_rule(cp, closing.postings, Account.REDEEMED) == {"auction:signed_ball": 500}
    assert [int(m) for m in closing.postings.member] == [1]
    assert _costs(closing.postings) == [50_000_000]
    assert [sim.available(m) for m in range(4)] == [1000, 500, 1000, 100]
    assert len(sim.state.program.bids) == 0


def test_auction_skips_a_winner_who_can_no_longer_pay() -> None:
    cp = compiled(AUCTION)
    ball = cp.lot_ids.index("signed_ball")
    sim = Sim.start(cp, 3, "2026-03-01")
    sim.give("2026-03-01", {0: 1000, 1: 1000, 2: 1000})
    sim.step("2026-03-10", batch(bid(0, ball, 300), bid(1, ball, 500), bid(2, ball, 400)))
    sim.step("2026-03-15", adjust(1, -600))  # member 1 now holds 400 < 500
    closing = sim.step("2026-03-20")
    assert [int(m) for m in closing.postings.member] == [2]
    assert [sim.available(m) for m in range(3)] == [1000, 400, 600]


def test_auction_tie_goes_to_the_bid_placed_on_an_earlier_day() -> None:
    cp = compiled(AUCTION)
    ball = cp.lot_ids.index("signed_ball")
    sim = Sim.start(cp, 3, "2026-03-01")
    sim.give("2026-03-01", {0: 1000, 1: 1000, 2: 1000})
    sim.step("2026-03-10", batch(bid(1, ball, 200), bid(0, ball, 500)))  # member 0: seq 1
    sim.step("2026-03-11", bid(2, ball, 500))  # member 2: a day later, seq 0
    closing = sim.step("2026-03-20")
    assert [int(m) for m in closing.postings.member] == [0]


def test_donation_moves_beans_to_the_donated_account_at_the_cash_rate() -> None:
    cp = repo_policy("coffee_beans")  # min 10 beans, the brand pays 0.1 CNY per bean
    sim = Sim.start(cp, 1, "2026-03-02")
    sim.give("2026-03-02", {0: 200})
    result = sim.step("2026-03-03", batch(donate(0, 100), donate(0, 5), donate(0, 500)))
    assert statuses(result) == ["OK", "BELOW_MINIMUM", "INSUFFICIENT"]
    assert earned(result) == [-100, 0, 0]
    assert points_by_rule(cp, result.postings, Account.DONATED) == {"donation": 100}
    assert _costs(result.postings) == [10_000_000]
    assert (sim.available(0), sim.account(0, Account.DONATED)) == (100, 100)


def test_donation_without_a_cash_rate_costs_the_member_point_value() -> None:
    cp = compiled(TINY + "\n[burn.donation]\nmin_points = 1\n")  # 1 point = 0.01 CNY
    sim = Sim.start(cp, 1, "2026-03-02")
    sim.give("2026-03-02", {0: 300})
    result = sim.step("2026-03-03", donate(0, 250))
    assert earned(result) == [-250]
    assert _costs(result.postings) == [2_500_000]
    assert sim.account(0, Account.DONATED) == 250


def test_unknown_items_and_burn_options_the_policy_lacks_are_refused() -> None:
    cp = repo_policy("coffee_beans")  # no cash offset, lottery or auction
    sim = Sim.start(cp, 1, "2026-03-02")
    sim.give("2026-03-02", {0: 1000})
    result = sim.step(
        "2026-03-03",
        batch(
            redeem(0, len(cp.item_ids)),
            cash_offset(0, 100.0),
            lottery(0, 0.5),
            bid(0, 0, 500),
            redeem(0, cp.item_code("dessert")),
        ),
    )
    assert statuses(result) == ["UNKNOWN_ITEM", "DISABLED", "DISABLED", "DISABLED", "OK"]
    assert earned(result) == [0, 0, 0, 0, -50]
    assert sim.available(0) == 950


def test_operator_adjustment_credits_and_debits_and_is_not_capped() -> None:
    cp = compiled(TINY + "\n[caps]\ndaily = 500\n")
    sim = Sim.start(cp, 1, "2026-03-02")
    credit = sim.step("2026-03-02", adjust(0, 1000))
    assert earned(credit) == [1000]
    assert points_by_rule(cp, credit.postings, Account.AVAILABLE) == {"adjust": 1000}
    debit = sim.step("2026-03-03", batch(adjust(0, -300), adjust(0, -5000)))
    assert statuses(debit) == ["OK", "INSUFFICIENT"]
    assert earned(debit) == [-300, 0]
    assert points_by_rule(cp, debit.postings, Account.REVERSED) == {"adjust": 300}
    assert (sim.available(0), sim.account(0, Account.ISSUED)) == (700, 1000)

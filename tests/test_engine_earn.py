"""Earn rules, one mechanic per test, with the second article's numbers (seeds/003, section 3).

E-commerce "super points" (3.1): 1 point per CNY, check-in 5-20 rising with the streak and +50 on
day 7, share 10 (at most 50 a day), profile 100 once, at most 500 a day. Coffee "beans" (3.2):
1 bean per CNY, +5 per cup, referral 50 to both sides. Fintech "wealth" (3.3): login 5 once a day,
course 20, referral 50 at sign-up and 50 more at verification.
"""

from __future__ import annotations

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
    referral,
    repo_policy,
    statuses,
)

from sim.engine import Account

ECOMMERCE = "ecommerce_super_points"


def test_purchase_earns_one_point_per_cny_times_the_category_multiplier() -> None:
    cp = repo_policy(ECOMMERCE)
    high = cp.category_code("high_margin")
    sim = Sim.start(cp, 1, "2026-03-03")
    result = sim.step(
        "2026-03-03",
        batch(
            purchase(0, 123.45),  # 1 per CNY, floored
            purchase(0, 100.0, category=high),  # high-margin goods 1.5x
            purchase(0, 99.99, category=high),  # 149.985 -> 149
            purchase(0, 0.99),  # under one point
        ),
    )
    assert earned(result) == [123, 150, 149, 0]
    assert sim.available(0) == 422


def test_per_item_bonus_pays_five_beans_per_cup_of_coffee_only() -> None:
    cp = repo_policy("coffee_beans")
    coffee, food = cp.category_code("coffee"), cp.category_code("food")
    sim = Sim.start(cp, 1, "2026-03-03")
    result = sim.step(
        "2026-03-03",
        batch(
            purchase(0, 30.0, category=coffee, items=2), purchase(0, 12.0, category=food, items=2)
        ),
    )
    assert earned(result) == [30 + 2 * 5, 12]
    assert points_by_rule(cp, result.postings, Account.AVAILABLE) == {"purchase": 42, "per_cup": 10}


def test_checkin_streak_rises_through_the_table_with_50_on_day_7_then_restarts() -> None:
    cp = repo_policy(ECOMMERCE)
    sim = Sim.start(cp, 1, "2026-03-02")
    paid = [earned(sim.step(sim.today + 1, checkin(0)))[0] for _ in range(9)]
    assert paid == [5, 8, 10, 12, 15, 18, 20 + 50, 5, 8]
    assert sim.available(0) == 138 + 13


def test_checkin_streak_resets_after_a_missed_day_and_pays_once_a_day() -> None:
    cp = repo_policy(ECOMMERCE)
    sim = Sim.start(cp, 1, "2026-03-02")
    assert earned(sim.step("2026-03-02", checkin(0))) == [5]
    assert earned(sim.step("2026-03-03", checkin(0))) == [8]
    twice = sim.step("2026-03-04", batch(checkin(0), checkin(0)))
    assert earned(twice) == [10, 0]
    assert statuses(twice) == ["OK", "DUPLICATE"]
    sim.step("2026-03-05")  # missed
    assert earned(sim.step("2026-03-06", checkin(0))) == [5]
    assert earned(sim.step("2026-03-07", checkin(0))) == [8]
    assert sim.available(0) == 5 + 8 + 10 + 5 + 8


def test_share_pays_10_up_to_50_a_day_and_the_cap_resets_the_next_day() -> None:
    cp = repo_policy(ECOMMERCE)
    sim = Sim.start(cp, 1, "2026-03-03")
    first = sim.step("2026-03-03", batch(*(action(0, "share") for _ in range(6))))
    assert earned(first) == [10, 10, 10, 10, 10, 0]
    assert statuses(first)[-1] == "CAPPED"
    second = sim.step("2026-03-04", batch(action(0, "share"), action(0, "share")))
    assert earned(second) == [10, 10]
    assert sim.available(0) == 70


def test_login_pays_5_once_a_day() -> None:
    cp = repo_policy("fintech_wealth")
    sim = Sim.start(cp, 1, "2026-03-03")
    first = sim.step("2026-03-03", batch(*(action(0, "login") for _ in range(3))))
    assert earned(first) == [5, 0, 0]
    assert statuses(first) == ["OK", "CAPPED", "CAPPED"]
    assert earned(sim.step("2026-03-04", action(0, "login"))) == [5]
    assert sim.available(0) == 10


def test_course_completion_pays_20_each() -> None:
    cp = repo_policy("fintech_wealth")
    sim = Sim.start(cp, 1, "2026-03-03")
    result = sim.step("2026-03-03", batch(action(0, "course"), action(0, "course")))
    assert earned(result) == [20, 20]
    assert points_by_rule(cp, result.postings, Account.AVAILABLE) == {"course": 40}


def test_profile_completion_pays_100_once_per_member() -> None:
    cp = repo_policy(ECOMMERCE)
    sim = Sim.start(cp, 2, "2026-03-03")
    first = sim.step("2026-03-03", batch(action(0, "profile"), action(0, "profile")))
    assert earned(first) == [100, 0]
    later = sim.step("2026-03-20", batch(action(0, "profile"), action(1, "profile")))
    assert earned(later) == [0, 100]
    assert (sim.available(0), sim.available(1)) == (100, 100)


def test_a_repeated_one_time_action_is_reported_as_duplicate() -> None:
    cp = repo_policy(ECOMMERCE)
    sim = Sim.start(cp, 1, "2026-03-03")
    first = sim.step("2026-03-03", batch(action(0, "profile"), action(0, "profile")))
    later = sim.step("2026-03-04", action(0, "profile"))
    assert statuses(first) + statuses(later) == ["OK", "DUPLICATE", "DUPLICATE"]


def test_first_purchase_bonus_is_paid_once_on_the_first_purchase() -> None:
    cp = compiled(
        TINY
        + """
[earn.first_order]
kind = "one_time"
trigger = "first_purchase"
points = 30
"""
    )
    sim = Sim.start(cp, 2, "2026-03-03")
    first = sim.step("2026-03-03", batch(purchase(0, 50.0), purchase(0, 20.0), purchase(1, 5.0)))
    assert earned(first) == [50 + 30, 20, 5 + 30]
    assert earned(sim.step("2026-03-04", purchase(0, 10.0))) == [10]
    assert (sim.available(0), sim.available(1)) == (110, 35)


def test_coffee_referral_pays_50_beans_to_both_sides_on_the_first_purchase() -> None:
    """The referee's event pays both sides (the referrer's own event pays nothing: the engine
    ties the bonus to the referral relation)."""
    cp = repo_policy("coffee_beans")
    sim = Sim.start(cp, 2, "2026-03-03", referrer=[-1, 0])
    signup = sim.step(
        "2026-03-03",
        batch(referral(0, "signup", "referrer"), referral(1, "signup", "referee")),
    )
    assert earned(signup) == [0, 0]
    assert statuses(signup) == ["NO_RULE", "NO_RULE"]
    bought = sim.step(
        "2026-03-05",
        batch(
            purchase(1, 30.0),
            referral(0, "first_purchase", "referrer"),
            referral(1, "first_purchase", "referee"),
        ),
    )
    assert earned(bought) == [30, 0, 50]  # the event's own member's points
    by_rule = points_by_rule(cp, bought.postings, Account.AVAILABLE)
    assert by_rule["referral"] == 100  # 50 to each side
    assert (sim.available(0), sim.available(1)) == (50, 80)


def test_fintech_referral_pays_the_referrer_50_at_signup_and_50_at_verification() -> None:
    cp = repo_policy("fintech_wealth")
    sim = Sim.start(cp, 2, "2026-03-03", referrer=[-1, 0])
    signup = sim.step("2026-03-03", referral(1, "signup", "referee"))
    assert earned(signup) == [0]  # the referee earns nothing here; its referrer 50
    verified = sim.step("2026-03-06", referral(1, "verified", "referee"))
    assert points_by_rule(cp, verified.postings, Account.AVAILABLE) == {"referral_verified": 50}
    assert (sim.available(0), sim.available(1)) == (100, 0)


def test_a_referral_is_paid_once_per_referee_and_stage_and_never_to_oneself() -> None:
    """Points farming: the same referral event again, a member naming itself as referrer, a
    member without a referrer: nothing more is paid (issue 16)."""
    cp = repo_policy("fintech_wealth")
    sim = Sim.start(cp, 3, "2026-03-03", referrer=[-1, 0, 2])
    first = sim.step("2026-03-03", batch(referral(1, "signup", "referee"),
                                         referral(1, "signup", "referee")))  # fmt: skip
    assert statuses(first)[1] == "DUPLICATE"
    again = sim.step("2026-03-04", referral(1, "signup", "referee"))
    assert statuses(again) == ["DUPLICATE"]
    own = sim.step("2026-03-05", batch(referral(2, "signup", "referee"),
                                       referral(0, "signup", "referee")))  # fmt: skip
    assert statuses(own) == ["NO_MATCH", "NO_MATCH"]
    farmed = sim.step("2026-03-06", batch(*[referral(0, "signup", "referrer")] * 5))
    assert earned(farmed) == [0] * 5
    assert (sim.available(0), sim.available(1), sim.available(2)) == (50, 0, 0)


def test_count_task_pays_once_for_the_third_share_of_a_week() -> None:
    cp = compiled(
        TINY
        + """
[earn.share_3_a_week]
kind = "task"
task = "count"
action = "share"
count = 3
period = "week"
points = 30
"""
    )
    sim = Sim.start(cp, 1, "2026-03-02")
    paid = {}
    for date in [
        "2026-03-02",
        "2026-03-03",
        "2026-03-09",
        "2026-03-10",
        "2026-03-11",
        "2026-03-12",
    ]:
        paid[date] = earned(sim.step(date, action(0, "share")))[0]
    # 2026-03-02 and 03-09 are Mondays: the week's count starts again on 03-09.
    assert paid == {
        "2026-03-02": 0,
        "2026-03-03": 0,
        "2026-03-09": 0,
        "2026-03-10": 0,
        "2026-03-11": 30,
        "2026-03-12": 0,
    }
    assert sim.available(0) == 30


def test_count_task_per_month_counts_purchases_within_a_batch_too() -> None:
    cp = compiled(
        TINY
        + """
[earn.three_orders]
kind = "task"
task = "count"
action = "purchase"
count = 3
period = "month"
points = 50
"""
    )
    sim = Sim.start(cp, 1, "2026-03-10")
    assert earned(sim.step("2026-03-10", purchase(0, 10.0))) == [10]
    assert earned(sim.step("2026-03-20", purchase(0, 10.0))) == [10]
    assert earned(sim.step("2026-03-31", purchase(0, 10.0))) == [10 + 50]
    assert earned(sim.step("2026-04-01", purchase(0, 10.0))) == [10]
    assert earned(sim.step("2026-04-02", batch(purchase(0, 10.0), purchase(0, 10.0)))) == [10, 60]
    assert sim.available(0) == 6 * 10 + 2 * 50


def test_monthly_spend_challenge_pays_once_when_the_month_total_crosses_the_target() -> None:
    cp = compiled(
        TINY
        + """
[earn.spend_500]
kind = "task"
task = "spend"
spend = 500.0
points = 100
"""
    )
    sim = Sim.start(cp, 1, "2026-03-05")
    assert earned(sim.step("2026-03-05", purchase(0, 200.0))) == [200]
    assert earned(sim.step("2026-03-12", purchase(0, 200.0))) == [200]
    assert earned(sim.step("2026-03-20", purchase(0, 150.0))) == [150 + 100]
    assert earned(sim.step("2026-03-25", purchase(0, 100.0))) == [100]
    assert earned(sim.step("2026-04-01", purchase(0, 600.0))) == [600 + 100]
    assert sim.available(0) == 1250 + 200


def test_streak_task_pays_on_every_third_consecutive_checkin_day() -> None:
    cp = compiled(
        TINY
        + """
[earn.three_days]
kind = "task"
task = "streak"
action = "checkin"
days = 3
points = 40
"""
    )
    sim = Sim.start(cp, 1, "2026-03-02")
    paid = []
    for date in [
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
        "2026-03-06",
        "2026-03-07",
        "2026-03-08",
    ]:
        paid.append(earned(sim.step(date, checkin(0)))[0])
    assert paid == [0, 0, 40, 0, 0, 40]  # 03-05 missed: the count starts again on 03-06


def test_overall_daily_cap_of_500_is_applied_in_arrival_order() -> None:
    cp = repo_policy(ECOMMERCE)
    sim = Sim.start(cp, 2, "2026-03-03")
    result = sim.step(
        "2026-03-03",
        batch(
            purchase(0, 300.0),
            checkin(1),
            action(0, "share"),
            purchase(1, 300.0),
            purchase(0, 300.0),
            action(1, "share"),
            checkin(0),
            purchase(1, 300.0),
        ),
    )
    assert earned(result) == [300, 5, 10, 300, 190, 10, 0, 185]
    assert statuses(result) == ["OK", "OK", "OK", "OK", "CAPPED", "OK", "CAPPED", "CAPPED"]
    assert (sim.available(0), sim.available(1)) == (500, 500)
    assert earned(sim.step("2026-03-04", purchase(0, 600.0))) == [500]  # a new day, a new cap


def test_overall_daily_cap_carries_over_between_batches_of_one_day() -> None:
    cp = repo_policy(ECOMMERCE)
    sim = Sim.start(cp, 1, "2026-03-03")
    sim.open("2026-03-03")
    assert earned(sim.apply(purchase(0, 400.0))) == [400]
    assert earned(sim.apply(purchase(0, 300.0))) == [100]
    assert earned(sim.apply(action(0, "share"))) == [0]
    sim.close()
    assert sim.available(0) == 500


def test_per_rule_monthly_cap_resets_at_the_start_of_the_next_month() -> None:
    cp = compiled(
        TINY
        + """
[earn.review]
kind = "action"
action = "review"
points = 20
caps = { monthly = 50 }
"""
    )
    sim = Sim.start(cp, 1, "2026-03-10")
    assert earned(sim.step("2026-03-10", batch(action(0, "review"), action(0, "review")))) == [
        20,
        20,
    ]
    capped = sim.step("2026-03-11", action(0, "review"))
    assert (earned(capped), statuses(capped)) == ([10], ["CAPPED"])
    assert earned(sim.step("2026-03-31", action(0, "review"))) == [0]
    assert earned(sim.step("2026-04-01", action(0, "review"))) == [20]
    assert earned(sim.step("2026-04-02", purchase(0, 80.0))) == [80]  # other rules are not capped
    assert sim.available(0) == 50 + 20 + 80


def test_overall_monthly_cap_counts_all_rules_and_resets_next_month() -> None:
    cp = compiled(TINY + "\n[caps]\nmonthly = 1000\n")
    sim = Sim.start(cp, 1, "2026-03-10")
    assert earned(sim.step("2026-03-10", purchase(0, 600.0))) == [600]
    assert earned(sim.step("2026-03-11", purchase(0, 600.0))) == [400]
    assert earned(sim.step("2026-03-31", purchase(0, 10.0))) == [0]
    assert earned(sim.step("2026-04-01", purchase(0, 600.0))) == [600]
    assert sim.available(0) == 1600


def test_a_rule_monthly_cap_counts_only_points_paid_under_the_overall_cap() -> None:
    cp = compiled(
        """
[program]
name = "caps"
point_value = 0.01

[earn.share]
kind = "action"
action = "share"
points = 10
caps = { monthly = 100 }

[caps]
daily = 30

[tiers.member]
threshold = 0
"""
    )
    sim = Sim.start(cp, 1, "2026-03-02")
    # five shares a day: the overall daily cap pays 30 of the 50 asked for
    first = sim.step("2026-03-02", batch(*[action(0, "share") for _ in range(5)]))
    assert earned(first) == [10, 10, 10, 0, 0]
    # the monthly rule cap (100) must count the 30 paid, not the 50 asked: 3 more days of 30,
    # then 10 on the fourth
    paid = [
        sum(earned(sim.step(f"2026-03-0{d}", batch(*[action(0, "share")] * 5))))
        for d in (3, 4, 5, 6)
    ]
    assert paid == [30, 30, 10, 0]


def test_event_kinds_are_contiguous_so_validation_can_check_a_range() -> None:
    from sim.engine import Kind

    assert sorted(int(k) for k in Kind) == list(range(min(Kind), max(Kind) + 1))

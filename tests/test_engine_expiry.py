"""Expiry: rolling windows and their rounding, fixed dates, never, inactivity, reminders, FIFO
burning, partial lots and a deferred first expiry.

The e-commerce case of the second article (seeds/003, 3.1) keeps points 12 months and reminds
members 30, 7 and 1 days before they expire; the coffee case (3.2) says beans never expire.
"""

from __future__ import annotations

import pytest
from engine_helpers import (
    TINY,
    Sim,
    batch,
    checkin,
    compiled,
    day,
    points_by_rule,
    purchase,
    redeem,
    repo_policy,
)

from sim.engine import Account, CompiledPolicy, DayResult

ECOMMERCE = "ecommerce_super_points"


def tiny_expiring(expiry: str) -> CompiledPolicy:
    """TINY with its ``[expiry]`` table replaced by ``expiry`` (the table's body)."""
    return compiled(TINY.replace('[expiry]\nmode = "never"', "[expiry]\n" + expiry))


def reminders(results: dict[str, DayResult], member: int) -> list[tuple[str, int, int]]:
    """(date, days before expiry, points) of every reminder to ``member`` in ``results``."""
    out = []
    for date, r in sorted(results.items()):
        for m, days, pts in zip(r.reminder_member, r.reminder_days, r.reminder_points, strict=True):
            if m == member:
                out.append((date, int(days), int(pts)))
    return out


def test_rolling_12_months_keeps_points_to_the_end_of_the_month_a_year_later() -> None:
    cp = repo_policy(ECOMMERCE)
    sim = Sim.start(cp, 1, "2026-01-15")
    sim.step("2026-01-15", purchase(0, 100.0))
    sim.step("2027-01-31")
    assert (sim.available(0), sim.account(0, Account.EXPIRED)) == (100, 0)
    gone = sim.step("2027-02-01")
    assert points_by_rule(cp, gone.postings, Account.EXPIRED) == {"expiry": 100}
    assert (sim.available(0), sim.account(0, Account.EXPIRED)) == (0, 100)


@pytest.mark.parametrize(
    ("rounding", "last_day"),
    [
        ("day", "2027-01-15"),
        ("month_end", "2027-01-31"),
        ("quarter_end", "2027-03-31"),
        ("year_end", "2027-12-31"),
    ],
)
def test_rolling_expiry_rounds_up_to_the_end_of_the_day_month_quarter_or_year(
    rounding: str, last_day: str
) -> None:
    cp = tiny_expiring(f'mode = "rolling"\nmonths = 12\nrounding = "{rounding}"')
    sim = Sim.start(cp, 1, "2026-01-15")
    sim.step("2026-01-15", purchase(0, 100.0))
    sim.step(last_day)
    assert sim.available(0) == 100
    sim.step(day(last_day) + 1)
    assert (sim.available(0), sim.account(0, Account.EXPIRED)) == (0, 100)


def test_fixed_date_expiry_ends_points_on_the_date_the_years_after_the_year_earned() -> None:
    cp = tiny_expiring('mode = "fixed_date"\nfixed_month = 12\nfixed_day = 31\nyears = 1')
    sim = Sim.start(cp, 2, "2026-03-10")
    sim.step("2026-03-10", purchase(0, 100.0))
    sim.step("2026-12-31", purchase(1, 40.0))
    sim.step("2027-01-01", purchase(1, 60.0))
    sim.step("2027-12-31")
    assert (sim.available(0), sim.available(1)) == (100, 100)
    sim.step("2028-01-01")
    assert (sim.available(0), sim.available(1)) == (0, 60)
    assert (sim.account(0, Account.EXPIRED), sim.account(1, Account.EXPIRED)) == (100, 40)


def test_coffee_beans_never_expire_over_three_years_and_earn_1_percent_a_month() -> None:
    cp = repo_policy("coffee_beans")
    sim = Sim.start(cp, 1, "2026-01-10")
    sim.step("2026-01-10", purchase(0, 100.0))
    sim.run_through("2029-01-10")
    # 36 month ends (January 2026 to December 2028), 1% of 100..135 beans is 1 bean each
    assert sim.account(0, Account.EXPIRED) == 0
    assert sim.available(0) == 136


def test_inactivity_expiry_removes_points_after_the_idle_days_and_activity_resets_it() -> None:
    cp = tiny_expiring('mode = "inactivity"\ninactivity_days = 90\nreminders = [7]')
    sim = Sim.start(cp, 2, "2026-01-01", joined="2026-01-01")
    sim.step("2026-01-01", batch(purchase(0, 100.0), purchase(1, 100.0)))
    days = sim.run_through("2026-02-28")
    days["2026-03-01"] = sim.step("2026-03-01", checkin(1))  # any event counts as activity
    days |= sim.run_through("2026-04-01")
    assert (sim.available(0), sim.available(1)) == (100, 100)  # day 90 of idleness
    days["2026-04-02"] = sim.step("2026-04-02")
    assert (sim.available(0), sim.account(0, Account.EXPIRED)) == (0, 100)
    assert sim.available(1) == 100
    days |= sim.run_through("2026-05-30")
    assert sim.available(1) == 100
    days["2026-05-31"] = sim.step("2026-05-31")
    assert (sim.available(1), sim.account(1, Account.EXPIRED)) == (0, 100)
    assert reminders(days, 0) == [("2026-03-26", 7, 100)]
    assert reminders(days, 1) == [("2026-05-24", 7, 100)]


def test_reminders_go_out_30_7_and_1_days_before_points_expire() -> None:
    cp = repo_policy(ECOMMERCE)
    sim = Sim.start(cp, 2, "2026-01-15")
    sim.step("2026-01-15", purchase(0, 100.0))
    sim.step("2026-12-20")
    days = sim.run_through("2027-02-05")
    assert reminders(days, 0) == [
        ("2027-01-01", 30, 100),
        ("2027-01-24", 7, 100),
        ("2027-01-30", 1, 100),
    ]
    assert reminders(days, 1) == []  # nothing to expire, nothing to remind


def test_burns_take_the_earliest_expiring_points_first() -> None:
    cp = repo_policy(ECOMMERCE)
    shipping, coupon = cp.item_code("free_shipping"), cp.item_code("coupon_5")
    sim = Sim.start(cp, 1, "2026-01-15")
    sim.step("2026-01-15", purchase(0, 100.0))  # expires after 2027-01-31
    sim.step("2026-03-10", purchase(0, 100.0))  # expires after 2027-03-31
    sim.step("2026-06-01", batch(redeem(0, shipping), redeem(0, coupon)))  # 150 points
    sim.step("2027-02-01")
    assert (sim.available(0), sim.account(0, Account.EXPIRED)) == (50, 0)
    sim.step("2027-04-01")
    assert (sim.available(0), sim.account(0, Account.EXPIRED)) == (0, 50)


def test_expiry_removes_only_what_is_left_of_a_lot() -> None:
    cp = repo_policy(ECOMMERCE)
    coupon = cp.item_code("coupon_1")
    sim = Sim.start(cp, 1, "2026-01-15")
    sim.step("2026-01-15", purchase(0, 100.0))
    sim.step("2026-05-01", redeem(0, coupon, units=3))  # 30 points
    gone = sim.step("2027-02-01")
    assert points_by_rule(cp, gone.postings, Account.EXPIRED) == {"expiry": 70}
    assert sim.account(0, Account.REDEEMED) + sim.account(0, Account.EXPIRED) == 100
    assert sim.available(0) == 0


def test_first_expiry_defers_points_that_would_expire_before_it() -> None:
    cp = tiny_expiring('mode = "rolling"\nmonths = 12\nfirst_expiry = 2027-06-30')
    sim = Sim.start(cp, 1, "2026-05-15")
    sim.step("2026-05-15", purchase(0, 100.0))  # would end 2027-05-31: deferred to 2027-06-30
    sim.step("2026-07-10", purchase(0, 40.0))  # ends 2027-07-31 as usual
    sim.step("2027-06-01")
    sim.step("2027-06-30")
    assert sim.available(0) == 140
    sim.step("2027-07-01")
    assert (sim.available(0), sim.account(0, Account.EXPIRED)) == (40, 100)
    sim.step("2027-08-01")
    assert (sim.available(0), sim.account(0, Account.EXPIRED)) == (0, 140)


def test_first_expiry_more_than_a_year_ahead_holds_points_until_that_date() -> None:
    cp = tiny_expiring('mode = "rolling"\nmonths = 12\nfirst_expiry = 2027-06-30')
    sim = Sim.start(cp, 1, "2026-01-15")
    sim.step("2026-01-15", purchase(0, 100.0))
    sim.step("2027-06-30")
    assert sim.available(0) == 100
    sim.step("2027-07-01")
    assert (sim.available(0), sim.account(0, Account.EXPIRED)) == (0, 100)

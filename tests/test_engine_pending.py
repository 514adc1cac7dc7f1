"""Pending points: delayed issuance, refunds inside and after the window, the clawback policy,
investment points issued at maturity, and a mentor's share paid the next day.

The fintech case of the second article (seeds/003, 3.3) pays 10 points per 10,000 CNY invested,
only when the investment matures, so that points cannot be farmed.
"""

from __future__ import annotations

from engine_helpers import (
    Sim,
    adjust,
    batch,
    compiled,
    earned,
    invest,
    points_by_rule,
    purchase,
    refund,
    repo_policy,
    statuses,
)

from sim.engine import Account, CompiledPolicy


def delayed(delay_days: int, clawback: str = "cap_at_balance") -> CompiledPolicy:
    """1 point per CNY, pending for ``delay_days``; refunds clawed back by ``clawback``."""
    return compiled(
        f"""
[program]
name = "delayed"
point_value = 0.01

[earn.purchase]
kind = "purchase"
points_per_unit = 1.0
delay_days = {delay_days}

[tiers.member]
threshold = 0

[expiry]
mode = "never"

[refunds]
clawback = "{clawback}"
"""
    )


def test_delayed_points_are_pending_for_the_window_then_become_available() -> None:
    cp = delayed(7)
    sim = Sim.start(cp, 1, "2026-03-02")
    bought = sim.step("2026-03-02", purchase(0, 100.0, order=1))
    assert earned(bought) == [100]
    assert points_by_rule(cp, bought.postings, Account.PENDING) == {"purchase": 100}
    sim.step("2026-03-08")
    assert (sim.pending(0), sim.available(0)) == (100, 0)
    released = sim.step("2026-03-09")
    p = released.postings
    assert [(int(s), int(d), int(x)) for s, d, x in zip(p.src, p.dst, p.points, strict=True)] == [
        (Account.PENDING, Account.AVAILABLE, 100)
    ]
    assert (sim.pending(0), sim.available(0)) == (0, 100)


def test_refund_inside_the_window_voids_the_pending_points_of_that_order() -> None:
    cp = delayed(7)
    sim = Sim.start(cp, 1, "2026-03-02")
    sim.step("2026-03-02", batch(purchase(0, 100.0, order=1), purchase(0, 60.0, order=2)))
    refunds = sim.step(
        "2026-03-05",
        batch(refund(0, 100.0, points=100, order=1), refund(0, 20.0, points=20, order=2)),
    )
    assert earned(refunds) == [-100, -20]
    assert statuses(refunds) == ["OK", "OK"]
    assert points_by_rule(cp, refunds.postings, Account.REVERSED) == {"refund": 120}
    assert (sim.pending(0), sim.account(0, Account.REVERSED)) == (40, 120)
    sim.step("2026-03-09")
    assert (sim.pending(0), sim.available(0)) == (0, 40)


def test_refund_after_release_claws_back_from_the_balance() -> None:
    cp = delayed(7)
    sim = Sim.start(cp, 2, "2026-03-02")
    sim.step("2026-03-02", purchase(0, 100.0, order=1))
    sim.step("2026-03-09")
    result = sim.step(
        "2026-03-10",
        batch(refund(0, 100.0, points=100, order=1), refund(1, 10.0, points=10, order=9)),
    )
    assert earned(result) == [-100, 0]
    assert statuses(result) == ["OK", "NO_MATCH"]  # member 1 has nothing to give back
    assert (sim.available(0), sim.account(0, Account.REVERSED)) == (0, 100)


def test_cap_at_balance_takes_what_is_there_and_records_the_shortfall() -> None:
    cp = delayed(0, "cap_at_balance")
    sim = Sim.start(cp, 1, "2026-03-02")
    sim.step("2026-03-02", purchase(0, 100.0, order=1))
    sim.step("2026-03-03", adjust(0, -70))
    result = sim.step("2026-03-04", refund(0, 100.0, points=100, order=1))
    assert earned(result) == [-30]
    assert (sim.available(0), sim.account(0, Account.REVERSED)) == (0, 100)  # 70 adjust + 30
    assert int(sim.state.members.shortfall[0]) == 70
    assert earned(sim.step("2026-03-05", purchase(0, 50.0))) == [50]
    assert sim.available(0) == 50  # later earnings are not taken for the shortfall


def test_allow_negative_lets_the_balance_go_negative_and_later_earnings_pay_the_debt() -> None:
    cp = delayed(0, "allow_negative")
    sim = Sim.start(cp, 1, "2026-03-02")
    sim.step("2026-03-02", purchase(0, 100.0, order=1))
    sim.step("2026-03-03", adjust(0, -70))
    result = sim.step("2026-03-04", refund(0, 100.0, points=100, order=1))
    assert earned(result) == [-100]
    assert (sim.available(0), int(sim.state.members.debt[0])) == (-70, 70)
    sim.step("2026-03-05", purchase(0, 50.0))
    assert (sim.available(0), int(sim.state.members.debt[0])) == (-20, 20)
    sim.step("2026-03-06", purchase(0, 50.0))
    assert (sim.available(0), int(sim.state.members.debt[0])) == (30, 0)
    assert int(sim.state.members.shortfall[0]) == 0


def test_wealth_points_for_an_investment_are_pending_until_it_matures() -> None:
    cp = repo_policy("fintech_wealth")
    sim = Sim.start(cp, 1, "2026-03-02")
    result = sim.step(
        "2026-03-02",
        batch(
            invest(0, 10_000.0, matures="2026-06-30"),
            invest(0, 9_999.0, matures="2026-06-30"),
            invest(0, 5_000.0, matures="2026-09-30"),
        ),
    )
    assert earned(result) == [10, 9, 5]
    assert points_by_rule(cp, result.postings, Account.PENDING) == {"investment": 24}
    sim.run_through("2026-06-29")
    assert (sim.pending(0), sim.available(0)) == (24, 0)
    sim.step("2026-06-30")
    assert (sim.pending(0), sim.available(0)) == (5, 19)
    sim.run_through("2026-09-29")
    assert (sim.pending(0), sim.available(0)) == (5, 19)
    sim.step("2026-09-30")
    assert (sim.pending(0), sim.available(0)) == (0, 24)


def test_pending_points_are_released_when_the_next_day_opened_is_months_later() -> None:
    cp = repo_policy("fintech_wealth")
    sim = Sim.start(cp, 1, "2026-03-02")
    sim.step("2026-03-02", invest(0, 10_000.0, matures="2026-09-30"))
    sim.step("2026-09-30")  # the ledger opens only days with events
    assert (sim.pending(0), sim.available(0)) == (0, 10)


def test_mentor_receives_a_share_of_a_referred_member_points_the_next_day() -> None:
    cp = compiled(
        """
[program]
name = "mentor"
point_value = 0.01

[earn.purchase]
kind = "purchase"
points_per_unit = 1.0

[earn.mentor]
kind = "mentor_share"
share = 0.1
rules = ["purchase"]
days = 30

[tiers.member]
threshold = 0

[expiry]
mode = "never"
"""
    )
    sim = Sim.start(cp, 2, "2026-03-01", joined="2026-03-01", referrer=[-1, 0])
    day0 = sim.step("2026-03-01", batch(purchase(1, 200.0), purchase(0, 500.0)))
    assert earned(day0) == [200, 500]  # what each event earned its own member
    assert points_by_rule(cp, day0.postings, Account.PENDING) == {"mentor": 20}
    assert [int(m) for m in day0.postings.member[day0.postings.dst == Account.PENDING]] == [0]
    assert (sim.pending(0), sim.available(0)) == (20, 500)
    sim.step("2026-03-02")
    assert (sim.pending(0), sim.available(0)) == (0, 520)
    sim.step("2026-03-30", purchase(1, 55.0))  # day 29 after joining: 5.5 -> 5
    sim.step("2026-03-31", purchase(1, 100.0))  # day 30: the share has ended
    sim.step("2026-04-01")
    assert (sim.pending(0), sim.available(0)) == (0, 525)
    assert sim.available(1) == 355

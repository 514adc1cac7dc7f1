"""Issue cohorts (first in, first out, member by member), their run-off forecast and the
chain ladder, on hand-computed cases and as properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.accounting import CohortBook, Triangle, develop, run_off
from sim.accounting.runoff import TAIL_PERIODS
from sim.engine import Account
from sim.scenario import load_scenario
from sim.world.world import World

INT = np.int64


def arr(*values: int) -> np.ndarray:
    return np.array(values, INT)


def test_redemptions_take_the_oldest_points_first_and_refunds_the_newest() -> None:
    """One member: 100 points in period 0, 50 in period 1; a redemption of 120 in period 1
    takes cohort 0's 100 (at age 1) and 20 of cohort 1 (age 0); a refund of 10 then takes
    from cohort 1 too, the newest."""
    book = CohortBook(1, 0, 59, period_days=30)
    book.issue(5, arr(0), arr(100))
    book.issue(40, arr(0), arr(50))
    book.take(45, arr(0), arr(120), "redeemed")
    assert book.flows[0, 0, 1] == 100 and book.flows[0, 1, 0] == 20
    book.take(50, arr(0), arr(10), "reversed")
    assert book.flows[2, 1, 0] == 10
    assert book.held[0].tolist() == [0, 20, 0]
    assert book.issued[:2].tolist() == [100, 50]


def test_what_leaves_beyond_the_balance_is_owed_and_paid_by_the_next_points() -> None:
    book = CohortBook(2, 0, 89)
    book.issue(0, arr(0, 1), arr(30, 5))
    book.take(1, arr(1), arr(8), "reversed")  # a clawback into debt
    assert book.owed.tolist() == [0, 3]
    book.issue(35, arr(1, 1), arr(2, 4))  # a member may repeat in a batch
    assert book.owed.tolist() == [0, 0] and book.held[1].tolist() == [0, 3, 0, 0]


def test_periods_count_back_from_the_valuation_day() -> None:
    """Days 10..99 valued on day 99: three 30-day periods, the first starting on day 10
    (a whole period), so the last cohort ends on the valuation day."""
    book = CohortBook(1, 10, 99, runoff_periods=2)
    assert book.k == 3
    assert [book.cohort_of(d) for d in (10, 39, 40, 99, 100, 159)] == [0, 0, 1, 2, 3, 3]
    assert book.cohort_start(0) == 10 and book.cohort_start(2) == 70
    with pytest.raises(ValueError, match="outside the book"):
        book.cohort_of(160)


def test_a_run_off_records_the_cohorts_flows_at_their_ages() -> None:
    book = CohortBook(1, 0, 59, runoff_periods=2)
    book.issue(0, arr(0), arr(100))
    book.value()
    book.issue(65, arr(0), arr(40))  # after the valuation: the later bucket, spent last
    book.take(70, arr(0), arr(120), "redeemed")
    assert book.flows[0, 0, 2] == 100  # cohort 0 at age 2 (the first run-off period)
    assert book.held[0].tolist() == [0, 0, 20]
    assert book.settled()
    assert book.at_end is not None and book.at_end.tolist() == [100, 0]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 119),
            st.integers(0, 3),
            st.sampled_from(["issue", "redeemed", "expired", "reversed", "donated"]),
            st.integers(0, 10**12),
        ),
        max_size=60,
    )
)
def test_points_are_conserved_member_by_member(
    ops: list[tuple[int, int, str, int]],
) -> None:
    """Whatever the order of issues and outflows: held - owed is what each member received
    less what left; nothing is negative; per cohort, what left and what is held never exceed
    what was issued."""
    book = CohortBook(4, 0, 119)
    balance = np.zeros(4, INT)
    for day, member, what, points in sorted(ops, key=lambda op: op[0]):
        if what == "issue":
            book.issue(day, arr(member), arr(points))
            balance[member] += points
        else:
            book.take(day, arr(member), arr(points), what)
            balance[member] -= points
    assert (book.held.sum(axis=1) - book.owed == balance).all()
    assert (book.held >= 0).all() and (book.owed >= 0).all() and (book.flows >= 0).all()
    out = book.flows.sum(axis=(0, 2)) + book.held[:, : book.k].sum(axis=0)
    assert (out <= book.issued[: book.k]).all()


def test_the_simulated_book_matches_every_members_balance() -> None:
    """In a world run (refunds, expiry, campaigns), every member's points by cohort add up to
    their pending plus available points, and the valuation's stock is what they held."""
    sc = load_scenario("scenarios/double_points.toml", members=400, days=120)
    world = World(sc, 0)
    world.run()
    for rec, aw in zip(world.recorders, world.arms, strict=True):
        ms = aw.state.members
        book = rec.cohorts
        held = ms.acct[:, Account.PENDING] + ms.acct[:, Account.AVAILABLE]
        assert (book.held.sum(axis=1) - book.owed == held).all()
        assert book.flows[0].sum() > 0 and book.flows[1].sum() > 0  # redeemed and expired


def test_a_settled_run_off_is_exact() -> None:
    ro = run_off(1000.0, np.array([500.0, 300.0]), np.array([100.0, 100.0]))
    assert ro.share() == pytest.approx(0.8) and ro.tail == 0.0 and ro.tail_share() == 0.0
    assert ro.bounds() == pytest.approx((0.8, 0.8))


def test_the_tail_follows_a_decaying_redemption_hazard() -> None:
    """Known answer: the stock is redeemed at hazard 0.4 x 0.5^(j-1) in period j and nothing
    else leaves. After six periods of run-off the fitted decay is that one exactly, so the
    forecast share is 1 - prod(1 - h_j) over the run-off and the tail."""
    h = 0.4 * 0.5 ** np.arange(6 + TAIL_PERIODS)
    held = 1000.0 * np.concatenate([[1.0], np.cumprod(1 - h)])
    redeemed = (held[:-1] - held[1:])[:6]
    ro = run_off(1000.0, redeemed, np.zeros(6))
    assert ro.share() == pytest.approx(1 - np.prod(1 - h), rel=1e-9)
    low, high = ro.bounds()
    assert low < ro.share() < high == pytest.approx(1.0)
    assert 0 < ro.tail_share() < 0.1


def test_without_a_decay_what_is_held_splits_as_the_last_outflows_did() -> None:
    ro = run_off(1000.0, np.array([100.0, 100.0, 100.0]), np.array([100.0, 100.0, 100.0]))
    assert ro.remaining == pytest.approx(400.0)
    assert ro.future == pytest.approx(300.0 + 200.0)


def test_a_run_off_taking_more_than_the_stock_is_refused() -> None:
    with pytest.raises(ValueError, match="more left the stock than it held"):
        run_off(100.0, np.array([80.0]), np.array([30.0]))


def test_the_chain_ladder_recovers_a_common_development_pattern() -> None:
    """Known answer: every cohort redeems 20%, 30%, 10% and 5% of its issue at ages 0-3 and
    nothing after. The factors are the pattern's ratios, development ends (no tail), and each
    cohort's forecast is what the pattern still owes it."""
    pattern = np.array([0.20, 0.30, 0.10, 0.05, 0.0])
    issued = np.array([1000.0, 2000.0, 1500.0, 800.0, 1200.0])
    k = len(issued)
    age = np.arange(k - 1, -1, -1)
    redeemed = np.where(np.arange(k)[None, :] <= age[:, None], issued[:, None] * pattern, 0.0)
    outstanding = issued - redeemed.sum(axis=1)
    tri = Triangle(issued, redeemed, np.zeros((k, k)), outstanding)
    dev = develop(tri)
    cum = np.cumsum(pattern)
    assert dev.factors == pytest.approx(cum[1:] / cum[:-1])
    assert dev.tail == 1.0
    owed = issued * (cum[-1] - cum[age])
    assert dev.future == pytest.approx(owed)
    assert dev.ultimate_rate == pytest.approx(np.full(k, cum[-1]))


def test_the_chain_ladder_fits_a_decaying_tail() -> None:
    """Age-to-age factors 1 + 0.5^(a+1) for every cohort: the fitted tail carries the same
    decay past the oldest age."""
    k = 6
    f = 1 + 0.5 ** (np.arange(k - 1) + 1)
    cum0 = np.concatenate([[1.0], np.cumprod(f)]) * 100
    issued = np.full(k, 1000.0)
    age = np.arange(k - 1, -1, -1)
    inc = np.diff(np.concatenate([[0.0], cum0]))
    redeemed = np.where(np.arange(k)[None, :] <= age[:, None], inc[None, :], 0.0)
    tri = Triangle(issued, redeemed, np.zeros((k, k)), issued - redeemed.sum(axis=1))
    dev = develop(tri)
    beyond = 1 + 0.5 ** (np.arange(k - 1, k - 1 + 240) + 1)
    assert dev.tail_fitted
    assert dev.tail == pytest.approx(float(np.prod(beyond)), rel=1e-9)


@pytest.mark.slow
def test_a_one_year_run_off_forecast_holds_what_three_years_show() -> None:
    """Beans never expire, so a year's run-off leaves a tail. Run the same members three
    years past the window: they redeem more of the stock than the first year did, and the
    one-year forecast misses the three-year one by less than the part of it the caution calls
    extrapolated (measured at
    2,000 members: 0.503 against 0.647, the tail 0.25 of the stock; at 3,000: 0.665 against
    0.630)."""
    from sim.metrics.breakage import runoff_metrics

    shares = {}
    for days in (365, 1095):
        sc = load_scenario(
            "scenarios/coffee_beans.toml",
            members=2000,
            replications=1,
            values={"horizon.runoff_days": days},
        )
        tables = World(sc, 0).run().tables
        index = tables.runs.set_index(["replication", "group"]).index
        start = tables.daily["day"].min()
        shares[days] = runoff_metrics(tables.cohorts, index, start).iloc[0]
    one, three = shares[365], shares[1095]
    forecast = one["outstanding_redeemed_share"]
    tail = forecast * one["runoff_tail_share"]
    assert one["runoff_tail_share"] > 0.3  # a year does not see most of it
    assert one["outstanding_redeemed_in_runoff"] <= three["outstanding_redeemed_in_runoff"]
    assert abs(forecast - three["outstanding_redeemed_share"]) < tail

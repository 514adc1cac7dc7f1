"""The books' own estimate of how much of their points will be redeemed (IFRS 15 breakage,
``sim.accounting.books``): when a history supports one, what it gives on a programme with a
known answer, when it refuses (and books no breakage), and how far it is from what the
simulated programme goes on to redeem."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sim.accounting import Cohort, roll_forward
from sim.accounting import books as books_module
from sim.accounting.books import MIN_HISTORY_MONTHS, SaleBooks, month_of
from sim.accounting.development import Triangle, actual_vs_expected, develop
from sim.engine import Account, day_number
from sim.policy import MICROS

A = Account
MEMBERS = 4


def _day(year: int, month: int, day: int) -> int:
    return day_number(dt.date(year, month, day))


def _month_end(year: int, month: int) -> int:
    return _day(year + month // 12, month % 12 + 1, 1) - 1


def _post(books: SaleBooks, day: int, src: int, dst: int, points: int, sale: int = -1) -> int:
    n = MEMBERS
    member = np.arange(n, dtype=np.int64)
    ids = np.full(n, -1, np.int64) if sale < 0 else sale * 10 + member
    amount = np.full(n, -1 if sale < 0 else 1_000 * MICROS, np.int64)
    return books.feed(
        day,
        member,
        np.full(n, src, np.int64),
        np.full(n, dst, np.int64),
        np.full(n, points, np.int64),
        ids,
        amount,
        MICROS,
        None,
    )


def steady_books(months: int, redeemed: int = 70) -> tuple[SaleBooks, list[float]]:
    """Every member buys on the 1st of each month (100 points), redeems ``redeemed`` of them
    on the 15th of the next month and sees the rest expire on the 10th of the month after:
    every cohort's ultimate redemption rate is ``redeemed`` %. Returns the books and the
    estimate in force at each month's end."""
    first = _day(2024, 1, 1)
    last = _month_end(2024 + (months - 1) // 12, (months - 1) % 12 + 1)
    books = SaleBooks(MEMBERS, first, last)
    rates = []
    for m in range(months):
        y, mo = 2024 + m // 12, m % 12 + 1
        _post(books, _day(y, mo, 1), A.ISSUED, A.AVAILABLE, 100, sale=m)
        if m >= 2:
            _post(books, _day(y, mo, 10), A.AVAILABLE, A.EXPIRED, 100 - redeemed)
        if m >= 1:
            _post(books, _day(y, mo, 15), A.AVAILABLE, A.REDEEMED, redeemed)
        rates.append(books.estimate_through(_month_end(y, mo)).rate)
    return books, rates


def test_a_steady_programme_is_estimated_at_its_rate_once_a_year_is_known() -> None:
    books, rates = steady_books(16)
    # before a year of history: every point expected (no breakage booked)
    assert rates[: MIN_HISTORY_MONTHS - 1] == [1.0] * (MIN_HISTORY_MONTHS - 1)
    assert books.estimate.from_history
    assert books.estimate.rate == pytest.approx(0.70, abs=1e-9)
    # each cohort at its own rate, the newest (nothing redeemed yet) by Bornhuetter-Ferguson
    np.testing.assert_allclose(books.estimate.by_cohort, 0.70, atol=1e-9)
    cohorts = books.cohorts(None)
    newest = cohorts[max(cohorts)]
    assert newest.expected == pytest.approx(0.70 * 100 * MEMBERS)


def test_a_cohort_still_held_or_a_short_history_gives_no_estimate() -> None:
    books, _ = steady_books(MIN_HISTORY_MONTHS - 1)
    assert not books.estimate.from_history
    assert f"of the {MIN_HISTORY_MONTHS} months" in books.estimate.basis
    assert books.estimate.rate == 1.0
    # nothing ever expires or is redeemed after the first month: the oldest cohort is held
    first = _day(2024, 1, 1)
    held = SaleBooks(MEMBERS, first, _month_end(2025, 5))
    for m in range(17):
        y, mo = 2024 + m // 12, m % 12 + 1
        _post(held, _day(y, mo, 1), A.ISSUED, A.AVAILABLE, 100, sale=m)
        if m == 1:
            _post(held, _day(y, mo, 15), A.AVAILABLE, A.REDEEMED, 10)
    held.estimate_through(_day(2025, 5, 31))
    assert not held.estimate.from_history and "oldest cohort still holds" in held.estimate.basis


def test_actual_versus_expected_on_a_known_triangle() -> None:
    """Cohorts that redeem 50 at age 0 and 25 at age 1 give factors 1.5; if the next
    period's redemptions are twice what the factors forecast, actual/expected is 2."""
    k = 4
    seen = np.arange(k)[None, :] <= np.arange(k - 1, -1, -1)[:, None]
    pattern = np.zeros((k, k))
    pattern[:, 0], pattern[:, 1] = 50, 25
    tri = Triangle(np.full(k, 100.0), np.where(seen, pattern, 0), np.zeros((k, k)),
                   np.full(k, 25.0))  # fmt: skip
    earlier = develop(tri)
    assert earlier.factors[0] == pytest.approx(1.5)
    # one period on: the youngest cohort (age 0 -> 1) redeemed 50 more instead of 25
    later_redeemed = np.zeros((k + 1, k + 1))
    later_redeemed[:k, :k] = tri.redeemed
    later_redeemed[k - 1, 1] = 50
    later_redeemed[k, 0] = 50
    later = develop(
        Triangle(np.full(k + 1, 100.0), later_redeemed, np.zeros((k + 1, k + 1)),
                 np.full(k + 1, 25.0))
    )  # fmt: skip
    assert actual_vs_expected(earlier, later, 1) == pytest.approx(2.0)
    assert actual_vs_expected(earlier, later, 1) > books_module.MAX_AVE
    with pytest.raises(ValueError, match="periods"):
        actual_vs_expected(earlier, later, 0)


def test_month_of_counts_calendar_months() -> None:
    assert month_of(_day(2026, 1, 31)) + 1 == month_of(_day(2026, 2, 1))


def test_a_changed_estimate_is_caught_up_in_the_month_it_is_made() -> None:
    """The steady programme's books: every point expected until the estimate arrives, then
    the cumulative catch-up on the earlier redemptions at the new rate, and the roll forward
    holds month by month."""
    first = _day(2024, 1, 1)
    books = SaleBooks(MEMBERS, first, _month_end(2025, 3))
    positions: dict[int, Cohort] = {}
    caught_up = []
    for m in range(15):
        y, mo = 2024 + m // 12, m % 12 + 1
        allocated = _post(books, _day(y, mo, 1), A.ISSUED, A.AVAILABLE, 100, sale=m)
        if m >= 2:
            _post(books, _day(y, mo, 10), A.AVAILABLE, A.EXPIRED, 30)
        if m >= 1:
            _post(books, _day(y, mo, 15), A.AVAILABLE, A.REDEEMED, 70)
        books.estimate_through(_month_end(y, mo))
        now = books.cohorts(None)
        moves = [roll_forward(positions.get(c), p) for c, p in now.items()]
        positions = dict(now)
        assert sum(mv.allocated for mv in moves) == allocated
        for mv in moves:
            assert mv.opening + mv.allocated - mv.revenue == mv.closing
        caught_up.append(sum(mv.reestimation for mv in moves))
    arrived = next(i for i, c in enumerate(caught_up) if c > 0)
    assert arrived >= MIN_HISTORY_MONTHS - 1  # not before a year of history
    # the catch-up: earlier redemptions now carry allocated / (0.7 x issued) instead of / issued
    assert caught_up[arrived] > 0 and all(abs(c) <= 1 for c in caught_up[arrived + 1 :])
    settled = [p for p in positions.values() if p.settled]
    assert settled and all(p.liability() == 0 for p in settled)


@pytest.mark.slow
def test_the_default_scenario_books_breakage_on_its_own_estimate() -> None:
    """Points that expire after 12 months: by the window's end the oldest cohorts have left,
    the history supports an estimate, breakage is recognised on it (with the catch-up when
    it arrived), and the estimate falls a few points short of what the run-off redeems (the
    chain ladder's known lag in a programme still growing), which the summary says."""
    from sim.execute import summary_spec
    from sim.metrics.summary import replication_metrics, summarise
    from sim.runner import run_scenario
    from sim.scenario import load_scenario

    sc = load_scenario(None, members=1_500, replications=2)
    res = run_scenario(sc)
    spec = summary_spec(sc)
    per = replication_metrics(res.tables, spec)
    estimate = per["redemption_rate_estimate_end"]
    assert estimate.notna().all()
    np.testing.assert_allclose(per["expected_redemption_rate_end"], estimate)
    gap = per["ultimate_redemption_rate"] - estimate
    assert ((gap > 0) & (gap < 0.12)).all(), gap
    assert (per["breakage_recognised"] > 0).all() and (per["revenue_reestimated"] > 0).all()
    roll = per["deferred_revenue_start"] + per["revenue_allocated"] - per["revenue_recognised"]
    np.testing.assert_allclose(roll, per["deferred_revenue_end"], atol=1e-6)
    summary = summarise(res.tables, spec)
    assert any("estimated from their own history" in w for w in summary.warnings)


@pytest.mark.slow
def test_a_programme_still_saving_up_gets_no_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Points that never expire, 15 months in: members are still saving up, redemptions run
    ahead of what the chain ladder forecast three months before, and an estimate from that
    history would fall far short of what the run-off redeems. The books refuse it (no
    breakage, said in the summary); with both guards lifted the estimate shows the gap."""
    from sim.execute import summary_spec
    from sim.metrics.summary import replication_metrics, summarise
    from sim.runner import run_scenario
    from sim.scenario import load_scenario

    sc = load_scenario("scenarios/coffee_beans.toml", members=1_500, replications=2)

    def metrics() -> tuple[pd.DataFrame, list[str]]:
        res = run_scenario(sc)
        spec = summary_spec(sc)
        return replication_metrics(res.tables, spec), summarise(res.tables, spec).warnings

    per, warnings = metrics()
    assert per["redemption_rate_estimate_end"].isna().all()
    assert (per["breakage_recognised"].abs() < 1e-3).all()
    assert any("No breakage was recognised" in w for w in warnings)

    monkeypatch.setattr(books_module, "MAX_OPEN_SHARE", 1.0)
    per, _ = metrics()
    assert per["redemption_rate_estimate_end"].isna().all()  # refused: actual vs expected

    monkeypatch.setattr(books_module, "MAX_AVE", float("inf"))
    per, _ = metrics()
    unguarded = per["redemption_rate_estimate_end"]
    assert unguarded.notna().all()
    assert ((per["ultimate_redemption_rate"] - unguarded) > 0.15).all()


def test_a_cohort_redeeming_where_older_ones_had_nothing_stays_within_what_it_holds() -> None:
    """Older cohorts redeemed nothing by age 1 and then some at age 2, a younger one already
    at age 1: the factor from age 1 is infinite (nothing developed), and the forecast stays
    finite, every cohort's future within what it holds."""
    k = 4
    redeemed = np.zeros((k, k))
    redeemed[0, 2] = redeemed[1, 2] = 10.0
    redeemed[2, 1] = 5.0
    held = np.array([90.0, 90.0, 95.0, 100.0])
    d = develop(Triangle(np.full(k, 100.0), redeemed, np.zeros((k, k)), held))
    assert np.isinf(d.factors[1])
    assert np.isfinite(d.future).all() and (d.future <= held).all() and (d.future >= 0).all()

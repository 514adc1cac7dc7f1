"""The IFRS 15 books of a programme's points, kept day by day from the engine's postings: the
one implementation the simulation and the live ledger share, so that a simulation forecasts
what the ledger will book for the same events.

Points are grouped by the calendar month they were issued in and leave members first in first
out (:class:`~sim.accounting.cohorts.CohortBook`, one period a month). The points a sale
(a purchase event) issues carry the part of its price allocated to them
(:func:`~sim.accounting.ifrs15.allocate`, with the point value and expected redemption share
in force that day); points given without a sale defer no revenue. A cohort's redemptions are
its points' redemptions, the sales' part in proportion to the sales' share of its points.

Where the policy sets no expected redemption share, the books estimate it from their own
history (:meth:`SaleBooks.estimate_through`): at the end of each calendar month, the chain
ladder of every month cohort's redemptions so far (:mod:`sim.accounting.development`) gives
each cohort's ultimate redemption rate (its expected redemptions) and the rate over all of
them (the stand-alone price of the next month's sales). A revised estimate moves the revenue
recognised on earlier redemptions: the cumulative catch-up of IFRS 15 (Illustrative Example
52). Until the history supports an estimate every point is expected to be redeemed and no
breakage is recognised: the constraint on variable consideration (IFRS 15.56-58, B46) books
breakage only where a significant reversal is highly improbable. The history supports one
once it holds :data:`MIN_HISTORY_MONTHS` complete months, some redemptions, a development
that has ended or whose tail could be fitted, an oldest cohort with at most
:data:`MAX_OPEN_SHARE` of its points still held (until some cohort has been seen nearly to its
end, its ultimate rate is an extrapolation), and redemptions over the last :data:`AVE_MONTHS`
months no more than :data:`MAX_AVE` times what the chain ladder forecast for them then
(:func:`~sim.accounting.development.actual_vs_expected`). The last guards against the chain
ladder's assumption that young cohorts develop as old ones did: in a young programme whose
members are still saving up, and whose points leave first in first out, young cohorts wait
behind growing balances, redemptions keep running ahead of the forecast, and the estimate
falls far short of what is redeemed in the end (the simulation measures it against its
run-off: ``tests/test_accounting_estimate.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.accounting.cohorts import CohortBook, Flows
from sim.accounting.development import Development, Triangle, actual_vs_expected, develop
from sim.accounting.ifrs15 import Cohort, allocate
from sim.engine.calendar import EPOCH
from sim.engine.flows import point_flows

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

__all__ = [
    "AVE_MONTHS",
    "MAX_AVE",
    "MAX_OPEN_SHARE",
    "MIN_HISTORY_MONTHS",
    "Estimate",
    "SaleBooks",
    "month_label",
    "month_of",
]

MIN_HISTORY_MONTHS = 12
"""Complete months of history before the books estimate breakage from it: one year, so that
the development has seen every season once. An assumption (IFRS 15 asks for experience
sufficient for a highly probable estimate and sets no length); a policy can set its own share
instead (``[accounting] expected_redemption``)."""

MAX_OPEN_SHARE = 0.05
"""The oldest cohort may still hold at most this share of the points it issued for the books
to estimate from their history (see the module docstring); points that never expire may keep
a programme below it for years, and its policy then sets the share."""


def month_of(day: int) -> int:
    """The calendar month (year x 12 + month - 1) of a day number."""
    d = EPOCH + dt.timedelta(days=int(day))
    return d.year * 12 + d.month - 1


def month_label(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


@dataclass(frozen=True)
class Estimate:
    """The books' estimate of how much of their points will be redeemed, made at the end of
    month ``through`` (None: no month has ended yet)."""

    through: int | None
    rate: float
    """The ultimate redemption rate over every cohort (the next sales' stand-alone price)."""
    by_cohort: F64
    """Per month cohort (0 the books' first month): its ultimate redemption rate."""
    basis: str
    """Where the rate comes from, or why it is 1 (no breakage recognised yet)."""
    development: Development | None = None

    @property
    def from_history(self) -> bool:
        return self.development is not None and self.basis == "history"


AVE_MONTHS = 3
MAX_AVE = 1.2
"""Redemptions over the last :data:`AVE_MONTHS` months may run at most this many times what
the chain ladder made :data:`AVE_MONTHS` months before forecast for them (20% over) for the
books to estimate from their history; beyond it the development is speeding up and the chain
ladder understates what will be redeemed. An assumption of this project: in the shipped
scenarios programmes with a steady development stay within 0.8-1.1 and a saving-up one runs
1.5-1.7 (``tests/test_accounting_estimate.py``)."""


def _no_estimate(through: int | None, why: str, d: Development | None = None) -> Estimate:
    return Estimate(through, 1.0, np.zeros(0), why, d)


def _oldest_open_share(d: Development) -> float:
    """The share of its issued points the oldest cohort with any still holds."""
    issued = np.flatnonzero(d.issued > 0)
    oldest = int(issued[0])
    return float(d.outstanding[oldest] / d.issued[oldest])


class SaleBooks:
    """Month cohorts of ``n`` members' points from day ``first_day`` through ``last_day``."""

    def __init__(self, n: int, first_day: int, last_day: int) -> None:
        self.first_month = month_of(first_day)
        self.estimate = _no_estimate(None, "no month has ended yet")
        self._developments: dict[int, Development] = {}
        """The chain ladders of the last :data:`AVE_MONTHS` month ends, for the check."""
        self.book = CohortBook(n, self.first_month, month_of(last_day), period_days=1)
        k = self.book.k
        self.sale_points = np.zeros(k, np.int64)
        self.allocated = np.zeros(k, np.int64)
        self.sale_redeemed = np.zeros(k)
        """Redemptions attributed to the points from sales, day by day: each day's redemptions
        of a cohort times the sales' share of its points that day (so never decreasing)."""
        self._redeemed_all = np.zeros(k, np.int64)

    def feed(
        self,
        day: int,
        member: I64,
        src: I64,
        dst: I64,
        points: I64,
        sale: I64,
        sale_amount: I64,
        value_per_point: float,
        expected_share: float | None,
        flows: Flows | None = None,
    ) -> int:
        """A day's postings, in order. ``sale``: per posting, the id of the purchase whose
        points it issues (-1 for any other posting), ``sale_amount`` that purchase's amount
        (micros). A sale's points (every rule's and campaign's posting) are allocated together,
        at ``value_per_point`` (micros) and ``expected_share`` (None: the books' estimate);
        returns the micros allocated. ``flows``: the postings'
        :func:`sim.engine.flows.point_flows` masks if the caller has them."""
        self.estimate_through(day - 1)
        if expected_share is None:
            expected_share = self.estimate.rate
        month = month_of(day)
        flows = point_flows(src, dst) if flows is None else flows
        self.book.post(month, member, src, dst, points, flows)
        sold = np.flatnonzero(flows["points_issued"] & (points != 0) & (sale >= 0))
        allocated = 0
        if len(sold):
            ids, first, inverse = np.unique(sale[sold], return_index=True, return_inverse=True)
            per_sale = np.bincount(inverse, weights=points[sold], minlength=len(ids))
            amounts = sale_amount[sold][first]
            c = month - self.first_month
            self.sale_points[c] += int(points[sold].sum())
            allocated = int(allocate(amounts, per_sale, value_per_point, expected_share).sum())
            self.allocated[c] += allocated
        redeemed_all = self.book.flows[0].sum(axis=1)
        today = redeemed_all - self._redeemed_all
        if today.any():
            issued = self.book.issued[: self.book.k]
            share = np.divide(self.sale_points, issued, out=np.zeros(len(issued)), where=issued > 0)
            self.sale_redeemed += today * share
            self._redeemed_all = redeemed_all
        return allocated

    def estimate_through(self, day: int) -> Estimate:
        """The estimate from every month complete at the end of ``day`` (re-made when a
        month has ended since the last one; see the module docstring). Call it once the
        postings through ``day`` are in and none later: each month ended since the last
        estimate is estimated in turn, so that books fed only on days with postings (the
        ledger's) estimate as books fed every day (the simulation's)."""
        last = self.estimate.through
        start = self.first_month if last is None else last + 1
        for month in range(start, month_of(day + 1)):
            self._estimate_month(month)
        return self.estimate

    def _estimate_month(self, through: int) -> None:
        months = min(through - self.first_month + 1, self.book.k)
        d = develop(Triangle.from_book(self.book, months))
        self._developments = {
            m: v for m, v in self._developments.items() if m >= through - AVE_MONTHS
        }
        self._developments[through] = d
        earlier = self._developments.get(through - AVE_MONTHS)
        ave = actual_vs_expected(earlier, d, AVE_MONTHS) if earlier else float("nan")
        issued = float(d.issued.sum())
        if months < MIN_HISTORY_MONTHS:
            self.estimate = _no_estimate(
                through, f"{months} of the {MIN_HISTORY_MONTHS} months of history needed", d
            )
        elif issued <= 0 or d.redeemed.sum() <= 0:
            self.estimate = _no_estimate(through, "no redemptions in the history yet", d)
        elif not d.tail_fitted:
            self.estimate = _no_estimate(
                through, "redemptions still developing with no tail that can be fitted", d
            )
        elif (open_share := _oldest_open_share(d)) > MAX_OPEN_SHARE:
            self.estimate = _no_estimate(
                through,
                f"the oldest cohort still holds {open_share:.0%} of its points, more than "
                f"{MAX_OPEN_SHARE:.0%}",
                d,
            )
        elif ave > MAX_AVE:
            self.estimate = _no_estimate(
                through,
                f"redemptions of the last {AVE_MONTHS} months ran {ave:.2f} times what the "
                f"chain ladder forecast then (more than {MAX_AVE}): the development is not "
                "steady yet",
                d,
            )
        else:
            rate = float(np.clip((d.redeemed + d.future).sum() / issued, 0.0, 1.0))
            by_cohort = np.clip(np.nan_to_num(d.ultimate_rate, nan=rate), 0.0, 1.0)
            self.estimate = Estimate(through, rate, by_cohort, "history", d)

    def cohorts(self, estimate: float | None) -> dict[int, Cohort]:
        """Each month cohort with points from sales, at ``estimate`` (the share of them
        expected to be redeemed; None: each cohort's rate in the books' :attr:`estimate`)."""
        held = self.book.outstanding()
        by_cohort = self.estimate.by_cohort
        out = {}
        for c in np.flatnonzero(self.sale_points > 0):
            sale_points = int(self.sale_points[c])
            redeemed = min(round(float(self.sale_redeemed[c])), sale_points)
            if estimate is not None:
                rate = estimate
            elif c < len(by_cohort):
                rate = float(by_cohort[c])
            else:
                rate = self.estimate.rate
            expected = min(max(sale_points * rate, redeemed), sale_points)
            out[self.first_month + int(c)] = Cohort(
                int(self.allocated[c]), sale_points, redeemed, expected, bool(held[c] == 0)
            )
        return out

    def unsold_outstanding(self) -> int:
        """Points given without a sale still held (a cost, not deferred revenue)."""
        book = self.book
        held = book.outstanding()
        total = 0
        for c in np.flatnonzero(book.issued[: book.k] > 0):
            share = self.sale_points[c] / book.issued[c]
            total += round(float(held[c]) * (1 - share))
        return total

"""The IFRS 15 books of a programme's points, kept day by day from the engine's postings: the
one implementation the simulation and the live ledger share, so that a simulation forecasts
what the ledger will book for the same events.

Points are grouped by the calendar month they were issued in and leave members first in first
out (:class:`~sim.accounting.cohorts.CohortBook`, one period a month). The points a sale
(a purchase event) issues carry the part of its price allocated to them
(:func:`~sim.accounting.ifrs15.allocate`, with the point value and expected redemption share
in force that day); points given without a sale defer no revenue. A cohort's redemptions are
its points' redemptions, the sales' part in proportion to the sales' share of its points.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

from sim.accounting.cohorts import CohortBook, Flows
from sim.accounting.ifrs15 import Cohort, allocate
from sim.engine.calendar import EPOCH
from sim.engine.flows import point_flows

I64 = npt.NDArray[np.int64]

__all__ = ["SaleBooks", "month_label", "month_of"]


def month_of(day: int) -> int:
    """The calendar month (year x 12 + month - 1) of a day number."""
    d = EPOCH + dt.timedelta(days=int(day))
    return d.year * 12 + d.month - 1


def month_label(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


class SaleBooks:
    """Month cohorts of ``n`` members' points from day ``first_day`` through ``last_day``."""

    def __init__(self, n: int, first_day: int, last_day: int) -> None:
        self.first_month = month_of(first_day)
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
        expected_share: float,
        flows: Flows | None = None,
    ) -> int:
        """A day's postings, in order. ``sale``: per posting, the id of the purchase whose
        points it issues (-1 for any other posting), ``sale_amount`` that purchase's amount
        (micros). A sale's points (every rule's and campaign's posting) are allocated together,
        at ``value_per_point`` (micros) and ``expected_share``; returns the micros allocated.
        ``flows``: the postings' :func:`sim.engine.flows.point_flows` masks if the caller has
        them."""
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

    def cohorts(self, estimate: float) -> dict[int, Cohort]:
        """Each month cohort with points from sales, at ``estimate`` (the share of them
        expected to be redeemed)."""
        held = self.book.outstanding()
        out = {}
        for c in np.flatnonzero(self.sale_points > 0):
            sale_points = int(self.sale_points[c])
            redeemed = min(round(float(self.sale_redeemed[c])), sale_points)
            expected = min(max(sale_points * estimate, redeemed), sale_points)
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

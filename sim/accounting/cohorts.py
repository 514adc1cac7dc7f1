"""Outstanding points by issue cohort, member by member, first in first out.

A cohort is the points issued in one period of ``period_days`` days. Periods are counted back
from the valuation day (``end_day``, the last day of the metric window), so every cohort's
development at the valuation ends on a period boundary: the last diagonal of the triangle is
complete, whatever day the simulation starts on (the first cohort may hold fewer issue days).
After the valuation the book can follow a *run-off* of ``runoff_periods`` periods: the
cohorts' points keep leaving (their flows recorded at their ages), and points issued after the
valuation go into one later bucket, which leaves last and whose flows are not recorded.

Each member's points leave in the order they came: a redemption, an expiry or a donation takes
the member's oldest points first (FIFO, as the engine's lots spend earliest expiry first); a
reversal takes the newest first, since a refund takes back what its own order recently earned.
What leaves beyond the points a member holds (a clawback into debt) is owed and paid by the
member's next points, so ``held.sum(axis=1) - owed`` equals the member's pending plus available
points at every step.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from sim.engine.flows import point_flows
from sim.engine.groups import group_sum

I64 = npt.NDArray[np.int64]
Flows = dict[str, npt.NDArray[np.bool_]]

COHORT_FLOWS = ("redeemed", "expired", "reversed", "donated")
"""How points leave a cohort, in the order of the first axis of :attr:`CohortBook.flows`."""

_NEWEST_FIRST = frozenset({"reversed"})


class CohortBook:
    """Points held by issue cohort for ``n`` members from ``first_day``, valued on ``end_day``
    and followed ``runoff_periods`` periods past it.

    ``held[m, c]``: points of cohort ``c`` (0 the oldest; ``k`` the bucket of points issued
    after the valuation) member ``m`` still holds; ``issued[c]``: points issued in cohort ``c``;
    ``flows[f, c, a]``: points of cohort ``c`` that left by :data:`COHORT_FLOWS` ``[f]`` at age
    ``a`` (whole periods since the cohort's first day)."""

    def __init__(
        self,
        n: int,
        first_day: int,
        end_day: int,
        period_days: int = 30,
        runoff_periods: int = 0,
    ) -> None:
        if n < 0:
            raise ValueError(f"n(={n}) must be >= 0")
        if period_days < 1:
            raise ValueError(f"period_days(={period_days}) must be >= 1")
        if end_day < first_day:
            raise ValueError(f"end_day(={end_day}) must be >= first_day(={first_day})")
        if runoff_periods < 0:
            raise ValueError(f"runoff_periods(={runoff_periods}) must be >= 0")
        self.first_day = first_day
        self.end_day = end_day
        self.period_days = period_days
        self.runoff_periods = runoff_periods
        self.last_day = end_day + runoff_periods * period_days
        self.k = math.ceil((end_day - first_day + 1) / period_days)
        self.held: I64 = np.zeros((n, self.k + 1), np.int64, order="F")
        self.owed: I64 = np.zeros(n, np.int64)
        self.issued: I64 = np.zeros(self.k + 1, np.int64)
        self.held_total: I64 = np.zeros(self.k + 1, np.int64)
        """``held.sum(axis=0)``, kept as points come and go (summing ``held`` is slow)."""
        ages = self.k + runoff_periods
        self.flows: I64 = np.zeros((len(COHORT_FLOWS), self.k, ages), np.int64)
        self.at_end: I64 | None = None
        """Points held by cohort at the end of ``end_day`` (set by :meth:`value`)."""

    def cohort_of(self, day: int) -> int:
        """The cohort (0 the oldest; ``k`` after the valuation) of points issued on ``day``."""
        if not self.first_day <= day <= self.last_day:
            raise ValueError(f"day {day} is outside the book ({self.first_day}..{self.last_day})")
        if day > self.end_day:
            return self.k
        return self.k - 1 - (self.end_day - day) // self.period_days

    def period_of(self, day: int) -> int:
        """The period ``day`` falls in, counted like cohorts (``k`` the first after the end)."""
        return self.k - 1 - (self.end_day - day) // self.period_days

    def cohort_start(self, cohort: int) -> int:
        """The first day of ``cohort``'s period (before ``first_day`` for a partial first one)."""
        return self.end_day + 1 - (self.k - cohort) * self.period_days

    def value(self) -> None:
        """Record what each cohort holds now (call at the end of ``end_day``)."""
        self.at_end = self.outstanding()

    def settled(self) -> bool:
        """Whether every point held at the valuation has left (nothing more to follow)."""
        return not self.held_total[: self.k].any()

    def issue(self, day: int, member: I64, points: I64) -> None:
        """Members receive new points on ``day`` (members may repeat); debts are paid first."""
        if len(member) == 0:
            return
        um, up = group_sum(member.astype(np.int64, copy=False), points.astype(np.int64))
        c = self.cohort_of(day)
        owed = self.owed[um]
        pay = np.minimum(owed, up)
        self.owed[um] = owed - pay
        self.held[:, c][um] += up - pay
        self.issued[c] += int(up.sum())
        self.held_total[c] += int((up - pay).sum())

    def take(self, day: int, member: I64, points: I64, flow: str) -> None:
        """Points leave members on ``day`` by ``flow`` (one of :data:`COHORT_FLOWS`)."""
        if len(member) == 0:
            return
        f = COHORT_FLOWS.index(flow)
        um, up = group_sum(member.astype(np.int64, copy=False), points.astype(np.int64))
        now = self.cohort_of(day)
        period = self.period_of(day)
        cols = list(range(now + 1))
        if flow in _NEWEST_FIRST:
            cols.reverse()
        held = np.empty((len(cols), len(um)), np.int64)
        for i, c in enumerate(cols):
            np.take(self.held[:, c], um, out=held[i])
        before = np.cumsum(held, axis=0) - held
        given = np.clip(up - before, 0, held)
        for i, c in enumerate(cols):
            gave = np.flatnonzero(given[i])
            if len(gave):
                self.held[:, c][um[gave]] = held[i, gave] - given[i, gave]
                self.held_total[c] -= int(given[i, gave].sum())
                if c < self.k:
                    self.flows[f, c, period - c] += int(given[i, gave].sum())
        self.owed[um] += up - given.sum(axis=0)

    def post(
        self, day: int, member: I64, src: I64, dst: I64, points: I64, flows: Flows | None = None
    ) -> None:
        """A day's postings (engine accounts ``src`` -> ``dst``): the points issued come in
        first, then what left by each of :data:`COHORT_FLOWS` (``flows``: their
        :func:`sim.engine.flows.point_flows` masks when the caller has them)."""
        flows = point_flows(src, dst) if flows is None else flows
        moves = {"issued": flows["points_issued"], "redeemed": flows["points_burned"]}
        moves.update({flow: flows[f"points_{flow}"] for flow in COHORT_FLOWS[1:]})
        for name, mask in moves.items():
            rows = np.flatnonzero(mask & (points != 0))
            if not len(rows):
                continue
            if name == "issued":
                self.issue(day, member[rows], points[rows])
            else:
                self.take(day, member[rows], points[rows], name)

    def outstanding(self) -> I64:
        """Points of each valuation cohort still held (debts not netted: they are members',
        not cohorts')."""
        out: I64 = self.held_total[: self.k].copy()
        return out

"""Points as IFRS 15 (and ASC 606) book them: revenue deferred for the points a sale issues,
recognised as they are redeemed, breakage in proportion.

A sale that issues points is a contract with two performance obligations, the goods and the
points (IFRS 15.B39-B43). Its price is split by relative stand-alone selling price: the
points' is their value per point times the share expected to be redeemed
(:func:`allocate`). What is allocated to the points is a contract liability (deferred
revenue) until the points are redeemed: the cumulative revenue recognised for an issue cohort
is the allocated amount times the points redeemed so far over the points expected to be
redeemed in total, so the expected breakage is recognised in proportion to redemptions, and a
change of that expectation is a cumulative catch-up in the period it is made (IFRS 15
Illustrative Example 52; :class:`Cohort`). Once every point of a cohort has been redeemed or
has expired, whatever is left is recognised.

Money is integer micros of the currency. Cumulative revenue is rounded to the micro once, and
every movement of a period is a difference of rounded figures, so that opening + allocated -
revenue = closing holds exactly (:func:`roll_forward`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]

__all__ = ["Cohort", "Movement", "allocate", "roll_forward"]


def allocate(
    amount: npt.ArrayLike, points: npt.ArrayLike, value_per_point: float, expected_share: float
) -> I64:
    """Micros of each sale's ``amount`` (micros) allocated to the ``points`` it issued: by
    relative stand-alone selling price, the points' being ``points`` x ``value_per_point``
    (micros a point) x ``expected_share`` (the share of points expected to be redeemed).
    Rounded half up to the micro; a sale that issued no points allocates nothing."""
    if not 0.0 <= expected_share <= 1.0:
        raise ValueError(f"expected_share(={expected_share}) must be within [0, 1]")
    if value_per_point < 0:
        raise ValueError(f"value_per_point(={value_per_point}) must be >= 0")
    a = np.asarray(amount, np.float64)
    ssp = np.asarray(points, np.float64) * value_per_point * expected_share
    total = a + ssp
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, a * ssp / total, 0.0)
    out: I64 = np.floor(share + 0.5).astype(np.int64)
    return out


@dataclass(frozen=True)
class Cohort:
    """One issue cohort's points from sales at a reporting date, cumulative: ``allocated``
    (micros), ``issued`` and ``redeemed`` points, ``expected`` the points expected to be
    redeemed in total (the estimate at this date; never fewer than those redeemed), and
    ``settled`` once nothing of it is outstanding."""

    allocated: int
    issued: int
    redeemed: int
    expected: float
    settled: bool = False

    def __post_init__(self) -> None:
        if self.allocated < 0 or self.issued < 0 or self.redeemed < 0:
            raise ValueError(f"cohort figures must be >= 0 ({self})")
        if self.redeemed > self.issued:
            raise ValueError(f"redeemed(={self.redeemed}) > issued(={self.issued})")
        if not 0.0 <= self.expected <= max(self.issued, 0):
            raise ValueError(f"expected(={self.expected}) must be within [0, issued]")

    def recognised(self) -> int:
        """Revenue recognised to date (micros): allocated x redeemed / expected, capped at
        the allocation; all of it once the cohort is settled."""
        if self.settled:
            return self.allocated
        return self._at(self.redeemed, self.expected)

    def _at(self, redeemed: float, expected: float) -> int:
        if redeemed <= 0:
            return 0
        share = min(redeemed / max(expected, redeemed), 1.0)
        return int(np.floor(self.allocated * share + 0.5))

    def liability(self) -> int:
        """The contract liability (deferred revenue) left: allocated - recognised."""
        return self.allocated - self.recognised()


@dataclass(frozen=True)
class Movement:
    """A cohort's contract liability over a period (micros): ``opening`` + ``allocated`` -
    ``redemptions`` - ``breakage`` - ``reestimation`` = ``closing``. ``redemptions`` is the
    points redeemed in the period at the allocated price per point issued; ``reestimation``
    the catch-up on earlier redemptions when the expectation changed; ``breakage`` the rest of
    the revenue (expected breakage in proportion to the period's redemptions, and what is left
    when the cohort is settled; a micro either way from rounding)."""

    opening: int
    allocated: int
    redemptions: int
    breakage: int
    reestimation: int
    closing: int

    @property
    def revenue(self) -> int:
        return self.redemptions + self.breakage + self.reestimation


def roll_forward(before: Cohort | None, after: Cohort) -> Movement:
    """The movement of a cohort's liability from ``before`` (None: the cohort is new) to
    ``after`` (see :class:`Movement`)."""
    start = before if before is not None else Cohort(0, 0, 0, 0.0)
    if after.redeemed < start.redeemed or after.allocated < start.allocated:
        raise ValueError("a later position cannot redeem or allocate less than an earlier one")
    cum0, cum1 = start.recognised(), after.recognised()
    redemptions = 0
    if after.issued > 0:
        redemptions = int(
            np.floor(after.allocated * (after.redeemed - start.redeemed) / after.issued + 0.5)
        )
    restated = after._at(start.redeemed, after.expected)  # old redemptions, new estimate
    reestimation = restated - cum0 if not start.settled else 0
    breakage = (cum1 - cum0) - redemptions - reestimation
    return Movement(
        opening=start.liability(),
        allocated=after.allocated - start.allocated,
        redemptions=redemptions,
        breakage=breakage,
        reestimation=reestimation,
        closing=after.liability(),
    )

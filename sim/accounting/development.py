"""How much of each issue cohort will ever be redeemed: development and chain ladder.

A cohort's cumulative redemptions by age form a row of a development triangle (cohorts down,
ages across; a cohort of age ``a`` at the valuation has ages ``0..a`` observed). The chain
ladder (Mack 1993; Friedland 2010, ch. 7) estimates the age-to-age factors from the volume of
every cohort observed at both ages, ``f_a = sum R[c, a+1] / sum R[c, a]``, and projects each
cohort's redemptions to date by the product of the factors it has still to go through.

Beyond the oldest age observed the development is extrapolated: ``f_a - 1`` is fitted as an
exponential decay in the age (log-linear least squares over the observed factors above 1,
Sherman 1984's exponential curve) and carried on until the terms vanish or for
:data:`TAIL_PERIODS` periods. That tail is an assumption, so the result also gives the
forecast without it (redemptions only as far as the oldest cohort has developed) and the tail's
share. Where the last factors are exactly 1 (every point of the old cohorts has been redeemed
or has expired) there is no tail.

A cohort with nothing redeemed yet cannot be projected by a factor (zero times anything); it
takes the Bornhuetter-Ferguson expectation instead: its issued points times the volume-weighted
ultimate redemption rate of the projected cohorts, times the share of development still to come.
No cohort is forecast to redeem more than it still holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.accounting.cohorts import COHORT_FLOWS, CohortBook

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

TAIL_PERIODS = 240
"""How many periods past the oldest observed age the fitted tail runs at most (20 years of
30-day periods); the terms are usually negligible long before."""


@dataclass(frozen=True)
class Triangle:
    """Cohorts' development at one valuation: ``issued[c]``, ``redeemed[c, a]`` (points of
    cohort ``c`` redeemed at age ``a``, incremental), ``left[c, a]`` (points that left otherwise:
    expired, reversed, donated) and ``outstanding[c]`` (still held at the valuation). Cohort
    ``c`` of ``k`` is observed at ages ``0..k-1-c`` (the last cohort at age 0)."""

    issued: F64
    redeemed: F64
    left: F64
    outstanding: F64

    def __post_init__(self) -> None:
        k = len(self.issued)
        for name in ("redeemed", "left"):
            shape = np.shape(getattr(self, name))
            if shape != (k, k):
                raise ValueError(f"triangle: {name} has shape {shape}, expected ({k}, {k})")
        if np.shape(self.outstanding) != (k,):
            raise ValueError(f"triangle: outstanding has shape {np.shape(self.outstanding)}")

    @property
    def k(self) -> int:
        return len(self.issued)

    def age(self) -> I64:
        """Each cohort's age at the valuation (the oldest age observed)."""
        return np.arange(self.k - 1, -1, -1, dtype=np.int64)

    def cumulative(self) -> F64:
        """Cumulative redemptions by cohort and age (NaN where not observed yet)."""
        cum = np.cumsum(self.redeemed, axis=1)
        unseen = np.arange(self.k)[None, :] > self.age()[:, None]
        return np.where(unseen, np.nan, cum)

    @classmethod
    def from_book(cls, book: CohortBook, periods: int | None = None) -> Triangle:
        """The book's triangle at its valuation (its run-off left out), or, with ``periods``,
        at the end of its first ``periods`` periods while nothing later has been posted yet
        (a valuation made as the book is kept)."""
        k = book.k if periods is None else periods
        if not 0 <= k <= book.k:
            raise ValueError(f"periods(={periods}) must be within [0, {book.k}]")
        seen = np.arange(k)[None, :] <= np.arange(k - 1, -1, -1)[:, None]
        f = np.where(seen, book.flows[:, :k, :k], 0).astype(np.float64)
        if periods is None and book.at_end is not None:
            held = book.at_end
        else:
            held = book.outstanding()[:k]
        redeemed = f[COHORT_FLOWS.index("redeemed")]
        return cls(
            issued=book.issued[:k].astype(np.float64),
            redeemed=redeemed,
            left=f.sum(axis=0) - redeemed,
            outstanding=held.astype(np.float64),
        )


@dataclass(frozen=True)
class Development:
    """The forecast of a :class:`Triangle` (per cohort arrays have the triangle's ``k``)."""

    factors: F64
    """Age-to-age factors ``f_a`` (age ``a`` to ``a + 1``): NaN where no cohort has volume at
    either age, infinite where cohorts redeem at ``a + 1`` after nothing by ``a`` (nothing is
    developed by age ``a``: a cohort that young takes the Bornhuetter-Ferguson expectation
    whole)."""
    tail: float
    """Product of the fitted factors beyond the oldest observed age (1: no tail)."""
    tail_fitted: bool
    """Whether a decaying tail could be fitted (False: too few factors above 1, or no decay;
    the forecast then stops at the oldest observed age)."""
    to_ultimate: F64
    """Per cohort: the factor from its redemptions to date to its ultimate ones."""
    redeemed: F64
    """Per cohort: redeemed to date."""
    future: F64
    """Per cohort: forecast redemptions still to come (at most what it holds)."""
    future_no_tail: F64
    """The same, with the development stopped at the oldest observed age."""
    issued: F64
    outstanding: F64

    @property
    def ultimate_rate(self) -> F64:
        """Per cohort: (redeemed to date + future) / issued (NaN for a cohort with no issue)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            out: F64 = (self.redeemed + self.future) / self.issued
        return np.where(self.issued > 0, out, np.nan)

    def redemption_share(self, *, tail: bool = True) -> float:
        """The share of the points outstanding at the valuation forecast to be redeemed (NaN
        when nothing is outstanding)."""
        total = float(self.outstanding.sum())
        future = self.future if tail else self.future_no_tail
        return float(future.sum()) / total if total > 0 else float("nan")

    def tail_share(self) -> float:
        """The part of the forecast future redemptions that comes from the fitted tail."""
        total = float(self.future.sum())
        return (total - float(self.future_no_tail.sum())) / total if total > 0 else 0.0


def develop(tri: Triangle) -> Development:
    """The chain-ladder forecast of ``tri`` (module docstring)."""
    k = tri.k
    cum = tri.cumulative()
    factors = np.full(max(k - 1, 0), np.nan)
    for a in range(k - 1):
        rows = slice(0, k - 1 - a)  # cohorts observed at age a + 1
        base = float(np.nansum(cum[rows, a]))
        top = float(np.nansum(cum[rows, a + 1]))
        if base > 0:
            factors[a] = top / base
        elif top > 0:
            factors[a] = np.inf
    tail, fitted = _tail(factors)
    age = tri.age()
    redeemed = cum[np.arange(k), age] if k else np.zeros(0)
    to_ult_no_tail = np.array([float(np.prod(_known(factors[a:]))) for a in age], dtype=np.float64)
    future = _future(tri, redeemed, to_ult_no_tail * tail)
    future_no_tail = _future(tri, redeemed, to_ult_no_tail)
    return Development(
        factors=factors,
        tail=tail,
        tail_fitted=fitted,
        to_ultimate=to_ult_no_tail * tail,
        redeemed=redeemed,
        future=future,
        future_no_tail=future_no_tail,
        issued=tri.issued.astype(np.float64),
        outstanding=tri.outstanding.astype(np.float64),
    )


def _known(factors: F64) -> F64:
    """The factors with the undefined ones (no volume) taken as 1."""
    out: F64 = np.where(np.isnan(factors), 1.0, factors)
    return out


def _tail(factors: F64) -> tuple[float, bool]:
    """(tail factor, fitted): the exponential decay of ``f - 1`` carried past the last age."""
    if len(factors) == 0:
        return 1.0, False
    seen = np.flatnonzero(np.isfinite(factors))
    if len(seen) and factors[seen[-1]] <= 1.0 + 1e-12:
        return 1.0, True  # development has ended: the oldest cohorts redeem nothing more
    ages = np.flatnonzero(np.isfinite(factors) & (factors > 1.0))
    ages = ages[ages >= 1] if (ages >= 1).sum() >= 2 else ages  # age 0 is often atypical
    if len(ages) < 2:
        return 1.0, False
    slope, intercept = np.polyfit(ages.astype(np.float64), np.log(factors[ages] - 1.0), 1)
    if slope >= 0:
        return 1.0, False  # no decay: an extrapolation would never end
    beyond = np.arange(len(factors), len(factors) + TAIL_PERIODS, dtype=np.float64)
    return float(np.prod(1.0 + np.exp(intercept + slope * beyond))), True


def _future(tri: Triangle, redeemed: F64, to_ultimate: F64) -> F64:
    """Forecast redemptions still to come per cohort: chain ladder where the cohort has
    redeemed something, Bornhuetter-Ferguson (with the projected cohorts' ultimate rate)
    where it has not, capped at what the cohort holds."""
    projected = redeemed > 0
    with np.errstate(invalid="ignore"):  # 0 x inf where nothing is developed: not projected
        ultimate = np.where(projected, redeemed * to_ultimate, 0.0)
    ultimate = np.minimum(ultimate, redeemed + tri.outstanding)  # no more than it holds
    issued = tri.issued[projected].sum()
    prior = float(ultimate[projected].sum() / issued) if issued > 0 else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        still = np.where(to_ultimate > 0, 1.0 - 1.0 / to_ultimate, 0.0)
    bf = redeemed + still * prior * tri.issued
    ultimate = np.where(projected, ultimate, bf)
    out: F64 = np.clip(ultimate - redeemed, 0.0, tri.outstanding)
    return out


def actual_vs_expected(earlier: Development, later: Development, periods: int) -> float:
    """Actual over expected redemptions in the ``periods`` since ``earlier`` (a forecast made
    ``periods`` periods before ``later``, over the same first cohorts): the redemptions the
    cohorts made in between, over what ``earlier``'s factors forecast for them. Only cohorts
    that had redeemed and whose ages ``earlier``'s factors cover are counted (the standard
    actual-versus-expected check of a reserving method; Friedland 2010, ch. 13). Above 1 the
    development has sped up and the chain ladder runs behind it; NaN when nothing was
    expected."""
    if periods < 1:
        raise ValueError(f"periods(={periods}) must be >= 1")
    k = len(earlier.issued)
    if len(later.issued) < k:
        raise ValueError("the later development must hold the earlier one's cohorts")
    factors = _known(earlier.factors)
    age = np.arange(k - 1, -1, -1)
    covered = (age + periods <= len(factors)) & (earlier.redeemed > 0)
    expected = actual = 0.0
    for c in np.flatnonzero(covered):
        a = int(age[c])
        grown = earlier.redeemed[c] * float(np.prod(factors[a : a + periods]))
        expected += grown - earlier.redeemed[c]
        actual += later.redeemed[c] - earlier.redeemed[c]
    return actual / expected if expected > 0 else float("nan")

"""Baseline purchasing (BG/NBD counts, Gamma-Gamma order values): calibration against the closed
forms, dropout only after a purchase, determinism, parameter validation, rate multipliers."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pytest
from pydantic import ValidationError
from scipy import integrate, special

from sim.behaviour import (
    Baseline,
    BaselineParams,
    daily_buy_probability,
    discretisation_bias_bound,
    draw_traits,
    expected_order_value,
    expected_purchases,
    purchases_today,
)

SEED = 20260214
CDNOW = BaselineParams()
MEMBERS = 200_000
CHECK_DAYS = (273, 546)  # 39 and 78 weeks, the CDNOW calibration and holdout horizons
Z = 4.0  # standard errors allowed

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(SEED)


@dataclass(frozen=True)
class Run:
    """Per-member results of a simulated cohort: purchases by each day in ``CHECK_DAYS``,
    total spend, alive at the end."""

    counts: dict[int, I64]
    spend: F64
    alive: npt.NDArray[np.bool_]


def simulate(params: BaselineParams, n: int, days: int, rng: np.random.Generator) -> Run:
    traits = draw_traits(params, n, rng)
    counts = np.zeros(n, np.int64)
    spend = np.zeros(n)
    snapshots: dict[int, I64] = {}
    for day in range(1, days + 1):
        buyers, amounts = purchases_today(traits, rng)
        counts[buyers] += 1  # buyers are distinct within a day
        spend[buyers] += amounts
        if day in CHECK_DAYS:
            snapshots[day] = counts.copy()
    return Run(snapshots, spend, traits.alive.copy())


@pytest.fixture(scope="module")
def cdnow_run() -> Run:
    return simulate(CDNOW, MEMBERS, max(CHECK_DAYS), np.random.default_rng(SEED))


def mean_and_se(x: npt.NDArray[np.int64] | F64) -> tuple[float, float]:
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))


# --- calibration ------------------------------------------------------------------------------


@pytest.mark.parametrize("day", CHECK_DAYS)
def test_mean_purchases_match_the_bgnbd_closed_form(cdnow_run: Run, day: int) -> None:
    mean, se = mean_and_se(cdnow_run.counts[day])
    expected = expected_purchases(CDNOW, day)
    bound = discretisation_bias_bound(CDNOW, day)
    # The daily scheme's mean is exact up to the one-a-day cap, which can only lower it.
    assert expected - bound - Z * se < mean < expected + Z * se, (mean, expected, se, bound)


@pytest.mark.parametrize(
    "wrong",
    [{"r": 2 * CDNOW.r}, {"alpha": 1.2 * CDNOW.alpha}, {"a": 2 * CDNOW.a}, {"b": 0.5 * CDNOW.b}],
)
def test_the_calibration_check_rejects_wrong_parameters(
    cdnow_run: Run, wrong: dict[str, float]
) -> None:
    params = CDNOW.model_copy(update=wrong)
    for day in CHECK_DAYS:
        mean, se = mean_and_se(cdnow_run.counts[day])
        assert abs(mean - expected_purchases(params, day)) > Z * se


def test_mean_order_value_matches_the_gamma_gamma_mean(cdnow_run: Run) -> None:
    n = cdnow_run.counts[max(CHECK_DAYS)].astype(np.float64)
    s = cdnow_run.spend
    mean = s.sum() / n.sum()
    # Orders of one member share nu: a ratio estimator with a per-member (cluster) error.
    se = math.sqrt(float(((s - mean * n) ** 2).sum())) / n.sum()
    expected = expected_order_value(CDNOW)
    assert expected == pytest.approx(6.25 * 15.44 / 2.74)
    assert abs(mean - expected) < Z * se, (mean, expected, se)


def test_traits_follow_the_population_distributions(rng: np.random.Generator) -> None:
    traits = draw_traits(CDNOW, MEMBERS, rng)
    a, b = CDNOW.a, CDNOW.b
    for values, expected in [
        (traits.lam, CDNOW.r / CDNOW.alpha / CDNOW.time_unit_days),  # Gamma(r, rate alpha) / 7
        (traits.drop, a / (a + b)),  # Beta(a, b)
        (traits.nu, CDNOW.q / CDNOW.gamma),  # Gamma(q, rate gamma)
    ]:
        mean, se = mean_and_se(values)
        assert abs(mean - expected) < Z * se, (mean, expected, se)
    assert traits.alive.all()


# --- closed forms -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        CDNOW,
        BaselineParams(r=1.5, alpha=2.0, a=2.5, b=1.2),
        BaselineParams(r=0.7, alpha=10.0, a=1.0, b=3.0),  # the removable singularity at a = 1
        BaselineParams(r=0.3, alpha=1.0, a=0.4, b=0.6, time_unit_days=1.0),
    ],
)
@pytest.mark.parametrize("t_days", [1.0, 30.0, 273.0, 5000.0])
def test_closed_form_matches_numerical_integration(params: BaselineParams, t_days: float) -> None:
    """E[X(t)] = E[(1 - exp(-lam drop t)) / drop]; the Gamma average over lam is closed, the
    Beta average over drop is done by quadrature with the Beta's endpoint weights."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    t = t_days / params.time_unit_days

    def given_drop(p: float) -> float:
        if p == 0.0:
            return r * t / alpha
        return float(-np.expm1(-r * np.log1p(p * t / alpha)) / p)

    integral, _ = integrate.quad(given_drop, 0.0, 1.0, weight="alg", wvar=(a - 1.0, b - 1.0))
    expected = integral / special.beta(a, b)
    assert expected_purchases(params, t_days) == pytest.approx(expected, rel=1e-7)


# (r, alpha, a, b, t in model units, E[X(t)]) with 40-digit mpmath, from the Pfaff-transformed
# (a+b-1)/(a-1) * [1 - 2F1(r, a-1; a+b-1; -t/alpha)] (limits at a = 1 and a + b = 1). Chosen
# where scipy's hyp2f1 fails: a = 1, a + b = 1, and a - 1 - r an integer at large t/alpha.
MPMATH = [
    (0.243, 4.414, 0.793, 2.426, 39.0, 1.196723193320817),
    (0.243, 4.414, 0.793, 2.426, 78.0, 1.8605190579427686),
    (0.243, 4.414, 0.793, 2.426, 10000.0, 15.067913315055177),
    (0.243, 4.414, 1.0, 2.426, 39.0, 1.0842790105915188),
    (0.7, 4.414, 0.7, 0.3, 78.0, 1.8908673957297513),
    (1.5, 0.5, 2.5, 1.2, 1000.0, 1.799744001004945),
    (1.5, 0.5, 2.5, 0.3, 1000.0, 1.1999533041119574),
    (2.5, 0.5, 2.5, 0.3, 1000.0, 1.1999968433008916),
    (0.3, 0.5, 0.3, 2.5, 1000.0, 121.29967353689133),
    (0.05, 4.414, 0.05, 0.05, 100000.0, 362.71351742127155),
    (30.0, 50.0, 2.5, 30.0, 100000.0, 20.999746798560942),
    (1.5, 2.0, 2.5, 1.2, 714.2857142857143, 1.797475867925642),
]


@pytest.mark.parametrize(("r", "alpha", "a", "b", "t", "expected"), MPMATH)
def test_closed_form_matches_high_precision_values(
    r: float, alpha: float, a: float, b: float, t: float, expected: float
) -> None:
    params = BaselineParams(r=r, alpha=alpha, a=a, b=b, time_unit_days=1.0)
    assert expected_purchases(params, t) == pytest.approx(expected, rel=1e-8)


def test_closed_form_refuses_the_hopeless_corner() -> None:
    params = BaselineParams(r=5e-4, a=5e-4, b=1 - 5e-4)
    with pytest.raises(ValueError, match=r"no accurate closed form at r=0.0005"):
        expected_purchases(params, 10.0)


def test_closed_form_edges_and_time_unit() -> None:
    assert expected_purchases(CDNOW, 0.0) == 0.0
    daily = CDNOW.model_copy(update={"alpha": CDNOW.alpha * 7, "time_unit_days": 1.0})
    assert expected_purchases(daily, 100.0) == pytest.approx(expected_purchases(CDNOW, 100.0))
    for bad in (-1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="t_days"):
            expected_purchases(CDNOW, bad)
    assert expected_order_value(CDNOW.model_copy(update={"currency_scale": 7.0})) == (
        pytest.approx(7 * expected_order_value(CDNOW))
    )
    with pytest.raises(ValueError, match=r"q\(=0.9\)"):
        expected_order_value(BaselineParams(q=0.9))


def test_daily_buy_probability_keeps_the_continuous_day_survival() -> None:
    lam = np.repeat(np.geomspace(1e-6, 0.9, 50), 50)
    drop = np.tile(np.linspace(0.0, 1.0, 50), 50)
    pi = daily_buy_probability(lam, drop)
    np.testing.assert_allclose(1.0 - pi * drop, np.exp(-lam * drop), rtol=1e-12, atol=1e-15)
    assert np.all(pi >= -np.expm1(-lam) * (1 - 1e-12))  # never below the naive 1 - exp(-lam)
    assert np.all(pi <= lam)
    # Above one purchase a day the member is capped at one.
    assert daily_buy_probability(np.array([5.0]), np.array([0.01]))[0] == 1.0


def test_the_one_a_day_cap_stays_within_its_bound(rng: np.random.Generator) -> None:
    # Mean rate 1 a day: the cap binds for a third of the members.
    params = BaselineParams(r=2.0, alpha=2.0, time_unit_days=1.0)
    days = 10
    traits = draw_traits(params, 50_000, rng)
    counts = np.zeros(len(traits), np.int64)
    for _ in range(days):
        counts[purchases_today(traits, rng)[0]] += 1
    mean, se = mean_and_se(counts)
    expected = expected_purchases(params, days)
    bound = discretisation_bias_bound(params, days)
    assert 0.01 < bound < expected
    assert expected - bound - Z * se < mean < expected + Z * se, (mean, expected, bound, se)
    assert mean < expected - Z * se  # and it does bind here


# --- dropout ----------------------------------------------------------------------------------


def hand_traits(lam: list[float], drop: list[float]) -> Baseline:
    n = len(lam)
    return Baseline(
        CDNOW, np.array(lam), np.array(drop), np.full(n, 0.2), np.ones(n, dtype=np.bool_)
    )


def test_a_member_who_never_buys_never_drops_out(rng: np.random.Generator) -> None:
    traits = hand_traits([0.0, 0.0, 0.3, 0.3, 0.3], [1.0, 1.0, 1.0, 1.0, 1.0])
    bought = np.zeros(len(traits), np.int64)
    for _ in range(200):
        alive_before = traits.alive.copy()
        buyers, _ = purchases_today(traits, rng)
        assert alive_before[buyers].all()  # the dead do not buy
        bought[buyers] += 1
        # drop = 1: dead exactly when bought, and the last purchase is the day they left.
        np.testing.assert_array_equal(traits.alive, bought == 0)
    assert traits.alive[:2].all()
    assert not traits.alive[2:].any()


def test_in_the_cohort_every_dropout_follows_a_purchase(cdnow_run: Run) -> None:
    counts = cdnow_run.counts[max(CHECK_DAYS)]
    assert (counts[~cdnow_run.alive] >= 1).all()
    assert 0.2 < 1 - cdnow_run.alive.mean() < 0.4  # some, not all, have left


# --- determinism ------------------------------------------------------------------------------


def run_days(seed: int, days: int = 60, n: int = 5_000) -> tuple[I64, F64, npt.NDArray[np.bool_]]:
    rng = np.random.default_rng(seed)
    traits = draw_traits(CDNOW, n, rng)
    buyers, amounts = zip(*(purchases_today(traits, rng) for _ in range(days)), strict=True)
    return np.concatenate(buyers), np.concatenate(amounts), traits.alive


def test_same_seed_same_results_other_seed_other_results() -> None:
    first, again, other = run_days(1), run_days(1), run_days(2)
    for x, y in zip(first, again, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(first[0], other[0])
    assert first[0].dtype == np.int64 and first[1].dtype == np.float64


def test_currency_scale_scales_order_values_only() -> None:
    rng1, rng2 = np.random.default_rng(3), np.random.default_rng(3)
    t1 = draw_traits(CDNOW, 2_000, rng1)
    t2 = draw_traits(CDNOW.model_copy(update={"currency_scale": 7.5}), 2_000, rng2)
    for _ in range(30):
        b1, a1 = purchases_today(t1, rng1)
        b2, a2 = purchases_today(t2, rng2)
        np.testing.assert_array_equal(b1, b2)
        np.testing.assert_allclose(a2, 7.5 * a1, rtol=1e-14)


# --- validation -------------------------------------------------------------------------------

FIELDS = list(BaselineParams.model_fields)


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("value", [0.0, -1.0, math.inf, math.nan])
def test_parameters_must_be_positive_and_finite(field: str, value: float) -> None:
    with pytest.raises(ValidationError, match=rf"(?m)^{field}\b"):
        BaselineParams(**{field: value})


def test_parameters_are_strict_and_frozen() -> None:
    assert set(FIELDS) == {"r", "alpha", "a", "b", "p", "q", "gamma"} | {
        "time_unit_days",
        "currency_scale",
    }
    with pytest.raises(ValidationError, match="beta"):
        BaselineParams(beta=1.0)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="r"):
        BaselineParams(r="0.5")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        CDNOW.r = 1.0  # type: ignore[misc]
    assert BaselineParams(r=1) == BaselineParams(r=1.0)


def test_traits_arrays_must_match() -> None:
    with pytest.raises(ValueError, match=r"Baseline\.drop"):
        Baseline(CDNOW, np.zeros(3), np.zeros(2), np.ones(3), np.ones(3, dtype=np.bool_))
    with pytest.raises(ValueError, match=r"Baseline\.alive"):
        Baseline(CDNOW, np.zeros(3), np.zeros(3), np.ones(3), np.ones(3))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"n\(=-1\)"):
        draw_traits(CDNOW, -1, np.random.default_rng(0))


# --- rate multiplier --------------------------------------------------------------------------


def short_horizon(multiplier: float, seed: int, n: int = 200_000, days: int = 14) -> I64:
    """Purchases per member over ``days`` with every rate scaled by ``multiplier``."""
    rng = np.random.default_rng(seed)
    traits = draw_traits(CDNOW, n, rng)
    m = np.full(n, multiplier)
    counts = np.zeros(n, np.int64)
    for _ in range(days):
        counts[purchases_today(traits, rng, m)[0]] += 1
    return counts


def test_doubling_the_rate_roughly_doubles_purchases_over_two_weeks() -> None:
    (base, base_se), (doubled, doubled_se) = (mean_and_se(short_horizon(m, 11)) for m in (1, 2))
    assert 1.8 < doubled / base < 2.0
    # Exactly: a constant multiplier m is the BG/NBD with alpha / m. Not quite 2: the frequent
    # buyers, who make most purchases, already drop out within two weeks.
    fast = CDNOW.model_copy(update={"alpha": CDNOW.alpha / 2})
    assert 1.85 < expected_purchases(fast, 14) / expected_purchases(CDNOW, 14) < 2.0
    assert abs(base - expected_purchases(CDNOW, 14)) < Z * base_se
    assert abs(doubled - expected_purchases(fast, 14)) < Z * doubled_se


def test_rate_multiplier_checks(rng: np.random.Generator) -> None:
    traits = draw_traits(CDNOW, 1_000, rng)
    assert purchases_today(traits, rng, np.zeros(1_000))[0].size == 0
    with pytest.raises(ValueError, match=r"shape \(1000,\)"):
        purchases_today(traits, rng, np.ones(999))
    for bad in (-0.5, math.nan, math.inf):
        m = np.ones(1_000)
        m[7] = bad
        with pytest.raises(ValueError, match="rate_multiplier must be finite"):
            purchases_today(traits, rng, m)

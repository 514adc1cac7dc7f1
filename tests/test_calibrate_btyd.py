"""BTYD maths (:mod:`sim.calibrate.btyd`): published CDNOW figures, the closed forms against
numerical integration, parameter recovery and expectations on data simulated from each model's
own generative process, and the input checks."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from scipy import integrate, special

from sim.calibrate import btyd
from sim.calibrate.btyd import RFM, Fit

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

CDNOW = Path(__file__).parent / "data" / "cdnow"
CAL_END = 272.0  # 1997-09-30, days from 1997-01-01: the end of the 39-week calibration
HOLD_END = 545.0  # 1998-06-30: the end of the 39-week holdout

# Published CDNOW optima: Fader, Hardie & Lee (2005) for BG/NBD and Pareto/NBD (LL -9582.4 and
# -9595.0); Fader & Hardie (2013, note 025) for Gamma-Gamma.
BGNBD_CDNOW = (0.243, 4.414, 0.793, 2.426)
PARETO_CDNOW = (0.55, 10.58, 0.61, 11.67)
GG_CDNOW = (6.25, 3.74, 15.44)


# ----------------------------------------------------------------------------------------------
# CDNOW
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cdnow() -> RFM:
    d = np.genfromtxt(
        CDNOW / "cdnow_customers_summary_with_transactions.csv", delimiter=",", names=True
    )
    return RFM(x=d["x"], t_x=d["t_x"], T=d["T"], unit_days=7.0, m=d["zbar"])


@pytest.fixture(scope="module")
def cdnow_transactions() -> tuple[I64, F64, F64]:
    """Customer, day (from 1997-01-01) and value, same-day purchases merged (values summed)."""
    raw = np.loadtxt(CDNOW / "CDNOW_sample.txt", dtype=str)
    cust = raw[:, 1].astype(np.int64)
    dates = np.array([f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in raw[:, 2]], dtype="datetime64[D]")
    day = (dates - np.datetime64("1997-01-01")).astype(np.int64)
    key, inv = np.unique(cust * 1000 + day, return_inverse=True)
    value = np.bincount(inv, weights=raw[:, 4].astype(np.float64))
    return key // 1000, (key % 1000).astype(np.float64), value


@pytest.fixture(scope="module")
def cdnow_bgnbd(cdnow: RFM) -> Fit:
    return btyd.fit_bgnbd(cdnow)


@pytest.fixture(scope="module")
def cdnow_pareto(cdnow: RFM) -> Fit:
    return btyd.fit_paretonbd(cdnow)


def test_cdnow_published_log_likelihoods(cdnow: RFM) -> None:
    assert cdnow.n == 2357 and cdnow.repeat_buyers == 946
    assert btyd.bgnbd_loglik(BGNBD_CDNOW, cdnow) == pytest.approx(-9582.4, abs=0.05)
    assert btyd.paretonbd_loglik(PARETO_CDNOW, cdnow) == pytest.approx(-9595.0, abs=0.05)
    each = btyd.bgnbd_loglik_each(BGNBD_CDNOW, cdnow)
    assert each.shape == (2357,) and np.sum(each) == pytest.approx(-9582.4, abs=0.05)


def test_cdnow_bgnbd_fit_recovers_published_optimum(cdnow_bgnbd: Fit) -> None:
    fit = cdnow_bgnbd
    assert fit.converged, fit.message
    assert fit.names == ("r", "alpha", "a", "b") and fit.unit_days == 7.0
    assert fit.param("alpha") == fit.params[1] and fit.std_error("b") == fit.std_errors[3]
    assert list(fit.as_dict()) == ["r", "alpha", "a", "b"]
    assert np.round(fit.params, 3).tolist() == list(BGNBD_CDNOW)
    assert fit.loglik == pytest.approx(-9582.4, abs=0.05)
    assert fit.n_obs == 2357
    assert fit.aic == pytest.approx(8 - 2 * fit.loglik)
    assert fit.bic == pytest.approx(4 * math.log(2357) - 2 * fit.loglik)
    assert all(0 < se < v for se, v in zip(fit.std_errors, fit.params, strict=True))


def test_cdnow_pareto_fit_recovers_published_optimum(cdnow_pareto: Fit) -> None:
    fit = cdnow_pareto
    assert fit.converged, fit.message
    assert np.round(fit.params, 2).tolist() == list(PARETO_CDNOW)
    assert fit.loglik == pytest.approx(-9595.0, abs=0.05)
    # CLVTools' correctness test (tests/testthat/test_correctness_pnbd.R) states these standard
    # errors for the same data: r 0.0476264, alpha 0.8427222, s 0.1872594, beta 6.2105448.
    clvtools_se = (0.0476264, 0.8427222, 0.1872594, 6.2105448)
    np.testing.assert_allclose(fit.std_errors, clvtools_se, rtol=0.01)
    cov = np.array(fit.covariance)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), fit.std_errors)
    np.testing.assert_allclose(cov, cov.T, rtol=1e-6, atol=1e-12)


def test_cdnow_gammagamma_fit(cdnow: RFM) -> None:
    fit = btyd.fit_gammagamma(cdnow)
    assert fit.converged, fit.message
    assert fit.n_obs == 946
    # The maximum of the likelihood on this (2-decimal) summary is at p=6.2488, q=3.7446,
    # gamma=15.4477: within one unit of the last published digit of (6.25, 3.74, 15.44).
    np.testing.assert_allclose(fit.params, GG_CDNOW, atol=0.01)
    # CLVTools' test (test_correctness_gg.R) states LL -4055.9177 on its own copy of the data.
    assert fit.loglik == pytest.approx(-4055.92, abs=0.01)
    assert btyd.gammagamma_loglik(GG_CDNOW, cdnow) == pytest.approx(-4055.92, abs=0.01)


def test_cdnow_expectations_match_hardie_spreadsheets(cdnow: RFM, cdnow_bgnbd: Fit) -> None:
    """Values from Bruce Hardie's Excel implementations, as quoted in lifetimes' tests."""
    one = RFM(x=[2], t_x=[30.43], T=[38.86], unit_days=7.0)
    assert btyd.bgnbd_conditional(39.0, cdnow_bgnbd.params, one)[0] == pytest.approx(
        1.226, abs=1e-3
    )
    times = np.array([0.1429, 1.0, 3.00, 31.8571, 32.00, 78.00])
    expected = [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576]
    np.testing.assert_allclose(btyd.bgnbd_expected(times, cdnow_bgnbd.params), expected, atol=1e-3)
    # BTYD walkthrough: P(alive) of (x=26, t_x=30.86, T=31) at the BTYD package's estimates.
    heavy = RFM(x=[26], t_x=[30.86], T=[31.0], unit_days=7.0)
    p_alive = btyd.paretonbd_p_alive((0.5534, 10.5802, 0.6061, 11.6562), heavy)[0]
    assert p_alive == pytest.approx(0.9979, abs=1e-3)
    # Gamma-Gamma conditional mean spend of the first ten customers (note 025's spreadsheet).
    first = RFM(x=cdnow.x[:10], t_x=cdnow.t_x[:10], T=cdnow.T[:10], unit_days=7.0, m=cdnow.m[:10])
    spend = btyd.gammagamma_conditional_mean(GG_CDNOW, first)
    hardie = [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17]
    np.testing.assert_allclose(spend, hardie, atol=0.1)
    assert btyd.gammagamma_mean(GG_CDNOW) == pytest.approx(6.25 * 15.44 / 2.74)


def test_rfm_from_cdnow_transactions_reproduces_the_summary(
    cdnow: RFM, cdnow_transactions: tuple[I64, F64, F64]
) -> None:
    cust, day, value = cdnow_transactions
    rfm = btyd.rfm_from_transactions(cust, day, value, calibration_end=CAL_END, unit_days=7.0)
    assert rfm.customer is not None
    np.testing.assert_array_equal(rfm.customer, np.arange(1, 2358))
    np.testing.assert_array_equal(rfm.x, cdnow.x)
    np.testing.assert_allclose(rfm.t_x, cdnow.t_x, atol=0.005 + 1e-9)
    np.testing.assert_allclose(rfm.T, cdnow.T, atol=0.005 + 1e-9)
    assert cdnow.m is not None and rfm.m is not None
    buyers = rfm.x > 0
    np.testing.assert_allclose(rfm.m[buyers], cdnow.m[buyers], atol=0.005 + 1e-9)
    assert np.all(np.isnan(rfm.m[~buyers]))


def test_cdnow_holdout_against_bgnbd_forecast(
    cdnow_transactions: tuple[I64, F64, F64], cdnow_bgnbd: Fit, cdnow_pareto: Fit
) -> None:
    cust, day, value = cdnow_transactions
    rfm = btyd.rfm_from_transactions(cust, day, value, calibration_end=CAL_END, unit_days=7.0)
    hold = btyd.holdout_counts(rfm, cust, day, CAL_END, HOLD_END)
    assert hold.shape == (2357,) and hold.dtype == np.int64
    # The 39-week holdout (counted from the data): 1,882 repeat customer-days; at the fitted
    # parameters BG/NBD forecasts 1,653 and Pareto/NBD 1,666, both low by about 12%, as in the
    # published tracking plots the models trail the actual cumulative sales late in the holdout.
    horizon = (HOLD_END - CAL_END) / 7.0
    bg = btyd.bgnbd_conditional(horizon, cdnow_bgnbd.params, rfm)
    pareto = btyd.paretonbd_conditional(horizon, cdnow_pareto.params, rfm)
    assert int(hold.sum()) == 1882
    assert bg.sum() == pytest.approx(1653.4, abs=0.5)
    assert pareto.sum() == pytest.approx(1665.5, abs=0.5)
    for group in (rfm.x == 0, rfm.x == 1, (rfm.x >= 2) & (rfm.x <= 4), rfm.x >= 5):
        assert bg[group].mean() == pytest.approx(hold[group].mean(), rel=0.35, abs=0.05)


# ----------------------------------------------------------------------------------------------
# Simulation from each model's own generative process
# ----------------------------------------------------------------------------------------------


def simulate_bgnbd(
    rng: np.random.Generator, params: tuple[float, ...], T: F64, horizon: float = 0.0
) -> tuple[RFM, I64, npt.NDArray[np.bool_]]:
    """BG/NBD customers observed over (0, T], with their counts in (T, T+horizon] and whether
    they are alive at T. Poisson purchases at rate Gamma(r, alpha); after each repeat purchase
    the customer drops out with probability Beta(a, b), so the purchase that ends the lifetime
    is the N-th with N ~ Geometric(p)."""
    r, alpha, a, b = params
    n = len(T)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    last = rng.geometric(p)
    k1 = rng.poisson(lam * T)
    k2 = rng.poisson(lam * horizon)
    x = np.minimum(k1, last)
    # The x-th of k1 uniform arrival times on (0, T].
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), k1 - x + 1), 0.0)
    hold = np.minimum(k1 + k2, last) - x
    return RFM(x=x, t_x=t_x, T=T, unit_days=7.0), hold.astype(np.int64), last > k1


def simulate_pareto(
    rng: np.random.Generator, params: tuple[float, ...], T: F64, horizon: float = 0.0
) -> tuple[RFM, I64, npt.NDArray[np.bool_]]:
    """Pareto/NBD customers: Poisson purchases at rate Gamma(r, alpha) during an exponential
    lifetime of rate Gamma(s, beta)."""
    r, alpha, s, beta = params
    n = len(T)
    lam = rng.gamma(r, 1.0 / alpha, n)
    mu = rng.gamma(s, 1.0 / beta, n)
    life = rng.exponential(1.0 / mu)
    active = np.minimum(life, T)
    x = rng.poisson(lam * active)
    t_x = np.where(x > 0, active * rng.beta(np.maximum(x, 1), 1.0), 0.0)  # the last of x
    hold = rng.poisson(lam * np.clip(life - T, 0.0, horizon))
    return RFM(x=x, t_x=t_x, T=T, unit_days=7.0), hold.astype(np.int64), life > T


def simulate_gammagamma(
    rng: np.random.Generator, params: tuple[float, ...], n: int
) -> tuple[RFM, F64]:
    """Repeat buyers' mean values: x values Gamma(p, nu) each, nu ~ Gamma(q, gamma), so the
    mean is Gamma(p x, nu x); also each customer's true mean value p / nu."""
    p, q, g = params
    nu = rng.gamma(q, 1.0 / g, n)
    x = 1 + rng.poisson(2.0, n)
    m = rng.gamma(p * x, 1.0 / (nu * x))
    rfm = RFM(x=x, t_x=np.ones(n), T=np.full(n, 2.0), unit_days=1.0, m=m)
    return rfm, p / nu


def assert_within_3_se(fit: Fit, truth: tuple[float, ...]) -> None:
    assert fit.converged, fit.message
    for name, est, se, true in zip(fit.names, fit.params, fit.std_errors, truth, strict=True):
        assert abs(est - true) < 3 * se, f"{fit.model} {name}: {est:.4g} +- {se:.3g} vs {true}"


def assert_unbiased(actual: F64, predicted: F64) -> None:
    """The residuals of a correct conditional mean sum to about 0 (|z| < 4)."""
    res = np.asarray(actual, dtype=np.float64) - predicted
    if not np.any(res):
        return  # exact (e.g. BG/NBD: nobody drops out before a repeat purchase, P(alive) = 1)
    z = res.sum() / math.sqrt(np.sum(res**2))
    assert abs(z) < 4, (
        f"z = {z:.2f}: actual {np.mean(actual):.4f} vs predicted {np.mean(predicted):.4f}"
    )


BGNBD_TRUE = (0.8, 5.0, 0.6, 2.5)
PARETO_TRUE = (0.7, 8.0, 0.6, 15.0)
GG_TRUE = (4.0, 3.0, 12.0)


def test_bgnbd_parameter_recovery() -> None:
    rng = np.random.default_rng(1)
    rfm, _, _ = simulate_bgnbd(rng, BGNBD_TRUE, rng.uniform(26.0, 52.0, 3000))
    assert_within_3_se(btyd.fit_bgnbd(rfm), BGNBD_TRUE)


def test_pareto_parameter_recovery() -> None:
    rng = np.random.default_rng(2)
    rfm, _, _ = simulate_pareto(rng, PARETO_TRUE, rng.uniform(26.0, 52.0, 3000))
    assert_within_3_se(btyd.fit_paretonbd(rfm), PARETO_TRUE)


def test_gammagamma_parameter_recovery_and_conditional_mean() -> None:
    rng = np.random.default_rng(3)
    rfm, true_mean = simulate_gammagamma(rng, GG_TRUE, 3000)
    fit = btyd.fit_gammagamma(rfm)
    assert_within_3_se(fit, GG_TRUE)
    assert_unbiased(true_mean, btyd.gammagamma_conditional_mean(GG_TRUE, rfm))


@pytest.mark.parametrize("model", ["bgnbd", "pareto"])
def test_unconditional_expectation_matches_simulation(model: str) -> None:
    rng = np.random.default_rng(4)
    n, t = 40_000, 40.0
    if model == "bgnbd":
        rfm, _, _ = simulate_bgnbd(rng, BGNBD_TRUE, np.full(n, t))
        expected = btyd.bgnbd_expected(t, BGNBD_TRUE)
    else:
        rfm, _, _ = simulate_pareto(rng, PARETO_TRUE, np.full(n, t))
        expected = btyd.paretonbd_expected(t, PARETO_TRUE)
    se = rfm.x.std() / math.sqrt(n)
    assert abs(rfm.x.mean() - float(expected)) < 4 * se


@pytest.mark.parametrize("model", ["bgnbd", "pareto"])
def test_conditional_expectation_and_p_alive_match_simulated_holdout(model: str) -> None:
    rng = np.random.default_rng(5)
    n, horizon = 20_000, 30.0
    T = rng.uniform(20.0, 40.0, n)
    if model == "bgnbd":
        rfm, hold, alive = simulate_bgnbd(rng, BGNBD_TRUE, T, horizon)
        predicted = btyd.bgnbd_conditional(horizon, BGNBD_TRUE, rfm)
        p_alive = btyd.bgnbd_p_alive(BGNBD_TRUE, rfm)
    else:
        rfm, hold, alive = simulate_pareto(rng, PARETO_TRUE, T, horizon)
        predicted = btyd.paretonbd_conditional(horizon, PARETO_TRUE, rfm)
        p_alive = btyd.paretonbd_p_alive(PARETO_TRUE, rfm)
    for group in (
        np.ones(n, bool),
        rfm.x == 0,
        rfm.x == 1,
        (rfm.x >= 2) & (rfm.x <= 4),
        rfm.x >= 5,
    ):
        assert_unbiased(hold[group], predicted[group])
        assert_unbiased(alive[group].astype(np.float64), p_alive[group])
    assert np.all((p_alive >= 0) & (p_alive <= 1))
    assert np.all(p_alive[rfm.x == 0] > 0)


# ----------------------------------------------------------------------------------------------
# Closed forms against numerical integration over the mixing distributions
# ----------------------------------------------------------------------------------------------


def log_gamma_density(log_rate: float, shape: float, scale_rate: float) -> float:
    """Log density of log(lambda) for lambda ~ Gamma(shape, rate=scale_rate)."""
    lam = math.exp(log_rate)
    return (
        shape * math.log(scale_rate) - special.gammaln(shape) + shape * log_rate - scale_rate * lam
    )


def log_beta_density_logit(y: float, a: float, b: float) -> float:
    """Log density of logit(p) for p ~ Beta(a, b)."""
    return -a * np.logaddexp(0.0, -y) - b * np.logaddexp(0.0, y) - special.betaln(a, b)


def bgnbd_integrated(params: tuple[float, ...], x: int, t_x: float, T: float) -> float:
    """log of the BG/NBD likelihood integrated over lambda (Gamma) and p (Beta)."""
    r, alpha, a, b = params

    def integrand(log_lam: float, y: float) -> float:
        lam, p = math.exp(log_lam), special.expit(y)
        ind = (1 - p) ** x * lam**x * math.exp(-lam * T)
        if x > 0:
            ind += p * (1 - p) ** (x - 1) * lam**x * math.exp(-lam * t_x)
        log_w = log_gamma_density(log_lam, r, alpha) + log_beta_density_logit(y, a, b)
        return ind * math.exp(log_w)

    value, _ = integrate.dblquad(integrand, -80, 40, -60, 12, epsabs=0, epsrel=1e-10)
    return math.log(value)


def pareto_integrated(params: tuple[float, ...], x: int, t_x: float, T: float) -> float:
    """log of the Pareto/NBD individual likelihood (Fader & Hardie 2005, note 009 eq. 2)
    integrated over lambda and mu (both Gamma)."""
    r, alpha, s, beta = params

    def integrand(log_lam: float, log_mu: float) -> float:
        lam, mu = math.exp(log_lam), math.exp(log_mu)
        # lam^x e^{-(lam+mu)T} + lam^x mu/(lam+mu) (e^{-(lam+mu)t_x} - e^{-(lam+mu)T})
        ind = lam**x * math.exp(-(lam + mu) * t_x)
        ind *= mu / (lam + mu) + lam / (lam + mu) * math.exp(-(lam + mu) * (T - t_x))
        log_w = log_gamma_density(log_lam, r, alpha) + log_gamma_density(log_mu, s, beta)
        return ind * math.exp(log_w)

    value, _ = integrate.dblquad(integrand, -40, 8, -60, 12, epsabs=0, epsrel=1e-10)
    return math.log(value)


def gammagamma_integrated(params: tuple[float, ...], x: int, m: float) -> float:
    """log of the density of the mean m of x Gamma(p, nu) values, integrated over nu."""
    p, q, g = params

    def integrand(log_nu: float) -> float:
        nu = math.exp(log_nu)
        log_f = (
            p * x * math.log(nu * x)
            + (p * x - 1) * math.log(m)
            - nu * x * m
            - special.gammaln(p * x)
        )
        return math.exp(log_f + log_gamma_density(log_nu, q, g))

    value, _ = integrate.quad(integrand, -40, 10, epsabs=0, epsrel=1e-11, limit=500)
    return math.log(value)


def small_sample(model: str) -> RFM:
    rng = np.random.default_rng(6)
    T = rng.uniform(10.0, 40.0, 40)
    if model == "bgnbd":
        rfm, _, _ = simulate_bgnbd(rng, BGNBD_TRUE, T)
    else:
        rfm, _, _ = simulate_pareto(rng, PARETO_TRUE, T)
    # A few customers with x = 0, one with x = 1, one with several, and one bought at T.
    idx = [*np.flatnonzero(rfm.x == 0)[:1], *np.flatnonzero(rfm.x == 1)[:1]]
    idx += [*np.flatnonzero(rfm.x >= 3)[:1]]
    x = np.r_[rfm.x[idx], 2]
    t_x = np.r_[rfm.t_x[idx], 20.0]
    return RFM(x=x, t_x=t_x, T=np.r_[rfm.T[idx], 20.0], unit_days=7.0)


def test_bgnbd_loglik_equals_numerical_integration() -> None:
    rfm = small_sample("bgnbd")
    closed = btyd.bgnbd_loglik_each(BGNBD_TRUE, rfm)
    for i in range(rfm.n):
        direct = bgnbd_integrated(BGNBD_TRUE, int(rfm.x[i]), float(rfm.t_x[i]), float(rfm.T[i]))
        assert closed[i] == pytest.approx(direct, abs=1e-7)


@pytest.mark.parametrize(
    "params", [PARETO_TRUE, (0.7, 20.0, 1.3, 3.0)], ids=["alpha<beta", "alpha>beta"]
)
def test_pareto_loglik_equals_numerical_integration(params: tuple[float, ...]) -> None:
    rfm = small_sample("pareto")
    closed = btyd.paretonbd_loglik_each(params, rfm)
    for i in range(rfm.n):
        direct = pareto_integrated(params, int(rfm.x[i]), float(rfm.t_x[i]), float(rfm.T[i]))
        assert closed[i] == pytest.approx(direct, abs=1e-7)


def test_gammagamma_loglik_equals_numerical_integration() -> None:
    rng = np.random.default_rng(7)
    rfm, _ = simulate_gammagamma(rng, GG_TRUE, 5)
    assert rfm.m is not None
    closed = btyd.gammagamma_loglik_each(GG_TRUE, rfm)
    for i in range(rfm.n):
        direct = gammagamma_integrated(GG_TRUE, int(rfm.x[i]), float(rfm.m[i]))
        assert closed[i] == pytest.approx(direct, abs=1e-8)


def pareto_lifetime_integral(params: tuple[float, ...], x: int, t_x: float, T: float) -> float:
    """The Pareto/NBD log-likelihood with lambda and mu integrated in closed form and the
    death time left as an integral: note 009 eq. 18's ``s/(r+s+x) A_0`` as
    ``s int_{t_x}^T (alpha+u)^-(r+x) (beta+u)^-(s+1) du``, by quadrature (scaled by the
    integrand's value at t_x)."""
    r, alpha, s, beta = params
    k = r + x

    def log_f(u: float) -> float:
        return -k * math.log(alpha + u) - (s + 1) * math.log(beta + u)

    top = log_f(t_x)
    part, _ = integrate.quad(
        lambda u: math.exp(log_f(u) - top), t_x, T, epsabs=0, epsrel=1e-12, limit=500
    )
    survived = -k * math.log(alpha + T) - s * math.log(beta + T)
    common = special.gammaln(k) - special.gammaln(r) + r * math.log(alpha) + s * math.log(beta)
    dropped = math.log(s * part) + top if part > 0 else -math.inf
    return common + float(np.logaddexp(survived, dropped))


@pytest.mark.parametrize(
    ("params", "x", "t_x", "T"),
    [
        ((0.5, 400.0, 0.7, 0.05), 60, 1.0, 30.0),  # alpha >> beta, z near 1, large x: quadrature
        ((0.5, 400.0, 0.7, 0.05), 600, 25.0, 30.0),
        ((2.0, 0.01, 0.3, 900.0), 300, 0.5, 52.0),  # alpha << beta
        ((0.5, 10.0, 0.7, 10.0), 4, 10.0, 30.0),  # alpha == beta
        ((0.5, 10.0, 0.7, 12.0), 4, 30.0, 30.0),  # bought at T: A_0 == 0
    ],
)
def test_pareto_loglik_stable_in_extreme_regimes(
    params: tuple[float, ...], x: int, t_x: float, T: float
) -> None:
    rfm = RFM(x=[x], t_x=[t_x], T=[T], unit_days=1.0)
    ll = btyd.paretonbd_loglik_each(params, rfm)[0]
    assert math.isfinite(ll)
    assert ll == pytest.approx(pareto_lifetime_integral(params, x, t_x, T), abs=1e-8)
    p_alive = btyd.paretonbd_p_alive(params, rfm)[0]
    assert 0.0 <= p_alive <= 1.0
    assert math.isfinite(btyd.paretonbd_conditional(52.0, params, rfm)[0])


def test_pareto_quadrature_fallback_is_used_where_hyp2f1_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Near z = 1 with large r + x scipy's hyp2f1 is infinite or inaccurate; H is integrated
    there instead, and the result agrees with the lifetime integral."""
    calls: list[float] = []
    quad = btyd._paretonbd_h_quad

    def spy(k: float, s: float, ratio: float) -> float:
        calls.append(k)
        return quad(k, s, ratio)

    monkeypatch.setattr(btyd, "_paretonbd_h_quad", spy)
    params = (0.5, 400.0, 0.7, 0.05)
    rfm = RFM(x=[60, 2], t_x=[1.0, 1.0], T=[30.0, 30.0], unit_days=1.0)
    ll = btyd.paretonbd_loglik_each(params, rfm)
    assert calls == [60.5]  # only the heavy buyer's t_x term; z = 0.997 at both
    for i in range(2):
        direct = pareto_lifetime_integral(params, int(rfm.x[i]), 1.0, 30.0)
        assert ll[i] == pytest.approx(direct, abs=1e-8)


def test_bgnbd_expectations_stable_where_closed_form_breaks_down() -> None:
    rfm = RFM(x=[0, 3, 2000], t_x=[0.0, 20.0, 29.9], T=[30.0, 30.0, 30.0], unit_days=1.0)
    # a == 1: eq. (10) is 0/0; the value is continuous in a.
    near = btyd.bgnbd_conditional(40.0, (0.8, 5.0, 1.0 + 5e-5, 2.5), rfm)
    exact = btyd.bgnbd_conditional(40.0, (0.8, 5.0, 1.0, 2.5), rfm)
    away = btyd.bgnbd_conditional(40.0, (0.8, 5.0, 1.0 + 3e-4, 2.5), rfm)
    assert np.all(np.isfinite(exact))
    np.testing.assert_allclose(exact, near, rtol=1e-4)
    np.testing.assert_allclose(exact, away, rtol=1e-3)
    # a + b - 1 <= 0: the hypergeometric form of eq. (9) is unusable; check against simulation.
    params = (1.0, 2.0, 0.3, 0.5)
    rng = np.random.default_rng(8)
    sim, _, _ = simulate_bgnbd(rng, params, np.full(40_000, 10.0))
    expected = float(btyd.bgnbd_expected(10.0, params))
    assert abs(sim.x.mean() - expected) < 4 * sim.x.std() / math.sqrt(sim.n)
    assert btyd.bgnbd_expected(0.0, params) == 0.0
    np.testing.assert_array_equal(btyd.bgnbd_expected([0.0, 1.0], BGNBD_TRUE) > 0, [False, True])


def test_pareto_expectations_continuous_at_s_equal_one() -> None:
    rfm = RFM(x=[0, 5], t_x=[0.0, 12.0], T=[20.0, 20.0], unit_days=7.0)
    at_one = btyd.paretonbd_conditional(30.0, (0.7, 8.0, 1.0, 15.0), rfm)
    close = btyd.paretonbd_conditional(30.0, (0.7, 8.0, 1.0 + 1e-7, 15.0), rfm)
    np.testing.assert_allclose(at_one, close, rtol=1e-6)
    e1 = float(btyd.paretonbd_expected(30.0, (0.7, 8.0, 1.0, 15.0)))
    assert e1 == pytest.approx(0.7 / 8.0 * 15.0 * math.log1p(30.0 / 15.0))


# ----------------------------------------------------------------------------------------------
# Transactions helpers
# ----------------------------------------------------------------------------------------------


def test_rfm_from_transactions_and_holdout_counts() -> None:
    customer = np.array(["b", "a", "a", "b", "a", "c", "a", "d", "b"])
    day = np.array([10, 0, 7, 30, 21, 40, 50, 65, 61], dtype=float)
    value = np.array([5.0, 1.0, 2.0, 8.0, 4.0, 9.0, 100.0, 7.0, 3.0])
    rfm = btyd.rfm_from_transactions(customer, day, value, calibration_end=42.0, unit_days=7.0)
    assert rfm.customer is not None and rfm.m is not None
    assert rfm.customer.tolist() == ["a", "b", "c"]  # d first bought after calibration
    assert rfm.x.tolist() == [2, 1, 0]
    np.testing.assert_allclose(rfm.t_x, [3.0, 20 / 7, 0.0])
    np.testing.assert_allclose(rfm.T, [6.0, 32 / 7, 2 / 7])
    np.testing.assert_allclose(rfm.m[:2], [3.0, 8.0])
    assert math.isnan(rfm.m[2])
    hold = btyd.holdout_counts(rfm, customer, day, calibration_end=42.0, holdout_end=61.0)
    assert hold.tolist() == [1, 1, 0]
    no_value = btyd.rfm_from_transactions(customer, day, None, calibration_end=42.0, unit_days=1.0)
    assert no_value.m is None
    np.testing.assert_allclose(no_value.T, [42.0, 32.0, 2.0])


def test_transaction_helpers_reject_bad_input() -> None:
    customer = np.array([1, 1, 2])
    day = np.array([0.0, 5.0, 3.0])
    with pytest.raises(ValueError, match=r"more than one transaction at time 5\.0"):
        btyd.rfm_from_transactions([1, 1, 1], [0.0, 5.0, 5.0], None, 10.0, 1.0)
    with pytest.raises(ValueError, match="equal length"):
        btyd.rfm_from_transactions(customer, day[:2], None, 10.0, 1.0)
    with pytest.raises(ValueError, match="value has shape"):
        btyd.rfm_from_transactions(customer, day, [1.0], 10.0, 1.0)
    with pytest.raises(ValueError, match="no transaction on or before"):
        btyd.rfm_from_transactions(customer, day, None, -1.0, 1.0)
    with pytest.raises(ValueError, match="unit_days"):
        btyd.rfm_from_transactions(customer, day, None, 10.0, 0.0)
    with pytest.raises(ValueError, match="non-finite"):
        btyd.rfm_from_transactions(customer, [0.0, np.nan, 1.0], None, 10.0, 1.0)
    rfm = btyd.rfm_from_transactions(customer, day, None, 10.0, 1.0)
    with pytest.raises(ValueError, match="must be after calibration_end"):
        btyd.holdout_counts(rfm, customer, day, 10.0, 10.0)
    bare = RFM(x=rfm.x, t_x=rfm.t_x, T=rfm.T, unit_days=1.0)
    with pytest.raises(ValueError, match="no customer identifiers"):
        btyd.holdout_counts(bare, customer, day, 10.0, 20.0)


# ----------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x": [1, 2], "t_x": [1.0], "T": [2.0]}, "t_x has 1 values but x has 2"),
        ({"x": [[1]], "t_x": [[1.0]], "T": [[2.0]]}, "one-dimensional"),
        ({"x": [1], "t_x": [3.0], "T": [2.0]}, "t_x must be <= T"),
        ({"x": [-1], "t_x": [0.0], "T": [2.0]}, "x must be >= 0"),
        ({"x": [1.5], "t_x": [1.0], "T": [2.0]}, "whole numbers"),
        ({"x": [0], "t_x": [1.0], "T": [2.0]}, "t_x must be 0 where x == 0"),
        ({"x": [1], "t_x": [-1.0], "T": [2.0]}, "t_x must be >= 0"),
        ({"x": [1], "t_x": [1.0], "T": [np.inf]}, "T has 1 non-finite"),
        ({"x": [1], "t_x": [1.0], "T": [2.0], "unit_days": 0.0}, "unit_days"),
        ({"x": [1], "t_x": [1.0], "T": [2.0], "m": [np.nan]}, "m must be finite"),
        ({"x": [1], "t_x": [1.0], "T": [2.0], "m": [1.0, 2.0]}, "m has shape"),
        ({"x": [1, 1], "t_x": [1.0, 1.0], "T": [2.0, 2.0], "customer": [7, 7]}, "unique"),
    ],
)
def test_rfm_validation(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"unit_days": 7.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        RFM(**args)  # type: ignore[arg-type]


def test_rfm_is_read_only_and_normalises_m() -> None:
    rfm = RFM(x=[0, 2], t_x=[0.0, 1.0], T=[2.0, 2.0], unit_days=7.0, m=[0.0, 5.0])
    assert rfm.m is not None and math.isnan(rfm.m[0]) and rfm.m[1] == 5.0
    with pytest.raises(ValueError, match="read-only"):
        rfm.x[0] = 3


def test_fits_refuse_unidentifiable_data() -> None:
    none = RFM(x=[0, 0, 0], t_x=[0.0, 0.0, 0.0], T=[5.0, 5.0, 5.0], unit_days=7.0)
    with pytest.raises(ValueError, match=r"at least 2 customers with a repeat transaction.*got 0"):
        btyd.fit_bgnbd(none)
    one = RFM(x=[0, 3, 0], t_x=[0.0, 2.0, 0.0], T=[5.0, 5.0, 5.0], unit_days=7.0, m=[0, 2.0, 0])
    with pytest.raises(ValueError, match="got 1 of 3 customers"):
        btyd.fit_paretonbd(one)
    with pytest.raises(ValueError, match="got 1"):
        btyd.fit_gammagamma(one)
    empty = RFM(x=np.zeros(0), t_x=np.zeros(0), T=np.zeros(0), unit_days=1.0)
    with pytest.raises(ValueError, match="no customers"):
        btyd.fit_bgnbd(empty)
    no_m = RFM(x=[1, 2], t_x=[1.0, 2.0], T=[3.0, 3.0], unit_days=1.0)
    with pytest.raises(ValueError, match="no monetary values"):
        btyd.fit_gammagamma(no_m)
    zero = RFM(x=[1, 2], t_x=[1.0, 2.0], T=[3.0, 3.0], unit_days=1.0, m=[0.0, 4.0])
    with pytest.raises(ValueError, match="m must be > 0"):
        btyd.fit_gammagamma(zero)
    same = RFM(
        x=[1, 2, 1], t_x=[1.0, 2.0, 1.0], T=[3.0, 3.0, 3.0], unit_days=1.0, m=[4.0, 4.0, 4.0]
    )
    with pytest.raises(ValueError, match="same mean value"):
        btyd.fit_gammagamma(same)


def test_model_functions_reject_bad_parameters(cdnow: RFM) -> None:
    with pytest.raises(ValueError, match="expected 4 parameters"):
        btyd.bgnbd_loglik((1.0, 2.0, 3.0), cdnow)
    with pytest.raises(ValueError, match="parameter s must be positive"):
        btyd.paretonbd_loglik((1.0, 2.0, 0.0, 3.0), cdnow)
    with pytest.raises(ValueError, match="parameter gamma must be positive"):
        btyd.gammagamma_loglik((1.0, 2.0, np.nan), cdnow)
    with pytest.raises(ValueError, match="q <= 1"):
        btyd.gammagamma_conditional_mean((1.0, 0.9, 3.0), cdnow)
    with pytest.raises(ValueError, match="horizon"):
        btyd.bgnbd_expected(-1.0, BGNBD_CDNOW)


def test_fit_reports_unidentified_parameters_as_not_converged() -> None:
    """Nobody ever drops out (every customer buys right up to T, steadily): the drop-out
    process is not identified and its parameters run off; the fit says so."""
    rng = np.random.default_rng(9)
    n = 400
    T = rng.uniform(20.0, 40.0, n)
    x = rng.poisson(0.5 * T) + 1
    rfm = RFM(x=x, t_x=T, T=T, unit_days=7.0)
    fit = btyd.fit_paretonbd(rfm)
    assert not fit.converged
    assert "not identified" in fit.message or "not positive definite" in fit.message

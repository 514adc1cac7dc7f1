"""Buy-till-you-die (BTYD) models fitted by maximum likelihood: BG/NBD, Pareto/NBD, Gamma-Gamma.

Every customer is summarised by an :class:`RFM` row: ``x`` repeat transactions (the first
purchase is not counted), ``t_x`` the time of the last repeat transaction measured from the first
purchase (0 when ``x == 0``), ``T`` the time from the first purchase to the end of calibration,
and optionally ``m`` the mean value of the repeat transactions. Times are in units of
``unit_days`` days (weeks for the published CDNOW figures).

Models and the expressions used (equation numbers as cited by the reference implementations
lifetimes and CLVTools, against which the formulas were checked):

* BG/NBD -- Fader, Hardie & Lee (2005), "'Counting your customers' the easy way: an alternative
  to the Pareto/NBD model", Marketing Science 24(2), 275-284. Purchases are Poisson with rate
  ``lambda ~ Gamma(r, alpha)`` (shape, rate); after each repeat purchase the customer drops out
  with probability ``p ~ Beta(a, b)``. The likelihood ``L(r, alpha, a, b | x, t_x, T)``,
  unconditional expectation E[X(t)] eq. (9), conditional expectation eq. (10), and
  P(alive) from Fader, Hardie & Lee (2008), "Computing P(alive) using the BG/NBD model"
  (brucehardie.com note 021).
* Pareto/NBD -- Schmittlein, Morrison & Colombo (1987), "Counting your customers: who are they
  and what will they do next?", Management Science 33(1), 1-24; in the notation and with the
  expressions of Fader & Hardie (2005), "A note on deriving the Pareto/NBD model and related
  expressions" (brucehardie.com note 009): likelihood eq. (18)-(20), P(alive) sec. 5.1,
  unconditional expectation eq. (27), conditional expectation eq. (41). Lifetimes are
  exponential with rate ``mu ~ Gamma(s, beta)``.
* Gamma-Gamma -- Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer
  base analysis", Journal of Marketing Research 42(4), 415-430; Fader & Hardie (2013), "The
  Gamma-Gamma model of monetary value" (brucehardie.com note 025): the value of a transaction is
  ``Gamma(p, nu)``, ``nu ~ Gamma(q, gamma)``; the density of the mean ``m`` of ``x`` values is
  eq. (1a) of the note and the conditional expected mean spend eq. (5).

Numerics. Everything is computed in log space (``gammaln``, ``betaln``, ``logaddexp``). The
Pareto/NBD term ``A_0`` is the difference ``F(t_x) - F(T)`` of an antiderivative

    F(tau) = (r+s+x) * integral_tau^inf (alpha+u)^-(r+x) (beta+u)^-(s+1) du
           = (alpha+tau)^-(r+x) (beta+tau)^-s * H(tau),

where Euler's transformation turns the note's ``2F1(r+s+x, s+1; r+s+x+1; z)`` (alpha >= beta)
and ``2F1(r+s+x, r+x; r+s+x+1; z)`` (alpha < beta) into ``H = 2F1(1, r+x; r+s+x+1; z)`` and
``H = (alpha+tau)/(beta+tau) 2F1(1, s+1; r+s+x+1; z)``: series of positive terms, bounded, with
no overflowing powers. :func:`scipy.special.hyp2f1` evaluates them except very near ``z = 1``
with large ``r + x``, where it is inaccurate or infinite; there ``H`` is integrated numerically
from its integral representation instead. The BG/NBD conditional expectation likewise falls back
to integrating over the posterior of ``p`` where the closed form is not usable (``a`` close to
1, where eq. (10) is 0/0, ``a + b + x - 1 <= 0``, or overflow).

Fitting maximises the log-likelihood over the logs of the (positive) parameters with
:func:`scipy.optimize.minimize` from several starting points; standard errors come from the
inverse of the Hessian of the negative log-likelihood in the natural parameters at the optimum
(numdifftools).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numdifftools as nd
import numpy as np
import numpy.typing as npt
from scipy import integrate, optimize, special

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Params = Sequence[float] | F64
TimeLike = float | Sequence[float] | F64

BGNBD_PARAMS: Final = ("r", "alpha", "a", "b")
PARETONBD_PARAMS: Final = ("r", "alpha", "s", "beta")
GAMMAGAMMA_PARAMS: Final = ("p", "q", "gamma")

LOG_PARAM_LIMIT: Final = 18.0
"""Bound on the log of every parameter while fitting (about 1.5e-8 to 6.6e7); a fit that ends on
it is reported as not converged: the data do not identify that parameter."""

_HYP2F1_SAFE_Z: Final = 0.99
_HYP2F1_SAFE_B: Final = 25.0
_HYP2F1_SAFE_C_MINUS_B: Final = 50.0
_A_NEAR_ONE: Final = 1e-4
_INVALID: Final = 1e100  # objective where the log-likelihood is not finite
_GRADIENT_TOL: Final = 1e-6  # per observation, on the log scale


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RFM:
    """Per-customer recency-frequency(-monetary) summary of a calibration period.

    ``x`` repeat transactions (int, >= 0); ``t_x`` time of the last repeat transaction from the
    first purchase (0 where ``x == 0``); ``T`` time from the first purchase to the end of
    calibration; ``m`` mean value of the repeat transactions (stored as NaN where ``x == 0``,
    whatever was passed there); ``customer`` optional identifiers (unique). Times are in units of
    ``unit_days`` days. Arrays are copied and made read-only; array-likes are accepted and
    converted. Compared by identity (``eq=False``: arrays have no single truth value).
    """

    x: I64
    t_x: F64
    T: F64
    unit_days: float
    m: F64 | None = None
    customer: npt.NDArray[Any] | None = None

    def __post_init__(self) -> None:
        x = _int_counts(self.x)
        t_x = _float_1d(self.t_x, "t_x")
        big_t = _float_1d(self.T, "T")
        n = len(x)
        _check_same_length(n, {"t_x": t_x, "T": big_t})
        _check_times(x, t_x, big_t)
        if not (math.isfinite(self.unit_days) and self.unit_days > 0):
            raise ValueError(f"RFM: unit_days must be a positive number, got {self.unit_days!r}")
        m = None if self.m is None else _check_m(self.m, x)
        customer = None if self.customer is None else _check_customer(self.customer, n)
        for name, value in (("x", x), ("t_x", t_x), ("T", big_t), ("m", m), ("customer", customer)):
            if value is not None:
                value.setflags(write=False)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "unit_days", float(self.unit_days))

    @property
    def n(self) -> int:
        """Number of customers."""
        return len(self.x)

    @property
    def repeat_buyers(self) -> int:
        """Number of customers with at least one repeat transaction."""
        return int(np.count_nonzero(self.x))


def _float_1d(values: Any, name: str) -> F64:
    arr = np.array(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"RFM: {name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"RFM: {name} has {int(np.sum(~np.isfinite(arr)))} non-finite values")
    return arr


def _int_counts(values: Any) -> I64:
    raw = _float_1d(values, "x")
    if np.any(raw < 0):
        raise ValueError(f"RFM: x must be >= 0, found {int(np.sum(raw < 0))} negative counts")
    if np.any(raw != np.round(raw)):
        raise ValueError("RFM: x must hold whole numbers of repeat transactions")
    return raw.astype(np.int64)


def _check_same_length(n: int, arrays: dict[str, Any]) -> None:
    for name, arr in arrays.items():
        if len(arr) != n:
            raise ValueError(f"RFM: {name} has {len(arr)} values but x has {n}")


def _check_times(x: I64, t_x: F64, big_t: F64) -> None:
    if np.any(t_x < 0):
        raise ValueError(f"RFM: t_x must be >= 0, found {int(np.sum(t_x < 0))} negative values")
    late = t_x > big_t
    if np.any(late):
        i = int(np.flatnonzero(late)[0])
        raise ValueError(
            f"RFM: t_x must be <= T; {int(late.sum())} customers break it "
            f"(first at index {i}: t_x={t_x[i]}, T={big_t[i]})"
        )
    stray = (x == 0) & (t_x != 0)
    if np.any(stray):
        raise ValueError(f"RFM: t_x must be 0 where x == 0; {int(stray.sum())} customers are not")


def _check_m(values: Any, x: I64) -> F64:
    m = np.array(values, dtype=np.float64)
    if m.shape != x.shape:
        raise ValueError(f"RFM: m has shape {m.shape} but x has shape {x.shape}")
    buyers = x > 0
    bad = buyers & ~(np.isfinite(m) & (m >= 0))
    if np.any(bad):
        raise ValueError(
            f"RFM: m must be finite and >= 0 where x >= 1; {int(bad.sum())} customers are not"
        )
    return np.where(buyers, m, np.nan)


def _check_customer(values: Any, n: int) -> npt.NDArray[Any]:
    ids = np.array(values)
    if ids.ndim != 1 or len(ids) != n:
        raise ValueError(
            f"RFM: customer must have one identifier per customer ({n}), got {ids.shape}"
        )
    if len(np.unique(ids)) != n:
        raise ValueError("RFM: customer identifiers must be unique")
    return ids


def _params(params: Params, names: tuple[str, ...], model: str) -> tuple[float, ...]:
    values = tuple(float(v) for v in np.asarray(params, dtype=np.float64).ravel())
    if len(values) != len(names):
        raise ValueError(f"{model}: expected {len(names)} parameters {names}, got {len(values)}")
    for name, value in zip(names, values, strict=True):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{model}: parameter {name} must be positive and finite, got {value}")
    return values


def _horizon(t: TimeLike) -> F64:
    arr = np.asarray(t, dtype=np.float64)
    if not np.all(np.isfinite(arr) & (arr >= 0)):
        raise ValueError("the horizon t must be finite and >= 0")
    return arr


def _log1mexp(d: F64) -> F64:
    """``log(1 - exp(d))`` for ``d <= 0`` (Maechler 2012); ``-inf`` at ``d >= 0``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.minimum(d, 0.0)
        out = np.where(d > -math.log(2.0), np.log(-np.expm1(d)), np.log1p(-np.exp(d)))
    return np.asarray(out, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# BG/NBD
# --------------------------------------------------------------------------------------------


def _bgnbd_terms(params: Params, rfm: RFM) -> tuple[F64, F64, F64]:
    """Log of the likelihood's common factor and of its two bracketed terms (-inf if x == 0)."""
    r, alpha, a, b = _params(params, BGNBD_PARAMS, "BG/NBD")
    x = rfm.x.astype(np.float64)
    common = (
        special.gammaln(r + x)
        - special.gammaln(r)
        + r * math.log(alpha)
        + special.betaln(a, b + x)
        - special.betaln(a, b)
    )
    survived = -(r + x) * np.log(alpha + rfm.T)
    dropped = np.where(
        x > 0,
        math.log(a) - np.log(b + np.maximum(x, 1.0) - 1.0) - (r + x) * np.log(alpha + rfm.t_x),
        -np.inf,
    )
    return common, survived, dropped


def bgnbd_loglik_each(params: Params, rfm: RFM) -> F64:
    """Per-customer BG/NBD log-likelihood, Fader, Hardie & Lee (2005).

    ``B(a, b+x)/B(a, b) Gamma(r+x) alpha^r / Gamma(r) * [(alpha+T)^-(r+x)
    + [x > 0] a/(b+x-1) (alpha+t_x)^-(r+x)]``; ``params`` are ``(r, alpha, a, b)``.
    """
    common, survived, dropped = _bgnbd_terms(params, rfm)
    return np.asarray(common + np.logaddexp(survived, dropped), dtype=np.float64)


def bgnbd_loglik(params: Params, rfm: RFM) -> float:
    """BG/NBD log-likelihood of all customers (sum of :func:`bgnbd_loglik_each`)."""
    return float(np.sum(bgnbd_loglik_each(params, rfm)))


def bgnbd_p_alive(params: Params, rfm: RFM) -> F64:
    """P(alive at T | x, t_x, T) under BG/NBD (Fader, Hardie & Lee 2008, note 021): 1 if x == 0."""
    _, survived, dropped = _bgnbd_terms(params, rfm)
    with np.errstate(invalid="ignore"):
        return np.asarray(special.expit(survived - dropped), dtype=np.float64)


def _bgnbd_alive_mean_quad(t: float, k: float, scale: float, a: float, b: float) -> float:
    """``E[(1 - (1 + p t / scale)^-k) / p]`` for ``p ~ Beta(a, b)``, by quadrature.

    The expected number of transactions in (T, T + t] of a customer alive at T whose rate is
    Gamma(k, scale) and whose drop-out probability is Beta(a, b): the expectation of eq. (10)
    integrated over ``p`` only (the rate integrated in closed form), valid for every a, b > 0.
    Integrated over the log-odds ``y`` of ``p``, where the Beta density is smooth and unimodal
    (mode at ``log(a/b)``) whatever a and b.
    """
    w = t / scale
    log_beta = float(special.betaln(a, b))

    def f(y: float) -> float:
        log_p = -float(np.logaddexp(0.0, -y))
        log_q = -float(np.logaddexp(0.0, y))
        p = math.exp(log_p)
        h = k * w if p * w < 1e-300 else -math.expm1(-k * math.log1p(p * w)) / p
        return math.exp(a * log_p + b * log_q - log_beta) * h

    mode = math.log(a / b)
    left, _ = integrate.quad(f, -np.inf, mode, epsabs=0.0, epsrel=1e-11, limit=200)
    right, _ = integrate.quad(f, mode, np.inf, epsabs=0.0, epsrel=1e-11, limit=200)
    return float(left + right)


def _bgnbd_alive_mean(
    t: F64, r: float, alpha: float, a: float, b: float, x: F64, big_t: F64
) -> F64:
    """Expected repeat transactions in (T, T+t] given alive at T with history (x, T).

    ``(a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)]`` with
    ``z = t/(alpha+T+t)``: the numerator of Fader, Hardie & Lee (2005) eq. (10); with x = T = 0
    it is the unconditional E[X(t)] of eq. (9).
    """
    shape = np.broadcast_shapes(t.shape, x.shape, big_t.shape)
    t, x, big_t = (np.broadcast_to(v, shape).ravel() for v in (t, x, big_t))
    k = r + x
    c = a + b + x - 1.0
    z = t / (alpha + big_t + t)
    with np.errstate(all="ignore"):
        log_tail = np.log(special.hyp2f1(k, b + x, c, z)) + k * np.log1p(-z)
        out = np.asarray(c / (a - 1.0) * -np.expm1(log_tail), dtype=np.float64)
    redo = ~np.isfinite(out) | (c <= 0) | (abs(a - 1.0) < _A_NEAR_ONE)
    redo &= t > 0
    for i in np.flatnonzero(redo):
        out[i] = _bgnbd_alive_mean_quad(
            float(t[i]), float(k[i]), alpha + float(big_t[i]), a, b + float(x[i])
        )
    return np.where(t > 0, out, 0.0).reshape(shape)


def bgnbd_expected(t: TimeLike, params: Params) -> F64:
    """Unconditional E[X(t)] of a new customer under BG/NBD, Fader, Hardie & Lee (2005) eq. (9).

    ``(a+b-1)/(a-1) * [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]``; ``t`` in the
    model's time unit, scalar or array.
    """
    r, alpha, a, b = _params(params, BGNBD_PARAMS, "BG/NBD")
    horizon = _horizon(t)
    zero = np.zeros_like(horizon)
    return _bgnbd_alive_mean(horizon, r, alpha, a, b, zero, zero)


def bgnbd_conditional(t: TimeLike, params: Params, rfm: RFM) -> F64:
    """E[Y(t) | x, t_x, T] under BG/NBD, Fader, Hardie & Lee (2005) eq. (10).

    The expected number of repeat transactions in (T, T + t] of each customer; ``t`` a scalar
    or an array broadcast against the customers.
    """
    r, alpha, a, b = _params(params, BGNBD_PARAMS, "BG/NBD")
    horizon = _horizon(t)
    alive_mean = _bgnbd_alive_mean(horizon, r, alpha, a, b, rfm.x.astype(np.float64), rfm.T)
    return np.asarray(alive_mean * bgnbd_p_alive(params, rfm), dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Pareto/NBD
# --------------------------------------------------------------------------------------------


def _paretonbd_h_quad(k: float, s: float, ratio: float) -> float:
    """``H`` by quadrature, for both alpha >= beta and alpha < beta.

    With ``ratio = (beta+tau)/(alpha+tau)`` and ``k = r + x``, substituting
    ``v = log((beta+u)/(beta+tau))`` in ``F(tau)`` gives
    ``H = (k+s) int_0^inf exp(-s v) (1 + ratio (e^v - 1))^-k dv``; it is integrated over
    ``y = log(ratio (e^v - 1))``, where the integrand is smooth, with exponential tails, and
    computed in log space:
    ``(1 + e^y/ratio)^-s (1 + e^y)^-k e^y / (ratio + e^y)``.
    """
    log_ratio = math.log(ratio)

    def f(y: float) -> float:
        log_g = (
            -s * np.logaddexp(0.0, y - log_ratio)
            - k * np.logaddexp(0.0, y)
            + y
            - np.logaddexp(log_ratio, y)
        )
        return math.exp(float(log_g))

    cuts = sorted({log_ratio, -math.log(max(k, 1.0))})
    edges = [-np.inf, *cuts, np.inf]
    total = 0.0
    for lo, hi in itertools.pairwise(edges):
        if hi > lo:
            part, _ = integrate.quad(f, lo, hi, epsabs=0.0, epsrel=1e-11, limit=200)
            total += part
    return float((k + s) * total)


def _paretonbd_log_h(r: float, alpha: float, s: float, beta: float, x: F64, tau: F64) -> F64:
    """``log H(tau)`` with ``F(tau) = (alpha+tau)^-(r+x) (beta+tau)^-s H(tau)`` (module notes).

    ``H`` is note 009's 2F1 of eq. (19) (alpha >= beta) or (20) (alpha < beta) after Euler's
    transformation, so that ``A_0 = F(t_x) - F(T)``. Uses :func:`scipy.special.hyp2f1` where it
    is reliable and :func:`_paretonbd_h_quad` elsewhere.
    """
    k = r + x
    c = r + s + x + 1.0
    if alpha >= beta:
        z = (alpha - beta) / (alpha + tau)
        hb = k
        log_pre = np.zeros_like(z)
    else:
        z = (beta - alpha) / (beta + tau)
        hb = np.full_like(z, s + 1.0)
        log_pre = np.log((alpha + tau) / (beta + tau))
    with np.errstate(all="ignore"):
        value = special.hyp2f1(1.0, hb, c, z)
        out = np.asarray(log_pre + np.log(value), dtype=np.float64)
    safe = np.isfinite(out) & ((z <= _HYP2F1_SAFE_Z) | (hb <= _HYP2F1_SAFE_B))
    safe &= (c - hb <= _HYP2F1_SAFE_C_MINUS_B) | (hb <= _HYP2F1_SAFE_C_MINUS_B)
    done: dict[tuple[float, float], float] = {}  # customers alike share one quadrature
    for i in np.flatnonzero(~safe):
        ratio = (beta + float(tau[i])) / (alpha + float(tau[i]))
        key = (float(k[i]), ratio)
        if key not in done:
            done[key] = math.log(_paretonbd_h_quad(key[0], s, ratio))
        out[i] = done[key]
    return out


def _paretonbd_terms(params: Params, rfm: RFM) -> tuple[F64, F64, F64]:
    """Log of eq. (18)'s common factor, of its first bracketed term and of ``s/(r+s+x) A_0``."""
    r, alpha, s, beta = _params(params, PARETONBD_PARAMS, "Pareto/NBD")
    x = rfm.x.astype(np.float64)
    common = special.gammaln(r + x) - special.gammaln(r) + r * math.log(alpha) + s * math.log(beta)

    def log_g(tau: F64) -> F64:
        return np.asarray(-(r + x) * np.log(alpha + tau) - s * np.log(beta + tau), dtype=np.float64)

    survived = log_g(rfm.T)
    log_f_tx = log_g(rfm.t_x) + _paretonbd_log_h(r, alpha, s, beta, x, rfm.t_x)
    log_f_t = survived + _paretonbd_log_h(r, alpha, s, beta, x, rfm.T)
    log_a0 = log_f_tx + _log1mexp(log_f_t - log_f_tx)
    log_a0 = np.where(rfm.t_x < rfm.T, log_a0, -np.inf)
    dropped = math.log(s) - np.log(r + s + x) + log_a0
    return np.asarray(common, dtype=np.float64), survived, dropped


def paretonbd_loglik_each(params: Params, rfm: RFM) -> F64:
    """Per-customer Pareto/NBD log-likelihood, Fader & Hardie (2005, note 009) eq. (18)-(20).

    ``params`` are ``(r, alpha, s, beta)``.
    """
    common, survived, dropped = _paretonbd_terms(params, rfm)
    return np.asarray(common + np.logaddexp(survived, dropped), dtype=np.float64)


def paretonbd_loglik(params: Params, rfm: RFM) -> float:
    """Pareto/NBD log-likelihood of all customers (sum of :func:`paretonbd_loglik_each`)."""
    return float(np.sum(paretonbd_loglik_each(params, rfm)))


def paretonbd_p_alive(params: Params, rfm: RFM) -> F64:
    """P(alive at T | x, t_x, T) under Pareto/NBD, note 009 sec. 5.1.

    ``1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A_0)``.
    """
    _, survived, dropped = _paretonbd_terms(params, rfm)
    with np.errstate(invalid="ignore"):
        return np.asarray(special.expit(survived - dropped), dtype=np.float64)


def _growth(t: F64, s: float, base: F64 | float) -> F64:
    """``base * (1 - (base/(base+t))^(s-1)) / (s-1)``, continuous through s == 1 (log form)."""
    span = np.log1p(t / base)
    return np.asarray(base * span * special.exprel(-(s - 1.0) * span), dtype=np.float64)


def paretonbd_expected(t: TimeLike, params: Params) -> F64:
    """Unconditional E[X(t)] under Pareto/NBD, note 009 eq. (27).

    ``r beta / (alpha (s-1)) * [1 - (beta/(beta+t))^(s-1)]`` (its limit at s == 1).
    """
    r, alpha, s, beta = _params(params, PARETONBD_PARAMS, "Pareto/NBD")
    return np.asarray(r / alpha * _growth(_horizon(t), s, beta), dtype=np.float64)


def paretonbd_conditional(t: TimeLike, params: Params, rfm: RFM) -> F64:
    """E[Y(t) | x, t_x, T] under Pareto/NBD, note 009 eq. (41).

    ``P(alive) * (r+x)(beta+T) / ((alpha+T)(s-1)) * [1 - ((beta+T)/(beta+T+t))^(s-1)]``.
    """
    r, alpha, s, beta = _params(params, PARETONBD_PARAMS, "Pareto/NBD")
    rate = (r + rfm.x) / (alpha + rfm.T)
    growth = _growth(_horizon(t), s, beta + rfm.T)
    return np.asarray(paretonbd_p_alive(params, rfm) * rate * growth, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Gamma-Gamma
# --------------------------------------------------------------------------------------------


def _spend(rfm: RFM) -> tuple[F64, F64, npt.NDArray[np.bool_]]:
    """(x, m, repeat-buyer mask); raises if the RFM has no usable monetary values."""
    if rfm.m is None:
        raise ValueError("Gamma-Gamma: the RFM has no monetary values m")
    buyers = rfm.x > 0
    m = rfm.m
    if np.any(buyers & ~(m > 0)):
        raise ValueError(
            "Gamma-Gamma: m must be > 0 for every customer with x >= 1 "
            f"({int(np.sum(buyers & ~(m > 0)))} are not); drop zero-value customers first"
        )
    return rfm.x.astype(np.float64), m, buyers


def gammagamma_loglik_each(params: Params, rfm: RFM) -> F64:
    """Per-customer Gamma-Gamma log-likelihood of the mean repeat value (NaN where x == 0).

    Fader & Hardie (2013, note 025) eq. (1a): the density of the mean ``m`` of ``x`` values:
    ``Gamma(px+q) / (Gamma(px) Gamma(q)) * gamma^q m^(px-1) x^(px) / (gamma + m x)^(px+q)``.
    ``params`` are ``(p, q, gamma)``.
    """
    p, q, g = _params(params, GAMMAGAMMA_PARAMS, "Gamma-Gamma")
    x, m, buyers = _spend(rfm)
    px = p * x
    with np.errstate(all="ignore"):
        ll = (
            special.gammaln(px + q)
            - special.gammaln(px)
            - special.gammaln(q)
            + q * math.log(g)
            + (px - 1.0) * np.log(m)
            + px * np.log(x)
            - (px + q) * np.log(g + m * x)
        )
    return np.asarray(np.where(buyers, ll, np.nan), dtype=np.float64)


def gammagamma_loglik(params: Params, rfm: RFM) -> float:
    """Gamma-Gamma log-likelihood summed over the customers with x >= 1."""
    return float(np.nansum(gammagamma_loglik_each(params, rfm)))


def gammagamma_mean(params: Params) -> float:
    """Population mean value of a transaction, ``p gamma / (q - 1)``; needs q > 1."""
    p, q, g = _params(params, GAMMAGAMMA_PARAMS, "Gamma-Gamma")
    if q <= 1:
        raise ValueError(f"Gamma-Gamma: the mean spend is infinite when q <= 1 (q = {q})")
    return p * g / (q - 1.0)


def gammagamma_conditional_mean(params: Params, rfm: RFM) -> F64:
    """E[mean transaction value | x, m], Fader & Hardie (2013, note 025) eq. (5).

    ``(gamma + m x) p / (p x + q - 1)``: a weighted average of the population mean
    ``p gamma / (q-1)`` and the customer's own ``m`` (the population mean where x == 0).
    """
    p, q, g = _params(params, GAMMAGAMMA_PARAMS, "Gamma-Gamma")
    gammagamma_mean(params)  # raises when q <= 1
    x, m, buyers = _spend(rfm)
    total = g + np.where(buyers, m * x, 0.0)
    return np.asarray(total * p / (p * x + q - 1.0), dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    """A maximum-likelihood fit.

    ``params`` and ``std_errors`` are in the model's natural parameters (time parameters in
    units of ``unit_days`` days); ``covariance`` is the inverse Hessian of the negative
    log-likelihood there. ``aic = 2k - 2 loglik``, ``bic = k log(n_obs) - 2 loglik``.
    ``converged`` needs the optimiser's success, a positive-definite Hessian and no parameter
    on the search bound; ``message`` says what happened.
    """

    model: str
    names: tuple[str, ...]
    params: tuple[float, ...]
    std_errors: tuple[float, ...]
    covariance: tuple[tuple[float, ...], ...]
    loglik: float
    n_obs: int
    aic: float
    bic: float
    converged: bool
    message: str
    unit_days: float

    def param(self, name: str) -> float:
        """The estimate of parameter ``name``."""
        return self.params[self.names.index(name)]

    def std_error(self, name: str) -> float:
        """The standard error of parameter ``name``."""
        return self.std_errors[self.names.index(name)]

    def as_dict(self) -> dict[str, float]:
        """``{name: estimate}``."""
        return dict(zip(self.names, self.params, strict=True))


def _require_repeat_buyers(rfm: RFM, model: str) -> None:
    if rfm.n == 0:
        raise ValueError(f"{model}: no customers to fit")
    if rfm.repeat_buyers < 2:
        raise ValueError(
            f"{model}: needs at least 2 customers with a repeat transaction (x >= 1) to identify "
            f"the purchase and drop-out processes; got {rfm.repeat_buyers} of {rfm.n} customers"
        )
    if not np.any(rfm.T > 0):
        raise ValueError(f"{model}: every customer has T == 0; no time was observed")


def _optimise(
    model: str, objective: Callable[[F64], float], starts: list[F64]
) -> optimize.OptimizeResult:
    """The best of L-BFGS-B runs on the log-parameters from each of ``starts``."""
    bounds = [(-LOG_PARAM_LIMIT, LOG_PARAM_LIMIT)] * len(starts[0])
    options = {"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10}
    best: optimize.OptimizeResult | None = None
    for start in starts:
        res = optimize.minimize(objective, start, method="L-BFGS-B", bounds=bounds, options=options)
        if np.isfinite(res.fun) and res.fun < _INVALID and (best is None or res.fun < best.fun):
            best = res
    if best is None:
        raise ValueError(f"{model}: the log-likelihood is not finite at any starting point")
    return best


def _curvature(neg_loglik: Callable[[F64], float], log_theta: F64) -> tuple[F64, F64]:
    """Covariance (inverse Hessian of the negative log-likelihood in the natural parameters) and
    the gradient on the log scale.

    The derivatives are taken on the log scale (no step can leave the positive parameters) and
    the Hessian mapped exactly: with ``theta = exp(phi)``,
    ``d2f/dtheta_i dtheta_j = (d2f/dphi_i dphi_j - delta_ij df/dphi_i) / (theta_i theta_j)``.
    The covariance is NaN when that Hessian is not positive definite.
    """
    theta = np.exp(log_theta)
    h_log = np.asarray(nd.Hessian(neg_loglik)(log_theta), dtype=np.float64)
    g_log = np.asarray(nd.Gradient(neg_loglik)(log_theta), dtype=np.float64)
    h_nat = (h_log - np.diag(g_log)) / np.outer(theta, theta)
    nan = np.full_like(h_nat, np.nan)
    if not np.all(np.isfinite(h_nat)):
        return nan, g_log
    try:
        np.linalg.cholesky(h_nat)
    except np.linalg.LinAlgError:
        return nan, g_log
    return np.asarray(np.linalg.inv(h_nat), dtype=np.float64), g_log


class FitTooSlow(ValueError):
    """The likelihood could not be maximised within the time allowed."""


def _fit(
    model: str,
    names: tuple[str, ...],
    loglik: Callable[[F64], float],
    starts: list[F64],
    n_obs: int,
    unit_days: float,
    max_seconds: float | None = None,
) -> Fit:
    """Maximise ``loglik`` (a function of the natural parameters) on the log scale, within
    ``max_seconds`` (None: no limit; else :class:`FitTooSlow`)."""
    deadline = None if max_seconds is None else time.monotonic() + max_seconds

    def objective(log_theta: F64) -> float:
        if deadline is not None and time.monotonic() > deadline:
            raise FitTooSlow(
                f"{model}: no optimum within {max_seconds:g} s (the likelihood is slow to take "
                "where these data lead the search)"
            )
        value = -loglik(np.exp(log_theta)) / n_obs
        return value if math.isfinite(value) else _INVALID

    def neg_loglik(log_theta: F64) -> float:
        if deadline is not None and time.monotonic() > deadline:
            raise FitTooSlow(f"{model}: standard errors not taken within {max_seconds:g} s")
        return -loglik(np.exp(log_theta))

    res = _optimise(model, objective, [np.log(s) for s in starts])
    log_theta = np.asarray(res.x, dtype=np.float64)
    theta = np.exp(log_theta)
    ll = loglik(theta)
    at_bound = [
        n for n, v in zip(names, log_theta, strict=True) if abs(v) >= LOG_PARAM_LIMIT - 1e-3
    ]
    if at_bound:  # no curvature to read there (and far out the likelihood is slow to take)
        cov = np.full((len(names), len(names)), np.nan)
        grad = np.full(len(names), np.nan)
    else:
        cov, grad = _curvature(neg_loglik, log_theta)
    se = np.sqrt(np.diag(cov))
    messages = [str(res.message)]
    # L-BFGS-B can stop "abnormally" in its line search right at the optimum, where finite
    # differences are noise: a vanishing gradient there counts as success.
    stationary = bool(np.all(np.abs(grad) / n_obs < _GRADIENT_TOL))
    if not res.success and stationary:
        messages.append("the gradient vanishes there")
    if at_bound:
        messages.append(
            f"{', '.join(at_bound)} ran to the search bound: not identified by the data"
        )
    if not np.all(np.isfinite(se)):
        messages.append("the Hessian is not positive definite at the optimum")
    converged = (bool(res.success) or stationary) and not at_bound and bool(np.all(np.isfinite(se)))
    k = len(names)
    return Fit(
        model=model,
        names=names,
        params=tuple(float(v) for v in theta),
        std_errors=tuple(float(v) for v in se),
        covariance=tuple(tuple(float(v) for v in row) for row in cov),
        loglik=float(ll),
        n_obs=n_obs,
        aic=2.0 * k - 2.0 * ll,
        bic=k * math.log(n_obs) - 2.0 * ll,
        converged=converged,
        message="; ".join(messages),
        unit_days=unit_days,
    )


def _rate_and_span(rfm: RFM) -> tuple[float, float]:
    """Repeat transactions per time unit, and the mean T: scales for the starting points."""
    span = float(np.mean(rfm.T))
    rate = float(np.sum(rfm.x) / np.sum(rfm.T))
    return rate, span


def fit_bgnbd(rfm: RFM) -> Fit:
    """Fit BG/NBD ``(r, alpha, a, b)`` by maximum likelihood (Fader, Hardie & Lee 2005, sec. 5)."""
    _require_repeat_buyers(rfm, "BG/NBD")
    rate, _ = _rate_and_span(rfm)
    starts = [
        np.array([r, r / rate, a, b])
        for r, a, b in ((1.0, 1.0, 1.0), (0.3, 0.8, 2.5), (3.0, 2.0, 6.0))
    ]
    return _fit(
        "BG/NBD", BGNBD_PARAMS, lambda th: bgnbd_loglik(th, rfm), starts, rfm.n, rfm.unit_days
    )


def fit_paretonbd(rfm: RFM, max_seconds: float | None = None) -> Fit:
    """Fit Pareto/NBD ``(r, alpha, s, beta)`` by maximum likelihood (note 009 eq. 18), within
    ``max_seconds`` (:class:`FitTooSlow` beyond; None: no limit)."""
    _require_repeat_buyers(rfm, "Pareto/NBD")
    rate, span = _rate_and_span(rfm)
    starts = [
        np.array([r, r / rate, s, s * span * f])
        for r, s, f in ((1.0, 1.0, 1.0), (0.5, 0.5, 0.5), (2.0, 2.0, 4.0))
    ]
    return _fit(
        "Pareto/NBD",
        PARETONBD_PARAMS,
        lambda th: paretonbd_loglik(th, rfm),
        starts,
        rfm.n,
        rfm.unit_days,
        max_seconds,
    )


def fit_gammagamma(rfm: RFM) -> Fit:
    """Fit Gamma-Gamma ``(p, q, gamma)`` to the repeat buyers' mean values (note 025)."""
    _, m, buyers = _spend(rfm)
    n_obs = int(np.count_nonzero(buyers))
    if n_obs < 2:
        raise ValueError(
            f"Gamma-Gamma: needs at least 2 customers with a repeat transaction (x >= 1) and a "
            f"mean value m; got {n_obs}"
        )
    spend = m[buyers]
    if np.ptp(spend) == 0:
        raise ValueError(
            "Gamma-Gamma: every repeat buyer has the same mean value m; the spread of spend "
            "across customers cannot be estimated"
        )
    mean = float(np.mean(spend))
    starts = [
        np.array([p, q, mean * (q - 1.0) / p]) for p, q in ((1.0, 2.0), (5.0, 4.0), (2.0, 10.0))
    ]
    return _fit(
        "Gamma-Gamma",
        GAMMAGAMMA_PARAMS,
        lambda th: gammagamma_loglik(th, rfm),
        starts,
        n_obs,
        rfm.unit_days,
    )


# --------------------------------------------------------------------------------------------
# From transactions
# --------------------------------------------------------------------------------------------


def _transactions(
    customer: npt.ArrayLike, time: npt.ArrayLike, value: npt.ArrayLike | None
) -> tuple[npt.NDArray[Any], F64, F64 | None]:
    ids = np.asarray(customer)
    t = np.asarray(time, dtype=np.float64)
    if ids.ndim != 1 or t.shape != ids.shape:
        raise ValueError(
            f"transactions: customer and time must be 1-D of equal length, got {ids.shape} and "
            f"{t.shape}"
        )
    if not np.all(np.isfinite(t)):
        raise ValueError("transactions: time has non-finite values")
    v = None
    if value is not None:
        v = np.asarray(value, dtype=np.float64)
        if v.shape != ids.shape:
            raise ValueError(f"transactions: value has shape {v.shape}, time has {t.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError("transactions: value has non-finite values")
    return ids, t, v


def _sorted_groups(ids: npt.NDArray[Any], t: F64) -> tuple[npt.NDArray[Any], I64, I64]:
    """Unique ids, and each row's customer index and a row order by (customer, time).

    Raises if a customer has two rows at the same time (same-day purchases must be merged).
    """
    uniq, inv = np.unique(ids, return_inverse=True)
    inv = inv.astype(np.int64)
    order = np.lexsort((t, inv)).astype(np.int64)
    same = (np.diff(inv[order]) == 0) & (np.diff(t[order]) == 0)
    if np.any(same):
        row = int(order[np.flatnonzero(same)[0]])
        raise ValueError(
            f"transactions: customer {ids[row]!r} has more than one transaction at time {t[row]}; "
            "merge same-day purchases into one row first"
        )
    return uniq, inv, order


def rfm_from_transactions(
    customer: npt.ArrayLike,
    time: npt.ArrayLike,
    value: npt.ArrayLike | None,
    calibration_end: float,
    unit_days: float,
) -> RFM:
    """Build the calibration RFM from cleaned transactions (one row per customer and day).

    ``time`` is in days (any origin), ``calibration_end`` on the same clock; rows after it are
    ignored, and customers whose first purchase is after it are left out. The first purchase
    starts the customer's clock and is excluded from ``x`` and from ``m`` (the mean value of the
    repeat transactions, NaN where x == 0; ``value`` may be None). ``t_x`` and ``T`` are in units
    of ``unit_days`` days. Customers come out sorted by identifier, in ``RFM.customer``.
    """
    if not (math.isfinite(unit_days) and unit_days > 0):
        raise ValueError(f"unit_days must be a positive number, got {unit_days!r}")
    ids, t, v = _transactions(customer, time, value)
    keep = t <= calibration_end
    if not np.any(keep):
        raise ValueError(
            f"transactions: no transaction on or before calibration_end={calibration_end}"
        )
    ids, t = ids[keep], t[keep]
    uniq, inv, order = _sorted_groups(ids, t)
    n = len(uniq)
    count = np.bincount(inv, minlength=n)
    first_row = order[np.r_[0, np.flatnonzero(np.diff(inv[order])) + 1]]
    last_row = order[np.r_[np.flatnonzero(np.diff(inv[order])), len(order) - 1]]
    first, last = t[first_row], t[last_row]
    x = count - 1
    m = None
    if v is not None:
        v = v[keep]
        repeat_total = np.bincount(inv, weights=v, minlength=n) - v[first_row]
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(x > 0, repeat_total / np.maximum(x, 1), np.nan)
    return RFM(
        x=x.astype(np.int64),
        t_x=(last - first) / unit_days,
        T=(calibration_end - first) / unit_days,
        unit_days=unit_days,
        m=m,
        customer=uniq,
    )


def holdout_counts(
    rfm: RFM,
    customer: npt.ArrayLike,
    time: npt.ArrayLike,
    calibration_end: float,
    holdout_end: float,
) -> I64:
    """Each calibration customer's transactions in ``(calibration_end, holdout_end]``.

    Aligned with ``rfm.customer`` (built by :func:`rfm_from_transactions`); transactions of
    customers not in the calibration RFM (first purchase in the holdout) are ignored. Same
    conventions as :func:`rfm_from_transactions`: days, one row per customer and day.
    """
    if rfm.customer is None:
        raise ValueError("holdout_counts: the RFM has no customer identifiers")
    if not holdout_end > calibration_end:
        raise ValueError(
            f"holdout_counts: holdout_end ({holdout_end}) must be after calibration_end "
            f"({calibration_end})"
        )
    ids, t, _ = _transactions(customer, time, None)
    _sorted_groups(ids, t)
    if rfm.n == 0:
        return np.zeros(0, dtype=np.int64)
    window = (t > calibration_end) & (t <= holdout_end)
    ids = ids[window]
    known = rfm.customer
    sorter = np.argsort(known)
    pos = np.searchsorted(known, ids, sorter=sorter)
    pos = np.minimum(pos, len(known) - 1)
    idx = sorter[pos]
    match = known[idx] == ids
    return np.bincount(idx[match], minlength=rfm.n).astype(np.int64)

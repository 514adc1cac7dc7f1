"""The loyalty responses as array formulas (see :mod:`sim.behaviour.params` for each one's
meaning, default, range and source, and ``docs/behaviour.md`` for how they fit together).
Pure functions of member arrays; the world decides whom to ask."""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt
from scipy import special

from sim.behaviour.params import (
    Engagement,
    ExpiryDeadline,
    GoalGradient,
    PerceivedValue,
    RedemptionHalo,
    RedemptionModel,
    RewardRate,
    ShareOfWallet,
    SwitchingCost,
)

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

MAX_DIP = 0.9
"""Deepest post-promotion dip: the purchase rate never falls below a tenth."""


@functools.lru_cache(maxsize=64)
def _gamma_table(shape: float) -> tuple[F64, F64]:
    x = np.linspace(-16.0, 16.0, 16_385)
    q = np.asarray(special.gammaincinv(shape, special.expit(x)), np.float64)
    return x, q


def gamma_quantile(shape: float, u: F64) -> F64:
    """Quantile of Gamma(shape, 1) at ``u``: ``scipy.special.gammaincinv`` tabulated once per
    shape on a grid even in logit(u) and interpolated (relative error below 1e-5 over
    u in [1e-6, 1 - 1e-6]; tests). Used for order values so that a member's order on a day
    comes from that member's uniform (common random numbers across groups)."""
    x, q = _gamma_table(float(shape))
    logit = special.logit(np.clip(u, 1e-7, 1.0 - 1e-7))
    out: F64 = np.interp(logit, x, q)
    return out


# -- what a point is worth --------------------------------------------------------------------


def point_value(
    p: PerceivedValue, valuation: F64, balance: F64, speed: F64, cost: F64, value: F64
) -> F64:
    """Perceived currency value of a point: ``valuation * max_j value_j / (1 + k * days_j)``,
    ``days_j`` the days until ``balance`` reaches option ``j`` (points ``cost[:, j]``) at
    ``speed`` points a day. ``cost`` and ``value`` are (members, options); unused options
    have cost inf and value 0."""
    if not len(balance):
        return np.zeros(0)
    gap = np.maximum(cost - balance[:, None], 0.0)
    k = p.discount_per_day if p.enabled else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        days = np.where(gap > 0, gap / np.maximum(speed, 1e-12)[:, None], 0.0)
    best = (value / (1.0 + k * days)).max(axis=1)
    out: F64 = valuation * best
    return out


def redeemable_value(balance: F64, cost: F64, value: F64) -> F64:
    """Currency the balance buys now: the balance at the best value per point among the
    options it already affords (0 if it affords none)."""
    if not len(balance):
        return np.zeros(0)
    can = cost <= balance[:, None]
    best = np.where(can, value, 0.0).max(axis=1)
    out: F64 = balance * best
    return out


# -- buying -----------------------------------------------------------------------------------


def felt_rate(p: RewardRate, rho: F64) -> F64:
    """The price cut a reward rate ``rho`` is felt as: ``s * (1 - exp(-rho / s))``, ``s`` =
    ``saturation``; close to ``rho`` for small rates, never above ``s``."""
    s = p.saturation
    out: F64 = s * -np.expm1(-np.maximum(rho, 0.0) / s)
    return out


def price_factor(p: RewardRate, rho: F64, rho0: F64) -> F64:
    """Purchase rate factor of a perceived reward rate ``rho`` against the reference's
    ``rho0``: ``((1 - f(rho)) / (1 - f(rho0))) ** -elasticity``, ``f`` = :func:`felt_rate`."""
    if not p.enabled:
        return np.ones(len(rho))
    out: F64 = ((1.0 - felt_rate(p, rho)) / (1.0 - felt_rate(p, rho0))) ** (-p.elasticity)
    return out


def promotion_factor(p: RewardRate, rho: F64, extra: F64, age_days: F64) -> F64:
    """Purchase rate factor of a promotion adding ``extra`` to the perceived rate ``rho``,
    ``age_days`` into the member's exposure; the member's reference adapts to it with the
    half-life ``promotion_half_life_days``."""
    if not p.enabled:
        return np.ones(len(rho))
    w = np.exp2(-np.maximum(age_days, 0.0) / p.promotion_half_life_days)
    promoted = felt_rate(p, rho + extra * w)
    out: F64 = ((1.0 - promoted) / (1.0 - felt_rate(p, rho))) ** (-p.elasticity)
    return out


def wallet_factor(p: ShareOfWallet, odds: F64, share: F64) -> F64:
    """Purchase rate factor of a programme factor ``odds`` on the odds of buying here, for
    members holding ``share`` of their category: ``odds / (1 - share + share * odds)``."""
    if not p.enabled:
        return odds
    out: F64 = odds / (1.0 - share + share * odds)
    return out


def goal_lift(p: GoalGradient, progress: F64) -> F64:
    """Factor on the purchase rate at ``progress`` (share of the way done, in [0, 1]) towards
    the nearest goal (next reward or next tier)."""
    if not p.enabled:
        return np.ones(len(progress))
    out: F64 = 1.0 + p.g * np.clip(progress, 0.0, 1.0)
    return out


def urgency(p: ExpiryDeadline, days_left: F64) -> F64:
    """``exp(-days_left / days)``: how pressing points expiring in ``days_left`` days are (0
    where nothing expires or the mechanism is off)."""
    if not p.enabled:
        return np.zeros(len(days_left))
    out: F64 = np.exp(-np.maximum(days_left, 0.0) / p.days)
    return out


def deadline(p: ExpiryDeadline, days_left: F64, lift: float) -> F64:
    """``1 + lift * exp(-days_left / days)``: the pull of points expiring in ``days_left``
    days (inf: nothing expires)."""
    if not p.enabled or lift == 0:
        return np.ones(len(days_left))
    out: F64 = 1.0 + lift * urgency(p, days_left)
    return out


def halo_lift(p: RedemptionHalo, days_since_redeem: F64) -> F64:
    """Factor on the purchase rate after a redemption (a huge number of days: none yet)."""
    if not p.enabled:
        return np.ones(len(days_since_redeem))
    out: F64 = 1.0 + p.lift * np.exp(-np.maximum(days_since_redeem, 0.0) / p.days)
    return out


def dip_factor(debt: F64) -> F64:
    """Purchase rate factor while ``debt`` borrowed purchases are being repaid."""
    out: F64 = 1.0 - np.minimum(np.maximum(debt, 0.0), MAX_DIP)
    return out


def dropout(p: SwitchingCost, drop: F64, lost: F64) -> F64:
    """Dropout probability after a purchase when leaving would forfeit ``lost`` (perceived
    currency, in units of ``half_value`` mean orders): ``drop * (1 - max_reduction * x /
    (x + 1))``."""
    if not p.enabled:
        return drop
    x = np.maximum(lost, 0.0) / p.half_value
    out: F64 = drop * (1.0 - p.max_reduction * x / (x + 1.0))
    return out


# -- redeeming --------------------------------------------------------------------------------


def readiness(p: RedemptionModel, fade: float, balance: F64, threshold: F64, urge: F64) -> F64:
    """How ready a member is to spend points: the stockpiling logistic ``L = logistic(steepness
    * (balance / threshold - 1))``, faded towards 1 as points near expiry: ``L + fade * urge *
    (1 - L)`` (``urge`` from :func:`urgency`)."""
    level = special.expit(p.steepness * (balance / threshold - 1.0))
    out: F64 = level + fade * urge * (1.0 - level)
    return out


def redeem_probability(
    p: RedemptionModel, ready: F64, points_day: bool, pull: F64 | float = 1.0
) -> F64:
    """Daily probability of redeeming for a member this ``ready`` (:func:`readiness`), times
    the deadline and reminder ``pull`` and raised on the points day (before lapse)."""
    if not p.enabled:
        return np.zeros(len(ready))
    out: F64 = p.max_daily * ready * pull
    if points_day:
        out = out * (1.0 + p.points_day_lift)
    return out


def checkout_probability(p: RedemptionModel, ready: F64) -> F64:
    """Probability of paying part of an order with points at checkout."""
    if not p.enabled:
        return np.zeros(len(ready))
    out: F64 = p.checkout_share * ready
    return out


# -- engaging ---------------------------------------------------------------------------------


def engagement_factor(p: Engagement, reward: F64, reference: F64) -> F64:
    """Factor on an action's propensity when it pays ``reward`` (perceived currency) against
    ``reference`` under the reference programme: ``(1 + c) * V / (V + c * V0)``; 1 where the
    reference pays nothing and this pays something."""
    c = p.half_saturation
    v0 = np.where(reference > 0, reference, reward)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: F64 = np.where(reward > 0, (1.0 + c) * reward / (reward + c * v0), 0.0)
    return out


def streak_pull(p: Engagement, streak: I64) -> F64:
    """Factor on the check-in probability of a member on a running streak."""
    out: F64 = 1.0 + p.streak_pull * np.minimum(streak, 7) / 7.0
    return out

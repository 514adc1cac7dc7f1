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

MAX_RATE = 0.9
"""Perceived reward rates are held below this (a reward worth the whole price is no price)."""

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


def price_factor(p: RewardRate, rho: F64, rho0: F64) -> F64:
    """Purchase rate factor of a perceived reward rate ``rho`` against the reference's
    ``rho0``: ``((1 - rho) / (1 - rho0)) ** -elasticity``."""
    if not p.enabled:
        return np.ones(len(rho))
    r = np.clip(rho, 0.0, MAX_RATE)
    r0 = np.clip(rho0, 0.0, MAX_RATE)
    out: F64 = ((1.0 - r) / (1.0 - r0)) ** (-p.elasticity)
    return out


def promotion_factor(p: RewardRate, rho: F64, extra: F64, age_days: F64) -> F64:
    """Purchase rate factor of a promotion adding ``extra`` to the perceived rate ``rho``,
    ``age_days`` into the member's exposure; the member's reference adapts to it with the
    half-life ``promotion_half_life_days``."""
    if not p.enabled:
        return np.ones(len(rho))
    w = np.exp2(-np.maximum(age_days, 0.0) / p.promotion_half_life_days)
    r = np.clip(rho, 0.0, MAX_RATE)
    promoted = np.clip(rho + extra * w, 0.0, MAX_RATE)
    out: F64 = ((1.0 - promoted) / (1.0 - r)) ** (-p.elasticity)
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


def deadline(p: ExpiryDeadline, days_left: F64, lift: float) -> F64:
    """``1 + lift * exp(-days_left / days)``: the pull of points expiring in ``days_left``
    days (inf: nothing expires)."""
    if not p.enabled or lift == 0:
        return np.ones(len(days_left))
    out: F64 = 1.0 + lift * np.exp(-np.maximum(days_left, 0.0) / p.days)
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


def redeem_probability(p: RedemptionModel, balance: F64, threshold: F64, points_day: bool) -> F64:
    """Daily probability of redeeming at a balance, given the member's stockpiling threshold
    (points) and whether today is the points day (before deadlines and lapse)."""
    if not p.enabled:
        return np.zeros(len(balance))
    base = p.max_daily * special.expit(p.steepness * (balance / threshold - 1.0))
    if points_day:
        base = base * (1.0 + p.points_day_lift)
    out: F64 = base
    return out


def checkout_probability(p: RedemptionModel, balance: F64, threshold: F64) -> F64:
    """Probability of paying part of an order with points at checkout."""
    if not p.enabled:
        return np.zeros(len(balance))
    out: F64 = p.checkout_share * special.expit(p.steepness * (balance / threshold - 1.0))
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

"""The loyalty responses as array formulas (see :mod:`sim.behaviour.params` for each one's
meaning and source). Pure functions of member arrays; the world decides whom to ask."""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt
from scipy import special

from sim.behaviour.params import (
    CheckinHabit,
    ExpiryPressure,
    GoalGradient,
    RedemptionHalo,
    RedemptionModel,
    RewardResponse,
    SwitchingCost,
)

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


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


def reward_lift(
    p: RewardResponse, extra_rate: F64, valuation: F64, age_days: F64, pressure: F64
) -> F64:
    """Factor on the purchase rate from a promotion worth ``extra_rate`` of each unit spent,
    ``age_days`` into the member's exposure, damped by ``pressure`` in [0, 1]."""
    if not p.enabled:
        return np.ones(len(extra_rate))
    promoted = extra_rate > 0
    strength = (p.elasticity * extra_rate + p.salience * promoted) * valuation
    decay = np.exp(-np.maximum(age_days, 0.0) / p.decay_days)
    out: F64 = 1.0 + strength * decay * (1.0 - p.pressure_damping * pressure)
    return out


def reward_bound(p: RewardResponse, extra_rate_max: float) -> float:
    """Largest :func:`reward_lift` any member can have today."""
    if not p.enabled or extra_rate_max <= 0:
        return 1.0
    return 1.0 + p.elasticity * extra_rate_max + p.salience


def goal_lift(p: GoalGradient, progress: F64, valuation: F64) -> F64:
    """Factor on the purchase rate at ``progress`` (share of the way done, in [0, 1]) towards
    the nearest goal (next reward or next tier)."""
    if not p.enabled:
        return np.ones(len(progress))
    out: F64 = 1.0 + p.g * valuation * np.clip(progress, 0.0, 1.0)
    return out


def expiry_lift(p: ExpiryPressure, flexible: B, pressed: B) -> F64:
    """Factor on the purchase rate of flexible members whose points expire soon."""
    if not p.enabled:
        return np.ones(len(flexible))
    out: F64 = np.where(flexible & pressed, 1.0 + p.buy_lift, 1.0)
    return out


def halo_lift(p: RedemptionHalo, days_since_redeem: F64, valuation: F64) -> F64:
    """Factor on the purchase rate after a redemption (a huge number of days: none yet)."""
    if not p.enabled:
        return np.ones(len(days_since_redeem))
    decay = np.exp(-np.maximum(days_since_redeem, 0.0) / p.days)
    out: F64 = 1.0 + p.lift * valuation * decay
    return out


def redeem_probability(
    p: RedemptionModel, balance: F64, threshold: F64, pressed: B, points_day: bool
) -> F64:
    """Daily probability of redeeming at a balance, given the member's stockpiling threshold
    (points), expiry pressure and whether today is the points day."""
    if not p.enabled:
        return np.zeros(len(balance))
    base = p.max_daily * special.expit(p.steepness * (balance / threshold - 1.0))
    if points_day:
        base = base * (1.0 + p.points_day_lift)
    out: F64 = np.minimum(base + p.expiry_lift * pressed, 1.0)
    return out


def checkout_probability(p: RedemptionModel, balance: F64, threshold: F64) -> F64:
    """Probability of paying part of an order with points at checkout."""
    if not p.enabled:
        return np.zeros(len(balance))
    out: F64 = p.checkout_share * special.expit(p.steepness * (balance / threshold - 1.0))
    return out


def checkin_probability(p: CheckinHabit, habit: F64, streak: I64) -> F64:
    """Daily check-in probability of members with a habit, pulled up by their streak."""
    if not p.enabled:
        return np.zeros(len(habit))
    pull = 1.0 + p.streak_pull * np.minimum(streak, 7) / 7.0
    out: F64 = np.minimum(habit * pull, 0.98)
    return out


def dropout(p: SwitchingCost, drop: F64, progress: F64, tier_rank: F64) -> F64:
    """Dropout probability after a purchase, lowered by a balance (``progress`` towards the
    member's threshold) and a tier (``tier_rank`` from 0, lowest, to 1, top)."""
    if not p.enabled:
        return drop
    out: F64 = drop * (1.0 - p.balance * np.clip(progress, 0.0, 1.0)) * (1.0 - p.tier * tier_rank)
    return out

"""The members of a run: who they are, when they join, how they differ (struct-of-arrays).

Drawn once per replication from its own stream, independent of the policy, so every group
and every sweep point of a replication has the same people. Members are ordered by join day:
those there at the start first, then the newcomers in the order they join.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from sim.behaviour.baseline import daily_buy_probability
from sim.scenario.model import ScenarioSpec
from sim.world.draws import Draws, Purpose

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


@dataclass
class Population:
    join_day: I64
    segment: npt.NDArray[np.int16]
    birth_month: npt.NDArray[np.int8]
    referrer: I64
    """Position of the member who referred this one (-1: none); always an earlier joiner."""
    p_buy: F64
    """Daily probability of buying while alive (BG/NBD, exact daily scheme)."""
    drop: F64
    """Dropout probability after each purchase (BG/NBD's p)."""
    order_shape: F64
    """Gamma-Gamma shape of the member's order values (the segment's p)."""
    order_scale: F64
    """Currency per unit of Gamma(order_shape, 1): ``currency_scale / nu``."""
    valuation: F64
    """Multiple of what a point buys at which the member values it (mean about 1)."""
    wallet_share: F64
    """Share of the member's category purchases made here (share of wallet)."""
    checkin: F64
    """Daily check-in probability of the habit (0: no habit)."""
    share: F64
    login: F64
    course: F64
    survey: F64
    profile: F64
    flexible: B
    threshold_factor: F64
    """Multiple of the median burn option's points at which the member starts redeeming."""

    def __len__(self) -> int:
        return len(self.join_day)

    def take(self, idx: I64) -> Population:
        return Population(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


def draw_population(spec: ScenarioSpec, draws: Draws, first_day: int) -> Population:
    """Draw the members of a run whose first simulated day is ``first_day``."""
    pop = spec.population
    rng = draws.generator(Purpose.POPULATION)
    sim_days = spec.horizon.warmup_days + spec.horizon.days
    joins_daily = rng.poisson(pop.joins_per_day, sim_days) if pop.joins_per_day > 0 else None
    n0 = pop.size
    if pop.tenure_days:
        start = np.sort(first_day - rng.integers(0, pop.tenure_days, n0))
    else:
        start = np.full(n0, first_day, np.int64)
    later = (
        np.repeat(first_day + 1 + np.arange(sim_days, dtype=np.int64), joins_daily)
        if joins_daily is not None
        else np.zeros(0, np.int64)
    )
    # A newcomer is never there on the first day: the day's first joins come the day after.
    later = later[later < first_day + sim_days]
    join_day = np.concatenate([start.astype(np.int64), later])
    n = len(join_day)

    segs = list(pop.segments.values())
    cum = np.cumsum([s.share for s in segs])
    segment = np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(segs) - 1)
    segment = segment.astype(np.int16)

    referrer = np.full(n, -1, np.int64)
    if pop.referred_share > 0 and n > n0:
        newcomers = np.arange(n0, n)
        referred = newcomers[rng.random(len(newcomers)) < pop.referred_share]
        earlier = np.searchsorted(join_day, join_day[referred], side="left")
        referrer[referred] = np.minimum((rng.random(len(referred)) * earlier), earlier - 1)

    cols: dict[str, F64] = {
        k: np.zeros(n)
        for k in (
            "p_buy",
            "drop",
            "order_shape",
            "order_scale",
            "valuation",
            "wallet_share",
            "checkin",
            "share",
            "login",
            "course",
            "survey",
            "profile",
            "threshold_factor",
        )
    }
    flexible = np.zeros(n, bool)
    for code, seg in enumerate(segs):
        m = np.flatnonzero(segment == code)
        k = len(m)
        b, t = seg.baseline, seg.traits
        lam = rng.gamma(b.r, 1.0 / (b.alpha * b.time_unit_days), size=k)
        drop = rng.beta(b.a, b.b, size=k)
        nu = rng.gamma(b.q, 1.0 / b.gamma, size=k)
        cols["p_buy"][m] = daily_buy_probability(lam, drop)
        cols["drop"][m] = drop
        cols["order_shape"][m] = b.p
        cols["order_scale"][m] = b.currency_scale / nu
        cols["valuation"][m] = rng.gamma(
            t.valuation_shape, t.valuation_mean / t.valuation_shape, size=k
        )
        cols["wallet_share"][m] = _wallet_share(
            cols["p_buy"][m], spec.behaviour.share_of_wallet.median_share
        )
        habit = rng.random(k) < t.checkin_share
        cols["checkin"][m] = np.where(habit, rng.beta(t.checkin_a, t.checkin_b, size=k), 0.0)
        cols["share"][m] = rng.gamma(0.5, t.share_rate / 0.5, size=k) if t.share_rate else 0.0
        cols["login"][m] = _beta_mean(rng, t.login_rate, k)
        cols["course"][m] = _beta_mean(rng, t.course_rate, k)
        cols["survey"][m] = _beta_mean(rng, t.survey_rate, k)
        cols["profile"][m] = t.profile_rate
        flexible[m] = rng.random(k) < t.flexible_share
        cols["threshold_factor"][m] = t.threshold_multiple * np.exp(
            t.threshold_sigma * rng.standard_normal(k)
        )
    birth_month = rng.integers(1, 13, n).astype(np.int8)
    return Population(
        join_day=join_day,
        segment=segment,
        birth_month=birth_month,
        referrer=referrer,
        flexible=flexible,
        **cols,
    )


def _wallet_share(p_buy: F64, median_share: float) -> F64:
    """Share of wallet ``p / (p + kappa)``, ``kappa`` such that the segment's median member
    holds ``median_share`` (members' category needs vary less than what they buy here)."""
    if not len(p_buy):
        return np.zeros(0)
    s = min(max(median_share, 1e-6), 1.0 - 1e-6)
    kappa = max(float(np.median(p_buy)), 1e-12) * (1.0 - s) / s
    out: F64 = p_buy / (p_buy + kappa)
    return out


def _beta_mean(rng: np.random.Generator, mean: float, k: int) -> F64:
    """Beta(1, 1/mean - 1) draws: mean ``mean``, most members well below it."""
    if mean <= 0:
        return np.zeros(k)
    if mean >= 1:
        return np.ones(k)
    out: F64 = rng.beta(1.0, 1.0 / mean - 1.0, size=k)
    return out

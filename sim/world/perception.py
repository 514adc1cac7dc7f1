"""Each member's view of the programme: what a point is worth to them, the reward rate they
perceive, and the factor that rate puts on their purchase rate against the reference
programme (:mod:`sim.behaviour.loyalty` has the formulas).

These depend on a member's balance and tier only (and on their fixed traits), so they are
kept per member and recomputed for the members whose balance or tier changed since: a few
array operations a day on the members who acted, not on everyone.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sim.behaviour import loyalty
from sim.behaviour.params import Behaviour
from sim.engine import Account, CompiledPolicy
from sim.engine.quote import days_to_expiry, earliest_expiry
from sim.engine.state import EngineState
from sim.world.policy_facts import PolicyFacts
from sim.world.population import Population

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

DAYS_A_YEAR = 365.0


class Perception:
    """Per-member perceived point value ``v`` and reward rate ``rho`` under the group's
    policy, the same under the reference (``v0``, ``rho0``), and the price factor ``odds``
    of the one against the other (see the module docstring)."""

    def __init__(
        self,
        behaviour: Behaviour,
        pop: Population,
        facts: PolicyFacts,
        ref: PolicyFacts,
        same: bool,
        promo_mult: float = 1.0,
    ) -> None:
        n = len(pop)
        self.b = behaviour
        self.pop = pop
        self.facts = facts
        self.ref = ref
        self.same = same
        """The group runs the reference programme itself (``v0`` is ``v``)."""
        self.promo_mult = promo_mult
        """The campaign factor of a member in every campaign on purchases at once: no
        member's campaign factor is ever larger."""
        self.mean_order = pop.order_shape * pop.order_scale
        self.action_speed = self._action_speed(facts)
        self.action_speed0 = self.action_speed if same else self._action_speed(ref)
        self.v = np.zeros(n)
        self.v0 = np.zeros(n)
        self.rho = np.zeros(n)
        self.rho0 = np.zeros(n)
        self.odds = np.ones(n)
        self.ratio = np.ones(n)
        """``v / v0`` (1 where the reference's point is worth nothing): bounds how much more
        an action pays a member here than under the reference."""
        self.promo_cap = np.ones(n)
        """The largest promotion factor the member can have on a campaign day."""
        self.expiry_day = np.full(n, np.inf)
        """Last valid day of the member's earliest-expiring points (inf: none expire), for
        dated expiry schemes (the lots only change with the balance)."""
        self.expiry_slot = np.zeros(n, np.int64)
        """The lot bucket holding those points."""
        self._bal = np.full(n, -1, np.int64)
        self._tier = np.full(n, -1, np.int64)

    def _action_speed(self, f: PolicyFacts) -> F64:
        """Expected points a day from rewarded actions at each member's propensities (none
        when engagement is off: nobody takes those actions)."""
        pop, pts = self.pop, f.action_points
        if not self.b.engagement.enabled:
            return np.zeros(len(pop.checkin))
        speed = pop.checkin * f.checkin_points
        for action, rate in (
            ("share", pop.share),
            ("login", pop.login),
            ("course", pop.course),
            ("survey", pop.survey),
        ):
            if action in pts:
                speed = speed + rate * pts[action]
        if "review" in pts:
            speed = speed + pop.p_buy * self.b.engagement.review_after_purchase * pts["review"]
        out: F64 = speed
        return out

    def days_to_expiry(self, cp: CompiledPolicy, state: EngineState, m: I64, day: int) -> F64:
        """Days until members ``m``'s earliest points expire (see
        :func:`sim.engine.quote.days_to_expiry`), from the cache for dated schemes."""
        if cp.expiry.periodic:
            out: F64 = self.expiry_day[m] - day
            return out
        return days_to_expiry(cp, state, m, day)

    def order_points(self, f: PolicyFacts, tier: I64, m: I64) -> F64:
        """Everyday points of an average order of members ``m`` holding ``tier``."""
        out: F64 = np.minimum(
            f.unit_rate[tier] * self.mean_order[m] + f.order_points[tier], f.daily_cap
        )
        return out

    def refresh(self, cp: CompiledPolicy, state: EngineState, k: int, day: int) -> None:
        """Recompute the members among the first ``k`` whose balance or tier changed."""
        ms = state.members
        bal = ms.acct[:k, Account.AVAILABLE]
        tier = ms.tier[:k]
        changed = np.flatnonzero((bal != self._bal[:k]) | (tier != self._tier[:k]))
        if not len(changed):
            return
        b = bal[changed].astype(np.float64)
        t = tier[changed].astype(np.int64)
        if cp.expiry.periodic:
            # points earned later never expire sooner: the earliest expiry stands while its
            # bucket still holds points and its day has not passed
            known = self.expiry_day[changed]
            held = ms.lots[changed, self.expiry_slot[changed]] > 0
            redo = changed[~held | ~np.isfinite(known) | (known < day)]
            left, slot = earliest_expiry(cp, state, redo, day)
            self.expiry_day[redo] = left + day
            self.expiry_slot[redo] = np.maximum(slot, 0)
        self._bal[changed] = bal[changed]
        self._tier[changed] = t
        v, rho = self._view(self.facts, changed, b, t, self.action_speed)
        if self.same:
            v0, rho0 = v, rho
        else:
            t0 = np.minimum(t, len(self.ref.tier_value) - 1)
            scale = np.divide(
                self.facts.tier_value[t],
                self.ref.tier_value[t0],
                out=np.ones(len(t)),
                where=self.ref.tier_value[t0] > 0,
            )
            v0, rho0 = self._view(self.ref, changed, b * scale, t0, self.action_speed0)
        self.v[changed] = v
        self.v0[changed] = v0
        self.rho[changed] = rho
        self.rho0[changed] = rho0
        if not self.same:  # under the reference itself, the price factor is exactly 1
            self.odds[changed] = loyalty.price_factor(self.b.reward_rate, rho, rho0)
            self.ratio[changed] = np.divide(v, v0, out=np.ones(len(v)), where=v0 > 0)
        if self.promo_mult > 1.0:  # no campaign pays extra: the cap stays 1
            self.promo_cap[changed] = loyalty.promotion_factor(
                self.b.reward_rate, rho, rho * (self.promo_mult - 1.0), np.zeros(len(rho))
            )

    def _view(self, f: PolicyFacts, m: I64, bal: F64, tier: I64, actions: F64) -> tuple[F64, F64]:
        """(perceived value of a point, perceived reward rate) of members ``m``."""
        if not self.b.redemption.enabled:  # members who never redeem value points at nothing
            return np.zeros(len(m)), np.zeros(len(m))
        per_order = self.order_points(f, tier, m)
        speed = self.pop.p_buy[m] * per_order + actions[m]
        v = loyalty.point_value(
            self.b.perceived_value,
            self.pop.valuation[m],
            bal,
            speed,
            f.option_cost[tier],
            f.option_value[tier],
        )
        rho: F64 = per_order / self.mean_order[m] * v
        return v, rho

    def lost_value(self, m: I64, bal: F64, tier: I64) -> F64:
        """What leaving would forfeit, perceived, in mean orders: the balance's redeemable
        value plus a year of the tier's extra everyday earning (at face value)."""
        f = self.facts
        if not len(m) or not self.b.redemption.enabled:
            return np.zeros(len(m))
        held = loyalty.redeemable_value(bal, f.option_cost[tier], f.option_value[tier])
        base = np.zeros(len(m), np.int64)
        extra = self.order_points(f, tier, m) - self.order_points(f, base, m)
        usable = f.option_value.max(axis=1)[tier] > 0  # points that buy nothing are no gain
        tier_gain = extra * self.pop.p_buy[m] * DAYS_A_YEAR * f.tier_value[tier] * usable
        out: F64 = self.pop.valuation[m] * (held + tier_gain) / self.mean_order[m]
        return out

"""One experiment group as it runs: its members' engine state and behavioural state, and one
day of their behaviour turned into the engine's events.

Members are held as arrays (no object per member), ordered by join day, so the members who
have joined by a day are a prefix ``[0, joined)``. Each response is a formula of
:mod:`sim.behaviour.loyalty`; what a member perceives of the programme is kept per member in
:class:`~sim.world.perception.Perception`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from sim.behaviour import loyalty
from sim.behaviour.params import Behaviour
from sim.engine import (
    Account,
    CompiledPolicy,
    DayEvents,
    DayResult,
    Kind,
    Status,
    apply_events,
    close_day,
    compile_policy,
    new_state,
    open_day,
    referral_code,
)
from sim.engine.boost import campaign_bound
from sim.engine.quote import item_prices, purchase_multipliers, purchase_rule
from sim.engine.state import NEVER_DAY
from sim.policy import ACTIONS, MICROS, Policy
from sim.scenario import Arm
from sim.world.draws import Draws, Purpose
from sim.world.perception import Perception
from sim.world.policy_facts import PolicyFacts
from sim.world.population import Population

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

REDEEMING = np.zeros(max(Kind) + 1, bool)
REDEEMING[[Kind.REDEEM, Kind.CASH_OFFSET, Kind.LOTTERY]] = True
"""``REDEEMING[kind]``: the kinds of event counted as a redemption (a lookup beats isin)."""

ORDER_REF_SHIFT = 1 << 26
"""Order ids are ``day * ORDER_REF_SHIFT + member`` (one order per member a day)."""

REMINDER_DAYS = 3.0
"""Days over which a reminder's pull on redemption fades (e-folding)."""


@dataclass
class Today:
    """What the calendar processes say about the day being simulated."""

    day: int
    points_day: bool = False
    campaign_start: dict[int, int] = field(default_factory=dict)
    """Start day of each campaign (index into the compiled policy's) running today."""
    announced: dict[int, int] = field(default_factory=dict)
    """Start day of each announced campaign that has not started yet."""


@dataclass
class Block:
    """Events of one kind for some members, before they are merged into the day's batch."""

    member: I64
    kind: int
    amount: I64 | int = 0
    quantity: I64 | int = 0
    code: I64 | int = 0
    ref: I64 | int = 0
    draw: F64 | float = np.nan


@dataclass
class DayOutcome:
    """One group's day: the engine's results, the events it was fed, what behaviour did."""

    results: list[DayResult]
    events: DayEvents
    orders: int
    gmv: float
    incentive_gmv: float
    checkins: int
    actions: int
    redemptions: int
    new_members: int
    churned: int


@dataclass
class Buying:
    """The day's purchase-rate factors of some members (see :meth:`ArmWorld._factors`)."""

    total: F64
    """Everything: the factor on the member's baseline daily purchase probability."""
    promo: F64
    """The part a running promotion adds (1: none), for the purchases it borrows."""
    pre_dip: F64
    """The announced-campaign dip (1: none), for the purchases it puts off."""


class ArmWorld:
    """The members of one group and their day (see the module docstring)."""

    def __init__(
        self,
        arm: Arm,
        pop: Population,
        gids: I64 | None,
        behaviour: Behaviour,
        categories: dict[str, float],
        first_day: int,
        purchases_as: str,
        term_days: int,
        item_price: float | None,
        reference: Policy | None = None,
    ) -> None:
        self.arm = arm
        self.pop = pop
        self.gids = gids
        """Positions of these members in the population (None: all of it, in order)."""
        self.b = behaviour
        self.cp: CompiledPolicy = compile_policy(arm.policy, tuple(categories))
        self.facts = PolicyFacts.of(self.cp, categories, item_price)
        same = reference is None or reference is arm.policy or reference == arm.policy
        ref_facts = (
            self.facts
            if same or reference is None
            else PolicyFacts.of(
                compile_policy(reference, tuple(categories)), categories, item_price
            )
        )
        rule = purchase_rule(self.cp)
        boosting = [c.multiplier for c in self.cp.campaigns if rule is not None and c.boosts[rule]]
        self.view = Perception(
            behaviour,
            pop,
            self.facts,
            ref_facts,
            same,
            campaign_bound(self.cp.campaign_stacking, boosting),
        )
        n = len(pop)
        local_ref = pop.referrer
        if gids is not None:  # referrers outside the group are not in its engine state
            where = np.full(int(gids.max()) + 1 if len(gids) else 0, -1, np.int64)
            where[gids] = np.arange(len(gids))
            ok = local_ref >= 0
            local_ref = np.where(ok, where[np.maximum(local_ref, 0)], -1)
        self.referrer = local_ref
        self.state = new_state(
            self.cp,
            n,
            first_day,
            join_day=pop.join_day,
            birth_month=pop.birth_month,
            group=np.full(n, arm.label, np.int16),
            referrer=local_ref,
        )
        self.alive = np.ones(n, bool)
        self.last_action = pop.join_day.copy()
        """Day of each member's latest action of any kind (engagement)."""
        self.last_buy = np.full(n, NEVER_DAY, np.int64)
        """Day of each member's latest purchase (activity and retention; joining is not one)."""
        self.last_redeem = np.full(n, NEVER_DAY, np.int64)
        self.reminded_day = np.full(n, NEVER_DAY, np.int64)
        self.debt = np.zeros(n)
        """Purchases borrowed by a promotion, still to be repaid (as of ``debt_day``)."""
        self.debt_day = np.zeros(n, np.int64)
        self.deferred = np.zeros(n)
        """Purchases put off before an announced campaign, made on its first day."""
        self.profile_done = np.zeros(n, bool)
        self.bought = np.zeros(n, bool)
        self.orders_window = np.zeros(n, np.int32)
        self.threshold = np.maximum(pop.threshold_factor * self.facts.typical, 1.0)
        self.reminded = np.zeros(0, np.int64)
        self.purchases_as = purchases_as
        self.term_days = term_days
        self.item_price = item_price
        self.joined = 0
        self.refund_day = np.zeros(0, np.int64)
        self.refund_member = np.zeros(0, np.int64)
        self.refund_ref = np.zeros(0, np.int64)
        self.refund_amount = np.zeros(0, np.int64)
        self.refund_points = np.zeros(0, np.int64)

    def __len__(self) -> int:
        return len(self.pop)

    # -- random numbers -------------------------------------------------------------------

    def _u(self, draws: Draws, purpose: Purpose, day: int, members: I64) -> F64:
        gid = members if self.gids is None else self.gids[members]
        return draws.uniform(purpose, day, gid)

    def _u_prefix(self, draws: Draws, purpose: Purpose, day: int, k: int) -> F64:
        if self.gids is None:
            return draws.uniform(purpose, day, slice(0, k))
        return draws.uniform(purpose, day, self.gids[:k])

    # -- the day --------------------------------------------------------------------------

    def step(self, today: Today, draws: Draws, joined: int, window: bool) -> DayOutcome:
        """Simulate the day: open it, draw the members' actions, apply them, close it."""
        t = today.day
        cp, st = self.cp, self.state
        new_members = joined - self.joined
        self.joined = joined
        results = [open_day(cp, st, t)]
        self.view.refresh(cp, st, joined, t)
        blocks: list[Block] = []
        self._wake(today, draws)
        self._referrals(t, joined - new_members, joined, blocks)
        buys = self._buy(today, draws, blocks)
        buyers, amounts = buys[0], buys[1]
        n_check, n_act = self._engage(t, draws, joined, buyers, blocks)
        self._refunds_due(t, blocks)
        self._redeem(today, draws, joined, buyers, amounts, blocks)
        events = _merge(blocks)
        res = apply_events(cp, st, t, events)
        results.append(res)
        redemptions = self._after(t, events, res, buyers, window)
        closing = close_day(cp, st, t)
        results.append(closing)
        self._remember_reminders(t, closing)
        return DayOutcome(
            results=results,
            events=events,
            orders=len(buyers),
            gmv=float(amounts.sum()) / MICROS,
            incentive_gmv=buys[2],
            checkins=n_check,
            actions=n_act,
            redemptions=redemptions,
            new_members=new_members,
            churned=buys[3],
        )

    def _wake(self, today: Today, draws: Draws) -> None:
        """Lapsed members come back only at a win-back rate the scenario sets: on a reminder,
        or while a dated campaign boosts their points."""
        wb = self.b.winback
        if not wb.used:
            return
        t = today.day
        cand_parts = []
        p_parts = []
        if len(self.reminded) and wb.reminder > 0:
            m = self.reminded[~self.alive[self.reminded]]
            cand_parts.append(m)
            p_parts.append(np.full(len(m), wb.reminder))
        dated = [
            i
            for i in today.campaign_start
            if self.cp.campaigns[i].start is not None or self.cp.campaigns[i].end is not None
        ]
        if dated and wb.campaign > 0:  # a dated campaign reaches lapsed members
            dead = np.flatnonzero(~self.alive[: self.joined])
            _, camp_f, _ = purchase_multipliers(self.cp, self.state, dead, t)
            m = dead[camp_f > 1.0]
            cand_parts.append(m)
            p_parts.append(np.full(len(m), wb.campaign))
        if not cand_parts:
            return
        m = np.concatenate(cand_parts)
        p = np.concatenate(p_parts)
        if not len(m):
            return
        u = self._u(draws, Purpose.WAKE, t, m)
        self.alive[m[u < p]] = True

    def _referrals(self, t: int, old: int, joined: int, blocks: list[Block]) -> None:
        stages = self.facts.referral_stages
        if not stages:
            return
        for stage, lo, hi in (("signup", old, joined), ("verified", None, None)):
            if stage not in stages:
                continue
            if lo is None:  # verified the day after joining
                lo = int(np.searchsorted(self.pop.join_day, t - 1, side="left"))
                hi = int(np.searchsorted(self.pop.join_day, t - 1, side="right"))
            new = np.arange(lo, hi)
            new = new[self.referrer[new] >= 0]
            if len(new):  # the referee's event pays both sides (the engine ties them)
                blocks.append(Block(new, Kind.REFERRAL, code=referral_code(stage, "referee")))

    def _progress(self, m: I64) -> F64:
        """Share of the way done towards the member's nearest goal: the next reward (their
        redemption threshold) or the next tier."""
        ms = self.state.members
        bal = ms.acct[m, Account.AVAILABLE].astype(np.float64)
        reward: F64 = np.minimum(bal / self.threshold[m], 1.0)
        if not np.isfinite(self.facts.typical):
            reward = np.zeros(len(m))
        thresholds = self.cp.tier_threshold
        if len(thresholds) < 2:
            return reward
        tier = ms.tier[m].astype(np.int64)
        nxt = np.minimum(tier + 1, len(thresholds) - 1)
        tier_p = np.where(
            tier + 1 < len(thresholds), ms.qual_total[m] / np.maximum(thresholds[nxt], 1.0), 0.0
        )
        out: F64 = np.maximum(reward, np.minimum(tier_p, 1.0))
        return out

    def _bound(self) -> float:
        """A factor no member's purchase-rate factor exceeds, once multiplied by the larger of
        1 and the member's price factor ``view.odds`` (and on campaign days by their
        ``view.promo_cap``)."""
        b = self.b
        bound = 1.0 + (b.goal_gradient.g if b.goal_gradient.enabled else 0.0)
        bound *= 1.0 + (b.expiry_deadline.buy_lift if b.expiry_deadline.enabled else 0.0)
        bound *= 1.0 + (b.redemption_halo.lift if b.redemption_halo.enabled else 0.0)
        return bound

    def _buy(self, today: Today, draws: Draws, blocks: list[Block]) -> tuple[I64, I64, float, int]:
        """Who buys today and for how much (micros); drops out buyers who leave."""
        b, pop, t, k = self.b, self.pop, today.day, self.joined
        u = self._u_prefix(draws, Purpose.BUY, t, k)
        p = pop.p_buy[:k]
        cap = np.maximum(self.view.odds[:k], 1.0) * self._bound()
        if today.campaign_start and b.reward_rate.enabled:
            cap = cap * self.view.promo_cap[:k]
        near = u < p * cap
        release = today.day in today.campaign_start.values() and self.deferred[:k].any()
        if release:  # purchases put off before an announced campaign are made on its first day
            near |= self.deferred[:k] > 0
        cand = np.flatnonzero(near & self.alive[:k])
        f = self._factors(today, cand)
        pm = p[cand] * f.total
        if release:
            pm = pm + self.deferred[cand]
            self.deferred[cand] = 0.0
        pm = np.minimum(pm, 1.0)
        hit = u[cand] < pm
        buyers = cand[hit]
        incentive_part = 1.0 - np.minimum(p[buyers] / pm[hit], 1.0)
        self._substitute(today, cand, u[cand], p[cand], f, hit)
        # order values: Gamma-Gamma, from each buyer's own uniform
        uv = self._u(draws, Purpose.VALUE, t, buyers)
        value = np.zeros(len(buyers))
        for shape in np.unique(pop.order_shape[buyers]):
            sel = pop.order_shape[buyers] == shape
            value[sel] = loyalty.gamma_quantile(float(shape), uv[sel])
        value *= pop.order_scale[buyers]
        amounts = np.maximum(np.round(value * MICROS), 1).astype(np.int64)
        incentive = float((incentive_part * value).sum())
        # BG/NBD's dropout follows a baseline purchase: on a day the member's baseline rate
        # has them buy (the same uniform), they drop out with probability ``drop``, lowered by
        # what leaving would forfeit. Loyalty factors that make purchases more or less frequent
        # leave lifetimes as they were, and twins on common random numbers lose the same
        # members on the same days.
        base = cand[u[cand] < p[cand]]
        ud = self._u(draws, Purpose.DROP, t, base)
        ms = self.state.members
        lost = self.view.lost_value(
            base,
            ms.acct[base, Account.AVAILABLE].astype(np.float64),
            ms.tier[base].astype(np.int64),
        )
        died = ud < loyalty.dropout(b.switching_cost, pop.drop[base], lost)
        self.alive[base[died]] = False
        self._order_events(t, draws, buyers, amounts, blocks)
        return buyers, amounts, incentive, int(died.sum())

    def _factors(self, today: Today, m: I64) -> Buying:
        """The loyalty responses' factor on the purchase rate of members ``m`` today."""
        b, pop, t, view = self.b, self.pop, today.day, self.view
        n = len(m)
        if not n:
            return Buying(np.ones(0), np.ones(0), np.ones(0))
        odds = view.odds[m]
        promo = np.ones(n)
        if today.campaign_start and b.reward_rate.enabled and self.facts.pays_for_spend:
            _, camp_f, lead = purchase_multipliers(self.cp, self.state, m, t)
            starts = np.full(n, t, np.int64)
            for i, s in today.campaign_start.items():
                c = self.cp.campaigns[i]
                sel = lead == i
                begin = np.full(int(sel.sum()), s, np.int64)
                if c.max_days_since_join is not None:
                    begin = np.maximum(begin, pop.join_day[m[sel]])
                starts[sel] = begin
            on = np.flatnonzero(camp_f > 1.0)
            rho = view.rho[m[on]]
            promo[on] = loyalty.promotion_factor(
                b.reward_rate, rho, rho * (camp_f[on] - 1.0), (t - starts[on]).astype(float)
            )
        # every reason the programme gives to buy here (price, goal, halo, deadline) acts on
        # the odds of buying here, within the headroom of the member's share of wallet
        pull = loyalty.goal_lift(b.goal_gradient, self._progress(m))
        halo = b.redemption_halo
        if halo.enabled and halo.lift > 0:
            since = t - self.last_redeem[m]
            recent = np.flatnonzero(since < 40.0 * halo.days)  # exp(-40): nothing left
            pull[recent] *= loyalty.halo_lift(halo, since[recent].astype(float))
        ed = b.expiry_deadline
        if ed.enabled and ed.buy_lift > 0 and pop.flexible[m].any():
            flex = m[pop.flexible[m]]
            left = self.view.days_to_expiry(self.cp, self.state, flex, t)
            pull[pop.flexible[m]] *= loyalty.deadline(ed, left, ed.buy_lift)
        share = pop.wallet_share[m]
        total = loyalty.wallet_factor(b.share_of_wallet, odds * promo * pull, share)
        promo_part = total / loyalty.wallet_factor(b.share_of_wallet, odds * pull, share)
        sub = b.substitution
        if sub.enabled:
            debt = self._debt(m, t)
            total *= loyalty.dip_factor(debt)
        pre_dip = np.ones(n)
        if sub.enabled and sub.pre_dip > 0 and today.announced:
            for start in today.announced.values():
                _, camp_f, _ = purchase_multipliers(self.cp, self.state, m, start)
                pre_dip[camp_f > 1.0] = 1.0 - sub.pre_dip
            total *= pre_dip
        return Buying(total, promo_part, pre_dip)

    def _debt(self, m: I64, t: int) -> F64:
        """Borrowed purchases of members ``m`` still owed on day ``t`` (written back)."""
        debt = self.debt[m]
        owing = debt > 0
        if owing.any():
            rate = self.pop.p_buy[m[owing]] / self.b.substitution.repay_interpurchase
            debt[owing] *= np.exp(-rate * (t - self.debt_day[m[owing]]))
            self.debt[m] = debt
        self.debt_day[m] = t
        return debt

    def _substitute(
        self, today: Today, m: I64, u: F64, p: F64, f: Buying, hit: npt.NDArray[np.bool_]
    ) -> None:
        """Book the purchases a promotion borrowed and those an announcement put off."""
        sub = self.b.substitution
        if not sub.enabled or not len(m):
            return
        promoted = hit & (f.promo > 1.0)
        if promoted.any():  # the chance this purchase was the promotion's, a share borrowed
            extra = 1.0 - 1.0 / f.promo[promoted]
            self.debt[m[promoted]] += sub.borrowed_share * extra
        dipped = f.pre_dip < 1.0
        if dipped.any():  # would have bought without the announcement's dip
            without = p * f.total / f.pre_dip
            put_off = dipped & ~hit & (u < np.minimum(without, 1.0))
            self.deferred[m[put_off]] += 1.0

    def _order_events(
        self, t: int, draws: Draws, buyers: I64, amounts: I64, blocks: list[Block]
    ) -> None:
        gid = buyers if self.gids is None else self.gids[buyers]
        ref = t * ORDER_REF_SHIFT + gid
        code: I64 | int = 0
        f = self.facts
        if len(f.category_cum):
            uc = self._u(draws, Purpose.CATEGORY, t, buyers)
            pick = np.searchsorted(f.category_cum, uc, side="right")
            codes = np.append(f.category_codes, 0)
            code = codes[pick]
        qty: I64 | int = 1
        if self.item_price is not None:
            qty = np.maximum(np.round(amounts / (self.item_price * MICROS)), 1).astype(np.int64)
        if self.purchases_as == "investment":
            blocks.append(
                Block(buyers, Kind.INVESTMENT, amounts, t + self.term_days, code, ref=ref)
            )
        else:
            blocks.append(Block(buyers, Kind.PURCHASE, amounts, qty, code, ref=ref))
        first = buyers[~self.bought[buyers]]
        self.bought[buyers] = True
        if "first_purchase" in f.referral_stages and len(first):
            first = first[self.referrer[first] >= 0]
            if len(first):
                blocks.append(
                    Block(first, Kind.REFERRAL, code=referral_code("first_purchase", "referee"))
                )
                blocks.append(
                    Block(
                        self.referrer[first],
                        Kind.REFERRAL,
                        code=referral_code("first_purchase", "referrer"),
                    )
                )
        returns = self.b.returns
        if returns.enabled and returns.rate > 0 and len(buyers):
            back = self._u(draws, Purpose.RETURN, t, buyers) < returns.rate
            m = buyers[back]
            when = (
                t
                + 1
                + np.floor(self._u(draws, Purpose.RETURN_DAY, t, m) * returns.window_days).astype(
                    np.int64
                )
            )
            self.refund_day = np.concatenate([self.refund_day, when])
            self.refund_member = np.concatenate([self.refund_member, m])
            self.refund_ref = np.concatenate([self.refund_ref, ref[back]])
            self.refund_amount = np.concatenate([self.refund_amount, amounts[back]])
            self.refund_points = np.concatenate([self.refund_points, np.full(len(m), -1)])

    def _engage(
        self, t: int, draws: Draws, k: int, buyers: I64, blocks: list[Block]
    ) -> tuple[int, int]:
        """Check-ins, shares, logins, reviews, courses, surveys and profiles, each at the
        member's propensity scaled by what it pays (:func:`loyalty.engagement_factor`)."""
        b, pop, f = self.b, self.pop, self.facts
        eg = b.engagement
        if not eg.enabled:
            return 0, 0
        alive = self.alive[:k]
        ref = self.view.ref
        ratio = float(self.view.ratio[:k].max()) if k else 1.0

        def top(points: float, ref_points: float) -> float:
            """The largest engagement factor of an action today (see ``_pays``)."""
            if ref_points <= 0 or not self.b.redemption.enabled:
                return 1.0 + eg.half_saturation
            x = points / ref_points * ratio
            return (1.0 + eg.half_saturation) * x / (x + eg.half_saturation)

        n_check = 0
        if f.checkin and f.checkin_points > 0:
            ms = self.state.members
            u = self._u_prefix(draws, Purpose.CHECKIN, t, k)
            bound = top(f.checkin_points, ref.checkin_points) * (1.0 + eg.streak_pull)
            cand = np.flatnonzero((u < pop.checkin[:k] * bound) & alive)
            streak = np.where(ms.last_checkin[cand] == t - 1, ms.streak[cand], 0)
            p = pop.checkin[cand] * loyalty.streak_pull(eg, streak)
            p *= self._pays(cand, f.checkin_points, ref.checkin_points)
            go = cand[u[cand] < np.minimum(p, 0.98)]
            blocks.append(Block(go, Kind.CHECKIN))
            n_check = len(go)
        n_act = 0
        for action, purpose, rate in (
            ("share", Purpose.SHARE, pop.share),
            ("login", Purpose.LOGIN, pop.login),
            ("course", Purpose.COURSE, pop.course),
            ("survey", Purpose.SURVEY, pop.survey),
            ("profile", Purpose.PROFILE, pop.profile),
        ):
            if action not in f.actions:
                continue
            u = self._u_prefix(draws, purpose, t, k)
            ok = alive if action != "profile" else alive & ~self.profile_done[:k]
            pts = f.action_points.get(action, 0.0)
            ref_pts = ref.action_points.get(action, 0.0)
            cand = np.flatnonzero((u < rate[:k] * top(pts, ref_pts)) & ok)
            p = rate[cand] * self._pays(cand, pts, ref_pts)
            go = cand[u[cand] < np.minimum(p, 0.98)]
            if action == "profile":
                self.profile_done[go] = True
            blocks.append(Block(go, Kind.ACTION, code=ACTIONS.index(action)))
            n_act += len(go)
        if "review" in f.actions and len(buyers):
            u = self._u(draws, Purpose.REVIEW, t, buyers)
            pts = f.action_points.get("review", 0.0)
            p = eg.review_after_purchase * self._pays(
                buyers, pts, ref.action_points.get("review", 0.0)
            )
            go = buyers[u < np.minimum(p, 0.98)]
            blocks.append(Block(go, Kind.ACTION, code=ACTIONS.index("review")))
            n_act += len(go)
        return n_check, n_act

    def _pays(self, m: I64, points: float, ref_points: float) -> F64:
        """Engagement factor of members ``m`` for an action paying ``points`` here and
        ``ref_points`` under the reference programme, at their perceived point values."""
        view = self.view
        reward = points * view.v[m]
        reference = ref_points * view.v0[m]
        if not self.b.redemption.enabled:  # points that are never used: the face value
            reward = np.full(len(m), points * float(self.facts.tier_value[0]))
            reference = np.full(len(m), ref_points * float(view.ref.tier_value[0]))
        return loyalty.engagement_factor(self.b.engagement, reward, reference)

    def _refunds_due(self, t: int, blocks: list[Block]) -> None:
        due = (self.refund_day <= t) & (self.refund_points >= 0)
        if not due.any():
            return
        send = due & (self.refund_points > 0)  # an order that earned nothing has nothing to reverse
        blocks.append(
            Block(
                self.refund_member[send],
                Kind.REFUND,
                amount=self.refund_amount[send],
                quantity=self.refund_points[send],
                ref=self.refund_ref[send],
            )
        )
        keep = ~due
        for name in ("day", "member", "ref", "amount", "points"):
            attr = f"refund_{name}"
            setattr(self, attr, getattr(self, attr)[keep])

    def _redeem(
        self,
        today: Today,
        draws: Draws,
        k: int,
        buyers: I64,
        amounts: I64,
        blocks: list[Block],
    ) -> None:
        """Cash offset at checkout, catalogue redemptions, lottery, donations, auction bids."""
        rp, f, t = self.b.redemption, self.facts, today.day
        if not rp.enabled or not np.isfinite(f.cheapest):
            return
        ms = self.state.members
        bal_all = ms.acct[:k, Account.AVAILABLE]
        ed = self.b.expiry_deadline
        if f.cash_offset_min is not None and len(buyers):
            bal = bal_all[buyers].astype(np.float64)
            can = bal >= f.cash_offset_min
            u = self._u(draws, Purpose.CHECKOUT, t, buyers)
            ready = loyalty.readiness(
                rp, ed.fade, bal, self.threshold[buyers], self._urge(buyers, t)
            )
            p = loyalty.checkout_probability(rp, ready)
            go = can & (u < p)
            blocks.append(Block(buyers[go], Kind.CASH_OFFSET, amount=amounts[go]))
        alive = self.alive[:k]
        if len(f.item_points) and f.item_weight.any():
            pull = 1.0 + (ed.redeem_lift + ed.reminder_lift if ed.enabled else 0.0)
            day_lift = 1.0 + (rp.points_day_lift if today.points_day else 0.0)
            u = self._u_prefix(draws, Purpose.REDEEM, t, k)
            cheapest_item = float(f.item_points[f.item_weight > 0].min())
            cand = np.flatnonzero((u < rp.max_daily * day_lift * pull) & (bal_all >= cheapest_item))
            bal = bal_all[cand].astype(np.float64)
            urge = self._urge(cand, t)
            push: F64 | float = 1.0
            if ed.enabled:
                since = (t - self.reminded_day[cand]).astype(np.float64)
                push = (
                    1.0 + ed.redeem_lift * urge + ed.reminder_lift * np.exp(-since / REMINDER_DAYS)
                )
            ready = loyalty.readiness(rp, ed.fade, bal, self.threshold[cand], urge)
            p = loyalty.redeem_probability(rp, ready, today.points_day, push)
            p = np.where(alive[cand], p, p * rp.lapsed)
            who = cand[u[cand] < p]
            if len(who):
                item = self._choose_items(today, draws, who)
                ok = item >= 0
                blocks.append(Block(who[ok], Kind.REDEEM, quantity=1, code=item[ok]))
        if f.lottery_cost is not None and rp.lottery_rate > 0:
            u = self._u_prefix(draws, Purpose.LOTTERY, t, k)
            spin = np.flatnonzero((u < rp.lottery_rate) & (bal_all >= f.lottery_cost) & alive)
            blocks.append(Block(spin, Kind.LOTTERY, draw=self._u(draws, Purpose.SPIN, t, spin)))
        if f.donation_min is not None and rp.donation_rate > 0:
            u = self._u_prefix(draws, Purpose.DONATE, t, k)
            give = np.flatnonzero((u < rp.donation_rate) & (bal_all >= f.donation_min) & alive)
            qty = np.maximum(bal_all[give] // 10, f.donation_min)
            blocks.append(Block(give, Kind.DONATE, quantity=qty))
        if len(f.lot_reserve) and rp.bid_rate > 0:
            lowest = int(f.lot_reserve.min())
            u = self._u_prefix(draws, Purpose.BID, t, k)
            bid = np.flatnonzero((u < rp.bid_rate) & (bal_all >= lowest) & alive)
            if len(bid):
                held = bal_all[bid]
                lot = np.argmin(np.where(f.lot_reserve[None, :] <= held[:, None], 0, 1), axis=1)
                reserve = f.lot_reserve[lot]
                extra = self._u(draws, Purpose.BID_SIZE, t, bid) * (held - reserve) * 0.5
                offer = reserve + extra.astype(np.int64)
                blocks.append(Block(bid, Kind.BID, quantity=offer, code=lot.astype(np.int64)))

    def _urge(self, m: I64, t: int) -> F64:
        """How pressing members' ``m`` earliest expiring points are today (0: none expire)."""
        ed = self.b.expiry_deadline
        if not ed.enabled:
            return np.zeros(len(m))
        return loyalty.urgency(ed, self.view.days_to_expiry(self.cp, self.state, m, t))

    def _choose_items(self, today: Today, draws: Draws, who: I64) -> I64:
        """Each redeemer's item: among those affordable, allowed for the tier and in stock, in
        proportion to face value per point (-1: none)."""
        f, ms = self.facts, self.state.members
        price = item_prices(self.cp, today.day)
        bal = ms.acct[who, Account.AVAILABLE]
        tier = ms.tier[who].astype(np.int64)
        stock = self.state.program.stock > 0
        ok = (
            (price[None, :] <= bal[:, None])
            & (f.item_min_tier[None, :] <= tier[:, None])
            & stock[None, :]
        )
        w = np.where(ok, f.item_weight[None, :], 0.0)
        cum = np.cumsum(w, axis=1)
        total = cum[:, -1]
        u = self._u(draws, Purpose.CHOICE, today.day, who) * total
        pick = (cum <= u[:, None]).sum(axis=1)
        out: I64 = np.where(total > 0, np.minimum(pick, len(price) - 1), -1).astype(np.int64)
        return out

    def _after(self, t: int, events: DayEvents, res: DayResult, buyers: I64, window: bool) -> int:
        """Remember who acted and redeemed, and what the day's orders earned (for the refunds
        scheduled on them). Returns the accepted burns (redemptions and donations)."""
        accepted = 0
        self.last_buy[buyers] = t
        if len(events):
            self.last_action[events.member] = t
            ok = res.status == Status.OK
            redeemed = ok & REDEEMING[events.kind]
            self.last_redeem[events.member[redeemed]] = t
            accepted = int(redeemed.sum() + (ok & (events.kind == Kind.DONATE)).sum())
            # points the day's orders earned, for the refunds scheduled on them
            pending = self.refund_points < 0
            if pending.any():
                is_order = (events.kind == Kind.PURCHASE) | (events.kind == Kind.INVESTMENT)
                refs = events.ref[is_order]
                pts = res.points[is_order]
                order = np.argsort(refs)
                pos = np.searchsorted(refs[order], self.refund_ref[pending])
                pos = np.minimum(pos, max(len(refs) - 1, 0))
                found = len(refs) > 0
                earned = pts[order][pos] if found else np.zeros(int(pending.sum()), np.int64)
                self.refund_points[pending] = np.maximum(earned, 0)
        if window and len(buyers):
            self.orders_window[buyers] += 1
        return accepted

    def _remember_reminders(self, t: int, closing: DayResult) -> None:
        self.reminded = closing.reminder_member
        self.reminded_day[closing.reminder_member] = t


def _merge(blocks: list[Block]) -> DayEvents:
    """One batch, in member order (a member's events in the order their blocks were made)."""
    blocks = [b for b in blocks if len(b.member)]
    if not blocks:
        return DayEvents.empty()
    member = np.concatenate([b.member for b in blocks])
    sizes = [len(b.member) for b in blocks]
    order = np.argsort(member, kind="stable")

    def col(name: str, dtype: type) -> npt.NDArray[Any]:
        values = [getattr(b, name) for b in blocks]
        whole: npt.NDArray[Any]
        if not any(isinstance(v, np.ndarray) for v in values):  # one number per block
            whole = np.repeat(np.array(values, dtype), sizes)
        else:
            whole = np.concatenate(
                [
                    np.asarray(v, dtype) if isinstance(v, np.ndarray) else np.full(size, v, dtype)
                    for v, size in zip(values, sizes, strict=True)
                ]
            )
        out: npt.NDArray[Any] = whole[order]
        return out

    return DayEvents(
        member=member[order],
        kind=col("kind", np.int64),
        seq=np.arange(len(member), dtype=np.int64),
        amount=col("amount", np.int64),
        quantity=col("quantity", np.int64),
        code=col("code", np.int64),
        ref=col("ref", np.int64),
        draw=col("draw", np.float64),
    )

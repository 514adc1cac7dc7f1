"""Earn: events -> candidate points per rule -> multipliers -> caps -> postings.

Every candidate carries the event it comes from and its rule's position in the policy's order,
so caps are applied in arrival order (event ``seq``) and, within an event, in rule order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.engine.arith import whole_points
from sim.engine.codes import REFERRAL_BIT, STAGES, Kind, Status, referral_code
from sim.engine.context import Ctx
from sim.engine.groups import cumsum_in_group, first_among, first_of_group, rank_in_group
from sim.engine.tiers import add_qualifying, upgrade_now
from sim.policy import ACTIONS, MICROS
from sim.policy.earn import (
    ActionRule,
    CheckinRule,
    EarnRule,
    InvestmentRule,
    OneTimeRule,
    PerItemRule,
    PurchaseRule,
    ReferralRule,
    TaskRule,
)

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


def _round(x: F64, how: str) -> I64:
    return whole_points(x, how)


@dataclass
class Activity:
    """Per-event facts the earn rules share, worked out once per call."""

    checkin_new: B  # a check-in that counts (first of the member's day)
    checkins: I64  # indices of those check-ins
    streaks: I64  # the streak each of them reaches
    first_purchase: B  # first purchase of the member in this batch


def record_activity(ctx: Ctx) -> Activity:
    """Update activity state: last active day, check-in streaks, spend and GMV."""
    ev, ms, day = ctx.events, ctx.ms, ctx.day
    ms.last_active[ev.member] = day

    chk = ctx.of_kind(Kind.CHECKIN)
    new = np.zeros(len(ev), bool)
    counted = streaks = np.zeros(0, np.int64)
    if len(chk):
        m = ev.member[chk]
        last = ms.last_checkin[m]
        first = first_of_group(m) & (last != day)
        ctx.status[chk[~first]] = Status.DUPLICATE
        first_idx = np.flatnonzero(first)
        counted = chk[first_idx]
        new[counted] = True
        cm = m[first_idx]
        streaks = np.where(last[first_idx] == day - 1, ms.streak[cm] + 1, 1)
        ms.streak[cm] = streaks
        ms.last_checkin[cm] = day

    buy = ctx.of_kind(Kind.PURCHASE)
    if len(buy):
        amounts = ev.amount[buy]
        ctx.ps.gmv_days[day % 30] += int(amounts.sum())
        if not ctx.cp.qualify_points:
            add_qualifying(ctx, ev.member[buy], amounts)
            upgrade_now(ctx, ev.member[buy])
    wants_first = any(
        isinstance(r, OneTimeRule) and r.trigger == "first_purchase" for _, r in ctx.cp.earn
    )
    first_buy = first_among(ev.member, buy) if wants_first else np.zeros(0, bool)
    return Activity(new, counted, streaks, first_buy)


def rule_candidates(ctx: Ctx, act: Activity, rule_idx: int, rule: EarnRule) -> tuple[I64, I64]:
    """(event indices, base points) this rule pays, before multipliers and caps."""
    ev, ms = ctx.events, ctx.ms
    none = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    if isinstance(rule, PurchaseRule):
        idx = ctx.of_kind(Kind.PURCHASE)
        if rule.min_amount > 0:  # amounts are >= 0 (validated)
            idx = idx[ev.amount[idx] >= rule.min_amount * MICROS]
        cat = np.ones(len(ctx.cp.categories))
        for name, mult in rule.category_multipliers.items():
            cat[ctx.cp.categories.index(name)] = mult
        code = np.clip(ev.code[idx], 0, len(cat) - 1)
        pts = _round(ev.amount[idx] / MICROS * rule.points_per_unit * cat[code], rule.rounding)
        return idx, pts
    if isinstance(rule, PerItemRule):
        idx = ctx.of_kind(Kind.PURCHASE)
        if rule.categories:
            codes = [ctx.cp.categories.index(c) for c in rule.categories]
            idx = idx[np.isin(ev.code[idx], codes)]
        idx = idx[ev.quantity[idx] > 0]
        return idx, ev.quantity[idx] * rule.points_per_item
    if isinstance(rule, CheckinRule):
        idx, s = act.checkins, act.streaks
        table = np.asarray(rule.streak_points, np.int64)
        n = len(table)
        pos = np.minimum(s, n)
        if rule.after_table == "restart":
            long = s > n  # only streaks past the table need the modulo
            pos[long] = (s[long] - 1) % n + 1
        pts = table[pos - 1]
        if rule.bonus_day is not None:
            hit = (
                (pos == rule.bonus_day)
                if rule.after_table == "restart"
                else (s % rule.bonus_day == 0)
            )
            pts = pts + np.where(hit, rule.bonus_points, 0)
        return idx, pts
    if isinstance(rule, ActionRule):
        idx = _actions(ctx, rule.action)
        return idx, np.full(len(idx), rule.points, np.int64)
    if isinstance(rule, OneTimeRule):
        if rule.trigger == "first_purchase":
            mask = act.first_purchase.copy()
        else:
            actions = _actions(ctx, rule.trigger)
            mask = first_among(ev.member, actions)
        bit = np.int64(1) << ctx.cp.one_time_bit[rule_idx]
        idx = np.flatnonzero(mask)
        idx = idx[(ms.flags[ev.member[idx]] & bit) == 0]  # not rewarded before
        if rule.trigger != "first_purchase":
            repeated = np.zeros(len(ev), bool)
            repeated[actions] = True
            repeated[idx] = False
            ctx.status[repeated] = Status.DUPLICATE
        ms.flags[ev.member[idx]] |= bit
        return idx, np.full(len(idx), rule.points, np.int64)
    if isinstance(rule, ReferralRule):
        return _referral(ctx, rule_idx, rule)
    if isinstance(rule, InvestmentRule):
        idx = ctx.of_kind(Kind.INVESTMENT)
        return idx, _round(ev.amount[idx] / MICROS * rule.points_per_unit, rule.rounding)
    if isinstance(rule, TaskRule):
        return _task(ctx, act, rule_idx, rule)
    return none  # mentor share is paid from other rules' results


def _referral(ctx: Ctx, rule_idx: int, rule: ReferralRule) -> tuple[I64, I64]:
    """A referral stage, tied to the referral relation: the referee's event of the stage pays
    the referee and the member that referred them (their ``referrer``), once per referee and
    stage (a flag bit on the referee), and nothing to a member without a referrer or who is
    their own. A referrer's own event pays nothing: it is paid with its referee's (the
    referrer's rows go through caps and multipliers like any earning: ``ctx.referrers``,
    collected by :func:`sim.engine.award.collect`)."""
    ev, ms = ctx.events, ctx.ms
    stage = STAGES.index(rule.stage)
    referrals = ctx.of_kind(Kind.REFERRAL)
    mine = referrals[ev.code[referrals] == referral_code(rule.stage, "referee")]
    if not len(mine):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    m = ev.member[mine]
    referrer = ms.referrer[m]
    bit = np.int64(1) << (REFERRAL_BIT + stage)
    related = (referrer >= 0) & (referrer != m)
    fresh = related & ((ms.flags[m] & bit) == 0) & first_of_group(m)
    ctx.status[mine[~related]] = Status.NO_MATCH
    ctx.status[mine[related & ~fresh]] = Status.DUPLICATE
    paid = mine[fresh]
    ms.flags[m[fresh]] |= bit
    if rule.referrer_points and len(paid):
        ctx.referrers.append((rule_idx, paid, referrer[fresh], rule.referrer_points))
    if not rule.referee_points:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return paid, np.full(len(paid), rule.referee_points, np.int64)


def _actions(ctx: Ctx, action: str) -> I64:
    """Indices of the batch's ACTION events of ``action``."""
    idx = ctx.of_kind(Kind.ACTION)
    out: I64 = idx[ctx.events.code[idx] == ACTIONS.index(action)]
    return out


def _task_events(ctx: Ctx, act: Activity, action: str) -> I64:
    if action == "purchase":
        return ctx.of_kind(Kind.PURCHASE)
    if action == "checkin":
        return act.checkins
    return _actions(ctx, action)


def _task(ctx: Ctx, act: Activity, rule_idx: int, rule: TaskRule) -> tuple[I64, I64]:
    ev, ms, col = ctx.events, ctx.ms, ctx.cp.task_col[rule_idx]
    idx = _task_events(ctx, act, "purchase" if rule.task == "spend" else rule.action)
    if len(idx) == 0:
        return idx, np.zeros(0, np.int64)
    m = ev.member[idx]
    if rule.task == "streak":
        first = first_of_group(m)
        idx, m = idx[first], m[first]
        stamp, prog = ms.task_stamp[m, col], ms.task_progress[m, col]
        counts = stamp != ctx.day
        idx, m, stamp, prog = idx[counts], m[counts], stamp[counts], prog[counts]
        new = np.where(stamp == ctx.day - 1, prog + 1, 1)
        ms.task_progress[m, col] = new
        ms.task_stamp[m, col] = ctx.day
        hit = new % rule.days == 0
        return idx[hit], np.full(int(hit.sum()), rule.points, np.int64)
    period = ctx.week if rule.period == "week" else ctx.month
    stale = ms.task_stamp[m, col] != period
    ms.task_progress[m[stale], col] = 0
    ms.task_stamp[m, col] = period
    prev = ms.task_progress[m, col]
    if rule.task == "count":
        done = prev + rank_in_group(m)
        hit = done == rule.count
        step = np.ones(len(m), np.int64)
    else:
        target = round(rule.spend * MICROS)
        step = ev.amount[idx]
        done = prev + cumsum_in_group(m, step)
        hit = (done >= target) & (done - step < target)
    np.add.at(ms.task_progress[:, col], m, step)
    return idx[hit], np.full(int(hit.sum()), rule.points, np.int64)

"""From candidate points to awarded points: multipliers, campaigns, caps, then postings.

Caps are applied in arrival order: a candidate gets ``min(points, what is left of every cap
it falls under)``. Each cap scope is handled separately; within a day, once a cap is used up
nothing later under it is paid, so applying the per-rule caps and then the overall caps is
the same as applying them all event by event.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.engine.arith import whole_points
from sim.engine.boost import stack, tier_factor
from sim.engine.codes import EARN_KIND, Account, Kind, Status
from sim.engine.compiled import UNLIMITED, CompiledCampaign, CompiledPolicy
from sim.engine.context import Ctx
from sim.engine.earn import Activity, record_activity, rule_candidates
from sim.engine.groups import group_sum, scatter_add
from sim.engine.journal import credit_lots
from sim.engine.quote import campaign_active, in_audience
from sim.engine.tiers import add_qualifying, benefit_tier, upgrade_now
from sim.policy.earn import InvestmentRule

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


@dataclass
class Parts:
    """Points to award, one row per (event, rule) part, in canonical order."""

    event: I64
    member: I64
    rule: I64  # rule the posting is made under (an earn rule or a campaign)
    base: I64  # the earn rule whose caps, delay and qualifying status apply
    prio: I64  # position of ``base`` in the policy's order; campaign parts come after
    points: I64

    def __len__(self) -> int:
        return len(self.event)

    def take(self, mask: B | I64) -> Parts:
        idx = np.flatnonzero(mask) if mask.dtype == bool else mask  # one scan of the mask
        return Parts(*(getattr(self, f)[idx] for f in Parts.__dataclass_fields__))


def _multiply(ctx: Ctx, rule: I64, member: I64, base: I64) -> tuple[I64, I64, I64, I64]:
    """Points with tier and birthday multipliers (per row), and the campaign extras as sparse
    rows: (boosted, rows hit by a campaign, extra points of those rows, campaign rule id).

    Work is done only on the rows a multiplier can touch: boostable rules for tiers, and the
    audience of each campaign active today."""
    cp, ms = ctx.cp, ctx.ms
    boosted = base.copy()
    rows = np.flatnonzero(cp.rule_boostable[rule])
    tier_f = np.ones(len(rows))
    special_tier = (cp.tier_mult != 1) | (cp.tier_bday != 1)
    if len(rows) and special_tier.any():
        # rows of tiers with both factors 1 keep their points (floor(p * 1.0 + EPS) == p)
        tier = benefit_tier(ctx, member[rows])
        sp = np.flatnonzero(special_tier[tier])
        t, r = tier[sp], rows[sp]
        f = tier_factor(cp, t, ms.birth_month[member[r]], ctx.month_of_year)
        tier_f[sp] = f
        boosted[r] = whole_points(base[r] * f)
    none = np.zeros(0, np.int64)
    active = [c for c in cp.campaigns if campaign_active(c, ctx.day)]
    if not active:
        return boosted, none, none, none
    hits: list[tuple[I64, CompiledCampaign]] = []
    for c in active:
        boosted_rule = c.boosts[rule]
        r = np.arange(len(rule)) if boosted_rule.all() else np.flatnonzero(boosted_rule)
        keep = in_audience(c, ms, ctx.ps, member[r], ctx.day)
        if keep.any():
            hits.append((r[keep], c))
    if not hits:
        return boosted, none, none, none
    hit_rows = np.unique(np.concatenate([r for r, _ in hits]))
    k = len(hit_rows)
    camp_f = np.ones(k)
    bonus = np.zeros(k, np.int64)
    lead = np.full(k, -1, np.int64)
    lead_mult = np.zeros(k)
    for r, c in hits:
        j = np.searchsorted(hit_rows, r)
        camp_f[j] = stack(cp.campaign_stacking, camp_f[j], c.multiplier)
        bonus[j] += c.bonus
        better = (c.multiplier > lead_mult[j]) | (lead[j] < 0)
        lead[j[better]] = c.rule_id
        lead_mult[j[better]] = c.multiplier
    row_tier_f = np.ones(len(rule))
    row_tier_f[rows] = tier_f
    total = whole_points(base[hit_rows] * row_tier_f[hit_rows] * camp_f)
    extra = np.maximum(total + bonus - boosted[hit_rows], 0)
    return boosted, hit_rows, extra, lead


def _reset_counters(ctx: Ctx, member: I64) -> None:
    """Zero the daily (monthly) counters of members last counted on another day (month)."""
    ms = ctx.ms
    if ctx.ps.fresh_day == ctx.day:
        return  # open_day reset everyone
    stale = member[ms.cap_day[member] != ctx.day]  # members may repeat: assignments are idempotent
    if len(stale):
        ms.rule_day[stale] = 0
        ms.overall_day[stale] = 0
        ms.cap_day[stale] = ctx.day
    stale = member[ms.cap_month[member] != ctx.month]
    if len(stale):
        ms.rule_month[stale] = 0
        ms.overall_month[stale] = 0
        ms.cap_month[stale] = ctx.month


def _apply_cap(parts: Parts, sel: I64 | None, remaining: I64) -> None:
    """Cut the points of parts ``sel`` (None: all) so each member's running total stays within
    ``remaining`` (given per element of ``sel``), in canonical order."""
    m = parts.member if sel is None else parts.member[sel]
    pts_sel = parts.points if sel is None else parts.points[sel]
    if len(m) == 0:
        return
    size = int(m.max()) + 1
    if len(m) * 8 >= size:
        total = np.bincount(m, weights=pts_sel, minlength=size)[m]
    else:  # few parts: a sort beats a pass over every member
        keys, sums = group_sum(m, pts_sel)
        total = sums[np.searchsorted(keys, m)]
    over = np.flatnonzero(total > remaining)
    if len(over) == 0:
        return
    sub = over if sel is None else sel[over]
    rem = remaining[over]
    order = np.lexsort((parts.prio[sub], parts.event[sub], parts.member[sub]))
    sub, rem = sub[order], rem[order]
    sm, pts = parts.member[sub], parts.points[sub]
    cs = np.cumsum(pts)
    start = np.r_[True, sm[1:] != sm[:-1]]
    first = np.maximum.accumulate(np.where(start, np.arange(len(sub)), 0))
    before = (cs - pts) - (cs - pts)[first]
    parts.points[sub] = np.clip(rem - before, 0, pts)


def _caps(ctx: Ctx, parts: Parts) -> None:
    """Per-rule caps, then the overall caps; the counters then record what was paid."""
    cp, ms = ctx.cp, ctx.ms
    _reset_counters(ctx, parts.member)
    capped_rules: list[tuple[int, I64]] = []
    for rule_idx, col in cp.cap_col.items():
        sel = np.flatnonzero(parts.base == rule_idx)
        if len(sel) == 0:
            continue
        m = parts.member[sel]
        rem = np.minimum(
            cp.cap_day[col] - ms.rule_day[m, col], cp.cap_month[col] - ms.rule_month[m, col]
        )
        _apply_cap(parts, sel, np.maximum(rem, 0))
        capped_rules.append((col, sel))
    counted = cp.rule_overall_cap[parts.base]
    rows = None if counted.all() else np.flatnonzero(counted)
    m = parts.member if rows is None else parts.member[rows]
    day_cap, month_cap = cp.overall_day < UNLIMITED, cp.overall_month < UNLIMITED
    if len(m) and (day_cap or month_cap):  # an unlimited scope needs no counting
        if day_cap and month_cap:
            rem = np.minimum(
                cp.overall_day - ms.overall_day[m], cp.overall_month - ms.overall_month[m]
            )
        elif day_cap:
            rem = cp.overall_day - ms.overall_day[m]
        else:
            rem = cp.overall_month - ms.overall_month[m]
        _apply_cap(parts, rows, np.maximum(rem, 0))
        paid = parts.points if rows is None else parts.points[rows]
        if day_cap:
            scatter_add(ms.overall_day, m, paid)
        if month_cap:
            scatter_add(ms.overall_month, m, paid)
    for col, sel in capped_rules:  # after the overall caps: count only what is paid
        scatter_add(ms.rule_day[:, col], parts.member[sel], parts.points[sel])
        scatter_add(ms.rule_month[:, col], parts.member[sel], parts.points[sel])


def collect(ctx: Ctx, act: Activity) -> Parts:
    """Every (event, rule) part the batch's events are owed, multipliers applied."""
    ev = ctx.events
    ev_idx, bases, rules, members = [], [], [], []
    for rule_idx, earn_rule in ctx.cp.earn:
        idx, pts = rule_candidates(ctx, act, rule_idx, earn_rule)
        keep = pts > 0
        if not keep.all():
            keep_idx = np.flatnonzero(keep)
            idx, pts = idx[keep_idx], pts[keep_idx]
        ev_idx.append(idx)
        bases.append(pts)
        rules.append(rule_idx)
        members.append(ev.member[idx])
        for owed_rule, event, referrer, points in ctx.referrers:
            if owed_rule == rule_idx:  # the referrer's side, paid for the referee's event
                ev_idx.append(event)
                bases.append(np.full(len(event), points, np.int64))
                rules.append(rule_idx)
                members.append(referrer)
    adj = ctx.of_kind(Kind.ADJUST)
    adj = adj[ev.quantity[adj] > 0]
    ev_idx.append(adj)
    bases.append(ev.quantity[adj])
    rules.append(ctx.cp.rule("adjust"))
    members.append(ev.member[adj])
    # a run of rows per rule, in the policy's order (adjustments last)
    run = [len(i) for i in ev_idx]
    idx = np.concatenate(ev_idx)
    base_pts = np.concatenate(bases)
    rule = np.repeat(np.array(rules, np.int64), run)
    prio_all = np.repeat(np.arange(len(rules), dtype=np.int64), run)
    member = np.concatenate(members).astype(np.int64, copy=False)
    boosted, rows, extra, lead = _multiply(ctx, rule, member, base_pts)
    main = Parts(idx, member, rule, rule, prio_all * 2, boosted)
    has = extra > 0
    if not has.any():
        return main
    rows, extra, lead = rows[has], extra[has], lead[has]
    camp = Parts(idx[rows], member[rows], lead, rule[rows], prio_all[rows] * 2 + 1, extra)
    return Parts(
        *(np.concatenate([getattr(main, f), getattr(camp, f)]) for f in Parts.__dataclass_fields__)
    )


def apply_earn(ctx: Ctx) -> None:
    """Pay every earn rule for the batch's events."""
    act = record_activity(ctx)
    parts = collect(ctx, act)
    ev, cp, ms = ctx.events, ctx.cp, ctx.ms
    asked = parts.points.copy()
    frozen_block = cp.freeze_blocks_earn
    if frozen_block:
        blocked = ms.frozen[parts.member] & (parts.base != cp.rule("adjust"))
        parts.points[blocked] = 0
    _caps(ctx, parts)
    own = parts.member == ev.member[parts.event]  # not a referrer's side of a referral
    mine = own.all()
    np.add.at(ctx.points, parts.event, parts.points if mine else parts.points * own)
    wanted = ctx.points
    if (parts.points < asked).any():
        wanted = np.zeros(len(ev), np.int64)
        np.add.at(wanted, parts.event, asked if mine else asked * own)
        ctx.status[(wanted > 0) & (ctx.points < wanted)] = Status.CAPPED
    earn_kinds = EARN_KIND[ev.kind]
    no_rule = earn_kinds & (wanted == 0) & (ctx.status == Status.OK)
    for _rule, event, _referrer, _points in ctx.referrers:
        no_rule[event] = False  # it paid the referrer
    ctx.status[no_rule] = Status.NO_RULE
    if frozen_block:
        ctx.status[earn_kinds & ms.frozen[ev.member] & (wanted > 0)] = Status.FROZEN
    paid = parts.points > 0
    _post(ctx, parts if paid.all() else parts.take(paid))
    ctx.referrers.clear()


def _post(ctx: Ctx, parts: Parts) -> None:
    """Post the parts: available now, or pending (delayed rules, investments); mentors are
    paid on what is available now."""
    later = _deferred(ctx.cp, parts.base)
    if later is None or not later.any():
        now, pending = parts, None
    else:
        now, pending = parts.take(~later), parts.take(later)
    if len(now):
        _post_available(ctx, now)
    if pending is not None:
        _post_pending(ctx, pending)
    if ctx.cp.mentor and len(now):
        pay_mentors(ctx, now.member, now.rule, now.points, now.event)


def _deferred(cp: CompiledPolicy, base: I64) -> B | None:
    """Rows whose points are pending (a delayed rule, or an investment paid at maturity);
    None when the policy defers nothing."""
    investments = [i for i, rule in cp.earn if isinstance(rule, InvestmentRule)]
    if not investments and not cp.rule_delay.any():
        return None
    later: B = cp.rule_delay[base] > 0
    for rule_idx in investments:
        later |= base == rule_idx
    return later


def _post_available(ctx: Ctx, p: Parts) -> None:
    cp = ctx.cp
    ctx.journal.post(p.member, p.rule, Account.ISSUED, Account.AVAILABLE, p.points, event=p.event)
    credit_lots(ctx.ms, p.member, p.points, ctx.earn_slot())
    if cp.qualify_points:
        q = cp.rule_qualifying[p.base]
        qm, qp = (p.member, p.points) if q.all() else (p.member[q], p.points[q])
        add_qualifying(ctx, qm, qp)
        upgrade_now(ctx, qm)


def _post_pending(ctx: Ctx, p: Parts) -> None:
    cp, ev = ctx.cp, ctx.events
    delay = cp.rule_delay[p.base]
    maturity = np.zeros(len(p), bool)
    for rule_idx, rule in cp.earn:
        if isinstance(rule, InvestmentRule):
            maturity |= p.base == rule_idx
    release = np.where(maturity, np.maximum(ev.quantity[p.event], ctx.day + 1), ctx.day + delay)
    ctx.journal.post(p.member, p.rule, Account.ISSUED, Account.PENDING, p.points, event=p.event)
    ctx.ps.pending.append(
        member=p.member, release=release, points=p.points, rule=p.rule, ref=ev.ref[p.event]
    )


def pay_mentors(ctx: Ctx, member: I64, rule_ids: I64, points: I64, event: I64 | int = -1) -> None:
    """Mentor share: a referrer receives a share of the points that become available to the
    members it referred (at once, or when delayed points are released, so points voided by a
    refund inside the window are never shared). Paid as pending points due later."""
    ms = ctx.ms
    for rule_idx, rule, shared in ctx.cp.mentor:
        referrer = ms.referrer[member]
        sel = shared[rule_ids] & (referrer >= 0) & (referrer != member)  # never oneself
        if rule.days is not None:
            sel &= (ctx.day - ms.join_day[member]) < rule.days
        if not sel.any():
            continue
        pts = whole_points(points[sel] * rule.share)
        mentor = ms.referrer[member[sel]]
        keep = pts > 0
        if isinstance(event, np.ndarray):
            # nobody earns a mentor share of their own event (possible only where referrals
            # form a cycle: a referee's payment to its referrer shared back to the referee)
            has = event[sel] >= 0
            keep &= ~has | (mentor != ctx.events.member[np.maximum(event[sel], 0)])
        ev_idx = event[sel][keep] if isinstance(event, np.ndarray) else event
        mentor, pts = mentor[keep], pts[keep]
        ctx.journal.post(mentor, rule_idx, Account.ISSUED, Account.PENDING, pts, event=ev_idx)
        ctx.ps.pending.append(
            member=mentor, release=ctx.day + rule.delay_days, points=pts, rule=rule_idx, ref=-1
        )

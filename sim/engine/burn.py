"""Refunds and burns: points leave a member's balance, earliest-expiring lots first.

Burns are handled in rounds: round r takes each member's r-th burn of the batch (in arrival
order), so a member's burns see the balance left by the earlier ones exactly, while the array
code runs over all members at once. Limited stock is given out in the same order.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sim.engine.codes import BURN_KINDS, Account, Kind, Status
from sim.engine.compiled import UNLIMITED
from sim.engine.context import Ctx
from sim.engine.groups import cumsum_in_group, group_sum, rank_in_group
from sim.engine.journal import balance, credit_lots, debit_lots
from sim.engine.quote import item_prices
from sim.engine.tiers import add_qualifying, benefit_tier

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


def apply_refunds(ctx: Ctx) -> None:
    """Reverse the points of refunded orders: pending points of the order are voided first,
    the rest is clawed back from the balance (or recorded as a shortfall, by policy)."""
    ev, ms, ps = ctx.events, ctx.ms, ctx.ps
    idx = ctx.of_kind(Kind.REFUND)
    if len(idx) == 0:
        return
    m, ref, want = ev.member[idx], ev.ref[idx], ev.quantity[idx]
    ctx.ps.gmv_days[ctx.day % 30] -= int(ev.amount[idx].sum())
    if not ctx.cp.qualify_points:
        add_qualifying(ctx, m, -ev.amount[idx])

    voided = np.zeros(len(idx), np.int64)
    pend = ps.pending
    rows = np.flatnonzero(np.isin(pend.ref, ref) & (pend.ref >= 0))
    if len(rows):
        keys = np.concatenate(
            [np.stack([m, ref], 1), np.stack([pend.member[rows], pend.ref[rows]], 1)]
        )
        _, group = np.unique(keys, axis=0, return_inverse=True)
        group = group.ravel()
        g_ev, g_row = group[: len(idx)], group[len(idx) :]
        held = np.zeros(group.max() + 1, np.int64)
        np.add.at(held, g_row, pend.points[rows])
        before = cumsum_in_group(g_ev, want, inclusive=False)
        voided = np.clip(held[g_ev] - before, 0, want)
        used = np.zeros(len(held), np.int64)
        np.add.at(used, g_ev, voided)
        rb = cumsum_in_group(g_row, pend.points[rows], inclusive=False)
        take_rows = np.clip(used[g_row] - rb, 0, pend.points[rows])
        pend.points[rows] -= take_rows
        pend.keep(pend.points > 0)
        ctx.journal.post(
            m, ctx.cp.rule("refund"), Account.PENDING, Account.REVERSED, voided, event=idx
        )

    rest = want - voided
    bal = np.maximum(balance(ms, m), 0)
    if ctx.cp.clawback_cap:
        before = cumsum_in_group(m, rest, inclusive=False)
        take = np.clip(bal - before, 0, rest)
        np.add.at(ms.shortfall, m, rest - take)
    else:
        take = rest
    um, total = group_sum(m, take)
    owed = debit_lots(ms, um, total, ctx.fifo_order())
    ms.debt[um] += owed
    ctx.journal.post(m, ctx.cp.rule("refund"), Account.AVAILABLE, Account.REVERSED, take, event=idx)
    if ctx.cp.qualify_points:
        add_qualifying(ctx, m, -take)
    ctx.points[idx] = -(voided + take)
    ctx.status[idx] = np.where((voided + take) == 0, Status.NO_MATCH, Status.OK)


def apply_burns(ctx: Ctx) -> None:
    """Burns in arrival order. Members whose requests compete for the last units of a limited
    item are served one event at a time in arrival order; everyone else in rounds."""
    ev = ctx.events
    idx = _burn_events(ctx)
    if len(idx) == 0:
        return
    contended = _contended_members(ctx, idx)
    if contended is not None:
        one_by_one = np.isin(ev.member[idx], contended)
        for i in idx[one_by_one]:
            _round(ctx, np.array([i], np.int64))
        idx = idx[~one_by_one]
        if len(idx) == 0:
            return
    rank = rank_in_group(ev.member[idx])
    for r in range(1, int(rank.max()) + 1):
        _round(ctx, idx[rank == r])


def _burn_events(ctx: Ctx) -> I64:
    """Indices of the batch's burns (and debit adjustments), in arrival order."""
    adjust = ctx.of_kind(Kind.ADJUST)
    parts = [ctx.of_kind(k) for k in BURN_KINDS if ctx.has_kind(k)]
    parts.append(adjust[ctx.events.quantity[adjust] < 0])
    if len(parts) == 1:
        return parts[0]
    idx: I64 = np.sort(np.concatenate(parts))
    return idx


def _contended_members(ctx: Ctx, idx: I64) -> I64 | None:
    """Members whose requests compete for the last units of a limited item, or None.

    An item is contended when its stock is above zero but below the units asked for by
    requests that could succeed (the member's balance at the start of the burns covers the
    price, the member is not frozen and holds the tier): only then does arrival order across
    members decide who gets the last units."""
    ev, cp, ms, stock = ctx.events, ctx.cp, ctx.ms, ctx.ps.stock
    if not ((stock > 0) & (stock < UNLIMITED)).any():
        return None  # no limited item has units left to compete for
    code = ev.code[idx]
    red = idx[(ev.kind[idx] == Kind.REDEEM) & (code >= 0) & (code < len(stock))]
    if len(red) == 0:
        return None
    item = ev.code[red]
    limited = (stock[item] > 0) & (stock[item] < UNLIMITED)
    red, item = red[limited], item[limited]
    if len(red) == 0:
        return None
    m = ev.member[red]
    units = np.maximum(ev.quantity[red], 1)
    held = balance(ms, m)
    feasible = (
        (held >= _price(ctx, item) * units)
        & ~ms.frozen[m]
        & (benefit_tier(ctx, m) >= cp.item_min_tier[item])
    )
    items, demand = group_sum(item[feasible], units[feasible])
    tight = items[demand > stock[items]]
    if len(tight) == 0:
        return None
    return np.unique(m[np.isin(item, tight)])


def _price(ctx: Ctx, item: I64) -> I64:
    """Points price of one unit of each catalogue item today (points day discount applied)."""
    price: I64 = item_prices(ctx.cp, ctx.day)[item]
    return price


def _round(ctx: Ctx, sel: I64) -> None:
    cp, ms, ps, ev = ctx.cp, ctx.ms, ctx.ps, ctx.events
    m, kind, code, qty = ev.member[sel], ev.kind[sel], ev.code[sel], ev.quantity[sel]
    n = len(sel)
    tier = benefit_tier(ctx, m)
    bal = balance(ms, m)
    need = np.zeros(n, np.int64)
    cost = np.zeros(n, np.int64)
    dst = np.full(n, int(Account.REDEEMED), np.int64)
    rule = np.full(n, -1, np.int64)
    status = np.full(n, int(Status.OK), np.int64)
    prize_pts = np.zeros(n, np.int64)
    value = cp.point_values(ps.value_factor)[tier]

    k = kind == Kind.REDEEM
    if k.any():
        n_items = len(cp.item_ids)
        valid = k & (code >= 0) & (code < n_items)
        status[k & ~valid] = Status.UNKNOWN_ITEM
        c = np.where(valid, code, 0)
        if n_items:
            units = np.maximum(qty, 1)
            price = _price(ctx, c) * units
            need = np.where(valid, price, need)
            cost = np.where(valid, cp.item_cost[c] * units, cost)
            rule = np.where(valid, cp.rule_ids.index("item:" + cp.item_ids[0]) + c, rule)
            status[valid & ~cp.item_enabled[c]] = Status.DISABLED
            status[valid & (tier < cp.item_min_tier[c])] = Status.TIER_TOO_LOW
    k = kind == Kind.CASH_OFFSET
    if k.any():
        if not cp.offset_enabled:
            status[k] = Status.DISABLED
        else:
            amount = ev.amount[sel]
            most = np.floor(cp.offset_max_share * amount / np.maximum(value, 1) + 1e-9)
            most = most.astype(np.int64)
            want = np.where(qty > 0, qty, most)
            pts = np.minimum(np.minimum(want, most), np.maximum(bal, 0))
            pts = pts // cp.offset_step * cp.offset_step
            low = pts < max(cp.offset_min_points, 1)
            status[k & low] = np.where(
                bal[k & low] < cp.offset_min_points, Status.INSUFFICIENT, Status.BELOW_MINIMUM
            )
            need = np.where(k, pts, need)
            cost = np.where(k, pts * value, cost)
            rule = np.where(k, cp.rule("cash_offset"), rule)
    k = kind == Kind.LOTTERY
    if k.any():
        if cp.lottery_cost == 0:
            status[k] = Status.DISABLED
        else:
            p = np.searchsorted(cp.prize_cum, ev.draw[sel], side="right")
            won = k & (p < len(cp.prize_cum))
            pc = np.minimum(p, len(cp.prize_cum) - 1)
            need = np.where(k, cp.lottery_cost, need)
            cost = np.where(won, cp.prize_cost[pc], cost)
            prize_pts = np.where(won, cp.prize_points[pc], 0)
            rule = np.where(k, cp.rule("lottery"), rule)
    k = kind == Kind.DONATE
    if k.any():
        if not cp.donation_enabled:
            status[k] = Status.DISABLED
        else:
            status[k & (qty < cp.donation_min)] = Status.BELOW_MINIMUM
            per = value if cp.donation_per_point < 0 else cp.donation_per_point
            need = np.where(k, qty, need)
            cost = np.where(k, qty * per, cost)
            dst = np.where(k, int(Account.DONATED), dst)
            rule = np.where(k, cp.rule("donation"), rule)
    k = kind == Kind.ADJUST
    if k.any():
        need = np.where(k, -qty, need)
        dst = np.where(k, int(Account.REVERSED), dst)
        rule = np.where(k, cp.rule("adjust"), rule)
    k = kind == Kind.BID
    if k.any():
        n_lots = len(cp.lot_ids)
        valid = k & (code >= 0) & (code < n_lots)
        status[k & ~valid] = Status.DISABLED if n_lots == 0 else Status.UNKNOWN_ITEM
        c = np.where(valid, code, 0)
        if n_lots:
            status[valid & (qty < cp.lot_reserve[c])] = Status.BELOW_MINIMUM

    frozen = ms.frozen[m] & (kind != Kind.ADJUST)
    status[(status == Status.OK) & frozen] = Status.FROZEN
    check = (kind == Kind.BID) & (status == Status.OK)
    status[check & (bal < qty)] = Status.INSUFFICIENT
    status[(status == Status.OK) & (kind != Kind.BID) & (bal < need)] = Status.INSUFFICIENT

    redeem = np.flatnonzero((kind == Kind.REDEEM) & (status == Status.OK))
    if len(redeem):
        item = code[redeem]
        units = np.maximum(qty[redeem], 1)
        before = cumsum_in_group(item, units, inclusive=False)
        out = before + units > ps.stock[item]
        status[redeem[out]] = Status.OUT_OF_STOCK
        ok = redeem[~out]
        np.subtract.at(ps.stock, code[ok], np.maximum(qty[ok], 1))

    bids = (kind == Kind.BID) & (status == Status.OK)
    if bids.any():
        ps.bids.append(
            member=m[bids], lot=code[bids], points=qty[bids], day=ctx.day, seq=ev.seq[sel][bids]
        )

    ok = (status == Status.OK) & (kind != Kind.BID)
    if ok.any():
        oki = np.flatnonzero(ok)
        mo, no, do = m[oki], need[oki], dst[oki]
        debit_lots(ms, mo, no, ctx.fifo_order())
        for d in sorted(set(do.tolist())):
            s = np.flatnonzero(do == d)
            ctx.journal.post(
                mo[s],
                rule[oki[s]],
                Account.AVAILABLE,
                Account(int(d)),
                no[s],
                cost[oki[s]],
                sel[oki[s]],
            )
        prize = ok & (prize_pts > 0)
        if prize.any():
            ctx.journal.post(
                m[prize],
                cp.rule("lottery_prize"),
                Account.ISSUED,
                Account.AVAILABLE,
                prize_pts[prize],
                event=sel[prize],
            )
            credit_lots(ms, m[prize], prize_pts[prize], ctx.earn_slot())
    ctx.points[sel] = np.where(ok, -need + prize_pts, 0)
    ctx.status[sel] = status


def close_auctions(ctx: Ctx) -> None:
    """Sealed first-price auctions: on a lot's closing day the highest bids that the bidders can
    still pay win (ties: the earlier bid, by day then arrival), up to the lot's quantity."""
    cp, ms, ps = ctx.cp, ctx.ms, ctx.ps
    for lot in np.flatnonzero(cp.lot_close_dom == ctx.day_of_month):
        mine = ps.bids.lot == lot
        if not mine.any():
            continue
        rows = np.flatnonzero(mine)
        rows = rows[np.lexsort((ps.bids.seq[rows], ps.bids.day[rows], -ps.bids.points[rows]))]
        left = int(cp.lot_quantity[lot])
        rule = cp.rule("auction:" + cp.lot_ids[lot])
        for row in rows:
            if left == 0:
                break
            member, pts = ps.bids.member[row : row + 1], ps.bids.points[row : row + 1]
            if ms.frozen[member[0]] or balance(ms, member)[0] < pts[0]:
                continue
            debit_lots(ms, member, pts, ctx.fifo_order())
            ctx.journal.post(
                member, rule, Account.AVAILABLE, Account.REDEEMED, pts, cp.lot_cost[lot]
            )
            left -= 1
        ps.bids.keep(~mine)

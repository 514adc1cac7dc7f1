"""Tier qualification: a ring of monthly qualifying totals per member, and reviews."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from sim.engine import calendar as cal
from sim.engine.groups import scatter_add, unique
from sim.engine.state import tier_in_force

if TYPE_CHECKING:
    from sim.engine.context import Ctx
    from sim.engine.state import MemberState

I64 = npt.NDArray[np.int64]


def roll_qualifying(ms: MemberState, member: I64, month: int) -> None:
    """Bring members' qualifying rings up to ``month``, clearing the months that left the
    window (members not touched for a while are brought up to date lazily). Members are
    grouped by the month their ring is current to, so the work is whole-column operations."""
    if len(member) == 0:
        return
    window = ms.qual.shape[1]
    behind = ms.qual_month[member] < month
    if not behind.any():
        return
    stale = member[behind]
    if len(stale) > 1 and not (stale[1:] > stale[:-1]).all():
        stale = unique(stale)  # callers usually pass sorted distinct members
    # a ring at least a window behind is cleared whole: clip its stamp to month - window
    stamps = np.maximum(ms.qual_month[stale], month - window)
    low, high = int(stamps.min()), int(stamps.max())
    for stamp in range(low, high + 1):  # a loop over months, not members
        mm = stale if low == high else stale[stamps == stamp]
        if len(mm) == 0:
            continue
        everyone = len(mm) == len(ms.qual_total)
        for k in range(1, month - stamp + 1):
            col = ms.qual[:, (stamp + k) % window]
            if everyone:  # the usual month change in a simulation: whole contiguous columns
                ms.qual_total -= col
                col[:] = 0
            else:
                ms.qual_total[mm] -= col[mm]
                col[mm] = 0
    ms.qual_month[stale] = month


def add_qualifying(ctx: Ctx, member: I64, amount: I64) -> None:
    """Add qualifying points (or spend micros) to this month's total (members may repeat)."""
    if len(member) == 0:
        return
    ms = ctx.ms
    if ctx.ps.fresh_day != ctx.day:
        roll_qualifying(ms, member, ctx.month)
    scatter_add(ms.qual[:, ctx.month % ms.qual.shape[1]], member, amount)
    scatter_add(ms.qual_total, member, amount)


def target_tier(ctx: Ctx, member: I64, *, rolled: bool = False) -> I64:
    """The tier each member's qualifying total over the window reaches (the lowest for a
    total below zero, which refunds of points earned before the window can leave)."""
    ms = ctx.ms
    if not rolled and ctx.ps.fresh_day != ctx.day:
        roll_qualifying(ms, member, ctx.month)
    total = ms.qual_total[member]
    reached = np.searchsorted(ctx.cp.tier_threshold, total, side="right") - 1
    return np.maximum(reached, 0).astype(np.int64)


def upgrade_now(ctx: Ctx, member: I64) -> None:
    """Immediate upgrades for members whose qualifying total just grew."""
    if not ctx.cp.upgrade_immediate or len(ctx.cp.tier_names) == 1:
        return
    ms = ctx.ms
    if ctx.ps.fresh_day != ctx.day:
        roll_qualifying(ms, member, ctx.month)
    # cheap screen: only members past their next tier's threshold need the full search
    next_threshold = np.append(ctx.cp.tier_threshold[1:], np.inf)
    m = unique(member[ms.qual_total[member] >= next_threshold[ms.tier[member]]])
    if len(m) == 0:
        return
    target = target_tier(ctx, m, rolled=True)
    up = target > ctx.ms.tier[m]
    if up.any():
        _change(ctx, m[up], target[up])


def review(ctx: Ctx) -> None:
    """Scheduled review (end of month / quarter / year): upgrades and downgrades."""
    cp = ctx.cp
    if len(cp.tier_names) == 1 or not cal.is_review_day(ctx.day, cp.review):
        return
    ms = ctx.ms
    m = np.arange(len(ms), dtype=np.int64)
    target = target_tier(ctx, m)
    current = ms.tier.astype(np.int64)
    if cp.downgrade == "none":
        new = np.maximum(current, target)
    elif cp.downgrade == "one_step":
        new = np.where(target < current, np.maximum(current - 1, target), target)
    else:
        new = target
    changed = new != current
    if changed.any():
        _change(ctx, m[changed], new[changed])


def benefit_tier(ctx: Ctx, member: I64) -> I64:
    """The tier whose benefits apply to members today (see :func:`state.tier_in_force`)."""
    return tier_in_force(ctx.ms, ctx.ps, member, ctx.day)


def _change(ctx: Ctx, member: I64, new: I64) -> None:
    ms = ctx.ms
    old = ms.tier[member]
    first = ms.tier_day[member] != ctx.day
    ms.tier_open[member[first]] = old[first]
    ms.tier_day[member] = ctx.day
    ctx.ps.tier_changed_day = ctx.day
    ctx.tier_changes.append((member.copy(), old.astype(np.int64), new.copy()))
    ms.tier[member] = new

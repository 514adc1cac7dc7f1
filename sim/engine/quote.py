"""What a member would be told before acting: the multipliers on a purchase's points today.

Shells use it to show offers (the ledger's quotes, the world's members responding to a
campaign). It reads state and changes nothing; the same audience rule serves the award.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sim.engine import calendar as cal
from sim.engine.boost import stack, tier_factor
from sim.engine.compiled import CompiledCampaign, CompiledPolicy
from sim.engine.state import EngineState, MemberState, ProgramState, tier_in_force

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


def campaign_active(c: CompiledCampaign, day: int) -> bool:
    """Whether the campaign's date window contains ``day``."""
    date = cal.to_date(day)
    if c.start is None or c.end is None:
        if c.start is not None and (date.year, date.month, date.day) < c.start:
            return False
        return not (c.end is not None and (date.year, date.month, date.day) > c.end)
    if c.yearly:
        md = (date.month, date.day)
        s, e = c.start[1:], c.end[1:]
        return s <= md <= e if s <= e else (md >= s or md <= e)
    return c.start <= (date.year, date.month, date.day) <= c.end


def in_audience(c: CompiledCampaign, ms: MemberState, ps: ProgramState, member: I64, day: int) -> B:
    """Which of ``member`` (positions) the campaign's audience holds on ``day``."""
    keep = np.ones(len(member), bool)
    if c.max_days_since_join is not None:
        keep &= _joined_after(ms, member, day - c.max_days_since_join)
    if c.tiers is not None:
        keep &= c.tiers[tier_in_force(ms, ps, member, day)]
    if c.groups is not None:
        keep &= c.groups[ms.group[member]]
    if c.birthday_month:
        keep &= ms.birth_month[member] == cal.to_date(day).month
    return keep


def _joined_after(ms: MemberState, member: I64, day: int) -> B:
    """``join_day[member] > day``. For a batch touching a large share of the members, one pass
    over all of them and a gather from the boolean result (an eighth of the bytes of the join
    days, so it stays in cache) is cheaper than gathering the join days themselves."""
    if len(member) * 8 > len(ms):
        out: B = (ms.join_day > day)[member]
        return out
    return ms.join_day[member] > day


def purchase_rule(cp: CompiledPolicy) -> int | None:
    """Index of the first enabled purchase rule (None: the policy pays nothing for spend)."""
    for idx, rule in cp.earn:
        if rule.kind == "purchase":
            return idx
    return None


def purchase_multipliers(
    cp: CompiledPolicy, state: EngineState, member: I64, day: int
) -> tuple[F64, F64, I64]:
    """For members (positions) buying today: the tier factor (tier and birthday multipliers)
    and the campaign factor on the purchase rule's points, and the leading campaign's index
    in ``cp.campaigns`` (-1: none). Campaign factors combine by the policy's stacking; fixed
    bonuses are not included."""
    n = len(member)
    ms, ps = state.members, state.program
    tier_f = np.ones(n)
    camp_f = np.ones(n)
    lead = np.full(n, -1, np.int64)
    rule = purchase_rule(cp)
    if rule is None or n == 0:
        return tier_f, camp_f, lead
    if cp.rule_boostable[rule] and ((cp.tier_mult != 1).any() or (cp.tier_bday != 1).any()):
        tier = tier_in_force(ms, ps, member, day)
        tier_f = tier_factor(cp, tier, ms.birth_month[member], cal.to_date(day).month)
    best = np.zeros(n)
    for i, c in enumerate(cp.campaigns):
        if not c.boosts[rule] or c.multiplier == 1.0 or not campaign_active(c, day):
            continue
        hit = in_audience(c, ms, ps, member, day)
        camp_f[hit] = stack(cp.campaign_stacking, camp_f[hit], c.multiplier)
        better = hit & (c.multiplier > best)
        lead[better] = i
        best[better] = c.multiplier
    return tier_f, camp_f, lead


def item_prices(cp: CompiledPolicy, day: int) -> I64:
    """Points price of one unit of each catalogue item on ``day`` (the monthly points day's
    discount applied, rounded up)."""
    points_day = cp.points_day and cal.to_date(day).day == cp.points_day
    return (cp.points_day_price if points_day else cp.item_points).copy()


def days_to_expiry(cp: CompiledPolicy, state: EngineState, member: I64, day: int) -> F64:
    """For members (positions): days from ``day`` to the last day on which their
    earliest-expiring available points are still valid (0: they expire tonight; inf: none of
    their points expire). The figure the expiry reminders announce."""
    return earliest_expiry(cp, state, member, day)[0]


def earliest_expiry(
    cp: CompiledPolicy, state: EngineState, member: I64, day: int
) -> tuple[F64, I64]:
    """:func:`days_to_expiry` and the lot bucket (column of ``lots``) holding those points
    (-1: none, or an expiry scheme without dated buckets)."""
    scheme, ms = cp.expiry, state.members
    out = np.full(len(member), np.inf)
    slot = np.full(len(member), -1, np.int64)
    if not len(member):
        return out, slot
    if scheme.periodic:
        left = np.arange(len(member))  # positions (in ``member``) not yet placed
        first = scheme.current_period(day)
        for period in range(first, first + scheme.slots):  # earliest period first
            held = ms.lots[member[left], period % scheme.slots] > 0
            out[left[held]] = scheme.end_day(period) - day
            slot[left[held]] = period % scheme.slots
            left = left[~held]
            if not len(left):
                break
    elif scheme.mode == "inactivity":
        held = ms.lots[member, 0] > 0
        out[held] = ms.last_active[member[held]] + scheme.inactivity_days - day
    return out, slot

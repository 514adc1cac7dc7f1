"""The one place account balances change: every change is a posting, recorded and applied."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sim.engine.codes import Account
from sim.engine.events import Postings
from sim.engine.groups import group_sum, scatter_add
from sim.engine.state import EngineState, MemberState, tier_in_force

I64 = npt.NDArray[np.int64]
ArrayOrInt = I64 | int


class Journal:
    """Collects an engine call's postings and applies each to the member accounts."""

    def __init__(self, state: EngineState, point_value: I64, day: int) -> None:
        """``point_value``: micros per point by tier index, today; postings are valued at the
        tier whose benefits apply on ``day`` (the tier held when the day opened)."""
        self.members = state.members
        self.program = state.program
        self.point_value = point_value
        self.day = day
        self._parts: list[Postings] = []
        self._flat_value = bool((point_value == point_value[0]).all())
        """Every tier's point is worth the same today: values need no member's tier."""

    def post(
        self,
        member: I64,
        rule: ArrayOrInt,
        src: Account,
        dst: Account,
        points: I64,
        cost: ArrayOrInt = 0,
        event: ArrayOrInt = -1,
    ) -> None:
        """Move ``points`` from ``src`` to ``dst`` for each member (rows with no points and no
        cost are dropped). Points issued are counted in the ISSUED column."""
        n = len(member)
        if n == 0:
            return
        pts = np.asarray(points, np.int64)
        no_cost = isinstance(cost, int) and cost == 0
        cst = (
            np.zeros(n, np.int64) if no_cost else np.broadcast_to(np.asarray(cost, np.int64), (n,))
        )
        keep = (pts != 0) if no_cost else (pts != 0) | (cst != 0)
        if not keep.all():
            keep = np.flatnonzero(keep)  # one scan of the mask for every column
            member, pts, cst = member[keep], pts[keep], cst[keep]
            rule = rule[keep] if isinstance(rule, np.ndarray) else rule
            event = event[keep] if isinstance(event, np.ndarray) else event
            n = len(member)
            if n == 0:
                return
        acct = self.members.acct  # column views are contiguous (column-major state)
        scatter_add(
            acct[:, Account.ISSUED if src == Account.ISSUED else src],
            member,
            pts if src == Account.ISSUED else -pts,
        )
        scatter_add(acct[:, dst], member, pts)
        self._parts.append(
            Postings(
                member=member.astype(np.int64, copy=False),
                rule=_column(rule, n),
                src=np.full(n, int(src), np.int64),
                dst=np.full(n, int(dst), np.int64),
                points=pts,
                value=pts * self._point_value(member),
                cost=cst if no_cost else cst.copy(),
                event=_column(event, n),
            )
        )

    def _point_value(self, member: I64) -> I64 | np.int64:
        """Micros per point of each member's tier in force (one number when all agree)."""
        if self._flat_value:
            flat: np.int64 = self.point_value[0]
            return flat
        out: I64 = self.point_value[tier_in_force(self.members, self.program, member, self.day)]
        return out

    def chunks(self) -> list[Postings]:
        """The postings of the call, one chunk per post."""
        return list(self._parts)


def _column(value: ArrayOrInt, n: int) -> I64:
    """A per-row int64 column: the array itself when it is one, else the value repeated."""
    if isinstance(value, np.ndarray) and value.shape == (n,) and value.dtype == np.int64:
        return value
    return np.full(n, value, np.int64) if np.ndim(value) == 0 else np.asarray(value, np.int64)


def balance(members: MemberState, member: I64) -> I64:
    """Available points of members (the account; the invariants check it equals lots - debt)."""
    out: I64 = members.acct[:, Account.AVAILABLE][member]
    return out


def credit_lots(members: MemberState, member: I64, points: I64, slot: int) -> None:
    """Add available points to the lot bucket ``slot`` (members may repeat), paying down any
    debt first."""
    if len(member) == 0:
        return
    if not members.debt.any():  # one scan; debt arises only from clawback beyond a balance
        scatter_add(members.lots[:, slot], member, points)
        return
    um, up = group_sum(member, points)
    lot = members.lots[:, slot]
    pay = np.minimum(members.debt[um], up)
    members.debt[um] -= pay
    lot[um] += up - pay


def debit_lots(members: MemberState, member: I64, points: I64, order: I64) -> I64:
    """Take ``points`` (>= 0) from each (unique) member's lots, earliest expiry first; returns
    what could not be taken from lots (when ``points`` exceeded them).

    A block of (buckets in expiry order x members): a bucket gives what the request still
    needs after the earlier buckets, ``clip(points - held before it, 0, held)``. Loops go over
    buckets, never members; a bucket is written back only where it gives something."""
    rest = points.astype(np.int64, copy=True)
    if len(member) == 0:
        return rest
    lots = members.lots
    held = np.empty((len(order), len(member)), np.int64)
    for i, slot in enumerate(order):  # a gather per bucket beats one 2-D gather
        np.take(lots[:, slot], member, out=held[i])
    before = np.cumsum(held, axis=0) - held
    take = np.clip(rest - before, 0, held)
    for i, slot in enumerate(order):
        given = np.flatnonzero(take[i])
        if len(given):
            lots[:, slot][member[given]] = held[i, given] - take[i, given]
    rest -= take.sum(axis=0)
    return rest

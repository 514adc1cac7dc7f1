"""The one place account balances change: every change is a posting, recorded and applied."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sim.engine.codes import Account
from sim.engine.events import Postings
from sim.engine.groups import member_totals
from sim.engine.state import MemberState

I64 = npt.NDArray[np.int64]
ArrayOrInt = I64 | int


class Journal:
    """Collects an engine call's postings and applies each to the member accounts."""

    def __init__(self, members: MemberState, point_value: I64) -> None:
        """``point_value``: micros per point by tier index, today."""
        self.members = members
        self.point_value = point_value
        self._parts: list[Postings] = []

    def post(
        self,
        member: I64,
        rule: ArrayOrInt,
        src: Account,
        dst: Account,
        points: I64,
        cost: ArrayOrInt = 0,
        event: ArrayOrInt = -1,
    ) -> tuple[I64, I64]:
        """Move ``points`` from ``src`` to ``dst`` for each member (rows with no points and no
        cost are dropped). Points issued are counted in the ISSUED column. Returns the distinct
        members and the points moved for each."""
        n = len(member)
        none = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        if n == 0:
            return none
        pts = np.asarray(points, np.int64)
        cst = np.broadcast_to(np.asarray(cost, np.int64), (n,))
        keep = (pts != 0) | (cst != 0)
        if not keep.all():
            member, pts, cst = member[keep], pts[keep], cst[keep]
            rule = rule[keep] if isinstance(rule, np.ndarray) else rule
            event = event[keep] if isinstance(event, np.ndarray) else event
            n = len(member)
            if n == 0:
                return none
        acct = self.members.acct
        um, up = member_totals(member, pts, len(acct))
        if src == Account.ISSUED:
            acct[:, Account.ISSUED][um] += up  # column views: contiguous (column-major state)
        else:
            acct[:, src][um] -= up
        acct[:, dst][um] += up
        self._parts.append(
            Postings(
                member=member.astype(np.int64, copy=False),
                rule=np.broadcast_to(np.asarray(rule, np.int64), (n,)).copy(),
                src=np.full(n, int(src), np.int64),
                dst=np.full(n, int(dst), np.int64),
                points=pts,
                value=pts * self.point_value[self.members.tier[member]],
                cost=cst.copy(),
                event=np.broadcast_to(np.asarray(event, np.int64), (n,)).copy(),
            )
        )
        return um, up

    def postings(self) -> Postings:
        return Postings.concat(self._parts)


def credit_lots(members: MemberState, um: I64, up: I64, slot: int) -> None:
    """Add available points ``up`` of distinct members ``um`` to the lot of ``slot``, paying
    down any debt first."""
    if len(um) == 0:
        return
    lot = members.lots[:, slot]
    debt = members.debt[um]
    if not debt.any():
        lot[um] += up
        return
    pay = np.minimum(debt, up)
    members.debt[um] = debt - pay
    lot[um] += up - pay


def debit_lots(members: MemberState, member: I64, points: I64, order: I64) -> I64:
    """Take ``points`` from each (unique) member's lots, earliest expiry first; returns what
    could not be taken from lots (when ``points`` exceeded them)."""
    if len(member) == 0:
        return np.zeros(0, np.int64)
    lots = members.lots[member][:, order]
    before = np.cumsum(lots, axis=1) - lots
    take = np.clip(points[:, None] - before, 0, lots)
    members.lots[member[:, None], order[None, :]] = lots - take
    rest: I64 = points - take.sum(axis=1)
    return rest

"""Liability: what the points members hold are worth, one definition.

Outstanding points are pending plus available points. The programme's liability values them at
each member's point value today (tier and dynamic level, :meth:`CompiledPolicy.point_values`),
in exact integer micros: the figure the world's metrics and the ledger's day close report.

The dynamic-value rule compares a different figure on purpose: :func:`anchor_liability`, the
outstanding points at the programme's anchor point value (``program.point_value``) times the
dynamic level, without tier values or rounding, so the rule does not move with the tier mix.
"""

from __future__ import annotations

import numpy as np

from sim.engine.codes import Account
from sim.engine.compiled import CompiledPolicy
from sim.engine.state import MemberState


def outstanding_points(members: MemberState) -> int:
    """Pending plus available points of all members."""
    acct = members.acct
    return int(acct[:, Account.PENDING].sum()) + int(acct[:, Account.AVAILABLE].sum())


def liability_micros(cp: CompiledPolicy, members: MemberState, value_factor: float) -> int:
    """Outstanding points valued at each member's point value at dynamic level
    ``value_factor`` (the tier the member holds), in micros of the currency: exact integer
    sums, so the figure does not depend on summation order or BLAS threads.

    Most members hold the lowest tier: every point is counted at the lowest tier's value and
    only members above it add the difference."""
    values = cp.point_values(value_factor)
    micros = outstanding_points(members) * int(values[0])
    if (values == values[0]).all():
        return micros
    upper = np.flatnonzero(members.tier != 0)  # a bool scan: several times faster on int8
    if len(upper):
        acct = members.acct
        held = acct[upper, Account.PENDING] + acct[upper, Account.AVAILABLE]
        extra = values[members.tier[upper].astype(np.int64)] - values[0]
        micros += int((held * extra).sum())
    return micros


def anchor_liability(cp: CompiledPolicy, members: MemberState, value_factor: float) -> float:
    """Outstanding points at the anchor point value times ``value_factor``, in micros (a float,
    not rounded): what the dynamic-value rule compares with the last 30 days' GMV."""
    return outstanding_points(members) * cp.anchor_value * value_factor

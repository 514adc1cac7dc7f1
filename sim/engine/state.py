"""Engine state: struct-of-arrays per member, plus programme-wide tables.

Two-dimensional member arrays (accounts, lots, qualifying months, counters) are shaped
``(members, k)`` and stored column-major, so one account or lot bucket across members is
contiguous: the day step mostly touches one column for many members.

Arrays are indexed by member position ``0..n-1``. The engine's functions update the arrays they
are given in place and touch nothing else; use :meth:`EngineState.copy` to keep a snapshot.
"""

from __future__ import annotations

import copy as _copy
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from sim.engine.calendar import month_index
from sim.engine.codes import N_ACCOUNTS
from sim.engine.compiled import CompiledPolicy

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
NEVER_DAY = -(2**30)


def _col() -> I64:
    return np.zeros(0, np.int64)


@dataclass
class Table:
    """A programme-wide table of int64 columns (rows are appended and filtered, never edited
    one by one)."""

    member: I64 = field(default_factory=_col)

    def __len__(self) -> int:
        return len(self.member)

    def append(self, **columns: I64 | int) -> None:
        n = len(np.atleast_1d(columns["member"]))
        for f in fields(self):
            new = np.broadcast_to(np.asarray(columns[f.name], np.int64), (n,))
            setattr(self, f.name, np.concatenate([getattr(self, f.name), new]))

    def keep(self, mask: npt.NDArray[np.bool_]) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name)[mask])


@dataclass
class Pending(Table):
    """Points issued but not yet available: released on day ``release``; ``ref`` is the order
    (or investment) they came from, -1 for none."""

    release: I64 = field(default_factory=_col)
    points: I64 = field(default_factory=_col)
    rule: I64 = field(default_factory=_col)
    ref: I64 = field(default_factory=_col)


@dataclass
class Bids(Table):
    """Sealed auction bids waiting for their lot to close (``day`` and ``seq`` order ties)."""

    lot: I64 = field(default_factory=_col)
    points: I64 = field(default_factory=_col)
    day: I64 = field(default_factory=_col)
    seq: I64 = field(default_factory=_col)


@dataclass
class MemberState:
    """Per-member arrays. ``acct[:, Account.X]`` are the account balances in points."""

    join_day: I64
    birth_month: npt.NDArray[np.int8]  # 1-12, 0 unknown
    group: npt.NDArray[np.int16]
    referrer: I64  # member position of the referrer, -1 none
    tier: npt.NDArray[np.int8]
    tier_open: npt.NDArray[np.int8]  # tier when ``tier_day`` opened (benefits follow it that day)
    tier_day: I64  # day of the member's last tier change
    frozen: npt.NDArray[np.bool_]
    acct: I64  # (n, N_ACCOUNTS)
    debt: I64  # points owed after a clawback beyond the balance (available = lots - debt)
    shortfall: I64  # clawback that could not be taken (memo, not an account)
    lots: I64  # (n, slots) available points by expiry bucket
    qual: I64  # (n, window_months) qualifying points or spend micros by month
    qual_month: I64  # month index the qual ring is current to
    qual_total: I64  # sum of the qual ring
    streak: I64
    last_checkin: I64
    last_active: I64
    flags: I64  # one-time rules done, one bit each
    cap_day: I64  # day the daily counters belong to
    cap_month: I64  # month the monthly counters belong to
    rule_day: I64  # (n, capped rules)
    rule_month: I64
    overall_day: I64
    overall_month: I64
    task_progress: I64  # (n, tasks)
    task_stamp: I64  # (n, tasks) period (or day for streak tasks) the progress belongs to

    def __len__(self) -> int:
        return len(self.join_day)

    @property
    def available(self) -> I64:
        result: I64 = self.acct[:, 2].copy()  # Account.AVAILABLE
        return result

    def copy(self) -> MemberState:
        return MemberState(**{f.name: getattr(self, f.name).copy() for f in fields(self)})

    def take(self, idx: I64) -> MemberState:
        """A new state holding members ``idx`` (copies)."""
        return MemberState(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    def put(self, idx: I64, part: MemberState) -> None:
        """Write ``part`` (as returned by :meth:`take`) back at positions ``idx``."""
        for f in fields(self):
            getattr(self, f.name)[idx] = getattr(part, f.name)


@dataclass
class ProgramState:
    """Programme-wide state: the clock, stock, pending and auction tables, value level."""

    day: int  # last day opened
    expired_through: int  # last expiry period already expired
    value_factor: float
    stock: I64
    gmv_days: I64  # micros of purchases, ring over the last 30 days
    pending: Pending
    bids: Bids
    tier_changed_day: int = NEVER_DAY
    """The last day a member's tier changed (benefits of such members follow tier_open)."""
    fresh_day: int = NEVER_DAY
    """open_day reset every member's daily counters (and monthly ones and qualifying months
    at a month change) for this day, so the per-member stale checks can be skipped."""


@dataclass
class EngineState:
    members: MemberState
    program: ProgramState

    def copy(self) -> EngineState:
        return _copy.deepcopy(self)


def tier_in_force(members: MemberState, program: ProgramState, member: I64, day: int) -> I64:
    """The tier whose benefits (multipliers, point value, tier-only items, campaign audiences)
    apply to members on ``day``: the tier they held when the day opened. A change made today
    takes effect tomorrow, so splitting a day's events into batches never changes the result."""
    if program.tier_changed_day != day:  # no change today: the current tier
        return members.tier[member].astype(np.int64)
    changed_today = members.tier_day[member] == day
    return np.where(changed_today, members.tier_open[member], members.tier[member]).astype(np.int64)


def new_state(
    cp: CompiledPolicy,
    n: int,
    start_day: int,
    *,
    join_day: I64 | None = None,
    birth_month: npt.NDArray[np.int8] | None = None,
    group: npt.NDArray[np.int16] | None = None,
    referrer: I64 | None = None,
) -> EngineState:
    """Empty state for ``n`` members under ``cp``, the clock set to the day before ``start_day``."""
    if n < 0:
        raise ValueError(f"n(={n}) must be >= 0")

    def vec(value: int, dtype: type = np.int64) -> npt.NDArray[Any]:
        return np.full(n, value, dtype)

    def given(arr: npt.ArrayLike | None, default: int, dtype: type) -> npt.NDArray[Any]:
        if arr is None:
            return vec(default, dtype)
        out: npt.NDArray[Any] = np.asarray(arr, dtype)
        if out.shape != (n,):
            raise ValueError(f"member array of shape {out.shape}, expected ({n},)")
        return out.copy()

    window = cp.window_months
    members = MemberState(
        join_day=given(join_day, start_day, np.int64),
        birth_month=given(birth_month, 0, np.int8),
        group=given(group, 0, np.int16),
        referrer=given(referrer, -1, np.int64),
        tier=vec(0, np.int8),
        tier_open=vec(0, np.int8),
        tier_day=vec(NEVER_DAY),
        frozen=np.zeros(n, bool),
        acct=np.zeros((n, N_ACCOUNTS), np.int64, order="F"),
        debt=vec(0),
        shortfall=vec(0),
        lots=np.zeros((n, cp.expiry.slots), np.int64, order="F"),
        qual=np.zeros((n, window), np.int64, order="F"),
        qual_month=vec(month_index(start_day)),
        qual_total=vec(0),
        streak=vec(0),
        last_checkin=vec(NEVER_DAY),
        last_active=given(join_day, start_day, np.int64),
        flags=vec(0),
        cap_day=vec(NEVER_DAY),
        cap_month=vec(NEVER_DAY),
        rule_day=np.zeros((n, len(cp.cap_col)), np.int64, order="F"),
        rule_month=np.zeros((n, len(cp.cap_col)), np.int64, order="F"),
        overall_day=vec(0),
        overall_month=vec(0),
        task_progress=np.zeros((n, len(cp.task_col)), np.int64, order="F"),
        task_stamp=np.full((n, len(cp.task_col)), NEVER_DAY, np.int64, order="F"),
    )
    program = ProgramState(
        day=start_day - 1,
        expired_through=cp.expiry.current_period(start_day) - 1,
        value_factor=1.0,
        stock=cp.item_stock.copy(),
        gmv_days=np.zeros(30, np.int64),
        pending=Pending(),
        bids=Bids(),
    )
    return EngineState(members, program)

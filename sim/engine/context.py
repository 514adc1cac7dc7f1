"""What one engine call works with: policy, state, the day, the events and their outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from sim.engine import calendar as cal
from sim.engine.codes import KIND_MAX, Kind, Status
from sim.engine.compiled import CompiledPolicy
from sim.engine.events import DayEvents
from sim.engine.journal import Journal
from sim.engine.state import EngineState, MemberState, ProgramState

I64 = npt.NDArray[np.int64]


@dataclass
class Ctx:
    cp: CompiledPolicy
    state: EngineState
    day: int
    events: DayEvents
    journal: Journal
    status: npt.NDArray[np.int8] = field(init=False)
    points: I64 = field(init=False)
    """Per event: points earned (+) or spent (-) by the member."""
    month: int = field(init=False)
    week: int = field(init=False)
    month_of_year: int = field(init=False)
    day_of_month: int = field(init=False)
    tier_changes: list[tuple[I64, I64, I64]] = field(default_factory=list)
    """(members, old tier, new tier) for every change made in this call."""
    reminders: list[tuple[I64, int, I64]] = field(default_factory=list)
    referrers: list[tuple[int, I64, I64, int]] = field(default_factory=list)
    """Referral bonuses owed to referrers: (rule, referee event, referrer, points), paid
    with the referee's event (collected by :func:`sim.engine.award.collect`)."""
    """(members, days before expiry, points expiring) for every reminder due."""
    _kind_count: I64 | None = field(default=None, init=False, repr=False)
    _of_kind: dict[int, I64] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        n = len(self.events)
        self.status = np.full(n, Status.OK, np.int8)
        self.points = np.zeros(n, np.int64)
        date = cal.to_date(self.day)
        self.month = cal.month_index(self.day)
        self.week = cal.week_index(self.day)
        self.month_of_year = date.month
        self.day_of_month = date.day

    def has_kind(self, *kinds: Kind) -> bool:
        """Whether the batch holds an event of any of ``kinds`` (one count per call)."""
        if self._kind_count is None:
            self._kind_count = np.bincount(self.events.kind, minlength=KIND_MAX + 1)
        return any(self._kind_count[k] for k in kinds)

    def of_kind(self, kind: Kind) -> I64:
        """Indices of the batch's events of ``kind``, in arrival order: found once per call,
        for the several steps of a day that look for the same kind."""
        found = self._of_kind.get(kind)
        if found is None:
            if self.has_kind(kind):
                found = np.flatnonzero(self.events.kind == kind)
            else:
                found = np.zeros(0, np.int64)
            self._of_kind[kind] = found
        return found

    @property
    def ms(self) -> MemberState:
        return self.state.members

    @property
    def ps(self) -> ProgramState:
        return self.state.program

    def earn_slot(self) -> int:
        """Lot bucket for points becoming available today (0 when points do not expire by
        dated periods)."""
        scheme = self.cp.expiry
        if not scheme.periodic:
            return 0
        period = scheme.period_for_earn(self.day)
        if period - self.first_live_period() >= scheme.slots:
            raise ValueError(
                f"expiry period {period} is too far ahead of the live periods "
                f"(first_expiry too late for expiry.months={scheme.months})"
            )
        return period % scheme.slots

    def first_live_period(self) -> int:
        """The earliest expiry period that can hold points now."""
        first = self.cp.expiry.first_period
        start = self.ps.expired_through + 1
        return start if first is None else max(start, first)

    def fifo_order(self) -> I64:
        """Lot buckets from the earliest-expiring to the latest."""
        k = self.cp.expiry.slots
        start = self.first_live_period() % k if self.cp.expiry.periodic else 0
        return (start + np.arange(k)) % k

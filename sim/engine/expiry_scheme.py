"""How earn dates map to expiry periods, and how many lot buckets a policy needs.

Points earned on a day expire at the end of an *expiry period* (a day, month, quarter or year,
by the policy's rounding). Lots are held per period in a ring of ``slots`` buckets: period ``p``
lives in bucket ``p % slots``. Every live period lies within ``slots`` consecutive periods, so a
bucket is never shared by two live periods.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sim.engine import calendar as cal
from sim.policy.control import Expiry

NEVER = -1


@dataclass(frozen=True)
class ExpiryScheme:
    mode: str
    months: int
    rounding: str
    fixed_month: int
    fixed_day: int
    years: int
    inactivity_days: int
    reminders: tuple[int, ...]
    first_expiry: int | None  # day number

    @classmethod
    def from_policy(cls, e: Expiry) -> ExpiryScheme:
        first = cal.day_number(e.first_expiry) if e.first_expiry else None
        return cls(
            e.mode,
            e.months,
            e.rounding,
            e.fixed_month,
            e.fixed_day,
            e.years,
            e.inactivity_days,
            tuple(sorted(e.reminders, reverse=True)),
            first,
        )

    @property
    def periodic(self) -> bool:
        """Whether points expire by dated periods (rolling or fixed date)."""
        return self.mode in ("rolling", "fixed_date")

    @property
    def slots(self) -> int:
        if not self.periodic:
            return 1
        if self.mode == "fixed_date":
            return self.years + 2
        span = {
            "day": self.months * 31,
            "month_end": self.months,
            "quarter_end": math.ceil(self.months / 3),
            "year_end": math.ceil(self.months / 12),
        }[self.rounding]
        return span + 2

    def period_of_end(self, end: dt.date) -> int:
        """The period whose last valid day is (or contains) ``end``."""
        if self.mode == "fixed_date" or self.rounding == "year_end":
            return end.year
        if self.rounding == "day":
            return cal.day_number(end)
        if self.rounding == "month_end":
            return end.year * 12 + end.month - 1
        return end.year * 4 + (end.month - 1) // 3

    def end_day(self, period: int) -> int:
        """Day number of the last day on which points of ``period`` are still valid."""
        if self.mode == "fixed_date":
            last = cal.month_end(period, self.fixed_month).day
            return cal.day_number(dt.date(period, self.fixed_month, min(self.fixed_day, last)))
        if self.rounding == "day":
            return period
        if self.rounding == "month_end":
            return cal.day_number(cal.month_end(period // 12, period % 12 + 1))
        if self.rounding == "quarter_end":
            return cal.day_number(cal.month_end(period // 4, (period % 4) * 3 + 3))
        return cal.day_number(dt.date(period, 12, 31))

    def period_for_earn(self, day: int) -> int:
        """Expiry period of points that become available on ``day`` (NEVER if not periodic)."""
        if not self.periodic:
            return NEVER
        date = cal.to_date(day)
        if self.mode == "fixed_date":
            end = dt.date(date.year + self.years, self.fixed_month, 1)
        else:
            end = cal.add_months(date, self.months)
        period = self.period_of_end(end)
        if self.first_expiry is not None and self.end_day(period) < self.first_expiry:
            period = self.period_of_end(cal.to_date(self.first_expiry))
        return period

    @property
    def first_period(self) -> int | None:
        """The first period that can hold points when ``first_expiry`` defers expiry."""
        if self.first_expiry is None or not self.periodic:
            return None
        return self.period_of_end(cal.to_date(self.first_expiry))

    def current_period(self, day: int) -> int:
        """The earliest period that can still hold live points on ``day``."""
        if not self.periodic:
            return NEVER
        date = cal.to_date(day)
        if self.mode == "fixed_date":
            end = dt.date(date.year, self.fixed_month, 1)
            p = self.period_of_end(end)
            return p if self.end_day(p) >= day else p + 1
        p = self.period_of_end(date)
        return p if self.end_day(p) >= day else p + 1

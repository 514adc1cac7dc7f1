"""Calendar arithmetic on day numbers (days since 1970-01-01), scalar and exact."""

from __future__ import annotations

import calendar as _cal
import datetime as dt

EPOCH = dt.date(1970, 1, 1)


def day_number(date: dt.date) -> int:
    return (date - EPOCH).days


def to_date(day: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(day))


def month_index(day: int) -> int:
    """Months since January 1970 of a day number."""
    d = to_date(day)
    return d.year * 12 + d.month - 1 - 1970 * 12


def week_index(day: int) -> int:
    """ISO weeks (Monday first) since the week of 1970-01-01."""
    return (int(day) + 3) // 7


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, _cal.monthrange(year, month)[1])


def is_month_end(day: int) -> bool:
    return to_date(day + 1).day == 1


def add_months(date: dt.date, months: int) -> dt.date:
    m = date.month - 1 + months
    year, month = date.year + m // 12, m % 12 + 1
    return dt.date(year, month, min(date.day, _cal.monthrange(year, month)[1]))


def is_review_day(day: int, cadence: str) -> bool:
    """Last day of a month / quarter / year."""
    if not is_month_end(day):
        return False
    month = to_date(day).month
    if cadence == "monthly":
        return True
    if cadence == "quarterly":
        return month % 3 == 0
    return month == 12

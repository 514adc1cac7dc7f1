"""The ledger's business day: reading and moving the clock row, and checking event dates.

Days up to ``closed_through`` are closed; the next one is the business day, which takes
events. ``open_day`` is set once that day has been opened (pending points released, lots
expired). Event writers read the clock under a shared lock, day changes under an exclusive
one (PostgreSQL; SQLite's writers are serialised by its write lock).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Row, select, update

from sim.engine import to_date
from sim.ledger import schema as t
from sim.ledger.requests import EventIn
from sim.ledger.store import LedgerError, is_sqlite

_CLOCK = select(t.clock).where(t.clock.c.id == 1)
_CLOCK_LOCKED = {
    "share": _CLOCK.with_for_update(read=True),
    "update": _CLOCK.with_for_update(),
}


def read_clock(conn: Connection, lock: str | None) -> Row:  # type: ignore[type-arg]
    """The clock row; on PostgreSQL locked ``"share"`` (event writers) or ``"update"``
    (the day's close)."""
    query = _CLOCK_LOCKED[lock] if lock and not is_sqlite(conn) else _CLOCK
    row = conn.execute(query).first()
    if row is None:
        raise LedgerError("the ledger has no clock: it was not initialised (pointsim ledger init)")
    return row


def as_of(clock: Row) -> int:  # type: ignore[type-arg]
    """The day the groups' state is current to: the open day, else the last closed one."""
    return int(clock.open_day if clock.open_day is not None else clock.closed_through)


def state_version(conn: Connection, grp: str) -> int:
    return int(
        conn.execute(select(t.programs.c.state_version).where(t.programs.c.grp == grp)).scalar_one()
    )


def set_clock(conn: Connection, **values: int | None) -> None:
    conn.execute(update(t.clock).where(t.clock.c.id == 1).values(**values))


def check_day(day: int, clock: Row, at: str) -> None:  # type: ignore[type-arg]
    """Refuse events of ``day`` unless it is the business day (field ``day`` of ``at``)."""
    if day <= clock.closed_through:
        raise LedgerError(
            f"{to_date(day)} is on or before the last end-of-day "
            f"({to_date(clock.closed_through)}); closed days take no new events",
            field="day",
            at=at,
        )
    if day > clock.closed_through + 1:
        raise LedgerError(
            f"{to_date(day)} is after the business day "
            f"{to_date(clock.closed_through + 1)}: run `pointsim ledger eod "
            f"{to_date(day - 1)}` first",
            field="day",
            at=at,
        )


def batch_day(events: Sequence[EventIn], business: int) -> int:
    days = {business if e.day is None else e.day for e in events}
    if len(days) != 1:
        raise LedgerError(
            f"events: one batch holds one day's events (got {sorted(map(to_date, days))})"
        )
    return days.pop()

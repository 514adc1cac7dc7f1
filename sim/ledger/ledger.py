"""The live ledger: members, events and days over a SQL database, every rule from sim.engine.

Each request is one database transaction: it locks what it touches, loads that state into the
engine's arrays (:mod:`sim.ledger.book`), calls the engine, and writes the postings and the
changed state. A day is opened (pending released, lots expired) on its first event or at its
end of day, and closed by :meth:`Ledger.eod` (auctions, tier reviews, month-end packs and
interest, dynamic value, reminders) -- the order of DESIGN.md section 3, so a day-ordered log
replayed here gives the simulation's result.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Row, bindparam, insert, select, update
from sqlalchemy.exc import DatabaseError, IntegrityError

from sim.engine import (
    Status,
    apply_events,
    close_day,
    compile_policy,
    day_number,
    open_day,
    to_date,
)
from sim.engine.arith import PointsOverflow
from sim.ledger import migrate, queries, versions
from sim.ledger import schema as t
from sim.ledger.accounting import RollForward, close_books, roll_forward_of
from sim.ledger.audit import audit
from sim.ledger.batch import day_events, event_row, refusal, run_batch, write_events
from sim.ledger.book import Book, Step, day_position, load, persist
from sim.ledger.clock import as_of, batch_day, check_day, read_clock, set_clock, state_version
from sim.ledger.closing import ClosePreview, check_span
from sim.ledger.codec import Layout
from sim.ledger.limits import normal, text_problem
from sim.ledger.logio import members_path, write_frame
from sim.ledger.members import NewMember, insert_stock, link_referrers, new_member_row
from sim.ledger.requests import (
    EventIn,
    IdempotencyConflict,
    check,
    code_of,
    normalised,
)
from sim.ledger.store import (
    LedgerError,
    check_storage,
    connect,
    normalise_url,
    reading,
    transact,
)
from sim.policy import Policy, validate_policy
from sim.scenario.model import FIRST_DATE, LAST_DATE

if TYPE_CHECKING:
    from sim.ledger.importer import ImportReport


@dataclass(frozen=True)
class EventOut:
    """What the ledger did with one event. ``points``: earned (+) or spent (-)."""

    client_id: str
    event_id: int
    member: str
    day: dt.date
    kind: str
    status: str
    points: int
    duplicate: bool


@dataclass(frozen=True)
class Quote:
    """A cash offset quote: ``points`` taken for ``value`` micros off an order of ``amount``
    micros (``status`` as the engine would record it)."""

    member: str
    amount: int
    points: int
    value: int
    status: str


class _NeedsOpen(Exception):
    def __init__(self, day: int) -> None:
        self.day = day


class Ledger:
    """A ledger database (see the module docstring). Open an existing one with
    ``Ledger(url)``; create one with :meth:`Ledger.init`. ``writing=False`` (a reader: a
    balance, a statement, an export, the audit) skips the check of a SQLite file's pages that
    opening for writing does."""

    def __init__(self, url: str, *, writing: bool = True) -> None:
        self.url = normalise_url(url)
        _refuse_missing_sqlite(self.url)
        self.engine = connect(self.url)
        check_storage(self.engine, self.url, integrity=writing)
        try:
            with reading(self.engine) as conn:
                at = migrate.current(conn)
        except DatabaseError as exc:
            raise LedgerError(f"{url}: not a ledger database ({exc.orig})", field="url") from None
        if at is None:
            raise LedgerError(
                f"{url}: not a ledger (run `pointsim ledger init` first)", field="url"
            )
        if at != migrate.head():
            raise LedgerError(
                f"{url}: schema version {at}, this pointsim needs {migrate.head()} "
                "(run `pointsim ledger migrate`)",
                field="url",
            )
        self._layouts: dict[int, Layout] = {}
        self._books: dict[str, Book] = {}
        """Whole-group state kept between transactions of this process (end of day, bulk
        import); used again only while the group's state_version says nobody else wrote."""

    # -- creating ---------------------------------------------------------------------------

    @classmethod
    def init(cls, url: str, policies: Mapping[str, tuple[Policy, str]], start: dt.date) -> Ledger:
        """Create the schema and the programme: one economy per group, each under its policy
        (``{group: (policy, source file)}``), the first business day ``start``."""
        if not policies:
            raise LedgerError("init: at least one policy is needed")
        if not FIRST_DATE <= start <= LAST_DATE:
            raise LedgerError(
                f"{start}, expected a first business day between {FIRST_DATE} and {LAST_DATE} "
                "(points are dated and expire years later)",
                field="start",
            )
        engine = connect(url)
        if not url.startswith("sqlite") or Path(str(engine.url.database)).is_file():
            check_storage(engine, url)  # a damaged file or a refused server: say so first
        try:
            migrate.upgrade(engine)
        except DatabaseError as exc:
            raise LedgerError(
                f"{url}: cannot create a ledger there ({exc.orig})", field="url"
            ) from None
        first = day_number(start)

        def work(conn: Connection) -> None:
            if conn.execute(select(t.clock)).first() is not None:
                raise LedgerError(f"{url}: already initialised (a ledger is there)", field="url")
            conn.execute(insert(t.clock).values(id=1, closed_through=first - 1, start_day=first))
            for grp, (policy, source) in policies.items():
                vid = versions.insert_version(
                    conn, grp, policy, source, first, None, None, "active"
                )
                cp = compile_policy(policy)
                conn.execute(
                    insert(t.programs).values(
                        grp=grp,
                        policy_version=vid,
                        expired_through=cp.expiry.current_period(first) - 1,
                        value_factor=1.0,
                        state_version=0,
                    )
                )
                insert_stock(conn, grp, policy)

        transact(engine, work)
        engine.dispose()
        return cls(url)

    def add_members(self, new: Sequence[NewMember]) -> int:
        """Add members (refusing keys already there, unknown groups and referrers); returns
        how many were added."""

        new = [_checked_member(m, f"members[{i}]") for i, m in enumerate(new)]

        def work(conn: Connection) -> int:
            clock = read_clock(conn, "share")
            business = clock.closed_through + 1
            groups = set(conn.execute(select(t.programs.c.grp)).scalars())
            keys = [m.key for m in new]
            if len(set(keys)) != len(keys):
                raise LedgerError("members: the same key is given twice")
            taken = set(
                conn.execute(select(t.members.c.key).where(t.members.c.key.in_(keys))).scalars()
            )
            if taken:
                raise LedgerError(f"members: keys already in the ledger: {sorted(taken)[:5]}")
            layouts = {g: self.layout(conn, g)[0] for g in groups}
            rows = []
            for i, m in enumerate(new):
                at = f"members[{i}]"
                if m.group not in groups:
                    raise LedgerError(
                        f"{m.group!r}, expected one of {sorted(groups)}", field="group", at=at
                    )
                if not 0 <= m.birth_month <= 12:
                    raise LedgerError(f"{m.birth_month}, expected 0-12", field="birth_month", at=at)
                join = business if m.join_day is None else m.join_day
                cp = layouts[m.group].cp
                label = m.label or (cp.policy.program.groups or ("",))[0]
                rows.append(new_member_row(m, join, cp.tier_names[0], label))
            if rows:
                conn.execute(insert(t.members), rows)
                conn.execute(
                    update(t.programs)
                    .where(t.programs.c.grp.in_({m.group for m in new}))
                    .values(state_version=t.programs.c.state_version + 1)
                )
            link_referrers(conn, new)
            return len(rows)

        return transact(self.engine, work)

    # -- events -----------------------------------------------------------------------------

    def record(self, events: Sequence[EventIn], *, strict: bool = True) -> list[EventOut]:
        """Record a batch of events of one day (in arrival order) in one transaction.

        ``strict``: a burn the engine refuses (not enough points, out of stock, tier too
        low, frozen ...) refuses the whole batch with a :class:`LedgerError` and writes
        nothing; otherwise it is recorded with its status (how a replayed log is taken)."""
        if not events:
            return []
        events = [normalised(ev) for ev in events]
        for i, ev in enumerate(events):
            check(ev, f"events[{i}]")
        ids = [e.client_id for e in events]
        if len(set(ids)) != len(ids):
            raise LedgerError("events: a client_id appears twice in one batch")
        for _ in range(10):
            try:
                return transact(self.engine, lambda c: self._record(c, events, strict))
            except PointsOverflow as exc:
                raise LedgerError(
                    f"{exc}; nothing of the batch was written", field=None, at="events"
                ) from None
            except _NeedsOpen as need:
                self._open(need.day)
            except IntegrityError as exc:
                if "client_id" not in str(exc.orig):
                    raise  # not the race below: a real integrity problem
                continue  # a concurrent request took one of the client ids: read its result
        raise LedgerError("events: could not record the batch (kept colliding; try again)")

    def _record(self, conn: Connection, events: Sequence[EventIn], strict: bool) -> list[EventOut]:
        clock = read_clock(conn, "share")
        business = clock.closed_through + 1
        day = batch_day(events, business)
        hashes = [ev.body_hash(day) for ev in events]
        found = {
            r.client_id: r for r in conn.execute(_RECORDED, {"ids": [e.client_id for e in events]})
        }
        out: list[EventOut | None] = [None] * len(events)
        fresh: list[int] = []
        for i, ev in enumerate(events):
            row = found.get(ev.client_id)
            if row is None:
                fresh.append(i)
            elif row.body_hash != (ev.body_hash(row.day) if ev.day is None else hashes[i]):
                # a retry without a day means the day it was first recorded on
                raise IdempotencyConflict(
                    f"{ev.client_id!r} was used for a different request (event {row.id} of "
                    f"{to_date(row.day)}); use a new id",
                    field="client_id",
                    at=f"events[{i}]",
                )
            else:
                out[i] = _out_of_row(row, duplicate=True)
        if fresh:
            check_day(day, clock, f"events[{fresh[0]}]")
            if clock.open_day != day:
                raise _NeedsOpen(day)
            batch = [events[i] for i in fresh]
            for i, o in zip(
                fresh, self._apply(conn, day, batch, hashes, fresh, strict), strict=True
            ):
                out[i] = o
        return [o for o in out if o is not None]

    def _apply(
        self,
        conn: Connection,
        day: int,
        events: Sequence[EventIn],
        hashes: Sequence[str],
        where: Sequence[int],
        strict: bool,
    ) -> list[EventOut]:
        keys = sorted({e.member for e in events})
        who = {r.key: r for r in conn.execute(_MEMBERS_BY_KEY, {"keys": keys})}
        for i, ev in zip(where, events, strict=True):
            if ev.member not in who:
                raise LedgerError(
                    f"no member {ev.member!r} in the ledger", field="member", at=f"events[{i}]"
                )
        out: dict[int, EventOut] = {}
        for grp in sorted({who[e.member].grp for e in events}):
            sel = [j for j, e in enumerate(events) if who[e.member].grp == grp]
            lay, version = self.layout(conn, grp)
            rows = [
                event_row(
                    events[j],
                    hashes[where[j]],
                    who[events[j].member].id,
                    day,
                    code_of(lay.cp, events[j], f"events[{where[j]}]"),
                )
                for j in sel
            ]
            mids = np.array([r["member"] for r in rows], np.int64)
            redeems = any(r["kind"] == "redeem" for r in rows)
            book = load(conn, grp, lay, version, day, mids, lock_stock=redeems)
            ev_ids, res = run_batch(conn, book, day, rows)
            if strict:
                refused = refusal(book, res.status, rows, [where[j] for j in sel])
                if refused is not None:
                    raise refused
            write_events(conn, book, rows, res)
            persist(conn, book, [Step(day, res, ev_ids)])
            for k, j in enumerate(sel):
                out[j] = EventOut(
                    events[j].client_id,
                    int(ev_ids[k]),
                    events[j].member,
                    to_date(day),
                    events[j].kind,
                    Status(res.status[k]).name.lower(),
                    int(res.points[k]),
                    False,
                )
        return [out[j] for j in range(len(events))]

    # -- conveniences over record -----------------------------------------------------------

    def redeem(
        self, member: str, item: str, quantity: int = 1, client_id: str | None = None
    ) -> EventOut:
        """Redeem ``quantity`` units of catalogue ``item`` (refused if it cannot be had)."""
        return self._one(member, "redeem", client_id, name=item, quantity=quantity)

    def quote_offset(self, member: str, amount: int, points: int = 0) -> Quote:
        """What a cash offset at checkout would take for an order of ``amount`` micros
        (``points`` wanted, 0 for the most allowed), computed by the engine on the member's
        state and written nowhere."""
        ev = normalised(EventIn(member, "cash_offset", amount=amount, quantity=points))
        check(ev, "quote")

        def work(conn: Connection) -> Quote:
            clock = read_clock(conn, "share")
            day = clock.closed_through + 1
            if clock.open_day != day:
                raise _NeedsOpen(day)
            row = conn.execute(
                select(t.members.c.id, t.members.c.grp).where(t.members.c.key == member)
            ).first()
            if row is None:
                raise LedgerError(f"no member {member!r} in the ledger", field="member", at="quote")
            lay, version = self.layout(conn, row.grp)
            book = load(conn, row.grp, lay, version, day, np.array([row.id]), lock=False)
            rows = [event_row(ev, "", row.id, day, 0)]
            dev = day_events(book, rows, np.array([row.id]), np.array([1]))
            res = apply_events(lay.cp, book.state, day, dev)
            pts = -int(res.points[0])
            value = int(res.postings.cost.sum())
            return Quote(member, amount, pts, value, Status(int(res.status[0])).name.lower())

        for _ in range(3):
            try:
                return transact(self.engine, work, read_only=True)
            except _NeedsOpen as need:
                self._open(need.day)
        raise LedgerError("quote: the business day could not be opened")

    def cash_offset(
        self, member: str, amount: int, points: int = 0, client_id: str | None = None
    ) -> EventOut:
        """Pay part of an order of ``amount`` micros with points (``points`` wanted, 0 for
        the most the policy allows)."""
        return self._one(member, "cash_offset", client_id, amount=amount, quantity=points)

    def freeze(self, member: str, reason: str, client_id: str | None = None) -> EventOut:
        return self._one(member, "freeze", client_id, note=reason)

    def unfreeze(self, member: str, reason: str, client_id: str | None = None) -> EventOut:
        return self._one(member, "unfreeze", client_id, note=reason)

    def adjust(
        self, member: str, points: int, reason: str, client_id: str | None = None
    ) -> EventOut:
        """An operator's credit (+) or debit (-) of points, with its reason."""
        return self._one(member, "adjust", client_id, quantity=points, note=reason)

    def request_id(self, ev: EventIn) -> str:
        """An idempotency key derived from the request: its body and its day (the business
        day when it names none). The same request sent twice on one day gets the same key, so
        a retried command records once; two identical events need ids of their own."""
        ev = normalised(ev)
        day = ev.day
        if day is None:
            with reading(self.engine) as conn:
                day = int(read_clock(conn, None).closed_through) + 1
        return f"req:{to_date(day)}:{ev.body_hash(day)[:40]}"

    def _one(self, member: str, kind: str, client_id: str | None, **fields: object) -> EventOut:
        ev = EventIn(member, kind, **fields)  # type: ignore[arg-type]
        if client_id is not None:
            ev = replace(ev, client_id=client_id)
        return self.record([ev])[0]

    # -- reading ----------------------------------------------------------------------------

    def balance(self, member: str) -> dict[str, object]:
        with reading(self.engine) as conn:
            return queries.balance(conn, normal(member))

    def statement(
        self, member: str, first: dt.date | None = None, last: dt.date | None = None
    ) -> pd.DataFrame:
        with reading(self.engine) as conn:
            return queries.statement(conn, normal(member), _day_or_none(first), _day_or_none(last))

    def lots(self, member: str) -> pd.DataFrame:
        with reading(self.engine) as conn:
            return queries.lots(conn, normal(member))

    def metrics(self, first: dt.date, last: dt.date) -> pd.DataFrame:
        with reading(self.engine) as conn:
            return queries.metrics(conn, day_number(first), day_number(last))

    def audit(self) -> list[str]:
        with reading(self.engine) as conn:
            return audit(conn)

    def export_log(
        self, path: Path, first: dt.date | None = None, last: dt.date | None = None
    ) -> int:
        """Write the events of [first, last] (and every member, beside it) in the form
        ``import`` reads; returns how many events."""
        path = Path(path)
        with reading(self.engine) as conn:
            events = queries.events_frame(conn, _day_or_none(first), _day_or_none(last))
            members = queries.members_frame(conn)
        write_frame(events, path)
        write_frame(members, members_path(path))
        return len(events)

    # -- policy versions --------------------------------------------------------------------

    def accounting(
        self,
        as_of: dt.date,
        *,
        group: str = "default",
        estimate: float | None = None,
        close: bool = False,
    ) -> RollForward:
        """The IFRS 15 roll forward of ``group``'s contract liability to the end of ``as_of``
        (a closed day) from the last closed accounting period (:mod:`sim.ledger.accounting`);
        ``estimate``: the share of points from sales expected to be redeemed (default: the
        active policy's); ``close``: store the positions as this period's close."""
        day = day_number(as_of)

        def work(conn: Connection) -> RollForward:
            report, now = roll_forward_of(conn, group, day, estimate)
            if close:
                close_books(conn, group, day, now, report.estimate)
            return report

        return transact(self.engine, work, read_only=not close)

    def versions(self, group: str | None = None) -> list[dict[str, object]]:
        """Every policy version (of ``group``), oldest first (:func:`.versions.listing`)."""
        with reading(self.engine) as conn:
            return versions.listing(conn, group)

    def cancel_version(self, version: int, reason: str) -> str:
        """Withdraw a waiting version with a reason; returns its group."""
        return transact(self.engine, lambda c: versions.cancel(c, version, reason))

    def policy_diff(self, policy: Policy, group: str = "default") -> str:
        with reading(self.engine) as conn:
            return versions.plan(conn, group, policy)

    def apply_policy(
        self,
        policy: Policy,
        source: str,
        effective: dt.date,
        *,
        group: str = "default",
        evidence: Path | None = None,
        force_reason: str | None = None,
        verified: bool = False,
    ) -> int:
        """Schedule ``policy`` for ``group`` from ``effective`` (see :mod:`.versions`);
        refused without passing evidence unless forced with a reason. ``verified``: the caller
        simulated the evidence's recorded run again and it gave the same figures
        (``sim.verify``), recorded with the evidence. Returns the version."""
        proof = None
        if evidence is not None:
            proof = replace(versions.check_evidence(evidence, policy), verified=verified)
        elif force_reason is None or not force_reason.strip():
            raise LedgerError(
                "none, expected the summary of a passing simulation of exactly this policy "
                "(OUT/summary.json), or a force_reason",
                field="evidence",
            )
        reason = force_reason if proof is None else None
        return transact(
            self.engine,
            lambda c: versions.record(
                c, group, policy, source, day_number(effective), proof, reason
            ),
        )

    # -- days -------------------------------------------------------------------------------

    def _open(self, day: int) -> None:
        def work(conn: Connection) -> None:
            clock = read_clock(conn, "update")
            if clock.open_day == day:
                return
            check_day(day, clock, "")
            for grp in self.groups(conn):
                book, steps = self.advance(conn, grp, clock, day - 1, day)
                persist(conn, book, steps)
                self.keep(book)
            set_clock(conn, open_day=day)

        transact(self.engine, work)

    def eod(self, through: dt.date, *, guarded: bool = False) -> list[dt.date]:
        """Close every business day up to ``through`` (opening each first if no event did);
        returns the days closed. More than ten years is refused; ``guarded`` (an operator's
        unconfirmed close) refuses more than a month (:mod:`sim.ledger.closing`)."""
        target = day_number(through)
        with reading(self.engine) as conn:
            check_span(through, read_clock(conn, None).closed_through, target, guarded=guarded)
        closed: list[dt.date] = []
        while True:
            with reading(self.engine) as conn:
                clock = conn.execute(select(t.clock)).one()
            day = clock.closed_through + 1
            if day > target:
                if not closed and target < day - 1:
                    raise LedgerError(
                        f"eod {through}: the ledger is closed through "
                        f"{to_date(clock.closed_through)} already"
                    )
                return closed
            transact(self.engine, lambda c, d=day: self._close(c, d))  # type: ignore[misc]
            closed.append(to_date(day))

    def eod_preview(self, through: dt.date, *, guarded: bool = False) -> ClosePreview:
        """What :meth:`eod` through ``through`` would expire and release, per group, from the
        same engine steps run in a transaction that is rolled back: nothing changes."""
        target = day_number(through)

        def work(conn: Connection) -> ClosePreview:
            clock = read_clock(conn, None)
            days = check_span(through, clock.closed_through, target, guarded=guarded)
            first = clock.closed_through + 1
            preview = ClosePreview(
                to_date(first) if days else None, to_date(target) if days else None, days
            )
            if days:
                for grp in self.groups(conn):
                    _book, steps = self.advance(conn, grp, clock, target, None)
                    preview.add(grp, steps)  # the book is not kept: its state moved on
            return preview

        return transact(self.engine, work, read_only=True)

    def _close(self, conn: Connection, day: int) -> None:
        clock = read_clock(conn, "update")
        if clock.closed_through >= day:
            return
        for grp in self.groups(conn):
            book, steps = self.advance(conn, grp, clock, day, None)
            persist(conn, book, steps)
            self.keep(book)
        set_clock(conn, closed_through=day, open_day=None)

    # -- logs -------------------------------------------------------------------------------

    def import_log(
        self,
        path: Path,
        *,
        replication: int | None = None,
        members: Path | None = None,
        on_day: Callable[[int, int], None] | None = None,
    ) -> ImportReport:
        """Replay a day-ordered event log (see :mod:`sim.ledger.importer`)."""
        from sim.ledger.importer import import_log

        return import_log(self, Path(path), replication=replication, members=members, on_day=on_day)

    # -- helpers ----------------------------------------------------------------------------

    def advance(
        self,
        conn: Connection,
        grp: str,
        clock: Row,  # type: ignore[type-arg]
        close_through: int,
        open_next: int | None,
    ) -> tuple[Book, list[Step]]:
        """Group ``grp``'s book and the engine steps that close every business day through
        ``close_through`` (opening each that is not open yet), then open ``open_next``. A
        policy version that starts on a day being opened is switched to first (the steps so
        far are persisted and the book reloaded under the new policy)."""
        book = self._full(conn, grp, as_of(clock))
        steps: list[Step] = []
        was_open = clock.open_day
        days = list(range(clock.closed_through + 1, close_through + 1))
        for d in [*days, *([open_next] if open_next is not None else [])]:
            if was_open != d:
                vid = versions.due(conn, grp, d)
                if vid is not None:
                    persist(conn, book, steps)
                    versions.activate(conn, grp, vid, d)
                    self._books.pop(grp, None)
                    book, steps = self._full(conn, grp, d - 1), []
                steps.append(Step(d, open_day(book.cp, book.state, d)))
            if d <= close_through:
                closed = close_day(book.cp, book.state, d)
                steps.append(Step(d, closed, position=day_position(book, d)))
        return book, steps

    def groups(self, conn: Connection) -> list[str]:
        return list(conn.execute(select(t.programs.c.grp).order_by(t.programs.c.grp)).scalars())

    def layout(self, conn: Connection, grp: str) -> tuple[Layout, int]:
        vid = conn.execute(_POLICY_VERSION, {"grp": grp}).scalar_one()
        if vid not in self._layouts:
            row = conn.execute(select(t.policy_versions).where(t.policy_versions.c.id == vid)).one()
            policy = validate_policy(json.loads(row.policy_json), row.source)
            self._layouts[vid] = Layout.of(compile_policy(policy))
        return self._layouts[vid], vid

    def _full(self, conn: Connection, grp: str, as_of: int) -> Book:
        """The whole group as of day ``as_of`` (the open day, or the last closed one): the
        book this process kept, when no one has written the group since, else loaded. Call
        :meth:`_keep` after persisting it."""
        lay, version = self.layout(conn, grp)
        book = self._books.pop(grp, None)
        if (
            book is not None
            and book.version == version
            and book.state.program.day == as_of
            and book.state_version == state_version(conn, grp)
        ):
            return book
        return load(conn, grp, lay, version, as_of)

    def keep(self, book: Book) -> None:
        book.rebase()
        self._books[book.grp] = book


# -- module helpers ------------------------------------------------------------------------

# Statements of every request, built once (SQLAlchemy's compiled cache then serves them).
_RECORDED = (
    select(t.events, t.members.c.key)
    .join(t.members, t.members.c.id == t.events.c.member)
    .where(t.events.c.client_id.in_(bindparam("ids", expanding=True)))
)
_MEMBERS_BY_KEY = select(t.members.c.id, t.members.c.key, t.members.c.grp).where(
    t.members.c.key.in_(bindparam("keys", expanding=True))
)
_POLICY_VERSION = select(t.programs.c.policy_version).where(t.programs.c.grp == bindparam("grp"))


def _checked_member(m: NewMember, at: str) -> NewMember:
    """``m`` with its texts in NFC, or :class:`LedgerError` naming the field at fault."""
    texts = {"key": m.key, "group": m.group, "label": m.label, "referrer": m.referrer}
    for name, value in texts.items():
        if value is None and name == "referrer":
            continue
        problem = text_problem(name, value, required=name in ("key", "group"))
        if problem:
            raise LedgerError(problem, field=name, at=at)
    referrer = None if m.referrer is None else normal(m.referrer)
    if referrer is not None and referrer == normal(m.key):
        raise LedgerError(f"{referrer!r} is the member itself", field="referrer", at=at)
    return replace(
        m, key=normal(m.key), group=normal(m.group), label=normal(m.label), referrer=referrer
    )


def _day_or_none(day: dt.date | None) -> int | None:
    return None if day is None else day_number(day)


def _refuse_missing_sqlite(url: str) -> None:
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            raise LedgerError(
                f"{url}: no such file (run `pointsim ledger init` first)", field="url"
            )


def _out_of_row(row: Row, *, duplicate: bool) -> EventOut:  # type: ignore[type-arg]
    return EventOut(
        row.client_id,
        row.id,
        row.key,
        to_date(row.day),
        row.kind,
        row.status,
        row.points,
        duplicate,
    )

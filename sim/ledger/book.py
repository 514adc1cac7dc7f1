"""One group's engine state loaded from the database for a transaction, and written back.

:func:`load` reads the state of some members (the ones a batch of events touches, and their
referrers, locked in id order) or of the whole group (end of day, bulk import) into the
engine's arrays. The engine then works on it in memory; :func:`persist` writes what changed:
the postings, member rows whose persisted projection differs, their lots, pending points and
bids, stock, the day's GMV, tier changes and reminders. Nothing else writes member state.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    BindParameter,
    Connection,
    Delete,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    insert,
    select,
    update,
)

from sim.engine import (
    Account,
    CompiledPolicy,
    DayResult,
    EngineState,
    MemberState,
    ProgramState,
)
from sim.engine.compiled import UNLIMITED
from sim.engine.expiry_scheme import ExpiryScheme
from sim.engine.liability import liability_micros
from sim.engine.state import Bids, Pending
from sim.ledger import schema as t
from sim.ledger.codec import (
    MEMBER_COLUMNS,
    Columns,
    Layout,
    lot_projection,
    member_values,
    members_from_rows,
    projection,
    row_signature,
)
from sim.ledger.dialect import bulk_insert, bulk_insert_rows, bulk_update, upsert_add
from sim.ledger.store import is_sqlite

I64 = npt.NDArray[np.int64]
NO_EXPIRY = -1
_CHUNK = 20_000  # ids per IN (...) list (SQLite allows 32,766 parameters)


@dataclass
class Book:
    """A group's state as loaded (``before_*``) and as the engine leaves it (``state``)."""

    grp: str
    version: int
    lay: Layout
    ids: I64
    """Member id of each array position, increasing."""
    state: EngineState
    full: bool
    state_version: int
    before: MemberState
    before_expiry: I64
    before_pending: npt.NDArray[np.uint64]
    before_bids: npt.NDArray[np.uint64]
    before_stock: I64
    ring_days: I64
    before_ring: I64

    @property
    def cp(self) -> CompiledPolicy:
        return self.lay.cp

    def rebase(self) -> None:
        """Take the current state as the persisted one (after :func:`persist`)."""
        ps = self.state.program
        self.before = self.state.members.copy()
        self.before_expiry = slot_expiry(self.cp.expiry, ps.expired_through)
        self.before_pending = _pending_sig(ps.pending, len(self.ids))
        self.before_bids = _bids_sig(ps.bids, len(self.ids))
        self.before_stock = ps.stock.copy()
        self.ring_days = np.array([_ring_day(ps.day, s) for s in range(30)], np.int64)
        self.before_ring = ps.gmv_days.copy()
        self.state_version += 1

    def positions(self, member_ids: I64) -> I64:
        return np.searchsorted(self.ids, member_ids).astype(np.int64)


def slot_expiry(scheme: ExpiryScheme, expired_through: int) -> I64:
    """The last valid day of the points in each lot bucket (NO_EXPIRY when points do not
    expire by dated periods)."""
    if not scheme.periodic:
        return np.full(scheme.slots, NO_EXPIRY, np.int64)
    p_min = expired_through + 1
    if scheme.first_period is not None:
        p_min = max(p_min, scheme.first_period)
    k = scheme.slots
    periods = [p_min + (s - p_min) % k for s in range(k)]
    return np.array([scheme.end_day(p) for p in periods], np.int64)


def expiry_slot(scheme: ExpiryScheme, expired_through: int, expires_on: I64) -> I64:
    """Lot bucket of points valid through ``expires_on`` (clamped to the live buckets)."""
    if not scheme.periodic:
        return np.zeros(len(expires_on), np.int64)
    ends = slot_expiry(scheme, expired_through)
    order = np.argsort(ends)
    at = np.searchsorted(ends[order], expires_on, side="left")
    return order[np.minimum(at, len(ends) - 1)].astype(np.int64)


def columns(conn: Connection, query: Select[Any], params: dict[str, Any] | None = None) -> Columns:
    """A query's rows as one array per column (object arrays for text and NULLs): far
    lighter than a DataFrame for the few rows of one request."""
    result = conn.execute(query, params)
    names = list(result.keys())
    rows = result.fetchall()
    if not rows:
        return {k: np.zeros(0, object) for k in names}
    values = zip(*rows, strict=True)
    return {k: np.array(v, dtype=object) for k, v in zip(names, values, strict=True)}


def _in_chunks(conn: Connection, query: Select[Any], ids: I64) -> Columns:
    """``query`` (over the expanding parameter ``ids``) for ``ids``, a chunk at a time."""
    parts = [
        columns(conn, query, {"ids": ids[i : i + _CHUNK].tolist()})
        for i in range(0, max(len(ids), 1), _CHUNK)
    ]
    if len(parts) == 1:
        return parts[0]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_GRP: BindParameter[str] = bindparam("grp")
_M = t.members
_PROGRAM = select(t.programs).where(t.programs.c.grp == _GRP)
_REFERRERS = select(_M.c.referrer).where(_M.c.id.in_(_IDS), _M.c.referrer.is_not(None))
_MEMBERS = select(*(_M.c[c] for c in MEMBER_COLUMNS)).where(_M.c.id.in_(_IDS)).order_by(_M.c.id)
_MEMBERS_LOCKED = _MEMBERS.with_for_update()  # PostgreSQL: row locks taken in id order
_GMV = select(t.gmv_days.c.day, t.gmv_days.c.micros).where(
    t.gmv_days.c.grp == _GRP,
    t.gmv_days.c.day > bindparam("day") - 30,
    t.gmv_days.c.day <= bindparam("day"),
)
"""Statements of a request's load, built once (SQLAlchemy's compiled cache then serves them
at a fraction of the cost of building each afresh)."""


@cache
def _by_member(table: Table) -> Select[Any]:
    return select(table).where(table.c.member.in_(_IDS))


def _ints(values: npt.NDArray[Any]) -> I64:
    return values.astype(np.int64)


def load(
    conn: Connection,
    grp: str,
    lay: Layout,
    version: int,
    day: int,
    member_ids: I64 | None = None,
    *,
    lock_stock: bool = False,
    lock: bool = True,
) -> Book:
    """Load group ``grp`` as of open ``day``: every member (``member_ids`` None) or these
    members and their referrers, locking their rows (and the group's stock rows when
    ``lock_stock``: a batch that redeems catalogue items)."""
    cp = lay.cp
    prog = conn.execute(_PROGRAM, {"grp": grp}).one()
    m = t.members
    if member_ids is None:
        cols = [m.c[c] for c in MEMBER_COLUMNS]
        rows = columns(conn, select(*cols).where(m.c.grp == grp).order_by(m.c.id))
    else:
        wanted = np.unique(member_ids)
        refs = conn.execute(_REFERRERS, {"ids": wanted.tolist()}).scalars()
        wanted = np.union1d(wanted, np.fromiter(refs, np.int64))
        locked = lock and not is_sqlite(conn)
        rows = _in_chunks(conn, _MEMBERS_LOCKED if locked else _MEMBERS, wanted)
    ids = _ints(rows["id"])
    position = {int(i): p for p, i in enumerate(ids)}
    ms = members_from_rows(lay, rows, position, day)
    expired_through = int(prog.expired_through)
    _load_lots(conn, cp, ms, ids, expired_through, member_ids is None, grp)
    pend = _load_pending(conn, cp, ids, member_ids is None, grp)
    bids = _load_bids(conn, cp, ids, member_ids is None, grp) if cp.lot_ids else Bids()
    stock = cp.item_stock.copy()
    if member_ids is None or lock_stock:  # else no catalogue item is taken: stock stays
        stock_query = select(t.stock.c.item, t.stock.c.remaining).where(t.stock.c.grp == grp)
        if lock_stock and not is_sqlite(conn):
            stock_query = stock_query.order_by(t.stock.c.item).with_for_update()
        for item, remaining in conn.execute(stock_query):
            if item in cp.item_ids:
                stock[cp.item_code(item)] = remaining
    ring_days = np.array([_ring_day(day, s) for s in range(30)], np.int64)
    ring = np.zeros(30, np.int64)
    for d, micros in conn.execute(_GMV, {"grp": grp, "day": day}):
        ring[d % 30] = micros
    program = ProgramState(
        day=day,
        expired_through=expired_through,
        value_factor=float(prog.value_factor),
        stock=stock,
        gmv_days=ring.copy(),
        pending=pend,
        bids=bids,
        tier_changed_day=day,  # benefits: the general rule (tier_open where changed today)
    )
    state = EngineState(ms, program)
    return Book(
        grp=grp,
        version=version,
        lay=lay,
        ids=ids,
        state=state,
        full=member_ids is None,
        state_version=int(prog.state_version),
        before=ms.copy(),
        before_expiry=slot_expiry(cp.expiry, expired_through),
        before_pending=_pending_sig(pend, len(ids)),
        before_bids=_bids_sig(bids, len(ids)),
        before_stock=stock.copy(),
        ring_days=ring_days,
        before_ring=ring,
    )


def _ring_day(day: int, slot: int) -> int:
    """The day of the last 30 (ending ``day``) that GMV ring slot ``slot`` holds."""
    return day - ((day - slot) % 30)


def _rows_of(conn: Connection, table: Table, ids: I64, full: bool, grp: str) -> Columns:
    """Rows of a table keyed by ``member``: the whole group's, or those of members ``ids``."""
    if full:
        query = (
            select(*table.c)
            .join_from(table, t.members, t.members.c.id == table.c.member)
            .where(t.members.c.grp == grp)
        )
        return columns(conn, query)
    return _in_chunks(conn, _by_member(table), ids)


def _load_lots(
    conn: Connection,
    cp: CompiledPolicy,
    ms: MemberState,
    ids: I64,
    expired_through: int,
    full: bool,
    grp: str,
) -> None:
    rows = _rows_of(conn, t.lots, ids, full, grp)
    if not len(rows["member"]):
        return
    pos = np.searchsorted(ids, _ints(rows["member"]))
    expires = np.array([NO_EXPIRY if e is None else e for e in rows["expires_on"]], np.int64)
    slot = expiry_slot(cp.expiry, expired_through, expires)
    np.add.at(ms.lots, (pos, slot), _ints(rows["points"]))


def _load_pending(conn: Connection, cp: CompiledPolicy, ids: I64, full: bool, grp: str) -> Pending:
    rows = _sorted_by_id(_rows_of(conn, t.pending, ids, full, grp))
    pend = Pending()
    if len(rows["id"]):
        pend.append(
            member=np.searchsorted(ids, _ints(rows["member"])).astype(np.int64),
            release=_ints(rows["release_day"]),
            points=_ints(rows["points"]),
            rule=np.array([cp.rule(r) for r in rows["rule"]], np.int64),
            ref=_ints(rows["ref"]),
        )
    return pend


def _sorted_by_id(rows: Columns) -> Columns:
    order = np.argsort(_ints(rows["id"]), kind="stable")
    return {k: v[order] for k, v in rows.items()}


def _load_bids(conn: Connection, cp: CompiledPolicy, ids: I64, full: bool, grp: str) -> Bids:
    rows = _sorted_by_id(_rows_of(conn, t.bids, ids, full, grp))
    bids = Bids()
    if len(rows["id"]):
        bids.append(
            member=np.searchsorted(ids, _ints(rows["member"])).astype(np.int64),
            lot=np.array([cp.lot_ids.index(x) for x in rows["lot"]], np.int64),
            points=_ints(rows["points"]),
            day=_ints(rows["day"]),
            seq=_ints(rows["seq"]),
        )
    return bids


def _pending_sig(p: Pending, n: int) -> npt.NDArray[np.uint64]:
    return row_signature(p.member, p.release, p.points, p.rule, p.ref, n=n)


def _bids_sig(b: Bids, n: int) -> npt.NDArray[np.uint64]:
    return row_signature(b.member, b.lot, b.points, b.day, b.seq, n=n)


# -- writing ------------------------------------------------------------------------------


@dataclass
class Step:
    """One engine call's result, the day it ran on, and the database ids of its events."""

    day: int
    result: DayResult
    event_ids: I64 | None = None
    position: dict[str, object] | None = None
    """The group's position at the day's close (a ``day_close`` row), for close steps."""


def day_position(book: Book, day: int) -> dict[str, object]:
    """The ``day_close`` row of the group as its state stands (call right after closing
    ``day``): members joined, pending and available points, liability at each member's
    point value (tier and dynamic level), members per tier."""
    ms, ps, cp = book.state.members, book.state.program, book.cp
    joined = ms.join_day <= day
    pending = ms.acct[:, Account.PENDING]
    available = ms.acct[:, Account.AVAILABLE]
    tiers = np.bincount(ms.tier[joined].astype(np.int64), minlength=len(cp.tier_names))
    return {
        "grp": book.grp,
        "day": day,
        "members": int(joined.sum()),
        "pending_points": int(pending.sum()),
        "available_points": int(available.sum()),
        "liability": liability_micros(cp, ms, ps.value_factor),
        "value_factor": float(ps.value_factor),
        "tiers": json.dumps(dict(zip(cp.tier_names, tiers.tolist(), strict=True))),
    }


def persist(conn: Connection, book: Book, steps: Sequence[Step]) -> None:
    """Write what ``steps`` changed in ``book`` (see the module docstring)."""
    cp, ps, ms = book.cp, book.state.program, book.state.members
    day = ps.day
    _write_postings(conn, book, steps)
    _write_tiers_and_reminders(conn, book, steps)
    bulk_insert_rows(conn, t.day_close, [s.position for s in steps if s.position is not None])
    after_expiry = slot_expiry(cp.expiry, ps.expired_through)
    rows = projection(cp, book.before, day) != projection(cp, ms, day)
    _write_members(conn, book, np.flatnonzero(rows.any(axis=1)))
    lots = lot_projection(book.before, book.before_expiry) != lot_projection(ms, after_expiry)
    _write_lots(conn, book, np.flatnonzero(lots.any(axis=1)), after_expiry)
    _write_pending(conn, book)
    _write_bids(conn, book)
    _write_stock(conn, book)
    _write_gmv(conn, book)
    conn.execute(
        _PROGRAM_UPDATE,
        {
            "b_grp": book.grp,
            "b_expired_through": ps.expired_through,
            "b_value_factor": ps.value_factor,
        },
    )


_PROGRAM_UPDATE = (
    update(t.programs)
    .where(t.programs.c.grp == bindparam("b_grp"))
    .values(
        expired_through=bindparam("b_expired_through"),
        value_factor=bindparam("b_value_factor"),
        state_version=t.programs.c.state_version + 1,
    )
)


def _write_postings(conn: Connection, book: Book, steps: Sequence[Step]) -> None:
    rules = np.array(book.cp.rule_ids, dtype=object)
    for step in steps:
        p = step.result.postings
        if not len(p):
            continue
        if step.event_ids is not None and len(step.event_ids):
            ev = np.where(p.event >= 0, step.event_ids[np.maximum(p.event, 0)], -1)
        else:
            ev = np.full(len(p), -1, np.int64)
        n = len(p)
        bulk_insert(
            conn,
            t.postings,
            {
                "event": [None if e < 0 else e for e in ev.tolist()],
                "member": book.ids[p.member].tolist(),
                "day": [step.day] * n,
                "rule": rules[p.rule].tolist(),
                "src": p.src.tolist(),
                "dst": p.dst.tolist(),
                "points": p.points.tolist(),
                "value": p.value.tolist(),
                "cost": p.cost.tolist(),
                "policy_version": [book.version] * n,
            },
        )


def _write_tiers_and_reminders(conn: Connection, book: Book, steps: Sequence[Step]) -> None:
    names = np.array(book.cp.tier_names, dtype=object)
    tiers: list[dict[str, object]] = []
    reminders: list[dict[str, object]] = []
    for step in steps:
        r = step.result
        tiers += [
            {"member": int(book.ids[m]), "day": step.day, "old": names[o], "new": names[n]}
            for m, o, n in zip(r.tier_member, r.tier_old, r.tier_new, strict=True)
        ]
        reminders += [
            {"member": int(book.ids[m]), "day": step.day, "days_before": int(d), "points": int(p)}
            for m, d, p in zip(r.reminder_member, r.reminder_days, r.reminder_points, strict=True)
        ]
    if tiers:
        conn.execute(insert(t.tier_changes), tiers)
    if reminders:
        conn.execute(insert(t.reminders), reminders)


def _write_members(conn: Connection, book: Book, changed: I64) -> None:
    if len(changed):
        values = member_values(book.cp, book.state.members, changed)
        bulk_update(conn, t.members, "id", book.ids[changed].tolist(), values)


def _write_lots(conn: Connection, book: Book, changed: I64, expiry: I64) -> None:
    if not len(changed):
        return
    ids = book.ids[changed]
    _delete_members(conn, t.lots, ids)
    lots = book.state.members.lots[changed]
    pos, slot = np.nonzero(lots > 0)
    ends = expiry[slot]
    bulk_insert(
        conn,
        t.lots,
        {
            "member": ids[pos].tolist(),
            "expires_on": [None if e == NO_EXPIRY else e for e in ends.tolist()],
            "points": lots[pos, slot].tolist(),
        },
    )


def _delete_members(conn: Connection, table: Table, ids: I64) -> None:
    for i in range(0, len(ids), _CHUNK):
        conn.execute(_delete_of(table), {"ids": ids[i : i + _CHUNK].tolist()})


@cache
def _delete_of(table: Table) -> Delete:
    return delete(table).where(table.c.member.in_(_IDS))


def _rewrite_by_member(
    conn: Connection, book: Book, table: Table, changed: I64, rows: list[dict[str, object]]
) -> None:
    _delete_members(conn, table, book.ids[changed])
    bulk_insert_rows(conn, table, rows)


def _write_pending(conn: Connection, book: Book) -> None:
    p = book.state.program.pending
    changed = np.flatnonzero(_pending_sig(p, len(book.ids)) != book.before_pending)
    if not len(changed):
        return
    rules = book.cp.rule_ids
    sel = np.flatnonzero(np.isin(p.member, changed))
    rows: list[dict[str, object]] = [
        {
            "member": int(book.ids[p.member[j]]),
            "release_day": int(p.release[j]),
            "points": int(p.points[j]),
            "rule": rules[int(p.rule[j])],
            "ref": int(p.ref[j]),
        }
        for j in sel
    ]
    _rewrite_by_member(conn, book, t.pending, changed, rows)


def _write_bids(conn: Connection, book: Book) -> None:
    b = book.state.program.bids
    changed = np.flatnonzero(_bids_sig(b, len(book.ids)) != book.before_bids)
    if not len(changed):
        return
    sel = np.flatnonzero(np.isin(b.member, changed))
    rows: list[dict[str, object]] = [
        {
            "member": int(book.ids[b.member[j]]),
            "lot": book.cp.lot_ids[int(b.lot[j])],
            "points": int(b.points[j]),
            "day": int(b.day[j]),
            "seq": int(b.seq[j]),
        }
        for j in sel
    ]
    _rewrite_by_member(conn, book, t.bids, changed, rows)


def _write_stock(conn: Connection, book: Book) -> None:
    stock, cp = book.state.program.stock, book.cp
    for code in np.flatnonzero(stock != book.before_stock):
        used = int(book.before_stock[code] - stock[code])
        if cp.item_stock[code] >= UNLIMITED // 2:
            continue
        done = conn.execute(
            update(t.stock)
            .where(
                and_(
                    t.stock.c.grp == book.grp,
                    t.stock.c.item == cp.item_ids[code],
                    t.stock.c.remaining >= used,
                )
            )
            .values(remaining=t.stock.c.remaining - used)
        )
        if done.rowcount != 1:
            raise RuntimeError(f"stock of {cp.item_ids[code]!r} changed under a locked update")


def _write_gmv(conn: Connection, book: Book) -> None:
    ring, day = book.state.program.gmv_days, book.state.program.day
    for d in range(day - 29, day + 1):
        s = d % 30
        before = book.before_ring[s] if book.ring_days[s] == d else 0
        delta = int(ring[s] - before)
        if delta:
            upsert_add(conn, t.gmv_days, {"grp": book.grp, "day": d}, "micros", delta)

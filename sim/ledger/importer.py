"""Replaying a day-ordered event log through the ledger (``pointsim ledger import``).

Each day of the log is one transaction: the days before it are closed, it is opened and its
events are applied as one batch, refused burns recorded with their status (they happened so
in the log). Events already recorded (same client id and body) are skipped, so an import that
was killed part-way leaves a sound ledger and running it again completes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from sim.engine import to_date
from sim.ledger import schema as t
from sim.ledger.batch import EventRow, run_batch, write_events
from sim.ledger.book import Step, persist
from sim.ledger.clock import check_day, read_clock, set_clock
from sim.ledger.logio import members_path, read_events, read_members
from sim.ledger.members import NewMember
from sim.ledger.requests import BODY_FIELDS, EventIn, IdempotencyConflict, body_hashes, code_of
from sim.ledger.store import LedgerError, reading, transact

if TYPE_CHECKING:
    from sim.ledger.ledger import Ledger


@dataclass(frozen=True)
class ImportReport:
    members_added: int
    events_recorded: int
    events_skipped: int
    days: int


def import_log(
    led: Ledger,
    path: Path,
    *,
    replication: int | None = None,
    members: Path | None = None,
    on_day: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Replay a day-ordered event log (see :mod:`sim.ledger.logio`): add its members,
    then each day's events as one batch (refused burns recorded with their status, as
    they happened), closing each day when the log moves past it; the last day stays
    open. Each day is one transaction and events already recorded are skipped, so an
    import that was killed can be run again to finish. ``on_day(events, total)`` is called
    after each day with its events and the log's (for a progress bar)."""
    log = read_events(Path(path), replication)
    from_sim = not log.attrs["has_client_id"]
    mpath = Path(members) if members is not None else members_path(Path(path))
    new = _new_members(led, mpath, from_sim) if mpath.exists() else []
    log["key"] = log["group"] + ":" + log["member"] if from_sim else log["member"]
    groups, codes = _resolve(led, log, new, str(path))  # refuses before anything is written
    added = led.add_members(new) if new else 0
    rows = _rows(led, log, codes)
    done = skipped = 0
    n_days = int(log["day"].nunique()) if len(log) else 0
    for day, part in log.groupby("day", sort=True):
        day = int(day)
        batch = [(rows[i], groups[i]) for i in part.index]
        try:
            recorded = transact(led.engine, lambda c, d=day, b=batch: _import_day(led, c, d, b))  # type: ignore[misc]
        except IntegrityError:
            raise IdempotencyConflict(
                f"{path}: an event of {to_date(day)} has an id the ledger holds for an event "
                "of another day"
            ) from None
        done += recorded
        skipped += len(batch) - recorded
        if on_day is not None:
            on_day(len(batch), len(log))
    return ImportReport(added, done, skipped, n_days)


def _new_members(led: Ledger, path: Path, from_sim: bool) -> list[NewMember]:
    """The members of the members file that the ledger does not hold yet."""
    frame = read_members(path)
    if from_sim:
        frame["member"] = frame["group"] + ":" + frame["member"]
        has_ref = frame["referrer"] != ""
        frame.loc[has_ref, "referrer"] = frame["group"] + ":" + frame["referrer"]
    with reading(led.engine) as conn:
        have = set(conn.execute(select(t.members.c.key)).scalars())
    fresh = frame[~frame["member"].isin(have)]
    return [
        NewMember(r.member, r.group, int(r.join_day), int(r.birth_month), r.label,
                  r.referrer or None)
        for r in fresh.itertuples()
    ]  # fmt: skip


def _where(log: pd.DataFrame, source: str, i: int) -> str:
    return f"{source} {log.attrs['unit']} {int(log['line'].iloc[i])}"


def _resolve(
    led: Ledger, log: pd.DataFrame, new: list[NewMember], source: str
) -> tuple[list[str], pd.Series]:
    """Each event's group and engine code, checked against the ledger (and the members about
    to be added): refuses the whole log on the first unknown member, group or name."""
    with reading(led.engine) as conn:
        group_of = dict(conn.execute(select(t.members.c.key, t.members.c.grp)).all())
        layouts = {g: led.layout(conn, g)[0] for g in led.groups(conn)}
    group_of.update({m.key: m.group for m in new})
    known = log["key"].isin(group_of)
    if not known.all():
        i = int(np.flatnonzero(~known.to_numpy())[0])
        raise LedgerError(
            f"{_where(log, source, i)}: member {log['key'].iloc[i]!r} is not in the ledger "
            f"nor in a members file ({int((~known).sum())} such events)"
        )
    grp = log["key"].map(group_of)
    unknown_group = ~grp.isin(layouts)
    if unknown_group.any():
        i = int(np.flatnonzero(unknown_group.to_numpy())[0])
        raise LedgerError(f"{_where(log, source, i)}: group {grp.iloc[i]!r} is not in the ledger")
    if not log.attrs["has_client_id"] and (grp != log["group"]).any():
        i = int(np.flatnonzero((grp != log["group"]).to_numpy())[0])
        raise LedgerError(
            f"{_where(log, source, i)}: member {log['key'].iloc[i]} is in group {grp.iloc[i]}"
        )
    code = log["code"].copy()
    named = log["name"] != ""
    for (g, kind, name), idx in log[named].groupby([grp[named], "kind", "name"]).groups.items():
        i = log.index.get_loc(idx[0])
        probe = EventIn(str(log["key"].iloc[i]), str(kind), name=str(name))
        code[idx] = code_of(layouts[str(g)].cp, probe, _where(log, source, i))
    return grp.tolist(), code


def _rows(led: Ledger, log: pd.DataFrame, code: pd.Series) -> list[EventRow]:
    """``events`` rows for the log (members resolved to ids, bodies hashed)."""
    with reading(led.engine) as conn:
        ids = dict(conn.execute(select(t.members.c.key, t.members.c.id)).all())
    frame = pd.DataFrame(
        {
            "client_id": log["client_id"],
            "body_hash": body_hashes({**{f: log[f] for f in BODY_FIELDS}, "member": log["key"]}),
            "member": log["key"].map(ids),
            "day": log["day"],
            "kind": log["kind"],
            "amount": log["amount"],
            "quantity": log["quantity"],
            "name": log["name"],
            "code": code,
            "ref": log["ref"],
            "draw": log["draw"].astype(object).where(log["draw"].notna(), None),
            "note": log["note"],
            "status": "",
            "points": 0,
        }
    )
    names = list(frame.columns)
    values = [frame[c].tolist() for c in names]  # plain Python values for the drivers
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


def _import_day(led: Ledger, conn: Connection, day: int, batch: list[tuple[EventRow, str]]) -> int:
    """Close the days before ``day``, open it and apply its fresh events (each with its
    group), in one transaction; returns how many events were new."""
    clock = read_clock(conn, "update")
    found = dict(
        conn.execute(
            select(t.events.c.client_id, t.events.c.body_hash).where(t.events.c.day == day)
        ).all()
    )
    for r, _ in batch:
        if r["client_id"] in found and found[r["client_id"]] != r["body_hash"]:
            raise IdempotencyConflict(
                f"event {r['client_id']!r} is in the ledger with a different body"
            )
    fresh = [(r, g) for r, g in batch if r["client_id"] not in found]
    if not fresh:
        return 0
    if day <= clock.closed_through:
        check_day(day, clock, f"event {fresh[0][0]['client_id']!r}")
    for grp in led.groups(conn):
        book, steps = led.advance(conn, grp, clock, day - 1, day)
        rows = [r for r, g in fresh if g == grp]
        if rows:
            ev_ids, res = run_batch(conn, book, day, rows)
            write_events(conn, book, rows, res)
            steps.append(Step(day, res, ev_ids))
        persist(conn, book, steps)
        led.keep(book)
    set_clock(conn, closed_through=day - 1, open_day=day)
    return len(fresh)

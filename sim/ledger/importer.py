"""Replaying a day-ordered event log through the ledger (``pointsim ledger import``).

Each day of the log is one transaction: the days before it are closed, it is opened and its
events are applied as one batch, refused burns recorded with their status (they happened so
in the log). Events already recorded (same client id and body) are skipped, so an import that
was killed part-way leaves a sound ledger and running it again completes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from sim.ledger import schema as t
from sim.ledger.batch import EventRow, run_batch, write_events
from sim.ledger.book import Step, persist
from sim.ledger.clock import check_day, read_clock, set_clock
from sim.ledger.logio import members_path, read_events, read_members
from sim.ledger.members import NewMember
from sim.ledger.requests import BODY_FIELDS, EventIn, IdempotencyConflict, body_hashes, code_of
from sim.ledger.store import LedgerError, transact

if TYPE_CHECKING:
    from sim.ledger.ledger import Ledger


@dataclass(frozen=True)
class ImportReport:
    members_added: int
    events_recorded: int
    events_skipped: int
    days: int


def import_log(
    led: Ledger, path: Path, *, replication: int | None = None, members: Path | None = None
) -> ImportReport:
    """Replay a day-ordered event log (see :mod:`sim.ledger.logio`): add its members,
    then each day's events as one batch (refused burns recorded with their status, as
    they happened), closing each day when the log moves past it; the last day stays
    open. Each day is one transaction and events already recorded are skipped, so an
    import that was killed can be run again to finish."""
    log = read_events(Path(path), replication)
    from_sim = not log.attrs["has_client_id"]
    mpath = Path(members) if members is not None else members_path(Path(path))
    added = _import_members(led, mpath, from_sim) if mpath.exists() else 0
    log["key"] = log["group"] + ":" + log["member"] if from_sim else log["member"]
    rows = _log_rows(led, log, str(path))
    done = skipped = 0
    for day, part in log.groupby("day", sort=True):
        day = int(day)
        batch = [rows[i] for i in part.index]
        new = transact(led.engine, lambda c, d=day, b=batch: _import_day(led, c, d, b))  # type: ignore[misc]
        done += new
        skipped += len(batch) - new
    return ImportReport(added, done, skipped, int(log["day"].nunique()) if len(log) else 0)


def _import_members(led: Ledger, path: Path, from_sim: bool) -> int:
    frame = read_members(path)
    if from_sim:
        frame["member"] = frame["group"] + ":" + frame["member"]
        has_ref = frame["referrer"] != ""
        frame.loc[has_ref, "referrer"] = frame["group"] + ":" + frame["referrer"]
    with led.engine.connect() as conn:
        have = set(conn.execute(select(t.members.c.key)).scalars())
    new = frame[~frame["member"].isin(have)]
    return led.add_members(
        [
            NewMember(
                r.member,
                r.group,
                int(r.join_day),
                int(r.birth_month),
                r.label,
                r.referrer or None,
            )
            for r in new.itertuples()
        ]
    )


def _log_rows(led: Ledger, log: pd.DataFrame, source: str) -> list[EventRow]:
    """Event rows for the log (members and names resolved, bodies hashed); refuses the
    whole log on the first unknown member, group or name."""
    with led.engine.connect() as conn:
        ids = dict(conn.execute(select(t.members.c.key, t.members.c.id)).all())
        group_of = dict(conn.execute(select(t.members.c.key, t.members.c.grp)).all())
        layouts = {g: led.layout(conn, g)[0] for g in led.groups(conn)}
    missing = sorted(set(log["key"]) - set(ids))
    if missing:
        raise LedgerError(
            f"{source}: {len(missing)} member(s) not in the ledger and not in a members "
            f"file, e.g. {missing[:3]}"
        )
    grp = log["key"].map(group_of)
    if not log.attrs["has_client_id"] and (grp != log["group"]).any():
        i = int(np.flatnonzero((grp != log["group"]).to_numpy())[0])
        raise LedgerError(f"{source} row {i}: member {log['key'][i]} is in group {grp[i]}")
    code = log["code"].copy()
    named = log["name"] != ""
    for (g, kind, name), idx in log[named].groupby([grp[named], "kind", "name"]).groups.items():
        probe = EventIn(str(log["key"][idx[0]]), str(kind), name=str(name))
        code[idx] = code_of(layouts[str(g)].cp, probe, f"{source} row {idx[0]}")
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
            "grp": grp,
        }
    )
    names = list(frame.columns)
    values = [frame[c].tolist() for c in names]  # plain Python values for the drivers
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


def _import_day(led: Ledger, conn: Connection, day: int, batch: list[EventRow]) -> int:
    """Close the days before ``day``, open it and apply its fresh events, in one
    transaction; returns how many events were new."""
    clock = read_clock(conn, "update")
    found = dict(
        conn.execute(
            select(t.events.c.client_id, t.events.c.body_hash).where(
                t.events.c.client_id.in_([r["client_id"] for r in batch])
            )
        ).all()
    )
    for r in batch:
        if r["client_id"] in found and found[r["client_id"]] != r["body_hash"]:
            raise IdempotencyConflict(
                f"event {r['client_id']!r} is in the ledger with a different body"
            )
    fresh = [r for r in batch if r["client_id"] not in found]
    if not fresh:
        return 0
    if day <= clock.closed_through:
        check_day(day, clock, f"event {fresh[0]['client_id']!r}: day")
    for grp in led.groups(conn):
        book, steps = led.advance(conn, grp, clock, day - 1, day)
        rows = [{k: v for k, v in r.items() if k != "grp"} for r in fresh if r["grp"] == grp]
        if rows:
            ev_ids, res = run_batch(conn, book, day, rows)
            write_events(conn, book, rows)
            steps.append(Step(day, res, ev_ids))
        persist(conn, book, steps)
        led.keep(book)
    set_clock(conn, closed_through=day - 1, open_day=day)
    return len(fresh)

"""A batch of one day's events through the engine: rows for the ``events`` table, the
engine call, each event's outcome, and the reason a refused burn was refused."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import Connection, insert

from sim.engine import DayEvents, DayResult, Status, apply_events
from sim.engine.codes import BURN_KIND, REJECTED
from sim.ledger import schema as t
from sim.ledger.book import Book
from sim.ledger.dialect import allocate_ids, bulk_insert_rows
from sim.ledger.requests import KINDS, EventIn
from sim.ledger.store import LedgerError

EventRow = dict[str, Any]
"""An ``events`` table row being written (its outcome filled in by the engine call)."""


def event_row(ev: EventIn, body_hash: str, member: int, day: int, code: int) -> EventRow:
    return {
        "client_id": ev.client_id,
        "body_hash": body_hash,
        "member": member,
        "day": day,
        "kind": ev.kind,
        "amount": ev.amount,
        "quantity": ev.quantity,
        "name": ev.name,
        "code": code,
        "ref": ev.ref,
        "draw": ev.draw,
        "note": ev.note,
        "status": "",
        "points": 0,
    }


def run_batch(
    conn: Connection, book: Book, day: int, rows: list[EventRow]
) -> tuple[np.ndarray, DayResult]:
    """Apply event ``rows`` to ``book`` in their order, numbered with fresh event ids, and
    fill in each row's outcome (``id``, ``status``, ``points``). The caller writes the rows
    (:func:`write_events`) and persists the book."""
    ev_ids = np.array(allocate_ids(conn, t.events, len(rows)), np.int64)
    mids = np.array([r["member"] for r in rows], np.int64)
    dev = day_events(book, rows, mids, ev_ids)
    res = apply_events(book.cp, book.state, day, dev)
    for r, i, st, pt in zip(rows, ev_ids, res.status, res.points, strict=True):
        r["id"], r["status"], r["points"] = int(i), Status(int(st)).name.lower(), int(pt)
    return ev_ids, res


def write_events(conn: Connection, book: Book, rows: list[EventRow], result: DayResult) -> None:
    """Insert the events of a batch with their outcomes, and its redemption orders (with the
    cash cost the engine posted for each)."""
    bulk_insert_rows(conn, t.events, rows)
    cp, p = book.cp, result.postings
    caused = p.event >= 0
    cost = np.bincount(p.event[caused], weights=p.cost[caused], minlength=len(rows))
    orders = [
        {
            "event": r["id"],
            "member": r["member"],
            "day": r["day"],
            "item": r["name"] or cp.item_ids[int(r["code"])],  # type: ignore[call-overload]
            "quantity": max(int(r["quantity"]), 1),  # type: ignore[call-overload]
            "points": -int(r["points"]),  # type: ignore[call-overload]
            "cost": int(cost[k]),
        }
        for k, r in enumerate(rows)
        if r["kind"] == "redeem" and r["status"] == "ok"
    ]
    if orders:
        conn.execute(insert(t.redemptions), orders)


def day_events(book: Book, rows: list[EventRow], mids: np.ndarray, ids: np.ndarray) -> DayEvents:
    def col(name: str) -> np.ndarray:
        return np.array([r[name] for r in rows], np.int64)

    draws = [np.nan if r["draw"] is None else r["draw"] for r in rows]
    return DayEvents.build(
        book.positions(mids),
        [int(KINDS[r["kind"]]) for r in rows],
        seq=ids,
        amount=col("amount"),
        quantity=col("quantity"),
        code=col("code"),
        ref=col("ref"),
        draw=draws,
    )


def refusal(
    book: Book, status: np.ndarray, rows: list[EventRow], where: list[int]
) -> LedgerError | None:
    """The refusal of the first refused burn of a batch, naming the event by its position
    ``where`` in the request (None: nothing refused)."""
    for k, s in enumerate(status):
        st = Status(int(s))
        kind = KINDS[str(rows[k]["kind"])]
        if st not in REJECTED or (st == Status.FROZEN and not BURN_KIND[kind]):
            continue
        pos = int(np.searchsorted(book.ids, rows[k]["member"]))
        reason = {
            Status.INSUFFICIENT: f"not enough points ({int(book.before.available[pos])} available)",
            Status.FROZEN: "the member's points are frozen",
            Status.OUT_OF_STOCK: "the item is out of stock",
            Status.TIER_TOO_LOW: "the member's tier is too low for it",
            Status.BELOW_MINIMUM: "below the policy's minimum points",
            Status.UNKNOWN_ITEM: "no such item in the active policy",
            Status.DISABLED: "the policy does not offer this",
        }[st]
        name = f" {rows[k]['name']}" if rows[k]["name"] else ""
        return LedgerError(f"{kind.name.lower()}{name} refused: {reason}", at=f"events[{where[k]}]")
    return None

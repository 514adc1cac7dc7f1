"""Helpers for the live ledger's tests on real databases: worker processes that hammer one
ledger at once (started with the "spawn" context, so they live in an importable module), and
a snapshot of a ledger's tables keyed by member and client id, to compare two ledgers.

A worker writes its outcomes as JSON to a file the parent reads after joining it: one record
per request with ``outcome`` "ok" (the ledger's :class:`EventOut` fields), "refused" (a
:class:`LedgerError` refusing a burn, which is expected under contention) or "error" (anything
else, with its traceback: always a failure).
"""

from __future__ import annotations

import json
import time
import traceback
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from sim.ledger import EventIn, EventOut, Ledger, LedgerError
from sim.ledger import schema as t
from sim.ledger.store import reading
from sim.ledger.stream import EventStream
from sim.policy import MICROS

BARRIER_TIMEOUT = 300.0
"""Seconds a worker waits for the others to be ready (spawned interpreters import slowly)."""

STREAM_WINDOW = 20
"""Requests a streaming worker has sent and not yet seen answered, at most."""

REFUSED = " refused: "
"""What the ledger's message for a refused burn holds (``events[0]: redeem x refused: ...``)."""


@dataclass(frozen=True)
class Mix:
    """The concurrency workload: who is aimed at, what is redeemed, how often each kind."""

    members: tuple[str, ...]
    items: tuple[str, ...]
    """Unlimited catalogue items redeemed."""
    limited: str
    """The limited-stock item, taken by a share ``limited_share`` of redemptions."""
    limited_share: float = 0.35
    purchase: float = 0.40
    refund: float = 0.10
    redeem: float = 0.30
    """Shares of operations; cash offsets take the rest."""


def outcome(ev: EventIn, out: EventOut | None, error: BaseException | None) -> dict[str, Any]:
    """One request's record (see the module docstring)."""
    rec: dict[str, Any] = {
        "client_id": ev.client_id,
        "member": ev.member,
        "kind": ev.kind,
        "name": ev.name,
        "quantity": ev.quantity,
    }
    if out is not None:
        rec.update(outcome="ok", **{k: v for k, v in asdict(out).items() if k != "day"})
        rec["ev_status"] = rec.pop("status")
    elif isinstance(error, LedgerError) and REFUSED in str(error):
        rec.update(outcome="refused", error=str(error))
    else:
        assert error is not None
        text = "".join(traceback.format_exception(error))
        rec.update(outcome="error", error=text)
    return rec


def _send(led: Ledger, ev: EventIn) -> dict[str, Any]:
    try:
        out = led.record([ev])[0]
    except Exception as exc:  # recorded: the parent fails the test on anything unexpected
        return outcome(ev, None, exc)
    return outcome(ev, out, None)


def _next_event(
    rng: np.random.Generator, mix: Mix, worker: int, i: int, bought: list[dict[str, Any]]
) -> EventIn:
    """The ``i``-th request of ``worker``: a purchase, a refund of one of its earlier
    purchases, a catalogue redemption or a cash offset, for one of the shared members."""
    cid = f"w{worker}:{i}"
    member = mix.members[int(rng.integers(len(mix.members)))]
    u = rng.random()
    if mix.purchase <= u < mix.purchase + mix.refund and bought:
        order = bought.pop(int(rng.integers(len(bought))))
        return EventIn(
            order["member"],
            "refund",
            client_id=cid,
            amount=order["amount"],
            quantity=order["points"],
            ref=order["ref"],
        )
    if u < mix.purchase + mix.refund:
        cents = int(rng.integers(500, 15_000))
        category = "high_margin" if rng.random() < 0.2 else "default"
        return EventIn(
            member,
            "purchase",
            client_id=cid,
            amount=cents * MICROS // 100,
            quantity=1,
            name=category,
            ref=worker * 1_000_000 + i + 1,
        )
    if u < mix.purchase + mix.refund + mix.redeem:
        if rng.random() < mix.limited_share:
            return EventIn(
                member, "redeem", client_id=cid, name=mix.limited, quantity=1 + (rng.random() < 0.2)
            )
        item = mix.items[int(rng.integers(len(mix.items)))]
        return EventIn(member, "redeem", client_id=cid, name=item, quantity=1)
    wanted = 0 if rng.random() < 0.5 else 100 * int(rng.integers(1, 6))
    amount = int(rng.integers(20, 200)) * MICROS
    return EventIn(member, "cash_offset", client_id=cid, amount=amount, quantity=wanted)


class _Log:
    """A worker's records (timed from the start of its run), and its purchases that earned
    and are not yet refunded (what its refunds refer to)."""

    def __init__(self) -> None:
        self.began = time.perf_counter()
        self.records: list[dict[str, Any]] = []
        self.bought: list[dict[str, Any]] = []

    def add(self, ev: EventIn, rec: dict[str, Any], sent: float) -> None:
        rec["at"], rec["took"] = sent - self.began, time.perf_counter() - sent
        self.records.append(rec)
        if ev.kind == "purchase" and rec["outcome"] == "ok" and rec["points"] > 0:
            self.bought.append(
                {"member": ev.member, "amount": ev.amount, "ref": ev.ref, "points": rec["points"]}
            )

    def write(self, worker: int, out_path: Path) -> None:
        seconds = time.perf_counter() - self.began
        _write_json(out_path, {"worker": worker, "seconds": seconds, "records": self.records})


def mixed_worker(
    url: str,
    worker: int,
    n_ops: int,
    seed: np.random.SeedSequence,
    mix: Mix,
    barrier: Any,
    out_path: Path,
) -> None:
    """Process body: open the ledger, wait for the others, send ``n_ops`` mixed requests one
    at a time (each its own transaction, with a unique client id), write the outcomes."""
    rng = np.random.default_rng(seed)
    led = Ledger(url)
    barrier.wait(BARRIER_TIMEOUT)
    log = _Log()
    for i in range(n_ops):
        ev = _next_event(rng, mix, worker, i, log.bought)
        sent = time.perf_counter()
        log.add(ev, _send(led, ev), sent)
    log.write(worker, out_path)


def stream_worker(
    url: str,
    worker: int,
    n_ops: int,
    seed: np.random.SeedSequence,
    mix: Mix,
    barrier: Any,
    out_path: Path,
) -> None:
    """Process body: as :func:`mixed_worker`, but the requests go through an
    :class:`EventStream` without waiting for each other (up to ``STREAM_WINDOW`` awaiting
    their answer), so they commit in groups; refunds are of purchases already answered."""
    rng = np.random.default_rng(seed)
    led = Ledger(url)
    barrier.wait(BARRIER_TIMEOUT)
    log = _Log()
    waiting: deque[tuple[EventIn, Future[EventOut], float]] = deque()

    def answered(block: bool) -> None:
        while waiting and (block or waiting[0][1].done()):
            ev, fut, sent = waiting.popleft()
            err = fut.exception()
            log.add(ev, outcome(ev, None if err else fut.result(), err), sent)

    with EventStream(led) as stream:
        for i in range(n_ops):
            answered(block=len(waiting) >= STREAM_WINDOW)
            ev = _next_event(rng, mix, worker, i, log.bought)
            waiting.append((ev, stream.submit(ev), time.perf_counter()))
        answered(block=True)
    log.write(worker, out_path)


def same_id_worker(
    url: str, worker: int, requests: Sequence[EventIn], barrier: Any, out_path: Path
) -> None:
    """Process body: send each of ``requests`` at the same moment as the other workers (one
    barrier per request), all of them with the same client ids and bodies."""
    led = Ledger(url)
    records = []
    for ev in requests:
        barrier.wait(BARRIER_TIMEOUT)
        records.append(_send(led, ev))
    _write_json(out_path, {"worker": worker, "records": records})


def _write_json(path: Path, data: object) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(path)


def read_records(paths: Sequence[Path]) -> pd.DataFrame:
    """Every worker's records as one frame (column ``worker`` added)."""
    frames = []
    for path in paths:
        data = json.loads(path.read_text(encoding="utf-8"))
        frame = pd.DataFrame(data["records"])
        frame.insert(0, "worker", data["worker"])
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def count_events(engine: Engine) -> int:
    """Rows in ``events`` (in a read transaction: on SQLite it does not queue for the write
    lock, so it sees each commit of a running import)."""
    with reading(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(t.events)).scalar_one())


# -- comparing ledgers ------------------------------------------------------------------------


def snapshot(engine: Engine) -> dict[str, pd.DataFrame]:
    """Every table that holds the ledger's state or history, with database ids dropped or
    replaced by member keys and client ids and rows sorted, so two ledgers that did the same
    work compare equal whatever ids their databases handed out (``programs.state_version``,
    a count of transactions, is left out)."""
    out: dict[str, pd.DataFrame] = {}
    with engine.connect() as conn:
        key_of = dict(conn.execute(select(t.members.c.id, t.members.c.key)).all())
        client_of = dict(conn.execute(select(t.events.c.id, t.events.c.client_id)).all())
        for table in SNAPSHOT_TABLES:
            frame = pd.read_sql(select(table), conn)
            for col, names in (("member", key_of), ("referrer", key_of), ("event", client_of)):
                if col in frame:
                    frame[col] = frame[col].map(names)
            frame = frame.drop(columns=[c for c in ("id", "state_version") if c in frame])
            out[table.name] = frame.sort_values(
                list(frame.columns), kind="stable", na_position="first"
            ).reset_index(drop=True)
    return out


def assert_same_ledgers(got: Engine, want: Engine) -> None:
    """Both ledgers hold the same :func:`snapshot`, table by table."""
    a, b = snapshot(got), snapshot(want)
    assert list(a) == list(b)
    for name in b:
        pd.testing.assert_frame_equal(a[name], b[name], obj=f"table {name}")


SNAPSHOT_TABLES = (
    t.clock,
    t.programs,
    t.members,
    t.events,
    t.postings,
    t.lots,
    t.pending,
    t.bids,
    t.tier_changes,
    t.reminders,
    t.stock,
    t.gmv_days,
    t.redemptions,
    t.day_close,
)

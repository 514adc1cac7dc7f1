"""``pointsim ledger feed``: a stream of events as JSON Lines, each answered in its own line.

An order system (or a queue consumer) writes one event per line as it happens::

    {"client_id": "order-1001", "member": "alice", "kind": "purchase", "amount": "129.90"}
    {"client_id": "ci-77", "member": "bob", "kind": "checkin"}
    {"client_id": "r-5", "member": "alice", "kind": "redeem", "name": "coffee_voucher"}

and reads one result per line back, in the same order, as soon as the event's transaction has
committed: the :class:`~sim.ledger.EventOut` fields, or ``error`` with the refusal. Events go
through an :class:`~sim.ledger.stream.EventStream`, so those that arrive together commit
together. Fields: ``client_id`` (required: feeding the same lines again must be safe),
``member``, ``kind`` (or an action's name, e.g. ``share``), and as in ``pointsim ledger
record``: ``amount`` (currency, exact to 6 decimals, as a string or a number), ``quantity``,
``name``, ``ref``, ``draw``, ``note``, ``day`` (YYYY-MM-DD, the business day by default).
A line that is not such an event is answered with its error and is not recorded: invalid
UTF-8, a number out of range or a line longer than :data:`MAX_LINE_BYTES` alike, and the lines
after it are answered as usual.
"""

from __future__ import annotations

import datetime as dt
import json
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import BinaryIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.engine import day_number
from sim.ledger.ledger import EventOut, Ledger
from sim.ledger.requests import EventIn, event_kind, parse_money
from sim.ledger.store import LedgerError
from sim.ledger.stream import EventStream


class FedEvent(BaseModel):
    """One line of a feed (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    client_id: str = Field(min_length=1, max_length=128)
    member: str = Field(min_length=1, max_length=128)
    kind: str
    amount: Decimal | None = None
    quantity: int = 0
    name: str = ""
    ref: int = 0
    draw: float | None = None
    note: str = ""
    day: dt.date | None = None


MAX_LINE_BYTES = 64 * 1024
"""The longest line a feed reads (an event is a few hundred bytes)."""


class LineTooLong(bytes):
    """The first bytes of a line longer than :data:`MAX_LINE_BYTES` (the rest was skipped)."""


def bounded_lines(stream: BinaryIO, limit: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """The lines of a binary stream, each read at most ``limit`` bytes at a time: a longer
    line is given as :class:`LineTooLong` and the rest of it is skipped unread into memory, so
    an endless line (``/dev/zero``) costs no more than ``limit`` bytes."""
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) <= limit or line.endswith(b"\n"):
            yield line
            continue
        while line and not line.endswith(b"\n"):  # skip to the end of the line
            line = stream.readline(limit)
        yield LineTooLong(b"")


def parse_line(line: str | bytes, where: str) -> EventIn:
    """The event of one feed line (text, or bytes that must be UTF-8); ``where`` names the
    line in errors. Whatever is wrong with the line is a :class:`LedgerError` for it."""
    if isinstance(line, LineTooLong):
        raise LedgerError(f"{where}: longer than {MAX_LINE_BYTES:,} bytes, not an event")
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LedgerError(
                f"{where}: not valid UTF-8 (byte {exc.start}: {line[exc.start : exc.start + 1]!r})"
            ) from None
    try:
        return _parse(line, where)
    except LedgerError:
        raise
    except (ValueError, ArithmeticError, TypeError) as exc:  # a number too big for a date ...
        raise LedgerError(f"{where}: {exc}") from None


def _parse(line: str, where: str) -> EventIn:
    try:
        fed = FedEvent.model_validate_json(line)
    except ValidationError as err:
        problems = []
        for e in err.errors(include_url=False):
            field = ".".join(str(p) for p in e["loc"])
            problems.append(f"{field}: {e['msg']}" if field else e["msg"])
        raise LedgerError(f"{where}: " + "; ".join(problems)) from None
    kind, name = event_kind(fed.kind, fed.name)
    return EventIn(
        fed.member,
        kind,
        client_id=fed.client_id,
        day=None if fed.day is None else day_number(fed.day),
        amount=0 if fed.amount is None else parse_money(str(fed.amount), "amount", where),
        quantity=fed.quantity,
        name=name,
        ref=fed.ref,
        draw=fed.draw,
        note=fed.note,
    )


@dataclass
class FeedReport:
    """What a feed did: lines answered (blank ones aside), events recorded, answered from an
    earlier recording of their client id, refused; the transactions that recorded them."""

    lines: int = 0
    recorded: int = 0
    duplicates: int = 0
    refused: int = 0
    transactions: int = 0
    seconds: float = 0.0


def feed(
    ledger: Ledger,
    lines: Iterable[str | bytes],
    answer: Callable[[str], None],
    *,
    source: str = "<stdin>",
    strict: bool = True,
) -> FeedReport:
    """Record the events of ``lines`` (blank lines skipped) and ``answer`` each with a JSON
    object, in input order, as soon as it and those before it have their result."""
    report = FeedReport()
    began = time.perf_counter()
    answers: queue.Queue[tuple[int, Future[EventOut]] | None] = queue.Queue()
    failed: list[BaseException] = []

    def answering() -> None:  # its own thread: an answer goes out while input is awaited
        while (item := answers.get()) is not None:
            if failed:
                continue
            number, fut = item
            try:
                answer(
                    json.dumps(
                        _answer(number, fut, source, report), ensure_ascii=False, default=str
                    )
                )
            except BaseException as exc:  # raised again by the feeding thread
                failed.append(exc)

    thread = threading.Thread(target=answering, name="ledger-feed-answers", daemon=True)
    thread.start()
    try:
        with EventStream(ledger, strict=strict) as stream:
            for number, line in enumerate(lines, start=1):
                if failed:
                    break
                if not isinstance(line, LineTooLong) and not line.strip():
                    continue
                report.lines += 1
                try:
                    fut = stream.submit(parse_line(line, f"{source} line {number}"))
                except LedgerError as bad:
                    fut = Future()
                    fut.set_exception(bad)
                answers.put((number, fut))
        report.transactions = stream.groups
    finally:
        answers.put(None)
        thread.join()
    if failed:
        raise failed[0]
    report.seconds = time.perf_counter() - began
    return report


def _answer(
    number: int, fut: Future[EventOut], source: str, report: FeedReport
) -> dict[str, object]:
    err = fut.exception()
    if err is None:
        out = fut.result()
        report.recorded += not out.duplicate
        report.duplicates += out.duplicate
        return {"line": number, **asdict(out)}
    if not isinstance(err, LedgerError):
        raise err  # the database went away, a bug: not an answer to this line
    report.refused += 1
    where = f"{source} line {number}: "
    text = str(err)
    return {"line": number, "error": text if text.startswith(where) else where + text}

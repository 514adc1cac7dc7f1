"""Events fed one at a time and committed in groups: how an order stream reaches the ledger.

A caller submits each event as it arrives and gets that event's own result (a
:class:`~concurrent.futures.Future` of an :class:`~sim.ledger.EventOut`). One thread records
them with :meth:`Ledger.record`: whatever arrived while a transaction was committing goes into
the next one (group commit; a TigerBeetle client likewise keeps one request in flight and
queues what the application sends meanwhile, docs.tigerbeetle.com/reference/sessions), so a
transaction carries more events as they arrive faster, and an event waits for at most the
transaction in progress and its own. Nothing is held back waiting for company: a lone event is
recorded at once.

Events are recorded in arrival order. A group the ledger refuses (an unknown member, a
redemption beyond the balance or the stock, a client id reused for another body ...) is split
in halves until each refused event stands alone: it gets its refusal and the others are
recorded, still in order, so each event's outcome is the one it would have had sent alone after
those before it. A failure that is not a refusal (the database went away) fails every event of
the group; sending them again with the same client ids is safe. Events still queued when the
process ends without :meth:`EventStream.close` are not recorded (nor answered): nothing is
half-written, and feeding them again records them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sim.ledger.ledger import EventOut, Ledger
from sim.ledger.requests import EventIn
from sim.ledger.store import LedgerError

MAX_GROUP = 256
"""Events in one transaction at most (a group's engine call and writes stay small)."""


@dataclass(frozen=True)
class _Item:
    event: EventIn
    result: Future[EventOut]


class _Close:
    """Put on the queue by :meth:`EventStream.close`: the events before it are the last."""


_CLOSE = _Close()


class EventStream(AbstractContextManager["EventStream"]):
    """Submit events one at a time; each is recorded in arrival order, in groups (see the
    module docstring). Use as a context manager, or call :meth:`close`, which waits until
    every submitted event has its result.

    The stream's thread is the only user of ``ledger`` while the stream is open. ``strict``
    as in :meth:`Ledger.record`: a burn the engine refuses is an error of that event (True)
    or recorded with its status (False). ``pending``: events waiting at most, beyond which
    :meth:`submit` blocks (back-pressure)."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        strict: bool = True,
        max_group: int = MAX_GROUP,
        pending: int = 10_000,
    ) -> None:
        if max_group < 1:
            raise ValueError(f"max_group(={max_group}) must be >= 1")
        self.ledger = ledger
        self.strict = strict
        self.max_group = max_group
        self.groups = 0
        """Transactions that recorded events (the average group size is events / groups)."""
        self._queue: queue.Queue[_Item | _Close] = queue.Queue(maxsize=pending)
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="ledger-stream", daemon=True)
        self._thread.start()

    def submit(self, event: EventIn) -> Future[EventOut]:
        """Queue ``event``; its future gets the :class:`EventOut` once its transaction has
        committed, or the :class:`LedgerError` that refused it."""
        if self._closed:
            raise LedgerError("stream: closed, no more events are taken")
        item = _Item(event, Future())
        self._queue.put(item)
        return item.result

    def close(self) -> None:
        """Take no more events and wait until every submitted one has its result."""
        if not self._closed:
            self._closed = True
            self._queue.put(_CLOSE)
        self._thread.join()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the recording thread ---------------------------------------------------------------

    def _run(self) -> None:
        carry: _Item | _Close | None = None
        while True:
            first = carry if carry is not None else self._queue.get()
            carry = None
            if isinstance(first, _Close):
                return
            group = [first]
            ids = {first.event.client_id}
            while len(group) < self.max_group:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _Close) or not _joins(group, ids, item):
                    carry = item  # starts the next group (or ends the stream after this one)
                    break
                group.append(item)
                ids.add(item.event.client_id)
            self._record(group)

    def _record(self, group: Sequence[_Item]) -> None:
        """Record ``group`` in one transaction; if refused, its halves in turn."""
        try:
            outs = self.ledger.record([it.event for it in group], strict=self.strict)
        except LedgerError as refused:
            if len(group) == 1:
                group[0].result.set_exception(_as_one(refused))
                return
            half = len(group) // 2
            self._record(group[:half])
            self._record(group[half:])
            return
        except Exception as failed:  # not a refusal: every event of the group gets it
            for it in group:
                it.result.set_exception(failed)
            return
        self.groups += 1
        for it, out in zip(group, outs, strict=True):
            it.result.set_result(out)


def _joins(group: Sequence[_Item], ids: set[str], item: _Item) -> bool:
    """Whether ``item`` can share a transaction with ``group``: the same day asked for (one
    request is one day) and a client id not already in it (a repeat is answered from the
    first once that is recorded)."""
    return item.event.day == group[0].event.day and item.event.client_id not in ids


def _as_one(err: LedgerError) -> LedgerError:
    """The refusal of a lone event, its message naming the field (``member: ...``), not
    ``events[0].member: ...`` of a batch."""
    if err.at != "events[0]":
        return err
    return type(err)(err.reason, field=err.field)

"""Requests to the ledger: events as callers send them, checked and turned into engine codes.

An event names its member by key, its kind by name (``purchase``, ``redeem`` ...) and its
category, action, catalogue item or auction lot by ``name``. Money is integer micros. The
``client_id`` makes a request idempotent: sent again with the same body it returns the first
result; with a different body it is refused (:class:`IdempotencyConflict`).
"""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd

from sim.engine import CompiledPolicy, Kind
from sim.engine.codes import ROLES, STAGES, referral_code
from sim.ledger.limits import (
    FIELD_BOUNDS,
    int_problem,
    normal,
    quantity_bounds,
    text_problem,
)
from sim.ledger.store import LedgerError
from sim.policy import ACTIONS, MICROS

KINDS = {k.name.lower(): k for k in Kind}


class IdempotencyConflict(LedgerError):
    """The client id was used before with a different request body."""


@dataclass(frozen=True)
class EventIn:
    """One event as a caller sends it (see the module docstring); ``day`` None means the
    ledger's business day."""

    member: str
    kind: str
    client_id: str = field(default_factory=lambda: f"auto:{uuid.uuid4()}")
    day: int | None = None
    amount: int = 0
    quantity: int = 0
    name: str = ""
    code: int = 0
    ref: int = 0
    draw: float | None = None
    note: str = ""

    def body_hash(self, day: int) -> str:
        """SHA-256 of the request body (everything but the client id), with its day."""
        body = {f: getattr(self, f) for f in BODY_FIELDS}
        body["day"] = day
        return body_hash(body)


BODY_FIELDS = ("member", "kind", "day", "amount", "quantity", "name", "code", "ref", "draw", "note")
SEP = "\x1f"


def draw_text(draw: float | None) -> str:
    return "" if draw is None or draw != draw else repr(float(draw))


def body_hash(body: dict[str, Any]) -> str:
    """SHA-256 of an event body: its :data:`BODY_FIELDS` as text joined by :data:`SEP` (no
    draw or a NaN one: empty). :func:`body_hashes` is the same over columns. The encoding is
    one to one: no text field may hold :data:`SEP` (a control character,
    :func:`sim.ledger.limits.text_problem`), and the numbers' text has none."""
    parts = [draw_text(body[f]) if f == "draw" else str(body[f]) for f in BODY_FIELDS]
    return hashlib.sha256(SEP.join(parts).encode()).hexdigest()


def body_hashes(columns: dict[str, pd.Series]) -> list[str]:
    """:func:`body_hash` of each row of columns named as :data:`BODY_FIELDS`."""
    text = columns["member"].astype(str)
    for f in BODY_FIELDS[1:]:
        col = (columns[f].map(draw_text) if f == "draw" else columns[f]).astype(str)
        text = text + SEP + col
    return [hashlib.sha256(x.encode()).hexdigest() for x in text]


def parse_money(text: str, field: str = "amount", at: str = "") -> int:
    """Exact micros of a decimal amount of currency (``"129.90"``); refuses NaN, infinities,
    negatives and more than six decimals, naming ``field`` (at ``at``, see
    :class:`LedgerError`)."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise LedgerError(
            f"{text!r} is not a number (expected e.g. 129.90)", field=field, at=at
        ) from None
    if not value.is_finite() or value < 0:
        raise LedgerError(f"{text!r}, expected a finite amount >= 0", field=field, at=at)
    micros = value * MICROS
    if micros != micros.to_integral_value():
        raise LedgerError(f"{text!r} has more than 6 decimals", field=field, at=at)
    return int(micros)


def money_text(micros: int) -> str:
    """A number of micros as an exact decimal amount of currency (``129900000`` ->
    ``"129.9"``): the inverse of :func:`parse_money`, for what people and programs read."""
    text = format(Decimal(int(micros)).scaleb(-6), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def event_kind(kind: str, name: str) -> tuple[str, str]:
    """``(kind, name)`` of an event given as callers name it: an action's own name
    (``share``, ``review`` ...) stands for kind ``action`` of that name."""
    return ("action", kind) if kind in ACTIONS else (kind, name)


def normalised(ev: EventIn) -> EventIn:
    """``ev`` with its member key, client id and name in Unicode NFC (one text, one key)."""
    texts = (ev.member, ev.client_id, ev.name)
    if not all(isinstance(v, str) for v in texts) or all(v.isascii() for v in texts):
        return ev  # ASCII is NFC; a non-text field is refused by :func:`check`
    return replace(
        ev, member=normal(ev.member), client_id=normal(ev.client_id), name=normal(ev.name)
    )


def check(ev: EventIn, at: str) -> None:
    """Refuse an event whose fields are of the wrong kind or range (:mod:`sim.ledger.limits`);
    ``at`` names the event (``events[2]``), the error the field."""

    def bad(field: str, reason: str) -> LedgerError:
        return LedgerError(reason, field=field, at=at)

    if ev.kind not in KINDS:
        raise bad("kind", f"{ev.kind!r}, expected one of {', '.join(KINDS)}")
    for name, required in (("member", True), ("client_id", True), ("name", False)):
        problem = text_problem(name, getattr(ev, name), required=required)
        if problem:
            raise bad(name, problem)
    problem = text_problem("note", ev.note, required=False)
    if problem:
        raise bad("note", problem)
    bounds = {**FIELD_BOUNDS, "quantity": quantity_bounds(ev.kind)}
    for name, (low, high) in bounds.items():
        value = getattr(ev, name)
        if isinstance(value, np.bool_):
            value = bool(value)
        problem = int_problem(value, low, high, "micros" if name == "amount" else "")
        if problem:
            raise bad(name, problem)
    if ev.kind == "adjust" and ev.quantity == 0:
        raise bad("quantity", "0, expected a non-zero adjustment")
    if ev.kind == "lottery":
        if ev.draw is None or not math.isfinite(ev.draw) or not 0 <= ev.draw < 1:
            raise bad("draw", f"{ev.draw!r}, expected a number in [0, 1)")
    elif ev.draw is not None and not math.isfinite(ev.draw):
        raise bad("draw", f"{ev.draw!r}, expected a finite number or none")
    if ev.kind in ("adjust", "freeze", "unfreeze") and not ev.note.strip():
        raise bad("note", f"empty, an operator {ev.kind} needs a reason")
    if ev.kind in ("purchase", "cash_offset") and ev.amount <= 0:
        raise bad("amount", f"{ev.amount!r}, expected an order value > 0")
    if ev.kind == "redeem" and not ev.name:
        raise bad("name", "empty, expected a catalogue item id")


def code_of(cp: CompiledPolicy, ev: EventIn, at: str) -> int:
    """The engine ``code`` of an event under policy ``cp``, from its ``name`` when given
    (refused naming field ``name`` of the event ``at``)."""
    kind = ev.kind
    if not ev.name:
        return ev.code
    if kind == "purchase":
        return cp.category_code(ev.name)
    if kind == "action":
        return _index(ACTIONS, ev.name, at, "an action")
    if kind == "redeem":
        return _index(cp.item_ids, ev.name, at, "a catalogue item")
    if kind == "bid":
        return _index(cp.lot_ids, ev.name, at, "an auction lot")
    if kind == "referral":
        stage, _, role = ev.name.partition(":")
        _index(STAGES, stage, at, "a referral stage")
        _index(ROLES, role, at, "a referral role (after ':')")
        return referral_code(stage, role)
    return ev.code


def _index(options: tuple[str, ...], name: str, at: str, what: str) -> int:
    if name not in options:
        shown = ", ".join(options) if options else "none in this policy"
        raise LedgerError(f"{name!r} is not {what} (expected one of: {shown})", field="name", at=at)
    return options.index(name)

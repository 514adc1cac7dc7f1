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
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd

from sim.engine import CompiledPolicy, Kind
from sim.engine.codes import ROLES, STAGES, referral_code
from sim.ledger.store import LedgerError
from sim.policy import ACTIONS, MICROS

KINDS = {k.name.lower(): k for k in Kind}
MAX_MICROS = 10**15  # a billion currency units: larger amounts are refused as typos


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
    draw or a NaN one: empty). :func:`body_hashes` is the same over columns."""
    parts = [draw_text(body[f]) if f == "draw" else str(body[f]) for f in BODY_FIELDS]
    return hashlib.sha256(SEP.join(parts).encode()).hexdigest()


def body_hashes(columns: dict[str, pd.Series]) -> list[str]:
    """:func:`body_hash` of each row of columns named as :data:`BODY_FIELDS`."""
    text = columns["member"].astype(str)
    for f in BODY_FIELDS[1:]:
        col = (columns[f].map(draw_text) if f == "draw" else columns[f]).astype(str)
        text = text + SEP + col
    return [hashlib.sha256(x.encode()).hexdigest() for x in text]


def parse_money(text: str, what: str) -> int:
    """Exact micros of a decimal amount of currency (``"129.90"``); refuses NaN, infinities,
    negatives and more than six decimals."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise LedgerError(f"{what}: {text!r} is not a number (expected e.g. 129.90)") from None
    if not value.is_finite() or value < 0:
        raise LedgerError(f"{what}: {text!r}, expected a finite amount >= 0")
    micros = value * MICROS
    if micros != micros.to_integral_value():
        raise LedgerError(f"{what}: {text!r} has more than 6 decimals")
    return int(micros)


def event_kind(kind: str, name: str) -> tuple[str, str]:
    """``(kind, name)`` of an event given as callers name it: an action's own name
    (``share``, ``review`` ...) stands for kind ``action`` of that name."""
    return ("action", kind) if kind in ACTIONS else (kind, name)


def check(ev: EventIn, where: str) -> None:
    """Refuse an event whose fields are of the wrong kind or range; ``where`` names it."""
    if ev.kind not in KINDS:
        raise LedgerError(f"{where}.kind: {ev.kind!r}, expected one of {', '.join(KINDS)}")
    if not ev.member:
        raise LedgerError(f"{where}.member: empty, expected a member key")
    for name in ("amount", "quantity", "code", "ref"):
        value = getattr(ev, name)
        if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
            raise LedgerError(f"{where}.{name}: {value!r}, expected an integer")
    if not 0 <= ev.amount <= MAX_MICROS:
        raise LedgerError(f"{where}.amount: {ev.amount!r} micros, expected 0..{MAX_MICROS}")
    if ev.kind != "adjust" and ev.quantity < 0:
        raise LedgerError(f"{where}.quantity: {ev.quantity!r}, expected >= 0")
    if ev.kind == "adjust" and ev.quantity == 0:
        raise LedgerError(f"{where}.quantity: 0, expected a non-zero adjustment")
    if ev.kind == "lottery":
        if ev.draw is None or not math.isfinite(ev.draw) or not 0 <= ev.draw < 1:
            raise LedgerError(f"{where}.draw: {ev.draw!r}, expected a number in [0, 1)")
    elif ev.draw is not None and not math.isfinite(ev.draw):
        raise LedgerError(f"{where}.draw: {ev.draw!r}, expected a finite number or none")
    if ev.kind in ("adjust", "freeze", "unfreeze") and not ev.note.strip():
        raise LedgerError(f"{where}.note: empty, an operator {ev.kind} needs a reason")
    if ev.kind in ("purchase", "cash_offset") and ev.amount <= 0:
        raise LedgerError(f"{where}.amount: {ev.amount!r}, expected an order value > 0")
    if ev.kind == "redeem" and not ev.name:
        raise LedgerError(f"{where}.name: empty, expected a catalogue item id")


def code_of(cp: CompiledPolicy, ev: EventIn, where: str) -> int:
    """The engine ``code`` of an event under policy ``cp``, from its ``name`` when given."""
    kind = ev.kind
    if not ev.name:
        return ev.code
    if kind == "purchase":
        return cp.category_code(ev.name)
    if kind == "action":
        return _index(ACTIONS, ev.name, f"{where}.name", "an action")
    if kind == "redeem":
        return _index(cp.item_ids, ev.name, f"{where}.name", "a catalogue item")
    if kind == "bid":
        return _index(cp.lot_ids, ev.name, f"{where}.name", "an auction lot")
    if kind == "referral":
        stage, _, role = ev.name.partition(":")
        _index(STAGES, stage, f"{where}.name", "a referral stage")
        _index(ROLES, role, f"{where}.name (after ':')", "a referral role")
        return referral_code(stage, role)
    return ev.code


def _index(options: tuple[str, ...], name: str, where: str, what: str) -> int:
    if name not in options:
        shown = ", ".join(options) if options else "none in this policy"
        raise LedgerError(f"{where}: {name!r} is not {what} (expected one of: {shown})")
    return options.index(name)

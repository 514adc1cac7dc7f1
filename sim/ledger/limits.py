"""What the ledger accepts: the bounds of every number a request carries and what a key or a
text field may hold, the same on SQLite and PostgreSQL.

Numbers are bounded far below the engine's int64 arithmetic, so that no sum of them can wrap:
an amount is at most :data:`MAX_MICROS` (a billion currency units), an adjustment at most
:data:`MAX_POINTS` points either way, a quantity at most :data:`MAX_QUANTITY` items, a
reference at most :data:`MAX_REF` (exact in JSON and JavaScript). The policy's own numbers are
bounded where it is validated (:mod:`sim.policy.base`), and what an event would earn beyond
``sim.engine.arith.MAX_ENGINE_POINTS`` is refused by the engine rather than wrapped.

Keys (member keys, client ids, groups, labels) and names are normalised to Unicode NFC, so two
spellings of one text are one key, and may not be blank, start or end with spaces, or hold
control, format (zero-width, bidi override), private-use or unassigned characters. Notes may
hold line breaks and tabs but no other control or format characters.
"""

from __future__ import annotations

import unicodedata

MAX_MICROS = 10**15
"""Largest amount of an event, in micros (a billion currency units): more is a typo."""
MAX_POINTS = 10**15
"""Largest adjustment either way, in points."""
MAX_QUANTITY = 10**6
"""Largest quantity of items in one event (an order's items, coupons redeemed, points offset
at checkout are bounded by the amount instead)."""
MAX_REF = 2**53 - 1
"""Largest order or investment reference."""
MAX_CODE = 2**31 - 1
"""Largest engine code (a category, action, item or lot index)."""

CHARS = {
    "member": 128,
    "key": 128,
    "referrer": 128,
    "client_id": 200,
    "group": 64,
    "label": 64,
    "name": 128,
    "note": 2000,
}
"""Most characters each text field may hold (the database columns' lengths)."""

_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_NOTE_ALLOWED = frozenset({"\n", "\t"})


def normal(text: str) -> str:
    """``text`` in Unicode NFC (two spellings of one text compare equal)."""
    return unicodedata.normalize("NFC", text)


def text_problem(field: str, value: object, *, required: bool = True) -> str | None:
    """What is wrong with ``value`` as text field ``field`` (None: nothing), after NFC."""
    if not isinstance(value, str):
        return f"{value!r}, expected text"
    value = normal(value)
    most = CHARS[field]
    if len(value) > most:
        return f"{len(value):,} characters, expected at most {most}"
    if not value.strip():
        return "empty, expected text" if required else None  # a kind may need it (a reason)
    note = field == "note"
    if not note and value != value.strip():
        return f"{value!r} starts or ends with a space"
    for i, ch in enumerate(value):
        if ch in _NOTE_ALLOWED and note:
            continue
        if unicodedata.category(ch) in _BAD_CATEGORIES:
            return (
                f"{value!r} holds U+{ord(ch):04X} ({unicodedata.name(ch, 'a control character')}) "
                f"at {i}, expected printable text"
            )
    return None


def int_problem(value: object, low: int, high: int, unit: str = "") -> str | None:
    """What is wrong with ``value`` as an integer in ``low..high`` (None: nothing)."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        return f"{value!r}, expected an integer"
    number = int(value)  # type: ignore[call-overload]
    if not low <= number <= high:
        return f"{number}{' ' + unit if unit else ''}, expected {low}..{high}"
    return None


FIELD_BOUNDS = {"amount": (0, MAX_MICROS), "code": (0, MAX_CODE), "ref": (-1, MAX_REF)}
"""Bounds of an event's numbers other than its quantity (:func:`quantity_bounds`)."""

POINT_QUANTITIES = frozenset({"refund", "cash_offset", "bid", "donate"})
"""Kinds whose quantity is points (to reverse, wanted at checkout, bid, donated)."""
MAX_DAY = 2_932_896
"""The day number of 9999-12-31: an investment's maturity day at most."""


def quantity_bounds(kind: str) -> tuple[int, int]:
    """An event's quantity bounds: an adjustment's points either way; points for the kinds
    of :data:`POINT_QUANTITIES`; a maturity day for an investment; else items."""
    if kind == "adjust":
        return -MAX_POINTS, MAX_POINTS
    if kind in POINT_QUANTITIES:
        return 0, MAX_POINTS
    if kind == "investment":
        return 0, MAX_DAY
    return 0, MAX_QUANTITY

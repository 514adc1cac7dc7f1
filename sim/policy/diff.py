"""Differences between two policies, field by field (``pointsim policy diff``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Final

from sim.policy.model import Policy


class _Missing:
    """Marks a key present on one side of a diff only."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<missing>"

    def __bool__(self) -> bool:
        return False


__all__ = ["MISSING", "Change", "diff", "render_diff"]

MISSING: Final = _Missing()
"""The value shown for a key one side of a :func:`diff` does not have."""

Change = tuple[str, object, object]
"""``(dotted path, value in a, value in b)``."""


def _walk(path: str, a: object, b: object, out: list[Change]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            sub = f"{path}.{key}" if path else str(key)
            _walk(sub, a.get(key, MISSING), b.get(key, MISSING), out)
    elif isinstance(a, list) and isinstance(b, list) and any(isinstance(x, dict) for x in [*a, *b]):
        for i in range(max(len(a), len(b))):
            _walk(
                f"{path}.{i}",
                a[i] if i < len(a) else MISSING,
                b[i] if i < len(b) else MISSING,
                out,
            )
    elif a != b or type(a) is not type(b):
        out.append((path, a, b))


def diff(a: Policy, b: Policy) -> list[Change]:
    """Changed leaf fields from ``a`` to ``b`` by dotted path, in ``a``'s field order.

    Tables are compared key by key (a key on one side only gives one change, with
    :data:`MISSING` on the other side and the whole table on this one); lists of tables
    element by element; other lists as whole values. Earn rules and campaigns apply in file
    order when priorities tie, so a change of their application order is reported too, as
    ``earn:order`` / ``campaigns:order`` with the enabled ids in order on each side.
    """
    out: list[Change] = []
    _walk("", a.model_dump(mode="json"), b.model_dump(mode="json"), out)
    for table, order_a, order_b in (
        ("earn", [k for k, _ in a.ordered_earn()], [k for k, _ in b.ordered_earn()]),
        ("campaigns", [k for k, _ in a.ordered_campaigns()], [k for k, _ in b.ordered_campaigns()]),
    ):
        common = set(order_a) & set(order_b)
        if [k for k in order_a if k in common] != [k for k in order_b if k in common]:
            out.append((f"{table}:order", order_a, order_b))
    return out


def _show(value: object) -> str:
    if value is MISSING:
        return "(missing)"
    return json.dumps(value, ensure_ascii=False)


def render_diff(changes: Sequence[Change]) -> str:
    """One line per change: ``path: old -> new``; says so when there is none."""
    if not changes:
        return "no differences\n"
    noun = "field differs" if len(changes) == 1 else "fields differ"
    lines = [f"{len(changes)} {noun}:"]
    lines += [f"  {path}: {_show(old)} -> {_show(new)}" for path, old, new in changes]
    return "\n".join(lines) + "\n"

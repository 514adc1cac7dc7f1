"""Helpers for the ledger's property and error tests: the test policies, the ledger's
promises as plain check functions, and a snapshot of a ledger's state to compare before and
after a refused request.

The policies are the repository's programmes with a few fields overridden, so that within a
few business days around a month end something happens: points held pending during a return
window, points expiring, refunds clawing back beyond the balance, tiers reviewed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from sim.ledger import EventIn, Ledger, LedgerError, NewMember
from sim.ledger import schema as t
from sim.policy import Policy, load_policy, override

POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"
START = dt.date(2026, 1, 27)
"""A first business day a few days before a month end (interest, tier reviews)."""

OUTFLOWS = ("pending", "available", "redeemed", "expired", "reversed", "donated")
"""The accounts ``issued`` is split into (conservation)."""

COUNTED = (
    t.members,
    t.events,
    t.postings,
    t.lots,
    t.pending,
    t.bids,
    t.redemptions,
    t.tier_changes,
    t.reminders,
    t.day_close,
    t.gmv_days,
)
"""Tables whose row counts a refused request must leave as they were."""

OVERRIDES: dict[str, tuple[str, dict[str, Any]]] = {
    # purchases held pending for a 2-day return window; one item of scarce stock
    "pending": (
        "coffee_beans.toml",
        {"earn.purchase.delay_days": 2, "burn.catalogue.merch.stock": 2},
    ),
    # points valid one month to the day, with reminders
    "expiry": (
        "coffee_beans.toml",
        {
            "expiry.mode": "rolling",
            "expiry.months": 1,
            "expiry.rounding": "day",
            "expiry.reminders": (1, 3),
        },
    ),
    # a refund claws back beyond the balance: available may go negative (debt)
    "clawback": (
        "coffee_beans.toml",
        {"refunds.clawback": "allow_negative", "earn.per_cup.delay_days": 1},
    ),
    # tiers reviewed every month on one month's qualifying points; a freeze withholds earning;
    # cash offsets at checkout
    "tiers": (
        "ecommerce_double_points.toml",
        {
            "tiers.gold.threshold": 100,
            "tiers.platinum.threshold": 400,
            "tiering.window_months": 1,
            "tiering.review": "monthly",
            "tiering.upgrade": "review",
            "tiering.downgrade": "one_step",
            "freeze.blocks_earn": True,
            "burn.catalogue.earbuds.points": 600,
            "burn.catalogue.earbuds.stock": 1,
        },
    ),
}
POLICY_NAMES = tuple(OVERRIDES)


@cache
def ledger_policy(name: str) -> Policy:
    """Policy ``name`` of :data:`OVERRIDES`."""
    file, ov = OVERRIDES[name]
    return override(load_policy(POLICY_DIR / file), ov)


def allows_negative(policy: Policy) -> bool:
    return policy.refunds.clawback == "allow_negative"


def new_ledger(
    url: str, name: str, members: int = 2, start: dt.date = START
) -> tuple[Ledger, list[str]]:
    """A ledger under test policy ``name`` with ``members`` members ``m0, m1 ...``."""
    led = Ledger.init(url, {"default": (ledger_policy(name), name)}, start)
    keys = [f"m{i}" for i in range(members)]
    led.add_members([NewMember(k) for k in keys])
    return led, keys


# -- the ledger's promises ----------------------------------------------------------------


def check_member(led: Ledger, key: str, *, allow_negative: bool) -> dict[str, object]:
    """Assert member ``key``'s promises from ``balance()`` and ``lots()``: conservation, no
    negative account (available only where the policy allows it), lots that hold points and
    sum to the available balance (plus the debt a clawback left); returns the balance."""
    b = led.balance(key)
    outflows = sum(int(b[a]) for a in OUTFLOWS)
    assert b["issued"] == outflows, f"{key}: issued {b['issued']} != {outflows} ({b})"
    for a in ("issued", "pending", "redeemed", "expired", "reversed", "donated", "debt"):
        assert int(b[a]) >= 0, f"{key}: negative {a} ({b})"
    if not allow_negative:
        assert int(b["available"]) >= 0, f"{key}: negative balance ({b})"
        assert b["debt"] == 0, f"{key}: debt the policy forbids ({b})"
    lots = led.lots(key)
    assert (lots["points"] > 0).all(), f"{key}: empty or negative lot\n{lots}"
    held = int(lots["points"].sum())
    assert held - int(b["debt"]) == b["available"], (
        f"{key}: lots hold {held}, debt {b['debt']}, available {b['available']}"
    )
    if int(b["debt"]):
        assert held == 0, f"{key}: lots and debt held together ({b})"
    return b


def check_ledger(led: Ledger, keys: list[str], *, allow_negative: bool) -> dict[str, dict]:
    """:func:`check_member` for every key, and the ledger's own audit; returns the balances."""
    problems = led.audit()
    assert problems == [], "audit:\n" + "\n".join(problems)
    return {k: check_member(led, k, allow_negative=allow_negative) for k in keys}


# -- snapshots ----------------------------------------------------------------------------


def snapshot(led: Ledger) -> dict[str, object]:
    """The ledger's state: every member row (balances, tier, counters ...), the clock, the
    stock, and the row counts of the tables in :data:`COUNTED`."""
    with led.engine.connect() as conn:
        out: dict[str, object] = {
            f"rows.{table.name}": conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in COUNTED
        }
        out["members"] = [
            tuple(r) for r in conn.execute(select(t.members).order_by(t.members.c.id))
        ]
        out["clock"] = [tuple(r) for r in conn.execute(select(t.clock))]
        out["stock"] = sorted(tuple(r) for r in conn.execute(select(t.stock)))
        lots = conn.execute(select(t.lots.c.member, t.lots.c.expires_on, t.lots.c.points))
        out["lots"] = sorted((m, -1 if e is None else e, p) for m, e, p in lots)
    return out


def seeded(url: str) -> Ledger:
    """A ledger under the "pending" test policy (coffee beans; two units of merch in stock)
    on its first business day :data:`START`, opened by the requests that gave m0 1000
    points and m1 60 (a request opens its day before it is checked, so a refused one would
    open it); client id "known" is taken."""
    led, _ = new_ledger(url, "pending")
    led.record(
        [
            EventIn("m0", "adjust", client_id="known", quantity=1000, note="opening balance"),
            EventIn("m1", "adjust", quantity=60, note="opening balance"),
        ]
    )
    return led


def refused(led: Ledger, call: Callable[[], object], *expected: str) -> LedgerError:
    """Run ``call``: it must raise a LedgerError whose message holds every ``expected``
    fragment, and leave the ledger unchanged with a clean audit."""
    before = snapshot(led)
    with pytest.raises(LedgerError) as info:
        call()
    message = str(info.value)
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in the message {message!r}"
    after = snapshot(led)
    assert after == before, f"refused ({message}) but the ledger changed"
    audit_clean(led, after)
    return info.value


_AUDITED: dict[str, dict[str, object]] = {}


def audit_clean(led: Ledger, state: dict[str, object]) -> None:
    """Assert ``led.audit()`` is clean; skipped when this ledger (by its URL, unique to a
    test) was audited clean in the very same :func:`snapshot` state: the ledger never edits
    postings in place, so the audit could not differ, and the module's refusals on one
    ledger would otherwise audit it some 50 times."""
    if _AUDITED.get(led.url) == state:
        return
    assert led.audit() == []
    _AUDITED[led.url] = state

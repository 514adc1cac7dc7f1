"""New members and a new group's catalogue stock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, insert, select, update

from sim.ledger import schema as t
from sim.ledger.store import LedgerError
from sim.policy import Policy


@dataclass(frozen=True)
class NewMember:
    """A member to add: ``join_day`` None joins on the business day; ``label`` is the
    experiment label the policy's campaign audiences use."""

    key: str
    group: str = "default"
    join_day: int | None = None
    birth_month: int = 0
    label: str = ""
    referrer: str | None = None


def insert_stock(conn: Connection, grp: str, policy: Policy) -> None:
    rows = [
        {"grp": grp, "item": k, "remaining": item.stock}
        for k, item in policy.burn.catalogue.items()
        if item.stock is not None
    ]
    if rows:
        conn.execute(insert(t.stock), rows)


def new_member_row(m: NewMember, join: int, tier: str, label: str) -> dict[str, object]:
    return {
        "key": m.key,
        "grp": m.group,
        "label": label,
        "join_day": join,
        "birth_month": m.birth_month,
        "referrer": None,
        "tier": tier,
        "tier_open": tier,
        "tier_day": -(2**30),
        "frozen": False,
        "debt": 0,
        "shortfall": 0,
        "streak": 0,
        "last_checkin": -(2**30),
        "last_active": join,
        **{
            a: 0
            for a in (
                "issued",
                "pending",
                "available",
                "redeemed",
                "expired",
                "reversed",
                "donated",
            )
        },
        "counters": "{}",
    }


def link_referrers(conn: Connection, new: Sequence[NewMember]) -> None:
    refs = {m.referrer for m in new if m.referrer}
    if not refs:
        return
    ids = dict(
        conn.execute(select(t.members.c.key, t.members.c.id).where(t.members.c.key.in_(refs))).all()
    )
    rows = []
    for i, m in enumerate(new):
        if m.referrer:
            if m.referrer not in ids:
                raise LedgerError(f"no member {m.referrer!r}", field="referrer", at=f"members[{i}]")
            rows.append({"k": m.key, "r": ids[m.referrer]})
    conn.execute(
        update(t.members).where(t.members.c.key == bindparam("k")).values(referrer=bindparam("r")),
        rows,
    )

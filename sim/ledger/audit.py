"""``pointsim ledger audit``: the ledger's promises, checked from its tables.

Every check reads the database alone (no engine state), so it catches a bug in the code that
wrote the rows as well as a row changed by hand:

- the journal: every posting moves points >= 0 between two different, known accounts;
- each member's account balances equal the sums of their postings;
- conservation, per member and in total: issued = pending + available + redeemed + expired +
  reversed + donated;
- lots sum to the available balance plus any debt, and hold no negative or empty lot;
- pending rows sum to the pending balance, each holding points;
- no negative balance or debt unless the group's policy allows a negative balance;
- stock is never negative; every accepted redemption order belongs to an accepted event.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Table, func, select

from sim.engine import Account
from sim.ledger import schema as t

ACCOUNTS = [a.name.lower() for a in Account]
SHOWN = 10  # members named per violated rule


def audit(conn: Connection) -> list[str]:
    """Every violation found, as sentences naming members (empty: the ledger is sound)."""
    out: list[str] = []
    out += _journal(conn)
    members = pd.read_sql(
        select(
            t.members.c.id,
            t.members.c.key,
            t.members.c.grp,
            t.members.c.debt,
            *(t.members.c[a] for a in ACCOUNTS),
        ),
        conn,
    ).set_index("id")
    posted = _posted_balances(conn, members.index)
    for a in ACCOUNTS:
        _flag(out, members, members[a] != posted[a], f"{a} balance != sum of its postings")
        _flag(out, members, (members[a] < 0) & (a != "available"), f"negative {a} account")
    others = members[ACCOUNTS[1:]].sum(axis=1)
    _flag(
        out,
        members,
        members["issued"] != others,
        "conservation: issued != pending + available + redeemed + expired + reversed + donated",
    )
    if int(members["issued"].sum()) != int(others.sum()):
        out.append("conservation in total: issued != the sum of the other accounts")
    lots = _sums(conn, t.lots, members.index)
    _flag(
        out,
        members,
        lots != members["available"] + members["debt"],
        "lots != available balance + debt",
    )
    bad_lots = conn.execute(select(func.count()).where(t.lots.c.points <= 0)).scalar_one()
    if bad_lots:
        out.append(f"{bad_lots} lot rows hold no points or negative points")
    pend = _sums(conn, t.pending, members.index)
    _flag(out, members, pend != members["pending"], "pending table != pending balance")
    bad_pend = conn.execute(select(func.count()).where(t.pending.c.points <= 0)).scalar_one()
    if bad_pend:
        out.append(f"{bad_pend} pending rows hold no points or negative points")
    allow = _groups_allowing_negative(conn)
    strict = ~members["grp"].isin(allow)
    _flag(out, members, strict & (members["available"] < 0), "negative balance the policy forbids")
    _flag(out, members, strict & (members["debt"] > 0), "debt the policy forbids")
    _flag(out, members, members["debt"] < 0, "negative debt")
    neg_stock = conn.execute(select(t.stock).where(t.stock.c.remaining < 0)).all()
    for row in neg_stock:
        out.append(f"negative stock: {row.item} in group {row.grp} ({row.remaining})")
    orphan = conn.execute(
        select(func.count())
        .select_from(t.redemptions)
        .join(t.events, t.events.c.id == t.redemptions.c.event)
        .where(t.events.c.status != "ok")
    ).scalar_one()
    if orphan:
        out.append(f"{orphan} redemption orders belong to events that were not accepted")
    return out


def _flag(out: list[str], members: pd.DataFrame, mask: pd.Series, what: str) -> None:
    if mask.any():
        keys = members.loc[mask, "key"].head(SHOWN).tolist()
        out.append(f"{what}: {int(mask.sum())} member(s), e.g. {', '.join(keys)}")


def _journal(conn: Connection) -> list[str]:
    p = t.postings
    n = len(Account)
    bad = conn.execute(
        select(func.count()).where(
            (p.c.points < 0)
            | (p.c.src == p.c.dst)
            | (p.c.src < 0)
            | (p.c.src >= n)
            | (p.c.dst < 0)
            | (p.c.dst >= n)
            | (p.c.dst == int(Account.ISSUED))
        )
    ).scalar_one()
    return [f"journal: {bad} postings with negative points or bad accounts"] if bad else []


def _posted_balances(conn: Connection, ids: pd.Index) -> pd.DataFrame:
    p = t.postings
    into = pd.read_sql(
        select(p.c.member, p.c.dst, func.sum(p.c.points).label("pts")).group_by(
            p.c.member, p.c.dst
        ),
        conn,
    )
    out_of = pd.read_sql(
        select(p.c.member, p.c.src, func.sum(p.c.points).label("pts")).group_by(
            p.c.member, p.c.src
        ),
        conn,
    )
    bal = pd.DataFrame(0, index=ids, columns=ACCOUNTS, dtype=np.int64)
    for a in Account:
        name = ACCOUNTS[a]
        plus = into[into.dst == a].set_index("member")["pts"]
        minus = out_of[out_of.src == a].set_index("member")["pts"]
        if a == Account.ISSUED:  # the programme's source counts what it issued
            bal[name] = minus.reindex(ids, fill_value=0)
        else:
            bal[name] = plus.reindex(ids, fill_value=0) - minus.reindex(ids, fill_value=0)
    return bal


def _sums(conn: Connection, table: Table, ids: pd.Index) -> pd.Series:
    frame = pd.read_sql(
        select(table.c.member, func.sum(table.c.points).label("pts")).group_by(table.c.member),
        conn,
    )
    return frame.set_index("member")["pts"].reindex(ids, fill_value=0)


def _groups_allowing_negative(conn: Connection) -> list[str]:
    rows = conn.execute(
        select(t.programs.c.grp, t.policy_versions.c.policy_json).join(
            t.policy_versions, t.policy_versions.c.id == t.programs.c.policy_version
        )
    ).all()
    return [
        grp
        for grp, text in rows
        if json.loads(text).get("refunds", {}).get("clawback") == "allow_negative"
    ]

"""Reading the ledger: a member's balance, statement and lots; daily metrics; the event log.

Every function takes an open connection and returns plain values or a DataFrame; nothing here
writes. Metrics use the simulation's definitions (:mod:`sim.kpi`, DESIGN.md
section 5): flows are summed from the journal and the events, positions come from each day's
close (``day_close``).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, case, func, select

from sim.engine import Account, to_date
from sim.engine.flows import point_flows
from sim.ledger import schema as t
from sim.ledger.store import LedgerError
from sim.policy import MICROS

ACCOUNTS = [a.name.lower() for a in Account]
ACTION_KINDS = ("action",)
BURNS = ("redeem", "cash_offset", "lottery", "bid", "donate")


def member_row(conn: Connection, key: str) -> dict[str, object]:
    row = conn.execute(select(t.members).where(t.members.c.key == key)).first()
    if row is None:
        raise LedgerError(f"no member {key!r} in the ledger", field="member")
    return dict(row._mapping)


def balance(conn: Connection, key: str) -> dict[str, object]:
    """A member's accounts, tier and state."""
    m = member_row(conn, key)
    out: dict[str, object] = {"member": key, "group": m["grp"], "tier": m["tier"]}
    out.update({a: m[a] for a in ACCOUNTS})
    out.update(frozen=m["frozen"], debt=m["debt"], shortfall=m["shortfall"])
    return out


def statement(conn: Connection, key: str, first: int | None, last: int | None) -> pd.DataFrame:
    """A member's postings in day order, with the event each came from and the running
    available balance."""
    m = member_row(conn, key)
    p, e = t.postings, t.events
    conds = [p.c.member == m["id"]]
    if first is not None:
        conds.append(p.c.day >= first)
    if last is not None:
        conds.append(p.c.day <= last)
    query = (
        select(
            p.c.id,
            p.c.day,
            p.c.rule,
            p.c.src,
            p.c.dst,
            p.c.points,
            p.c.value,
            p.c.cost,
            e.c.client_id,
            e.c.kind,
        )
        .outerjoin(e, e.c.id == p.c.event)
        .where(and_(*conds))
        .order_by(p.c.id)
    )
    frame = pd.read_sql(query, conn)
    avail = Account.AVAILABLE
    delta = np.where(frame["dst"] == avail, frame["points"], 0) - np.where(
        frame["src"] == avail, frame["points"], 0
    )
    before = 0
    if first is not None:
        into = func.coalesce(func.sum(case((p.c.dst == avail, p.c.points), else_=0)), 0)
        out_of = func.coalesce(func.sum(case((p.c.src == avail, p.c.points), else_=0)), 0)
        before = int(
            conn.execute(
                select(into - out_of).where(p.c.member == m["id"], p.c.day < first)
            ).scalar_one()
        )
    frame["available_after"] = before + np.cumsum(delta)
    frame["day"] = [to_date(d) for d in frame["day"]]
    frame["src"] = [ACCOUNTS[a] for a in frame["src"]]
    frame["dst"] = [ACCOUNTS[a] for a in frame["dst"]]
    return frame.rename(columns={"id": "posting"})


def lots(conn: Connection, key: str) -> pd.DataFrame:
    """A member's available points by the last day they are valid (empty date: no dated
    expiry), earliest first: the order they are spent in."""
    m = member_row(conn, key)
    frame = pd.read_sql(
        select(t.lots.c.expires_on, t.lots.c.points)
        .where(t.lots.c.member == m["id"])
        .order_by(t.lots.c.expires_on),
        conn,
    )
    frame["expires_on"] = [None if pd.isna(d) else to_date(int(d)) for d in frame["expires_on"]]
    return frame


def metrics(conn: Connection, first: int, last: int) -> pd.DataFrame:
    """One row per (group, day) of closed days in [first, last]: the simulation's daily
    metrics that a ledger knows (behaviour truths such as ``alive`` are not among them)."""
    dc = pd.read_sql(
        select(t.day_close).where(t.day_close.c.day >= first, t.day_close.c.day <= last), conn
    )
    if dc.empty:
        raise LedgerError(
            f"metrics: no closed day between {to_date(first)} and {to_date(last)} "
            "(run `pointsim ledger eod` first)"
        )
    p = pd.read_sql(
        select(
            t.members.c.grp,
            t.postings.c.day,
            t.postings.c.src,
            t.postings.c.dst,
            t.postings.c.points,
            t.postings.c.cost,
        )
        .join(t.members, t.members.c.id == t.postings.c.member)
        .where(t.postings.c.day >= first, t.postings.c.day <= last),
        conn,
    )
    ev = pd.read_sql(
        select(
            t.members.c.grp,
            t.events.c.day,
            t.events.c.member,
            t.events.c.kind,
            t.events.c.amount,
            t.events.c.status,
        )
        .join(t.members, t.members.c.id == t.events.c.member)
        .where(t.events.c.day >= first, t.events.c.day <= last),
        conn,
    )
    before = pd.read_sql(
        select(t.day_close.c.grp, t.day_close.c.members).where(t.day_close.c.day == first - 1),
        conn,
    ).set_index("grp")["members"]
    out = dc.rename(columns={"grp": "group"}).set_index(["group", "day"]).sort_index()
    # members who joined: growth since the previous close (everyone, on the ledger's first day)
    prev = out.groupby(level="group")["members"].shift(1)
    start = pd.Series(out.index.get_level_values("group").map(before), index=out.index)
    out["new_members"] = (out["members"] - prev.fillna(start).fillna(0)).astype(np.int64)
    flows = _flows(p).reindex(out.index, fill_value=0)
    acts = _activity(ev).reindex(out.index, fill_value=0)
    out = out.join(flows).join(acts)
    out["outstanding_points"] = out["pending_points"] + out["available_points"]
    out["liability"] = out["liability"] / MICROS
    out["cost_ratio"] = np.where(
        out["gmv"] > 0, out["points_cost"] / out["gmv"].where(out["gmv"] > 0, 1), np.nan
    )
    tiers = pd.DataFrame([json.loads(x) for x in out.pop("tiers")], index=out.index)
    out = out.join(tiers.add_prefix("tier_"))
    out = out.reset_index()
    out["day"] = pd.to_datetime([to_date(d) for d in out["day"]])
    return out


def _flows(p: pd.DataFrame) -> pd.DataFrame:
    cols = {k: p.points.where(m, 0) for k, m in point_flows(p.src, p.dst).items()}
    cols["points_cost"] = p.cost / MICROS
    frame = pd.DataFrame({"group": p.grp, "day": p.day, **cols})
    return frame.groupby(["group", "day"]).sum()


def _activity(ev: pd.DataFrame) -> pd.DataFrame:
    ok = ev.status == "ok"
    buy = ev.kind == "purchase"
    frame = pd.DataFrame(
        {
            "group": ev.grp,
            "day": ev.day,
            "gmv": np.where(buy, ev.amount / MICROS, 0.0),
            "checkins": ev.kind == "checkin",
            "actions": ev.kind.isin(ACTION_KINDS),
            "redemptions": ev.kind.isin(BURNS) & ok,
        }
    )
    out = frame.groupby(["group", "day"]).sum()
    keys = ["grp", "day"]
    out["engaged_members"] = ev.groupby(keys)["member"].nunique().rename_axis(["group", "day"])
    out["orders"] = ev[buy].groupby(keys)["member"].nunique().rename_axis(["group", "day"])
    out["active_members"] = out["orders"]  # members who bought today
    return out.fillna(0)


def events_frame(conn: Connection, first: int | None, last: int | None) -> pd.DataFrame:
    """The event log of days [first, last] in the form ``import`` reads (plus outcomes)."""
    e, m = t.events, t.members
    conds = []
    if first is not None:
        conds.append(e.c.day >= first)
    if last is not None:
        conds.append(e.c.day <= last)
    frame = pd.read_sql(
        select(
            e.c.client_id,
            m.c.grp.label("group"),
            e.c.day,
            e.c.id.label("seq"),
            m.c.key.label("member"),
            e.c.kind,
            e.c.amount,
            e.c.quantity,
            e.c.code,
            e.c.name,
            e.c.ref,
            e.c.draw,
            e.c.note,
            e.c.status,
            e.c.points,
        )
        .join(m, m.c.id == e.c.member)
        .where(and_(True, *conds))
        .order_by(e.c.day, e.c.id),
        conn,
    )
    frame["day"] = [to_date(d).isoformat() for d in frame["day"]]
    return frame


def members_frame(conn: Connection) -> pd.DataFrame:
    """Every member in the form of a members file (``member`` and ``referrer`` are keys)."""
    m, r = t.members, t.members.alias("r")
    frame = pd.read_sql(
        select(
            m.c.grp.label("group"),
            m.c.key.label("member"),
            m.c.join_day,
            m.c.birth_month,
            r.c.key.label("referrer"),
            m.c.label,
        )
        .outerjoin(r, r.c.id == m.c.referrer)
        .order_by(m.c.id),
        conn,
    )
    frame["join_day"] = [to_date(d).isoformat() for d in frame["join_day"]]
    frame["referrer"] = frame["referrer"].fillna("")
    return frame

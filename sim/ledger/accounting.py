"""The ledger's books for its points under IFRS 15 (``sim.accounting.ifrs15``): each calendar
month's issue cohort, what its sales allocated to the points, what has been recognised, and
the roll forward of the contract liability from the last closed accounting period.

Points leave members first in first out (``sim.accounting.cohorts.CohortBook``, by month):
a cohort's redemptions are attributed to the points it issued, and the part issued by sales
(purchase events) carries the allocated revenue; points given without a sale (check-ins,
actions, bonuses) are no contract with a customer, so they defer no revenue and appear in the
cost view only. A sale's price is split with the anchor point value and the expected
redemption share of the policy version it was recorded under (``[accounting]
expected_redemption``, or where that is unset the books' estimate from the ledger's own
history at the time, ``SaleBooks.estimate_through``); each cohort's expected redemptions use
the estimate given for the report, else the active policy's, else the books' estimate for
that cohort. ``close`` stores the positions, the opening of the next roll forward.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, func, insert, select

from sim.accounting import Cohort, Development, Movement, Triangle, develop, roll_forward
from sim.accounting.books import SaleBooks, month_label
from sim.engine import Account, to_date
from sim.ledger import schema as t
from sim.ledger.store import LedgerError
from sim.policy import MICROS, Policy, validate_policy

__all__ = ["RollForward", "close_books", "positions", "roll_forward_of"]


@dataclass
class RollForward:
    """A group's contract liability from ``opened`` (the last closed period, None: from the
    start) to ``as_of``, per issue month and in total (micros), with the estimate used."""

    group: str
    opened: dt.date | None
    as_of: dt.date
    estimate: float
    """The expected redemption rate used (the books' overall rate when estimated by cohort)."""
    basis: str = "policy"
    """Where :attr:`estimate` comes from: "given", "policy", or the books' own history
    ("history", or why there is no estimate from it yet and every point is expected)."""
    cohorts: dict[str, Movement] = field(default_factory=dict)
    total: Movement = field(default_factory=lambda: Movement(0, 0, 0, 0, 0, 0))
    unsold_outstanding: int = 0
    """Points given without a sale still outstanding (a cost, not deferred revenue)."""
    development: Development | None = None
    """The chain ladder of every month cohort's redemptions (all points, first in first
    out): the ledger's own estimate of the ultimate redemption rate, shown beside the one
    used."""
    months: list[str] = field(default_factory=list)
    """The issue months of :attr:`development`'s cohorts, oldest first."""
    cost_per_point: float = 0.0
    """Cash cost (micros) per point redeemed so far: what members' redemptions cost."""
    expected_cost: int = 0
    """The cost view: points outstanding expected to be redeemed (from sales at each cohort's
    expectation, the rest at the estimate) x :attr:`cost_per_point`, in micros."""

    def basis_text(self) -> str:
        """Where the expected redemption rate comes from, in words."""
        if self.basis == "given":
            return "as given"
        if self.basis == "policy":
            return "the policy's [accounting] expected_redemption"
        if self.basis == "history":
            through = self.months[-1] if self.months else "?"
            return f"estimated from the ledger's history, chain ladder through {through}"
        return f"no estimate from history yet ({self.basis}): every point expected"

    def estimated_rate(self) -> float:
        """The chain ladder's ultimate redemption rate over every cohort (NaN without one)."""
        d = self.development
        if d is None or d.issued.sum() <= 0:
            return float("nan")
        return float((d.redeemed + d.future).sum() / d.issued.sum())


@dataclass(frozen=True)
class Positions:
    """Each month cohort's position at the end of a day (the :class:`Cohort` of its points
    from sales), the estimate used and its basis (see :class:`RollForward`), the points given
    without a sale still held, and the chain ladder of the month cohorts with their months."""

    cohorts: dict[int, Cohort]
    estimate: float
    basis: str
    unsold: int = 0
    development: Development | None = None
    months: list[str] = field(default_factory=list)


def positions(conn: Connection, grp: str, as_of: int, estimate: float | None) -> Positions:
    """The :class:`Positions` at the end of day ``as_of``: the journal fed day by day to
    :class:`sim.accounting.books.SaleBooks`, as the simulation feeds it."""
    m = t.members
    ids = np.asarray(
        conn.execute(select(m.c.id).where(m.c.grp == grp).order_by(m.c.id)).scalars().all(),
        np.int64,
    )
    p = t.postings
    rows = pd.DataFrame(
        conn.execute(
            select(p.c.day, p.c.member, p.c.event, p.c.src, p.c.dst, p.c.points, p.c.policy_version)
            .join(m, m.c.id == p.c.member)
            .where(m.c.grp == grp, p.c.day <= as_of, p.c.points != 0)
            .order_by(p.c.day, p.c.id)
        ).all(),
        columns=["day", "member", "event", "src", "dst", "points", "version"],
    )
    basis = "given"
    if estimate is None:
        estimate = _policy(conn, _active_version(conn, grp)).accounting.expected_redemption
        basis = "policy"
    if rows.empty or not len(ids):
        if estimate is None:
            return Positions({}, 1.0, "no history yet")
        return Positions({}, estimate, basis)
    sale, amount = _sales(conn, rows)
    pos = np.searchsorted(ids, rows["member"].to_numpy(np.int64))
    src, dst = rows["src"].to_numpy(np.int64), rows["dst"].to_numpy(np.int64)
    pts, version = rows["points"].to_numpy(np.int64), rows["version"].to_numpy(np.int64)
    books = SaleBooks(len(ids), int(rows["day"].min()), as_of)
    terms = {}
    for v in np.unique(version):
        pol = _policy(conn, int(v))
        terms[int(v)] = (pol.program.point_value * MICROS, pol.accounting.expected_redemption)
    for day, part in rows.groupby(["day", "version"], sort=True).indices.items():
        value, share = terms[int(day[1])]
        books.feed(
            int(day[0]), pos[part], src[part], dst[part], pts[part], sale[part], amount[part],
            value, share,
        )  # fmt: skip
    history = books.estimate_through(as_of)
    cohorts = books.cohorts(estimate)
    if estimate is None:
        estimate, basis = history.rate, history.basis
    # the chain ladder shown: the one of the last month's end (the books' estimate), else
    # every cohort so far
    development = history.development
    if development is None:
        book = books.book
        book.value()
        development = develop(Triangle.from_book(book))
    months = [month_label(books.first_month + c) for c in range(len(development.issued))]
    return Positions(cohorts, estimate, basis, books.unsold_outstanding(), development, months)


def _sales(conn: Connection, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per posting: the id of the purchase event it belongs to (-1: none) and that purchase's
    amount in micros."""
    e = t.events
    ids = sorted({int(i) for i in rows["event"].dropna().unique()})
    amounts: dict[int, int] = {}
    for start in range(0, len(ids), 10_000):  # bounded IN lists
        chunk = ids[start : start + 10_000]
        for event_id, amount in conn.execute(
            select(e.c.id, e.c.amount).where(e.c.id.in_(chunk), e.c.kind == "purchase")
        ):
            amounts[int(event_id)] = int(amount)
    event = rows["event"].fillna(-1).to_numpy(np.int64)
    sale = np.where(np.isin(event, list(amounts)), event, -1)
    amount = np.array([amounts.get(int(x), -1) for x in sale], np.int64)
    return sale, amount


def _active_version(conn: Connection, grp: str) -> int:
    vid = conn.execute(select(t.programs.c.policy_version).where(t.programs.c.grp == grp)).scalar()
    if vid is None:
        raise LedgerError(f"no group {grp!r} in the ledger", field="group")
    return int(vid)


def _policy(conn: Connection, vid: int) -> Policy:
    row = conn.execute(select(t.policy_versions).where(t.policy_versions.c.id == vid)).one()
    return validate_policy(json.loads(row.policy_json), row.source)


def _opening(conn: Connection, grp: str, as_of: int) -> tuple[int | None, dict[int, Cohort]]:
    a = t.accounting_closes
    last = conn.execute(
        select(a.c.as_of)
        .where(a.c.grp == grp, a.c.as_of < as_of)
        .order_by(a.c.as_of.desc())
        .limit(1)
    ).scalar()
    if last is None:
        return None, {}
    rows = conn.execute(select(a).where(a.c.grp == grp, a.c.as_of == last)).all()
    return int(last), {
        int(r.cohort): Cohort(
            int(r.allocated), int(r.issued), int(r.redeemed), float(r.expected), bool(r.settled)
        )
        for r in rows
    }


def roll_forward_of(
    conn: Connection, grp: str, as_of: int, estimate: float | None
) -> tuple[RollForward, dict[int, Cohort]]:
    """The roll forward of ``grp`` to the end of day ``as_of`` (and the positions it ends on)."""
    closed = conn.execute(select(t.clock.c.closed_through)).scalar_one()
    if as_of > closed:
        raise LedgerError(
            f"{to_date(as_of)} is not closed yet (the ledger is closed through "
            f"{to_date(closed)}): books are kept for closed days",
            field="as_of",
        )
    if estimate is not None and not 0.0 <= estimate <= 1.0:
        raise LedgerError(f"{estimate}, expected a share within [0, 1]", field="estimate")
    opened, before = _opening(conn, grp, as_of)
    pos = positions(conn, grp, as_of, estimate)
    now, used, unsold = pos.cohorts, pos.estimate, pos.unsold
    report = RollForward(
        grp, None if opened is None else to_date(opened), to_date(as_of), used, pos.basis
    )
    totals = np.zeros(6, np.int64)
    for month in sorted(set(before) | set(now)):
        after = now.get(month, before.get(month))
        assert after is not None
        move = roll_forward(before.get(month), after)
        report.cohorts[month_label(month)] = move
        totals += np.array(
            [
                move.opening,
                move.allocated,
                move.redemptions,
                move.breakage,
                move.reestimation,
                move.closing,
            ]
        )
    report.total = Movement(*(int(x) for x in totals))
    report.unsold_outstanding = unsold
    report.development, report.months = pos.development, pos.months
    redeemed = _redeemed_cost(conn, grp, as_of)
    report.cost_per_point = redeemed[1] / redeemed[0] if redeemed[0] else 0.0
    ahead = sum(c.expected - c.redeemed for c in now.values() if not c.settled)
    report.expected_cost = round((ahead + unsold * used) * report.cost_per_point)
    return report, now


def _redeemed_cost(conn: Connection, grp: str, as_of: int) -> tuple[int, int]:
    """(points redeemed, their cash cost in micros) of ``grp`` through ``as_of``."""
    p, m = t.postings, t.members
    row = conn.execute(
        select(func.coalesce(func.sum(p.c.points), 0), func.coalesce(func.sum(p.c.cost), 0))
        .join(m, m.c.id == p.c.member)
        .where(m.c.grp == grp, p.c.day <= as_of, p.c.dst == int(Account.REDEEMED))
    ).one()
    return int(row[0]), int(row[1])


def close_books(
    conn: Connection, grp: str, as_of: int, cohorts: dict[int, Cohort], estimate: float
) -> None:
    """Store the positions as the books closed at ``as_of`` (the next roll forward opens on
    them); refused when a later period is closed already."""
    a = t.accounting_closes
    later = conn.execute(
        select(a.c.as_of).where(a.c.grp == grp, a.c.as_of > as_of).limit(1)
    ).scalar()
    if later is not None:
        raise LedgerError(
            f"{to_date(as_of)}: the books of group {grp} are closed through {to_date(int(later))}",
            field="as_of",
        )
    conn.execute(delete(a).where(a.c.grp == grp, a.c.as_of == as_of))
    rows = [
        {
            "grp": grp,
            "as_of": as_of,
            "cohort": month,
            "allocated": c.allocated,
            "issued": c.issued,
            "redeemed": c.redeemed,
            "expected": c.expected,
            "settled": c.settled,
            "estimate": estimate,
        }
        for month, c in cohorts.items()
    ]
    if rows:
        conn.execute(insert(a), rows)


ACCOUNTS = {
    "allocated": ("sales revenue", "contract liability: points"),
    "redemptions": ("contract liability: points", "revenue: points redeemed"),
    "breakage": ("contract liability: points", "revenue: breakage"),
    "reestimation": ("contract liability: points", "revenue: change in estimate"),
}
"""The double entry of each movement (debit, credit); a negative amount swaps the sides."""


def journal(report: RollForward) -> pd.DataFrame:
    """The roll forward as double-entry journal lines a finance system can load: one entry
    per cohort and movement, two lines each (debit and credit, in currency with six decimals,
    and micros), dated at the report's ``as_of``."""
    rows = []
    entry = 0
    for cohort, move in report.cohorts.items():
        for name, (debit, credit) in ACCOUNTS.items():
            amount = int(getattr(move, name))
            if amount == 0:
                continue
            entry += 1
            if amount < 0:
                debit, credit, amount = credit, debit, -amount
            for account, side in ((debit, "debit"), (credit, "credit")):
                rows.append(
                    {
                        "date": report.as_of.isoformat(),
                        "entry": entry,
                        "group": report.group,
                        "cohort": cohort,
                        "movement": name,
                        "account": account,
                        "debit_micros": amount if side == "debit" else 0,
                        "credit_micros": amount if side == "credit" else 0,
                    }
                )
    columns = ["date", "entry", "group", "cohort", "movement", "account"]
    frame = pd.DataFrame(rows, columns=[*columns, "debit_micros", "credit_micros"])
    for side in ("debit", "credit"):
        frame[side] = frame[f"{side}_micros"].astype("int64") / MICROS
    return frame

"""Member state between database rows and the engine's arrays.

A member row holds the engine's per-member scalars, account balances and a JSON ``counters``
text; lots are rows by expiry date. Indexes that depend on a policy version (tiers, rules,
lot buckets) are stored by name or date, so a new policy version reads the same rows.

``counters`` JSON (only what is not zero is written):
``{"cd": day, "rd": {rule: points}, "od": points,``   daily caps and the day they count
``"cm": month, "rm": {rule: points}, "om": points,``  monthly caps and their month
``"q": {month: amount},`` qualifying points or spend micros by month index
``"t": {rule: [progress, stamp]},`` task progress and its period stamp
``"once": [rule, ...]}`` one-time rules already paid (and ``referral:STAGE`` for a referee
whose referral stage was paid).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from sim.engine import Account, CompiledPolicy, MemberState
from sim.engine import calendar as cal
from sim.engine.codes import REFERRAL_BIT, STAGES
from sim.engine.state import NEVER_DAY

I64 = npt.NDArray[np.int64]
Columns = dict[str, npt.NDArray[Any]]
"""Query results as one array per column (see :func:`sim.ledger.book.columns`)."""
ACCOUNT_COLUMNS = tuple(a.name.lower() for a in Account)
SCALARS = ("tier_day", "debt", "shortfall", "streak", "last_checkin", "last_active")
MEMBER_COLUMNS = (
    "id",
    "grp",
    "label",
    "join_day",
    "birth_month",
    "referrer",
    "tier",
    "tier_open",
    "frozen",
    *SCALARS,
    *ACCOUNT_COLUMNS,
    "counters",
)


@dataclass(frozen=True)
class Layout:
    """How one compiled policy lays member state out in arrays, by name."""

    cp: CompiledPolicy
    labels: tuple[str, ...]

    @classmethod
    def of(cls, cp: CompiledPolicy) -> Layout:
        return cls(cp, tuple(cp.policy.program.groups))

    def tier_index(self, names: npt.NDArray[Any]) -> npt.NDArray[np.int8]:
        index = {n: i for i, n in enumerate(self.cp.tier_names)}
        unknown = set(names) - set(index)
        if unknown:
            raise ValueError(
                f"members hold tiers {sorted(unknown)} the policy does not define "
                f"(tiers: {', '.join(self.cp.tier_names)})"
            )
        return np.array([index[x] for x in names.tolist()], np.int8).reshape(-1)

    def label_index(self, labels: npt.NDArray[Any]) -> npt.NDArray[np.int16]:
        index = {n: i for i, n in enumerate(self.labels)}
        return np.array([index.get(x, 0) for x in labels.tolist()], np.int16).reshape(-1)


def members_from_rows(
    lay: Layout, rows: Columns, position: Mapping[int, int], day: int
) -> MemberState:
    """Engine arrays for ``rows`` (in their order), as of ``day``. ``position`` maps member ids
    to positions in these arrays (a referrer outside them gets -1)."""
    cp, n = lay.cp, len(rows["id"])
    win = cp.policy.tiering.window_months
    month = cal.month_index(day)

    def col(name: str) -> I64:
        return rows[name].astype(np.int64)

    referrer = np.array(
        [-1 if r is None else position.get(int(r), -1) for r in rows["referrer"]], np.int64
    )
    acct = np.zeros((n, len(Account)), np.int64, order="F")
    for a in Account:
        acct[:, a] = rows[a.name.lower()].astype(np.int64)
    ms = MemberState(
        join_day=col("join_day"),
        birth_month=rows["birth_month"].astype(np.int8),
        group=lay.label_index(rows["label"]),
        referrer=referrer,
        tier=lay.tier_index(rows["tier"]),
        tier_open=lay.tier_index(rows["tier_open"]),
        tier_day=col("tier_day"),
        frozen=rows["frozen"].astype(bool),
        acct=acct,
        debt=col("debt"),
        shortfall=col("shortfall"),
        lots=np.zeros((n, cp.expiry.slots), np.int64, order="F"),
        qual=np.zeros((n, win), np.int64, order="F"),
        qual_month=np.full(n, month, np.int64),
        qual_total=np.zeros(n, np.int64),
        streak=col("streak"),
        last_checkin=col("last_checkin"),
        last_active=col("last_active"),
        flags=np.zeros(n, np.int64),
        cap_day=np.full(n, NEVER_DAY, np.int64),
        cap_month=np.full(n, NEVER_DAY, np.int64),
        rule_day=np.zeros((n, len(cp.cap_col)), np.int64, order="F"),
        rule_month=np.zeros((n, len(cp.cap_col)), np.int64, order="F"),
        overall_day=np.zeros(n, np.int64),
        overall_month=np.zeros(n, np.int64),
        task_progress=np.zeros((n, len(cp.task_col)), np.int64, order="F"),
        task_stamp=np.full((n, len(cp.task_col)), NEVER_DAY, np.int64, order="F"),
    )
    names = _rule_names(cp)
    for i, text in enumerate(rows["counters"]):
        if text != "{}":
            _decode_counters(ms, i, orjson.loads(text), names, month, win)
    return ms


@dataclass(frozen=True)
class _RuleNames:
    cap: dict[str, int]
    task: dict[str, int]
    once: dict[str, int]


def _rule_names(cp: CompiledPolicy) -> _RuleNames:
    ids = cp.rule_ids
    return _RuleNames(
        cap={ids[r]: c for r, c in cp.cap_col.items()},
        task={ids[r]: c for r, c in cp.task_col.items()},
        once={ids[r]: b for r, b in cp.one_time_bit.items()},
    )


def _decode_counters(
    ms: MemberState, i: int, c: dict[str, Any], names: _RuleNames, month: int, win: int
) -> None:
    if "cd" in c:
        ms.cap_day[i] = c["cd"]
        ms.overall_day[i] = c.get("od", 0)
        for rule, v in c.get("rd", {}).items():
            if rule in names.cap:
                ms.rule_day[i, names.cap[rule]] = v
    if "cm" in c:
        ms.cap_month[i] = c["cm"]
        ms.overall_month[i] = c.get("om", 0)
        for rule, v in c.get("rm", {}).items():
            if rule in names.cap:
                ms.rule_month[i, names.cap[rule]] = v
    for m_text, v in c.get("q", {}).items():
        m = int(m_text)
        if month - win < m <= month:
            ms.qual[i, m % win] += v
            ms.qual_total[i] += v
    for rule, (progress, stamp) in c.get("t", {}).items():
        if rule in names.task:
            ms.task_progress[i, names.task[rule]] = progress
            ms.task_stamp[i, names.task[rule]] = stamp
    for rule in c.get("once", ()):
        if rule in names.once:
            ms.flags[i] |= 1 << names.once[rule]
        elif rule in REFERRAL_ONCE:  # a referral stage paid for this referee
            ms.flags[i] |= 1 << REFERRAL_ONCE[rule]


REFERRAL_ONCE = {f"referral:{stage}": REFERRAL_BIT + i for i, stage in enumerate(STAGES)}
"""The ``once`` names of the referral stages paid for a referee (flag bits of the engine)."""


def _pairs(matrix: I64, names: list[tuple[str, int]]) -> list[list[tuple[str, int]]]:
    """Per row of ``matrix``, (name, value) of its non-zero named columns."""
    out: list[list[tuple[str, int]]] = [[] for _ in range(len(matrix))]
    if not names:
        return out
    cols = np.array([c for _, c in names], np.int64)
    sub = matrix[:, cols]
    rows, idx = np.nonzero(sub)
    for r, i, v in zip(rows.tolist(), idx.tolist(), sub[rows, idx].tolist(), strict=True):
        out[r].append((names[i][0], v))
    return out


def encode_counters(cp: CompiledPolicy, ms: MemberState, pos: I64) -> list[str]:
    """The ``counters`` JSON of members at positions ``pos`` (see the module docstring):
    non-zero entries are found with array operations, then each member's text is built."""
    ids = cp.rule_ids
    caps = [(ids[r], c) for r, c in cp.cap_col.items()]
    once = [(ids[r], b) for r, b in cp.one_time_bit.items()] + list(REFERRAL_ONCE.items())
    rd, rm = _pairs(ms.rule_day[pos], caps), _pairs(ms.rule_month[pos], caps)
    win = ms.qual.shape[1]
    top = ms.qual_month[pos]
    # qualifying months by calendar month: column k holds month top - k
    cal_months = top[:, None] - np.arange(win)[None, :]
    qual = np.take_along_axis(ms.qual[pos], cal_months % win, axis=1)
    q_rows, q_k = np.nonzero(qual)
    q: list[list[tuple[str, int]]] = [[] for _ in range(len(pos))]
    for r, m, v in zip(
        q_rows.tolist(), cal_months[q_rows, q_k].tolist(), qual[q_rows, q_k].tolist(), strict=True
    ):
        q[r].append((str(m), v))
    task_live = (ms.task_progress[pos] != 0) | (ms.task_stamp[pos] != NEVER_DAY)
    t_rows, t_cols = np.nonzero(task_live)
    tasks: list[list[tuple[str, list[int]]]] = [[] for _ in range(len(pos))]
    task_name = {c: ids[r] for r, c in cp.task_col.items()}
    for r, col in zip(t_rows.tolist(), t_cols.tolist(), strict=True):
        p, st = int(ms.task_progress[pos[r], col]), int(ms.task_stamp[pos[r], col])
        tasks[r].append((task_name[col], [p, st]))
    od, om = ms.overall_day[pos].tolist(), ms.overall_month[pos].tolist()
    cap_day, cap_month = ms.cap_day[pos].tolist(), ms.cap_month[pos].tolist()
    flags = ms.flags[pos].tolist()
    out = []
    for j in range(len(pos)):
        c: dict[str, Any] = {}
        if rd[j] or od[j]:
            c.update(cd=cap_day[j], rd=dict(rd[j]), od=od[j])
        if rm[j] or om[j]:
            c.update(cm=cap_month[j], rm=dict(rm[j]), om=om[j])
        if q[j]:
            c["q"] = dict(q[j])
        if tasks[j]:
            c["t"] = dict(tasks[j])
        if flags[j]:
            c["once"] = [k for k, bit in once if flags[j] >> bit & 1]
        out.append(orjson.dumps(c, option=orjson.OPT_SORT_KEYS).decode() if c else "{}")
    return out


def member_values(cp: CompiledPolicy, ms: MemberState, pos: I64) -> dict[str, list[Any]]:
    """Column values of the mutable member fields at positions ``pos`` (for UPDATEs)."""
    tiers = np.array(cp.tier_names, dtype=object)
    out: dict[str, list[Any]] = {
        "tier": list(tiers[ms.tier[pos]]),
        "tier_open": list(tiers[ms.tier_open[pos]]),
        "frozen": [bool(x) for x in ms.frozen[pos]],
    }
    for name in SCALARS:
        out[name] = getattr(ms, name)[pos].tolist()
    for a in Account:
        out[a.name.lower()] = ms.acct[pos, a].tolist()
    out["counters"] = encode_counters(cp, ms, pos)
    return out


def projection(cp: CompiledPolicy, ms: MemberState, day: int) -> I64:
    """Every persisted quantity of a member row as one int64 row, normalised as of ``day``
    (stale daily or monthly counters read as zero, qualifying months by calendar month): two
    states with equal rows persist to the same database rows."""
    month = cal.month_index(day)
    win = ms.qual.shape[1]
    day_ok = (ms.cap_day == day)[:, None]
    month_ok = (ms.cap_month == month)[:, None]
    qual = np.zeros((len(ms), win), np.int64)
    for k in range(win):  # calendar month ``month - k``
        m = month - k
        live = (ms.qual_month - win < m) & (m <= ms.qual_month)
        qual[:, k] = np.where(live, ms.qual[:, m % win], 0)
    parts = [
        np.stack(
            [
                ms.tier.astype(np.int64),
                ms.tier_open.astype(np.int64),
                ms.frozen.astype(np.int64),
                ms.flags,
                *(getattr(ms, name) for name in SCALARS),
                day_ok[:, 0] * ms.overall_day,
                month_ok[:, 0] * ms.overall_month,
            ],
            axis=1,
        ),
        ms.acct,
        ms.rule_day * day_ok,
        ms.rule_month * month_ok,
        qual,
        ms.task_progress,
        ms.task_stamp,
    ]
    return np.concatenate(parts, axis=1)


def lot_projection(ms: MemberState, slot_expiry: I64) -> I64:
    """Each member's lots as persisted: points and the last valid day of each held bucket."""
    return np.concatenate([ms.lots, np.where(ms.lots > 0, slot_expiry[None, :], 0)], axis=1)


def row_signature(member: I64, *columns: I64, n: int) -> npt.NDArray[np.uint64]:
    """Per member, an order-independent checksum of table rows (member, columns...): members
    whose checksum changed have a changed set of rows."""
    h = np.full(len(member), 0x9E3779B97F4A7C15, np.uint64)
    with np.errstate(over="ignore"):
        for c in columns:
            h = (h ^ c.astype(np.uint64)) * np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(31)
    out = np.zeros(n, np.uint64)
    np.add.at(out, member, h)
    count = np.bincount(member, minlength=n).astype(np.uint64)
    with np.errstate(over="ignore"):
        return out + count * np.uint64(0x94D049BB133111EB)

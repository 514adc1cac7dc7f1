"""Policy versions of a live ledger: applying a simulated policy, and switching at its day.

``apply`` records a new version for a group, effective from a future business day, only with
evidence: a simulation summary (``pointsim run ... --out OUT``, ``OUT/summary.json``) of a
group that ran exactly this policy (same content hash) with every health band it checks
passing -- or with ``force`` and a reason, which is recorded. When the effective day opens,
:func:`activate` makes it the group's policy and carries state over: lots keep their expiry
dates, except that points held without a dated expiry get the first full period of a newly
introduced expiry ("turning expiry on starts the first expiry one full period later"); new
limited catalogue items get their stock.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, func, insert, select, update

from sim.engine import compile_policy, to_date
from sim.ledger import schema as t
from sim.ledger.store import LedgerError
from sim.metrics.results import Summary, SummaryError
from sim.policy import Policy, content_hash, validate_policy
from sim.policy.diff import diff, render_diff


@dataclass(frozen=True)
class Evidence:
    file: str
    group: str
    checked: int
    """Health bands the summary checked for that group (all passing)."""


def check_evidence(path: Path, policy: Policy) -> Evidence:
    """The passing simulation of ``policy`` in summary ``path``, or a LedgerError saying why
    it is not evidence for it. The summary is read through its model
    (:class:`sim.metrics.results.Summary`) and each band is judged again from the figures by
    :func:`sim.health.judge`: a band passes only when the metric's whole 95% interval is inside
    it (one replication has no interval, so it is never evidence)."""
    try:
        summary = Summary.read(path)
    except SummaryError as exc:
        raise LedgerError(
            f"{exc} (pointsim run writes OUT/summary.json)", field="evidence"
        ) from None
    want = content_hash(policy)
    groups = [g for g, p in summary.policies.items() if p.content_hash == want]
    if not groups:
        seen = ", ".join(f"{g}: {p.content_hash[:12]}" for g, p in summary.policies.items())
        raise LedgerError(
            f"{path}: no group of that run used this policy (content hash {want[:12]}; the "
            f"run's groups: {seen}). Simulate exactly this policy first.",
            field="evidence",
        )
    problem = ""
    for g in groups:
        verdicts = {name: m.health() for name, m in summary.metrics.get(g, {}).items() if m.band}
        failing = {k: v for k, v in verdicts.items() if v is None or not v.ok}
        if verdicts and not failing:
            return Evidence(str(path), g, len(verdicts))
        if failing:
            shown = ", ".join(
                f"{k} {'not measured' if v is None else v.text()}" for k, v in failing.items()
            )
            problem = f"group {g} does not pass its health bands ({shown})"
        else:
            problem = f"group {g} checked no health band"
    raise LedgerError(f"{path}: not a passing simulation: {problem}", field="evidence")


def plan(conn: Connection, grp: str, policy: Policy) -> str:
    """The diff from the group's active policy to ``policy``, as text."""
    row = conn.execute(
        select(t.policy_versions.c.policy_json, t.policy_versions.c.source)
        .join(t.programs, t.programs.c.policy_version == t.policy_versions.c.id)
        .where(t.programs.c.grp == grp)
    ).first()
    if row is None:
        raise LedgerError(f"no group {grp!r} in the ledger", field="group")
    active = validate_policy(json.loads(row.policy_json), row.source)
    return render_diff(diff(active, policy))


def record(
    conn: Connection,
    grp: str,
    policy: Policy,
    source: str,
    effective: int,
    evidence: Evidence | None,
    reason: str | None,
) -> int:
    """Store a version of ``grp`` effective from day ``effective``; returns its id."""
    clock = conn.execute(select(t.clock)).one()
    first_free = (clock.open_day or clock.closed_through) + 1
    if effective < first_free:
        raise LedgerError(
            f"{to_date(effective)}: the ledger has run through {to_date(first_free - 1)}; a "
            f"policy can start on {to_date(first_free)} or later",
            field="effective",
        )
    held = set(
        conn.execute(select(t.members.c.tier).where(t.members.c.grp == grp).distinct()).scalars()
    )
    missing = held - set(policy.tiers)
    if missing:
        raise LedgerError(
            f"policy: members hold tiers {sorted(missing)} that it does not define "
            f"(its tiers: {', '.join(policy.tiers)})"
        )
    later = conn.execute(
        select(func.count()).where(
            t.policy_versions.c.grp == grp,
            t.policy_versions.c.status == "waiting",
            t.policy_versions.c.effective_day >= effective,
        )
    ).scalar_one()
    if later:
        raise LedgerError(
            f"{to_date(effective)}: group {grp} already has a version waiting to start on or "
            "after that day",
            field="effective",
        )
    ev = None if evidence is None else json.dumps(evidence.__dict__)
    return insert_version(conn, grp, policy, source, effective, ev, reason, "waiting")


def insert_version(
    conn: Connection,
    grp: str,
    policy: Policy,
    source: str,
    effective: int,
    evidence: str | None,
    reason: str | None,
    status: str,
) -> int:
    """Store a policy version row; returns its id."""
    return int(
        conn.execute(
            insert(t.policy_versions)
            .values(
                grp=grp,
                content_hash=content_hash(policy),
                effective_day=effective,
                policy_json=json.dumps(policy.model_dump(mode="json")),
                source=source,
                applied_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                evidence=evidence,
                forced_reason=reason,
                status=status,
            )
            .returning(t.policy_versions.c.id)
        ).scalar_one()
    )


def due(conn: Connection, grp: str, day: int) -> int | None:
    """The version of ``grp`` that starts on or before ``day`` and is not active yet."""
    return conn.execute(
        select(t.policy_versions.c.id)
        .where(
            t.policy_versions.c.grp == grp,
            t.policy_versions.c.status == "waiting",
            t.policy_versions.c.effective_day <= day,
        )
        .order_by(t.policy_versions.c.effective_day.desc())
        .limit(1)
    ).scalar()


def activate(conn: Connection, grp: str, vid: int, day: int) -> None:
    """Make version ``vid`` the policy of ``grp`` from ``day`` (before the day opens)."""
    row = conn.execute(select(t.policy_versions).where(t.policy_versions.c.id == vid)).one()
    new = compile_policy(validate_policy(json.loads(row.policy_json), row.source))
    prog = conn.execute(select(t.programs).where(t.programs.c.grp == grp)).one()
    old_row = conn.execute(
        select(t.policy_versions).where(t.policy_versions.c.id == prog.policy_version)
    ).one()
    old = compile_policy(validate_policy(json.loads(old_row.policy_json), old_row.source))
    expired_through = prog.expired_through
    if new.expiry.periodic:
        if not old.expiry.periodic:
            expired_through = new.expiry.current_period(day) - 1
            first_end = new.expiry.end_day(new.expiry.period_for_earn(day))
            conn.execute(
                update(t.lots)
                .where(
                    t.lots.c.expires_on.is_(None),
                    t.lots.c.member.in_(select(t.members.c.id).where(t.members.c.grp == grp)),
                )
                .values(expires_on=first_end)
            )
    else:
        conn.execute(
            update(t.lots)
            .where(t.lots.c.member.in_(select(t.members.c.id).where(t.members.c.grp == grp)))
            .values(expires_on=None)
        )
    have = set(conn.execute(select(t.stock.c.item).where(t.stock.c.grp == grp)).scalars())
    fresh = [
        {"grp": grp, "item": k, "remaining": item.stock}
        for k, item in new.policy.burn.catalogue.items()
        if item.stock is not None and k not in have
    ]
    if fresh:
        conn.execute(insert(t.stock), fresh)
    conn.execute(
        update(t.policy_versions)
        .where(t.policy_versions.c.grp == grp, t.policy_versions.c.status != "retired")
        .where(t.policy_versions.c.effective_day <= day, t.policy_versions.c.id != vid)
        .values(status="retired")
    )
    conn.execute(
        update(t.policy_versions).where(t.policy_versions.c.id == vid).values(status="active")
    )
    conn.execute(
        update(t.programs)
        .where(t.programs.c.grp == grp)
        .values(
            policy_version=vid,
            expired_through=expired_through,
            state_version=t.programs.c.state_version + 1,
        )
    )

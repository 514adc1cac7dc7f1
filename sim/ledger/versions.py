"""Policy versions of a live ledger: applying a simulated policy, and switching at its day.

``apply`` records a new version for a group, effective from a future business day, only with
evidence: a simulation summary (``pointsim run ... --out OUT``, ``OUT/summary.json``) of a
group that ran exactly this policy (same content hash) with every health band it checks
passing with its whole interval, over at least :data:`MIN_REPLICATIONS` replications and a
window that holds a whole run of each of the policy's dated campaigns -- or with ``force`` and
a reason, which is recorded. The evidence is stored with the version (its SHA-256 and its
content), so what a decision rested on can be read back; a campaign aimed at experiment labels
no member of the group carries is refused (it would boost nobody). A waiting version can be
cancelled with a reason; it then never starts. When the effective day opens,
:func:`activate` makes it the group's policy and carries state over: lots keep their expiry
dates, except that points held without a dated expiry get the first full period of a newly
introduced expiry ("turning expiry on starts the first expiry one full period later"); new
limited catalogue items get their stock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, func, insert, select, update

from sim.engine import compile_policy, day_number, to_date
from sim.engine.quote import campaign_active
from sim.ledger import schema as t
from sim.ledger.store import LedgerError
from sim.metrics.results import Summary, SummaryError
from sim.policy import Policy, content_hash, validate_policy
from sim.policy.diff import diff, render_diff

MIN_REPLICATIONS = 5
"""Replications a simulation needs to be evidence (a 95% interval from fewer is too wide to
rest a live change on)."""


@dataclass(frozen=True)
class Evidence:
    file: str
    group: str
    checked: int
    """Health bands the summary checked for that group (all passing)."""
    sha256: str = ""
    """Of the evidence file's bytes, as read."""
    summary: str = ""
    """The evidence file's content (a ``summary.json``), stored with the version."""
    verified: bool = False
    """Whether the recorded run was simulated again and gave the same figures."""

    def record(self) -> str:
        """The JSON stored in ``policy_versions.evidence``."""
        return json.dumps(
            {
                "file": self.file,
                "group": self.group,
                "checked": self.checked,
                "sha256": self.sha256,
                "verified": self.verified,
                "summary": json.loads(self.summary) if self.summary else None,
            }
        )


def campaigns_outside(policy: Policy, first: dt.date, last: dt.date) -> list[str]:
    """The policy's dated campaigns of which no whole run lies in ``first..last`` (each is a
    problem in words); a campaign without dates runs every day and always passes."""
    cp = compile_policy(policy)
    lo, hi = day_number(first), day_number(last)
    out = []
    for c in cp.campaigns:
        if c.start is None and c.end is None:
            continue
        active = [campaign_active(c, d) for d in range(lo - 1, hi + 2)]
        runs, start = [], None
        for i, on in enumerate(active):
            if on and start is None:
                start = i
            if not on and start is not None:
                runs.append((start, i - 1))
                start = None
        whole = [r for r in runs if r[0] > 0 and r[1] < len(active) - 1]
        if start is not None and start > 0 and c.end is None:
            whole.append((start, len(active) - 1))  # open-ended: its start is in the window
        if not whole:
            name = cp.rule_ids[c.rule_id]
            out.append(f"campaign {name} has no whole run in the window {first} to {last}")
    return out


def check_evidence(path: Path, policy: Policy) -> Evidence:
    """The passing simulation of ``policy`` in summary ``path``, or a LedgerError saying why
    it is not evidence for it. The summary is read through its model
    (:class:`sim.metrics.results.Summary`) and each band is judged again from the figures by
    :func:`sim.health.judge`: a band passes only when the metric's whole 95% interval is inside
    it (one replication has no interval, so it is never evidence)."""
    try:
        summary, data = Summary.read_with_bytes(path)
    except SummaryError as exc:
        raise LedgerError(
            f"{exc} (pointsim run writes OUT/summary.json)", field="evidence"
        ) from None
    if summary.replications < MIN_REPLICATIONS:
        raise LedgerError(
            f"{path}: {summary.replications} replication(s), evidence needs at least "
            f"{MIN_REPLICATIONS} (simulate it with more replications)",
            field="evidence",
        )
    outside = campaigns_outside(policy, summary.window.start, summary.window.end)
    if outside:
        raise LedgerError(
            f"{path}: the simulation did not see the policy's campaigns: {'; '.join(outside)}",
            field="evidence",
        )
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
            digest = hashlib.sha256(data).hexdigest()
            return Evidence(str(path), g, len(verdicts), digest, data.decode("utf-8"))
        if failing:
            shown = ", ".join(
                f"{k} {'not measured' if v is None else v.text()}" for k, v in failing.items()
            )
            problem = f"group {g} does not pass its health bands ({shown})"
        else:
            problem = f"group {g} checked no health band"
    raise LedgerError(f"{path}: not a passing simulation: {problem}", field="evidence")


def latest(conn: Connection, grp: str) -> tuple[str, Policy]:
    """What a new version of ``grp`` would follow: the last version waiting to start, else
    the active one, as (its description, its policy)."""
    v = t.policy_versions
    row = conn.execute(
        select(v.c.id, v.c.policy_json, v.c.source, v.c.effective_day)
        .where(v.c.grp == grp, v.c.status == "waiting")
        .order_by(v.c.effective_day.desc())
        .limit(1)
    ).first()
    if row is not None:
        what = f"version {row.id} of group {grp}, waiting to start on {to_date(row.effective_day)}"
    else:
        row = conn.execute(
            select(v.c.id, v.c.policy_json, v.c.source, v.c.effective_day)
            .join(t.programs, t.programs.c.policy_version == v.c.id)
            .where(t.programs.c.grp == grp)
        ).first()
        if row is None:
            raise LedgerError(f"no group {grp!r} in the ledger", field="group")
        what = f"active policy of group {grp} (version {row.id})"
    return what, validate_policy(json.loads(row.policy_json), row.source)


def plan(conn: Connection, grp: str, policy: Policy) -> str:
    """The diff to ``policy`` from what it would follow (:func:`latest`), as text with a
    header naming that version."""
    what, before = latest(conn, grp)
    return f"--- {what}\n" + render_diff(diff(before, policy))


def audience_problems(conn: Connection, grp: str, policy: Policy) -> list[str]:
    """Campaigns aimed at experiment labels (``groups``) no member of ``grp`` carries: they
    would boost nobody. Nothing to check while the group has no members."""
    labels = set(
        conn.execute(select(t.members.c.label).where(t.members.c.grp == grp).distinct()).scalars()
    )
    if not labels:
        return []
    return [
        f"campaigns.{name}.groups: {list(c.groups)} matches no member of group {grp} (labels "
        f"held: {sorted(labels)}): it would boost nobody"
        for name, c in policy.campaigns.items()
        if c.enabled and c.groups and not set(c.groups) & labels
    ]


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
    aimless = audience_problems(conn, grp, policy)
    if aimless:
        raise LedgerError("policy: " + "; ".join(aimless))
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
    ev = None if evidence is None else evidence.record()
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


def listing(conn: Connection, grp: str | None = None) -> list[dict[str, object]]:
    """Every version (of ``grp``, or of every group), oldest first: id, group, status,
    effective day, content hash, when applied, on what (evidence file and hash, or the forced
    reason), and a cancellation's time and reason."""
    v = t.policy_versions
    query = select(v).order_by(v.c.grp, v.c.id)
    if grp is not None:
        query = query.where(v.c.grp == grp)
    out = []
    for row in conn.execute(query):
        evidence = json.loads(row.evidence) if row.evidence else None
        out.append(
            {
                "version": row.id,
                "group": row.grp,
                "status": row.status,
                "effective": to_date(row.effective_day).isoformat(),
                "content_hash": row.content_hash[:12],
                "applied_at": row.applied_at,
                "evidence": None
                if evidence is None
                else f"{evidence['file']} (sha256 {str(evidence.get('sha256', ''))[:12]}"
                + (", verified" if evidence.get("verified") else "")
                + ")",
                "forced_reason": row.forced_reason,
                "cancelled_at": row.cancelled_at,
                "cancel_reason": row.cancel_reason,
            }
        )
    return out


def cancel(conn: Connection, vid: int, reason: str) -> str:
    """Withdraw version ``vid`` before it starts, recording why; returns its group. Only a
    waiting version can be cancelled (an active one is replaced by applying another)."""
    if not reason.strip():
        raise LedgerError("empty, a cancellation needs a reason", field="reason")
    v = t.policy_versions
    row = conn.execute(select(v.c.grp, v.c.status).where(v.c.id == vid)).first()
    if row is None:
        raise LedgerError(f"{vid}: no such version", field="version")
    if row.status != "waiting":
        raise LedgerError(
            f"{vid}: version of group {row.grp} is {row.status}; only a version waiting to "
            "start can be cancelled",
            field="version",
        )
    conn.execute(
        update(v)
        .where(v.c.id == vid)
        .values(
            status="cancelled",
            cancelled_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            cancel_reason=reason,
        )
    )
    return str(row.grp)

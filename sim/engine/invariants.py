"""The engine's invariants as plain functions; the tests run them after every step."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sim.engine.codes import Account
from sim.engine.compiled import CompiledPolicy
from sim.engine.events import Postings
from sim.engine.state import EngineState


def violations(cp: CompiledPolicy, state: EngineState) -> list[str]:
    """Every broken invariant, as a sentence naming the first member concerned."""
    ms, ps = state.members, state.program
    acct = ms.acct
    out: list[str] = []

    def first(mask: npt.ArrayLike, what: str) -> None:
        mask = np.asarray(mask)
        if np.any(mask):
            i = int(np.flatnonzero(mask)[0])
            out.append(f"{what} (member {i}; {int(np.sum(mask))} members)")

    others = acct[:, 1:].sum(axis=1)
    first(
        acct[:, Account.ISSUED] != others,
        "conservation: issued != pending + available + redeemed + expired + reversed + donated",
    )
    first(
        acct[:, Account.AVAILABLE] != ms.lots.sum(axis=1) - ms.debt,
        "available != sum of lots - debt",
    )
    for a in Account:
        if a != Account.AVAILABLE:
            first(acct[:, a] < 0, f"negative {a.name.lower()} account")
    first((ms.lots < 0).any(axis=1), "negative lot")
    first(ms.debt < 0, "negative debt")
    if cp.clawback_cap:
        first(acct[:, Account.AVAILABLE] < 0, "negative balance the policy forbids")
        first(ms.debt > 0, "debt the policy forbids")
    first((ms.lots > 0).any(axis=1) & (ms.debt > 0), "lots and debt held together")
    pend = np.zeros(len(ms), np.int64)
    np.add.at(pend, ps.pending.member, ps.pending.points)
    first(pend != acct[:, Account.PENDING], "pending account != pending table")
    if (ps.pending.points <= 0).any():
        out.append("pending table holds a row of no points")
    if (ps.stock < 0).any():
        out.append("negative stock")
    if len(cp.cap_col):
        first((ms.rule_day > cp.cap_day[None, :]).any(axis=1), "rule daily cap exceeded")
        first((ms.rule_month > cp.cap_month[None, :]).any(axis=1), "rule monthly cap exceeded")
    first(ms.overall_day > cp.overall_day, "overall daily cap exceeded")
    first(ms.overall_month > cp.overall_month, "overall monthly cap exceeded")
    first((ms.tier < 0) | (ms.tier >= len(cp.tier_names)), "tier outside the policy's tiers")
    return out


def check_invariants(cp: CompiledPolicy, state: EngineState) -> None:
    """Raise AssertionError listing every broken invariant."""
    found = violations(cp, state)
    if found:
        raise AssertionError("; ".join(found))


def posting_deltas(postings: Postings, n_members: int) -> np.ndarray:  # type: ignore[type-arg]
    """Account changes per member implied by ``postings``: (n_members, accounts)."""
    delta = np.zeros((n_members, len(Account)), np.int64)
    issued = postings.src == Account.ISSUED
    np.add.at(delta[:, Account.ISSUED], postings.member[issued], postings.points[issued])
    src = postings.src[~issued]
    np.subtract.at(delta, (postings.member[~issued], src), postings.points[~issued])
    np.add.at(delta, (postings.member, postings.dst), postings.points)
    return delta

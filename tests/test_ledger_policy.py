"""Applying a policy to a live ledger: refused without a passing simulation of exactly that
policy (or a recorded forced reason); switched at its effective day; turning expiry on starts
the first expiry one full period later."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from sim.cli import main
from sim.engine import day_number
from sim.ledger import EventIn, Ledger, LedgerError, NewMember
from sim.ledger import schema as t
from sim.policy import Policy, load_policy, override

ECOM = "policies/ecommerce_super_points.toml"
START = dt.date(2026, 1, 1)


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real simulation of the e-commerce scenario whose health bands pass."""
    out = tmp_path_factory.mktemp("run")
    cmd = [
        sys.executable, "-m", "sim", "run", "scenarios/ecommerce.toml",
        "--members", "1500", "--days", "40", "--replications", "2", "--no-report",
        "--set", "horizon.warmup_days=20", "--set", "health.cost_ratio.min=0",
        "--out", str(out),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)
    return out


def _ledger(tmp_path: Path, policy: Policy | None = None) -> Ledger:
    pol = policy if policy is not None else load_policy(ECOM)
    led = Ledger.init(f"sqlite:///{tmp_path / 'points.db'}", {"default": (pol, ECOM)}, START)
    led.add_members([NewMember("ann"), NewMember("bob")])
    return led


def _versions(led: Ledger) -> list[dict[str, object]]:
    with led.engine.connect() as conn:
        rows = conn.execute(select(t.policy_versions).order_by(t.policy_versions.c.id))
        return [dict(r._mapping) for r in rows]


def test_without_evidence_or_a_forced_reason_nothing_is_applied(tmp_path: Path) -> None:
    led = _ledger(tmp_path)
    pol = override(load_policy(ECOM), {"caps.daily": 300})
    with pytest.raises(LedgerError, match=r"evidence: .* or a force_reason"):
        led.apply_policy(pol, "x.toml", dt.date(2026, 2, 1))
    assert len(_versions(led)) == 1
    assert led.audit() == []


def test_a_passing_simulation_of_exactly_this_policy_is_evidence(
    tmp_path: Path, evidence: Path
) -> None:
    led = _ledger(tmp_path)
    simulated = load_policy(evidence / "policy.all.toml")
    vid = led.apply_policy(
        simulated, "policy.all.toml", dt.date(2026, 1, 5), evidence=evidence / "summary.json"
    )
    row = _versions(led)[-1]
    assert row["id"] == vid and row["status"] == "waiting"
    assert json.loads(str(row["evidence"]))["group"] == "all"
    led.record([EventIn("ann", "purchase", amount=50_000_000, ref=1)])
    led.eod(dt.date(2026, 1, 5))
    led.record([EventIn("ann", "purchase", amount=50_000_000, ref=2)])
    with led.engine.connect() as conn:
        used = conn.execute(
            select(t.postings.c.day, t.postings.c.policy_version).order_by(t.postings.c.id)
        ).all()
    before = {v for d, v in used if d < day_number(dt.date(2026, 1, 5))}
    after = {v for d, v in used if d > day_number(dt.date(2026, 1, 5))}
    assert before == {1} and after == {vid}
    assert [v["status"] for v in _versions(led)] == ["retired", "active"]
    assert led.audit() == []


def test_evidence_of_another_policy_is_refused(tmp_path: Path, evidence: Path) -> None:
    led = _ledger(tmp_path)
    other = override(load_policy(evidence / "policy.all.toml"), {"caps.daily": 301})
    with pytest.raises(LedgerError, match="no group of that run used this policy"):
        led.apply_policy(other, "x", dt.date(2026, 2, 1), evidence=evidence / "summary.json")
    assert len(_versions(led)) == 1
    assert led.audit() == []


def test_a_simulation_failing_its_bands_is_not_evidence(tmp_path: Path, evidence: Path) -> None:
    summary = json.loads((evidence / "summary.json").read_text())
    cost = summary["metrics"]["all"]["cost_ratio"]
    cost["band"] = [cost["ci_high"] * 2, cost["ci_high"] * 3]  # judged again from the figures
    failing = tmp_path / "summary.json"
    failing.write_text(json.dumps(summary))
    led = _ledger(tmp_path)
    simulated = load_policy(evidence / "policy.all.toml")
    with pytest.raises(
        LedgerError, match="does not pass its health bands \\(cost_ratio below its band\\)"
    ):
        led.apply_policy(simulated, "x", dt.date(2026, 2, 1), evidence=failing)
    assert len(_versions(led)) == 1
    assert led.audit() == []


def test_a_forced_application_records_its_reason(tmp_path: Path) -> None:
    led = _ledger(tmp_path)
    pol = override(load_policy(ECOM), {"caps.daily": 300})
    led.apply_policy(pol, "x.toml", dt.date(2026, 2, 1), force_reason="regulator deadline")
    assert _versions(led)[-1]["forced_reason"] == "regulator deadline"
    assert led.audit() == []


def test_a_policy_cannot_start_on_a_day_already_run(tmp_path: Path) -> None:
    led = _ledger(tmp_path)
    led.eod(dt.date(2026, 1, 10))
    pol = override(load_policy(ECOM), {"caps.daily": 300})
    with pytest.raises(LedgerError, match="can start on 2026-01-11 or later"):
        led.apply_policy(pol, "x", dt.date(2026, 1, 10), force_reason="r")
    assert len(_versions(led)) == 1
    assert led.audit() == []


def test_turning_expiry_on_starts_the_first_expiry_one_full_period_later(tmp_path: Path) -> None:
    never = override(load_policy(ECOM), {"expiry.mode": "never", "expiry.reminders": []})
    led = _ledger(tmp_path, never)
    led.record([EventIn("ann", "purchase", amount=100_000_000, ref=1)])
    held = led.balance("ann")["available"]
    assert held > 0 and led.lots("ann")["expires_on"].isna().all()
    rolling = override(
        never, {"expiry.mode": "rolling", "expiry.months": 12, "expiry.rounding": "month_end"}
    )
    led.apply_policy(rolling, "r.toml", dt.date(2026, 3, 1), force_reason="expiry on")
    led.eod(dt.date(2026, 3, 1))
    lots = led.lots("ann")
    assert lots["expires_on"].tolist() == [dt.date(2027, 3, 31)]
    led.eod(dt.date(2027, 3, 31))
    assert led.balance("ann")["available"] == held  # still valid on its last day
    led.eod(dt.date(2027, 4, 1))
    assert led.balance("ann")["available"] == 0
    assert led.balance("ann")["expired"] == held
    assert led.audit() == []


def test_the_cli_shows_the_diff_and_refuses_without_evidence(tmp_path: Path) -> None:
    led = _ledger(tmp_path)
    new = tmp_path / "new.toml"
    new.write_text(Path(ECOM).read_text().replace("daily = 500", "daily = 300", 1))
    res = CliRunner().invoke(
        main,
        ["ledger", "apply-policy", str(new), "--db", led.url, "--effective", "2026-02-01"],
    )
    assert res.exit_code == 1
    assert "caps.daily" in res.output
    assert "error: apply-policy: give --evidence" in res.output
    assert len(_versions(led)) == 1
    assert led.audit() == []

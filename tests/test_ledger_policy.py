"""Applying a policy to a live ledger: refused without a passing simulation of exactly that
policy (or a recorded forced reason); switched at its effective day; turning expiry on starts
the first expiry one full period later."""

from __future__ import annotations

import datetime as dt
import hashlib
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
from sim.ledger.versions import campaigns_outside
from sim.policy import Policy, content_hash, load_policy, override

ECOM = "policies/ecommerce_super_points.toml"
START = dt.date(2026, 1, 1)


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real simulation of the e-commerce scenario whose health bands pass."""
    out = tmp_path_factory.mktemp("run")
    cmd = [
        sys.executable, "-m", "sim", "run", "scenarios/ecommerce.toml",
        "--members", "1000", "--days", "40", "--replications", "5", "--no-report",
        "--set", "horizon.warmup_days=20", "--set", "horizon.runoff_days=0",
        "--set", "health.cost_ratio.min=0",
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


# --- issue 16, class 2: evidence that can be checked, and decisions that can be withdrawn


def test_the_evidence_is_stored_with_its_hash_and_content(tmp_path: Path, evidence: Path) -> None:
    led = _ledger(tmp_path)
    simulated = load_policy(evidence / "policy.all.toml")
    led.apply_policy(simulated, "p.toml", dt.date(2026, 2, 1), evidence=evidence / "summary.json")
    stored = json.loads(str(_versions(led)[-1]["evidence"]))
    data = (evidence / "summary.json").read_bytes()
    assert stored["sha256"] == hashlib.sha256(data).hexdigest()
    assert stored["summary"] == json.loads(data) and stored["verified"] is False
    listed = led.versions("default")[-1]
    assert listed["status"] == "waiting" and str(listed["evidence"]).endswith(
        f"(sha256 {stored['sha256'][:12]})"
    )


def test_a_hand_written_or_thin_summary_is_not_evidence(tmp_path: Path, evidence: Path) -> None:
    led = _ledger(tmp_path)
    simulated = load_policy(evidence / "policy.all.toml")
    pasted = tmp_path / "pasted.json"
    pasted.write_text(
        json.dumps({"schema_version": 2, "scenario": "x", "policies": {"all": {
            "name": "x", "file": "x", "content_hash": content_hash(simulated)}}})
    )  # fmt: skip
    with pytest.raises(LedgerError, match=r"evidence: .*pasted.json"):
        led.apply_policy(simulated, "x", dt.date(2026, 2, 1), evidence=pasted)
    thin = json.loads((evidence / "summary.json").read_text())
    thin["replications"] = 2
    few = tmp_path / "few.json"
    few.write_text(json.dumps(thin))
    with pytest.raises(LedgerError, match="2 replication\\(s\\), evidence needs at least 5"):
        led.apply_policy(simulated, "x", dt.date(2026, 2, 1), evidence=few)
    assert len(_versions(led)) == 1 and led.audit() == []


def test_a_window_without_a_whole_run_of_a_campaign_is_not_evidence() -> None:
    """Double points 1-11 November: a window of January sees none of it, one cut on the
    5th sees part of it; a year sees it whole."""
    pol = load_policy("policies/ecommerce_double_points.toml")
    assert campaigns_outside(pol, dt.date(2026, 1, 1), dt.date(2026, 12, 31)) == []
    for last in (dt.date(2026, 1, 31), dt.date(2026, 11, 5)):
        (problem,) = campaigns_outside(pol, dt.date(2026, 1, 1), last)
        assert problem.startswith("campaign double11 has no whole run in the window")


def test_verify_repeats_the_recorded_run_and_refuses_a_forgery(
    tmp_path: Path, evidence: Path
) -> None:
    led = _ledger(tmp_path)
    policy = str(evidence / "policy.all.toml")
    args = ["ledger", "apply-policy", policy, "--db", led.url, "--effective", "2026-02-01",
            "--evidence"]  # fmt: skip
    forged = json.loads((evidence / "summary.json").read_text())
    forged["metrics"]["all"]["gmv"]["mean"] *= 1.1
    fake = tmp_path / "forged.json"
    fake.write_text(json.dumps(forged))
    res = CliRunner().invoke(main, [*args, str(fake), "--verify"])
    assert res.exit_code == 1, res.output
    assert "not what its recorded run gives" in res.output and "gmv" in res.output
    assert len(_versions(led)) == 1
    res = CliRunner().invoke(main, [*args, str(evidence / "summary.json"), "--verify"])
    assert res.exit_code == 0, res.output
    assert "verified" in res.output
    assert json.loads(str(_versions(led)[-1]["evidence"]))["verified"] is True


def test_a_waiting_version_can_be_cancelled_and_never_starts(tmp_path: Path) -> None:
    led = _ledger(tmp_path)
    pol = override(load_policy(ECOM), {"caps.daily": 300})
    vid = led.apply_policy(pol, "x.toml", dt.date(2026, 1, 5), force_reason="trial")
    with pytest.raises(LedgerError, match="a cancellation needs a reason"):
        led.cancel_version(vid, " ")
    with pytest.raises(LedgerError, match="version of group default is active"):
        led.cancel_version(1, "no")
    res = CliRunner().invoke(
        main, ["ledger", "cancel-version", str(vid), "--db", led.url, "--reason", "board said no"]
    )
    assert res.exit_code == 0, res.output
    led.eod(dt.date(2026, 1, 6))
    rows = _versions(led)
    assert [r["status"] for r in rows] == ["active", "cancelled"]
    assert rows[-1]["cancel_reason"] == "board said no"
    listed = CliRunner().invoke(main, ["ledger", "versions", "--db", led.url])
    assert '"status": "cancelled"' in listed.output and "board said no" in listed.output
    assert led.audit() == []


def test_the_diff_is_against_the_version_waiting_to_start(tmp_path: Path) -> None:
    led = _ledger(tmp_path)
    waiting = override(load_policy(ECOM), {"caps.daily": 300})
    vid = led.apply_policy(waiting, "w.toml", dt.date(2026, 2, 1), force_reason="first")
    new = tmp_path / "new.toml"
    new.write_text(Path(ECOM).read_text().replace("daily = 500", "daily = 250", 1))
    res = CliRunner().invoke(
        main, ["ledger", "apply-policy", str(new), "--db", led.url, "--effective", "2026-03-01"]
    )
    assert f"--- version {vid} of group default, waiting to start on 2026-02-01" in res.output
    assert "300" in res.output and "250" in res.output


def test_a_campaign_aimed_at_no_member_is_refused(tmp_path: Path) -> None:
    """The double-points policy boosts label ``treatment``; these members carry
    ``control``: applied, it would silently double nobody."""
    led = _ledger(tmp_path)
    double = load_policy("policies/ecommerce_double_points.toml")
    with pytest.raises(LedgerError, match=r"campaigns.double11.groups: \['treatment'\] matches"):
        led.apply_policy(double, "d.toml", dt.date(2026, 2, 1), force_reason="try")
    assert len(_versions(led)) == 1 and led.audit() == []

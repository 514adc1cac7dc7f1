"""``pointsim ledger ...`` as an operator runs it, on both backends: a member's day from
sign-up to redemption, then the simulation's exported log imported through the CLI."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from sim.cli import main
from sim.ledger import Ledger
from sim.ledger import schema as t
from sim.ledger.limits import MAX_MICROS
from sim.ledger.requests import money_text, parse_money

ECOM = "policies/ecommerce_super_points.toml"


def _run(*args: str, code: int = 0) -> str:
    res = CliRunner().invoke(main, ["ledger", *args])
    assert res.exit_code == code, res.output
    return res.output


def test_an_operators_day(db_url: str, tmp_path: Path) -> None:
    db = ["--db", db_url]
    _run("init", *db, "--policy", ECOM, "--start", "2026-03-01")
    _run("add-member", *db, "ann", "--birth-month", "3")
    _run("add-member", *db, "bob", "--referrer", "ann")
    bought = json.loads(
        _run("record", "purchase", *db, "--member", "ann", "--amount", "129.90", "--ref", "1",
             "--name", "fashion", "--id", "order-1")
    )  # fmt: skip
    assert bought["points"] > 0 and bought["status"] in ("ok", "capped")
    again = json.loads(
        _run("record", "purchase", *db, "--member", "ann", "--amount", "129.90", "--ref", "1",
             "--name", "fashion", "--id", "order-1")
    )  # fmt: skip
    assert again["duplicate"] and again["event_id"] == bought["event_id"]
    _run("record", "checkin", *db, "--member", "bob")
    _run("record", "share", *db, "--member", "bob")
    quote = json.loads(_run("quote", *db, "--member", "ann", "--amount", "50"))
    assert quote["points"] > 0 and Decimal(quote["value"]) > 0  # money in currency, not micros
    assert quote["amount"] == "50"
    paid = json.loads(_run("offset", *db, "--member", "ann", "--amount", "50"))
    assert paid["points"] == -quote["points"]
    _run("freeze", *db, "--member", "bob", "--reason", "fraud check")
    out = _run("redeem", *db, "--member", "bob", "--item", "coupon_1", code=1)
    assert "error:" in out and "Traceback" not in out
    _run("unfreeze", *db, "--member", "bob", "--reason", "cleared")
    _run("adjust", *db, "--member", "bob", "--points", "150", "--reason", "goodwill")
    redeemed = json.loads(_run("redeem", *db, "--member", "bob", "--item", "coupon_1"))
    assert redeemed["points"] < 0
    with Ledger(db_url).engine.connect() as conn:
        order = conn.execute(select(t.redemptions)).one()
    assert (order.item, order.quantity, order.cost) == ("coupon_1", 1, 80_000)  # 0.08 CNY
    assert "closed 31 day(s) through 2026-03-31" in _run("eod", *db, "2026-03-31")
    bal = json.loads(_run("balance", *db, "--member", "ann"))
    assert bal["issued"] == bal["available"] + bal["redeemed"] + bal["pending"]
    assert "cash_offset" in _run("statement", *db, "--member", "ann")
    assert "expires_on" in _run("lots", *db, "--member", "ann")
    out = _run("metrics", *db, "--from", "2026-03-01", "--to", "2026-03-31",
               "--out", str(tmp_path / "m.csv"))  # fmt: skip
    assert "wrote 31 rows" in out
    _run("export", *db, str(tmp_path / "log.csv"))
    assert (tmp_path / "log.members.csv").exists()
    assert "audit clean" in _run("audit", *db)


def test_a_simulated_log_imports_through_the_cli(tmp_path: Path) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'points.db'}"]
    log = tmp_path / "events.csv"
    res = CliRunner().invoke(
        main,
        ["run", "scenarios/ecommerce.toml", "--members", "300", "--days", "20",
         "--replications", "1", "--no-report", "--set", "horizon.warmup_days=0",
         "--out", str(tmp_path / "out"), "--export-events", str(log)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    policy = tmp_path / "out" / "policy.all.toml"
    _run("init", *db, "--policy", f"all={policy}", "--start", _first_day(log))
    out = _run("import", *db, str(log))
    assert "imported" in out and "0 already recorded" in out
    assert "imported 0 events" in _run("import", *db, str(log))  # idempotent
    assert "audit clean" in _run("audit", *db)


def _first_day(log: Path) -> str:
    return log.read_text().splitlines()[1].split(",")[2][:10]


@given(st.integers(min_value=0, max_value=MAX_MICROS))
def test_money_is_shown_in_currency_and_reads_back_exactly(micros: int) -> None:
    text = money_text(micros)
    assert parse_money(text) == micros
    assert "e" not in text.lower() and (text == "0" or not text.endswith("0") or "." not in text)


def test_money_text_at_the_edges() -> None:
    assert money_text(0) == "0"
    assert money_text(1) == "0.000001"
    assert money_text(129_900_000) == "129.9"
    assert money_text(50_000_000) == "50"

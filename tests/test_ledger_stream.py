"""Events fed one at a time (:class:`EventStream`, ``pointsim ledger feed``), on SQLite and
PostgreSQL: events that arrive together commit together, and yet each event's outcome, and the
ledger they leave, are exactly those of sending the same events one request at a time. Refused
events (unknown member or item, a burn beyond the balance or the stock, a client id reused for
another body) are answered with their own error without holding back their neighbours.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from ledger_checks import new_ledger
from ledger_helpers import assert_same_ledgers, snapshot
from sqlalchemy import create_engine, text

from sim.cli import main
from sim.ledger import EventIn, Ledger, LedgerError
from sim.ledger.stream import EventStream
from sim.policy import MICROS

MEMBERS = 4
ITEMS = ("coupon_5", "free_shipping", "kitchen_towel", "earbuds")  # earbuds: one in stock


@pytest.fixture
def ref_url(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second fresh database on ``db_url``'s backend (the one-at-a-time reference)."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'reference.db'}"
        return
    server = request.getfixturevalue("pg_server")
    name = f"t_ref_{uuid.uuid4().hex[:8]}"
    url: str = server.create_database(name)
    try:
        yield url
    finally:
        server.drop_database(name)


def mixed_events(n: int, seed: int) -> list[EventIn]:
    """Purchases, redemptions (the one pair of earbuds among them: stock runs out), cash
    offsets and check-ins for a few members, with refusals mixed in: unknown members and
    items, redemptions beyond the balance, a client id sent again with its body (answered
    from the first) and with another body (refused)."""
    rng = np.random.default_rng(seed)
    out: list[EventIn] = []
    for i in range(n):
        member = f"m{rng.integers(MEMBERS)}"
        u = rng.random()
        cid = f"e{i}"
        if u < 0.45:
            amount = int(rng.integers(100, 40_000)) * MICROS // 100
            out.append(EventIn(member, "purchase", cid, amount=amount, ref=i + 1))
        elif u < 0.75:
            item = ITEMS[int(rng.integers(len(ITEMS)))]
            out.append(EventIn(member, "redeem", cid, name=item, quantity=1))
        elif u < 0.85:
            amount = int(rng.integers(20, 300)) * MICROS
            out.append(EventIn(member, "cash_offset", cid, amount=amount))
        elif u < 0.90:
            out.append(EventIn(member, "checkin", cid))
        elif u < 0.93:
            out.append(EventIn("nobody", "purchase", cid, amount=MICROS, ref=i + 1))
        elif u < 0.96:
            out.append(EventIn(member, "redeem", cid, name="yacht", quantity=1))
        elif out:
            again = out[int(rng.integers(len(out)))]
            changed = u >= 0.98
            out.append(again if not changed else EventIn(again.member, "checkin", again.client_id))
    return out


def _refusal(text: str) -> str:
    """A refusal without the event id it may cite (ids are the database's to hand out: on
    PostgreSQL a refused transaction uses up sequence numbers)."""
    return re.sub(r"\(event \d+ of", "(event _ of", text)


def one_by_one(led: Ledger, events: list[EventIn]) -> list[dict[str, object] | str]:
    """Each event in its own request: its outcome (without the event id, which the
    database hands out) or its refusal."""
    out: list[dict[str, object] | str] = []
    for ev in events:
        try:
            res = led.record([ev])[0]
        except LedgerError as err:
            out.append(_refusal(str(err).removeprefix("events[0].").removeprefix("events[0]: ")))
        else:
            out.append({k: v for k, v in asdict(res).items() if k != "event_id"})
    return out


def streamed(led: Ledger, events: list[EventIn]) -> tuple[list[dict[str, object] | str], int]:
    """The events through a stream, submitted all at once: outcomes as :func:`one_by_one`,
    and how many transactions recorded them."""
    with EventStream(led) as stream:
        futures = [stream.submit(ev) for ev in events]
    out: list[dict[str, object] | str] = []
    for fut in futures:
        err = fut.exception()
        if err is None:
            out.append({k: v for k, v in asdict(fut.result()).items() if k != "event_id"})
        else:
            assert isinstance(err, LedgerError), repr(err)
            out.append(_refusal(str(err)))
    return out, stream.groups


def test_a_stream_is_the_same_as_one_request_at_a_time(db_url: str, ref_url: str) -> None:
    events = mixed_events(160, seed=7)
    led, _ = new_ledger(db_url, "tiers", members=MEMBERS)
    ref, _ = new_ledger(ref_url, "tiers", members=MEMBERS)
    got, groups = streamed(led, events)
    want = one_by_one(ref, events)
    assert got == want
    refused = sum(isinstance(o, str) for o in got)
    assert 10 <= refused < len(events) - 50, f"the mix should refuse some events: {refused}"
    assert any("earbuds refused" in o for o in got if isinstance(o, str)), "stock never ran out"
    assert groups < len(events) - refused, "events that arrived together committed one by one"
    assert_same_ledgers(led.engine, ref.engine)
    assert led.audit() == []


def test_events_waiting_for_a_commit_go_into_the_next_one(tmp_path: Path) -> None:
    """While another writer holds SQLite's write lock, everything submitted waits; it is then
    recorded in one or two transactions (the first event may have gone alone), in order."""
    url = f"sqlite:///{tmp_path / 'points.db'}"
    led, keys = new_ledger(url, "tiers", members=MEMBERS)
    blocker = create_engine(url)
    with blocker.connect() as conn:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        with EventStream(led) as stream:
            futures = [
                stream.submit(EventIn(keys[i % MEMBERS], "purchase", f"p{i}", amount=MICROS))
                for i in range(100)
            ]
            conn.exec_driver_sql("ROLLBACK")
    ids = [f.result().event_id for f in futures]
    assert ids == sorted(ids), "recorded out of arrival order"
    assert stream.groups <= 2
    assert led.audit() == []


def test_a_failure_that_is_not_a_refusal_fails_its_group(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'points.db'}"
    led, keys = new_ledger(url, "tiers")
    led.record([EventIn(keys[0], "checkin", "opens-the-day")])
    with EventStream(led) as stream:
        ok = stream.submit(EventIn(keys[0], "purchase", "p1", amount=MICROS))
        ok.result()
        led.engine = create_engine(f"sqlite:///{tmp_path / 'gone' / 'x.db'}")  # cannot open
        lost = [stream.submit(EventIn(keys[1], "purchase", f"q{i}", amount=MICROS)) for i in (1, 2)]
        for fut in lost:
            err = fut.exception(timeout=60)
            assert err is not None and not isinstance(err, LedgerError), repr(err)
    with pytest.raises(LedgerError, match="closed"):
        stream.submit(EventIn(keys[1], "checkin", "late"))
    again = Ledger(url)
    assert again.balance(keys[1])["issued"] == 0
    assert again.audit() == []


def _feed_lines() -> list[str]:
    lines = [
        {"client_id": "o-1", "member": "m0", "kind": "purchase", "amount": "129.90"},
        {"client_id": "s-1", "member": "m1", "kind": "share"},
        {"client_id": "o-2", "member": "carol", "kind": "purchase", "amount": 10},
        "not json",
        {"client_id": "o-3", "member": "m0", "kind": "purchase", "amount": "1.2345678"},
        {"client_id": "o-4", "member": "m0", "kind": "purchase", "amount": 2, "colour": "red"},
        {"member": "m0", "kind": "purchase", "amount": "1"},
        {"client_id": "r-1", "member": "m1", "kind": "redeem", "name": "earbuds"},
        {"client_id": "r-2", "member": "m0", "kind": "redeem", "name": "coupon_5"},
        {
            "client_id": "o-5",
            "member": "m0",
            "kind": "purchase",
            "amount": "5",
            "day": "2000-01-01",
        },
    ]
    return [x if isinstance(x, str) else json.dumps(x) for x in lines]


def test_feed_answers_every_line_in_order_and_is_safe_to_run_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'points.db'}"
    new_ledger(url, "tiers")
    feed = tmp_path / "orders.jsonl"
    feed.write_text("\n".join(_feed_lines()) + "\n\n")
    runner = CliRunner()
    res = runner.invoke(main, ["ledger", "feed", "--db", url, str(feed)])
    assert res.exit_code == 1, res.output
    answers = [json.loads(x) for x in res.stdout.splitlines()]
    assert [a["line"] for a in answers] == list(range(1, 11))
    errors = {a["line"]: a["error"] for a in answers if "error" in a}
    where = f"{feed} line"
    assert errors == {
        3: f"{where} 3: member: no member 'carol' in the ledger",
        4: errors[4],
        5: f"{where} 5: amount: '1.2345678' has more than 6 decimals",
        6: f"{where} 6: colour: Extra inputs are not permitted",
        7: f"{where} 7: client_id: Field required",
        8: errors[8],
        10: errors[10],
    }
    assert errors[4].startswith(f"{where} 4: Invalid JSON")
    assert errors[8].startswith(f"{where} 8: redeem earbuds refused: not enough points")
    assert errors[10].startswith(f"{where} 10: day: 2000-01-01 is on or before")
    assert answers[0]["points"] > 0 and answers[1]["kind"] == "action"
    assert answers[8]["points"] == -50
    assert "3 recorded, 0 already recorded, 7 refused" in res.stderr
    led = Ledger(url)
    before = snapshot(led.engine)
    again = runner.invoke(main, ["ledger", "feed", "--db", url, str(feed)])
    assert "0 recorded, 3 already recorded, 7 refused" in again.stderr
    assert [json.loads(x) for x in again.stdout.splitlines()] == [
        {**a, "duplicate": True} if "error" not in a else a for a in answers
    ]
    after = snapshot(led.engine)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(after[name], frame, obj=f"table {name}")
    assert led.audit() == []


def test_feed_from_a_pipe_answers_as_events_arrive(pg_url: str) -> None:
    """``pointsim ledger feed`` over PostgreSQL, reading a pipe: each event is answered
    before the next line is written (a live order stream, not a file read to its end)."""
    new_ledger(pg_url, "tiers")
    cmd = [sys.executable, "-m", "sim", "ledger", "feed", "--db", pg_url]
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdin is not None and proc.stdout is not None
    answers = []
    timer = threading.Timer(120, proc.kill)
    timer.start()
    try:
        for i in range(5):
            line = {"client_id": f"o{i}", "member": "m0", "kind": "purchase", "amount": "20"}
            proc.stdin.write(json.dumps(line) + "\n")
            proc.stdin.flush()
            answers.append(json.loads(proc.stdout.readline()))
        proc.stdin.close()
        assert proc.stdout.read() == ""
        assert proc.stderr is not None
        err = proc.stderr.read()
        proc.wait()
    finally:
        timer.cancel()
    assert proc.returncode == 0, err
    assert [a["client_id"] for a in answers] == [f"o{i}" for i in range(5)]
    assert all(a["status"] == "ok" and a["points"] > 0 for a in answers), answers
    assert "5 recorded" in err
    led = Ledger(pg_url)
    assert led.balance("m0")["issued"] == sum(a["points"] for a in answers)
    assert led.audit() == []
    with led.engine.connect() as conn:
        assert conn.execute(text("select count(*) from events")).scalar_one() == 5

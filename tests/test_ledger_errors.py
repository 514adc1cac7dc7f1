"""Bad input to the live ledger, of every kind: each is refused with a :class:`LedgerError`
whose message names the field (or file line) and what was expected, and leaves the ledger as
it was (every member row, the clock, the stock and the row counts of events, postings, lots
and the other tables compared before and after) with a clean ``audit()``.

Requests that reach the database run on SQLite and PostgreSQL (``db_url``); requests refused
by their fields alone run on one SQLite ledger shared by the module. The command line is
checked too: a refusal exits 1 with ``error: ...`` and no traceback, and ``pointsim ledger
audit`` fails on a balance corrupted by hand.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from ledger_checks import START, ledger_policy, refused, seeded, snapshot
from sqlalchemy import create_engine, text

from sim.cli import main
from sim.engine import day_number
from sim.ledger import EventIn, IdempotencyConflict, Ledger, LedgerError, NewMember
from sim.policy import MICROS

NEXT = START + dt.timedelta(days=1)
NAN, INF = math.nan, math.inf


@pytest.fixture
def led(db_url: str) -> Iterator[Ledger]:
    """:func:`seeded` on each backend."""
    ledger = seeded(db_url)
    yield ledger
    ledger.engine.dispose()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """:func:`seeded` on SQLite, for requests that never reach the database."""
    ledger = seeded(f"sqlite:///{tmp_path_factory.mktemp('shared') / 'points.db'}")
    yield ledger
    ledger.engine.dispose()


# --------------------------------------------------------------------------- fields


BAD_FIELDS = {
    "negative amount": (
        EventIn("m0", "purchase", amount=-1_000_000, ref=1),
        ["events[0].amount: -1000000 micros, expected 0..1000000000000000"],
    ),
    "amount beyond a billion": (
        EventIn("m0", "purchase", amount=10**15 + 1, ref=1),
        ["events[0].amount: 1000000000000001 micros, expected 0..1000000000000000"],
    ),
    "NaN amount": (
        EventIn("m0", "purchase", amount=NAN, ref=1),  # type: ignore[arg-type]
        ["events[0].amount: nan, expected an integer"],
    ),
    "infinite amount": (
        EventIn("m0", "cash_offset", amount=INF),  # type: ignore[arg-type]
        ["events[0].amount: inf, expected an integer"],
    ),
    "money as a float": (
        EventIn("m0", "purchase", amount=12.5, ref=1),  # type: ignore[arg-type]
        ["events[0].amount: 12.5, expected an integer"],
    ),
    "zero-value purchase": (
        EventIn("m0", "purchase", amount=0, ref=1),
        ["events[0].amount: 0, expected an order value > 0"],
    ),
    "NaN draw": (
        EventIn("m0", "lottery", draw=NAN),
        ["events[0].draw: nan, expected a number in [0, 1)"],
    ),
    "infinite draw": (
        EventIn("m0", "lottery", draw=INF),
        ["events[0].draw: inf, expected a number in [0, 1)"],
    ),
    "draw of 1": (
        EventIn("m0", "lottery", draw=1.0),
        ["events[0].draw: 1.0, expected a number in [0, 1)"],
    ),
    "infinite draw on another kind": (
        EventIn("m0", "checkin", draw=-INF),
        ["events[0].draw: -inf, expected a finite number or none"],
    ),
    "non-integer quantity": (
        EventIn("m0", "redeem", name="dessert", quantity=1.5),  # type: ignore[arg-type]
        ["events[0].quantity: 1.5, expected an integer"],
    ),
    "quantity as text": (
        EventIn("m0", "redeem", name="dessert", quantity="2"),  # type: ignore[arg-type]
        ["events[0].quantity: '2', expected an integer"],
    ),
    "boolean quantity": (
        EventIn("m0", "redeem", name="dessert", quantity=True),
        ["events[0].quantity: True, expected an integer"],
    ),
    "negative quantity": (
        EventIn("m0", "redeem", name="dessert", quantity=-1),
        ["events[0].quantity: -1, expected 0..1000000"],
    ),
    "zero adjustment": (
        EventIn("m0", "adjust", quantity=0, note="typo"),
        ["events[0].quantity: 0, expected a non-zero adjustment"],
    ),
    "unknown kind": (
        EventIn("m0", "teleport"),
        ["events[0].kind: 'teleport', expected one of purchase, refund"],
    ),
    "no member key": (
        EventIn("", "checkin"),
        ["events[0].member: empty, expected text"],
    ),
    "redeem without an item": (
        EventIn("m0", "redeem", quantity=1),
        ["events[0].name: empty, expected a catalogue item id"],
    ),
    "adjust without a reason": (
        EventIn("m0", "adjust", quantity=5, note="  "),
        ["events[0].note: empty, an operator adjust needs a reason"],
    ),
    "freeze without a reason": (
        EventIn("m0", "freeze"),
        ["events[0].note: empty, an operator freeze needs a reason"],
    ),
    "unfreeze without a reason": (
        EventIn("m0", "unfreeze", note="\t"),
        ["events[0].note: empty, an operator unfreeze needs a reason"],
    ),
}


@pytest.mark.parametrize("case", BAD_FIELDS)
def test_a_bad_field_is_refused_by_name(shared: Ledger, case: str) -> None:
    event, expected = BAD_FIELDS[case]
    refused(shared, lambda: shared.record([event]), *expected)


def test_a_bad_event_refuses_its_whole_batch_naming_its_position(shared: Ledger) -> None:
    batch = [
        EventIn("m0", "purchase", amount=20 * MICROS, ref=1),
        EventIn("m1", "checkin"),
        EventIn("m1", "purchase", amount=-5, ref=2),
    ]
    refused(shared, lambda: shared.record(batch), "events[2].amount: -5 micros")


def test_operator_requests_without_a_reason_are_refused(shared: Ledger) -> None:
    refused(shared, lambda: shared.adjust("m0", 50, ""), "events[0].note: empty", "adjust")
    refused(shared, lambda: shared.adjust("m0", -50, "   "), "needs a reason")
    refused(shared, lambda: shared.freeze("m0", ""), "an operator freeze needs a reason")
    refused(shared, lambda: shared.unfreeze("m0", " "), "an operator unfreeze needs a reason")


def test_a_quote_with_a_bad_amount_is_refused(shared: Ledger) -> None:
    refused(shared, lambda: shared.quote_offset("m0", NAN), "quote.amount: nan")  # type: ignore[arg-type]
    refused(shared, lambda: shared.quote_offset("m0", -MICROS), "quote.amount: -1000000 micros")


def test_a_batch_using_one_client_id_twice_is_refused(shared: Ledger) -> None:
    twice = [EventIn("m0", "checkin", client_id="x"), EventIn("m1", "checkin", client_id="x")]
    refused(shared, lambda: shared.record(twice), "a client_id appears twice in one batch")


# --------------------------------------------------------------------------- requests


def test_unknown_member_or_catalogue_item_is_refused(led: Ledger) -> None:
    refused(
        led,
        lambda: led.record([EventIn("ghost", "checkin")]),
        "events[0].member: no member 'ghost' in the ledger",
    )
    batch = [EventIn("m0", "purchase", amount=9 * MICROS, ref=3), EventIn("nobody", "checkin")]
    refused(led, lambda: led.record(batch), "events[1].member: no member 'nobody'")
    refused(led, lambda: led.redeem("ghost", "dessert"), "no member 'ghost'")
    refused(led, lambda: led.balance("ghost"), "member: no member 'ghost' in the ledger")
    refused(led, lambda: led.quote_offset("ghost", MICROS), "no member 'ghost'")
    refused(
        led,
        lambda: led.redeem("m0", "caviar"),
        "events[0].name: 'caviar' is not a catalogue item",
        "expected one of: medium_coffee, dessert, merch",
    )


def test_redemption_beyond_the_balance_or_the_stock_is_refused(led: Ledger) -> None:
    refused(
        led,
        lambda: led.redeem("m1", "medium_coffee"),
        "events[0]: redeem medium_coffee refused: not enough points (60 available)",
    )
    # a strict batch is refused whole: the purchase before the redemption is not written
    batch = [
        EventIn("m1", "purchase", amount=30 * MICROS, ref=4),
        EventIn("m1", "redeem", name="merch", quantity=1),
    ]
    refused(led, lambda: led.record(batch), "events[1]: redeem merch refused: not enough points")
    refused(led, lambda: led.redeem("m0", "merch", 3), "redeem merch refused: the item is out")
    assert led.redeem("m0", "merch", 2).status == "ok"  # the last two units
    refused(
        led, lambda: led.redeem("m0", "merch"), "events[0]: redeem merch refused: the item is out"
    )
    assert led.balance("m0")["available"] == 1000 - 2 * 200


def test_events_for_another_day_than_the_business_day_are_refused(led: Ledger) -> None:
    later = START + dt.timedelta(days=3)
    refused(
        led,
        lambda: led.record([EventIn("m0", "checkin", day=day_number(later))]),
        f"events[0].day: {later} is after the business day {START}",
        f"run `pointsim ledger eod {later - dt.timedelta(days=1)}` first",
    )
    both = [EventIn("m0", "checkin"), EventIn("m1", "checkin", day=day_number(later))]
    refused(led, lambda: led.record(both), "one batch holds one day's events")
    led.eod(START)
    led.record([EventIn("m1", "checkin")])  # opens the next business day
    refused(
        led,
        lambda: led.record([EventIn("m0", "checkin", day=day_number(START))]),
        f"events[0].day: {START} is on or before the last end-of-day ({START})",
        "closed days take no new events",
    )
    earlier = START - dt.timedelta(days=1)
    refused(led, lambda: led.eod(earlier), f"eod {earlier}: the ledger is closed through {START}")


def test_same_client_id_with_another_body_is_an_idempotency_conflict(led: Ledger) -> None:
    err = refused(
        led,
        lambda: led.record([EventIn("m0", "adjust", client_id="known", quantity=1, note="x")]),
        "events[0].client_id: 'known' was used for a different request",
        f"(event 1 of {START}); use a new id",
    )
    assert isinstance(err, IdempotencyConflict)
    again = EventIn("m0", "adjust", client_id="known", quantity=1000, note="opening balance")
    (out,) = led.record([again])
    assert out.duplicate and out.event_id == 1  # the same body is not a conflict


def test_bad_members_are_refused(led: Ledger) -> None:
    refused(led, lambda: led.add_members([NewMember("m0")]), "keys already in the ledger")
    refused(
        led,
        lambda: led.add_members([NewMember("new"), NewMember("x", group="vip")]),
        "members[1].group: 'vip', expected one of ['default']",
    )
    refused(led, lambda: led.add_members([NewMember("")]), "members[0].key: empty, expected text")
    refused(
        led,
        lambda: led.add_members([NewMember("y", birth_month=13)]),
        "members[0].birth_month: 13, expected 0-12",
    )
    refused(
        led,
        lambda: led.add_members([NewMember("z", referrer="ghost")]),
        "members[0].referrer: no member 'ghost'",
    )


# --------------------------------------------------------------------------- databases


def test_opening_a_missing_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.db"
    with pytest.raises(LedgerError, match=r"nowhere\.db: no such file") as info:
        Ledger(f"sqlite:///{path}")
    assert "run `pointsim ledger init` first" in str(info.value)
    assert not path.exists()


def test_opening_a_database_that_is_not_a_ledger_is_refused(db_url: str) -> None:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)"))
        conn.execute(text("INSERT INTO customers VALUES (1, 'a')"))
    with pytest.raises(LedgerError, match="not a ledger") as info:
        Ledger(db_url)
    assert "run `pointsim ledger init` first" in str(info.value)
    with engine.connect() as conn:
        tables = set(
            conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'table'")
                if db_url.startswith("sqlite")
                else text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).scalars()
        )
    engine.dispose()
    assert tables == {"customers"}  # nothing was created


def test_opening_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"shopping list: beans, milk\n" * 200)
    with pytest.raises(LedgerError, match=r"notes\.db"):
        Ledger(f"sqlite:///{path}")


def test_opening_an_unsupported_url_is_refused() -> None:
    with pytest.raises(LedgerError, match="backend 'mysql' is not supported"):
        Ledger("mysql://localhost/points")


def test_initialising_twice_is_refused(led: Ledger, db_url: str) -> None:
    refused(
        led,
        lambda: Ledger.init(db_url, {"default": (ledger_policy("expiry"), "x")}, START),
        "already initialised (a ledger is there)",
    )
    refused(led, lambda: Ledger.init(db_url, {}, START), "init: at least one policy is needed")


# --------------------------------------------------------------------------- logs


HEADER = "client_id,group,day,member,kind,amount,quantity,name,ref,note"
LOG = [  # file lines 2, 3, 4, 5
    f"i1,default,{NEXT},m0,purchase,12500000,1,coffee,7,",
    f"i2,default,{NEXT},m1,checkin,0,0,,0,",
    f"i3,default,{NEXT + dt.timedelta(days=1)},m0,redeem,0,1,dessert,0,",
    f"i4,default,{NEXT + dt.timedelta(days=1)},m1,adjust,0,5,,0,goodwill",
]


def write_log(path: Path, lines: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def edit(line: int, old: str, new: str) -> list[str]:
    """:data:`LOG` with ``old`` replaced by ``new`` on file line ``line``."""
    lines = list(LOG)
    assert old in lines[line - 2]
    lines[line - 2] = lines[line - 2].replace(old, new, 1)
    return lines


# Files refused as they are read (before the database is touched): on the shared ledger.
BAD_LINES = {
    "bad date": (
        edit(4, str(NEXT + dt.timedelta(days=1)), "2026-02-30"),
        ["line 4: day '2026-02-30'", "expected a date (YYYY-MM-DD)"],
    ),
    "unknown kind": (edit(3, "checkin", "teleport"), ["line 3: kind 'teleport'", "event kind"]),
    "non-numeric amount": (
        edit(2, "12500000", "12.50 CNY"),
        ["line 2: amount '12.50 CNY'", "expected an integer"],
    ),
    "fractional micros": (
        edit(2, "12500000", "12500000.5"),
        ["line 2: amount '12500000.5'", "expected an integer"],
    ),
    "negative amount": (
        edit(2, "12500000", "-3"),
        ["line 2: amount '-3'", "expected 0..1000000000000000"],
    ),
    "non-integer quantity": (
        edit(5, ",5,", ",2.5,"),
        ["line 5: quantity '2.5'", "expected an integer"],
    ),
    "empty member": (edit(3, ",m1,", ",,"), ["line 3: member ''", "expected printable text"]),
    "adjust without a reason": (edit(5, "goodwill", ""), ["line 5", "note", "reason"]),
    "zero-value purchase": (edit(2, "12500000", "0"), ["line 2", "amount", "order value > 0"]),
}


@pytest.mark.parametrize("case", BAD_LINES)
def test_a_malformed_log_line_is_reported_by_number_and_nothing_is_written(
    shared: Ledger, tmp_path: Path, case: str
) -> None:
    lines, expected = BAD_LINES[case]
    log = write_log(tmp_path / "log.csv", lines)
    err = refused(shared, lambda: shared.import_log(log), *expected)
    assert str(err).startswith(f"{log} line ")


def test_every_malformed_line_of_a_log_is_reported(shared: Ledger, tmp_path: Path) -> None:
    lines = edit(2, "12500000", "lots")
    lines[2] = lines[2].replace("redeem", "steal")
    log = write_log(tmp_path / "log.csv", lines)
    problems = str(refused(shared, lambda: shared.import_log(log))).splitlines()
    assert f"{log} line 2: amount 'lots', expected an integer" in problems
    assert f"{log} line 4: kind 'steal', expected an event kind" in problems
    assert all(p.startswith(f"{log} line ") for p in problems), problems


def test_a_log_missing_a_column_is_refused(shared: Ledger, tmp_path: Path) -> None:
    lines = [",".join(p for i, p in enumerate(line.split(",")) if i != 4) for line in LOG]
    header = HEADER.replace(",kind", "")
    log = write_log(tmp_path / "log.csv", lines, header)
    refused(
        shared,
        lambda: shared.import_log(log),
        f"{log}: missing column(s) kind (expected at least group, day, member, kind)",
    )


def test_a_log_of_a_missing_file_or_another_format_is_refused(
    shared: Ledger, tmp_path: Path
) -> None:
    refused(shared, lambda: shared.import_log(tmp_path / "none.csv"), "none.csv: no such file")
    other = tmp_path / "log.json"
    other.write_text("[]")
    refused(shared, lambda: shared.import_log(other), "log.json: expected a .csv or .parquet")


def test_an_empty_log_imports_nothing(shared: Ledger, tmp_path: Path) -> None:
    """A log with a header and no events (a quiet day exported) is not an error."""
    before = snapshot(shared)
    report = shared.import_log(write_log(tmp_path / "log.csv", []))
    assert (report.members_added, report.events_recorded, report.days) == (0, 0, 0)
    assert snapshot(shared) == before


def test_a_log_line_naming_an_unknown_item_is_reported_by_line_number(
    led: Ledger, tmp_path: Path
) -> None:
    """A line that parses but names what the policy does not have: found against the
    ledger's policy, and reported by its line like any other bad line."""
    log = write_log(tmp_path / "log.csv", edit(4, "dessert", "caviar"))
    err = refused(led, lambda: led.import_log(log), "'caviar' is not a catalogue item")
    assert str(err).startswith(f"{log} line 4"), f"no line number in {err}"


def test_a_refused_log_adds_none_of_its_members(led: Ledger, tmp_path: Path) -> None:
    """The members file beside a log is part of the import: a log refused for a bad line
    must not leave its members behind."""
    later = NEXT + dt.timedelta(days=1)
    lines = [*edit(4, "dessert", "caviar"), f"i5,default,{later},newcomer,checkin,0,0,,0,"]
    log = write_log(tmp_path / "log.csv", lines)
    (tmp_path / "log.members.csv").write_text(
        f"group,member,join_day,birth_month,referrer,label\ndefault,newcomer,{NEXT},0,,\n"
    )
    refused(led, lambda: led.import_log(log), "'caviar'")


def parquet_log(path: Path, **columns: list[object]) -> Path:
    frame = pd.DataFrame(
        {
            "client_id": ["q1", "q2"],
            "group": ["default", "default"],
            "day": [str(NEXT), str(NEXT)],
            "member": ["m0", "m1"],
            "kind": ["purchase", "checkin"],
            "amount": [9 * MICROS, 0],
            "quantity": [0, 0],
            "ref": [11, 0],
            **columns,
        }
    )
    frame.to_parquet(path, index=False)
    return path


BAD_PARQUET = {
    "fractional amount": ({"amount": [9.5, 0.25]}, ["row 1: amount", "expected an integer"]),
    "amount as text": ({"amount": ["9", "nine"]}, ["row 2: amount 'nine'", "expected an integer"]),
    "day not a date": (
        {"day": [str(NEXT), "28/01/2026"]},
        ["row 2: day '28/01/2026'", "expected a date"],
    ),
    "unknown kind": ({"kind": ["purchase", "7"]}, ["row 2: kind '7'", "expected an event kind"]),
}


def test_the_logs_the_bad_ones_are_made_from_import(led: Ledger, tmp_path: Path) -> None:
    report = led.import_log(write_log(tmp_path / "log.csv", LOG))
    assert (report.events_recorded, report.days) == (4, 2)
    later = str(NEXT + dt.timedelta(days=1))  # the last day of the log stays open
    report = led.import_log(parquet_log(tmp_path / "log.parquet", day=[later, later]))
    assert (report.events_recorded, report.days) == (2, 1)
    assert led.audit() == []
    assert led.balance("m1")["available"] == 60 + 5


@pytest.mark.parametrize("case", BAD_PARQUET)
def test_a_parquet_log_with_a_bad_column_is_refused(
    shared: Ledger, tmp_path: Path, case: str
) -> None:
    columns, expected = BAD_PARQUET[case]
    log = parquet_log(tmp_path / "log.parquet", **columns)
    err = refused(shared, lambda: shared.import_log(log), *expected)
    assert str(err).startswith(f"{log} row ")


def test_a_file_that_is_not_parquet_is_refused(shared: Ledger, tmp_path: Path) -> None:
    log = tmp_path / "log.parquet"
    log.write_text("client_id,group\n")
    refused(shared, lambda: shared.import_log(log), f"{log}: cannot be read")


# --------------------------------------------------------------------------- command line


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["ledger", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_cli_refused_redemption_exits_1_with_the_reason_and_no_traceback(shared: Ledger) -> None:
    before = snapshot(shared)
    code, out, err = cli("redeem", "--db", shared.url, "--member", "m1", "--item", "merch")
    assert code == 1
    assert out == ""
    assert err == "error: redeem merch refused: not enough points (60 available)\n"
    assert snapshot(shared) == before
    code, _, err = cli("record", "purchase", "--db", shared.url, "--member", "m0", "--amount", "-2")
    assert (code, err) == (1, "error: --amount: '-2', expected a finite amount >= 0\n")
    code, _, err = cli("redeem", "--db", shared.url, "--member", "ghost", "--item", "merch")
    assert (code, err) == (1, "error: --member: no member 'ghost' in the ledger\n")
    assert "Traceback" not in err
    assert snapshot(shared) == before


def test_cli_audit_passes_a_clean_ledger_and_fails_a_corrupted_one(led: Ledger) -> None:
    code, out, err = cli("audit", "--db", led.url)
    assert (code, out, err) == (0, "audit clean\n", "")
    with led.engine.begin() as conn:  # five points appear from nowhere
        conn.execute(text("UPDATE members SET available = available + 5 WHERE key = 'm1'"))
    code, out, err = cli("audit", "--db", led.url)
    assert code == 1
    violations = out.splitlines()
    assert "violation: available balance != sum of its postings: 1 member(s), e.g. m1" in (
        violations
    )
    assert (
        "violation: conservation: issued != pending + available + redeemed + expired + "
        "reversed + donated: 1 member(s), e.g. m1"
    ) in violations
    assert "violation: lots != available balance + debt: 1 member(s), e.g. m1" in violations
    assert all(v.startswith("violation: ") for v in violations)
    assert "Traceback" not in out + err

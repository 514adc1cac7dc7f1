"""The live ledger at its edges, class by class (issue 16): each bad request is refused with a
message naming the field, the ledger unchanged and its audit clean.

Classes here: bounded arithmetic (1); an irreversible day close (3); damaged storage (5); one
bad line in a stream (6); points farming (4); keys and text, one contract on both backends (8).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_checks import OUTFLOWS, START, new_ledger, refused, seeded, snapshot

from sim.cli import main
from sim.ledger import EventIn, Ledger, LedgerError, NewMember
from sim.ledger.closing import CONFIRM_DAYS, MAX_DAYS
from sim.policy import load_policy


@pytest.fixture
def led(db_url: str) -> Iterator[Ledger]:
    ledger = seeded(db_url)
    yield ledger
    ledger.engine.dispose()


def cli(*args: str, code: int = 0) -> str:
    res = CliRunner().invoke(main, ["ledger", *args])
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output
    return res.output


# --------------------------------------------------------------------- 3. an irreversible close


def test_a_close_far_past_the_business_day_needs_yes(led: Ledger) -> None:
    """``eod 9999-12-31`` once closed 34,300 days and expired every point."""
    db = ["--db", led.url]
    out = cli("eod", *db, "9999-12-31", code=1)
    assert "DATE: 9999-12-31 would close" in out and f"more than {MAX_DAYS:,} days" in out
    before = snapshot(led)
    far = START + dt.timedelta(days=CONFIRM_DAYS + 5)
    out = cli("eod", *db, far.isoformat(), code=1)
    assert "cannot be undone" in out and "pass --yes" in out and "--dry-run" in out
    assert snapshot(led) == before
    out = cli("eod", *db, (START + dt.timedelta(days=MAX_DAYS + 1)).isoformat(), "--yes", code=1)
    assert "refused" in out
    assert snapshot(led) == before and led.audit() == []
    assert f"closed {CONFIRM_DAYS + 6} day(s)" in cli("eod", *db, far.isoformat(), "--yes")


def test_the_library_refuses_only_the_absurd(led: Ledger) -> None:
    """A program replaying history closes long spans on purpose; ten years at once is not."""
    refused(led, lambda: led.eod(dt.date(9999, 12, 31)), "date: 9999-12-31 would close")
    refused(
        led,
        lambda: led.eod(START + dt.timedelta(days=40), guarded=True),
        "more than 31 days past the business day",
        "confirm it",
    )
    assert len(led.eod(START + dt.timedelta(days=40))) == 41


def test_a_dry_run_shows_what_a_close_would_expire_and_release_and_changes_nothing(
    db_url: str,
) -> None:
    """Points valid one month to the day: a close 40 days ahead expires m0's 1,000 and m1's
    60 points (and the month-end interest on them); the preview says so and writes nothing,
    and the close then expires exactly what it said."""
    led, _ = new_ledger(db_url, "expiry")
    led.record(
        [
            EventIn("m0", "adjust", quantity=1000, note="opening balance"),
            EventIn("m1", "adjust", quantity=60, note="opening balance"),
        ]
    )
    db = ["--db", led.url]
    before = snapshot(led)
    through = START + dt.timedelta(days=40)
    preview = json.loads(cli("eod", *db, through.isoformat(), "--dry-run", "--yes"))
    assert preview["days"] == 41 and preview["changed"] is False
    assert preview["first"] == START.isoformat() and preview["last"] == through.isoformat()
    assert preview["expired_points"]["default"] >= 1060
    assert preview["members_expiring"] == {"default": 2}
    assert snapshot(led) == before and led.audit() == []
    assert len(led.eod(through)) == 41
    expired = led.balance("m0")["expired"] + led.balance("m1")["expired"]
    assert expired == preview["expired_points"]["default"]
    empty = json.loads(cli("eod", *db, through.isoformat(), "--dry-run"))
    assert empty["days"] == 0 and empty["first"] is None
    led.engine.dispose()


# --------------------------------------------------------------------- 5. damaged storage


def _sqlite_ledger(tmp_path: Path) -> tuple[Ledger, Path]:
    path = tmp_path / "points.db"
    led = seeded(f"sqlite:///{path}")
    led.record([EventIn("m0", "checkin"), EventIn("m1", "checkin")])
    led.engine.dispose()  # the last connection closes: the WAL is checkpointed into the file
    return led, path


def test_a_file_with_overwritten_pages_is_refused_before_any_write(tmp_path: Path) -> None:
    _, path = _sqlite_ledger(tmp_path)
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    assert len(data) >= 6 * page
    data[3 * page : 5 * page] = bytes(range(256)) * (2 * page // 256)  # two pages of garbage
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    out = cli("record", "checkin", "--db", f"sqlite:///{path}", "--member", "m0", code=1)
    assert "--db: sqlite:///" in out and "damaged" in out and "backup" in out
    assert path.read_bytes() == before  # nothing written
    with pytest.raises(LedgerError, match="damaged"):
        Ledger(f"sqlite:///{path}")


def test_an_empty_file_is_called_empty_and_not_initialised_over(tmp_path: Path) -> None:
    path = tmp_path / "points.db"
    path.write_bytes(b"")
    db = ["--db", f"sqlite:///{path}"]
    out = cli("balance", *db, "--member", "m0", code=1)
    assert "empty file (0 bytes)" in out and "truncated" in out
    out = cli(
        "init", *db, "--policy", "policies/coffee_beans.toml", "--start", "2026-01-27", code=1
    )
    assert "empty file (0 bytes)" in out
    assert path.read_bytes() == b""


def test_a_file_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    path = tmp_path / "points.db"
    path.write_text("id,points\n1,100\n" * 100)
    out = cli("balance", "--db", f"sqlite:///{path}", "--member", "m0", code=1)
    assert "not a ledger database" in out


def test_a_refused_postgresql_connection_is_a_connection_failure() -> None:
    """Nothing listens on port 1 of localhost: the message says so, without the password."""
    url = "postgresql://pointsim:s3cret@127.0.0.1:1/points?connect_timeout=3"
    out = cli("balance", "--db", url, "--member", "m0", code=1)
    assert "connection failure" in out and "s3cret" not in out
    out = cli("init", "--db", url, "--policy", "policies/coffee_beans.toml",
              "--start", "2026-01-27", code=1)  # fmt: skip
    assert "connection failure" in out and "s3cret" not in out


# --------------------------------------------------------------------- 1. bounded arithmetic

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["redeem", "--member", "m0", "--item", "dessert", "--quantity", "1844674407370955162"],
         "--quantity: 1844674407370955162, expected 0..1000000"),
        (["adjust", "--member", "m0", "--points", str(INT64_MIN), "--reason", "x"],
         f"--points: {INT64_MIN}, expected -{10**15}..{10**15}"),
        (["record", "purchase", "--member", "m0", "--amount", "10", "--quantity",
          "920000000000000000"], "--quantity: 920000000000000000, expected 0..1000000"),
        (["record", "purchase", "--member", "m0", "--amount", "10", "--ref", str(INT64_MAX)],
         f"--ref: {INT64_MAX}, expected -1..{2**53 - 1}"),
        (["record", "purchase", "--member", "m0", "--amount", "1000000001"],
         "--amount: 1000000001000000 micros, expected 0..1000000000000000"),
    ],
)  # fmt: skip
def test_numbers_beyond_the_bounds_are_refused_naming_the_option(
    led: Ledger, args: list[str], expected: str
) -> None:
    before = snapshot(led)
    out = cli(*args[:1], "--db", led.url, *args[1:], code=1)
    assert expected in out
    assert snapshot(led) == before and led.audit() == []


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    field=st.sampled_from(["amount", "quantity", "ref"]),
    value=st.one_of(
        st.integers(INT64_MIN, INT64_MAX),
        st.sampled_from([INT64_MIN, INT64_MAX, -1, 0, 10**6, 10**6 + 1, 10**15, 10**15 + 1]),
    ),
)
def test_int64_edges_are_refused_or_recorded_never_wrapped(
    led: Ledger, field: str, value: int
) -> None:
    """A purchase with one field at any int64 value: inside its bound it is recorded with a
    sane number of points, outside refused naming the field; conservation always holds.
    The edges themselves (int64's, each bound's and one past it) are drawn as often as the
    rest."""
    fields = {"amount": 10_000_000, "quantity": 1, "ref": 1, field: value}
    ev = EventIn("m0", "purchase", **fields)
    try:
        out = led.record([ev])[0]
    except LedgerError as err:
        assert err.field == field
    else:
        assert 0 <= out.points <= 10**15
    b = led.balance("m0")
    assert b["issued"] == sum(int(b[a]) for a in OUTFLOWS)


def test_a_policy_whose_numbers_would_overflow_is_refused_naming_the_field(
    tmp_path: Path,
) -> None:
    """``points_per_unit = 1e308`` once passed ``policy check`` and then earned 0."""
    text = Path("policies/coffee_beans.toml").read_text()
    huge = tmp_path / "huge.toml"
    huge.write_text(text.replace("points_per_unit = 1.0", "points_per_unit = 1e308", 1))
    assert huge.read_text() != text
    res = CliRunner().invoke(main, ["policy", "check", str(huge)])
    assert res.exit_code != 0 and "points_per_unit" in res.output and "10000" in res.output


def test_the_engine_refuses_a_figure_it_cannot_hold() -> None:
    from sim.engine.arith import MAX_ENGINE_POINTS, PointsOverflow, whole_points

    assert whole_points(np.array([2.5, MAX_ENGINE_POINTS])).tolist() == [2, MAX_ENGINE_POINTS]
    for bad in (np.inf, np.nan, 1e19, -1e19):
        with pytest.raises(PointsOverflow, match="refused rather than wrapped"):
            whole_points(np.array([1.0, bad]))


# --------------------------------------------------------------------- 6. one bad line


def test_every_feed_line_gets_its_own_answer(led: Ledger, tmp_path: Path) -> None:
    """Invalid UTF-8, an overflowing number, an endless line: each is that line's answer, and
    the lines after it are answered and recorded."""
    good = '{"client_id": "c%d", "member": "m0", "kind": "checkin", "day": "%s"}'
    lines = [
        b'{"client_id": "a", "member": "m\xff\xfe0", "kind": "checkin"}',
        b'{"client_id": "b", "member": "m0", "kind": "adjust", "quantity": 1e400, "note": "x"}',
        b'{"client_id": "b2", "member": "m0", "kind": "adjust", "quantity": '
        + b"9" * 40
        + b', "note": "x"}',
        b'{"client_id": "c", "member": "m0", "kind": "checkin", "note": "' + b"x" * 70_000 + b'"}',
        (good % (1, START.isoformat())).encode(),
    ]
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(b"\n".join(lines) + b"\n")
    res = CliRunner().invoke(main, ["ledger", "feed", "--db", led.url, str(feed)])
    assert res.exit_code == 1, res.output
    answers = [json.loads(x) for x in res.stdout.splitlines()]
    assert [a["line"] for a in answers] == [1, 2, 3, 4, 5]
    assert "not valid UTF-8" in answers[0]["error"]
    assert "quantity" in answers[1]["error"]
    assert "quantity" in answers[2]["error"] and "expected" in answers[2]["error"]
    assert "longer than 65,536 bytes" in answers[3]["error"]
    assert "error" not in answers[4] and answers[4]["kind"] == "checkin"
    assert led.audit() == []


# --------------------------------------------------------------------- 8. keys and text


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (" ann", "starts or ends with a space"),
        ("ann\u202e", "U+202E"),
        ("a\x00b", "U+0000"),
        ("ann\u200b", "U+200B"),
        ("x" * 129, "expected at most 128"),
    ],
)
def test_hostile_member_keys_are_refused_on_both_backends(
    led: Ledger, key: str, expected: str
) -> None:
    refused(led, lambda: led.add_members([NewMember(key)]), "members[0].key", expected)
    refused(led, lambda: led.record([EventIn(key, "checkin")]), "events[0].member", expected)


def test_keys_that_differ_only_by_normalisation_are_one_key(led: Ledger) -> None:
    composed, decomposed = "jos\u00e9", "jose\u0301"
    led.add_members([NewMember(composed)])
    refused(led, lambda: led.add_members([NewMember(decomposed)]), "already in the ledger")
    out = led.record([EventIn(decomposed, "checkin", client_id="n1")])[0]
    assert out.member == composed
    assert led.balance(decomposed) == led.balance(composed)


def test_two_requests_cannot_share_a_body_hash_through_the_separator(led: Ledger) -> None:
    """Fields are joined by U+001F: a note holding it could make two bodies one; it is a
    control character and refused."""
    note = "goodwill\x1f5"
    refused(
        led,
        lambda: led.record([EventIn("m0", "adjust", quantity=5, note=note)]),
        "events[0].note",
        "U+001F",
    )


def test_a_retried_cli_write_without_an_id_records_once(led: Ledger) -> None:
    db = ["--db", led.url]
    first = json.loads(cli("adjust", *db, "--member", "m1", "--points", "7", "--reason", "x"))
    again = json.loads(cli("adjust", *db, "--member", "m1", "--points", "7", "--reason", "x"))
    assert again["duplicate"] and again["event_id"] == first["event_id"]
    other = json.loads(
        cli("adjust", *db, "--member", "m1", "--points", "7", "--reason", "x", "--id", "two")
    )
    assert not other["duplicate"]
    assert led.balance("m1")["available"] == 60 + 14


# --------------------------------------------------------------------- 4. points farming


def test_a_member_cannot_refer_itself(led: Ledger) -> None:
    refused(
        led,
        lambda: led.add_members([NewMember("eve", referrer="eve")]),
        "members[0].referrer",
        "the member itself",
    )
    out = cli("add-member", "--db", led.url, "eve", "--referrer", "eve", code=1)
    assert "--referrer: 'eve' is the member itself" in out


def test_a_referral_bonus_is_paid_once_per_referee_and_stage(db_url: str) -> None:
    """Fintech: 50 to the referrer at sign-up. The referee's event pays it; sent again, or
    sent as the referrer's own event, it pays nothing more."""
    led = Ledger.init(
        db_url, {"default": (load_policy("policies/fintech_wealth.toml"), "fintech")}, START
    )
    led.add_members([NewMember("ann"), NewMember("bob", referrer="ann")])
    first = led.record([EventIn("bob", "referral", name="signup:referee", client_id="r1")])[0]
    again = led.record([EventIn("bob", "referral", name="signup:referee", client_id="r2")])[0]
    own = led.record([EventIn("ann", "referral", name="signup:referrer", client_id="r3")])[0]
    assert (first.status, again.status, own.status) == ("ok", "duplicate", "no_rule")
    assert led.balance("ann")["issued"] == 50 and led.balance("bob")["issued"] == 0
    assert led.audit() == []
    led.engine.dispose()


# --------------------------------------------------------------------- 9. messages, not tracebacks


def test_too_many_one_time_rules_fail_policy_check_not_init(tmp_path: Path) -> None:
    """More than 59 one-time rules once passed ``policy check`` and failed at ``init``."""
    rules = "".join(
        f'\n[earn.once_{i}]\nkind = "one_time"\ntrigger = "profile"\npoints = 1\n'
        for i in range(60)
    )
    path = tmp_path / "many.toml"
    path.write_text(Path("policies/coffee_beans.toml").read_text() + rules)
    res = CliRunner().invoke(main, ["policy", "check", str(path)])
    assert res.exit_code != 0 and "earn.once_59" in res.output and "at most 59" in res.output
    assert "Traceback" not in res.output


def test_dates_out_of_range_are_refused_naming_the_field(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'far.db'}"
    out = cli("init", "--db", db, "--policy", "policies/coffee_beans.toml",
              "--start", "9999-12-31", code=1)  # fmt: skip
    assert "--start: 9999-12-31, expected a first business day between" in out
    assert not (tmp_path / "far.db").exists()
    res = CliRunner().invoke(
        main, ["run", "--set", "horizon.start=9999-12-01", "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 1 and "horizon: the simulated days run from" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "o").exists()


def test_members_beyond_memory_are_refused_naming_the_option(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["run", "--members", "1000000000", "--out", str(tmp_path)])
    assert res.exit_code == 1, res.output
    assert "--members 1,000,000,000: the run needs about" in res.output
    assert "GiB available" in res.output and list(tmp_path.iterdir()) == []


def test_a_refund_without_points_to_reverse_is_refused(led: Ledger) -> None:
    before = snapshot(led)
    out = cli("record", "refund", "--db", led.url, "--member", "m0", "--amount", "5",
              "--ref", "1", code=1)  # fmt: skip
    assert "--quantity: none, a refund reverses the points given here" in out
    assert snapshot(led) == before


def test_metrics_into_a_missing_folder_and_binary_evidence_are_messages(
    led: Ledger, tmp_path: Path
) -> None:
    led.eod(START)
    out = cli("metrics", "--db", led.url, "--from", START.isoformat(), "--to",
              START.isoformat(), "--out", str(tmp_path / "no" / "m.csv"), code=1)  # fmt: skip
    assert "m.csv: cannot be written" in out
    binary = tmp_path / "summary.json"
    binary.write_bytes(bytes(range(256)) * 4)
    out = cli("apply-policy", "policies/coffee_beans.toml", "--db", led.url, "--effective",
              "2026-03-01", "--evidence", str(binary), code=1)  # fmt: skip
    assert "summary.json" in out and "not JSON" in out


def test_an_import_reports_its_progress_day_by_day(tmp_path: Path) -> None:
    led = seeded(f"sqlite:///{tmp_path / 'a.db'}")
    led.record([EventIn("m0", "checkin"), EventIn("m1", "checkin")])
    led.export_log(tmp_path / "log.csv")
    fresh = Ledger.init(
        f"sqlite:///{tmp_path / 'b.db'}",
        {"default": (load_policy("policies/coffee_beans.toml"), "coffee")},
        START,
    )
    seen: list[tuple[int, int]] = []
    rep = fresh.import_log(tmp_path / "log.csv", on_day=lambda n, total: seen.append((n, total)))
    assert sum(n for n, _ in seen) == rep.events_recorded + rep.events_skipped
    assert {total for _, total in seen} == {rep.events_recorded + rep.events_skipped}


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("quantity", "99999999999999999999", "within ±2^62"),
        ("quantity", str(2**63 - 1), "within ±2^62"),
        ("quantity", str(2**62), "within the bounds of its kind"),
        ("amount", str(-(2**63)), "within ±2^62"),
        ("ref", str(2**53), f"expected -1..{2**53 - 1}"),
    ],
)
def test_an_import_refuses_numbers_at_the_int64_edges(
    led: Ledger, tmp_path: Path, column: str, value: str, expected: str
) -> None:
    """A log line whose number would wrap when made an int64 (or passes int64 but not the
    bound) is refused naming its line and column; nothing is imported."""
    good = {"group": "default", "day": START.isoformat(), "member": "m0", "kind": "purchase",
            "amount": "10000000", "quantity": "1", "code": "0", "name": "", "ref": "7",
            "note": "", "client_id": "edge-1", "seq": "0"}  # fmt: skip
    row = {**good, column: value}
    log = tmp_path / "log.csv"
    log.write_text(",".join(row) + "\n" + ",".join(row.values()) + "\n")
    before = snapshot(led)
    refused(led, lambda: led.import_log(log), f"line 2: {column} '{value}'", expected)
    assert snapshot(led) == before

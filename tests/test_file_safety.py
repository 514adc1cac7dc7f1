"""Files at pointsim's edges (:mod:`sim.files`): exports never written through a planted
link, CSV cells a spreadsheet would run as formulas escaped (and un-escaped on import, so the
round trip is lossless), and policy, scenario, evidence and event-log inputs bounded: a
device, a FIFO, an oversized or a too deeply nested file is refused promptly, naming it, with a
non-zero exit and nothing written or changed."""

from __future__ import annotations

import csv
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import BinaryIO

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from ledger_checks import START, ledger_policy, seeded, snapshot

import sim.ledger.logio as logio
from sim.cli import main
from sim.files import csv_safe, file_mode, write_atomic, write_stream_atomic, write_table_atomic
from sim.ledger import EventIn, Ledger, NewMember
from sim.metrics.results import Summary, SummaryError
from sim.policy import policy_toml

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "ecommerce.toml"
TINY = (
    "--members", "200", "--days", "15", "--replications", "1", "--workers", "1",
    "--set", "horizon.warmup_days=5",
)  # fmt: skip
VICTIM = "precious data\n"
MiB = 1 << 20


@pytest.fixture(autouse=True)
def prompt() -> Iterator[None]:
    """A hang guard: a read that blocks (a FIFO) or never ends (``/dev/zero``) fails the test
    after 20 s instead of hanging the suite (each test takes well under a second but the
    ``run`` one, ~3 s)."""

    def expired(_sig: int, _frame: FrameType | None) -> None:
        raise TimeoutError("not prompt: still running after 20 s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(20)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def cli(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def refused(result: Result, *fragments: str) -> str:
    """A clear refusal: exit 1, every fragment in the output, no traceback."""
    out = result.output
    assert result.exit_code == 1, out
    assert "Traceback" not in out and not isinstance(result.exception, TimeoutError), out
    for fragment in fragments:
        assert fragment in out, f"{fragment!r} not in {out!r}"
    return out


def db(path: Path) -> str:
    return f"sqlite:///{path}"


def victim(folder: Path, name: str = "victim.txt") -> Path:
    path = folder / name
    path.write_text(VICTIM)
    return path


# -- writing: no planted link is written through --------------------------------------------


def test_a_link_planted_at_the_old_temporary_names_is_not_written_through(
    tmp_path: Path,
) -> None:
    url = db(tmp_path / "a.db")
    seeded(url)
    safe = tmp_path / "elsewhere"
    safe.mkdir()
    planted = {}
    for name in ("log.csv", "log.members.csv"):
        link = tmp_path / f".{name}.tmp"
        link.symlink_to(victim(safe, f"{name}.victim"))
        planted[link] = link.readlink()
    result = cli("ledger", "export", "--db", url, tmp_path / "log.csv")
    assert result.exit_code == 0, result.output
    for link, target in planted.items():
        assert link.is_symlink() and link.readlink() == target
        assert target.read_text() == VICTIM
    for name in ("log.csv", "log.members.csv"):
        assert not (tmp_path / name).is_symlink()
        assert (tmp_path / name).read_text().startswith(("client_id,", "group,"))
    assert sorted(p.name for p in tmp_path.glob(".*")) == sorted(p.name for p in planted)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_link_at_the_target_is_replaced_never_written_through(
    tmp_path: Path, suffix: str
) -> None:
    url = db(tmp_path / "a.db")
    seeded(url)
    target = tmp_path / f"log{suffix}"
    kept = victim(tmp_path)
    target.symlink_to(kept)
    assert cli("ledger", "export", "--db", url, target).exit_code == 0
    assert kept.read_text() == VICTIM
    assert not target.is_symlink() and target.stat().st_size > 0
    assert len(logio.read_events(target)) == 2


def test_run_export_events_does_not_follow_planted_links(tmp_path: Path) -> None:
    events = tmp_path / "ev.csv"
    kept = victim(tmp_path)
    for name in (".ev.csv.tmp", ".ev.members.csv.tmp", "ev.members.csv"):
        (tmp_path / name).symlink_to(kept)
    result = cli("run", SCENARIO, *TINY, "--no-report", "--out", tmp_path / "out",
                 "--export-events", events)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert kept.read_text() == VICTIM
    assert (tmp_path / ".ev.csv.tmp").is_symlink()
    members = tmp_path / "ev.members.csv"
    assert not members.is_symlink() and members.read_text().startswith("group,")
    assert events.read_text().startswith("replication,")


def test_a_failed_write_leaves_the_target_as_it_was_and_no_temporary_file(
    tmp_path: Path,
) -> None:
    target = victim(tmp_path, "out.csv")

    def half(f: BinaryIO) -> None:
        f.write(b"half of a file")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_stream_atomic(target, half)
    assert target.read_text() == VICTIM
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_temporary_file_swapped_for_a_link_is_never_moved_into_place(tmp_path: Path) -> None:
    target = victim(tmp_path, "out.parquet")
    (tmp_path / "x").mkdir()
    other = victim(tmp_path / "x")

    def swap(tmp: Path) -> None:
        tmp.unlink()
        tmp.symlink_to(other)

    with pytest.raises(OSError, match="replaced"):
        write_atomic(target, swap)
    assert target.read_text() == VICTIM and other.read_text() == VICTIM
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet", "x"]


def test_a_written_file_has_the_users_usual_permissions(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_table_atomic(tmp_path / "t.csv", pd.DataFrame({"a": [1]}))
        assert file_mode() == 0o640
    finally:
        os.umask(old)
    assert (tmp_path / "t.csv").stat().st_mode & 0o777 == 0o640


# -- CSV cells that a spreadsheet would run -------------------------------------------------


def test_csv_safe_escapes_text_formulas_and_leaves_numbers_alone() -> None:
    frame = pd.DataFrame(
        {
            "n": np.array([-5, 3, -1], np.int64),
            "x": [-0.5, 1.5, np.nan],
            "mixed": [-3, "-3", None],
            "text": ["=1+1", "'@x", "plain"],
            "s": pd.Series(["+a", "\tb", "c-d"], dtype="string"),
        }
    )
    safe = csv_safe(frame)
    pd.testing.assert_frame_equal(safe[["n", "x"]], frame[["n", "x"]])
    assert safe["mixed"].tolist() == [-3, "'-3", None]
    assert safe["text"].tolist() == ["'=1+1", "''@x", "plain"]
    assert safe["s"].tolist() == ["'+a", "'\tb", "c-d"]
    assert frame["text"].tolist() == ["=1+1", "'@x", "plain"]  # the input is not changed
    numbers = frame[["n", "x"]]
    assert csv_safe(numbers) is numbers  # nothing to escape: the frame as it is


NOTES = [
    '=HYPERLINK("http://evil.example","click")',
    "@SUM(1)",
    "-20 taken back",
    "+plus",
    "\tlead tab",
    "'=already quoted",
    "a plain - note",
]


def _formula_ledger(url: str) -> Ledger:
    led = seeded(url)
    led.add_members([NewMember("@evil"), NewMember("=1+1", referrer="@evil")])
    led.record(
        [
            EventIn("@evil", "adjust", client_id="=cmd|' /C calc'!A0", quantity=500,
                    note=NOTES[0]),
            EventIn("=1+1", "adjust", quantity=30, note=NOTES[1]),
            EventIn("=1+1", "adjust", quantity=-20, note=NOTES[2]),
            *(EventIn("m0", "adjust", quantity=i + 1, note=n) for i, n in enumerate(NOTES[3:])),
        ]
    )  # fmt: skip
    return led


def test_formula_cells_are_escaped_in_an_export_and_the_import_is_lossless(
    tmp_path: Path,
) -> None:
    first = _formula_ledger(db(tmp_path / "a.db"))
    log = tmp_path / "log.csv"
    assert cli("ledger", "export", "--db", db(tmp_path / "a.db"), log).exit_code == 0
    with log.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for col in ("client_id", "member", "note"):
            assert not row[col].startswith(tuple("=+-@\t\r")), row
    assert {r["member"] for r in rows} >= {"'@evil", "'=1+1"}
    assert "'" + NOTES[0] in {r["note"] for r in rows}
    assert "''=already quoted" in {r["note"] for r in rows}
    assert "-20" in {r["quantity"] for r in rows} and "-20" in {r["points"] for r in rows}
    with (tmp_path / "log.members.csv").open(newline="", encoding="utf-8") as f:
        assert {r["referrer"] for r in csv.DictReader(f)} == {"", "'@evil"}

    second = Ledger.init(
        db(tmp_path / "b.db"), {"default": (ledger_policy("pending"), "pending")}, START
    )
    result = cli("ledger", "import", "--db", db(tmp_path / "b.db"), log)
    assert result.exit_code == 0, result.output
    for name, led in (("a", first), ("b", second)):
        led.export_log(tmp_path / f"{name}.parquet")
    for stem in ("", ".members"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / f"a{stem}.parquet"),
            pd.read_parquet(tmp_path / f"b{stem}.parquet"),
        )
    notes = set(pd.read_parquet(tmp_path / "b.parquet")["note"])
    assert set(NOTES) <= notes


# -- reading: devices, FIFOs, oversized and deeply nested files -----------------------------


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _zero(path: Path) -> Path:
    path.symlink_to("/dev/zero")
    return path


def _ledger_for_apply(tmp_path: Path) -> tuple[str, Path]:
    url = db(tmp_path / "a.db")
    seeded(url)
    policy = tmp_path / "policy.toml"
    policy.write_text(policy_toml(ledger_policy("expiry")))
    return url, policy


Command = Callable[[Path, Path], list[str | Path]]


def _policy(_tmp: Path, bad: Path) -> list[str | Path]:
    return ["policy", "check", bad]


def _scenario(tmp: Path, bad: Path) -> list[str | Path]:
    return ["run", bad, *TINY, "--no-report", "--out", tmp / "out"]


def _evidence(tmp: Path, bad: Path) -> list[str | Path]:
    url, policy = _ledger_for_apply(tmp)
    return ["ledger", "apply-policy", "--db", url, policy, "--effective", "2026-02-10",
            "--evidence", bad]  # fmt: skip


def _event_log(tmp: Path, bad: Path) -> list[str | Path]:
    seeded(db(tmp / "a.db"))
    return ["ledger", "import", "--db", db(tmp / "a.db"), bad]


INPUTS: dict[str, tuple[str, Command]] = {
    "policy": ("p.toml", _policy),
    "scenario": ("s.toml", _scenario),
    "evidence": ("summary.json", _evidence),
    "event log": ("log.csv", _event_log),
}


def _unchanged(tmp_path: Path) -> Callable[[], object]:
    """What must stay as it was: the ledger (if any) and the absence of an output folder."""
    ledger = tmp_path / "a.db"
    return lambda: (
        snapshot(Ledger(db(ledger), writing=False)) if ledger.exists() else None,
        (tmp_path / "out").exists(),
    )


@pytest.mark.parametrize("make", [_fifo, _zero], ids=["fifo", "dev-zero"])
@pytest.mark.parametrize("what", list(INPUTS))
def test_a_device_or_fifo_is_refused_promptly_naming_it(
    tmp_path: Path, what: str, make: Callable[[Path], Path]
) -> None:
    name, command = INPUTS[what]
    bad = make(tmp_path / name)
    args = command(tmp_path, bad)
    state = _unchanged(tmp_path)
    before = state()
    refused(cli(*args), str(bad), "not a regular file")
    assert state() == before


def test_policy_check_of_dev_zero_is_refused_promptly() -> None:
    refused(cli("policy", "check", "/dev/zero"), "/dev/zero", "not a regular file")


def test_an_oversized_policy_or_scenario_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    big.write_text("# padding\n" * (MiB // 10 + 1))
    refused(cli("policy", "check", big), str(big), "larger than 1 MiB")
    refused(cli(*_scenario(tmp_path, big)), str(big), "larger than 1 MiB")
    assert not (tmp_path / "out").exists()


def test_an_oversized_evidence_file_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "summary.json"
    with big.open("wb") as f:
        f.truncate(16 * MiB + 1)  # sparse: costs no disk
    with pytest.raises(SummaryError, match="larger than 16 MiB") as err:
        Summary.read(big)
    assert str(big) in str(err.value)
    args = _evidence(tmp_path, big)
    before = snapshot(Ledger(db(tmp_path / "a.db"), writing=False))
    refused(cli(*args), str(big), "larger than 16 MiB")
    assert snapshot(Ledger(db(tmp_path / "a.db"), writing=False)) == before


def test_an_oversized_event_log_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "log.csv"
    with big.open("wb") as f:
        f.truncate(logio.MAX_LOG_BYTES + 1)  # sparse: costs no disk
    args = _event_log(tmp_path, big)
    before = snapshot(Ledger(db(tmp_path / "a.db"), writing=False))
    refused(cli(*args), str(big), "larger than 2 GiB")
    assert snapshot(Ledger(db(tmp_path / "a.db"), writing=False)) == before


def test_a_parquet_log_that_unpacks_beyond_the_bound_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "log.parquet"
    pd.DataFrame({"day": np.zeros(1_000_000, np.int64)}).to_parquet(log)
    assert log.stat().st_size < MiB
    monkeypatch.setattr(logio, "MAX_LOG_BYTES", MiB)
    refused(cli(*_event_log(tmp_path, log)), str(log), "unpacked, larger than 1 MiB")


def test_a_deeply_nested_toml_is_refused_naming_it(tmp_path: Path) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    refused(cli("policy", "check", deep), str(deep), "nested too deeply")
    refused(cli(*_scenario(tmp_path, deep)), str(deep), "nested too deeply")
    assert not (tmp_path / "out").exists()


def test_a_deeply_nested_summary_is_refused_naming_it(tmp_path: Path) -> None:
    deep = tmp_path / "summary.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(SummaryError, match="nested too deeply") as err:
        Summary.read(deep)
    assert str(deep) in str(err.value)

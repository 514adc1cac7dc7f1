"""Output safety of ``pointsim run`` and ``pointsim sweep``: a bad ``--out`` or
``--export-events`` is refused before anything is simulated, with nothing written; outputs
are moved in from a fresh temporary folder inside ``--out``; a folder holding files pointsim
did not write is refused unless ``--force``; no stale file is left beside new tables; files get
the user's usual permissions."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sim.cli import main
from sim.outputs import MANIFEST

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "ecommerce.toml"
SWEEP = ROOT / "scenarios" / "point_value_sweep.toml"
TINY = (
    "--members", "200", "--days", "15", "--replications", "1", "--workers", "1",
    "--set", "horizon.warmup_days=5",
)  # fmt: skip
"""A run of well under a second."""
SENTINEL = "keep me\n"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, ["run", *map(str, args)])


def snapshot(folder: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def refused(result: Result, *named: str) -> None:
    assert result.exit_code in (1, 2), result.output  # 2: click's own usage errors
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    for part in named:
        assert part in result.output, f"{part!r} not in {result.output!r}"
    assert "member-days" not in result.output, "refused before simulating"


# --- refused before anything runs, nothing written ---------------------------------------


def _file_in_the_way(tmp: Path) -> tuple[list[str], list[str]]:
    (tmp / "out").write_text(SENTINEL)
    return ["--out", str(tmp / "out")], ["--out", "is a file"]


def _missing_parent(tmp: Path) -> tuple[list[str], list[str]]:
    return ["--out", str(tmp / "nowhere" / "out")], ["--out", "does not exist"]


def _root(tmp: Path) -> tuple[list[str], list[str]]:
    return ["--out", "/", "--force"], ["--out /", "root folder"]


def _foreign_files(tmp: Path) -> tuple[list[str], list[str]]:
    (tmp / "out").mkdir()
    (tmp / "out" / "thesis.docx").write_text(SENTINEL)
    return ["--out", str(tmp / "out")], ["--out", "files pointsim did not write", "thesis.docx"]


def _events_folder_in_the_way(tmp: Path) -> tuple[list[str], list[str]]:
    (tmp / "events.parquet").mkdir()
    return ["--out", str(tmp / "out"), "--export-events", str(tmp / "events.parquet")], [
        "--export-events",
        "is a directory",
    ]


def _events_missing_parent(tmp: Path) -> tuple[list[str], list[str]]:
    events = tmp / "no" / "events.csv"
    return ["--out", str(tmp / "out"), "--export-events", str(events)], [
        "--export-events",
        "does not exist",
    ]


def _dangling_symlink(tmp: Path) -> tuple[list[str], list[str]]:
    (tmp / "out").symlink_to(tmp / "elsewhere")
    return ["--out", str(tmp / "out")], ["--out", "dangling symbolic link"]


CASES = [
    _file_in_the_way,
    _missing_parent,
    _root,
    _foreign_files,
    _events_folder_in_the_way,
    _events_missing_parent,
    _dangling_symlink,
]


@pytest.mark.parametrize("case", CASES, ids=lambda f: f.__name__.lstrip("_"))
def test_a_bad_output_is_refused_before_simulating(case, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    args, named = case(tmp_path)
    before = snapshot(tmp_path)
    refused(run(SCENARIO, *TINY, *args), *named)
    assert snapshot(tmp_path) == before, "nothing written, nothing removed"


def test_a_bad_sweep_output_is_refused_before_running(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text(SENTINEL)
    before = snapshot(tmp_path)
    result = CliRunner().invoke(
        main,
        ["sweep", str(SWEEP), "--members", "100", "--days", "5", "--out", str(tmp_path / "out")],
    )
    assert result.exit_code == 1, result.output
    assert "files pointsim did not write" in result.output and "notes.txt" in result.output
    assert snapshot(tmp_path) == before


def _as_nobody(tmp_path: Path) -> list[str]:
    """Run as an unprivileged user when we are root (root writes anywhere)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.fail("setpriv (util-linux) is needed to test permissions as root")
    project = Path(__file__).resolve().parent.parent  # and the package and its venv
    for p in (tmp_path, *tmp_path.parents, project, *project.parents):
        if p == Path("/"):
            continue
        p.chmod(p.stat().st_mode | 0o005)  # let the unprivileged user reach the folder
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]


def test_an_unwritable_out_is_refused_in_a_real_process(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    cmd = [*_as_nobody(tmp_path), sys.executable, "-m", "sim", "run", str(SCENARIO), *TINY]
    env = {**os.environ, "HOME": str(tmp_path), "MPLCONFIGDIR": str(tmp_path)}
    for out in (locked, locked / "out"):
        result = subprocess.run(
            [*cmd, "--out", str(out)],
            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert f"--out {out}:" in result.stderr and "not writable" in result.stderr
    assert list(locked.iterdir()) == []


# --- written as a whole, from inside the destination -------------------------------------


def test_foreign_files_are_kept_with_force(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text(SENTINEL)
    result = run(SCENARIO, *TINY, "--no-report", "--out", out, "--force")
    assert result.exit_code == 0, result.output
    assert (out / "notes.txt").read_text() == SENTINEL
    assert (out / "summary.json").is_file()
    manifest = json.loads((out / MANIFEST).read_text())
    assert "notes.txt" not in manifest["files"] and "summary.json" in manifest["files"]
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [MANIFEST]


def test_a_second_run_replaces_its_own_files_and_leaves_no_stale_one(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run(SCENARIO, *TINY, "--out", out)
    assert first.exit_code == 0, first.output
    assert (out / "report.html").is_file()
    second = run(SCENARIO, *TINY, "--out", out, "--no-report")  # no --force needed: ours
    assert second.exit_code == 0, second.output
    assert not (out / "report.html").exists(), "a stale report beside new tables"
    assert (out / "metrics.parquet").is_file()
    assert "report.html" not in json.loads((out / MANIFEST).read_text())["files"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_outputs_get_the_user_s_usual_permissions(tmp_path: Path, umask: int) -> None:
    out = tmp_path / "out"
    events = tmp_path / "events.parquet"
    result = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(SCENARIO), *TINY, "--no-report",
         "--out", str(out), "--export-events", str(events)],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
        preexec_fn=lambda: os.umask(umask),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    files = [*out.iterdir(), events, tmp_path / "events.members.parquet"]
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in files}
    assert set(modes.values()) == {oct(0o666 & ~umask)}, modes


def test_a_failure_while_writing_leaves_out_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    assert run(SCENARIO, *TINY, "--no-report", "--out", out).exit_code == 0
    before = snapshot(out)

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("sim.runner.write_tables", broken)
    result = run(SCENARIO, *TINY, "--no-report", "--out", out, "--seed", "9")
    assert result.exit_code != 0
    assert snapshot(out) == before

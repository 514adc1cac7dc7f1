"""README.md's ledger recipe runs as written (issue 13, item 7b).

The fenced ``bash`` block under "### The live ledger" is read from the README and run line by
line with ``bash -e -o pipefail`` in a fresh folder holding a link to the repository's
``policies/``, with this virtualenv's ``pointsim`` first on PATH and no ``POINTSIM_DB``. Its
variable assignments (``L="pointsim ledger --db ..."``) carry over to the lines after them,
and ``orders``, the README's stand-in for an order system, is a shell function printing two
JSON events. Each line must do what its comment promises: exit 0; "again: same result" gives
the same answer run twice; "writes nothing" leaves the ledger as it was; "refused (exit 1,
nothing written) beyond balance or stock" either succeeds or exits 1 with one ``error:``
line and the ledger unchanged. The block ends with ``$L audit``, which must be clean.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ledger_checks import snapshot

from sim.ledger import Ledger

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
HEADING = "### The live ledger"
FIRST = 'L="pointsim ledger --db sqlite:///points.db"'
ORDERS = """orders() {  # the README's order system: two events, one JSON object a line
  echo '{"client_id": "order-2", "member": "ann", "kind": "purchase", "amount": "42.00"}'
  echo '{"client_id": "checkin-2", "member": "ann", "kind": "checkin"}'
}"""
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def ledger_block(text: str) -> list[str]:
    """The lines of the first ```bash block after the heading :data:`HEADING` (before the
    next heading); fails, saying what it looked for, when the README has no such block."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(HEADING)]
    assert len(starts) == 1, f"README.md: expected one heading {HEADING!r}, found {len(starts)}"
    block: list[str] | None = None
    for line in lines[starts[0] + 1 :]:
        if block is None:
            if line.startswith("#"):
                break
            if line.strip() == "```bash":
                block = []
        elif line.strip() == "```":
            break
        else:
            block.append(line)
    assert block, f"README.md: no ```bash block under {HEADING!r}"
    assert block[0].startswith(FIRST), f"README.md: the ledger block starts {block[0]!r}"
    return [line for line in block if line.strip()]


def comment(line: str) -> str:
    """The line's trailing comment ("" if none)."""
    found = re.search(r"\s#\s(.*)$", line)
    return found.group(1) if found else ""


def test_the_block_is_found_and_ends_with_an_audit() -> None:
    block = ledger_block(README.read_text(encoding="utf-8"))
    assert block[-1].split("#")[0].strip() == "$L audit"
    with pytest.raises(AssertionError, match="no ```bash block"):
        ledger_block(f"{HEADING} (`sim.ledger`)\n\nText.\n\n### Tests\n\n```bash\nx\n```\n")


@pytest.mark.slow
def test_the_readme_ledger_block_runs_as_written(tmp_path: Path) -> None:
    block = ledger_block(README.read_text(encoding="utf-8"))
    (tmp_path / "policies").symlink_to(ROOT / "policies", target_is_directory=True)
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "pointsim").exists(), f"no pointsim beside {sys.executable}"
    env = {k: v for k, v in os.environ.items() if k != "POINTSIM_DB"}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    prelude = [ORDERS]

    def run(line: str) -> subprocess.CompletedProcess[str]:
        script = "\n".join([*prelude, line])
        return subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def state() -> dict[str, object]:
        led = Ledger(f"sqlite:///{tmp_path / 'points.db'}")
        try:
            return snapshot(led)
        finally:
            led.engine.dispose()

    for line in block:
        says = comment(line)
        before = state() if (tmp_path / "points.db").exists() else None
        done = run(line)
        shown = f"{line}\nexit {done.returncode}\n{done.stdout}{done.stderr}"
        if "refused (exit 1" in says and done.returncode != 0:
            assert done.returncode == 1, shown
            assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, shown
            assert state() == before, f"refused but written: {shown}"
            continue
        assert done.returncode == 0, shown
        assert "Traceback" not in done.stderr, shown
        if ASSIGNMENT.match(line):
            prelude.append(line)
        if "writes nothing" in says:
            assert state() == before, f"wrote: {shown}"
        if "again: same result" in says:
            again = run(line)
            assert again.returncode == 0, f"again: {again.stdout}{again.stderr}"
            first, second = json.loads(done.stdout), json.loads(again.stdout)
            assert second == {**first, "duplicate": True}, (first, second)
    assert run("$L audit").stdout == "audit clean\n"

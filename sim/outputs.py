"""Output folders of ``pointsim run`` and ``pointsim sweep``: checked before anything is
simulated, written into a fresh temporary folder inside the destination, moved into place at
the end.

- ``--out`` must be a folder whose parent exists, writable, never ``/``; a folder that holds
  files pointsim did not write is refused unless ``force`` (pointsim keeps the list of what it
  wrote in :data:`MANIFEST`).
- The temporary folder is made by ``mkdtemp`` (a random name, created exclusively: never a
  predictable name that could be a planted symlink) inside the destination, so the final
  moves are renames on one file system.
- Files pointsim wrote there before but not this time (``report.html`` after ``--no-report``)
  are removed, so no stale file sits beside new tables.
- Files get the permissions of any file the user writes (0o666 less the umask).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from sim.files import file_mode, read_input, write_text_atomic

__all__ = ["MANIFEST", "OutputError", "OutputFolder", "check_file", "check_folder"]

MANIFEST = ".pointsim-outputs.json"
"""In every output folder: the names pointsim wrote there."""

LEGACY = frozenset(
    {
        "metrics.parquet",
        "by_rule.parquet",
        "retention.parquet",
        "runs.parquet",
        "summary.json",
        "report.html",
        "points.parquet",
        "sweep.json",
        "sweep.html",
        "runs",
        "daily",
    }
)
"""What pointsim wrote into its own ``reports/<scenario>/`` before it kept a manifest."""


class OutputError(ValueError):
    """An output path that cannot be used; the message names the option and the path."""

    def __init__(self, option: str, path: Path, message: str) -> None:
        super().__init__(f"{option} {path}: {message}")
        self.option = option
        self.path = path


MAX_MANIFEST_BYTES = 1 << 20
"""The largest :data:`MANIFEST` read; a larger one (or a FIFO, a device) counts as none."""


def _written(folder: Path) -> set[str]:
    try:
        data = read_input(folder / MANIFEST, MAX_MANIFEST_BYTES, "a manifest")
        names = json.loads(data)["files"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return set()
    return {n for n in names if isinstance(n, str)}


def _ours(folder: Path, name: str, legacy: bool) -> bool:
    if name == MANIFEST or name.startswith(".pointsim-"):
        return True
    policy_file = name.startswith("policy.") and name.endswith(".toml")
    return legacy and (name in LEGACY or policy_file)


def _writable(option: str, path: Path, folder: Path, what: str) -> None:
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(option, path, f"{what} is not writable")


def check_folder(
    out: Path, *, option: str = "--out", force: bool = False, legacy: bool = False
) -> None:
    """Refuse, before anything runs, an output folder that cannot be written or holds files
    pointsim did not write (unless ``force``). ``legacy``: also accept the files pointsim wrote
    before it kept a manifest (its own ``reports/<scenario>/`` folders)."""
    out = Path(out)
    if out.resolve() == Path(out.resolve().anchor):
        raise OutputError(option, out, "refusing to write into the root folder")
    if out.is_symlink() and not out.is_dir():
        raise OutputError(option, out, "is a dangling symbolic link")
    if out.exists() and not out.is_dir():
        raise OutputError(option, out, "a file is in the way (expected a folder)")
    if not out.exists():
        parent = out.absolute().parent
        if not parent.is_dir():
            raise OutputError(option, out, f"the parent folder {parent} does not exist")
        _writable(option, out, parent, f"the parent folder {parent}")
        return
    _writable(option, out, out, "the folder")
    known = _written(out)
    foreign = sorted(
        e.name for e in out.iterdir() if e.name not in known and not _ours(out, e.name, legacy)
    )
    if foreign and not force:
        shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        raise OutputError(
            option,
            out,
            f"holds files pointsim did not write ({shown}); choose an empty or new folder, "
            "or give --force to write beside them",
        )


def check_file(path: Path, *, option: str) -> None:
    """Refuse, before anything runs, a file path that cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(option, path, "is a folder (expected a file)")
    parent = path.absolute().parent
    if not parent.is_dir():
        raise OutputError(option, path, f"the parent folder {parent} does not exist")
    _writable(option, path, parent, f"the parent folder {parent}")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(option, path, "is not writable")


class OutputFolder:
    """Write outputs into ``tmp`` (a fresh folder inside ``out``), then :meth:`commit` moves them
    into ``out``. Left without a commit (an error), it removes what it made, so ``out`` is as it
    was. :meth:`claim` records names written straight into ``out`` (a sweep's ``runs/``) before
    they are written."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.tmp = Path()
        self._made_out = False

    def __enter__(self) -> OutputFolder:
        if not self.out.is_dir():
            self.out.mkdir()
            self._made_out = True
        self.tmp = Path(tempfile.mkdtemp(prefix=".pointsim-", dir=self.out))
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        err: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
        if kind is not None and self._made_out:
            with contextlib.suppress(OSError):
                self.out.rmdir()  # only when still empty

    def path(self, name: str) -> Path:
        """Where to write output ``name`` (moved into place by :meth:`commit`)."""
        return self.tmp / name

    def claim(self, names: Iterable[str]) -> None:
        """Record ``names`` as pointsim's before writing them straight into ``out``."""
        self._write_manifest(_written(self.out) | set(names))

    def commit(self, keep: Iterable[str] = ()) -> None:
        """Move every file of ``tmp`` into ``out``; remove files pointsim wrote there before
        and did not write now (``keep``: names written straight into ``out`` to leave)."""
        mode = file_mode()
        new = sorted(p.name for p in self.tmp.iterdir())
        for name in new:
            item = self.tmp / name
            if item.is_file():
                os.chmod(item, mode)
            os.replace(item, self.out / name)
        now = set(new) | set(keep)
        for stale in sorted(_written(self.out) - now):
            target = self.out / stale
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
        self._write_manifest(now)

    def _write_manifest(self, names: set[str]) -> None:
        text = json.dumps({"written_by": "pointsim", "files": sorted(names)}, indent=2)
        write_text_atomic(self.out / MANIFEST, text + "\n")

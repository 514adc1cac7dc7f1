"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["file_mode", "write_atomic", "write_text_atomic"]


def file_mode() -> int:
    """The permissions a new file of the user gets (0o666 less the process's umask), for
    files made through a temporary file (which ``mkstemp`` creates 0o600)."""
    try:
        status = Path("/proc/self/status").read_text()
        found = re.search(r"^Umask:\s+([0-7]+)$", status, re.M)
        if found:
            return 0o666 & ~int(found.group(1), 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # no /proc: read it by setting it back at once
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Make ``path`` with ``write(tmp)`` so that it is either complete or not there at all: a
    temporary file of a random name beside it (never a predictable one), then an atomic
    rename; the file gets the user's usual permissions."""
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (:func:`write_atomic`)."""
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))

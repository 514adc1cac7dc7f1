"""Files at pointsim's edges: written whole or not at all (never through a planted link),
read with a bound on their size (never a device or a pipe that has no end), and CSV cells
that a spreadsheet would run as formulas escaped.

Writing. :func:`write_stream_atomic` (and :func:`write_atomic`, :func:`write_text_atomic`,
:func:`write_table_atomic` on top of it) makes a temporary file in the destination folder with
``tempfile.mkstemp`` (a random name, created with ``O_EXCL``: a link planted under any name is
never followed), writes it through the descriptor ``mkstemp`` returned, flushes it to disk,
gives it the user's usual permissions (0o666 less the umask) and renames it onto the target.
On any error the temporary file is removed and the target is as it was. A target that is a
symbolic link is replaced by the new file (what ``os.replace`` does): the link goes, the file
it pointed to is left untouched; pointsim never writes through a link into another file.

Reading. :func:`read_input` and :func:`open_input` refuse anything but a regular file (a
folder, ``/dev/zero``, a FIFO, a socket) before reading a byte, and a file larger than the
caller's bound; :func:`read_input` reads at most bound + 1 bytes, so a file that grows without
end costs nothing. The refusal (:class:`InputFileError`) names the file.

CSV. :func:`csv_safe` puts an apostrophe before a text cell starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return (OWASP "CSV injection"), so a spreadsheet shows it as text;
numbers are never altered. :func:`csv_unescape` undoes it exactly, so an exported log imports
unchanged (a cell that already started with apostrophes before such a character gets one more,
so the round trip is lossless).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FORMULA_START",
    "InputFileError",
    "csv_safe",
    "csv_unescape",
    "file_mode",
    "open_input",
    "read_input",
    "read_table",
    "size_text",
    "write_atomic",
    "write_stream_atomic",
    "write_table_atomic",
    "write_text_atomic",
]

FORMULA_START = "=+-@\t\r"
"""A text cell starting with one of these is a formula (or turns into one) in a spreadsheet."""
_ESCAPE = re.compile(r"^'*[=+\-@\t\r]")
"""Cells :func:`csv_safe` escapes: a formula start, after any apostrophes."""
_UNESCAPE = r"^'(?='*[=+\-@\t\r])"
"""The apostrophe :func:`csv_unescape` removes: the first of a cell :func:`csv_safe` escaped."""


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


# -- writing ------------------------------------------------------------------------------------


def write_stream_atomic(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Make ``path`` with ``write(f)``, ``f`` an open binary file, whole or not at all: a
    temporary file of a random name in ``path``'s folder (created exclusively, so never a
    planted link), fsynced, given the user's usual permissions, then renamed onto ``path``
    (a link at ``path`` is replaced, not written through). On any error the temporary file is
    removed and ``path`` is as it was."""
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fchmod(f.fileno(), file_mode())
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Make ``path`` with ``write(tmp)`` (for writers that need a file name) as
    :func:`write_stream_atomic` does; ``tmp`` is the temporary file, already created. Before
    the rename it is checked to be still the file ``mkstemp`` made (a file swapped in under its
    name is refused, never moved onto ``path``). Prefer :func:`write_stream_atomic`, which
    never opens the temporary file by name."""
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        try:
            write(tmp)
            made, now = os.fstat(fd), os.lstat(tmp)
            if (made.st_dev, made.st_ino) != (now.st_dev, now.st_ino):
                raise OSError(f"{tmp}: the temporary file was replaced while it was written")
            os.fchmod(fd, file_mode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all (:func:`write_stream_atomic`)."""
    data = text.encode("utf-8")
    write_stream_atomic(path, lambda f: f.write(data))


def write_table_atomic(path: Path, frame: pd.DataFrame) -> None:
    """Write ``frame`` to ``path`` as CSV (text cells :func:`csv_safe`) or Parquet by suffix,
    without the index, whole or not at all. ValueError for another suffix."""
    path = Path(path)
    if path.suffix == ".csv":
        safe = csv_safe(frame)

        def write(f: BinaryIO) -> None:
            text = io.TextIOWrapper(f, encoding="utf-8", newline="")
            safe.to_csv(text, index=False)
            text.flush()
            text.detach()

        write_stream_atomic(path, write)
    elif path.suffix == ".parquet":
        write_stream_atomic(path, lambda f: frame.to_parquet(f, index=False))
    else:
        raise ValueError(f"{path}: expected a .csv or .parquet file")


def _sync_folder(folder: Path) -> None:
    """Flush the rename to disk (best effort: not every system can open a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# -- reading ------------------------------------------------------------------------------------


class InputFileError(ValueError):
    """A file pointsim will not read: not a regular file, or larger than its bound. The
    message is ``path: reason``."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def size_text(n: int) -> str:
    """``n`` bytes for a person: ``1 MiB``, ``16 MiB``, ``2 GiB``, ``900 bytes``."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a file"


def _regular(path: Path, st: os.stat_result, limit: int, what: str) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise InputFileError(path, f"{_kind(st.st_mode)}, not a regular file; expected {what}")
    if st.st_size > limit:
        raise InputFileError(path, _too_large(f"{st.st_size:,} bytes", limit, what))


def _too_large(size: str, limit: int, what: str) -> str:
    return f"{size}, larger than {size_text(limit)}, the most pointsim reads as {what}"


def open_input(path: Path | str, limit: int, what: str) -> BinaryIO:
    """``path`` opened for reading in binary, if it is a regular file of at most ``limit``
    bytes (``what``: the kind of file expected, for the message). :class:`InputFileError`
    otherwise, before anything is read; OSError (FileNotFoundError ...) as ``open``. A FIFO
    or a device is refused without being opened (and a file swapped in between is caught by
    checking the open descriptor again)."""
    path = Path(path)
    _regular(path, os.stat(path), limit, what)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)  # non-blocking: a FIFO swapped in does not wait for a writer
    try:
        _regular(path, os.fstat(fd), limit, what)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_input(path: Path | str, limit: int, what: str) -> bytes:
    """The bytes of ``path``, a regular file of at most ``limit`` bytes (:func:`open_input`);
    reads at most ``limit`` + 1 bytes, so a file that grows while it is read is refused too."""
    with open_input(path, limit, what) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise InputFileError(path, _too_large("more bytes", limit, what))
    return data


def read_table(path: Path | str, limit: int, what: str) -> tuple[pd.DataFrame, int]:
    """A CSV or Parquet table (by suffix): CSV as strings (un-escaped, :func:`csv_unescape`),
    Parquet with its columns' types; and the line number of row 0 (CSV 2, the header being
    line 1; Parquet row 1). Refused with :class:`InputFileError` (its reason says why) when
    missing, of another suffix, not a regular file, larger than ``limit`` bytes (Parquet: its
    columns unpacked, read from the metadata before any data), or not what it claims to be."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "no such file")
    if path.suffix not in (".csv", ".parquet"):
        raise InputFileError(path, "expected a .csv or .parquet file")
    try:
        with open_input(path, limit, what) as f:
            if path.suffix == ".csv":
                return csv_unescape(pd.read_csv(f, dtype=str, keep_default_na=False)), 2
            _parquet_size(path, f, limit, what)
            return pd.read_parquet(f), 1
    except InputFileError:
        raise
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputFileError(path, f"cannot be read ({exc})") from None


def _parquet_size(path: Path, f: BinaryIO, limit: int, what: str) -> None:
    """Refuse a Parquet file whose columns would unpack to more than ``limit`` bytes: the
    larger of the uncompressed size its metadata declares and 8 bytes a cell (so a small file
    of highly compressed columns cannot fill the memory); leaves ``f`` at its start."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(f).metadata
    declared = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    size = max(declared, 8 * meta.num_rows * meta.num_columns)
    if size > limit:
        raise InputFileError(
            path,
            _too_large(
                f"{meta.num_rows:,} rows of {meta.num_columns} column(s), about {size:,} bytes "
                "unpacked",
                limit,
                what,
            ),
        )
    f.seek(0)


# -- CSV ----------------------------------------------------------------------------------------


def _text_columns(frame: pd.DataFrame) -> list[str]:
    import pandas as pd

    return [
        c
        for c in frame.columns
        if frame[c].dtype == object or isinstance(frame[c].dtype, pd.StringDtype)
    ]


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell that a spreadsheet would take for a formula (starting
    with one of :data:`FORMULA_START`, after any apostrophes) given a leading apostrophe. Only
    text (``str``) cells of object or string columns change; numbers, including negative
    ones, never do. ``frame`` itself is not changed."""
    import numpy as np
    import pandas as pd

    out = frame
    for col in _text_columns(frame):
        values = frame[col]
        try:
            risky = values.str.match(_ESCAPE.pattern, na=False)
        except AttributeError:  # no text in the column (all None, bools ...)
            continue
        hit = np.flatnonzero(risky.fillna(False).to_numpy(bool))
        if not len(hit):
            continue
        cells = values.to_numpy(dtype=object, copy=True)
        cells[hit] = ["'" + v for v in cells[hit]]
        if out is frame:
            out = frame.copy()
        out[col] = pd.Series(cells, index=frame.index, dtype=values.dtype)
    return out


def csv_unescape(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`csv_safe` on a CSV read as text: remove the first of the leading
    apostrophes of a cell that continues with a formula start (``'=x`` -> ``=x``,
    ``''-1`` -> ``'-1``); every other cell as it is. Changes ``frame`` in place and returns it."""
    for col in _text_columns(frame):
        with contextlib.suppress(AttributeError):
            frame[col] = frame[col].str.replace(_UNESCAPE, "", n=1, regex=True)
    return frame

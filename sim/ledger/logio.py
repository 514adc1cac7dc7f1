"""Event logs in and out: the day-ordered log ``pointsim run --export-events`` writes (and the
ledger's own export), CSV or Parquet by suffix, with its members file beside it
(``<stem>.members<suffix>``).

Reading checks every row before anything is used: a bad row is reported with its line number
(CSV: the line in the file, the header being line 1; Parquet: the row number), and the whole
file is refused. A file that is not a regular file (a FIFO, ``/dev/zero``) or is larger than
:data:`MAX_LOG_BYTES` is refused before it is parsed.

A CSV text cell that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` ...) is
written with a leading apostrophe and read back without it (:func:`sim.files.csv_safe`), so an
export imports unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.engine import day_number
from sim.files import InputFileError, read_table, write_table_atomic
from sim.ledger.limits import (
    FIELD_BOUNDS,
    MAX_QUANTITY,
    normal,
    quantity_bounds,
    text_problem,
)
from sim.ledger.requests import KINDS
from sim.ledger.store import LedgerError

EVENT_COLUMNS = ("group", "day", "member", "kind")
INT_COLUMNS = ("replication", "seq", "amount", "quantity", "code", "ref")
MEMBER_COLUMNS = ("group", "member", "join_day")
SHOWN = 5  # bad rows listed per problem
MAX_LOG_BYTES = 2 << 30
"""The largest event log or members file read (CSV: its text; Parquet: the file and the
uncompressed size its metadata declares); beyond it the file is refused before it is parsed."""


def members_path(events: Path) -> Path:
    return events.with_name(f"{events.stem}.members{events.suffix}")


def _read(path: Path) -> tuple[pd.DataFrame, int]:
    """The file as strings (CSV, un-escaped as :func:`sim.files.csv_unescape`) or typed
    columns (Parquet), and the line number of row 0 (:func:`sim.files.read_table`, at most
    :data:`MAX_LOG_BYTES`)."""
    what = f"a {path.suffix[1:].upper()} event log or members file"
    try:
        return read_table(path, MAX_LOG_BYTES, what)
    except InputFileError as exc:
        said = exc.reason in ("no such file", "expected a .csv or .parquet file")
        if said or exc.reason.startswith("cannot be read"):
            raise LedgerError(str(exc)) from None
        raise LedgerError(f"{path}: cannot be read ({exc.reason})") from None


class _Checker:
    def __init__(self, path: Path, first_line: int) -> None:
        self.path, self.first = path, first_line
        self.unit = "line" if path.suffix == ".csv" else "row"
        self.problems: list[str] = []

    def flag(self, bad: np.ndarray, column: str, values: pd.Series, expected: str) -> None:
        idx = np.flatnonzero(bad)
        for i in idx[:SHOWN]:
            value = values.iloc[i]
            value = value.item() if isinstance(value, np.generic) else value
            self.problems.append(
                f"{self.path} {self.unit} {i + self.first}: {column} {value!r}, expected {expected}"
            )
        if len(idx) > SHOWN:
            self.problems.append(f"{self.path}: ... {len(idx) - SHOWN} more bad {column} values")

    def raise_if_any(self) -> None:
        if self.problems:
            raise LedgerError("\n".join(self.problems))


INT_LIMIT = 2**62
"""Beyond this a number read from a file is refused before it is made an int64."""


def _ints(ck: _Checker, frame: pd.DataFrame, col: str, default: int = 0) -> np.ndarray:
    if col not in frame:
        return np.full(len(frame), default, np.int64)
    raw = frame[col]
    num = pd.to_numeric(raw.replace("", str(default)) if raw.dtype == object else raw, "coerce")
    filled = num.fillna(0)
    huge = ((filled > INT_LIMIT) | (filled < -INT_LIMIT)).to_numpy()  # abs() of int64 min wraps
    bad = num.isna().to_numpy() | (filled != np.round(filled)).to_numpy()
    ck.flag(bad, col, raw, "an integer")
    ck.flag(huge & ~bad, col, raw, "a number the engine's integers hold (within ±2^62)")
    out: np.ndarray = filled.where(~huge, 0).to_numpy().astype(np.int64)
    return out


def _bounds(
    ck: _Checker, frame: pd.DataFrame, kind: pd.Series, ints: dict[str, np.ndarray]
) -> None:
    """Every number within :mod:`sim.ledger.limits`, as :func:`sim.ledger.requests.check`."""
    k = kind.to_numpy()
    for col, (lo, hi) in FIELD_BOUNDS.items():
        values = ints[col]
        ck.flag((values < lo) | (values > hi), col, frame.get(col, kind), f"{lo}..{hi}")
    low = np.zeros(len(k), np.int64)
    high = np.full(len(k), MAX_QUANTITY, np.int64)
    for name in np.unique(k):
        low[k == name], high[k == name] = quantity_bounds(str(name))
    qty = ints["quantity"]
    ck.flag(
        (qty < low) | (qty > high),
        "quantity",
        frame.get("quantity", kind),
        "within the bounds of its kind (sim.ledger.limits)",
    )


def _texts(ck: _Checker, frame: pd.DataFrame) -> None:
    """Member keys, client ids, names and notes as :func:`sim.ledger.limits.text_problem`
    (each distinct value checked once)."""
    for col, field in (
        ("member", "member"),
        ("client_id", "client_id"),
        ("name", "name"),
        ("note", "note"),
    ):
        if col not in frame:
            continue
        values = frame[col].astype(str).where(frame[col].notna(), "")
        problems = {
            v: p
            for v in values.unique()
            if (p := text_problem(field, v, required=field in ("member", "client_id")))
        }
        if problems:
            ck.flag(
                values.isin(list(problems)).to_numpy(),
                col,
                values,
                "printable text (see sim.ledger.limits)",
            )


def _kind_rules(
    ck: _Checker,
    frame: pd.DataFrame,
    kind: pd.Series,
    ints: dict[str, np.ndarray],
    draw: pd.Series | None,
) -> None:
    """What particular kinds need (the same as :func:`sim.ledger.requests.check`)."""
    k = kind.to_numpy()
    note = frame["note"].astype(str).str.strip() if "note" in frame else pd.Series([""] * len(k))
    name = frame["name"].astype(str) if "name" in frame else pd.Series([""] * len(k))
    amount_raw = frame.get("amount", kind)
    ordered = np.isin(k, ["purchase", "cash_offset"]) & (ints["amount"] <= 0)
    ck.flag(ordered, "amount", amount_raw, "an order value > 0 for a purchase or cash offset")
    ck.flag(
        (k == "adjust") & (ints["quantity"] == 0),
        "quantity",
        frame.get("quantity", kind),
        "a non-zero adjustment",
    )
    needs_reason = np.isin(k, ["adjust", "freeze", "unfreeze"]) & (note == "").to_numpy()
    ck.flag(needs_reason, "note", note, "a reason for an operator adjustment or freeze")
    d = np.full(len(k), np.nan) if draw is None else draw.to_numpy(np.float64, na_value=np.nan)
    bad_draw = (k == "lottery") & ~((d >= 0) & (d < 1))
    ck.flag(bad_draw, "draw", frame.get("draw", kind), "a number in [0, 1) for a lottery")
    no_item = (k == "redeem") & (name.isin(["", "nan"])).to_numpy() & ("code" not in frame)
    ck.flag(no_item, "name", name, "a catalogue item id for a redemption")


def _draws(ck: _Checker, frame: pd.DataFrame) -> pd.Series:
    """The lottery draw column: a number, or empty (NaN) for events that have none."""
    raw = frame["draw"]
    empty = raw.isna() | raw.astype(str).str.strip().isin(["", "nan", "NaN", "None"])
    num = pd.to_numeric(raw.where(~empty, np.nan), errors="coerce")
    bad = ~empty & ~np.isfinite(num.to_numpy(np.float64, na_value=np.nan))
    ck.flag(bad.to_numpy(), "draw", raw, "a finite number or empty")
    return num


def _days(ck: _Checker, frame: pd.DataFrame, col: str) -> np.ndarray:
    raw = frame[col]
    if pd.api.types.is_numeric_dtype(raw):  # a number is not a date (it would read as epoch)
        ck.flag(np.ones(len(raw), bool), col, raw, "a date (YYYY-MM-DD), not a number")
        return np.zeros(len(raw), np.int64)
    parsed = pd.to_datetime(raw, errors="coerce", format="ISO8601")
    ck.flag(parsed.isna().to_numpy(), col, raw, "a date (YYYY-MM-DD)")
    epoch = pd.Timestamp("1970-01-01")
    days: np.ndarray = (parsed.fillna(epoch) - epoch).dt.days.to_numpy(np.int64)
    return days


def _require(ck: _Checker, frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame]
    if missing:
        raise LedgerError(
            f"{ck.path}: missing column(s) {', '.join(missing)} (expected at least "
            f"{', '.join(columns)})"
        )


def read_events(path: Path, replication: int | None = None) -> pd.DataFrame:
    """The log as a frame with columns line (in the file), client_id, group, day (day
    number), member (text), kind, amount, quantity, code, name, ref, draw, note -- every row
    checked, in file order; ``attrs["unit"]`` says whether ``line`` counts lines or rows."""
    frame, first = _read(path)
    ck = _Checker(path, first)
    _require(ck, frame, EVENT_COLUMNS)
    ints = {c: _ints(ck, frame, c) for c in INT_COLUMNS}
    day = _days(ck, frame, "day")
    kind = frame["kind"].astype(str).str.lower()
    ck.flag(~kind.isin(list(KINDS)).to_numpy(), "kind", frame["kind"], "an event kind")
    member = frame["member"].astype(str).map(normal)
    _texts(ck, frame)
    _bounds(ck, frame, kind, ints)
    draw = _draws(ck, frame) if "draw" in frame else None
    _kind_rules(ck, frame, kind, ints, draw)
    ck.raise_if_any()
    out = pd.DataFrame(
        {
            "line": np.arange(len(frame)) + first,
            "group": frame["group"].astype(str),
            "day": day,
            "member": member,
            "kind": kind,
            **{c: ints[c] for c in ("amount", "quantity", "code", "ref", "seq")},
            "name": frame["name"].astype(str) if "name" in frame else "",
            "draw": draw if draw is not None else np.nan,
            "note": frame["note"].astype(str) if "note" in frame else "",
        }
    )
    out["name"] = out["name"].replace("nan", "")
    out["note"] = out["note"].replace("nan", "")
    reps = ints["replication"]
    if "replication" in frame and len(set(reps)) > 1 and replication is None:
        raise LedgerError(
            f"none, expected one of the replications {sorted(set(reps.tolist()))} that "
            f"{path} holds",
            field="replication",
        )
    if replication is not None:
        keep = reps == replication
        if not keep.any():
            raise LedgerError(f"{replication}: {path} has no events of it", field="replication")
        out, reps = out[keep].reset_index(drop=True), reps[keep]
    if "client_id" in frame:
        ids = frame["client_id"].astype(str)
        out["client_id"] = ids if replication is None else ids[keep].to_numpy()
    else:
        rep = reps if len(reps) else np.zeros(0, np.int64)
        out["client_id"] = [
            f"log:{r}:{g}:{d}:{s}"
            for r, g, d, s in zip(rep, out["group"], out["day"], out["seq"], strict=True)
        ]
    if out["client_id"].duplicated().any():
        dup = out["client_id"][out["client_id"].duplicated()].iloc[0]
        raise LedgerError(f"{path}: event id {dup!r} appears twice")
    if (np.diff(out["day"].to_numpy()) < 0).any():
        raise LedgerError(f"{path}: the log is not in day order")
    out.attrs["has_client_id"] = "client_id" in frame
    out.attrs["unit"] = ck.unit
    return out


def read_members(path: Path) -> pd.DataFrame:
    """The members file: group, member (text), join_day (day number), birth_month, referrer
    (text or empty), label."""
    frame, first = _read(path)
    ck = _Checker(path, first)
    _require(ck, frame, MEMBER_COLUMNS)
    join = _days(ck, frame, "join_day")
    birth = _ints(ck, frame, "birth_month")
    ck.flag((birth < 0) | (birth > 12), "birth_month", frame.get("birth_month"), "0-12")
    ck.raise_if_any()
    ref = frame["referrer"].astype(str) if "referrer" in frame else pd.Series([""] * len(frame))
    ref = ref.where(~ref.isin(["-1", "", "nan", "None"]), "")
    return pd.DataFrame(
        {
            "group": frame["group"].astype(str),
            "member": frame["member"].astype(str),
            "join_day": join,
            "birth_month": birth,
            "referrer": ref.to_numpy(),
            "label": frame["label"].astype(str) if "label" in frame else "",
        }
    )


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write CSV (text cells escaped as :func:`sim.files.csv_safe`, which reading undoes) or
    Parquet by suffix, whole or not at all (:func:`sim.files.write_table_atomic`: a temporary
    file of a random name, then a rename; a link at ``path`` is replaced, never written
    through)."""
    if path.suffix not in (".csv", ".parquet"):
        raise LedgerError(f"{path}: expected a .csv or .parquet file")
    try:
        write_table_atomic(path, frame)
    except OSError as exc:
        raise LedgerError(f"{path}: cannot be written ({exc.strerror or exc})") from None


def iso_days(days: pd.Series) -> pd.Series:
    return pd.to_datetime(days, unit="D").dt.strftime("%Y-%m-%d")


__all__ = ["day_number", "members_path", "read_events", "read_members", "write_frame"]

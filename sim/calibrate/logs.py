"""Transaction logs in: a shop's export (CSV or Parquet: member, date or timestamp, amount, an
optional segment) or the event log the ledger exports and ``pointsim run --export-events``
writes, read and checked before anything is fitted.

Columns are found by name (``member``/``customer``/``customer_id`` ..., ``date``/``timestamp``
..., ``amount``/``value`` ...) or named with :class:`Columns`. A ledger or simulation event
log (columns ``member``, ``day``, ``kind``, ``amount``) is recognised: its purchases are the
transactions, their amounts in micros of the currency.

Every row is checked and every bad one named by its line (CSV: the line in the file, the
header being line 1; Parquet: the row): a member that is empty, a date that does not parse, an
amount that is missing, not a number or not above 0. Then, each said in :attr:`Transactions.notes`:

* rows out of time order are sorted (a log need not be sorted);
* rows repeated exactly (same member, timestamp and amount) are refused, naming them, unless
  the caller drops them (``duplicates="drop"``): an export that doubled its rows would
  otherwise look like customers who buy twice as often;
* purchases of one member on one day are merged into one transaction with their amounts summed:
  the buy-till-you-die models count transactions in continuous time and the literature merges
  same-day purchases (Fader, Hardie & Lee 2005; the CDNOW data is prepared so).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from sim.files import InputFileError, read_table

__all__ = [
    "MAX_LOG_BYTES",
    "CalibrationError",
    "Columns",
    "Transactions",
    "read_transactions",
]

MAX_LOG_BYTES = 2 << 30
"""The largest transaction log read (2 GiB; Parquet: its columns unpacked)."""
SHOWN = 5
"""Bad rows listed per problem."""

GUESSES = {
    "member": ("member", "customer", "customer_id", "member_id", "user_id", "client_id", "cust"),
    "date": ("date", "timestamp", "time", "order_date", "created_at", "datetime", "day"),
    "amount": ("amount", "value", "sales", "revenue", "total", "price", "spend"),
}
"""Column names tried, in order, when the caller names none."""


class CalibrationError(ValueError):
    """Input pointsim will not calibrate from; ``problems`` each name the file, row or
    option and what was expected."""

    def __init__(self, problems: Sequence[object] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else [str(p) for p in problems]
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Columns:
    """Which column holds what (None: found by name, see :data:`GUESSES`)."""

    member: str | None = None
    date: str | None = None
    amount: str | None = None
    segment: str | None = None


@dataclass(frozen=True)
class Transactions:
    """One row per member and day: ``member`` (text), ``day`` (days since 1970-01-01),
    ``amount`` (currency, the day's purchases summed), ``segment`` (text, "all" without a
    segment column); sorted by day then member."""

    frame: pd.DataFrame
    source: str
    notes: list[str] = field(default_factory=list)
    """What reading did to the log (sorted, merged, dropped), for the report."""

    @property
    def first_day(self) -> int:
        return int(self.frame["day"].min())

    @property
    def last_day(self) -> int:
        return int(self.frame["day"].max())


def _pick(frame: pd.DataFrame, role: str, named: str | None, path: Path) -> str:
    if named is not None:
        if named not in frame.columns:
            raise CalibrationError(
                f"{path}: no column {named!r} (the {role} column named); columns: "
                f"{', '.join(map(str, frame.columns))}"
            )
        return named
    lower = {str(c).lower(): str(c) for c in frame.columns}
    for guess in GUESSES[role]:
        if guess in lower:
            return lower[guess]
    raise CalibrationError(
        f"{path}: no {role} column (tried {', '.join(GUESSES[role])}; name it with "
        f"--{role}-col); columns: {', '.join(map(str, frame.columns))}"
    )


class _Rows:
    """Bad rows by problem, each named by its line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.unit = "line" if path.suffix == ".csv" else "row"
        self.problems: list[str] = []

    def raise_if_any(self) -> None:
        if self.problems:
            raise CalibrationError(self.problems)


def _is_event_log(frame: pd.DataFrame) -> bool:
    return {"member", "day", "kind", "amount"} <= set(map(str, frame.columns))


def read_transactions(
    path: Path | str,
    columns: Columns | None = None,
    *,
    duplicates: Literal["refuse", "drop"] = "refuse",
    group: str | None = None,
) -> Transactions:
    """The transactions of the log at ``path`` (module docstring), or :class:`CalibrationError`
    naming every bad row. ``group``: of a pointsim event log with several groups, the one
    read."""
    path = Path(path)
    columns = columns or Columns()
    try:
        raw, first = read_table(path, MAX_LOG_BYTES, "a transaction log")
    except InputFileError as exc:
        raise CalibrationError(str(exc)) from None
    notes: list[str] = []
    ledger = _is_event_log(raw) and columns == Columns(segment=columns.segment)
    trials = None
    if ledger:
        raw, lines, trials = _event_log(path, raw, first, group, columns.segment, notes)
        member_col, date_col, amount_col = "member", "day", "amount"
    else:
        if group is not None:
            raise CalibrationError(f"--group {group}: only for a pointsim event log")
        lines = np.arange(len(raw)) + first
        member_col = _pick(raw, "member", columns.member, path)
        date_col = _pick(raw, "date", columns.date, path)
        amount_col = _pick(raw, "amount", columns.amount, path)
    segment_col = columns.segment if not ledger else None
    if segment_col is not None and segment_col not in raw.columns:
        raise CalibrationError(
            f"{path}: no column {segment_col!r} (the segment column named); columns: "
            f"{', '.join(map(str, raw.columns))}"
        )
    if raw.empty:
        raise CalibrationError(f"{path}: no transactions in the log")
    rows = _Rows(path)

    def flag(bad: np.ndarray, column: str, expected: str) -> None:
        for i in np.flatnonzero(bad)[:SHOWN]:
            value = raw[column].iloc[i]
            value = value.item() if isinstance(value, np.generic) else value
            rows.problems.append(
                f"{path} {rows.unit} {lines[i]}: {column} {value!r}, expected {expected}"
            )
        extra = int(bad.sum()) - SHOWN
        if extra > 0:
            rows.problems.append(f"{path}: ... {extra} more bad {column} values")

    member = raw[member_col].astype(str).str.strip()
    flag((member == "").to_numpy() | raw[member_col].isna().to_numpy(), member_col, "a member id")
    stamp = _stamps(raw[date_col])
    flag(stamp.isna().to_numpy(), date_col, "a date or timestamp (YYYY-MM-DD[ HH:MM:SS])")
    amount = pd.to_numeric(raw[amount_col], errors="coerce").astype(np.float64)
    if ledger:
        amount = amount / 1e6
    values = amount.to_numpy()
    missing = ~np.isfinite(values)
    flag(missing, amount_col, "an amount (a number)")
    flag(~missing & (values <= 0), amount_col, "an amount above 0")
    if segment_col is not None:
        seg = raw[segment_col].astype(str).str.strip()
        flag((seg == "").to_numpy(), segment_col, "a segment name")
    elif trials is not None:
        seg = member.map(dict(zip(trials["member"], trials["segment"], strict=True)))
        seg = seg.fillna("all")
    else:
        seg = pd.Series("all", index=raw.index)
    rows.raise_if_any()

    frame = pd.DataFrame(
        {"member": member, "stamp": stamp, "amount": amount, "segment": seg, "line": lines}
    )
    if trials is not None:
        extra = trials.assign(amount=0.0, line=-1)[list(frame.columns)]
        frame = pd.concat([extra, frame], ignore_index=True)
    if not frame.loc[frame["line"] >= 0, "stamp"].is_monotonic_increasing:
        notes.append("the log was not in time order: sorted")
    frame = frame.sort_values(["stamp", "line"], kind="stable")
    repeated = frame.duplicated(["member", "stamp", "amount"], keep="first") & (frame["line"] >= 0)
    if repeated.any():
        shown = ", ".join(str(x) for x in frame.loc[repeated, "line"].head(SHOWN))
        n = int(repeated.sum())
        if duplicates == "refuse":
            raise CalibrationError(
                f"{path}: {n:,} row(s) repeat an earlier row exactly (same member, time and "
                f"amount), {rows.unit}(s) {shown}{' ...' if n > SHOWN else ''}: an export that "
                "doubled rows would look like more frequent buyers; drop them with "
                "--duplicates drop if they are real repeats of an export"
            )
        frame = frame.loc[~repeated]
        notes.append(f"{n:,} row(s) repeating an earlier row exactly: dropped")
    segments = frame.groupby("member")["segment"].nunique()
    if (segments > 1).any():
        who = ", ".join(map(str, segments.index[segments > 1][:SHOWN]))
        raise CalibrationError(
            f"{path}: member(s) {who} appear in more than one {segment_col} segment: a "
            "member belongs to one segment"
        )
    epoch = pd.Timestamp("1970-01-01")
    frame["day"] = (frame["stamp"].dt.normalize() - epoch).dt.days.astype(np.int64)
    before = len(frame)
    merged = (
        frame.groupby(["day", "member"], sort=True)
        .agg(amount=("amount", "sum"), segment=("segment", "first"))
        .reset_index()
    )
    if len(merged) < before:
        notes.append(
            f"{before - len(merged):,} purchase(s) on a day the same member bought already: "
            "merged into that day's transaction (amounts summed)"
        )
    out = merged[["member", "day", "amount", "segment"]]
    return Transactions(out.reset_index(drop=True), str(path), notes)


def _event_log(
    path: Path,
    raw: pd.DataFrame,
    first: int,
    group: str | None,
    segment: str | None,
    notes: list[str],
) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame | None]:
    """A pointsim event log's purchases (of one group), their lines, and each member's join
    from the members file beside it (member, stamp, segment), the trial purchase of the
    buying model: the simulator's members buy by BG/NBD from the day they join."""
    groups = sorted(raw["group"].astype(str).unique()) if "group" in raw.columns else []
    if group is not None and group not in groups:
        raise CalibrationError(f"--group {group}: not in the log (groups: {', '.join(groups)})")
    if group is None and len(groups) > 1:
        raise CalibrationError(
            f"{path}: an event log of {len(groups)} groups ({', '.join(groups)}), the same "
            "members living each: choose one with --group"
        )
    chosen = group or (groups[0] if groups else None)
    kinds = raw["kind"].astype(str).str.lower()
    keep = (kinds == "purchase").to_numpy().copy()
    if chosen is not None:
        keep &= (raw["group"].astype(str) == chosen).to_numpy()
    notes.append(
        f"read as a pointsim event log{f' (group {chosen})' if chosen else ''}: "
        f"{int(keep.sum()):,} purchase(s) of {len(raw):,} event(s); amounts in micros"
    )
    lines = np.flatnonzero(keep) + first
    purchases = raw.loc[keep].reset_index(drop=True)
    beside = path.with_name(f"{path.stem}.members{path.suffix}")
    if not beside.is_file():
        if segment is not None:
            raise CalibrationError(
                f"--segment-col {segment}: a pointsim event log's segments are in its members "
                f"file, and there is none beside it ({beside})"
            )
        notes.append(
            f"no members file beside the log ({beside.name}): each customer's first purchase "
            "in the log starts their clock, which leaves out members who never bought and "
            "starts the others late (the simulator's members buy from the day they join)"
        )
        return purchases, lines, None
    try:
        members, _ = read_table(beside, MAX_LOG_BYTES, "a members file")
    except InputFileError as exc:
        raise CalibrationError(str(exc)) from None
    need = {"member", "join_day"} | ({segment} if segment else set())
    missing = need - set(map(str, members.columns))
    if missing:
        raise CalibrationError(f"{beside}: missing column(s) {', '.join(sorted(missing))}")
    if chosen is not None and "group" in members.columns:
        members = members[members["group"].astype(str) == chosen]
    stamp = _stamps(members["join_day"])
    if stamp.isna().any():
        bad = members.loc[stamp.isna(), "join_day"].head(SHOWN).tolist()
        raise CalibrationError(f"{beside}: join_day {bad}, expected dates")
    trials = pd.DataFrame(
        {
            "member": members["member"].astype(str).str.strip().to_numpy(),
            "stamp": stamp.to_numpy(),
            "segment": members[segment].astype(str).to_numpy() if segment else "all",
        }
    )
    notes.append(
        f"{len(trials):,} members' joins (from {beside.name}) taken as their first purchase: "
        "the simulator's members are customers from the day they join"
    )
    return purchases, lines, trials


def _stamps(raw: pd.Series) -> pd.Series:
    """Dates or timestamps (naive: a time zone's offset is dropped, its local time kept);
    NaT where one does not parse. A bare number is not a date (it would read as an epoch)."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        stamps = pd.to_datetime(raw)
    else:
        text = raw.astype(str).str.strip()
        numeric = pd.to_numeric(text, errors="coerce").notna()
        text = text.where(~numeric, "")
        try:
            stamps = pd.to_datetime(text, errors="coerce", format="ISO8601")
        except (ValueError, TypeError):  # offsets that differ between rows
            stamps = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
    if not pd.api.types.is_datetime64_any_dtype(stamps):
        stamps = pd.to_datetime(stamps, errors="coerce", utc=True)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    return stamps

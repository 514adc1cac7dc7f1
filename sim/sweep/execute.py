"""A sweep's runs on the one executor (:mod:`sim.execute`), each finished run streamed to
its own Parquet file under ``OUT/runs/`` (and, with ``keep="daily"``, its daily tables under
``OUT/daily/``).

A run's files are written whole or not at all (a temporary file renamed into place), by this
process alone, so a cluster's workers need no shared disk. Starting a sweep again skips every
run whose file is there with the same content key and status ``ok`` (and, when daily tables
are kept, whose daily tables are there too); runs that failed, or whose point changed, run
again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from sim.execute import Backend, Keep, RunOutput, RunTask, execute
from sim.files import write_table_atomic

__all__ = ["DAILY_TABLES", "ExecReport", "RunStore", "run_sweep"]

DAILY_TABLES = ("metrics", "by_rule", "retention")
"""``OUT/daily/<table>/pNNNNN-rRRRR.parquet``: each folder reads as one Parquet dataset of
every kept run (columns as in ``pointsim run``'s tables, ``point`` the sweep point)."""


def _write_parquet(frame: pd.DataFrame, target: Path) -> None:
    write_table_atomic(target, frame)


class RunStore:
    """``OUT/runs/``: one Parquet file per (point, replication), its headline rows; with
    ``keep="daily"``, ``OUT/daily/<table>/`` too."""

    def __init__(self, folder: Path, keep: Keep = "metrics") -> None:
        self.folder = folder
        self.keep = keep
        self.daily = folder.parent / "daily"

    @staticmethod
    def name(point: int, replication: int) -> str:
        return f"p{point:05d}-r{replication:04d}.parquet"

    def path(self, point: int, replication: int) -> Path:
        return self.folder / self.name(point, replication)

    def daily_path(self, table: str, point: int, replication: int) -> Path:
        return self.daily / table / self.name(point, replication)

    def prepare(self) -> None:
        folders = [self.folder]
        if self.keep != "metrics":
            folders += [self.daily / t for t in DAILY_TABLES]
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
            for stale in folder.glob(".*.tmp"):  # left by a sweep killed mid-write
                stale.unlink(missing_ok=True)

    def finished(self, task: RunTask) -> bool:
        """The run's file is there, for the same point content, and the run succeeded (and
        its daily tables are there when they are kept)."""
        path = self.path(task.point, task.replication)
        if not path.is_file():
            return False
        if self.keep != "metrics" and not all(
            self.daily_path(t, task.point, task.replication).is_file() for t in DAILY_TABLES
        ):
            return False
        try:
            table = pq.read_table(path, columns=["key", "status"])
        except (OSError, ValueError):
            return False  # unreadable: run it again
        keys = set(table.column("key").to_pylist())
        statuses = set(table.column("status").to_pylist())
        return keys == {task.key} and statuses == {"ok"}

    def write(self, out: RunOutput) -> None:
        """The run's daily tables (when kept), then its rows: the rows file is the mark of a
        finished run, so it is written last."""
        point, rep = out.task.point, out.task.replication
        if self.keep != "metrics" and out.tables is not None:
            for table, frame in zip(
                DAILY_TABLES,
                (out.tables.daily, out.tables.by_rule, out.tables.retention),
                strict=True,
            ):
                _write_parquet(frame, self.daily_path(table, point, rep))
        _write_parquet(out.rows, self.path(point, rep))

    def read(self, tasks: Sequence[RunTask]) -> pd.DataFrame:
        """The planned runs' rows (files of other sweeps in the folder are not read)."""
        frames = [
            pd.read_parquet(self.path(t.point, t.replication))
            for t in tasks
            if self.path(t.point, t.replication).is_file()
        ]
        if not frames:
            return pd.DataFrame()
        out = pd.concat(frames, ignore_index=True)
        return out.sort_values(["point", "replication", "group"], kind="stable").reset_index(
            drop=True
        )


@dataclass
class ExecReport:
    planned: int
    skipped: int
    done: int
    failed: int
    seconds: float
    backend: str


def run_sweep(
    tasks: Sequence[RunTask],
    store: RunStore,
    backend: Backend,
    *,
    on_start: Callable[[int, int], None] | None = None,
    on_run: Callable[[bool], None] | None = None,
) -> ExecReport:
    """Run every task whose result is not in ``store`` yet and write each as it finishes.
    ``on_start(to_run, skipped)`` is called once, ``on_run(ok)`` per finished run. When every
    run has finished already, nothing is started."""
    began = time.perf_counter()
    store.prepare()
    todo = [t for t in tasks if not store.finished(t)]
    skipped = len(tasks) - len(todo)
    if on_start is not None:
        on_start(len(todo), skipped)
    done = failed = 0
    for out in execute(todo, backend, store.keep):
        store.write(out)
        done += 1
        failed += not out.ok
        if on_run is not None:
            on_run(out.ok)
    return ExecReport(
        len(tasks), skipped, done, failed, time.perf_counter() - began, backend.describe()
    )

"""Running a sweep's runs: in this process, on a local process pool, or on a Dask cluster, each
finished run streamed to its own Parquet file under ``OUT/runs/``.

A run's file is written whole or not at all (a temporary file renamed into place), by this
process alone, so a cluster's workers need no shared disk. Starting a sweep again skips every
run whose file is there with the same content key and status ``ok``; runs that failed, or whose
point changed, run again.

Fault injection for tests and drills: ``POINTSIM_FAIL_POINTS=3,5`` makes every run of points 3
and 5 raise inside the worker, as a bug in the simulation would.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from sim.metrics.summary import replication_metrics
from sim.runner import scenario_summary_spec
from sim.sweep.plan import RunTask
from sim.world import simulate

__all__ = ["ExecReport", "RunStore", "SchedulerError", "execute", "run_task"]

FAIL_POINTS = "POINTSIM_FAIL_POINTS"


class SchedulerError(RuntimeError):
    """The Dask scheduler cannot be reached."""


def _fail_points() -> set[int]:
    raw = os.environ.get(FAIL_POINTS, "")
    return {int(x) for x in raw.split(",") if x.strip()}


def _frame(
    task: RunTask, body: pd.DataFrame, status: str, error: str, seconds: float
) -> pd.DataFrame:
    body = body.reset_index()
    body.insert(0, "point", task.point)
    body.insert(1, "replication", task.replication)
    body.insert(3, "key", task.key)
    body.insert(4, "status", status)
    body.insert(5, "error", error)
    body.insert(6, "seconds", seconds)
    return body


def run_task(task: RunTask) -> pd.DataFrame:
    """Simulate one run and return one row per group: its headline metrics (NaN and the error
    text when the run failed; a failure never escapes)."""
    began = time.perf_counter()
    sc = task.scenario
    spec = scenario_summary_spec(sc)
    try:
        if task.point in _fail_points():
            raise RuntimeError(f"injected failure ({FAIL_POINTS} names point {task.point})")
        run = simulate(sc, task.replication, point=task.point)
        metrics = replication_metrics(run.tables, spec).reset_index(level="replication", drop=True)
        metrics.insert(0, "member_days", float(run.member_days))
        return _frame(task, metrics, "ok", "", time.perf_counter() - began)
    except Exception as err:  # recorded with the run; the sweep goes on
        return failed_frame(task, err, time.perf_counter() - began)


def failed_frame(task: RunTask, err: BaseException, seconds: float = 0.0) -> pd.DataFrame:
    """The rows of a run that failed: every group, metrics NaN, the error and its traceback."""
    text = "".join(traceback.format_exception(err)).strip()
    groups = [a.group for a in task.scenario.arms]
    body = pd.DataFrame(
        {"member_days": np.full(len(groups), np.nan)}, index=pd.Index(groups, name="group")
    )
    return _frame(task, body, "failed", text, seconds)


class RunStore:
    """``OUT/runs/``: one Parquet file per (point, replication)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, point: int, replication: int) -> Path:
        return self.folder / f"p{point:05d}-r{replication:04d}.parquet"

    def prepare(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob(".*.tmp"):  # left by a sweep killed mid-write
            stale.unlink(missing_ok=True)

    def finished(self, task: RunTask) -> bool:
        """The run's file is there, for the same point content, and the run succeeded."""
        path = self.path(task.point, task.replication)
        if not path.is_file():
            return False
        try:
            table = pq.read_table(path, columns=["key", "status"])
        except (OSError, ValueError):
            return False  # unreadable: run it again
        keys = set(table.column("key").to_pylist())
        statuses = set(table.column("status").to_pylist())
        return keys == {task.key} and statuses == {"ok"}

    def write(self, frame: pd.DataFrame) -> None:
        point, rep = int(frame["point"].iloc[0]), int(frame["replication"].iloc[0])
        target = self.path(point, rep)
        tmp = target.with_name(f".{target.name}.tmp")
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, target)

    def read(self, tasks: list[RunTask]) -> pd.DataFrame:
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


def _local(tasks: list[RunTask], workers: int) -> Iterator[tuple[RunTask, pd.DataFrame]]:
    if workers == 1 or len(tasks) == 1:
        for task in tasks:
            yield task, run_task(task)
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks))) as pool:
        futures: dict[Future[pd.DataFrame], RunTask] = {pool.submit(run_task, t): t for t in tasks}
        try:
            for fut in as_completed(futures):
                task = futures[fut]
                try:
                    yield task, fut.result()
                except Exception as err:  # the worker process died (killed, out of memory)
                    yield task, failed_frame(task, err)
        finally:
            for fut in futures:
                fut.cancel()


def connect(address: str) -> Any:
    """A ``distributed.Client`` on the scheduler at ``address``; :class:`SchedulerError` when it
    cannot be reached."""
    from distributed import Client

    url = urlsplit(address if "://" in address else f"tcp://{address}")
    if url.scheme == "tcp":  # refused at once, rather than after the client's retries
        try:
            socket.create_connection((url.hostname or "localhost", url.port or 8786), 5).close()
        except (OSError, ValueError) as err:
            raise SchedulerError(
                f"--scheduler {address}: cannot reach a Dask scheduler ({err})"
            ) from None
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError) as err:
        raise SchedulerError(
            f"--scheduler {address}: cannot reach a Dask scheduler ({err})"
        ) from None


def _dask(tasks: list[RunTask], client: Any) -> Iterator[tuple[RunTask, pd.DataFrame]]:
    from distributed import as_completed as dask_completed

    futures = {
        client.submit(
            run_task, t, key=f"pointsim-p{t.point}-r{t.replication}-{t.key[:16]}", pure=False
        ): t
        for t in tasks
    }
    try:
        for fut in dask_completed(list(futures)):
            task = futures[fut]
            try:
                yield task, fut.result()
            except Exception as err:  # lost worker, or the result could not be sent back
                yield task, failed_frame(task, err)
    finally:
        for fut in futures:
            fut.cancel()


def execute(
    tasks: list[RunTask],
    store: RunStore,
    *,
    workers: int = 1,
    client: Any = None,
    on_start: Callable[[int, int], None] | None = None,
    on_run: Callable[[bool], None] | None = None,
) -> ExecReport:
    """Run every task whose result is not in ``store`` yet and write each as it finishes.
    ``client``: a ``distributed.Client`` (else a local pool of ``workers`` processes).
    ``on_start(to_run, skipped)`` is called once, ``on_run(ok)`` per finished run."""
    if workers < 1:
        raise ValueError(f"workers(={workers}) must be >= 1")
    began = time.perf_counter()
    store.prepare()
    todo = [t for t in tasks if not store.finished(t)]
    skipped = len(tasks) - len(todo)
    if on_start is not None:
        on_start(len(todo), skipped)
    done = failed = 0
    results = _dask(todo, client) if client is not None else _local(todo, workers)
    backend = "dask" if client is not None else f"{workers} local process(es)"
    for _task, frame in results:
        store.write(frame)
        ok = bool((frame["status"] == "ok").all())
        done += 1
        failed += not ok
        if on_run is not None:
            on_run(ok)
    return ExecReport(len(tasks), skipped, done, failed, time.perf_counter() - began, backend)

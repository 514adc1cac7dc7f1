"""Ledger throughput: recorded purchase events per second on SQLite and on PostgreSQL, with one
writer and with 8 concurrent writers (processes), each request one transaction, next to
pgbench (TPC-B, same client count) against the same PostgreSQL server in the same run. Also
the same with requests of a batch of events, and with a stream of single events through
:class:`EventStream` (each answered on its own, those arriving together committed together: how
an order stream is fed), with each event's time from submitted to answered. The server
is a private one started here (tests/pg_server.py: fsync off, for both the ledger and
pgbench). The last printed line is a JSON object of the headline figures.

    .venv/bin/python bench/ledger_bench.py [--seconds S] [--members N] [--batch B] [--scale K]
        [--writers N ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from concurrent.futures import Future
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402
from pg_server import PostgresServer  # noqa: E402

from sim.ledger import EventIn, Ledger, NewMember  # noqa: E402
from sim.ledger.stream import EventStream  # noqa: E402
from sim.policy import load_policy  # noqa: E402

POLICY = ROOT / "policies" / "ecommerce_super_points.toml"
STREAM_WINDOW = 50
"""Events a streaming writer has submitted and not yet seen recorded, at most (an order
stream arriving faster than one transaction at a time could take it)."""
START = dt.date(2026, 3, 2)


class _Orders:
    """A writer's purchase events: random members, random order values, unique ids."""

    def __init__(self, members: int, seed: int) -> None:
        import random

        self.rng = random.Random(seed)
        self.members, self.seed, self.ref = members, seed, seed * 10_000_000

    def next(self) -> EventIn:
        self.ref += 1
        return EventIn(
            f"m{self.rng.randrange(self.members)}",
            "purchase",
            client_id=f"w{self.seed}-{self.ref}",
            amount=self.rng.randrange(5, 500) * 1_000_000,
            ref=self.ref,
        )


def _writer(
    url: str, members: int, seconds: float, batch: int, seed: int, ready: Any, out: mp.Queue
) -> None:
    """Requests of ``batch`` events, one after another; ``batch`` 0: a stream of single
    events through :class:`EventStream`, at most ``STREAM_WINDOW`` awaiting their result."""
    orders = _Orders(members, seed)
    led = Ledger(url)
    done, waits = 0, []
    ready.wait()  # every writer connected and imported: the timed part starts together
    began = time.perf_counter()
    stop = began + seconds
    if batch:
        while time.perf_counter() < stop:
            led.record([orders.next() for _ in range(batch)])
            done += batch
    else:
        with EventStream(led) as stream:
            window: deque[tuple[float, Future[Any]]] = deque()
            while time.perf_counter() < stop:
                if len(window) >= STREAM_WINDOW:
                    sent, fut = window.popleft()
                    fut.result()
                    waits.append(time.perf_counter() - sent)
                window.append((time.perf_counter(), stream.submit(orders.next())))
            for sent, fut in window:
                fut.result()
                waits.append(time.perf_counter() - sent)
            done = len(waits)
    out.put((done, time.perf_counter() - began, waits))


def ledger_rate(
    url: str, writers: int, seconds: float, members: int, batch: int
) -> tuple[float, list[float]]:
    """Purchase events recorded per second by ``writers`` processes, and (streams) each
    event's seconds from submitted to recorded."""
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    ready = ctx.Barrier(writers)
    procs = [
        ctx.Process(target=_writer, args=(url, members, seconds, batch, i + 1, ready, out))
        for i in range(writers)
    ]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    rate = sum(n for n, _, _ in results) / max(s for _, s, _ in results)
    return rate, [w for _, _, ws in results for w in ws]


def fresh_ledger(url: str, members: int) -> None:
    led = Ledger.init(url, {"default": (load_policy(POLICY), str(POLICY))}, START)
    led.add_members([NewMember(f"m{i}") for i in range(members)])
    led.record([EventIn("m0", "checkin")])  # opens the business day


def pgbench_tps(server: PostgresServer, clients: int, seconds: float, scale: int) -> float:
    exe = shutil.which("pgbench") or str(Path(server.binaries.initdb).with_name("pgbench"))  # type: ignore[union-attr]
    db = "pgbench"
    server.create_database(db)
    common = ["-h", str(server.socket_dir), "-U", "postgres"]
    init = [exe, "-i", "-q", "-s", str(scale), *common, db]
    subprocess.run(init, check=True, capture_output=True)
    run = subprocess.run(
        [exe, "-c", str(clients), "-j", str(clients), "-T", str(int(seconds)), *common, db],
        check=True,
        capture_output=True,
        text=True,
    )
    server.drop_database(db)
    match = re.search(r"tps = ([\d.]+)", run.stdout)
    if match is None:
        raise RuntimeError(f"pgbench printed no tps:\n{run.stdout}")
    return float(match.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--members", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=50, help="events per request, batched runs")
    ap.add_argument("--scale", type=int, default=8, help="pgbench scale factor")
    ap.add_argument(
        "--writers", type=int, nargs="+", default=[1, 8], help="client counts (default: 1 8)"
    )
    args = ap.parse_args()
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, PostgresServer() as server:
        for writers in args.writers:
            tps = pgbench_tps(server, writers, args.seconds, args.scale)
            figures[f"pgbench_tps_{writers}"] = round(tps, 1)
            print(
                f"pgbench TPC-B, {writers} client(s): {tps:,.0f} tps,"
                f" {1000 * writers / tps:.2f} ms a transaction"
            )
            for backend in ("sqlite", "postgresql"):
                for batch in (1, args.batch, 0):
                    name = f"b{writers}_{batch}_{backend}"
                    if backend == "sqlite":
                        url = f"sqlite:///{Path(tmp) / (name + '.db')}"
                    else:
                        url = server.create_database(name)
                    fresh_ledger(url, args.members)
                    rate, waits = ledger_rate(url, writers, args.seconds, args.members, batch)
                    mode = f"batch{batch}" if batch else "stream"
                    figures[f"{backend}_{writers}w_{mode}"] = round(rate, 1)
                    head = f"  ledger {backend:10s} {writers} writer(s), "
                    tail = f"{rate:8,.0f} events/s ({rate / tps:.2f} x pgbench tps)"
                    if batch:
                        latency = 1000 * writers * batch / rate  # ms a request, as a writer sees
                        print(
                            f"{head}{batch:3d} event(s) a request:   {tail},"
                            f" {latency:5.1f} ms a request"
                        )
                    else:
                        p50, p99 = (1000 * q for q in np.quantile(waits, [0.5, 0.99]))
                        print(
                            f"{head}a stream of single events: {tail}, an event recorded in"
                            f" {p50:.1f} ms (median), {p99:.1f} ms (99th percentile)"
                        )
            for mode in ("batch1", f"batch{args.batch}", "stream"):
                figures[f"postgresql_{writers}w_{mode}_vs_pgbench"] = round(
                    figures[f"postgresql_{writers}w_{mode}"] / tps, 3
                )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

"""Sweep throughput: runs per minute with 1 and 2 local workers, and the sweep machinery's
overhead per run.

Measured on the same runs (``--points`` values of ``caps.daily`` x ``--replications`` on
``scenarios/ecommerce.toml`` at ``--members``, its 365-day window and 120-day warm-up): (a) the
baseline: each run as a bare ``sim.world.simulate`` call in this process, nothing else; (b) the
whole sweep (plan, run, write each run's file, analyse, write ``points.parquet``) on 1 worker;
(c) the same on 2 workers. (a), (b) and (c) are measured in turn ``--repeat`` times and the
fastest of each is kept, as the machine's load drifts. Targets (2 cores): (c) at least 1.8x as
fast as (b); (b) at most 5% slower per run than (a). ``sweep.html`` is drawn once per sweep,
not per run: its time is printed on its own. The last printed line is a JSON object of the
headline figures.

    .venv/bin/python bench/sweep_bench.py [--members N] [--days D] [--points P]
        [--replications R] [--repeat K]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "ecommerce.toml"


def plan(members: int, days: int, points: int, replications: int) -> Any:
    from sim.sweep.plan import plan_sweep

    caps = [400 + 100 * i for i in range(points)]
    return plan_sweep(
        SCENARIO,
        members=members,
        days=days,
        overrides={"parameters": {"caps.daily": caps}, "replications": replications},
    )


def bare(members: int, days: int, points: int, replications: int) -> float:
    """Seconds for every run as a bare ``simulate`` call."""
    from sim.world import simulate

    p = plan(members, days, points, replications)
    began = time.perf_counter()
    for task in p.tasks():
        simulate(task.scenario, task.replication, point=task.point)
    return time.perf_counter() - began


def swept(
    members: int, days: int, points: int, replications: int, workers: int, out: Path
) -> tuple[float, float, int]:
    """Seconds for the whole sweep (plan to ``points.parquet``), seconds for ``sweep.html``,
    and the runs' member-days."""
    from sim.execute import Backend
    from sim.sweep.analysis import analyse
    from sim.sweep.execute import RunStore, run_sweep
    from sim.sweep.report import write_sweep_report

    began = time.perf_counter()
    p = plan(members, days, points, replications)
    store = RunStore(out / "runs")
    tasks = p.tasks()
    report = run_sweep(tasks, store, Backend.local(workers))
    assert report.failed == 0, "a run failed"
    runs = store.read(tasks)
    analysis = analyse(p, runs)
    analysis.points.to_parquet(out / "points.parquet", index=False)
    seconds = time.perf_counter() - began
    t0 = time.perf_counter()
    write_sweep_report(analysis, out / "sweep.html")
    return seconds, time.perf_counter() - t0, int(runs["member_days"].sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--points", type=int, default=2)
    ap.add_argument("--replications", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2, help="Times each is measured.")
    args = ap.parse_args()
    size = (args.members, args.days, args.points, args.replications)
    runs = args.points * args.replications
    work = Path(tempfile.mkdtemp(prefix="pointsim-sweep-bench-"))
    try:
        bare(min(args.members, 2000), min(args.days, 30), 1, 1)  # imports and first touches
        bases, ones, twos = [], [], []
        for k in range(args.repeat):  # alternated, the fastest of each kept: load drifts
            bases.append(bare(*size))
            print(f"baseline: {runs} bare simulate() calls in {bases[-1]:.1f} s")
            t, html1, member_days = swept(*size, 1, work / f"w1-{k}")
            ones.append(t)
            print(f"sweep, 1 worker: {runs} runs in {t:.1f} s ({runs / t * 60:.2f} runs/min)")
            t, _html2, _ = swept(*size, 2, work / f"w2-{k}")
            twos.append(t)
            print(f"sweep, 2 workers: {runs} runs in {t:.1f} s ({runs / t * 60:.2f} runs/min)")
        base, one, two = min(bases), min(ones), min(twos)
        print(f"sweep.html: {html1:.1f} s once per sweep")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    overhead = (one - base) / base
    speedup = one / two
    print(f"speed-up with 2 workers: {speedup:.2f}x (target >= 1.8x)")
    print(f"sweep overhead per run: {overhead * 100:+.1f}% of a bare run (target < 5%)")
    figures = {
        "members": args.members,
        "days": args.days,
        "runs": runs,
        "member_days_per_run": member_days // runs,
        "bare_seconds_per_run": round(base / runs, 3),
        "runs_per_min_1w": round(runs / one * 60, 3),
        "runs_per_min_2w": round(runs / two * 60, 3),
        "speedup_2w": round(speedup, 3),
        "overhead_per_run": round(overhead, 4),
        "report_seconds": round(html1, 2),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

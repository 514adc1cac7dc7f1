"""World throughput: the vectorised world against a naive per-member SimPy baseline.

Measured in this order: (a) the naive baseline (``naive_world.py``: one SimPy process per
member, the same e-commerce workload); (b) the world (``sim.world.simulate``) at ``--members``
for ``--days``, one replication; (c) the demo size; (d) ``--big-members`` for ``--days`` in a
fresh subprocess, so that its wall time and peak memory are its own. Member-days per second are
what is compared: the baseline runs on fewer members. Targets (2 cores): the world at least 100x
the baseline's member-days/s at 100,000 members; 1,000,000 members for 365 days in under 60 s
and under 4 GiB; the 10,000-member demo year in a few seconds. The last printed line is a JSON
object of the headline figures.

    .venv/bin/python bench/world_bench.py [--members N] [--days D] [--baseline-members N]
        [--big-members N (0 skips)] [--demo-members N] [--naive-only]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from naive_world import run_naive

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "ecommerce.toml"
GIB = 1024**3


def time_world(scenario: Path, members: int, days: int, seed: int) -> tuple[float, int]:
    """Wall seconds of ``simulate`` (one replication, all groups) and its member-days."""
    from sim.scenario import load_scenario
    from sim.world import simulate

    # days simulated = days asked for: the scenario's warm-up is folded into them
    scn = load_scenario(
        str(scenario),
        members=members,
        days=days,
        replications=1,
        seed=seed,
        # the world's step rate over the days asked for (a scenario's run-off would add days)
        sets=["horizon.warmup_days=0", "horizon.runoff_days=0"],
    )
    t0 = time.perf_counter()
    run = simulate(scn, replication=0)
    seconds = time.perf_counter() - t0
    return seconds, int(run.member_days)


def big_run(scenario: Path, members: int, days: int, seed: int) -> dict[str, Any]:
    """Run :func:`time_world` in a fresh Python process; its wall time and peak RSS."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--world-child",
        "--scenario",
        str(scenario),
        "--members",
        str(members),
        "--days",
        str(days),
        "--seed",
        str(seed),
    ]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"world_bench: the {members:,}-member run failed (exit {out.returncode})")
    child = json.loads(out.stdout.strip().splitlines()[-1])
    # ru_maxrss is in KiB on Linux: the largest resident set of any waited-for child
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return {"wall_s": wall, "peak_rss_bytes": rss, **child}


def world_child(args: argparse.Namespace) -> None:
    """The subprocess side of :func:`big_run`: one JSON line of its own figures."""
    seconds, member_days = time_world(args.scenario, args.members, args.days, args.seed)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"simulate_s": seconds, "member_days": member_days, "self_rss_bytes": rss}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=100_000, help="members of the world run")
    ap.add_argument("--days", type=int, default=365, help="simulated days of every run")
    ap.add_argument("--baseline-members", type=int, default=5000, help="members of the baseline")
    ap.add_argument(
        "--big-members", type=int, default=1_000_000, help="members of the big run (0 skips it)"
    )
    ap.add_argument("--demo-members", type=int, default=10_000, help="members of the demo run")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scenario", type=Path, default=SCENARIO)
    ap.add_argument("--naive-only", action="store_true", help="run the baseline alone")
    ap.add_argument("--world-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    for name in ("members", "days", "baseline_members", "demo_members"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')}(={getattr(args, name)}) must be >= 1")
    if args.big_members < 0:
        ap.error(f"--big-members(={args.big_members}) must be >= 0 (0 skips the big run)")
    if args.world_child:
        world_child(args)
        return

    days = args.days
    figures: dict[str, Any] = {
        "naive_member_days_per_s": None,
        "world_member_days_per_s": None,
        "world_vs_naive": None,
        "demo_seconds": None,
        "big_seconds": None,
        "big_peak_rss_gib": None,
        "members": args.members,
        "days": days,
    }

    naive = run_naive(args.baseline_members, days, args.seed)
    naive_rate = naive["member_days_per_s"]
    figures["naive_member_days_per_s"] = round(naive_rate)
    print(
        f"naive SimPy baseline: {args.baseline_members:,} members x {days} days in"
        f" {naive['seconds']:.1f} s -> {naive_rate:,.0f} member-days/s"
        f" ({naive['orders']:,} orders, {naive['points_issued']:,} points issued,"
        f" {naive['points_burned']:,} burned, {naive['points_expired']:,} expired)"
    )
    if args.naive_only:
        print(json.dumps(figures))
        return

    seconds, member_days = time_world(args.scenario, args.members, days, args.seed)
    rate = member_days / seconds
    figures["world_member_days_per_s"] = round(rate)
    figures["world_vs_naive"] = round(rate / naive_rate, 1)
    print(
        f"world: {args.members:,} members x {days} days ({member_days:,} member-days, warm-up and"
        f" all groups) in {seconds:.1f} s -> {rate:,.0f} member-days/s,"
        f" {rate / naive_rate:.1f}x the baseline (target 100x)"
    )

    demo_s, demo_md = time_world(args.scenario, args.demo_members, days, args.seed)
    figures["demo_seconds"] = round(demo_s, 2)
    print(
        f"demo: {args.demo_members:,} members x {days} days ({demo_md:,} member-days)"
        f" in {demo_s:.2f} s"
    )

    if args.big_members:
        big = big_run(args.scenario, args.big_members, days, args.seed)
        figures["big_seconds"] = round(big["wall_s"], 1)
        figures["big_peak_rss_gib"] = round(big["peak_rss_bytes"] / GIB, 2)
        print(
            f"big: {args.big_members:,} members x {days} days in a fresh process:"
            f" {big['wall_s']:.1f} s wall ({big['simulate_s']:.1f} s in simulate,"
            f" {big['member_days'] / big['simulate_s']:,.0f} member-days/s),"
            f" peak RSS {big['peak_rss_bytes'] / GIB:.2f} GiB (targets: 60 s, 4 GiB)"
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

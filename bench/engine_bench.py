"""Engine day-step throughput: member-days per second for 1,000,000 members under the
e-commerce policy with realistic daily event rates (about 10% of members buying, 30% checking
in, 2% sharing, 1% redeeming, 0.5% cash offset at checkout), monthly expiry buckets.

A bare vectorised day step of a much smaller rule set (spend points and a flat check-in into a
single balance) is measured in the same run as the baseline. The last printed line is a JSON
object of the headline figures.

    .venv/bin/python bench/engine_bench.py [--members N] [--days D]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import numpy as np

from sim.engine import DayEvents, Kind, compile_policy, day_number, new_state, step_day
from sim.policy import ACTIONS, MICROS, load_policy

ROOT = Path(__file__).resolve().parent.parent


def day_events(rng: np.random.Generator, n: int, cp_items: int, seq0: int) -> DayEvents:
    parts: list[tuple[np.ndarray, int, dict[str, np.ndarray]]] = []

    def pick(rate: float) -> np.ndarray:
        k = rng.binomial(n, rate)
        return np.sort(rng.choice(n, size=k, replace=False))

    buyers = pick(0.10)
    amounts = (rng.gamma(2.0, 60.0, len(buyers)) * MICROS).astype(np.int64)
    parts.append(
        (buyers, Kind.PURCHASE, {"amount": amounts, "quantity": rng.integers(1, 4, len(buyers))})
    )
    parts.append((pick(0.30), Kind.CHECKIN, {}))
    share = pick(0.02)
    parts.append((share, Kind.ACTION, {"code": np.full(len(share), ACTIONS.index("share"))}))
    red = pick(0.01)
    parts.append((red, Kind.REDEEM, {"code": rng.integers(0, cp_items, len(red))}))
    off = pick(0.005)
    parts.append(
        (
            off,
            Kind.CASH_OFFSET,
            {"amount": (rng.gamma(2.0, 60.0, len(off)) * MICROS).astype(np.int64)},
        )
    )
    member = np.concatenate([p[0] for p in parts])
    kind = np.concatenate([np.full(len(p[0]), int(p[1])) for p in parts])

    def col(name: str) -> np.ndarray:
        return np.concatenate([p[2].get(name, np.zeros(len(p[0]), np.int64)) for p in parts])

    order = np.argsort(member, kind="stable")
    return DayEvents.build(
        member[order],
        kind[order],
        seq=seq0 + np.arange(len(member)),
        amount=col("amount")[order],
        quantity=col("quantity")[order],
        code=col("code")[order],
    )


def bare_step(balance: np.ndarray, events: DayEvents) -> None:
    """The baseline: spend points and flat check-in points into one balance array."""
    buy = events.kind == Kind.PURCHASE
    np.add.at(balance, events.member[buy], events.amount[buy] // MICROS)
    chk = events.kind == Kind.CHECKIN
    np.add.at(balance, events.member[chk], 5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=40, help="days run before timing starts")
    args = ap.parse_args()

    policy = load_policy(ROOT / "policies" / "ecommerce_super_points.toml")
    cp = compile_policy(policy)
    n = args.members
    rng = np.random.default_rng(20261122)
    start = day_number(dt.date(2026, 1, 20))
    state = new_state(cp, n, start, join_day=np.full(n, start - 400, np.int64))
    # pregenerate the events so only the day step is timed
    total = args.warmup + args.days
    days = [day_events(rng, n, len(cp.item_ids), d * 10_000_000) for d in range(total)]
    n_events = int(np.mean([len(e) for e in days[args.warmup :]]))

    for d in range(args.warmup):
        step_day(cp, state, start + d, days[d])
    engine_t = []
    for d in range(args.warmup, total):
        t0 = time.perf_counter()
        step_day(cp, state, start + d, days[d])
        engine_t.append(time.perf_counter() - t0)

    balance = np.zeros(n, np.int64)
    bare_t = []
    for d in range(args.warmup, total):
        t0 = time.perf_counter()
        bare_step(balance, days[d])
        bare_t.append(time.perf_counter() - t0)

    eng = n / float(np.median(engine_t))
    bare = n / float(np.median(bare_t))
    med, p90 = np.median(engine_t) * 1e3, np.quantile(engine_t, 0.9) * 1e3
    print(f"members={n:,}, {args.days} timed days after {args.warmup}, events/day ~{n_events:,}")
    print(f"engine day step: median {med:.1f} ms, p90 {p90:.1f} ms -> {eng / 1e6:.2f} M/s")
    print(f"bare baseline:   median {np.median(bare_t) * 1e3:.1f} ms -> {bare / 1e6:.2f} M/s")
    print(
        json.dumps(
            {
                "members": n,
                "events_per_day": n_events,
                "engine_member_days_per_s": round(eng),
                "bare_member_days_per_s": round(bare),
                "engine_vs_bare": round(eng / bare, 3),
                "target_member_days_per_s": 10_000_000,
            }
        )
    )


if __name__ == "__main__":
    main()

"""It must be the same engine (issue 4): a simulated year of the default scenario, exported as
the world's day-ordered event log and replayed through the ledger on SQLite and on PostgreSQL,
ends in the world's balances, lots, tiers, journal totals per rule and daily metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from sim.cli import main
from sim.engine import Account, to_date
from sim.ledger import Ledger
from sim.ledger import schema as t
from sim.ledger.book import NO_EXPIRY, slot_expiry
from sim.policy import MICROS
from sim.scenario import load_scenario
from sim.world.world import World, WorldRun

MEMBERS, DAYS = 10_000, 365
SMALL = (800, 75)  # the fast variant: same checks, a quarter of a year


def _simulate(tmp: Path, members: int, days: int) -> tuple[World, WorldRun, Path]:
    scn = load_scenario(
        None,
        members=members,
        days=days,
        replications=1,
        # the state compared is the window's end: the run-off after it is not in the event log
        sets=["horizon.warmup_days=0", "horizon.runoff_days=0"],
    )
    world = World(scn, 0, export_events=True)
    run = world.run()
    assert run.events is not None and run.members is not None
    path = tmp / "events.parquet"
    run.events.to_parquet(path, index=False)
    run.members.to_parquet(tmp / "events.members.parquet", index=False)
    return world, run, path


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> tuple[World, WorldRun, Path]:
    return _simulate(tmp_path_factory.mktemp("year"), MEMBERS, DAYS)


@pytest.fixture(scope="module")
def quarter(tmp_path_factory: pytest.TempPathFactory) -> tuple[World, WorldRun, Path]:
    return _simulate(tmp_path_factory.mktemp("quarter"), *SMALL)


def _replay(url: str, world: World, log: Path) -> Ledger:
    policies = {aw.arm.group: (aw.arm.policy, aw.arm.policy_file) for aw in world.arms}
    ledger = Ledger.init(url, policies, to_date(world.first_day))
    report = ledger.import_log(log)
    assert report.events_skipped == 0
    ledger.eod(to_date(world.last_day))
    return ledger


def _check_parity(ledger: Ledger, world: World, run: WorldRun) -> None:
    with ledger.engine.connect() as conn:
        members = pd.read_sql(select(t.members), conn)
        lots = pd.read_sql(select(t.lots), conn)
        postings = pd.read_sql(
            select(
                t.postings.c.member,
                t.postings.c.rule,
                t.postings.c.src,
                t.postings.c.dst,
                t.postings.c.points,
                t.postings.c.cost,
            ),
            conn,
        )
    for aw in world.arms:
        group = aw.arm.group
        mine = members[members.grp == group].copy()
        mine["local"] = mine.key.str.split(":").str[1].astype(int)
        mine = mine.sort_values("local")
        assert len(mine) == len(aw), group
        ms = aw.state.members
        for a in Account:
            np.testing.assert_array_equal(
                mine[a.name.lower()].to_numpy(), ms.acct[:, a], err_msg=f"{group} {a.name}"
            )
        np.testing.assert_array_equal(mine.tier.to_numpy(), np.array(aw.cp.tier_names)[ms.tier])
        local = dict(zip(mine.id, mine.local, strict=True))
        ends = slot_expiry(aw.cp.expiry, aw.state.program.expired_through)
        world_lots = {
            (int(p), None if ends[s] == NO_EXPIRY else int(ends[s])): int(ms.lots[p, s])
            for p, s in zip(*np.nonzero(ms.lots), strict=True)
        }
        ledger_lots = {
            (local[r.member], None if pd.isna(r.expires_on) else int(r.expires_on)): int(r.points)
            for r in lots[lots.member.isin(local)].itertuples()
        }
        assert ledger_lots == world_lots, group
        _check_rules(postings[postings.member.isin(local)], run.tables.by_rule, group)
    _check_metrics(ledger, world, run)
    _check_books(ledger, world, run)
    assert ledger.audit() == []


def _check_books(ledger: Ledger, world: World, run: WorldRun) -> None:
    """IFRS 15: what the simulation forecast for each group (allocated, recognised, the
    contract liability at the end) is what the ledger books for the same events."""
    daily = run.tables.daily
    for aw in world.arms:
        group = aw.arm.group
        mine = daily[daily["group"] == group].sort_values("day")
        books = ledger.accounting(to_date(world.last_day), group=group)
        assert books.total.closing > 0, group
        np.testing.assert_allclose(
            mine["deferred_revenue"].iloc[-1], books.total.closing / MICROS, atol=1e-6
        )
        np.testing.assert_allclose(
            mine["revenue_allocated"].sum(), books.total.allocated / MICROS, atol=1e-6
        )
        np.testing.assert_allclose(
            mine["revenue_recognised"].sum(), books.total.revenue / MICROS, atol=1e-6
        )


def _check_rules(p: pd.DataFrame, by_rule: pd.DataFrame, group: str) -> None:
    A = Account
    ledger = (
        pd.DataFrame(
            {
                "rule": p.rule,
                "earned": p.points.where((p.src == A.ISSUED) & (p.dst <= A.AVAILABLE), 0),
                "burned": p.points.where((p.src == A.AVAILABLE) & (p.dst == A.REDEEMED), 0),
                "expired": p.points.where(p.dst == A.EXPIRED, 0),
                "reversed": p.points.where(p.dst == A.REVERSED, 0),
                "cost": p.cost / 1e6,
            }
        )
        .groupby("rule")
        .sum()
    )
    world = by_rule[by_rule.group == group].groupby("rule")[list(ledger.columns)].sum()
    ledger = ledger.loc[(ledger != 0).any(axis=1)].sort_index()
    world = world.loc[(world != 0).any(axis=1)].sort_index()
    assert list(ledger.index) == list(world.index), group
    points = ["earned", "burned", "expired", "reversed"]
    pd.testing.assert_frame_equal(ledger[points], world[points], check_dtype=False, obj=group)
    np.testing.assert_allclose(ledger["cost"], world["cost"], rtol=1e-9, err_msg=group)


def _check_metrics(ledger: Ledger, world: World, run: WorldRun) -> None:
    got = ledger.metrics(to_date(world.first_day), to_date(world.last_day))
    want = run.tables.daily
    keys = ["group", "day"]
    merged = want.merge(got, on=keys, suffixes=("_world", "_ledger"), validate="one_to_one")
    assert len(merged) == len(want) == len(got)
    exact = [
        "members",
        "new_members",
        "orders",
        "checkins",
        "actions",
        "redemptions",
        "points_issued",
        "points_released",
        "points_burned",
        "points_expired",
        "points_reversed",
        "points_donated",
        "pending_points",
        "available_points",
        "outstanding_points",
        *[c for c in want.columns if c.startswith("tier_")],
    ]
    for col in exact:
        np.testing.assert_array_equal(
            merged[f"{col}_ledger"].to_numpy(np.int64),
            merged[f"{col}_world"].to_numpy(np.int64),
            err_msg=col,
        )
    for col in ("gmv", "points_cost", "liability", "value_factor"):
        np.testing.assert_allclose(
            merged[f"{col}_ledger"], merged[f"{col}_world"], rtol=1e-9, atol=1e-6, err_msg=col
        )


def test_a_replayed_quarter_ends_in_the_worlds_state(
    quarter: tuple[World, WorldRun, Path], db_url: str
) -> None:
    world, run, log = quarter
    _check_parity(_replay(db_url, world, log), world, run)


@pytest.mark.slow
def test_a_replayed_year_of_ten_thousand_members_ends_in_the_worlds_state(
    year: tuple[World, WorldRun, Path], db_url: str
) -> None:
    world, run, log = year
    _check_parity(_replay(db_url, world, log), world, run)


def test_the_ledger_export_imports_into_a_new_ledger_unchanged(
    quarter: tuple[World, WorldRun, Path], tmp_path: Path
) -> None:
    """Export -> import round trip: the copy holds the same events and balances."""
    world, _, log = quarter
    first = _replay(f"sqlite:///{tmp_path / 'a.db'}", world, log)
    first.export_log(tmp_path / "copy.csv")
    policies = {aw.arm.group: (aw.arm.policy, aw.arm.policy_file) for aw in world.arms}
    second = Ledger.init(f"sqlite:///{tmp_path / 'b.db'}", policies, to_date(world.first_day))
    second.import_log(tmp_path / "copy.csv")
    second.eod(to_date(world.last_day))
    for led in (first, second):
        assert led.audit() == []
    cols = [t.members.c.key, *(t.members.c[a.name.lower()] for a in Account), t.members.c.tier]
    frames = []
    for led in (first, second):
        with led.engine.connect() as conn:
            frames.append(pd.read_sql(select(*cols).order_by(t.members.c.key), conn))
    pd.testing.assert_frame_equal(frames[0], frames[1])


@pytest.fixture(scope="module")
def fifteen_months(tmp_path_factory: pytest.TempPathFactory) -> tuple[World, WorldRun, Path]:
    return _simulate(tmp_path_factory.mktemp("fifteen"), 500, 455)


@pytest.mark.slow
def test_the_ledger_estimates_breakage_as_the_simulation_forecast(
    fifteen_months: tuple[World, WorldRun, Path], db_url: str
) -> None:
    """Fifteen months: the books' estimate of the redemption rate from their own history
    arrives in the simulation (the policy sets none); replayed, the ledger makes the same
    estimate from the same history and books the same liability and revenue."""
    world, run, log = fifteen_months
    daily = run.tables.daily
    assert daily.groupby("group")["redemption_rate_estimate"].last().notna().all()
    ledger = _replay(db_url, world, log)
    _check_books(ledger, world, run)
    for aw in world.arms:
        mine = daily[daily["group"] == aw.arm.group].sort_values("day")
        books = ledger.accounting(to_date(world.last_day), group=aw.arm.group)
        assert books.basis == "history"
        assert books.estimate == pytest.approx(mine["redemption_rate_estimate"].iloc[-1])
    last = to_date(world.last_day).isoformat()
    group = world.arms[0].arm.group
    args = ["--db", ledger.url, "--as-of", last, "--group", group, "--triangle"]
    out = CliRunner().invoke(main, ["ledger", "accounting", *args])
    assert out.exit_code == 0, out.output
    assert "estimated from the ledger's history, chain ladder through" in out.output
    assert ledger.audit() == []

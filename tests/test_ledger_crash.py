"""A ledger import killed part-way, on SQLite and PostgreSQL: ``pointsim ledger import`` is
SIGKILLed while it replays a simulation's event log, twice, then run again to the end. The
half-imported ledger must pass its audit and hold whole days only; the finished one must hold
every event once and be table for table the ledger of an import that was never interrupted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from ledger_helpers import assert_same_ledgers, count_events
from pg_server import PostgresServer
from sqlalchemy import func, select
from world_helpers import ROOT, tiny

from sim.engine import to_date
from sim.ledger import Ledger
from sim.ledger import schema as t
from sim.ledger.logio import read_events
from sim.runner import run_scenario, write_events
from sim.world.world import World

EXPERIMENT = """
[experiment]
design = "split"
control = "control"
[experiment.groups.control]
share = 0.5
[experiment.groups.treatment]
share = 0.5
set = { "earn.purchase.points_per_unit" = 2.0, "refunds.clawback" = "allow_negative" }
"""
KILL_AT = (0.3, 0.65)
"""Kill the import once this share of the log's events is in the ledger (one kill each)."""
POLL = 0.02
RUN_TIMEOUT = 300.0


@pytest.fixture
def reference_url(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second fresh database on the backend of ``db_url``."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'reference.db'}"
        return
    server: PostgresServer = request.getfixturevalue("pg_server")
    name = f"t_reference_{uuid.uuid4().hex[:8]}"
    url = server.create_database(name)
    try:
        yield url
    finally:
        server.drop_database(name)


def _import_cmd(log: Path, url: str) -> list[str]:
    """``pointsim ledger import`` (``python -m sim`` is the same command)."""
    return [sys.executable, "-m", "sim", "ledger", "import", str(log), "--db", url]


def _kill_part_way(led: Ledger, log: Path, total: int, share: float) -> int:
    """Start an import of ``log``, SIGKILL it once ``share`` of the ``total`` events are in
    the ledger; returns how many events it left."""
    target = max(int(total * share), 1)
    proc = subprocess.Popen(
        _import_cmd(log, led.url), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + RUN_TIMEOUT
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if count_events(led.engine) >= target:
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(POLL)
    finally:
        if proc.poll() is None and time.monotonic() >= deadline:
            proc.kill()
        out, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, (
        f"the import was not killed part-way (exit {proc.returncode}): {out!r} {err!r}"
    )
    left = count_events(led.engine)
    assert 0 < left < total, f"killed with {left} of {total} events in: not part-way"
    return left


def _assert_whole_days(led: Ledger, log: pd.DataFrame) -> None:
    """The ledger holds the log's first days, each with all of its events, and nothing else
    (each day of an import is one transaction)."""
    with led.engine.connect() as conn:
        have = dict(
            conn.execute(select(t.events.c.day, func.count()).group_by(t.events.c.day)).all()
        )
        clock = conn.execute(select(t.clock)).one()
    want = log.groupby("day").size()
    days = sorted(have)
    assert days == [int(d) for d in want.index[: len(days)]], "not a prefix of the log's days"
    assert {d: have[d] for d in days} == {d: int(want[d]) for d in days}
    assert (clock.closed_through, clock.open_day) == (days[-1] - 1, days[-1])


@pytest.mark.slow
def test_an_import_killed_part_way_is_sound_and_finishes_to_the_same_ledger(
    db_url: str, reference_url: str, tmp_path: Path
) -> None:
    scenario = tiny(
        tmp_path,
        size=500,
        days=50,
        extra=EXPERIMENT,
        sets=["population.referred_share=0.3"],
    )
    path = tmp_path / "events.csv"
    write_events(run_scenario(scenario, export_events=True), path)
    log = read_events(path)
    total = len(log)
    world = World(scenario, 0)
    policies = {aw.arm.group: (aw.arm.policy, aw.arm.policy_file) for aw in world.arms}
    assert len(policies) == 2
    start = to_date(world.first_day)

    reference = Ledger.init(reference_url, policies, start)
    whole = reference.import_log(path)
    assert whole.events_recorded == total
    assert reference.audit() == []

    led = Ledger.init(db_url, policies, start)
    left = 0
    for share in KILL_AT:
        before = left
        left = _kill_part_way(led, path, total, share)
        assert left > before, "the second run recorded nothing before it was killed"
        assert led.audit() == []
        _assert_whole_days(led, log)

    done = subprocess.run(
        _import_cmd(path, db_url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"imported {total - left} events" in done.stdout
    assert f"({left} already recorded, 0 members added)" in done.stdout

    with led.engine.connect() as conn:
        ids = conn.execute(select(t.events.c.client_id)).scalars().all()
        postings = conn.execute(select(func.count()).select_from(t.postings)).scalar_one()
    with reference.engine.connect() as conn:
        ref_postings = conn.execute(select(func.count()).select_from(t.postings)).scalar_one()
    assert len(ids) == total == count_events(led.engine)
    assert len(set(ids)) == total
    assert set(ids) == set(log["client_id"])
    assert postings == ref_postings
    assert_same_ledgers(led.engine, reference.engine)
    reference.engine.dispose()
    assert led.audit() == []

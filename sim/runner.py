"""Running a scenario's replications, in this process or a pool of local processes, and
writing their results. Same inputs give the same tables whatever the number of workers: each
replication's numbers come from (scenario, replication) alone, and the tables are put in
(replication, group) order before anything reads them."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.metrics.schema import RunTables, SummarySpec
from sim.scenario import Scenario
from sim.world import WorldRun, simulate

log = logging.getLogger(__name__)


@dataclass
class ScenarioResult:
    """Every replication of a scenario, tables concatenated in (replication, group) order."""

    scenario: Scenario
    tables: RunTables
    runs: list[WorldRun]
    """Per replication (tables and event logs are kept in ``tables`` and ``events``)."""
    events: pd.DataFrame | None
    members: pd.DataFrame | None
    member_days: int

    @property
    def campaigns(self) -> list[tuple[str, str, Any, Any]]:
        return self.runs[0].campaigns if self.runs else []

    def summary_spec(self) -> SummarySpec:
        return scenario_summary_spec(self.scenario)


def scenario_summary_spec(sc: Scenario) -> SummarySpec:
    """What the summary of ``sc``'s tables needs besides the tables."""
    first = sc.arms[0].policy
    return SummarySpec(
        scenario=sc.name,
        title=sc.spec.title or sc.name,
        groups=tuple(a.group for a in sc.arms),
        control=sc.control,
        tiers=tuple(first.tiers),
        bands=sc.bands(),
        currency=first.program.currency,
        policies={
            a.group: {
                "name": a.policy.program.name,
                "file": a.policy_file,
                "content_hash": a.policy_hash,
            }
            for a in sc.arms
        },
    )


def _one(scenario: Scenario, replication: int, export_events: bool) -> WorldRun:
    return simulate(scenario, replication, export_events=export_events)


def run_scenario(
    scenario: Scenario,
    *,
    workers: int = 1,
    export_events: bool = False,
    on_done: Callable[[int], None] | None = None,
) -> ScenarioResult:
    """Simulate every replication; ``workers`` > 1 runs them in a local process pool.
    ``on_done(replication)`` is called as each finishes (for a progress bar)."""
    if workers < 1:
        raise ValueError(f"workers(={workers}) must be >= 1")
    reps = range(scenario.spec.replications)
    done: dict[int, WorldRun] = {}
    if workers == 1 or len(reps) == 1:
        for r in reps:
            done[r] = _one(scenario, r, export_events)
            if on_done is not None:
                on_done(r)
    else:
        with ProcessPoolExecutor(max_workers=min(workers, len(reps))) as pool:
            futures = {pool.submit(_one, scenario, r, export_events): r for r in reps}
            for fut in as_completed(futures):
                r = futures[fut]
                done[r] = fut.result()
                if on_done is not None:
                    on_done(r)
    runs = [done[r] for r in reps]
    tables = RunTables(
        *(
            pd.concat([getattr(run.tables, name) for run in runs], ignore_index=True)
            for name in ("daily", "by_rule", "retention", "runs")
        )
    )
    events = members = None
    if export_events:
        events = pd.concat(
            [
                run.events.assign(replication=r)
                for r, run in zip(reps, runs, strict=True)
                if run.events is not None
            ],
            ignore_index=True,
        )
        events.insert(0, "replication", events.pop("replication"))
        members = runs[0].members
    return ScenarioResult(
        scenario, tables, runs, events, members, sum(run.member_days for run in runs)
    )


def write_outputs(
    result: ScenarioResult, out: Path, files: dict[str, Callable[[Path], None]]
) -> None:
    """Write every output into a temporary folder beside ``out``, then move the files into
    ``out`` (created if needed): a failure leaves ``out`` as it was."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        tables = result.tables
        for name in ("daily", "by_rule", "retention", "runs"):
            file = "metrics.parquet" if name == "daily" else f"{name}.parquet"
            getattr(tables, name).to_parquet(tmp / file, index=False)
        for file, write in files.items():
            write(tmp / file)
        out.mkdir(parents=True, exist_ok=True)
        for item in sorted(tmp.iterdir()):
            os.replace(item, out / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_events(result: ScenarioResult, path: Path) -> None:
    """The event log (and beside it ``<stem>.members<suffix>``), CSV or Parquet by suffix,
    written atomically."""
    assert result.events is not None and result.members is not None
    members_path = path.with_name(f"{path.stem}.members{path.suffix}")
    for frame, target in ((result.events, path), (result.members, members_path)):
        tmp = target.with_name(f".{target.name}.tmp")
        if path.suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        os.replace(tmp, target)

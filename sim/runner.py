"""``pointsim run`` as a one-point sweep: every replication of a scenario is a
:class:`~sim.execute.RunTask` of point 0, run by the one executor (:mod:`sim.execute`) on the
backend asked for, its daily tables kept. Same inputs give the same tables whatever the
backend or the number of workers: each replication's numbers come from (scenario,
replication) alone, and the tables are put in (replication, group) order before anything
reads them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.execute import Backend, RunOutput, RunTask, execute, scenario_key, summary_spec
from sim.files import write_table_atomic
from sim.metrics.schema import RunTables, SummarySpec
from sim.scenario import Scenario

__all__ = ["RunFailed", "ScenarioResult", "run_scenario", "write_events", "write_tables"]

log = logging.getLogger(__name__)

TABLE_FILES = {
    "daily": "metrics.parquet",
    "by_rule": "by_rule.parquet",
    "retention": "retention.parquet",
    "runs": "runs.parquet",
    "cohorts": "cohorts.parquet",
}
"""Where each of :class:`RunTables`' tables is written."""


class RunFailed(RuntimeError):
    """A replication failed; the message holds its error and traceback."""


@dataclass
class ScenarioResult:
    """Every replication of a scenario, tables concatenated in (replication, group) order."""

    scenario: Scenario
    tables: RunTables
    outputs: list[RunOutput]
    """Per replication, in order (their tables are concatenated in ``tables``)."""
    events: pd.DataFrame | None
    members: pd.DataFrame | None
    member_days: int

    @property
    def campaigns(self) -> list[tuple[str, str, Any, Any]]:
        return self.outputs[0].campaigns if self.outputs else []

    def summary_spec(self) -> SummarySpec:
        return summary_spec(self.scenario)


def run_scenario(
    scenario: Scenario,
    *,
    backend: Backend | None = None,
    workers: int | None = 1,
    export_events: bool = False,
    on_done: Callable[[int], None] | None = None,
) -> ScenarioResult:
    """Simulate every replication on ``backend`` (default: ``workers`` local processes;
    1: in this process). ``on_done(replication)`` is called as each finishes (for a progress
    bar). :class:`RunFailed` when a replication fails."""
    if backend is None:
        backend = Backend.local(workers)
    key = scenario_key(scenario)
    tasks = [RunTask(0, r, key, scenario) for r in range(scenario.spec.replications)]
    done: dict[int, RunOutput] = {}
    for out in execute(tasks, backend, "events" if export_events else "daily"):
        if not out.ok:
            raise RunFailed(f"replication {out.task.replication} failed:\n{out.error}")
        done[out.task.replication] = out
        if on_done is not None:
            on_done(out.task.replication)
    outputs = [done[t.replication] for t in tasks]
    tables = RunTables(
        *(
            pd.concat([getattr(o.tables, name) for o in outputs], ignore_index=True)
            for name in TABLE_FILES
        )
    )
    events = members = None
    if export_events:
        events = pd.concat(
            [
                o.events.assign(replication=o.task.replication)
                for o in outputs
                if o.events is not None
            ],
            ignore_index=True,
        )
        events.insert(0, "replication", events.pop("replication"))
        members = outputs[0].members
    return ScenarioResult(
        scenario, tables, outputs, events, members, sum(o.member_days for o in outputs)
    )


def write_tables(tables: RunTables, folder: Path) -> None:
    """Write the five tables into ``folder`` (``metrics.parquet`` ...), each whole or not at
    all (:func:`sim.files.write_table_atomic`)."""
    for name, file in TABLE_FILES.items():
        write_table_atomic(folder / file, getattr(tables, name))


def write_events(result: ScenarioResult, path: Path) -> None:
    """The event log (and beside it ``<stem>.members<suffix>``), CSV or Parquet by suffix,
    each written whole or not at all, with the user's usual file permissions
    (:func:`sim.files.write_table_atomic`: CSV text cells escaped so that a spreadsheet does not
    run them as formulas; a link at a target is replaced, never written through)."""
    assert result.events is not None and result.members is not None
    members_path = path.with_name(f"{path.stem}.members{path.suffix}")
    for frame, target in ((result.events, path), (result.members, members_path)):
        write_table_atomic(target, frame)

"""``pointsim run``: simulate a scenario and write its metrics, summary and report."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from pathlib import Path

import click
from tqdm import tqdm

from sim.files import write_text_atomic
from sim.policy import policy_toml
from sim.scenario import DEFAULT_SCENARIO, ScenarioError, load_scenario

REPORTS = Path(__file__).resolve().parents[1] / "reports"

MEMBERS = click.option("--members", type=click.IntRange(min=1), help="Members at the start.")
DAYS = click.option("--days", type=click.IntRange(min=1), help="Days in the metric window.")
SETS = click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a scenario field (population.size=5000) or a policy field "
    "(caps.daily=300) by dotted path; repeatable.",
)
OUT = click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default: reports/<scenario name>/).",
)
"""Options ``pointsim run`` and ``pointsim sweep`` share."""


def workers_option(what: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option(
        "--workers",
        type=click.IntRange(min=1),
        default=None,
        help=f"Local processes running {what} (default: one per core).",
    )


@click.command()
@click.argument("scenario", required=False, type=click.Path(dir_okay=False, path_type=Path))
@MEMBERS
@DAYS
@click.option("--replications", type=click.IntRange(min=1), help="Monte Carlo replications.")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed of the scenario.")
@SETS
@OUT
@workers_option("replications")
@click.option(
    "--export-events",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the day-ordered event log fed to the engine (.csv or .parquet) and its "
    "members (<stem>.members.<suffix>), for the ledger to replay.",
)
@click.option("--no-report", is_flag=True, help="Skip report.html (tables and summary only).")
def run(
    scenario: Path | None,
    members: int | None,
    days: int | None,
    replications: int | None,
    seed: int | None,
    sets: tuple[str, ...],
    out: Path | None,
    workers: int | None,
    export_events: Path | None,
    no_report: bool,
) -> None:
    """Simulate SCENARIO (default: scenarios/double_points.toml) and write OUT/metrics.parquet,
    OUT/summary.json and OUT/report.html."""
    from sim.metrics.summary import summarise, write_summary
    from sim.report import write_report
    from sim.runner import run_scenario, write_events, write_outputs

    began = time.perf_counter()
    if export_events is not None and export_events.suffix not in (".csv", ".parquet"):
        raise click.BadParameter(
            f"{export_events}: expected a .csv or .parquet file", param_hint="--export-events"
        )
    try:
        scn = load_scenario(
            scenario if scenario is not None else DEFAULT_SCENARIO,
            sets=sets,
            members=members,
            days=days,
            replications=replications,
            seed=seed,
        )
    except ScenarioError as err:
        for problem in err.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(1) from None
    target = out if out is not None else REPORTS / scn.name
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    reps = scn.spec.replications
    with tqdm(total=reps, desc=scn.name, unit="replication", disable=None, leave=False) as bar:
        result = run_scenario(
            scn,
            workers=n_workers,
            export_events=export_events is not None,
            on_done=lambda _r: bar.update(1),
        )
    spec = result.summary_spec()
    summary = summarise(result.tables, spec)
    files: dict[str, Callable[[Path], None]] = {"summary.json": lambda p: write_summary(summary, p)}
    for arm in scn.arms:  # exactly what ran: `pointsim ledger apply-policy` takes these files
        files[f"policy.{arm.group}.toml"] = functools.partial(
            write_text_atomic, text=policy_toml(arm.policy)
        )
    if not no_report:
        files["report.html"] = lambda p: write_report(
            result.tables,
            summary,
            spec,
            p,
            campaigns=[(f"{c[1]} ({c[0]})", c[2], c[3]) for c in result.campaigns],
        )
    write_outputs(result, target, files)
    if export_events is not None:
        write_events(result, export_events)
    seconds = time.perf_counter() - began
    click.echo(summary.get("headline", ""))
    click.echo(
        f"{scn.name}: {reps} replication(s) x {len(scn.arms)} group(s), "
        f"{result.member_days:,} member-days in {seconds:.1f} s "
        f"({result.member_days / seconds / 1e6:.2f} M member-days/s, {n_workers} worker(s)) "
        f"-> {target}"
    )

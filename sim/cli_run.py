"""``pointsim run``: simulate a scenario and write its metrics, summary and report."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from tqdm import tqdm

from sim.cli_cluster import OPTION, cluster_options, tls_files
from sim.files import csv_safe, write_text_atomic
from sim.outputs import OutputError, OutputFolder, check_file, check_folder
from sim.policy import policy_toml
from sim.scenario import DEFAULT_SCENARIO, ScenarioError, load_scenario

if TYPE_CHECKING:
    from sim.execute import Backend, TlsFiles
    from sim.report.figures import Chart

REPORTS = Path(__file__).resolve().parents[1] / "reports"

MEMBERS = click.option(
    "--members",
    type=click.IntRange(min=1),
    help="Members at the start. New members a day scale with them, so a smaller run is the "
    "same economy, smaller (--set population.size=N sets the size alone).",
)
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


FORCE = click.option(
    "--force",
    is_flag=True,
    help="Write into --out even when it holds files pointsim did not write.",
)


def workers_option(what: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option(
        "--workers",
        type=click.IntRange(min=1),
        default=None,
        help=f"Local processes running {what} (default: one per core).",
    )


def output_folder(out: Path | None, name: str, force: bool) -> Path:
    """The output folder, checked before anything runs (exit 1 naming the option)."""
    target = out if out is not None else REPORTS / name
    try:
        check_folder(target, force=force, legacy=out is None)
    except OutputError as err:
        fail(str(err))
    return target


def backend(workers: int | None, scheduler: str | None, tls: TlsFiles | None = None) -> Backend:
    """Local processes, or the Dask cluster at ``scheduler``, over TLS with ``tls`` (from
    :func:`sim.cli_cluster.tls_files`); exit 1 when it cannot be reached or refuses us."""
    from sim.execute import Backend, SchedulerError, SecurityError

    try:
        return Backend.choose(workers, scheduler, tls)
    except SecurityError as err:  # tls_files has checked the options: kept for safety
        raise click.BadParameter(str(err), param_hint=OPTION[err.setting]) from None
    except SchedulerError as err:
        fail(f"--scheduler {err}")


def _check_memory(scn: Any, workers: int | None) -> None:
    """Refuse a run that would not fit in memory, naming ``--members`` (sim.memory)."""
    from sim.memory import available_bytes, processes, run_bytes

    need, have = run_bytes(scn, processes(workers)), available_bytes()
    if have is not None and need > have:
        gib = 1024**3
        fail(
            f"--members {scn.spec.population.size:,}: the run needs about {need / gib:,.1f} GiB "
            f"at once ({len(scn.arms)} group(s), replications side by side), this machine has "
            f"{have / gib:,.1f} GiB available: use fewer members, or --workers 1"
        )


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(1)


@click.command()
@click.argument("scenario", required=False, type=click.Path(dir_okay=False, path_type=Path))
@MEMBERS
@DAYS
@click.option("--replications", type=click.IntRange(min=1), help="Monte Carlo replications.")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed of the scenario.")
@SETS
@OUT
@FORCE
@workers_option("replications")
@cluster_options
@click.option(
    "--export-events",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the day-ordered event log fed to the engine (.csv or .parquet) and its "
    "members (<stem>.members.<suffix>), for the ledger to replay.",
)
@click.option("--no-report", is_flag=True, help="Skip report.html (tables and summary only).")
@click.option(
    "--no-programme",
    is_flag=True,
    help="Add a group with nothing to earn or burn on the same members and random numbers "
    "([experiment] no_programme = true): the summary shows the programme's own effect.",
)
@click.option(
    "--robustness",
    is_flag=True,
    help="Rerun with each behaviour assumption at the low and the high end of its plausible "
    "range, one at a time, on the same members and random numbers: OUT/robustness.csv and "
    "robustness.png (a tornado of the headline effect), resumed from OUT/robustness/. "
    "1 + 2 x (about 25) runs of the scenario: use --members and --replications to size it.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 1 when a health band is breached, for the window or in any month (outputs are "
    "written all the same); straddling an edge is a warning.",
)
def run(
    scenario: Path | None,
    members: int | None,
    days: int | None,
    replications: int | None,
    seed: int | None,
    sets: tuple[str, ...],
    out: Path | None,
    force: bool,
    workers: int | None,
    scheduler: str | None,
    tls_ca_file: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    export_events: Path | None,
    no_report: bool,
    no_programme: bool,
    robustness: bool,
    strict: bool,
) -> None:
    """Simulate SCENARIO (default: scenarios/double_points.toml) and write OUT/metrics.parquet,
    OUT/summary.json and OUT/report.html. Every input and output is checked before anything
    is simulated; outputs are moved into OUT only when all of them are written."""
    from sim.metrics.summary import summarise
    from sim.report import write_report
    from sim.runner import RunFailed, run_scenario, write_events, write_tables

    began = time.perf_counter()
    if export_events is not None and export_events.suffix not in (".csv", ".parquet"):
        raise click.BadParameter(
            f"{export_events}: expected a .csv or .parquet file", param_hint="--export-events"
        )
    tls = tls_files(scheduler, tls_ca_file, tls_cert, tls_key)
    try:
        scn = load_scenario(
            scenario if scenario is not None else DEFAULT_SCENARIO,
            sets=sets,
            members=members,
            days=days,
            replications=replications,
            seed=seed,
            no_programme=no_programme,
        )
    except ScenarioError as err:
        for problem in err.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(1) from None
    if scheduler is None:
        _check_memory(scn, workers)
    target = output_folder(out, scn.name, force)
    if export_events is not None:
        try:
            check_file(export_events, option="--export-events")
        except OutputError as err:
            fail(str(err))
    reps = scn.spec.replications
    with (
        backend(workers, scheduler, tls) as where,
        tqdm(total=reps, desc=scn.name, unit="replication", disable=None, leave=False) as bar,
    ):
        try:
            result = run_scenario(
                scn,
                backend=where,
                export_events=export_events is not None,
                on_done=lambda _r: bar.update(1),
            )
        except RunFailed as err:
            fail(f"{scn.name}: {err}")
    spec = result.summary_spec()
    summary = summarise(result.tables, spec)
    with OutputFolder(target) as folder:
        write_tables(result.tables, folder.tmp)
        summary.write(folder.path("summary.json"))
        for arm in scn.arms:  # exactly what ran: `pointsim ledger apply-policy` takes these
            write_text_atomic(folder.path(f"policy.{arm.group}.toml"), policy_toml(arm.policy))
        verdicts: list[str] = []
        extra = []
        if robustness:
            folder.claim(["robustness"])
            with backend(workers, scheduler, tls) as where_r:
                verdicts, chart = robustness_outputs(
                    scenario if scenario is not None else DEFAULT_SCENARIO,
                    dict(sets=sets, members=members, days=days, replications=replications,
                         seed=seed, no_programme=no_programme),
                    target / "robustness",
                    folder,
                    where_r,
                )  # fmt: skip
            extra.append(chart)
        if not no_report:
            write_report(
                result.tables,
                summary,
                spec,
                folder.path("report.html"),
                campaigns=[(f"{c[1]} ({c[0]})", c[2], c[3]) for c in result.campaigns],
                extra=extra,
            )
        if export_events is not None:
            try:
                write_events(result, export_events)
            except OSError as err:
                fail(f"--export-events {export_events}: cannot be written ({err.strerror or err})")
        folder.commit(keep=["robustness"] if robustness else ())
    seconds = time.perf_counter() - began
    click.echo(summary.headline)
    click.echo(
        f"{scn.name}: {reps} replication(s) x {len(scn.arms)} group(s), "
        f"{result.member_days:,} member-days in {seconds:.1f} s "
        f"({result.member_days / seconds / 1e6:.2f} M member-days/s, {where.describe()}) "
        f"-> {target}"
    )
    if robustness:
        for line in verdicts:
            click.echo(line)
    if strict:
        breaches, warnings = summary.band_problems()
        for line in warnings:
            click.echo(f"warning: {line}", err=True)
        for line in breaches:
            click.echo(f"error: health band breached: {line}", err=True)
        if breaches:
            raise SystemExit(1)


def robustness_outputs(
    path: Path, load: dict[str, Any], runs: Path, folder: OutputFolder, where: Backend
) -> tuple[list[str], Chart]:
    """Run the robustness variants (resumed from ``runs``), write robustness.csv and
    robustness.png into ``folder``; the lines to print and the tornado for the report."""
    import pandas as pd

    from sim.report.figures import Chart
    from sim.report.plotting import png_bytes
    from sim.sweep import robustness as rb

    try:
        vs = rb.variants(path, **load)
    except ScenarioError as err:
        for problem in err.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(1) from None
    base = vs[0].scenario
    metric = rb.effect_metric(base)
    click.echo(f"robustness: {len(vs)} variant(s) x {base.spec.replications} replication(s)")
    try:
        rows = rb.run(vs, runs, where)
    except RuntimeError as err:
        fail(str(err))
    at = rb.effects(rows, base, metric)
    assumed = float(at.get(0, float("nan")))
    swings = rb.swings(vs, at)
    table = pd.DataFrame(
        [
            {
                "assumption": s.path, "assumed": s.assumed, "low": s.low, "high": s.high,
                f"{metric}_at_low": s.at_low, f"{metric}_at_high": s.at_high,
                "swing": s.swing, "flips": rb.flips(s, assumed) if metric == "roi" else None,
                "source": s.source,
            }
            for s in swings
        ]
    )  # fmt: skip
    write_text_atomic(folder.path("robustness.csv"), csv_safe(table).to_csv(index=False))
    png = png_bytes(rb.tornado(swings, assumed, metric))
    folder.path("robustness.png").write_bytes(png)
    chart = Chart(
        "robustness",
        f"How far {metric} rests on each assumption",
        "Each bar is one behaviour assumption at the low (blue) and the high (orange) end of its"
        " plausible range, the others as assumed, on the same members and random numbers;"
        " largest swings on top. robustness.csv lists them all with their sources.",
        png,
    )
    lines = [f"Robustness of {metric} (as assumed {assumed:.3g}), largest swings first:"]
    for s in swings[:5]:
        lines.append(f"  {s.path}: {s.at_low:.3g} at {s.low:g} .. {s.at_high:.3g} at {s.high:g}")
    flipping = [f for s in swings if metric == "roi" and (f := rb.flips(s, assumed))]
    lines.append(
        "  " + "; ".join(flipping)
        if flipping
        else "  no single assumption across its plausible range flips the verdict"
        if metric == "roi"
        else ""
    )
    return [line for line in lines if line.strip()], chart

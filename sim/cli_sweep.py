"""``pointsim sweep``: run every point of a parameter sweep over replications, then analyse."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from sim.cli_cluster import cluster_options, tls_files
from sim.cli_run import (
    DAYS,
    FORCE,
    MEMBERS,
    OUT,
    SETS,
    backend,
    output_folder,
    workers_option,
)
from sim.files import write_text_atomic
from sim.outputs import OutputFolder
from sim.policy.load import PolicyError, parse_override
from sim.scenario import ScenarioError

SOME_FAILED = 3
NO_FEASIBLE_POINT = 1
"""Exit code when no point keeps the constraints (the answer says which constraint binds)."""
"""Exit code when the sweep finished but some runs failed (1: bad input, nothing ran)."""


def _vary(texts: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for text in texts:
        try:
            path, value = parse_override(text)
        except PolicyError as err:
            raise click.BadParameter(str(err.problems[0].message), param_hint="--vary") from None
        if not (isinstance(value, list) or (isinstance(value, dict) and "low" in value)):
            raise click.BadParameter(
                f"{text!r}: expected PATH=[v1, v2, ...] (a grid) or "
                "PATH={low = a, high = b} (a range to sample)",
                param_hint="--vary",
            )
        out[path] = value
    return out


def _overrides(**options: Any) -> dict[str, Any]:
    """The command line's changes to the scenario's ``[sweep]`` table."""
    out = {k: v for k, v in options.items() if v not in (None, (), {})}
    if "constraints" in out:
        out["constraints"] = list(out["constraints"])
    return out


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@OUT
@FORCE
@workers_option("the runs")
@cluster_options
@SETS
@click.option(
    "--vary",
    "varies",
    multiple=True,
    metavar="PATH=VALUES",
    help="Add a swept parameter: PATH=[a, b, c] (grid) or PATH={low = a, high = b} "
    "(sampled); repeatable. Replaces the [sweep] table's entry for PATH.",
)
@click.option("--sampler", type=click.Choice(["random", "lhs", "sobol"]), help="Range sampler.")
@click.option("--samples", type=click.IntRange(min=1), help="Points drawn over the ranges.")
@click.option("--replications", type=click.IntRange(min=1), help="Replications per point.")
@MEMBERS
@DAYS
@click.option("--maximize", metavar="METRIC", help="Name the point with the highest METRIC.")
@click.option("--minimize", metavar="METRIC", help="Name the point with the lowest METRIC.")
@click.option(
    "--subject-to",
    "constraints",
    multiple=True,
    metavar="EXPR",
    help="Constraint for the best point, e.g. 'cost_ratio<=0.03'; repeatable (replaces the "
    "[sweep] table's constraints).",
)
@click.option("--group", help="Experiment group to analyse (default: the first treatment).")
@click.option(
    "--keep",
    type=click.Choice(["metrics", "daily"]),
    default="metrics",
    show_default=True,
    help="What each run keeps: its headline metrics (OUT/runs/), or its daily tables too "
    "(OUT/daily/metrics/, by_rule/, retention/: one Parquet file per run, the columns of "
    "pointsim run's tables), to look at a point over time without running it again.",
)
@click.option(
    "--restart", is_flag=True, help="Discard OUT/runs/ (and OUT/daily/) and run every point again."
)
@click.option("--no-report", is_flag=True, help="Skip sweep.html.")
def sweep(
    scenario: Path,
    out: Path | None,
    force: bool,
    workers: int | None,
    scheduler: str | None,
    tls_ca_file: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    sets: tuple[str, ...],
    varies: tuple[str, ...],
    sampler: str | None,
    samples: int | None,
    replications: int | None,
    members: int | None,
    days: int | None,
    maximize: str | None,
    minimize: str | None,
    constraints: tuple[str, ...],
    group: str | None,
    keep: str,
    restart: bool,
    no_report: bool,
) -> None:
    """Run every point of SCENARIO's [sweep] over its replications, streaming each run to
    OUT/runs/, then write OUT/points.parquet, OUT/sweep.json and OUT/sweep.html. Started again,
    it skips the runs that finished. Exit code 3 when some runs failed."""
    from sim.sweep.analysis import analyse, analysis_json
    from sim.sweep.execute import RunStore, run_sweep
    from sim.sweep.plan import plan_sweep

    began = time.perf_counter()
    if maximize and minimize:
        raise click.UsageError("give --maximize or --minimize, not both")
    tls = tls_files(scheduler, tls_ca_file, tls_cert, tls_key)
    overrides = _overrides(
        parameters=_vary(varies),
        sampler=sampler,
        samples=samples,
        replications=replications,
        maximize=maximize,
        minimize=minimize,
        constraints=constraints,
        group=group,
    )
    try:
        plan = plan_sweep(scenario, sets=sets, members=members, days=days, overrides=overrides)
    except ScenarioError as err:
        for problem in err.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(1) from None
    target = output_folder(out, plan.name, force)
    tasks = plan.tasks()
    failures = 0
    with (
        backend(workers, scheduler, tls) as where,
        OutputFolder(target) as folder,
        tqdm(total=len(tasks), desc=plan.name, unit="run", disable=None, leave=False) as bar,
    ):
        store = RunStore(target / "runs", "daily" if keep == "daily" else "metrics")
        kept = ["runs", "daily"] if keep == "daily" else ["runs"]
        if restart:
            for old in ("runs", "daily"):
                if (target / old).is_dir():
                    shutil.rmtree(target / old)
        elif keep == "metrics" and (target / "daily").is_dir():
            kept.append("daily")  # kept by an earlier --keep daily: left as it is
        folder.claim(kept)

        def started(todo: int, skipped: int) -> None:
            bar.update(skipped)
            if skipped:
                click.echo(f"{skipped} of {len(tasks)} run(s) already finished: skipped", err=True)

        def finished(ok: bool) -> None:
            nonlocal failures
            failures += not ok
            bar.update(1)
            bar.set_postfix(failed=failures, refresh=False)

        try:
            report = run_sweep(tasks, store, where, on_start=started, on_run=finished)
        except KeyboardInterrupt:
            done = len(list(store.folder.glob("*.parquet")))
            click.echo(
                f"\ninterrupted: {done} run file(s) are in {store.folder}; run the same command "
                "again to go on from there",
                err=True,
            )
            raise SystemExit(130) from None
        analysis = analyse(plan, store.read(tasks))
        analysis.points.to_parquet(folder.path("points.parquet"), index=False)
        write_text_atomic(
            folder.path("sweep.json"),
            json.dumps(analysis_json(analysis, plan), indent=2, ensure_ascii=False) + "\n",
        )
        if not no_report:
            from sim.sweep.report import write_sweep_report

            write_sweep_report(analysis, folder.path("sweep.html"))
        folder.commit(keep=kept)
    if analysis.best is not None:
        click.echo(analysis.best.text)
    seconds = time.perf_counter() - began
    click.echo(
        f"{plan.name}: {len(plan.points)} point(s) x {plan.replications} replication(s); "
        f"{report.done} run(s) in {seconds:.1f} s on {report.backend}, {report.skipped} "
        f"skipped, {report.failed} failed -> {target}"
    )
    if report.failed:
        click.echo(
            f"error: {report.failed} run(s) failed; their errors are in {target / 'sweep.json'}",
            err=True,
        )
        raise SystemExit(SOME_FAILED)
    if analysis.best is not None and analysis.best.point is None:
        click.echo(f"error: {analysis.best.answer}", err=True)
        raise SystemExit(NO_FEASIBLE_POINT)

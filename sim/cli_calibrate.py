"""``pointsim calibrate``: buying behaviour from a transaction history (``fit``), a response
from an observed effect (``effect``), and the redemption catalogue (``catalogue``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import click
from tqdm import tqdm

from sim.calibrate.logs import CalibrationError
from sim.cli_cluster import cluster_options, tls_files
from sim.cli_run import MEMBERS, SETS, backend, fail, workers_option
from sim.files import csv_safe, write_text_atomic
from sim.outputs import OutputError, OutputFolder, check_folder
from sim.scenario import DEFAULT_SCENARIO

if TYPE_CHECKING:
    from sim.calibrate.catalogue import Lever

T = TypeVar("T")
REPORTS = Path(__file__).resolve().parents[1] / "reports"


@click.group()
def calibrate() -> None:
    """Fit behaviour to your data, responses to observed effects, and the catalogue."""


def _out(out: Path | None, default: str, force: bool) -> Path:
    target = out if out is not None else REPORTS / default
    try:
        check_folder(target, force=force, legacy=out is None)
    except OutputError as err:
        fail(str(err))
    return target


def _problems(err: CalibrationError) -> NoReturn:
    for problem in err.problems:
        click.echo(f"error: {problem}", err=True)
    raise SystemExit(1)


def _runs(desc: str, target: Path, where: tuple[Any, ...], work: Callable[[Any, Any], T]) -> T:
    """``work(backend, on_run)`` on local processes or the cluster (``where``: workers,
    scheduler, TLS files), with a progress bar; its problems end the command (exit 1)."""
    with (
        backend(*where) as chosen,
        tqdm(desc=desc, unit="run", disable=None, leave=False) as bar,
    ):
        try:
            return work(chosen, lambda _ok: bar.update(1))
        except CalibrationError as err:
            _problems(err)
        except RuntimeError as err:
            fail(f"{err} ({target})")


@calibrate.command()
@click.argument("scenario", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--parameter",
    help="The behaviour parameter to solve for (a dotted path, e.g. "
    "behaviour.redemption.checkout_share; --list shows them with their plausible ranges).",
)
@click.option(
    "--metric",
    help="The figure to reproduce: a headline metric (cost_ratio, gmv ...), an effect against "
    "the control (incremental_gmv, roi ...) or programme_<headline> against no programme.",
)
@click.option("--target", type=float, help="The observed value of --metric.")
@click.option("--group", default=None, help="The group measured (default: the control).")
@click.option("--low", type=float, default=None, help="Search from (default: plausible low).")
@click.option("--high", type=float, default=None, help="Search to (default: plausible high).")
@click.option(
    "--points", type=click.IntRange(min=3, max=50), default=7, show_default=True,
    help="Values of the parameter run across the range.",
)  # fmt: skip
@click.option("--replications", type=click.IntRange(min=2), help="Replications per value.")
@click.option("--list", "show", is_flag=True, help="List the parameters with plausible ranges.")
@MEMBERS
@SETS
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--force", is_flag=True, help="Write into --out even if it holds other files.")
@workers_option("the runs")
@cluster_options
def effect(
    scenario: Path | None,
    parameter: str | None,
    metric: str | None,
    target: float | None,
    group: str | None,
    low: float | None,
    high: float | None,
    points: int,
    replications: int | None,
    show: bool,
    members: int | None,
    sets: tuple[str, ...],
    out: Path | None,
    force: bool,
    workers: int | None,
    scheduler: str | None,
    tls_ca_file: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
) -> None:
    """Find the value of one behaviour parameter at which SCENARIO reproduces an observed
    figure: the parameter is run across its plausible range on common random numbers and
    each replication solved; prints the value with its 95% interval, or says the target
    needs a value outside the range. Writes OUT/effect.csv (every run's figure)."""
    from sim.calibrate.effect import assumption_paths, plan_effect, run_effect
    from sim.scenario import ScenarioError, load_scenario

    path = scenario if scenario is not None else DEFAULT_SCENARIO
    if show:
        try:
            sc = load_scenario(path, sets=sets)
        except ScenarioError as err:
            _problems(CalibrationError(err.problems))
        for line in assumption_paths(sc):
            click.echo(line)
        return
    for name, value in (("--parameter", parameter), ("--metric", metric), ("--target", target)):
        if value is None:
            raise click.UsageError(f"{name} is required (or --list)")
    assert parameter is not None and metric is not None and target is not None
    tls = tls_files(scheduler, tls_ca_file, tls_cert, tls_key)
    load: dict[str, Any] = {"sets": sets, "members": members, "replications": replications}
    try:
        plan = plan_effect(
            path, parameter, metric, target, group=group, low=low, high=high, points=points,
            load=load,
        )  # fmt: skip
    except CalibrationError as err:
        _problems(err)
    target_dir = _out(out, f"calibrate-effect-{Path(path).stem}", force)
    with OutputFolder(target_dir) as folder:
        folder.claim(["runs"])
        result = _runs(
            "calibrate effect", target_dir, (workers, scheduler, tls),
            lambda where, on_run: run_effect(
                plan, folder=target_dir / "runs", backend=where, on_run=on_run
            ),
        )  # fmt: skip
        write_text_atomic(folder.path("effect.csv"), csv_safe(result.frame()).to_csv(index=False))
        folder.commit(keep=["runs"])
    click.echo(result.text())
    click.echo(f"-> {target_dir}")
    if not result.solution.solved:
        raise SystemExit(1)


@calibrate.command()
@click.argument("scenario", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--group", default=None, help="The group whose catalogue (default: the control).")
@click.option(
    "--lever",
    type=click.Choice(["point-value", "earn-rate", "price-scale"]),
    default=None,
    help="Also solve: the point value, every purchase rule's earn rate, or a scale on every "
    "item's points price, for the cost ratio --target.",
)
@click.option(
    "--target",
    type=float,
    default=None,
    help="Cost ratio (points cost / GMV) to solve for; inside the scenario's band (default: "
    "the band's middle).",
)
@click.option(
    "--min-participation",
    "floor",
    type=float,
    default=0.0,
    show_default=True,
    help="Redemption participation the answer must keep (a share of members).",
)
@click.option("--low", type=float, default=0.5, show_default=True, help="Lever scale from.")
@click.option("--high", type=float, default=2.0, show_default=True, help="Lever scale to.")
@click.option("--points", type=click.IntRange(min=3, max=50), default=7, show_default=True)
@click.option("--replications", type=click.IntRange(min=1), help="Replications (each year).")
@click.option(
    "--write",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the tuned policy here (TOML) and show its diff against the original.",
)
@MEMBERS
@SETS
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--force", is_flag=True, help="Write into --out even if it holds other files.")
@workers_option("the runs")
@cluster_options
def catalogue(
    scenario: Path | None,
    group: str | None,
    lever: str | None,
    target: float | None,
    floor: float,
    low: float,
    high: float,
    points: int,
    replications: int | None,
    write: Path | None,
    members: int | None,
    sets: tuple[str, ...],
    out: Path | None,
    force: bool,
    workers: int | None,
    scheduler: str | None,
    tls_ca_file: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
) -> None:
    """The redemption catalogue of SCENARIO's group against its point value: per item its
    value and cost per point, how often simulated years redeem it and by whom, how long a
    typical member earns to reach it, and flags with their reasons (OUT/catalogue.csv). With
    --lever, the lever's value that puts the cost ratio at --target, with its interval and
    the participation there; --write saves the tuned policy."""
    from sim.calibrate.catalogue import catalogue_report, plan_catalogue, run_catalogue
    from sim.outputs import check_file
    from sim.policy import policy_toml
    from sim.scenario import ScenarioError, load_scenario

    path = scenario if scenario is not None else DEFAULT_SCENARIO
    if write is not None:
        if lever is None:
            raise click.BadParameter("needs --lever (what to tune)", param_hint="--write")
        if write.suffix != ".toml":
            raise click.BadParameter(f"{write}: expected a .toml file", param_hint="--write")
        try:
            check_file(write, option="--write")
        except OutputError as err:
            fail(str(err))
    load: dict[str, Any] = {"sets": sets, "members": members, "replications": replications}
    plan = None
    try:
        sc = load_scenario(path, **load)
        if group is not None and group not in [a.group for a in sc.arms]:
            raise CalibrationError(f"--group {group}: not a group of {sc.name}")
        if lever is not None:
            plan = plan_catalogue(
                path, cast("Lever", lever), target=target, floor=floor, low=low, high=high,
                points=points, group=group, load=load,
            )  # fmt: skip
        tls = tls_files(scheduler, tls_ca_file, tls_cert, tls_key)
        rep = catalogue_report(sc, group)
    except ScenarioError as err:
        _problems(CalibrationError(err.problems))
    except CalibrationError as err:
        _problems(err)
    target_dir = _out(out, f"calibrate-catalogue-{Path(path).stem}", force)
    solution = None
    with OutputFolder(target_dir) as folder:
        if plan is not None:
            folder.claim(["runs"])
            checked = plan
            solution = _runs(
                "calibrate catalogue", target_dir, (workers, scheduler, tls),
                lambda where, on_run: run_catalogue(
                    checked, folder=target_dir / "runs", backend=where, on_run=on_run
                ),
            )  # fmt: skip
        table = rep.items.drop(columns=["stock"])
        write_text_atomic(folder.path("catalogue.csv"), csv_safe(table).to_csv(index=False))
        if write is not None and solution is not None and solution.tuned is not None:
            write_text_atomic(write, policy_toml(solution.tuned))
        folder.commit(keep=["runs"] if plan is not None else ())
    _show_catalogue(rep)
    if solution is not None:
        click.echo(solution.text())
        if solution.diff_text:
            click.echo(solution.diff_text)
        if write is not None and solution.tuned is not None:
            click.echo(f"wrote the tuned policy to {write}")
    click.echo(f"-> {target_dir}")
    if solution is not None and not (solution.solution.solved and solution.meets_floor):
        raise SystemExit(1)


def _show_catalogue(rep: Any) -> None:
    from sim.calibrate.catalogue import FAR_FACTOR, RARE_SHARE, REACH_SHARE

    click.echo(
        f"{rep.scenario} ({rep.group}): point value {rep.point_value:g} {rep.currency}; "
        f"{rep.replications} simulated year(s) of {rep.members:,} members; a typical member "
        f"earns {rep.monthly_points:,.0f} points a month"
    )
    click.echo(
        f"{'item':<16}{'points':>8}{'value/pt':>10}{'x pv':>7}{'orders/yr':>11}"
        f"{'redeemers':>11}{'months':>8}"
    )
    for r in rep.items.itertuples():
        click.echo(
            f"{r.item:<16}{r.points:>8,}{r.face_per_point:>10.4g}{r.value_vs_point_value:>7.2g}"
            f"{r.orders_a_year:>11,.0f}{r.redeemers_share:>11.1%}{r.months_to_reach:>8.1f}"
        )
    for r in rep.flagged().itertuples():
        click.echo(f"flag {r.item}: {r.flags}")
    click.echo(
        f"(flags: rarely under {RARE_SHARE:.0%} of orders; value per point beyond {FAR_FACTOR:g}x "
        f"the point value either way; out of reach when under {REACH_SHARE:.0%} of members earn "
        "the price in a year: assumed thresholds)"
    )


@calibrate.command()
@click.argument("log", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--calibration-end", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last day fitted (default: the log's last day, no holdout).")  # fmt: skip
@click.option("--holdout-end", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Test forecasts on the days after --calibration-end up to this.")  # fmt: skip
@click.option("--unit-days", type=float, default=7.0, show_default=True,
              help="Days in the time unit of the rates (7: weeks, as the literature).")  # fmt: skip
@click.option("--member-col", default=None, help="Column of the member id (default: found).")
@click.option("--date-col", default=None, help="Column of the date or timestamp.")
@click.option("--amount-col", default=None, help="Column of the amount.")
@click.option("--segment-col", default=None, help="Fit each value of this column apart.")
@click.option("--group", default=None, help="Of a pointsim event log's groups, the one fitted.")
@click.option(
    "--duplicates",
    type=click.Choice(["refuse", "drop"]),
    default="refuse",
    show_default=True,
    help="Rows repeating an earlier one exactly: refuse the log, or drop them (said).",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--force", is_flag=True, help="Write into --out even if it holds other files.")
def fit(
    log: Path,
    calibration_end: Any,
    holdout_end: Any,
    unit_days: float,
    member_col: str | None,
    date_col: str | None,
    amount_col: str | None,
    segment_col: str | None,
    group: str | None,
    duplicates: str,
    out: Path | None,
    force: bool,
) -> None:
    """Fit members' buying behaviour to the transaction LOG (CSV or Parquet; a pointsim
    event log is recognised): BG/NBD and Pareto/NBD for repeat purchases, Gamma-Gamma for
    order values, with standard errors; with --holdout-end, the forecasts tested on the days
    after --calibration-end. Writes OUT/segments.toml (scenario segments, loadable as they
    are), OUT/fitted.csv and OUT/calibration.html."""
    from sim.calibrate.fit import fit_transactions
    from sim.calibrate.fit_report import fit_report_html
    from sim.calibrate.logs import Columns, read_transactions

    columns = Columns(member_col, date_col, amount_col, segment_col)
    try:
        tx = read_transactions(
            log,
            columns,
            duplicates="drop" if duplicates == "drop" else "refuse",
            group=group,
        )
        result = fit_transactions(
            tx,
            calibration_end=calibration_end.date() if calibration_end else None,
            holdout_end=holdout_end.date() if holdout_end else None,
            unit_days=unit_days,
        )
    except CalibrationError as err:
        _problems(err)
    target_dir = _out(out, f"calibrate-fit-{log.stem}", force)
    with OutputFolder(target_dir) as folder:
        write_text_atomic(folder.path("segments.toml"), result.scenario_toml())
        table = csv_safe(result.table()).to_csv(index=False)
        write_text_atomic(folder.path("fitted.csv"), table)
        write_text_atomic(folder.path("calibration.html"), fit_report_html(result))
        folder.commit()
    for note in result.notes:
        click.echo(f"note: {note}")
    for seg in result.segments:
        bg = seg.fits["bgnbd"]
        shown = ", ".join(
            f"{n} {v:.4g} ({se:.2g})"
            for n, v, se in zip(bg.names, bg.params, bg.std_errors, strict=True)
        )
        click.echo(
            f"{seg.segment}: {seg.customers:,} customers, {seg.repeat_buyers:,} repeat buyers; "
            f"BG/NBD {shown} per {unit_days:g} days; chosen {seg.chosen}: {seg.why}"
        )
        if seg.backtest is not None:
            for row in seg.backtest.errors.itertuples():
                click.echo(
                    f"  holdout {row.model}: {row.holdout_expected:,.0f} expected against "
                    f"{row.holdout_actual:,.0f} actual ({row.error_pct:+.1f}%), MAE {row.mae:.3f}"
                )
    click.echo(f"-> {target_dir}")

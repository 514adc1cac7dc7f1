"""``pointsim ledger ...``: the live ledger from the command line (see :mod:`sim.ledger`).

The database is ``--db URL``, given to the group (``pointsim ledger --db URL COMMAND``) or to
the command (``pointsim ledger COMMAND --db URL``, which wins when both are given); without
either, ``$POINTSIM_DB``, else ``sqlite:///points.db``. Money is given in currency units
(``--amount 129.90``, exact to 6 decimals); points are whole numbers; dates are YYYY-MM-DD.
A refused request prints why and exits 1 with nothing written.

The library's errors name its fields (:class:`~sim.ledger.LedgerError` ``.field``: ``amount``,
``quantity``, ``member`` ...); :data:`FLAGS` is where each command names the option that gives
a field, so a user reads ``--points: ...`` for the option they typed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from sim.cli_policy import SET_OPTION, load_with_sets
from sim.engine.arith import PointsOverflow
from sim.ledger import EventIn, Ledger, LedgerError, NewMember, parse_money
from sim.ledger.closing import CloseNeedsConfirmation
from sim.ledger.requests import event_kind, money_text
from sim.policy import PolicyError

F = TypeVar("F", bound=Callable[..., Any])
_FILE = click.Path(dir_okay=False, path_type=Path)
_DATE = click.DateTime(formats=["%Y-%m-%d"])


DEFAULT_DB = "sqlite:///points.db"
_DB_HELP = "Database URL: sqlite:///FILE or postgresql://USER@HOST/DB."

_EVENT = {"member": "--member", "client_id": "--id"}
FLAGS: dict[str, dict[str, str]] = {
    "add-member": {
        "key": "KEY",
        "group": "--group",
        "join_day": "--join",
        "birth_month": "--birth-month",
        "label": "--label",
        "referrer": "--referrer",
    },
    "record": {
        **_EVENT,
        "kind": "KIND",
        "amount": "--amount",
        "quantity": "--quantity",
        "name": "--name",
        "ref": "--ref",
        "draw": "--draw",
        "note": "--note",
        "day": "--day",
    },
    "redeem": {**_EVENT, "name": "--item", "quantity": "--quantity"},
    "quote": {"member": "--member", "amount": "--amount", "quantity": "--points"},
    "offset": {**_EVENT, "amount": "--amount", "quantity": "--points"},
    "freeze": {**_EVENT, "note": "--reason"},
    "unfreeze": {**_EVENT, "note": "--reason"},
    "adjust": {**_EVENT, "quantity": "--points", "note": "--reason"},
    "balance": {"member": "--member"},
    "statement": {"member": "--member"},
    "lots": {"member": "--member"},
    "import": {"replication": "--replication"},
    "apply-policy": {"evidence": "--evidence", "effective": "--effective", "group": "--group"},
    "eod": {"date": "DATE"},
    "init": {"start": "--start"},
    "accounting": {"as_of": "--as-of", "estimate": "--redemption-rate", "group": "--group"},
    "cancel-version": {"version": "VERSION", "reason": "--reason"},
}
"""Per command, the option (or argument) that gives each field of the library's requests;
every command gives ``url`` with ``--db``. Fields not listed keep their name: ``feed`` and
``import`` read JSON keys and file columns named as the fields."""


def _message(err: LedgerError, command: str) -> str:
    """``err`` as the user of ``command`` reads it: the option for its field, no position
    in a batch (a command sends one request)."""
    flag = {"url": "--db", **FLAGS.get(command, {})}.get(err.field or "")
    if flag is not None:
        return f"{flag}: {err.reason}"
    if err.at == "events[0]":
        return str(LedgerError(err.reason, field=err.field))
    return str(err)


def _group_db(ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
    """The command's ``--db``, else the group's (which falls back on ``$POINTSIM_DB`` and
    :data:`DEFAULT_DB`)."""
    if value is not None:
        return value
    parent = ctx.parent
    while parent is not None and parent.command is not ledger:
        parent = parent.parent
    if parent is not None:
        return str(parent.params["db"])
    return os.environ.get("POINTSIM_DB") or DEFAULT_DB


def _db(f: F) -> F:
    return click.option(
        "--db",
        default=None,
        metavar="URL",
        callback=_group_db,
        help=f"{_DB_HELP} Default: the group's (pointsim ledger --db URL COMMAND), else "
        f"$POINTSIM_DB, else {DEFAULT_DB}; given here, it wins over the group's.",
    )(f)


def _member(f: F) -> F:
    return click.option("--member", required=True, help="The member's key.")(f)


def _client_id(f: F) -> F:
    return click.option(
        "--id",
        "client_id",
        default=None,
        help="Idempotency key: the same id and request again returns the first result. Without "
        "it the key is derived from the request and its business day, so the same command run "
        "twice on one day records once; give distinct ids to record two identical events.",
    )(f)


@contextmanager
def _errors() -> Iterator[None]:
    """Users' mistakes and refusals as one message and exit code 1, no traceback."""
    try:
        yield
    except LedgerError as err:
        command = click.get_current_context().command.name or ""
        click.echo(f"error: {_message(err, command)}", err=True)
        raise SystemExit(1) from None
    except PolicyError as err:
        for problem in err.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(1) from None
    except SQLAlchemyError as err:
        click.echo(f"error: database: {err.__class__.__name__}: {err.args[0]}", err=True)
        raise SystemExit(1) from None
    except PointsOverflow as err:
        click.echo(f"error: {err}", err=True)
        raise SystemExit(1) from None


def _write(led: Ledger, ev: EventIn, client_id: str | None) -> dict[str, Any]:
    """Record one event under ``client_id``, or under an id derived from the request (a
    retried command records once), and return its result."""
    return led.record([replace(ev, client_id=client_id or led.request_id(ev))])[0].__dict__


def _day(value: dt.datetime | None) -> dt.date | None:
    return None if value is None else value.date()


def _money(value: str | None) -> int:
    return 0 if value is None else parse_money(value, "amount")


def _show(out: Any) -> None:
    click.echo(json.dumps(out, default=str, ensure_ascii=False))


def _in_currency(out: dict[str, Any], *keys: str) -> dict[str, Any]:
    """``out`` with the money fields ``keys`` (micros) as exact decimal currency strings."""
    return {k: money_text(v) if k in keys else v for k, v in out.items()}


@click.group()
@click.option(
    "--db",
    default=DEFAULT_DB,
    envvar="POINTSIM_DB",
    show_envvar=True,
    show_default=True,
    metavar="URL",
    help=f"{_DB_HELP} A command's own --db wins over this one.",
)
def ledger(db: str) -> None:
    """The live ledger: the engine's rules over SQLite (default) or PostgreSQL.

    The database is --db URL, here (pointsim ledger --db URL COMMAND ...) or after the
    command (pointsim ledger COMMAND --db URL ..., which wins), else $POINTSIM_DB, else
    sqlite:///points.db. Errors name the option at fault (--amount: ..., --points: ...)."""


@ledger.command()
@_db
@click.option(
    "--policy",
    "policies",
    multiple=True,
    required=True,
    metavar="[GROUP=]FILE",
    help="The programme's policy; GROUP=FILE per experiment group (repeatable).",
)
@click.option("--start", type=_DATE, required=True, help="The first business day.")
@SET_OPTION
def init(db: str, policies: tuple[str, ...], start: dt.datetime, overrides: dict[str, Any]) -> None:
    """Create a ledger: its schema and one economy per group."""
    with _errors():
        given: dict[str, tuple[Any, str]] = {}
        for spec in policies:
            group, _, file = spec.rpartition("=")
            group = group or "default"
            if group in given:
                raise LedgerError(f"--policy: group {group!r} given twice")
            given[group] = (load_with_sets(Path(file), overrides), file)
        Ledger.init(db, given, start.date())
        click.echo(f"initialised {db}: groups {', '.join(given)}, first day {start.date()}")


@ledger.command()
@_db
def migrate(db: str) -> None:
    """Bring the ledger's schema to this version of pointsim."""
    from sim.ledger.migrate import upgrade
    from sim.ledger.store import connect

    with _errors():
        upgrade(connect(db))
        click.echo("schema up to date")


@ledger.command("add-member")
@_db
@click.argument("key")
@click.option("--group", default="default", show_default=True, help="The member's economy.")
@click.option("--join", type=_DATE, default=None, help="Join date (default: the business day).")
@click.option("--birth-month", type=click.IntRange(0, 12), default=0, help="0: unknown.")
@click.option("--label", default="", help="Experiment label the policy's audiences use.")
@click.option("--referrer", default=None, help="Key of the member who referred this one.")
def add_member(
    db: str,
    key: str,
    group: str,
    join: dt.datetime | None,
    birth_month: int,
    label: str,
    referrer: str | None,
) -> None:
    """Add member KEY."""
    with _errors():
        joined = None if join is None else _day_number(join.date())
        Ledger(db).add_members([NewMember(key, group, joined, birth_month, label, referrer)])
        click.echo(f"added {key}")


def _day_number(day: dt.date) -> int:
    from sim.engine import day_number

    return day_number(day)


@ledger.command()
@_db
@click.argument("kind")
@_member
@click.option("--amount", default=None, help="Order or refund value in currency, e.g. 129.90.")
@click.option("--quantity", type=int, default=0, help="Items, points or maturity day number.")
@click.option("--name", default="", help="Category, action, item, lot or referral stage:role.")
@click.option("--ref", type=int, default=0, help="Order id (purchases, refunds, investments).")
@click.option("--draw", type=float, default=None, help="Lottery draw in [0, 1).")
@click.option("--note", default="", help="Reason (adjustments, freezes).")
@click.option("--day", type=_DATE, default=None, help="Must be the business day (default).")
@_client_id
def record(
    db: str,
    kind: str,
    member: str,
    amount: str | None,
    quantity: int,
    name: str,
    ref: int,
    draw: float | None,
    note: str,
    day: dt.datetime | None,
    client_id: str | None,
) -> None:
    """Record an event of KIND (purchase, refund, checkin, share, review, login, course,
    profile, referral, investment, ...) for a member."""
    with _errors():
        kind, name = event_kind(kind, name)
        fields: dict[str, Any] = {
            "amount": _money(amount),
            "quantity": quantity,
            "name": name,
            "ref": ref,
            "draw": draw,
            "note": note,
            "day": None if day is None else _day_number(day.date()),
        }
        if kind == "refund" and quantity == 0:
            raise LedgerError(
                "none, a refund reverses the points given here (the order's, or part of them)",
                field="quantity",
            )
        _show(_write(Ledger(db), EventIn(member, kind, **fields), client_id))


@ledger.command()
@_db
@_member
@click.option("--item", required=True, help="Catalogue item id.")
@click.option("--quantity", type=click.IntRange(min=1), default=1, show_default=True, help="Units.")
@_client_id
def redeem(db: str, member: str, item: str, quantity: int, client_id: str | None) -> None:
    """Redeem a catalogue item."""
    with _errors():
        ev = EventIn(member, "redeem", name=item, quantity=quantity)
        _show(_write(Ledger(db), ev, client_id))


@ledger.command()
@_db
@_member
@click.option("--amount", required=True, help="Order value in currency.")
@click.option("--points", type=click.IntRange(min=0), default=0, help="Points wanted (0: most).")
def quote(db: str, member: str, amount: str, points: int) -> None:
    """What a cash offset would take for an order (nothing is written)."""
    with _errors():
        quoted = Ledger(db).quote_offset(member, _money(amount), points)
        _show(_in_currency(quoted.__dict__, "amount", "value"))


@ledger.command()
@_db
@_member
@click.option("--amount", required=True, help="Order value in currency.")
@click.option("--points", type=click.IntRange(min=0), default=0, help="Points wanted (0: most).")
@_client_id
def offset(db: str, member: str, amount: str, points: int, client_id: str | None) -> None:
    """Pay part of an order with points (quote first with `pointsim ledger quote`)."""
    with _errors():
        led = Ledger(db)
        ev = EventIn(member, "cash_offset", amount=_money(amount), quantity=points)
        _show(_write(led, ev, client_id))


@ledger.command()
@_db
@_member
@click.option("--reason", required=True, help="Why (recorded with the event).")
@_client_id
def freeze(db: str, member: str, reason: str, client_id: str | None) -> None:
    """Freeze a member's points (burns refused, earning withheld)."""
    with _errors():
        _show(_write(Ledger(db), EventIn(member, "freeze", note=reason), client_id))


@ledger.command()
@_db
@_member
@click.option("--reason", required=True, help="Why (recorded with the event).")
@_client_id
def unfreeze(db: str, member: str, reason: str, client_id: str | None) -> None:
    """Unfreeze a member's points."""
    with _errors():
        _show(_write(Ledger(db), EventIn(member, "unfreeze", note=reason), client_id))


@ledger.command()
@_db
@_member
@click.option("--points", type=int, required=True, help="Points to credit (+) or debit (-).")
@click.option("--reason", required=True, help="Why (recorded with the event).")
@_client_id
def adjust(db: str, member: str, points: int, reason: str, client_id: str | None) -> None:
    """An operator adjustment, recorded with its reason."""
    with _errors():
        ev = EventIn(member, "adjust", quantity=points, note=reason)
        _show(_write(Ledger(db), ev, client_id))


@ledger.command()
@_db
@click.argument("date", type=_DATE)
@click.option(
    "--yes",
    is_flag=True,
    help="Close more than 31 days past the business day (closing cannot be undone).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show what the close would expire and release, per group; change nothing.",
)
def eod(db: str, date: dt.datetime, yes: bool, dry_run: bool) -> None:
    """Close every business day through DATE: release pending points, expire lots, review
    tiers, pay interest, send reminders."""
    with _errors():
        try:
            if dry_run:
                _show(Ledger(db).eod_preview(date.date(), guarded=not yes).__dict__)
                return
            days = Ledger(db).eod(date.date(), guarded=not yes)
        except CloseNeedsConfirmation as err:
            hint = " (pass --yes; --dry-run previews it)"
            raise LedgerError(err.reason + hint, field=err.field) from None
        click.echo(f"closed {len(days)} day(s)" + (f" through {days[-1]}" if days else ""))


@ledger.command()
@_db
@_member
def balance(db: str, member: str) -> None:
    """A member's accounts and tier."""
    with _errors():
        _show(Ledger(db, writing=False).balance(member))


@ledger.command()
@_db
@_member
@click.option("--from", "first", type=_DATE, default=None)
@click.option("--to", "last", type=_DATE, default=None)
def statement(db: str, member: str, first: dt.datetime | None, last: dt.datetime | None) -> None:
    """A member's postings with the running available balance."""
    with _errors():
        frame = Ledger(db, writing=False).statement(member, _day(first), _day(last))
        for col in ("value", "cost"):  # micros in the database, currency for people
            frame[col] = [money_text(v) for v in frame[col]]
        click.echo(frame.to_string(index=False) if len(frame) else "no postings")


@ledger.command()
@_db
@_member
def lots(db: str, member: str) -> None:
    """A member's available points by expiry date, in the order they are spent."""
    with _errors():
        frame = Ledger(db, writing=False).lots(member)
        click.echo(frame.to_string(index=False) if len(frame) else "no points")


@ledger.command()
@_db
@click.argument("file", type=click.File("rb"), default="-")
@click.option(
    "--lenient",
    is_flag=True,
    help="Record a burn the engine refuses with its status instead of refusing it.",
)
def feed(db: str, file: Any, lenient: bool) -> None:
    """Record a stream of events, one JSON object a line from FILE (default: standard input),
    answering each on standard output in the same order as soon as it is committed. Events
    arriving together commit together. Exits 1 if any line was refused.

    Keys: client_id (required), member, kind, and record's options by their field names
    (amount, quantity, name, ref, draw, note, day); an error names the line and the key."""
    from sim.ledger.feed import bounded_lines
    from sim.ledger.feed import feed as run_feed

    with _errors():
        name = getattr(file, "name", "<stdin>")
        source = "<stdin>" if name in ("<stdin>", "-") or not isinstance(name, str) else name
        lines = bounded_lines(file)
        rep = run_feed(Ledger(db), lines, click.echo, source=source, strict=not lenient)
        rate = rep.lines / rep.seconds if rep.seconds else 0.0
        click.echo(
            f"fed {rep.lines} event(s): {rep.recorded} recorded, {rep.duplicates} already "
            f"recorded, {rep.refused} refused; {rep.transactions} transaction(s) in "
            f"{rep.seconds:.2f} s ({rate:,.0f} events/s)",
            err=True,
        )
    if rep.refused:
        raise SystemExit(1)


@ledger.command("import")
@_db
@click.argument("file", type=_FILE)
@click.option("--members", type=_FILE, default=None, help="Default: <stem>.members<suffix>.")
@click.option("--replication", type=int, default=None, help="Which replication of a run's log.")
def import_cmd(db: str, file: Path, members: Path | None, replication: int | None) -> None:
    """Replay an event log (CSV or Parquet, as `pointsim run --export-events` writes it)."""
    from tqdm import tqdm

    with _errors(), tqdm(desc="import", unit=" events", disable=None, leave=False) as bar:

        def progress(events: int, total: int) -> None:
            bar.total = total
            bar.update(events)

        rep = Ledger(db).import_log(file, replication=replication, members=members, on_day=progress)
        click.echo(
            f"imported {rep.events_recorded} events over {rep.days} days "
            f"({rep.events_skipped} already recorded, {rep.members_added} members added)"
        )


@ledger.command()
@_db
@click.argument("file", type=_FILE)
@click.option("--from", "first", type=_DATE, default=None)
@click.option("--to", "last", type=_DATE, default=None)
def export(db: str, file: Path, first: dt.datetime | None, last: dt.datetime | None) -> None:
    """Write the event log (and its members file beside it) as CSV or Parquet."""
    with _errors():
        n = Ledger(db, writing=False).export_log(file, _day(first), _day(last))
        click.echo(f"wrote {n} events to {file}")


@ledger.command()
@_db
@click.option("--from", "first", type=_DATE, required=True)
@click.option("--to", "last", type=_DATE, required=True)
@click.option("--out", type=_FILE, default=None, help="Write CSV or Parquet instead of a table.")
def metrics(db: str, first: dt.datetime, last: dt.datetime, out: Path | None) -> None:
    """Daily metrics of closed days, with the simulation's definitions."""
    from sim.ledger.logio import write_frame

    with _errors():
        frame = Ledger(db, writing=False).metrics(first.date(), last.date())
        if out is None:
            click.echo(frame.to_string(index=False))
        else:
            write_frame(frame, out)
            click.echo(f"wrote {len(frame)} rows to {out}")


@ledger.command()
@_db
def audit(db: str) -> None:
    """Check conservation, lots, pending, balances and the journal; exit 1 on a violation."""
    with _errors():
        problems = Ledger(db, writing=False).audit()
    for p in problems:
        click.echo(f"violation: {p}")
    if problems:
        raise SystemExit(1)
    click.echo("audit clean")


@ledger.command("apply-policy")
@_db
@click.argument("file", type=_FILE)
@click.option("--effective", type=_DATE, required=True, help="First day under the policy.")
@click.option("--group", default="default", show_default=True, help="The economy it is for.")
@click.option("--evidence", type=_FILE, default=None, help="OUT/summary.json of its simulation.")
@click.option("--force", is_flag=True, help="Apply without evidence (needs --reason).")
@click.option("--reason", default=None, help="Why it is forced (recorded).")
@click.option(
    "--verify",
    is_flag=True,
    help="Simulate the run the evidence records again and refuse unless it gives the "
    "evidence's figures exactly (recorded as verified).",
)
@SET_OPTION
def apply_policy(
    db: str,
    file: Path,
    effective: dt.datetime,
    group: str,
    evidence: Path | None,
    force: bool,
    reason: str | None,
    verify: bool,
    overrides: dict[str, Any],
) -> None:
    """Schedule policy FILE for a group: shows the diff against the version it would follow
    (the last one waiting to start, else the active one), and refuses unless --evidence is a
    passing simulation of exactly this policy (at least 5 replications, its dated campaigns
    inside the window; --verify repeats the run to check the file), or --force --reason is
    given."""
    with _errors():
        if force and evidence is not None:
            raise LedgerError("apply-policy: --force and --evidence exclude each other")
        if force and not (reason or "").strip():
            raise LedgerError("apply-policy: --force needs --reason TEXT (it is recorded)")
        if reason and not force:
            raise LedgerError("apply-policy: --reason goes with --force")
        if verify and evidence is None:
            raise LedgerError("apply-policy: --verify checks --evidence: give it")
        pol = load_with_sets(file, overrides)
        led = Ledger(db)
        before, _, changes = led.policy_diff(pol, group).partition("\n")
        click.echo(f"{before}\n+++ {file}")
        click.echo(changes, nl=False)
        if evidence is None and not force:
            raise LedgerError(
                "apply-policy: give --evidence OUT/summary.json of a passing simulation of "
                "exactly this policy, or --force with --reason"
            )
        if verify and evidence is not None:
            from sim.ledger.versions import check_evidence
            from sim.verify import VerifyError, verify_summary

            click.echo(f"verifying {evidence}: simulating its recorded run again ...", err=True)
            try:
                checked = verify_summary(evidence, check_evidence(evidence, pol).group)
            except VerifyError as err:
                raise LedgerError(str(err), field="evidence") from None
            click.echo(f"verified: {checked}", err=True)
        vid = led.apply_policy(
            pol,
            str(file),
            effective.date(),
            group=group,
            evidence=evidence,
            force_reason=reason if force else None,
            verified=verify,
        )
        how = (
            f"forced: {reason}"
            if force
            else f"evidence {evidence}" + (", verified" if verify else "")
        )
        click.echo(f"version {vid} of group {group} starts on {effective.date()} ({how})")


@ledger.command(name="versions")
@_db
@click.option("--group", default=None, help="One group's versions (default: every group's).")
def list_versions(db: str, group: str | None) -> None:
    """Every policy version, oldest first: status (waiting, active, retired, cancelled),
    effective day, content hash, the evidence or forced reason it was applied on."""
    with _errors():
        rows = Ledger(db, writing=False).versions(group)
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))


@ledger.command(name="cancel-version")
@_db
@click.argument("version", type=int)
@click.option("--reason", required=True, help="Why it is withdrawn (recorded).")
def cancel_version(db: str, version: int, reason: str) -> None:
    """Withdraw a policy version that is waiting to start; it never starts."""
    with _errors():
        group = Ledger(db).cancel_version(version, reason)
        click.echo(f"version {version} of group {group} cancelled: {reason}")


@ledger.command()
@_db
@click.option("--as-of", "as_of", type=_DATE, required=True, help="A closed day.")
@click.option("--group", default="default", show_default=True, help="The economy.")
@click.option(
    "--redemption-rate",
    "estimate",
    type=float,
    default=None,
    help="Share of the points sales issued expected to be redeemed (default: the policy's "
    "[accounting] expected_redemption, else the ledger's estimate from its history).",
)
@click.option("--by-cohort", is_flag=True, help="One column per issue month.")
@click.option("--close", is_flag=True, help="Store this as the period's close.")
@click.option(
    "--journal",
    type=_FILE,
    default=None,
    help="Write the double-entry journal of the movements (CSV or Parquet by suffix).",
)
@click.option(
    "--triangle",
    is_flag=True,
    help="Also show the chain ladder of the month cohorts' redemptions: the ledger's own "
    "estimate of the ultimate redemption rate.",
)
def accounting(
    db: str,
    as_of: dt.datetime,
    group: str,
    estimate: float | None,
    by_cohort: bool,
    close: bool,
    journal: Path | None,
    triangle: bool,
) -> None:
    """The IFRS 15 roll forward of the points' contract liability (deferred revenue) from the
    last closed period to AS-OF: opening, allocated from sales, recognised on redemption,
    breakage, re-estimation, closing (in the programme's currency)."""
    with _errors():
        led = Ledger(db, writing=close)
        rep = led.accounting(as_of.date(), group=group, estimate=estimate, close=close)
        since = rep.opened.isoformat() if rep.opened else "the start"
        click.echo(
            f"group {rep.group}: contract liability from {since} to {rep.as_of} "
            f"(expected redemption {rep.estimate:.1%}: {rep.basis_text()})"
        )
        columns = {"total": rep.total, **(rep.cohorts if by_cohort else {})}
        lines = ("opening", "allocated", "redemptions", "breakage", "reestimation", "closing")
        width = max(14, *(len(c) + 2 for c in columns))
        click.echo(f"{'':<14}" + "".join(f"{c:>{width}}" for c in columns))
        for line in lines:
            cells = "".join(f"{money_text(getattr(m, line)):>{width}}" for m in columns.values())
            click.echo(f"{line:<14}{cells}")
        click.echo(f"points given without a sale, outstanding: {rep.unsold_outstanding:,}")
        click.echo(
            f"cost view: outstanding points expected to be redeemed would cost "
            f"{money_text(rep.expected_cost)} (at {money_text(round(rep.cost_per_point))} a "
            "point, what redemptions have cost so far)"
        )
        if triangle and rep.development is not None:
            _show_development(rep)
        if journal is not None:
            from sim.ledger.accounting import journal as journal_of
            from sim.ledger.logio import write_frame

            lines = journal_of(rep)
            write_frame(lines, journal)
            click.echo(f"wrote {len(lines)} journal lines to {journal}")
        if close:
            click.echo(f"books of group {rep.group} closed at {rep.as_of}")


def _show_development(rep: Any) -> None:
    """The chain ladder behind the ledger's estimate: each month cohort's issue, redemptions
    to date, age-to-age factor and ultimate redemption rate."""
    d = rep.development
    click.echo("chain ladder of redemptions (all points, first in first out, by issue month):")
    click.echo(f"{'month':<9}{'issued':>14}{'redeemed':>14}{'factor':>9}{'ultimate':>10}")
    factors = [*d.factors, d.tail]
    for i, month in enumerate(rep.months):
        age = len(rep.months) - 1 - i
        factor = factors[age] if age < len(factors) else float("nan")
        click.echo(
            f"{month:<9}{int(d.issued[i]):>14,}{int(d.redeemed[i]):>14,}{factor:>9.3f}"
            f"{d.ultimate_rate[i]:>10.1%}"
        )
    fitted = "fitted" if d.tail_fitted else "not fitted (development stops at the last age)"
    click.echo(
        f"tail factor {d.tail:.3f} ({fitted}); estimated ultimate redemption rate "
        f"{rep.estimated_rate():.1%} (used: {rep.estimate:.1%})"
    )

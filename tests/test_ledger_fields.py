"""The library speaks the library's language, the command line its own (issue 13, item 5).

``sim.ledger`` refuses a request with a :class:`LedgerError` whose ``field`` names the field
or argument at fault (``member``, ``amount``, ``quantity``, ``client_id``, ``url`` ...) and
whose message holds no command-line option; ``pointsim ledger`` shows the option that gives
that field (``--points: ...`` for ``adjust``'s quantity) from its one table,
:data:`sim.cli_ledger.FLAGS`, and ``--db`` is taken on the group as on each command. A scan of
the library's source keeps option names out of its messages.
"""

from __future__ import annotations

import ast
import datetime as dt
import pickle
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from ledger_checks import START, new_ledger

from sim.cli import main
from sim.cli_ledger import FLAGS, ledger
from sim.engine import day_number
from sim.ledger import EventIn, IdempotencyConflict, Ledger, LedgerError, NewMember, parse_money
from sim.policy import MICROS, load_policy

LIBRARY = Path(__file__).resolve().parent.parent / "sim" / "ledger"
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
"""A command-line option in text (``--amount``); not ``--`` alone nor an SQL comment."""
POLICY = Path(__file__).resolve().parent.parent / "policies" / "coffee_beans.toml"
LATER = START + dt.timedelta(days=5)


@pytest.fixture(scope="module")
def led(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """A SQLite ledger under the "pending" test policy with members m0 (1000 points) and m1,
    client id "known" taken; only refused requests are sent to it."""
    url = f"sqlite:///{tmp_path_factory.mktemp('fields') / 'points.db'}"
    ledger_, _ = new_ledger(url, "pending")
    ledger_.record([EventIn("m0", "adjust", client_id="known", quantity=1000, note="opening")])
    yield ledger_
    ledger_.engine.dispose()


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("log") / "log.csv"
    path.write_text(f"group,day,member,kind\ndefault,{START},m0,checkin\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the library

Call = Callable[[Ledger, Path], object]
LIBRARY_ERRORS: dict[str, tuple[Call, str, str]] = {
    # case: (call, field, at)
    "unknown member, batch": (
        lambda led, _: led.record([EventIn("m0", "checkin"), EventIn("ghost", "checkin")]),
        "member",
        "events[1]",
    ),
    "unknown member, reading": (lambda led, _: led.balance("ghost"), "member", ""),
    "unknown member, quote": (lambda led, _: led.quote_offset("ghost", MICROS), "member", "quote"),
    "negative amount, quote": (lambda led, _: led.quote_offset("m0", -1), "amount", "quote"),
    "zero adjustment": (lambda led, _: led.adjust("m0", 0, "typo"), "quantity", "events[0]"),
    "negative quantity": (
        lambda led, _: led.redeem("m0", "dessert", -1),
        "quantity",
        "events[0]",
    ),
    "adjustment without a reason": (lambda led, _: led.adjust("m0", 5, " "), "note", "events[0]"),
    "unknown item": (lambda led, _: led.redeem("m0", "caviar"), "name", "events[0]"),
    "unknown kind": (lambda led, _: led.record([EventIn("m0", "teleport")]), "kind", "events[0]"),
    "client id reused": (
        lambda led, _: led.adjust("m0", 1, "x", client_id="known"),
        "client_id",
        "events[0]",
    ),
    "day after the business day": (
        lambda led, _: led.record([EventIn("m0", "checkin", day=day_number(LATER))]),
        "day",
        "events[0]",
    ),
    "birth month": (
        lambda led, _: led.add_members([NewMember("x", birth_month=13)]),
        "birth_month",
        "members[0]",
    ),
    "unknown referrer": (
        lambda led, _: led.add_members([NewMember("y", referrer="ghost")]),
        "referrer",
        "members[0]",
    ),
    "no evidence": (
        lambda led, _: led.apply_policy(load_policy(POLICY), "p.toml", LATER),
        "evidence",
        "",
    ),
    "missing evidence": (
        lambda led, log: led.apply_policy(
            load_policy(POLICY), "p.toml", LATER, evidence=log.with_name("summary.json")
        ),
        "evidence",
        "",
    ),
    "effective day already run": (
        lambda led, _: led.apply_policy(load_policy(POLICY), "p", START, force_reason="r"),
        "effective",
        "",
    ),
    "unknown group": (lambda led, _: led.policy_diff(load_policy(POLICY), "vip"), "group", ""),
    "replication not in the log": (
        lambda led, log: led.import_log(log, replication=5),
        "replication",
        "",
    ),
    "not a database URL": (lambda led, _: Ledger("mysql://host/points"), "url", ""),
    "no ledger file": (
        lambda led, log: Ledger(f"sqlite:///{log.with_name('none.db')}"),
        "url",
        "",
    ),
    "amount not a number": (lambda led, _: parse_money("12,50"), "amount", ""),
}


@pytest.mark.parametrize("case", LIBRARY_ERRORS)
def test_library_errors_name_the_field_and_no_option(led: Ledger, log: Path, case: str) -> None:
    call, field, at = LIBRARY_ERRORS[case]
    with pytest.raises(LedgerError) as info:
        call(led, log)
    err = info.value
    message = str(err)
    assert (err.field, err.at) == (field, at), message
    assert message == (f"{at}.{field}: {err.reason}" if at else f"{field}: {err.reason}")
    assert not OPTION.search(message), f"an option in the library's message {message!r}"
    again = pickle.loads(pickle.dumps(err))  # crosses processes whole (streams, pools)
    assert (type(again), str(again), again.field, again.at) == (type(err), message, field, at)


def test_a_file_line_is_joined_to_its_field_as_text() -> None:
    err = LedgerError("'x', expected an integer", field="amount", at="log.csv line 3")
    assert str(err) == "log.csv line 3: amount: 'x', expected an integer"
    assert str(LedgerError("refused", at="events[2]")) == "events[2]: refused"
    assert isinstance(IdempotencyConflict("x", field="client_id"), LedgerError)


def test_no_option_names_in_the_librarys_messages() -> None:
    """Every string of ``sim/ledger`` but docstrings: an option name in one fails (the CLI
    maps fields to its options, :data:`sim.cli_ledger.FLAGS`)."""
    found = [
        f"{path.relative_to(LIBRARY.parent.parent)}:{line}: {text!r}"
        for path in sorted(LIBRARY.rglob("*.py"))
        for line, text in option_strings(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "option names in library strings:\n" + "\n".join(found)
    planted = 'def f(x):\n    """--docstrings may name --options."""\n    raise E(f"--db {x}")\n'
    assert option_strings(planted) == [(3, "--db ")]  # the scan does see messages


def option_strings(source: str) -> list[tuple[int, str]]:
    """(line, text) of the string literals (f-string parts too) of ``source`` naming an
    option, docstrings and other bare string statements aside."""
    tree = ast.parse(source)
    bare = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in bare
        and OPTION.search(node.value)
    ]


# --------------------------------------------------------------------------- the command line


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner(env=env).invoke(main, ["ledger", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


CLI_ERRORS: dict[str, tuple[list[str], str]] = {
    # case: (command line after --db, the error's start)
    "adjust --points": (
        ["adjust", "--member", "m0", "--points", "0", "--reason", "typo"],
        "--points: 0, expected a non-zero adjustment",
    ),
    "adjust --reason": (
        ["adjust", "--member", "m0", "--points", "5", "--reason", " "],
        "--reason: empty, an operator adjust needs a reason",
    ),
    "freeze --reason": (
        ["freeze", "--member", "m0", "--reason", ""],
        "--reason: empty, an operator freeze needs a reason",
    ),
    "quote --amount": (
        ["quote", "--member", "m0", "--amount", "12,50"],
        "--amount: '12,50' is not a number (expected e.g. 129.90)",
    ),
    "quote --member": (
        ["quote", "--member", "ghost", "--amount", "5"],
        "--member: no member 'ghost' in the ledger",
    ),
    "offset --amount": (
        ["offset", "--member", "m0", "--amount", "0"],
        "--amount: 0, expected an order value > 0",
    ),
    "redeem --item": (
        ["redeem", "--member", "m0", "--item", "caviar"],
        "--item: 'caviar' is not a catalogue item",
    ),
    "redeem --member": (
        ["redeem", "--member", "ghost", "--item", "dessert"],
        "--member: no member 'ghost' in the ledger",
    ),
    "record --amount": (
        ["record", "purchase", "--member", "m0", "--amount", "1.0000001"],
        "--amount: '1.0000001' has more than 6 decimals",
    ),
    "record --quantity": (
        ["record", "redeem", "--member", "m0", "--name", "dessert", "--quantity", "-2"],
        "--quantity: -2, expected 0..1000000",
    ),
    "record --day": (
        ["record", "checkin", "--member", "m0", "--day", str(LATER)],
        f"--day: {LATER} is after the business day {START}",
    ),
    "record --id": (
        ["record", "checkin", "--member", "m0", "--id", "known"],
        "--id: 'known' was used for a different request",
    ),
    "record --note": (
        ["record", "adjust", "--member", "m0", "--quantity", "3"],
        "--note: empty, an operator adjust needs a reason",
    ),
    "record KIND": (["record", "teleport", "--member", "m0"], "KIND: 'teleport', expected one of"),
    "balance --member": (["balance", "--member", "ghost"], "--member: no member 'ghost'"),
    "add-member --referrer": (
        ["add-member", "x", "--referrer", "ghost"],
        "--referrer: no member 'ghost'",
    ),
    "add-member --group": (
        ["add-member", "x", "--group", "vip"],
        "--group: 'vip', expected one of ['default']",
    ),
    "apply-policy --effective": (
        ["apply-policy", str(POLICY), "--effective", str(START), "--force", "--reason", "r"],
        f"--effective: {START}: the ledger has run through",
    ),
    "apply-policy --group": (
        [
            "apply-policy",
            str(POLICY),
            *f"--effective {LATER} --group vip --force --reason r".split(),
        ],
        "--group: no group 'vip' in the ledger",
    ),
    "apply-policy without evidence": (
        ["apply-policy", str(POLICY), "--effective", str(LATER)],
        "apply-policy: give --evidence OUT/summary.json",
    ),
}


@pytest.mark.parametrize("case", CLI_ERRORS)
def test_cli_errors_name_the_option(led: Ledger, case: str) -> None:
    command, expected = CLI_ERRORS[case]
    code, _, err = cli(command[0], "--db", led.url, *command[1:])
    assert code == 1
    assert err.startswith(f"error: {expected}"), err
    assert "events[" not in err and "Traceback" not in err


def test_cli_errors_of_files_name_the_file_and_the_option(led: Ledger, log: Path) -> None:
    code, _, err = cli("import", "--db", led.url, str(log), "--replication", "5")
    assert (code, err) == (1, f"error: --replication: 5: {log} has no events of it\n")
    missing = log.with_name("none.db")
    code, _, err = cli("audit", "--db", f"sqlite:///{missing}")
    assert code == 1 and err.startswith(f"error: --db: sqlite:///{missing}: no such file"), err
    code, _, err = cli("audit", "--db", "mysql://host/points")
    assert code == 1 and err.startswith("error: --db: 'mysql://host/points': backend 'mysql'")


def test_a_feed_names_the_json_keys(led: Ledger, tmp_path: Path) -> None:
    lines = tmp_path / "events.jsonl"
    lines.write_text(
        '{"client_id": "f1", "member": "ghost", "kind": "checkin"}\n'
        '{"client_id": "f2", "member": "m0", "kind": "purchase", "amount": "1.0000001"}\n'
    )
    code, out, _ = cli("feed", "--db", led.url, str(lines))
    assert code == 1
    assert f"{lines} line 1: member: no member 'ghost' in the ledger" in out
    assert f"{lines} line 2: amount: '1.0000001' has more than 6 decimals" in out
    assert not OPTION.search(out)


def test_every_mapped_option_is_the_commands_own() -> None:
    """:data:`FLAGS` names, for each command, options (or arguments) that command has; so
    an error never names an option its --help does not show."""
    assert set(FLAGS) <= set(ledger.commands), set(FLAGS) - set(ledger.commands)
    for name, command in ledger.commands.items():
        given = {
            *(opt for p in command.params for opt in p.opts if opt.startswith("--")),
            *(p.human_readable_name for p in command.params if isinstance(p, click.Argument)),
        }
        assert "--db" in given, f"{name} takes no --db"
        missing = set(FLAGS.get(name, {}).values()) - given
        assert not missing, f"{name}: FLAGS names {missing}, not among its {sorted(given)}"


def test_help_says_where_db_goes() -> None:
    code, out, _ = cli("--help")
    text = " ".join(out.split())  # as wrapped to the terminal's width
    assert code == 0
    assert "pointsim ledger --db URL COMMAND" in text and "POINTSIM_DB" in text
    assert "after the command (pointsim ledger COMMAND --db URL ..., which wins)" in text
    for name in ledger.commands:
        code, out, _ = cli(name, "--help")
        text = " ".join(out.split())
        assert code == 0 and "--db URL" in text, name
        assert "$POINTSIM_DB" in text and "given here, it wins over the group's" in text, name


# --------------------------------------------------------------------------- --db


def test_db_is_taken_on_the_group_and_on_the_command(led: Ledger, tmp_path: Path) -> None:
    nowhere = f"sqlite:///{tmp_path / 'nowhere.db'}"
    code, out, err = cli("--db", led.url, "balance", "--member", "m0")
    assert code == 0 and '"available": 1000' in out, err
    code, out, err = cli("--db", nowhere, "balance", "--member", "m0", "--db", led.url)
    assert code == 0 and '"available": 1000' in out, err  # the command's --db wins
    code, _, err = cli("--db", led.url, "balance", "--member", "m0", "--db", nowhere)
    assert code == 1 and "nowhere.db: no such file" in err
    assert not (tmp_path / "nowhere.db").exists()


def test_db_defaults_to_pointsim_db(led: Ledger, tmp_path: Path) -> None:
    env = {"POINTSIM_DB": led.url}
    code, out, err = cli("balance", "--member", "m0", env=env)
    assert code == 0 and '"available": 1000' in out, err
    code, out, err = cli("audit", env=env)
    assert (code, out) == (0, "audit clean\n"), err
    nowhere = f"sqlite:///{tmp_path / 'nowhere.db'}"
    code, _, err = cli("--db", nowhere, "audit", env=env)  # an explicit --db beats the env
    assert code == 1 and "nowhere.db: no such file" in err

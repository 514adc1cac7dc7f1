"""``pointsim policy ...``: check, show, compare and describe policy files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from sim.files import write_text_atomic
from sim.policy import (
    Policy,
    PolicyError,
    content_hash,
    load_policy,
    override,
    parse_override,
)
from sim.policy.describe import describe, three_sentences
from sim.policy.diff import diff, render_diff

_FILE = click.Path(dir_okay=False, path_type=Path)


def _parse_sets(
    ctx: click.Context, param: click.Parameter, values: Sequence[str]
) -> dict[str, Any]:
    """``--set PATH=VALUE`` options as an ordered mapping (a later PATH wins)."""
    overrides: dict[str, Any] = {}
    for text in values:
        try:
            path, value = parse_override(text)
        except PolicyError as err:
            reason = "; ".join(p.message for p in err.problems)
            raise click.BadParameter(f"{text!r}: {reason}", ctx=ctx, param=param) from None
        overrides[path] = value
    return overrides


SET_OPTION = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="PATH=VALUE",
    callback=_parse_sets,
    help="Override a field by dotted path (repeatable), e.g. --set caps.daily=300.",
)


def load_with_sets(path: Path, overrides: dict[str, Any]) -> Policy:
    """Load and override a policy; problems with an override name the file they apply to."""
    return override(load_policy(path), overrides, source=f"{path} --set")


def _fail(err: PolicyError) -> None:
    for problem in err.problems:
        click.echo(str(problem), err=True)


@click.group()
def policy() -> None:
    """Check, show and compare policy files (policies/*.toml)."""


@policy.command()
@click.argument("files", nargs=-1, required=True, type=_FILE)
@SET_OPTION
def check(files: tuple[Path, ...], overrides: dict[str, Any]) -> None:
    """Validate FILES; list every problem of every file. Exit 1 if any is invalid."""
    failed = False
    for path in files:
        try:
            pol = load_with_sets(path, overrides)
        except PolicyError as err:
            _fail(err)
            failed = True
            continue
        click.echo(
            f"{path}: ok ({len(pol.earn)} earn rules, {len(pol.campaigns)} campaigns, "
            f"{len(pol.burn.catalogue)} catalogue items, content hash {content_hash(pol)[:12]})"
        )
    if failed:
        raise SystemExit(1)


@policy.command()
@click.argument("file", type=_FILE)
@SET_OPTION
def show(file: Path, overrides: dict[str, Any]) -> None:
    """The three sentences a member reads, then every rule of FILE in plain words."""
    try:
        pol = load_with_sets(file, overrides)
    except PolicyError as err:
        _fail(err)
        raise SystemExit(1) from None
    click.echo("\n".join(three_sentences(pol)))
    click.echo()
    click.echo(describe(pol), nl=False)


@policy.command(name="diff")
@click.argument("a", type=_FILE)
@click.argument("b", type=_FILE)
def diff_cmd(a: Path, b: Path) -> None:
    """The fields that differ from policy A to policy B, by dotted path."""
    policies: list[Policy] = []
    failed = False
    for path in (a, b):
        try:
            policies.append(load_policy(path))
        except PolicyError as err:
            _fail(err)
            failed = True
    if failed:
        raise SystemExit(1)
    click.echo(f"--- {a}\n+++ {b}")
    click.echo(render_diff(diff(*policies)), nl=False)


@policy.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the schema to this file instead of standard output.",
)
def schema(out: Path | None) -> None:
    """The JSON Schema of a policy file (for editors and validators)."""
    text = json.dumps(Policy.model_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        write_text_atomic(out, text)
    except OSError as err:
        raise click.FileError(str(out), hint=str(err.strerror or err)) from None
    click.echo(f"wrote {out}", err=True)

"""Reading policy files, reporting their errors, and making variants by dotted-path overrides."""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.files import InputFileError, read_input
from sim.policy.model import Policy


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (file and dotted field path) and what was expected."""

    source: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.path}" if self.path else self.source
        return f"{where}: {self.message}"


class PolicyError(ValueError):
    """A policy file, or an override of one, is not valid. ``problems`` lists every error."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


MAX_TOML_BYTES = 1 << 20
"""The largest policy or scenario file read (1 MiB; the shipped ones are a few KiB)."""


def read_toml(path: Path | str) -> dict[str, Any]:
    """Parse a TOML file, turning every failure into a :class:`PolicyError` naming the file:
    refused unless a regular file of at most :data:`MAX_TOML_BYTES` (never ``/dev/zero`` or a
    FIFO), and when nested too deeply for the parser."""
    path = Path(path)
    try:
        data = read_input(path, MAX_TOML_BYTES, "a TOML file")
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise PolicyError([Problem(str(path), "", "no such file")]) from None
    except InputFileError as err:
        raise PolicyError([Problem(str(path), "", f"cannot read the file: {err.reason}")]) from None
    except (OSError, UnicodeDecodeError) as err:
        raise PolicyError([Problem(str(path), "", f"cannot read the file ({err})")]) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # as a text-mode read did
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise PolicyError([Problem(str(path), "", f"not valid TOML: {err}")]) from None
    except RecursionError:
        raise PolicyError(
            [Problem(str(path), "", "nested too deeply (arrays or tables within one another)")]
        ) from None


def _clean_loc(loc: Iterable[int | str], data: Any) -> str:
    """Dotted path of a pydantic error location, without the union tags pydantic inserts."""
    parts: list[str] = []
    node = data
    tagged: set[int] = set()
    for seg in loc:
        if seg == "[key]":
            continue
        if isinstance(node, Mapping):
            if isinstance(seg, str) and node.get("kind") == seg and id(node) not in tagged:
                tagged.add(id(node))  # the discriminated-union tag pydantic puts in the path
                continue
            node = node.get(seg) if seg in node else None
        elif isinstance(node, list | tuple) and isinstance(seg, int) and seg < len(node):
            node = node[seg]
        else:
            if isinstance(seg, str) and "[" in seg:  # function-validator names
                continue
            node = None
        parts.append(str(seg))
    return ".".join(parts)


_KINDS_HINT = (
    "purchase, per_item, checkin, action, one_time, referral, task, investment, mentor_share"
)


def _describe(err: Mapping[str, Any]) -> str:
    msg = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key (not a field here; check the spelling)"
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_not_found":
        return f"missing 'kind' (expected one of: {_KINDS_HINT})"
    if kind == "union_tag_invalid":
        return f"unknown kind {err.get('input', {}).get('kind')!r}; expected one of: {_KINDS_HINT}"
    value = err.get("input")
    if kind not in ("model_type", "dict_type", "value_error") and not isinstance(
        value, dict | list
    ):
        return f"{msg} (got {value!r})"
    return msg


def problems_of(err: ValidationError, data: Mapping[str, Any], source: str) -> list[Problem]:
    """Every problem of a validation error, each at its dotted path in ``data`` (of ``source``)."""
    out: list[Problem] = []
    for e in err.errors():
        path = _clean_loc(e["loc"], data)
        message = _describe(e)
        if not path and e["type"] == "value_error":
            # whole-policy checks report "dotted.path: message" lines
            for line in message.splitlines():
                where, sep, what = line.partition(": ")
                out.append(Problem(source, where, what) if sep else Problem(source, "", line))
        else:
            out.append(Problem(source, *_field_of(path, message, data)))
    return out


def _field_of(path: str, message: str, data: Mapping[str, Any]) -> tuple[str, str]:
    """A table's own check that starts its message with one of the table's fields
    (``"segments: shares sum to 0.7"``) is reported at that field's dotted path."""
    head, sep, rest = message.partition(": ")
    node: Any = data
    for part in path.split(".") if path else ():
        node = node.get(part) if isinstance(node, Mapping) else None
    if sep and isinstance(node, Mapping) and head in node:
        return f"{path}.{head}", rest
    return path, message


def validate_policy(data: Mapping[str, Any], source: str = "<policy>") -> Policy:
    """Validate a parsed policy mapping; raise :class:`PolicyError` listing every problem."""
    try:
        return Policy.model_validate(data)
    except ValidationError as err:
        raise PolicyError(problems_of(err, data, source)) from None


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``path=value``; the value is read as TOML (``2``, ``0.5``, ``true``, ``[1, 2]``,
    ``"x"``) and taken as a plain string when it is not valid TOML."""
    path, sep, raw = text.partition("=")
    path = path.strip()
    if not sep or not path or any(not p for p in path.split(".")):
        raise PolicyError(
            [Problem("--set", text, "expected PATH=VALUE with a dotted PATH, e.g. caps.daily=500")]
        )
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        value = raw
    return path, value


def _thaw(value: Any) -> Any:
    """Plain, mutable containers (dicts and lists) of a dumped policy."""
    if isinstance(value, dict):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_thaw(v) for v in value]
    return value


def _set_path(data: dict[str, Any], path: str, value: Any, source: str, started: set[int]) -> None:
    """Set ``path`` in ``data``. Keys must exist, except inside optional tables that were unset
    and are being started by this override (their ids are in ``started``)."""
    node: Any = data
    parts = path.split(".")
    for i, key in enumerate(parts):
        here = ".".join(parts[: i + 1])
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise PolicyError(
                    [Problem(source, here, f"no such list index (the list has {len(node)})")]
                )
            if last:
                node[int(key)] = value
                return
            node = node[int(key)]
            continue
        if not isinstance(node, dict) or (key not in node and id(node) not in started):
            known = ", ".join(sorted(node)) if isinstance(node, dict) else "none"
            raise PolicyError(
                [Problem(source, here, f"no such field to override (fields here: {known})")]
            )
        if last:
            node[key] = value
            return
        if node.get(key) is None:  # an optional table not set: start it empty
            node[key] = {}
            started.add(id(node[key]))
        node = node[key]


def apply_overrides(
    data: Mapping[str, Any], overrides: Mapping[str, Any], source: str = "--set"
) -> dict[str, Any]:
    """A plain copy of ``data`` (a dumped model) with fields replaced by dotted path; an
    optional table that is unset is started by the first override into it. Unknown paths
    raise :class:`PolicyError` naming ``source`` and the path."""
    out: dict[str, Any] = _thaw(data)
    started: set[int] = set()
    for path, value in overrides.items():
        _set_path(out, path, value, source, started)
    return out


def override(policy: Policy, overrides: Mapping[str, Any], source: str = "--set") -> Policy:
    """A new policy with fields replaced by dotted path; validated again. Unknown paths fail."""
    if not overrides:
        return policy
    return validate_policy(
        apply_overrides(policy.model_dump(mode="python"), overrides, source), source
    )


def load_policy(path: Path | str, overrides: Mapping[str, Any] | None = None) -> Policy:
    """Read, validate and (optionally) override a policy file."""
    policy = validate_policy(read_toml(path), str(path))
    return override(policy, overrides or {})


def content_hash(policy: Policy) -> str:
    """SHA-256 of the policy's canonical JSON (fields in model order, rule tables in their
    application order as written): the identity the ledger checks evidence against."""
    canonical = json.dumps(policy.model_dump(mode="json"), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def policy_toml(policy: Policy) -> str:
    """The policy as a TOML file that loads back to the same policy (same content hash):
    every field written out, defaults included, unset optional fields left out."""
    import tomli_w

    return tomli_w.dumps(policy.model_dump(mode="json", exclude_none=True))

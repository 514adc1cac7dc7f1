"""Reading scenario files into a :class:`Scenario`: the spec plus each group's resolved policy."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.files import read_input
from sim.kpi import EXPERIMENT, SUMMARY
from sim.policy import Policy
from sim.policy.load import (
    MAX_TOML_BYTES,
    PolicyError,
    Problem,
    apply_overrides,
    content_hash,
    load_policy,
    override,
    parse_override,
    problems_of,
    read_toml,
)
from sim.scenario.model import NO_PROGRAMME, SCENARIO_KEYS, Group, ScenarioSpec

DEFAULT_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "double_points.toml"


class ScenarioError(PolicyError):
    """A scenario file, its policy, or an override of either is not valid."""


@dataclass(frozen=True)
class Arm:
    """One experiment group as it runs: its policy and where its members come from."""

    group: str
    policy: Policy
    policy_file: str
    policy_hash: str
    label: int
    """Index into the policy's ``program.groups`` that the group's members carry."""
    share: float
    """Share of the population (1 for every group of a ``twin`` design)."""


@dataclass(frozen=True)
class Origin:
    """How a scenario was loaded: enough to load it again and check it is the same file
    (``pointsim ledger apply-policy --verify`` re-runs a simulation from it)."""

    file: str
    sha256: str
    """Of the scenario file's bytes when it was read."""
    sets: tuple[str, ...] = ()
    members: int | None = None
    days: int | None = None
    replications: int | None = None
    seed: int | None = None
    no_programme: bool = False


@dataclass(frozen=True)
class Scenario:
    """A validated scenario with its policies resolved, ready to simulate."""

    spec: ScenarioSpec
    source: str
    arms: tuple[Arm, ...]
    control: str | None
    """The group others are compared with (None: no experiment)."""
    reference: Policy
    """The programme under which members' baseline behaviour was observed: responses are
    measured against it. ``reference_policy`` of the file, else the control group's policy
    as the file defines it (its own and the scenario's ``set``, without ``--set`` or sweep
    overrides, so that those show as changes)."""
    origin: Origin | None = None
    """How it was loaded (None: from a sweep point's values, which a file cannot repeat)."""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def design(self) -> str:
        return "twin" if self.spec.experiment is None else self.spec.experiment.design

    def bands(self) -> dict[str, tuple[float | None, float | None]]:
        return {k: (b.min, b.max) for k, b in self.spec.health.items()}


def _validate(data: Mapping[str, Any], source: str) -> ScenarioSpec:
    try:
        return ScenarioSpec.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(problems_of(err, data, source)) from None


class Sources:
    """The files a scenario reads, each read and parsed once: the scenario's TOML and each
    policy file. Pass one to every :func:`load_scenario` of a sweep, so its points are built
    in memory from the parsed files rather than by reading them again."""

    def __init__(self) -> None:
        self._toml: dict[Path, dict[str, Any] | PolicyError] = {}
        self._policies: dict[Path, Policy | PolicyError] = {}

    def toml(self, path: Path) -> dict[str, Any]:
        key = path.resolve()
        if key not in self._toml:
            try:
                self._toml[key] = read_toml(path)
            except PolicyError as err:
                self._toml[key] = err
        found = self._toml[key]
        if isinstance(found, PolicyError):
            raise found
        return found

    def policy(self, path: Path) -> Policy:
        key = path.resolve()
        if key not in self._policies:
            try:
                self._policies[key] = load_policy(path)
            except PolicyError as err:
                self._policies[key] = err
        found = self._policies[key]
        if isinstance(found, PolicyError):
            raise found
        return found


def load_scenario(
    path: Path | str | None = None,
    *,
    sets: Iterable[str] = (),
    members: int | None = None,
    days: int | None = None,
    replications: int | None = None,
    seed: int | None = None,
    values: Mapping[str, Any] | None = None,
    sources: Sources | None = None,
    no_programme: bool = False,
) -> Scenario:
    """Read and validate a scenario (default: ``scenarios/double_points.toml``) and its
    policies. ``sets`` are ``PATH=VALUE`` overrides: a path starting with a scenario key
    (``population.size``, ``horizon.days`` ...) sets the scenario, any other path sets the
    policy of every group (``caps.daily``, ``campaigns.double11.multiplier`` ...). ``values``
    are overrides already parsed (path -> value, e.g. a sweep point's), applied after ``sets``.
    A set or a value changes exactly the field it names.

    The keyword arguments are shorthands for the scenario paths ``horizon.days``,
    ``replications`` and ``seed``; ``members`` is the same economy with that many members:
    it sets ``population.size`` and scales what the file counts for the whole population,
    ``population.joins_per_day``, by ``members`` / the file's size (a Poisson mean, kept a
    float), so that new members a day per member stay as written. A ``joins_per_day`` given
    by ``sets`` or ``values`` is taken as given. (``--set population.size=N``, or a sweep
    over it, sets the size alone: the same joiners into a larger or smaller base.)

    ``sources``: files already read (:class:`Sources`); default: read them now.

    ``no_programme``: add the no-programme group (``[experiment] no_programme = true``).

    Raises :class:`ScenarioError` naming the file and field of every problem, before
    anything runs."""
    path = Path(path) if path is not None else DEFAULT_SCENARIO
    source = str(path)
    sources = sources if sources is not None else Sources()
    try:
        data = sources.toml(path)
    except PolicyError as err:
        raise ScenarioError(err.problems) from None
    scenario_sets: dict[str, Any] = {}
    policy_sets: dict[str, Any] = {}
    try:
        for text in sets:
            key, value = parse_override(text)
            (scenario_sets if key.split(".")[0] in SCENARIO_KEYS else policy_sets)[key] = value
    except PolicyError as err:
        raise ScenarioError(err.problems) from None
    for key, value in (
        ("population.size", members),
        ("horizon.days", days),
        ("replications", replications),
        ("seed", seed),
    ):
        if value is not None:
            scenario_sets[key] = value
    for key, value in (values or {}).items():
        (scenario_sets if key.split(".")[0] in SCENARIO_KEYS else policy_sets)[key] = value
    spec = _validate(data, source)
    if members is not None:
        scenario_sets = {**_scaled(spec, members), **scenario_sets}
    if scenario_sets:
        try:
            raw = apply_overrides(spec.model_dump(mode="python"), scenario_sets, "--set")
        except PolicyError as err:
            raise ScenarioError(err.problems) from None
        spec = _validate(raw, "--set")
    if no_programme:
        exp = spec.experiment
        spec = _validate(
            {
                **spec.model_dump(mode="python"),
                "experiment": {
                    **(exp.model_dump(mode="python") if exp is not None else {}),
                    "no_programme": True,
                },
            },
            "--no-programme",
        )
    problems = _band_problems(spec, source)
    if problems:
        raise ScenarioError(problems)
    arms = _arms(spec, path, policy_sets, sources)
    tiers = {t for arm in arms for t in arm.policy.tiers}
    unknown = [
        Problem(source, f"health.{name}", f"no tier {name[5:-6]!r} in the policy's tiers")
        for name in spec.health
        if name.startswith("tier_") and name.endswith("_share") and name[5:-6] not in tiers
    ]
    if unknown:
        raise ScenarioError(unknown)
    origin = None
    if not values and path.is_file():
        origin = Origin(
            str(path.resolve()),
            hashlib.sha256(read_input(path, MAX_TOML_BYTES, "a TOML file")).hexdigest(),
            tuple(sets),
            members,
            days,
            replications,
            seed,
            no_programme,
        )
    return Scenario(spec, source, arms, _control(spec), _reference(spec, path, sources), origin)


def _scaled(spec: ScenarioSpec, members: int) -> dict[str, Any]:
    """Overrides of the scenario's population-wide counts (``joins_per_day``; every other
    population field is a share or a per-member figure) for ``members`` members instead of
    the file's size. Nothing when the size is unchanged or ``members`` is not a valid size
    (validation says so). The caller lets explicit overrides of these paths win."""
    size = spec.population.size
    if members == size or members < 1:
        return {}
    return {"population.joins_per_day": spec.population.joins_per_day * members / size}


def _band_problems(spec: ScenarioSpec, source: str) -> list[Problem]:
    known = {h.name for h in SUMMARY} | {h.name for h in EXPERIMENT}
    out = []
    for name in spec.health:
        if name not in known and not (name.startswith("tier_") and name.endswith("_share")):
            out.append(
                Problem(
                    source,
                    f"health.{name}",
                    "not a headline metric (expected one of: " + ", ".join(sorted(known)) + ")",
                )
            )
    return out


def _control(spec: ScenarioSpec) -> str | None:
    exp = spec.experiment
    if exp is None or len(exp.groups) < 2:
        return None
    return exp.control_group


def _reference(spec: ScenarioSpec, path: Path, sources: Sources) -> Policy:
    control = _control(spec)
    if spec.reference_policy == NO_REFERENCE:
        arms = _arms(spec, path, {}, sources)
        base = next((a for a in arms if a.group == control), arms[0])
        return _no_programme(base).policy
    if spec.reference_policy is not None:
        file = (path.parent / spec.reference_policy).resolve()
        if not file.is_file():
            raise ScenarioError(
                [Problem(str(path), "reference_policy", f"no such policy file: {file}")]
            )
        return _policy(file, {}, str(path), {}, sources)
    arms = _arms(spec, path, {}, sources)
    return next((a.policy for a in arms if a.group == control), arms[0].policy)


def _policy(
    file: Path,
    sets: Mapping[str, Any],
    source: str,
    cli_sets: Mapping[str, Any],
    sources: Sources,
) -> Policy:
    try:
        policy = override(sources.policy(file), sets, source)
        return override(policy, cli_sets, "--set")
    except PolicyError as err:
        raise ScenarioError(err.problems) from None


def _arms(
    spec: ScenarioSpec, path: Path, cli_sets: Mapping[str, Any], sources: Sources
) -> tuple[Arm, ...]:
    base_file = (path.parent / spec.policy).resolve()
    if not base_file.is_file():
        raise ScenarioError([Problem(str(path), "policy", f"no such policy file: {base_file}")])
    exp = spec.experiment
    groups: Mapping[str, Group | None] = (
        exp.groups if exp is not None and exp.groups else {"all": None}
    )
    twin = exp is None or exp.design == "twin"
    arms = []
    for name, group in groups.items():
        file = base_file
        if group is not None and group.policy is not None:
            file = (path.parent / group.policy).resolve()
            if not file.is_file():
                raise ScenarioError(
                    [
                        Problem(
                            str(path),
                            f"experiment.groups.{name}.policy",
                            f"no such policy file: {file}",
                        )
                    ]
                )
        sets = {**spec.set, **(group.set if group is not None else {})}
        where = f"{path} (policy overrides of group {name!r})"
        policy = _policy(file, sets, where, cli_sets, sources)
        labels = policy.program.groups
        wanted = group.label if group is not None and group.label is not None else None
        if wanted is not None and wanted not in labels:
            raise ScenarioError(
                [
                    Problem(
                        str(path),
                        f"experiment.groups.{name}.label",
                        f"{wanted!r} is not in the policy's program.groups {list(labels)}",
                    )
                ]
            )
        label = labels.index(wanted or name) if (wanted or name) in labels else 0
        share = 1.0 if twin or group is None else group.share
        arms.append(Arm(name, policy, str(file), content_hash(policy), label, share))
    if exp is not None and exp.no_programme:
        arms.append(_no_programme(next(a for a in arms if a.group == exp.control_group)))
    return tuple(arms)


NO_REFERENCE = "none"
"""``reference_policy = "none"``: members' baseline rates are how they buy without a programme."""


def _no_programme(base: Arm) -> Arm:
    """The group with ``base``'s policy and nothing to earn (so nothing to burn either):
    every earn rule and campaign off."""
    off = {f"earn.{rule}.enabled": False for rule in base.policy.earn}
    off.update({f"campaigns.{name}.enabled": False for name in base.policy.campaigns})
    try:
        policy = override(base.policy, off, f"{NO_PROGRAMME} group")
    except PolicyError as err:
        raise ScenarioError(err.problems) from None
    return Arm(NO_PROGRAMME, policy, base.policy_file, content_hash(policy), base.label, 1.0)

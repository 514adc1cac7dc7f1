"""Layers (DESIGN.md section 2): the import graph of ``sim`` only points down.

Every module under ``sim/`` is parsed with :mod:`ast` (no import is executed), and every import
it makes is read: at the top, inside functions, under ``if TYPE_CHECKING``; ``from a import b``
counts as importing the module ``a.b`` when there is one. Each module belongs to a package
(``sim.policy.load`` to ``sim.policy``; a top-level module is its own package) and each package
to one layer:

=============  ==========================================================================
foundation     ``sim`` (the version), ``sim.files``, ``sim.kpi`` (the metric catalogue),
               ``sim.text`` (text and number formatting): importable by every layer
inputs         ``sim.policy``, ``sim.behaviour``, ``sim.scenario``
engine         ``sim.engine``, ``sim.accounting`` (the pure core both shells share)
shells         ``sim.world``, ``sim.ledger``
analysis       ``sim.metrics``, ``sim.health``, ``sim.sweep``, ``sim.report``
application    ``sim.execute``, ``sim.outputs``, ``sim.runner``, ``sim.verify``,
               ``sim.calibrate``, ``sim.memory``, ``sim.cli*``, ``sim.__main__``
=============  ==========================================================================

The rules (:data:`RULES`):

1. ``below-analysis``: inputs and the engine never import analysis, the shells or the
   application.
2. ``engine-pure``: the engine (and the accounting over its postings) imports, of ours, only
   the engine's own modules and the policy model
   (``sim.policy`` itself and its model modules ``base``, ``earn``, ``burn``, ``control``,
   ``model``; not the policy's reading, describing or diffing, nor the foundation). That is
   what it imports today, and DESIGN's "numpy and the policy model, nothing else of ours".
3. ``shells-apart``: ``sim.world`` and ``sim.ledger`` never import each other.
4. ``shells-below-analysis``: the shells never import analysis or the application, except the
   result contract (:data:`RESULT_CONTRACT`: the typed summary and the health judgement,
   which the ledger's apply gate reads a simulation's evidence with). No other exception for
   ``sim.metrics``: the schema of the tables the world writes (and the result
   tables' container) is the foundation module ``sim.kpi``, which both may import.
5. ``no-private``: no module imports a ``_private`` name (or a ``_private`` module) of another
   package; a name another package needs is public.
6. ``foundation-alone``: foundation modules import nothing of ours but other foundation
   modules.

A module in no layer fails the test: a new package is placed on purpose. Offenders that existed
when a rule was written are listed in :data:`KNOWN` (to be fixed by the files' owners): the rule
test fails on any other offender, and on a listed one that is gone (remove it from the list);
``test_no_known_offenders_left`` keeps the list empty: every offender of issue 13 is fixed.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SIM = ROOT / "sim"

FOUNDATION = frozenset({"sim", "sim.files", "sim.kpi", "sim.text"})
INPUTS = frozenset({"sim.policy", "sim.behaviour", "sim.scenario"})
ENGINE = frozenset({"sim.engine", "sim.accounting"})
SHELLS = frozenset({"sim.world", "sim.ledger"})
ANALYSIS = frozenset({"sim.metrics", "sim.health", "sim.execute", "sim.sweep", "sim.report"})
"""``sim.execute`` runs runs and reads their headline metrics: the sweep builds on it."""
APPLICATION = frozenset(
    {"sim.outputs", "sim.runner", "sim.verify", "sim.memory", "sim.calibrate", "sim.__main__"}
)
"""Besides every ``sim.cli*`` module. ``sim.calibrate`` runs scenarios and writes policies."""

POLICY_MODEL = frozenset(
    {"sim.policy", *(f"sim.policy.{m}" for m in ("base", "earn", "burn", "control", "model"))}
)
"""What of the policy the engine may import: the package's public names and its model."""


@dataclass(frozen=True)
class Import:
    """One module imported by one module of ours: ``name`` is the name taken from it (``from
    module import name``), or None for ``import module``."""

    importer: str
    path: str
    line: int
    module: str
    name: str | None

    def __str__(self) -> str:
        what = f"{self.module}.{self.name}" if self.name else self.module
        return f"{self.path}:{self.line}: {self.importer} imports {what}"


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(module: str) -> str:
    """``sim.policy.load`` -> ``sim.policy``; ``sim.files`` -> ``sim.files``; ``sim`` -> ``sim``."""
    return ".".join(module.split(".")[:2])


def layer_of(package: str) -> str | None:
    for name, members in (
        ("foundation", FOUNDATION),
        ("inputs", INPUTS),
        ("engine", ENGINE),
        ("shells", SHELLS),
        ("analysis", ANALYSIS),
        ("application", APPLICATION),
    ):
        if package in members:
            return name
    if package.startswith("sim.cli"):
        return "application"
    return None


def imports_in(
    module: str, text: str, *, path: str = "", is_package: bool = False, modules: Iterable[str] = ()
) -> list[Import]:
    """Every import of ours (``sim`` and below) in a module's source, wherever it stands.
    ``modules`` are the known module names, to tell ``from sim.engine import calendar`` (a
    module) from ``from sim.engine import Kind`` (a name)."""
    known = set(modules)
    here = module if is_package else module.rpartition(".")[0]
    out: list[Import] = []
    for node in ast.walk(ast.parse(text, filename=path or module)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.append(Import(module, path, node.lineno, alias.name, None))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in known:
                    out.append(Import(module, path, node.lineno, sub, None))
                else:
                    out.append(Import(module, path, node.lineno, base, alias.name))
    return [i for i in out if i.module == "sim" or i.module.startswith("sim.")]


def sim_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(SIM.rglob("*.py"))}


def all_imports() -> list[Import]:
    modules = sim_modules()
    out: list[Import] = []
    for name, file in modules.items():
        out += imports_in(
            name,
            file.read_text(encoding="utf-8"),
            path=str(file.relative_to(ROOT)),
            is_package=file.name == "__init__.py",
            modules=modules,
        )
    return out


def _private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def below_analysis(i: Import) -> bool:
    src, dst = layer_of(package_of(i.importer)), layer_of(package_of(i.module))
    return src in ("inputs", "engine") and dst in ("analysis", "shells", "application")


def engine_pure(i: Import) -> bool:
    if package_of(i.importer) not in ENGINE:
        return False
    return package_of(i.module) not in ENGINE and i.module not in POLICY_MODEL


def shells_apart(i: Import) -> bool:
    src, dst = package_of(i.importer), package_of(i.module)
    return src in SHELLS and dst in SHELLS and src != dst


RESULT_CONTRACT = frozenset({"sim.health", "sim.metrics.results"})
"""What a shell may read of analysis: the typed summary and the health judgement, which the
ledger's apply gate checks a simulation's evidence with (issue 13: one home for each)."""


def shells_below_analysis(i: Import) -> bool:
    src, dst = layer_of(package_of(i.importer)), layer_of(package_of(i.module))
    target = f"{i.module}.{i.name}" if i.name else i.module
    contract = any(target == m or target.startswith(f"{m}.") for m in RESULT_CONTRACT)
    return src == "shells" and dst in ("analysis", "application") and not contract


def no_private(i: Import) -> bool:
    if package_of(i.importer) == package_of(i.module):
        return False
    parts = i.module.split(".") + ([i.name] if i.name else [])
    return any(_private(p) for p in parts)


def foundation_alone(i: Import) -> bool:
    return package_of(i.importer) in FOUNDATION and package_of(i.module) not in FOUNDATION


RULES: dict[str, tuple[str, Callable[[Import], bool]]] = {
    "below-analysis": (
        "inputs (sim.policy, sim.behaviour, sim.scenario) and sim.engine never import analysis "
        "(sim.metrics, sim.health, sim.sweep, sim.report), the shells (sim.world, sim.ledger) "
        "or the application (sim.execute, sim.outputs, sim.runner, sim.cli*)",
        below_analysis,
    ),
    "engine-pure": (
        "sim.engine imports, of ours, only sim.engine and the policy model (sim.policy, "
        "sim.policy.base/earn/burn/control/model)",
        engine_pure,
    ),
    "shells-apart": ("sim.world and sim.ledger never import each other", shells_apart),
    "shells-below-analysis": (
        "sim.world and sim.ledger never import analysis or the application (the tables' "
        "schema is the foundation module sim.kpi)",
        shells_below_analysis,
    ),
    "no-private": (
        "no module imports a _private name or module of another package",
        no_private,
    ),
    "foundation-alone": (
        "foundation modules (sim, sim.files, sim.kpi, sim.text) import nothing of ours but "
        "other foundation modules",
        foundation_alone,
    ),
}

KNOWN: Mapping[str, frozenset[tuple[str, str]]] = {}
"""Offenders found when the rules were written (issue 13): (importing module, imported name)."""


def key(i: Import) -> tuple[str, str]:
    return (i.importer, f"{i.module}.{i.name}" if i.name else i.module)


def offenders(rule: str, imports: Iterable[Import]) -> list[Import]:
    return [i for i in imports if RULES[rule][1](i)]


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return all_imports()


def test_every_module_is_in_a_layer() -> None:
    loose = sorted(m for m in sim_modules() if layer_of(package_of(m)) is None)
    assert not loose, (
        f"modules in no layer: {loose}; add their package to a layer in tests/test_layers.py"
    )


def test_the_walker_sees_the_whole_graph(imports: list[Import]) -> None:
    """A check that the graph is read at all: known edges of each kind are there."""
    edges = {key(i) for i in imports}
    assert ("sim.scenario.load", "sim.kpi.SUMMARY") in edges  # top level, from-import
    assert ("sim.engine.context", "sim.engine.calendar") in edges  # from package import module
    assert ("sim.policy.load", "sim.policy.model.Policy") in edges
    assert len(imports) > 200


@pytest.mark.parametrize("rule", sorted(RULES))
def test_layer_rule(rule: str, imports: list[Import]) -> None:
    text, _ = RULES[rule]
    found = offenders(rule, imports)
    known = KNOWN.get(rule, frozenset())
    new = [i for i in found if key(i) not in known]
    gone = sorted(known - {key(i) for i in found})
    lines = [f"rule {rule}: {text}"]
    lines += [f"  {i}" for i in new]
    if gone:
        lines.append("  fixed, so remove from KNOWN in tests/test_layers.py:")
        lines += [f"    {importer} -> {name}" for importer, name in gone]
    if new or gone:
        pytest.fail("\n".join(lines), pytrace=False)


def test_no_known_offenders_left() -> None:
    listed = sorted(f"{rule}: {a} -> {b}" for rule, keys in KNOWN.items() for a, b in keys)
    assert not listed, "still known offenders:\n" + "\n".join(listed)


# The walker itself, on synthetic modules.

MODULES = ("sim.metrics.summary", "sim.engine.calendar", "sim.scenario.model")


def synthetic(module: str, text: str, *, is_package: bool = False) -> list[Import]:
    return imports_in(module, text, path="<synthetic>", is_package=is_package, modules=MODULES)


@pytest.mark.parametrize(
    "text",
    [
        "from sim.metrics.summary import format_value\n",
        "import sim.metrics.summary\n",
        "from sim.metrics import summary\n",
        "def f():\n    from sim.metrics.summary import format_value\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from sim.report import html\n",
        "class C:\n    def m(self):\n        import sim.sweep as s\n",
        "from ..metrics.summary import format_value\n",
    ],
    ids=["from", "import", "from_package", "in_function", "type_checking", "in_method", "relative"],
)
def test_the_walker_catches_an_upward_import(text: str) -> None:
    found = offenders("below-analysis", synthetic("sim.scenario.fake", text))
    assert len(found) == 1
    message = str(found[0])
    assert message.startswith("<synthetic>:")
    assert "sim.scenario.fake imports sim." in message


def test_the_walker_names_module_line_and_import() -> None:
    text = '"""Doc."""\n\nimport numpy\n\n\ndef f():\n    from sim.metrics.summary import fmt\n'
    (found,) = offenders("below-analysis", synthetic("sim.engine.fake", text))
    assert str(found) == "<synthetic>:7: sim.engine.fake imports sim.metrics.summary.fmt"


def test_the_walker_lets_allowed_imports_pass() -> None:
    text = (
        "import numpy\nfrom sim.engine import calendar\nfrom sim.policy import Policy\n"
        "from sim.policy.earn import PurchaseRule\nfrom . import calendar as cal\n"
    )
    found = synthetic("sim.engine.fake", text)
    assert {key(i) for i in found} == {
        ("sim.engine.fake", "sim.engine.calendar"),
        ("sim.engine.fake", "sim.policy.Policy"),
        ("sim.engine.fake", "sim.policy.earn.PurchaseRule"),
    }
    for rule in RULES:
        assert not offenders(rule, found), rule


@pytest.mark.parametrize(
    ("module", "text", "rule"),
    [
        ("sim.engine.fake", "from sim.policy.load import read_toml\n", "engine-pure"),
        ("sim.engine.fake", "from sim.kpi import DAILY\n", "engine-pure"),
        ("sim.world.fake", "from sim.ledger import Ledger\n", "shells-apart"),
        ("sim.ledger.fake", "import sim.world\n", "shells-apart"),
        ("sim.world.fake", "from sim.metrics.schema import DAILY\n", "shells-below-analysis"),
        ("sim.ledger.fake", "from sim.cli_run import run\n", "shells-below-analysis"),
        ("sim.sweep.fake", "from sim.policy.load import _problems\n", "no-private"),
        ("sim.sweep.fake", "from sim.report._private import label\n", "no-private"),
        ("sim.kpi", "from sim.engine import Account\n", "foundation-alone"),
        ("sim.files", "def f():\n    import sim.metrics\n", "foundation-alone"),
    ],
)
def test_the_walker_catches_each_rule(module: str, text: str, rule: str) -> None:
    assert len(offenders(rule, synthetic(module, text))) == 1


def test_private_names_within_a_package_and_dunders_are_fine() -> None:
    text = "from sim.policy.load import _problems\nfrom sim import __version__\n"
    assert not offenders("no-private", synthetic("sim.policy.fake", text))
    assert not offenders("foundation-alone", synthetic("sim.kpi", "import sim\n"))

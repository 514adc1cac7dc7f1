"""The summary of a run as a typed, versioned value: ``summary.json``.

Written by :func:`sim.metrics.summary.summarise` and read back through :meth:`Summary.read` by
the report, the notebooks and the ledger's apply gate; nothing indexes the summary by string
keys outside this model. Its JSON Schema (:meth:`Summary.json_schema_text`) is shipped as
``docs/summary.schema.json`` (a test keeps it current). ``schema_version`` changes whenever a
field changes meaning.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.files import InputFileError, read_input, write_text_atomic
from sim.health import Band, Health, Status, judge

__all__ = [
    "SCHEMA_VERSION",
    "Comparison",
    "Metric",
    "PolicyRef",
    "Stat",
    "Summary",
    "SummaryError",
    "Window",
]

MAX_SUMMARY_BYTES = 16 << 20
"""The largest ``summary.json`` read (16 MiB; a run writes tens of KiB)."""

SCHEMA_VERSION: Literal[2] = 2
"""1: the untyped summary of pointsim 0.1 (status ``ok``/``low``/``high`` from the mean alone);
2: this model (health judged with the interval by :mod:`sim.health`)."""


class SummaryError(ValueError):
    """A ``summary.json`` that is not a summary this version of pointsim can read."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Stat(_Model):
    """A figure over replications: mean, sample sd and 95% t-interval (``None`` where
    undefined: no finite value, or a single replication for sd and the interval)."""

    mean: float | None
    ci_low: float | None
    ci_high: float | None
    sd: float | None
    n: int = Field(ge=0)
    """Replications with a finite value."""
    unit: str
    text: str

    @property
    def has_interval(self) -> bool:
        return self.ci_low is not None and self.ci_high is not None


class MonthHealth(_Model):
    """A banded metric over one calendar month of the window, judged against its band."""

    month: str
    """``YYYY-MM``."""
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    status: Status | None
    side: Literal["low", "high"] | None = None


class Metric(Stat):
    """A headline metric of one group, with its health band and verdict where it has one."""

    band: Band | None = None
    status: Status | None = None
    """:func:`sim.health.judge` of the mean and interval against ``band``."""
    side: Literal["low", "high"] | None = None
    certain: bool | None = None
    """False when the verdict rests on the mean alone (one replication)."""
    months: list[MonthHealth] = []
    """A banded metric month by month (window-additive metrics only), so that a year inside
    its band that runs outside it for some months says so."""

    def months_not_inside(self) -> list[MonthHealth]:
        """The months whose interval is not inside the band (outside or straddling)."""
        return [m for m in self.months if m.status not in (None, "inside")]

    def months_text(self) -> str:
        """The months off the band in words (``above its band in 2026-09, 2026-10; its CI
        straddles an edge in 2026-08``), "" when every month is inside."""
        where = {"low": "below", "high": "above"}
        parts = []
        for side in ("high", "low"):
            out = [m.month for m in self.months if m.status == "outside" and m.side == side]
            if out:
                parts.append(f"{where[side]} its band in {', '.join(out)}")
        edge = [m.month for m in self.months if m.status == "straddling"]
        if edge:
            parts.append(f"its CI straddles an edge in {', '.join(edge)}")
        return "; ".join(parts)

    def health(self) -> Health | None:
        """The verdict as :class:`sim.health.Health` (None: no band or no mean)."""
        return judge(self.mean, self.ci_low, self.ci_high, self.band)


class Verdict(_Model):
    """Whether the treatment pays for itself: ROI (with outstanding points) against
    break-even 1, judged with its 95% interval."""

    outcome: Literal["pays", "does_not_pay", "cannot_tell"]
    text: str
    """The answer in words, with the figure and its interval."""
    replications_needed: int | None = None
    """With ``cannot_tell``: about how many replications would decide (None: one replication
    gives no interval to extrapolate, or ROI sits at break-even)."""


class Comparison(_Model):
    """A treatment against the control, per replication on common random numbers."""

    vs: str
    """The control group."""
    metrics: dict[str, Stat]
    """The experiment figures (``incremental_gmv``, ``roi`` ...)."""
    differences: dict[str, Stat]
    """Treatment minus control of every headline metric."""
    verdict: Verdict | None = None
    """Does it pay for itself (None: ROI undefined, no change in points cost)."""


class ReportedRow(_Model):
    """A figure the scenario's source reports beside the simulated one (see
    :mod:`sim.metrics.reported`)."""

    key: str
    reported: float
    simulated: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    unit: str = ""
    definition: str = ""
    """How the simulated figure is computed."""
    reason: str = ""
    """Why there is no simulated figure ("" when there is one)."""


class Window(_Model):
    start: dt.date
    end: dt.date
    days: int = Field(ge=0)


class PolicyRef(_Model):
    name: str
    file: str
    content_hash: str


class RunRecord(_Model):
    """How the run was made: the scenario file (and its SHA-256 when read) and the command
    line's overrides, so that it can be made again (``pointsim ledger apply-policy
    --verify``)."""

    file: str
    sha256: str
    sets: list[str] = []
    members: int | None = None
    days: int | None = None
    replications: int | None = None
    seed: int | None = None
    no_programme: bool = False


class Summary(_Model):
    """``summary.json``: every headline metric's mean and 95% CI per group, the effect of each
    treatment against the control, and the headline in words."""

    schema_version: Literal[2] = SCHEMA_VERSION
    scenario: str
    title: str
    currency: str
    replications: int = Field(ge=0)
    groups: list[str]
    control: str | None
    window: Window
    policies: dict[str, PolicyRef]
    metrics: dict[str, dict[str, Metric]]
    """Group -> metric name -> figure."""
    experiment: dict[str, Comparison] | None
    """Treatment group -> its comparison with the control (None: no experiment)."""
    warnings: list[str] = []
    """Why some figures cannot be read plainly (an effect still moving at the window's end,
    balances not settled after the warm-up), in words; the headline repeats them."""
    reported: list[ReportedRow] = []
    """The scenario source's reported figures beside the simulated ones."""
    programme_effect: dict[str, Comparison] | None = None
    """Group -> its programme against the no-programme group (the same members with nothing
    to earn or burn): the programme's own effect (None: no such group)."""
    assumptions: list[str] = []
    """Assumptions the figures rest on that a reader must be told, in words (e.g. the
    reference programme behaviour is measured against, a win-back rate)."""
    run: RunRecord | None = None
    """How the run was made (None: a sweep point, or a summary written before it was kept)."""
    headline: str

    def metric(self, group: str, name: str) -> Metric:
        """One group's headline metric; ``KeyError`` naming what exists otherwise."""
        try:
            by_name = self.metrics[group]
        except KeyError:
            raise KeyError(f"no group {group!r} in the summary (groups: {self.groups})") from None
        try:
            return by_name[name]
        except KeyError:
            raise KeyError(f"no metric {name!r} (metrics: {sorted(by_name)})") from None

    def band_problems(self) -> tuple[list[str], list[str]]:
        """(breaches, warnings) of every banded metric in words: a breach is a metric outside
        its band for the window or in a month; a warning, one whose interval straddles an
        edge."""
        breaches: list[str] = []
        warnings: list[str] = []
        for group, by_name in self.metrics.items():
            for name, metric in by_name.items():
                health = metric.health()
                if health is None:
                    continue
                where = f"{name} of {group!r}"
                if health.status == "outside":
                    breaches.append(f"{where}: {health.text()} over the window")
                elif health.status == "straddling":
                    warnings.append(f"{where}: {health.text()} over the window")
                side = {"low": "below", "high": "above"}
                out = [m for m in metric.months if m.status == "outside"]
                for m in out:
                    breaches.append(f"{where}: {side[m.side or 'high']} its band in {m.month}")
                edge = [m.month for m in metric.months if m.status == "straddling"]
                if edge:
                    warnings.append(f"{where}: its CI straddles an edge in {', '.join(edge)}")
        return breaches, warnings

    def effect(self, group: str, name: str) -> Stat:
        """A treatment's experiment figure (``roi``, ``incremental_gmv`` ...)."""
        if not self.experiment or group not in self.experiment:
            raise KeyError(f"no comparison for group {group!r} in the summary")
        return self.experiment[group].metrics[name]

    def treatments(self) -> list[str]:
        return list(self.experiment or {})

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"

    def write(self, path: Path) -> None:
        """Write ``summary.json`` whole or not at all."""
        write_text_atomic(Path(path), self.to_json())

    @classmethod
    def parse(cls, text: str | bytes, source: str = "summary.json") -> Summary:
        """Read a summary from JSON text; :class:`SummaryError` naming ``source`` and the field
        otherwise."""
        try:
            raw = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise SummaryError(f"{source}: not JSON ({err})") from None
        if not isinstance(raw, dict):
            raise SummaryError(f"{source}: expected a JSON object, got {type(raw).__name__}")
        version = raw.get("schema_version", 1)
        if version != SCHEMA_VERSION:
            raise SummaryError(
                f"{source}: schema_version {version!r}; this pointsim reads version "
                f"{SCHEMA_VERSION} (run the scenario again to write a current summary)"
            )
        try:
            return cls.model_validate(raw)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top level)"
            raise SummaryError(
                f"{source}: {where}: {first['msg']} ({err.error_count()} problem(s))"
            ) from None

    @classmethod
    def read(cls, path: Path | str) -> Summary:
        """Read ``summary.json``: refused (:class:`SummaryError` naming the file) unless a
        regular file of at most :data:`MAX_SUMMARY_BYTES`, valid, and not nested too deeply."""
        return cls.read_with_bytes(path)[0]

    @classmethod
    def read_with_bytes(cls, path: Path | str) -> tuple[Summary, bytes]:
        """:meth:`read`, and the very bytes it parsed (to hash what was checked)."""
        path = Path(path)
        try:
            data = read_input(path, MAX_SUMMARY_BYTES, "a summary.json")
        except InputFileError as err:
            raise SummaryError(f"{path}: cannot read ({err.reason})") from None
        except OSError as err:
            raise SummaryError(f"{path}: cannot read ({err.strerror or err})") from None
        try:
            return cls.parse(data, str(path)), data
        except RecursionError:
            raise SummaryError(
                f"{path}: nested too deeply (JSON arrays or objects within one another)"
            ) from None

    @classmethod
    def json_schema_text(cls) -> str:
        return json.dumps(cls.model_json_schema(), indent=2) + "\n"

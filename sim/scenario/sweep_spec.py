"""The sweep language: the ``[sweep]`` table of a scenario (and the same from the CLI).

```toml
[sweep]
replications = 4                       # per point (default: the scenario's)
sampler = "lhs"                        # how ranges are sampled: random, lhs or sobol
samples = 16                           # points drawn over the ranges
baseline = { "program.point_value" = 0.01 }   # the point ROI is measured against
constraints = ["cost_ratio <= 0.03"]
maximize = "retention_365"
[sweep.parameters]
"program.point_value" = [0.005, 0.01, 0.02]   # a list: every value (grid)
"caps.daily" = { low = 200, high = 1000 }     # a range: sampled
```

Every point is the product of the listed values and the sampled ranges. Paths are dotted
scenario paths (``population.size``) or policy paths (``caps.daily``), as for ``--set``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, JsonValue, field_validator, model_validator

from sim.policy.base import Frozen, FrozenDict, ReadOnly

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_CONSTRAINT = re.compile(rf"^\s*([A-Za-z][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*({_NUMBER})\s*(%?)\s*$")


class Range(Frozen):
    """A continuous range to sample. Whole-number ends sample whole numbers (``caps.daily``);
    other values are rounded to ``step`` (default 0.000001, so that money fields stay whole
    micro-units); ``log`` samples evenly in log space (both ends > 0)."""

    low: int | float = Field(allow_inf_nan=False)
    high: int | float = Field(allow_inf_nan=False)
    log: bool = False
    step: float = Field(default=1e-6, gt=0.0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _order(self) -> Range:
        if not self.low < self.high:
            raise ValueError(f"empty range: low(={self.low}) must be below high(={self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"log range: low(={self.low}) must be above 0")
        return self

    @property
    def integer(self) -> bool:
        return isinstance(self.low, int) and isinstance(self.high, int)

    def value(self, u: float) -> int | float:
        """The value at quantile ``u`` in [0, 1)."""
        lo, hi = float(self.low), float(self.high)
        if self.log:
            x = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
        else:
            x = lo + u * (hi - lo)
        if self.integer:  # every whole number in [low, high] equally likely
            return min(int(self.low) + int(u * (int(self.high) - int(self.low) + 1)), int(hi))
        digits = max(0, -math.floor(math.log10(self.step)) + 1)
        snapped = lo + round((x - lo) / self.step) * self.step
        return round(min(max(snapped, lo), hi), digits)


Values = Annotated[tuple[JsonValue, ...], Field(strict=False, min_length=1)]
Parameter = Values | Range


def _flatten(raw: Any, prefix: str = "") -> dict[str, Any]:
    """``{"caps": {"daily": [..]}}`` (TOML dotted keys written unquoted) as ``{"caps.daily":
    [..]}``; a table with ``low``/``high`` is a range, not a deeper path."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and not ({"low", "high"} & set(value)):
            if not value:
                out[path] = value  # let validation say what is wrong
            out.update(_flatten(value, f"{path}."))
        else:
            out[path] = value
    return out


@dataclass(frozen=True)
class Constraint:
    """``metric op bound``, e.g. ``cost_ratio <= 0.03``."""

    metric: str
    op: str
    bound: float

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.bound:g}"

    def holds(self, value: float) -> bool:
        return {
            "<=": value <= self.bound,
            "<": value < self.bound,
            ">=": value >= self.bound,
            ">": value > self.bound,
        }[self.op]


def parse_constraint(text: str) -> Constraint:
    """``"cost_ratio<=0.03"`` or ``"cost_ratio <= 3%"``; ValueError saying what is expected."""
    m = _CONSTRAINT.match(text)
    if m is None:
        raise ValueError(
            f"{text!r}: expected METRIC OP NUMBER with OP one of <= >= < >, e.g. 'cost_ratio<=0.03'"
        )
    bound = float(m.group(3)) / (100.0 if m.group(4) else 1.0)
    return Constraint(m.group(1), m.group(2), bound)


class SweepSpec(Frozen):
    """The ``[sweep]`` table of a scenario."""

    parameters: Annotated[dict[str, Parameter], ReadOnly, Field(min_length=1)]
    """Dotted path -> list of values (grid) or ``{low, high}`` range (sampled)."""
    replications: int | None = Field(default=None, ge=1, le=10_000)
    """Replications per point (default: the scenario's ``replications``)."""
    sampler: Literal["random", "lhs", "sobol"] = "lhs"
    """How ranges are sampled (scipy.stats.qmc for ``lhs`` and ``sobol``)."""
    samples: int | None = Field(default=None, ge=1, le=100_000)
    """Points drawn over the ranges (required when there is a range)."""
    baseline: Annotated[dict[str, JsonValue], ReadOnly] = FrozenDict()
    """Parameter values of the point ROI is measured against (default: the first point)."""
    group: str | None = None
    """Experiment group the analysis reads (default: the first group that is not the control)."""
    constraints: tuple[str, ...] = Field(default=(), strict=False)
    """Bounds a chosen point must keep, e.g. ``cost_ratio <= 0.03``."""
    maximize: str | None = None
    minimize: str | None = None
    frontier: tuple[str, str] = Field(default=("cost_ratio", "retention_365"), strict=False)
    """Trade-off figure: x (lower is better) against y (higher is better)."""

    @field_validator("parameters", mode="before")
    @classmethod
    def _dotted(cls, raw: Any) -> Any:
        return _flatten(raw) if isinstance(raw, Mapping) else raw

    @field_validator("baseline", mode="before")
    @classmethod
    def _dotted_baseline(cls, raw: Any) -> Any:
        return _flatten(raw) if isinstance(raw, Mapping) else raw

    @field_validator("constraints")
    @classmethod
    def _constraints(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            parse_constraint(text)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SweepSpec:
        if self.maximize is not None and self.minimize is not None:
            raise ValueError("give maximize or minimize, not both")
        ranges = [p for p, v in self.parameters.items() if isinstance(v, Range)]
        if ranges and self.samples is None:
            raise ValueError(f"samples: required to sample the range(s) {ranges}")
        if ranges and self.sampler == "sobol" and self.samples is not None:
            n = self.samples
            if n & (n - 1):
                raise ValueError(f"samples(={n}): Sobol sampling needs a power of 2 (8, 16 ...)")
        unknown = sorted(set(self.baseline) - set(self.parameters))
        if unknown:
            raise ValueError(f"baseline: {unknown} are not swept parameters")
        return self

    def constraint_list(self) -> list[Constraint]:
        return [parse_constraint(c) for c in self.constraints]

    @property
    def objective(self) -> tuple[str, str] | None:
        """(metric, "max" or "min"), or None."""
        if self.maximize is not None:
            return self.maximize, "max"
        if self.minimize is not None:
            return self.minimize, "min"
        return None

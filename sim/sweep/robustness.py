"""How far an answer depends on the assumptions behind it: every behaviour parameter with a
plausible range is set to the low and then the high end of its range, one at a time, on the
same members and random numbers, and the headline effect is measured at each end.

The runs go through the sweep machinery (:func:`sim.sweep.execute.run_sweep`: a local pool or
a Dask cluster, one file per run, a run already finished is not run again)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.execute import Backend, RunTask, scenario_key
from sim.metrics.summary import experiment_metrics, t_interval
from sim.scenario import Scenario, load_scenario
from sim.scenario.load import Sources
from sim.sweep.execute import RunStore, run_sweep


@dataclass(frozen=True)
class Variant:
    """One run configuration: the scenario as assumed (``path`` None) or one parameter at an
    end of its plausible range."""

    index: int
    path: str | None
    end: str
    """``assumed``, ``low`` or ``high``."""
    value: float
    scenario: Scenario


@dataclass(frozen=True)
class Swing:
    """One assumption's effect on the answer."""

    path: str
    assumed: float
    low: float
    high: float
    at_low: float
    at_high: float
    source: str

    @property
    def swing(self) -> float:
        return abs(self.at_high - self.at_low)


def variants(
    path: Path | str, *, sets: Iterable[str] = (), members: int | None = None,
    days: int | None = None, replications: int | None = None, seed: int | None = None,
    no_programme: bool = False,
) -> list[Variant]:  # fmt: skip
    """The scenario as assumed, then each enabled mechanism's parameters at the low and the
    high end of their plausible ranges (an end equal to the assumed value is skipped)."""
    common = {
        "sets": tuple(sets),
        "members": members,
        "days": days,
        "replications": replications,
        "seed": seed,
        "no_programme": no_programme,
        "sources": Sources(),
    }
    base = load_scenario(path, **common)  # type: ignore[arg-type]
    out = [Variant(0, None, "assumed", math.nan, base)]
    behaviour = base.spec.behaviour
    for a in behaviour.assumptions():
        mechanism = a.path.split(".")[1]
        if not getattr(behaviour, mechanism).enabled:
            continue
        for end, value in (("low", a.low), ("high", a.high)):
            if value == a.value:
                continue
            sc = load_scenario(path, **common, values={a.path: value})  # type: ignore[arg-type]
            out.append(Variant(len(out), a.path, end, value, sc))
    return out


def tasks(vs: list[Variant]) -> list[RunTask]:
    reps = vs[0].scenario.spec.replications
    return [
        RunTask(v.index, r, scenario_key(v.scenario), v.scenario) for r in range(reps) for v in vs
    ]


def run(vs: list[Variant], folder: Path, backend: Backend) -> pd.DataFrame:
    """Every variant's runs (resumed from ``folder``), their headline rows."""
    todo = tasks(vs)
    store = RunStore(folder, "metrics")
    report = run_sweep(todo, store, backend)
    if report.failed:
        raise RuntimeError(f"{report.failed} robustness run(s) failed; see {folder}")
    return store.read(todo)


def effect_metric(base: Scenario) -> str:
    """The headline effect judged: ROI of the first treatment in an experiment, else the
    cost ratio."""
    return "roi" if base.control is not None else "cost_ratio"


def effects(rows: pd.DataFrame, base: Scenario, metric: str) -> pd.Series:
    """Per variant (point), the mean over replications of ``metric``: a treatment's effect
    against the control (``roi``, ``incremental_gmv`` ...) or a group's level."""
    out = {}
    control = base.control
    treatment = next((a.group for a in base.arms if a.group != control), None)
    for point, frame in rows.groupby("point"):
        per_rep = frame.set_index(["replication", "group"]).drop(
            columns=["point", "key", "status", "error", "seconds"], errors="ignore"
        )
        if control is not None and treatment is not None and metric not in per_rep.columns:
            values = experiment_metrics(per_rep, treatment, control)[metric]
        else:
            group = control if control is not None else base.arms[0].group
            values = per_rep.xs(group, level="group")[metric]
        out[point] = t_interval(values.to_numpy(dtype=float))["mean"]
    return pd.Series(out, dtype=float)


def swings(vs: list[Variant], at: pd.Series) -> list[Swing]:
    """One row per assumption varied, largest swing first."""
    base = vs[0].scenario.spec.behaviour.assumptions()
    by_path = {a.path: a for a in base}
    ends: dict[str, dict[str, tuple[float, float]]] = {}
    for v in vs[1:]:
        assert v.path is not None
        ends.setdefault(v.path, {})[v.end] = (v.value, float(at.get(v.index, np.nan)))
    assumed = float(at.get(0, np.nan))
    out = []
    for path, e in ends.items():
        a = by_path[path]
        low, at_low = e.get("low", (a.value, assumed))
        high, at_high = e.get("high", (a.value, assumed))
        out.append(Swing(path, a.value, low, high, at_low, at_high, a.source))
    return sorted(out, key=lambda s: -s.swing if math.isfinite(s.swing) else 0.0)


def flips(s: Swing, assumed: float, threshold: float = 1.0) -> str | None:
    """Where the verdict (the effect against ``threshold``) flips along this assumption's
    range, by linear interpolation between the assumed value and the end that crosses it."""
    side = assumed > threshold
    for end, value, effect in (("low", s.low, s.at_low), ("high", s.high, s.at_high)):
        if not math.isfinite(effect) or (effect > threshold) == side or value == s.assumed:
            continue
        t = (threshold - assumed) / (effect - assumed)
        crossing = s.assumed + t * (value - s.assumed)
        word = "below" if end == "low" else "above"
        return f"the verdict flips if {s.path} is {word} {crossing:.3g}"
    return None


def tornado(rows: list[Swing], assumed: float, metric: str, top: int = 12) -> Figure:
    """The swings as a tornado chart: for each assumption (largest first), the effect at the
    low and the high end of its range against the effect as assumed."""
    shown = [s for s in rows if math.isfinite(s.swing)][:top]
    fig = Figure(figsize=(9, 0.45 * len(shown) + 1.6))
    ax = fig.subplots()
    y = np.arange(len(shown))[::-1]
    for yi, s in zip(y, shown, strict=True):
        for value, effect, colour in ((s.low, s.at_low, "#4c78a8"), (s.high, s.at_high, "#f58518")):
            ax.barh(yi, effect - assumed, left=assumed, color=colour, height=0.6)
            ax.annotate(f"{value:g}", (effect, yi), fontsize=7, va="center",
                        ha="left" if effect >= assumed else "right")  # fmt: skip
    ax.axvline(assumed, color="black", lw=1)
    if metric == "roi":
        ax.axvline(1.0, color="#b22222", lw=1, ls="--", label="break-even (ROI 1)")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_yticks(y, [s.path.removeprefix("behaviour.") for s in shown], fontsize=8)
    ax.set_xlabel(f"{metric}: blue at the low end of the range, orange at the high end")
    ax.set_title(f"How far {metric} depends on each assumption (as assumed: {assumed:.3g})")
    fig.tight_layout()
    return fig

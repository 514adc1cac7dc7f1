"""The sweep report's figures, each from a :class:`~sim.sweep.result.SweepAnalysis` alone, in
the report's order with a title and a "how to read this".

The builders (:mod:`sim.sweep.parameter_figures`, :mod:`sim.sweep.tradeoff_figures`) return a
:class:`~matplotlib.figure.Figure` (Agg canvas, no pyplot) or ``None`` when the sweep has nothing
to show for it; :func:`build_sweep_charts` draws them all and returns PNG bytes.
"""

from __future__ import annotations

from itertools import combinations

from matplotlib.figure import Figure

from sim.report.figures import Chart
from sim.report.plotting import png_bytes
from sim.sweep.parameter_figures import pair_figure, parameter_figure
from sim.sweep.result import SweepAnalysis
from sim.sweep.tradeoff_figures import frontier_figure, sensitivity_figure
from sim.text import label

__all__ = ["build_sweep_charts"]

MAX_PAIRS = 10


def _band_note(a: SweepAnalysis) -> str:
    return "; light green: the scenario's healthy band" if a.bands else ""


def build_sweep_charts(a: SweepAnalysis) -> list[Chart]:
    """Draw every figure that has data; the order is the report's."""
    reps = a.replications
    ci = (
        "shaded: its 95% confidence interval over replications"
        if reps > 1
        else ("one replication per point, so no confidence interval")
    )
    charts: list[Chart] = []

    def add(key: str, title: str, fig: Figure | None, how: str) -> None:
        if fig is not None:
            charts.append(Chart(key, title, how, png_bytes(fig)))

    for i, p in enumerate(a.params):
        others = [q.path for q in a.params if q is not p]
        if p.kind == "range":
            how = (
                f"Each dot is one sampled point: its mean over {reps} replication(s), the "
                f"vertical bar its 95% confidence interval. A clear slope means {p.path} moves "
                "that metric; a cloud with no slope means it does not (or the other "
                f"parameters matter more){_band_note(a)}."
            )
        elif others:
            how = (
                f"Each panel is one metric against {p.path}; the line is the mean over "
                f"replications, {ci}. Several lines: one per setting of the other parameters "
                "(legend); a single line averages over them. Lines that rise or fall together "
                f"mean the effect does not depend on the others{_band_note(a)}."
            )
        else:
            how = (
                f"Each panel is one metric against {p.path}; the line is the mean over "
                f"replications, {ci}{_band_note(a)}."
            )
        kind = "sampled" if p.kind == "range" else "grid"
        add(f"param-{i}", f"Metrics against {p.path} ({kind})", parameter_figure(a, p), how)

    pairs = list(combinations(a.params, 2))[:MAX_PAIRS]
    for p, q in pairs:
        i, j = a.params.index(p), a.params.index(q)
        if p.kind == "grid" and q.kind == "grid":
            how = (
                f"Each cell is one combination of {p.path} (across) and {q.path} (up), showing "
                "the mean over replications (and over any other parameters); darker is higher. "
                "Look for the corner where the metrics you care about are good together."
            )
        else:
            how = (
                f"Each dot is one point, placed by its {p.path} (across) and {q.path} (up), "
                "coloured by the metric's mean (scale beside each panel; hollow grey: no "
                "value). Colour changing along one axis only means only that parameter matters."
            )
        add(f"pair-{i}-{j}", f"{p.path} and {q.path} together", pair_figure(a, p, q), how)

    xm, ym = a.frontier
    extras = []
    if a.best is not None and a.best.point is not None:
        extras.append("the orange ring is the best point")
    if any(c.split("<")[0].split(">")[0].strip() in (xm, ym) for c in a.constraints):
        extras.append("dashed red lines are constraints")
    if a.bands.get(xm):
        extras.append(f"green: the healthy band of {label(xm).lower()}")
    add(
        "frontier",
        f"Trade-off: {label(xm).lower()} against {label(ym).lower()}",
        frontier_figure(a),
        f"Each grey dot is a point (number = point index), with 95% intervals as bars. Left is "
        f"cheaper ({label(xm).lower()}), up is better ({label(ym).lower()}). Blue dots joined "
        "by the step line are efficient: no other point is both further left and higher"
        + "".join(f"; {e}" for e in extras)
        + ".",
    )
    add(
        "sensitivity",
        "Which parameters matter",
        sensitivity_figure(a),
        "Per metric, bars rank the parameters by how much the metric moves with them "
        "(standardised regression coefficient: the change in the metric, in standard "
        "deviations, for one standard deviation of the parameter). Blue raises the metric, red "
        "lowers it. R² near 1: the parameters explain the metric's spread; near 0: noise or "
        "effects a straight line cannot capture.",
    )
    return charts

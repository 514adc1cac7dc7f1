"""The sweep's single-file HTML report, on synthetic analyses."""

from __future__ import annotations

import base64
import dataclasses
import io
import itertools
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape
from matplotlib.figure import Figure

import sim.sweep.figures
import sim.sweep.parameter_figures
import sim.sweep.tradeoff_figures
from sim.report.figures import Chart
from sim.sweep.report import MAX_ROWS, render_sweep_report, write_sweep_report
from sim.sweep.result import FIGURE_METRICS, Best, Bound, ParamInfo, SweepAnalysis

IMG = '<img src="data:image/png;base64,'
NASTY = "<script>&\"'"
ONCE = "&lt;script&gt;&amp;&#34;&#39;"
"""``NASTY`` escaped once."""
UNITS = {
    "cost_ratio": "share",
    "liability_end": "currency",
    "liability_to_monthly_gmv": "ratio",
    "breakage": "share",
    "redemption_participation": "share",
    "retention_90": "share",
    "retention_365": "share",
    "active_days_per_member_month": "days",
    "gmv": "currency",
    "roi": "ratio",
}
BANDS: dict[str, tuple[float | None, float | None]] = {
    "cost_ratio": (0.01, 0.03),
    "breakage": (None, 0.4),
    "retention_90": (0.6, None),
}
Params = Sequence[tuple[str, str, list[Any]]]
GRID2: Params = [
    ("program.point_value", "grid", [0.005, 0.01, 0.02]),
    ("caps.daily", "grid", [200, 1000]),
]


def make_analysis(
    params: Params = GRID2,
    *,
    samples: int = 4,
    replications: int = 3,
    title: str = "Spring points study",
    objective: bool = True,
    failed: dict[int, int] | None = None,
    seed: int = 7,
) -> SweepAnalysis:
    """A sweep over ``params`` (grid: every value; range: ``samples`` uniform draws between
    the two values given) with metrics that depend smoothly on them, and the tables the
    analysis would derive."""
    rng = np.random.default_rng(seed)
    grids = [(p, v) for p, k, v in params if k == "grid"]
    ranges = [(p, v) for p, k, v in params if k == "range"]
    rows: list[dict[str, Any]] = []
    for combo in itertools.product(*(v for _, v in grids)):
        draws = [rng.uniform(lo, hi, samples) for _, (lo, hi) in ranges]
        for s in range(samples if ranges else 1):
            row = dict(zip((p for p, _ in grids), combo, strict=True))
            row.update({p: float(d[s]) for (p, _), d in zip(ranges, draws, strict=True)})
            rows.append(row)
    frame = pd.DataFrame(rows)
    paths = [p for p, _, _ in params]
    numeric = {p: all(isinstance(x, int | float) for x in v) for p, _, v in params}
    coded = {p: frame[p] if numeric[p] else frame[p].astype("category").cat.codes for p in paths}
    scaled = sum((c - c.mean()) / (c.std() or 1) for c in (s.astype(float) for s in coded.values()))
    base = {
        "cost_ratio": 0.022,
        "liability_end": 1.8e6,
        "liability_to_monthly_gmv": 0.9,
        "breakage": 0.3,
        "redemption_participation": 0.35,
        "retention_90": 0.62,
        "retention_365": 0.41,
        "active_days_per_member_month": 3.2,
        "gmv": 2.4e7,
        "roi": 1.4,
    }
    frame.insert(0, "point", range(len(frame)))
    frame.insert(1, "label", [", ".join(f"{p}={r[p]}" for p in paths) for r in rows])
    frame["group"] = "treatment"
    for i, (metric, value) in enumerate(base.items()):
        mean = value * (1 + (0.1 + 0.02 * i) * scaled + rng.normal(0, 0.01, len(frame)))
        half = abs(value) * 0.02 * (1 + rng.random(len(frame)))
        if replications < 2:
            half = half * np.nan
        frame[metric] = mean
        frame[f"{metric}_ci_low"] = mean - half
        frame[f"{metric}_ci_high"] = mean + half
        frame[f"{metric}_n"] = replications
    frame.loc[0, ["roi", "roi_ci_low", "roi_ci_high"]] = np.nan  # ROI of the baseline itself
    frame["runs_failed"] = [(failed or {}).get(p, 0) for p in frame["point"]]
    frame["runs_ok"] = replications - frame["runs_failed"]
    frame["feasible"] = frame["cost_ratio"] <= 0.03
    x, y = frame["cost_ratio"].to_numpy(), frame["retention_365"].to_numpy()
    frame["pareto"] = [not np.any((x < x[i]) & (y > y[i])) for i in range(len(frame))]
    infos = tuple(
        ParamInfo(p, k, tuple(sorted(frame[p].unique())), numeric[p]) for p, k, _ in params
    )
    sens = pd.DataFrame(
        [
            {"metric": m, "parameter": p, "src": rng.uniform(-1, 1), "r2": 0.8}
            for m in FIGURE_METRICS
            for p in paths
            if numeric[p]
        ]
    )
    best = None
    if objective:
        feasible = frame[frame["feasible"]]
        top = feasible.loc[feasible["retention_365"].idxmax()]
        best = Best(
            point=int(top["point"]),
            label=str(top["label"]),
            metric="retention_365",
            direction="max",
            mean=float(top["retention_365"]),
            ci_low=float(top["retention_365_ci_low"]),
            ci_high=float(top["retention_365_ci_high"]),
            bounds=(
                Bound(
                    "cost_ratio <= 0.03", "cost_ratio", "<=", 0.03, 0.02, 0.019, 0.031, True, True
                ),
            ),
            runner_up=None,
            warnings=("The 95% interval of cost ratio reaches past 3% <for point 2>.",),
            answer=f"Point {int(top['point'])} keeps cost_ratio <= 0.03 & gives the highest "
            "365-day retention.",
            text="(the answer with its warnings: the report shows them apart)",
        )
    return SweepAnalysis(
        scenario="spring",
        title=title,
        currency="CNY",
        group="treatment",
        groups=("control", "treatment"),
        params=infos,
        replications=replications,
        baseline=0,
        points=frame,
        runs=pd.DataFrame(),
        sensitivity=sens,
        frontier=("cost_ratio", "retention_365"),
        bands=dict(BANDS),
        constraints=("cost_ratio <= 0.03",) if objective else (),
        best=best,
        units=dict(UNITS),
    )


@pytest.fixture
def small_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three metrics a figure instead of ten: the figures are drawn as the report draws them,
    in a third of the time."""
    for module in (sim.sweep.parameter_figures, sim.sweep.tradeoff_figures):
        monkeypatch.setattr(module, "FIGURE_METRICS", ("cost_ratio", "retention_365", "roi"))


@pytest.fixture
def quick_figures(small_figures: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small figures saved at a few pixels without a layout pass: these tests read the HTML,
    not the pixels."""

    def quick_png(fig: Figure) -> bytes:
        fig.set_layout_engine("none")
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=20)
        return buf.getvalue()

    monkeypatch.setattr(sim.sweep.figures, "png_bytes", quick_png)


def _write(tmp_path: Path, analysis: SweepAnalysis) -> str:
    out = tmp_path / "sweep.html"
    write_sweep_report(analysis, out)
    assert [p.name for p in tmp_path.iterdir()] == ["sweep.html"]
    return out.read_text(encoding="utf-8")


def _figure_keys(text: str) -> list[str]:
    return re.findall(r'<figure id="fig-([\w-]+)">', text)


def _row(text: str, point: int) -> str:
    rows: list[str] = re.findall(r"<tr[^>]*>.*?</tr>", text, flags=re.S)
    return next(r for r in rows if f"<b>{point}</b>" in r)


def test_grid_report_is_one_self_contained_file(tmp_path: Path, small_figures: None) -> None:
    analysis = make_analysis(title="<script>alert(1)</script> & study")
    text = _write(tmp_path, analysis)

    assert _figure_keys(text) == ["param-0", "param-1", "pair-0-1", "frontier", "sensitivity"]
    assert text.count("<img") == text.count(IMG) == 5
    for png in re.findall(r'data:image/png;base64,([A-Za-z0-9+/=]+)"', text):
        assert base64.b64decode(png).startswith(b"\x89PNG")
    # Nothing is fetched from elsewhere, and run text is escaped.
    assert not re.search(r'(src|href)="(?!data:)', text)
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; study" in text
    assert analysis.best is not None
    assert escape(analysis.best.answer) in text
    assert "&lt;for point 2&gt;" in text and 'class="warn"' in text
    assert text.index('id="headline"') < text.index("<table")
    # Meta line: the parameters, group and baseline.
    assert "program.point_value (0.005, 0.01, 0.02)" in text
    assert "caps.daily (200, 1,000)" in text
    assert "analysed group treatment" in text and "baseline point 0" in text
    assert 'id="failed"' not in text
    # One row per point; the best one is marked and highlighted, the baseline too.
    assert text.count('<td class="pt"') == 6
    assert analysis.best.point is not None
    best = _row(text, analysis.best.point)
    assert best.startswith('<tr class="best">') and "★ best" in best
    assert "baseline" in _row(text, 0)
    # Health colouring and NaN as an en dash (ROI at the baseline).
    assert 'class="num ok"' in text
    assert re.search(r'<td class="num "><span class="v">–</span></td>', _row(text, 0))
    assert "sim.__version__" not in text and "pointsim 0.1.0" in text


def test_one_parameter_report(tmp_path: Path, quick_figures: None) -> None:
    analysis = make_analysis([("program.point_value", "grid", [0.002, 0.01, 0.05, 0.1])])
    text = _write(tmp_path, analysis)
    assert _figure_keys(text) == ["param-0", "frontier", "sensitivity"]
    assert text.count(IMG) == 3
    assert text.count('<td class="pt"') == 4


def test_sampled_range_report(tmp_path: Path, quick_figures: None) -> None:
    analysis = make_analysis(
        [("caps.daily", "range", [100, 5000]), ("tiers.mode", "grid", ["none", "gold <b>"])],
        samples=4,
    )
    text = _write(tmp_path, analysis)
    assert _figure_keys(text) == ["param-0", "param-1", "pair-0-1", "frontier", "sensitivity"]
    assert text.count(IMG) == 5
    assert text.count('<td class="pt"') == 8
    assert re.search(r"caps\.daily \(sampled from [\d.,]+ to [\d.,]+\)", text)


def test_failed_runs_nan_and_no_objective(tmp_path: Path, quick_figures: None) -> None:
    analysis = make_analysis(
        [("program.point_value", "grid", [0.005, 0.01])],
        replications=1,
        objective=False,
        failed={1: 1},
    )
    analysis.points.loc[1, ["gmv", "gmv_ci_low", "gmv_ci_high"]] = np.nan
    analysis = dataclasses.replace(analysis, sensitivity=pd.DataFrame())
    text = _write(tmp_path, analysis)

    assert "2 point(s) × 1 replication(s) ran" in text
    assert "--maximize METRIC --subject-to &#39;cost_ratio&lt;=0.03&#39;" in text
    assert '<p class="fail" id="failed">1 of 2 runs failed (1 at point 1 (treatment))' in text
    assert 'class="best"' not in text and "★ best" not in text
    assert _figure_keys(text) == ["param-0", "frontier"]
    assert '<span class="v">–</span>' in _row(text, 1)
    assert '<span class="ci">' not in _row(text, 1)  # one replication: no interval


def test_many_points_show_the_best_sixty() -> None:
    analysis = make_analysis(
        [("a", "grid", list(range(10))), ("b", "grid", list(range(8)))], replications=2
    )
    table = render_sweep_report(analysis, [])  # no figures: the table is what this reads
    assert table.count('<td class="pt"') == MAX_ROWS
    assert "Showing 60 of 80 points" in table
    assert analysis.best is not None
    assert f"<b>{analysis.best.point}</b>" in table and "<b>0</b>" in table  # best, baseline
    first = re.search(r'<td class="pt"[^>]*><b>(\d+)</b>', table)
    assert first is not None and int(first.group(1)) == analysis.best.point


def test_missing_directory_raises_and_leaves_nothing(tmp_path: Path) -> None:
    analysis = make_analysis([("program.point_value", "grid", [0.005, 0.01])])
    with pytest.raises(FileNotFoundError):
        write_sweep_report(analysis, tmp_path / "missing" / "sweep.html")
    assert list(tmp_path.iterdir()) == []


def test_render_uses_the_charts_given() -> None:
    analysis = make_analysis([("program.point_value", "grid", [0.005, 0.01])])
    chart = Chart("mine", "A <chart>", "Read <this>.", b"\x89PNG fake")
    text = render_sweep_report(analysis, [chart])
    assert _figure_keys(text) == ["mine"] and text.count(IMG) == 1
    assert "A &lt;chart&gt;" in text and "Read &lt;this&gt;." in text


def test_user_text_is_escaped_exactly_once() -> None:
    analysis = make_analysis(
        [("program.point_value", "grid", [0.005, 0.01]), ("tiers.mode", "grid", ["none", NASTY])],
        title=f"Study {NASTY}",
    )
    group = f"t {NASTY}"
    analysis.points["group"] = group
    analysis = dataclasses.replace(
        analysis,
        scenario=f"spring {NASTY}",
        group=group,
        constraints=(f"cost_ratio <= 0.03 {NASTY}",),
    )
    chart = Chart("mine", f"Chart {NASTY}", f"Read {NASTY}.", b"\x89PNG fake")
    text = render_sweep_report(analysis, [chart])

    assert "<script" not in text and NASTY not in text
    for once in (
        f"<title>Study {ONCE} – pointsim sweep</title>",
        f'<p class="eyebrow">Study {ONCE} · sweep of scenario spring {ONCE}</p>',
        f"analysed group t {ONCE} ·",
        f"tiers.mode ({ONCE}, none)",
        f"Constraints: cost_ratio &lt;= 0.03 {ONCE}</p>",
        f'<td class="num">{ONCE}</td>',  # the parameter's value in the points table
        f'title="program.point_value=0.005, tiers.mode={ONCE}"',
        f"Scenario <b>spring {ONCE}</b>",
        f"<h3>Chart {ONCE}</h3>",
        f"Read {ONCE}.</figcaption>",
    ):
        assert once in text, once
    # Nothing escaped twice (an escaped "&" followed by an entity's name).
    assert not re.search(r"&amp;(lt|gt|amp|quot|#\d+|#x[0-9a-f]+);", text)

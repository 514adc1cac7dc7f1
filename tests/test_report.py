"""The single-file HTML report."""

from __future__ import annotations

import base64
import dataclasses
import re
import subprocess
import tempfile
from datetime import date
from pathlib import Path

import jinja2
import pytest
from markupsafe import escape
from test_summary import make_spec, make_tables

import sim.report.figures
from sim.metrics.results import Summary
from sim.metrics.schema import RunTables, SummarySpec
from sim.metrics.summary import summarise
from sim.report import Chart, render_report, write_report
from sim.report.html import render_page

CAMPAIGNS = [("double points", date(2026, 3, 1), date(2026, 3, 14))]
IMG = '<img src="data:image/png;base64,'
CHROMIUM = Path("/usr/bin/chromium")
NASTY = "<script>&\"'"
ONCE = "&lt;script&gt;&amp;&#34;&#39;"
"""``NASTY`` escaped once."""


def _report(
    tmp_path: Path, tables: RunTables, spec: SummarySpec, name: str = "report.html"
) -> tuple[str, Summary]:
    summary = summarise(tables, spec)
    out = tmp_path / name
    write_report(tables, summary, spec, out, campaigns=CAMPAIGNS)
    return out.read_text(encoding="utf-8"), summary


def test_experiment_report_is_one_self_contained_file(tmp_path: Path) -> None:
    tables, spec = make_tables(), make_spec()
    text, summary = _report(tmp_path, tables, spec)

    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    keys = re.findall(r'<figure id="fig-(\w+)">', text)
    assert keys == [
        "experiment",
        "balances",
        "cost_ratio",
        "flows",
        "activity",
        "retention",
        "tiers",
    ]
    assert text.count(IMG) == len(keys)
    for png in re.findall(r'data:image/png;base64,([A-Za-z0-9+/=]+)"', text):
        assert base64.b64decode(png).startswith(b"\x89PNG")
    # the headline, its cautions in their own box beneath (the template escapes ' as &#39;)
    main, *cautions = summary.headline.split(" Caution: ")
    assert escape(main) in text
    assert len(cautions) == len(summary.warnings)
    for warning in summary.warnings:
        assert escape(warning) in text
    assert text.index('id="headline"') < text.index("<table")
    # KPI table: a row per metric with the group values, the band and the difference.
    assert "Cost ratio" in text and "1% – 3%" in text
    assert "treatment − control" in text and "Incremental GMV" in text
    assert "+6,000 CNY" in text
    assert 'class="num ok"' in text
    # Nothing is fetched from elsewhere.
    assert "http://" not in text and "https://" not in text
    assert not re.search(r'<(link|script)\b|src="(?!data:)', text)
    assert "yellow: campaign days" in text
    # Footer.
    assert "ab12" * 16 in text and "policy-treatment" in text and "3 replication(s)" in text


def test_one_group_one_replication(tmp_path: Path) -> None:
    tables = make_tables(groups=("control",), reps=1, days=60)
    spec = make_spec(groups=("control",), control=None)
    text, _ = _report(tmp_path, tables, spec)
    assert text.count(IMG) == 6  # no experiment figure
    assert "Campaign effect" not in text
    assert "campaign days" not in text  # the campaign starts after the window
    assert "No confidence intervals" in text or "no confidence intervals" in text


def test_out_of_band_cells_are_red_and_text_is_escaped(tmp_path: Path) -> None:
    tables = make_tables(days=40)
    tables.daily["group"] = tables.daily["group"].replace("treatment", "<b>t&t</b>")
    tables.runs["group"] = tables.runs["group"].replace("treatment", "<b>t&t</b>")
    tables.retention["group"] = tables.retention["group"].replace("treatment", "<b>t&t</b>")
    tables.by_rule["group"] = tables.by_rule["group"].replace("treatment", "<b>t&t</b>")
    spec = make_spec(groups=("control", "<b>t&t</b>"), bands={"cost_ratio": (0.03, 0.05)})
    text, _ = _report(tmp_path, tables, spec)
    assert "<b>t&t</b>" not in text
    assert "&lt;b&gt;t&amp;t&lt;/b&gt;" in text
    assert 'class="num out"' in text and "below band" in text


def test_user_text_is_escaped_exactly_once() -> None:
    group = f"t {NASTY}"
    tables = make_tables(groups=("control", group), days=40)
    spec = dataclasses.replace(
        make_spec(groups=("control", group)), scenario=f"demo {NASTY}", title=f"Study {NASTY}"
    )
    chart = Chart("mine", f"Chart {NASTY}", f"Read {NASTY}.", b"\x89PNG fake")
    text = render_report(summarise(tables, spec), [chart])

    assert "<script" not in text and NASTY not in text
    for once in (
        f"<title>Study {ONCE} – pointsim report</title>",
        f'<p class="eyebrow">Study {ONCE} · scenario demo {ONCE}</p>',
        f"<th>t {ONCE}</th>",  # the group's column
        f"<th>t {ONCE} − control</th>",  # its difference
        f"groups: control, t {ONCE} ·",
        f"<li>t {ONCE}: policy <b>policy-t {ONCE}</b> (policies/t {ONCE}.toml)",
        f"Scenario <b>demo {ONCE}</b>",
        f'<h3>Chart {ONCE}</h3><img src="data:image/png;base64,',
        f'alt="Chart {ONCE}"',
        f"Read {ONCE}.</figcaption>",
    ):
        assert once in text, once
    # Nothing escaped twice (an escaped "&" followed by an entity's name).
    assert not re.search(r"&amp;(lt|gt|amp|quot|#\d+|#x[0-9a-f]+);", text)


def test_a_template_missing_a_value_fails() -> None:
    with pytest.raises(jinja2.UndefinedError):
        render_page("report.html", {})


def test_a_failing_figure_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tables, spec = make_tables(days=40), make_spec()
    summary = summarise(tables, spec)
    out = tmp_path / "report.html"

    def broken(ctx: object) -> None:
        raise RuntimeError("figure failed")

    monkeypatch.setattr(sim.report.figures, "retention_figure", broken)
    with pytest.raises(RuntimeError, match="figure failed"):
        write_report(tables, summary, spec, out)
    assert list(tmp_path.iterdir()) == []


def test_a_failing_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tables, spec = (
        make_tables(groups=("control",), reps=1, days=40),
        make_spec(groups=("control",), control=None),
    )
    out = tmp_path / "report.html"
    out.write_text("old report")

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("sim.files.os.replace", boom)
    with pytest.raises(OSError):
        write_report(tables, summarise(tables, spec), spec, out)
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    assert out.read_text() == "old report"


def screenshot(report: Path, png: Path, *, height: int = 4000) -> None:
    """Render ``report`` with headless Chromium into ``png`` (1280 px wide)."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                f"--screenshot={png}",
                f"--window-size=1280,{height}",
                report.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_report_renders_in_a_browser(tmp_path: Path) -> None:
    _report(tmp_path, make_tables(), make_spec())
    png = tmp_path / "shot.png"
    screenshot(tmp_path / "report.html", png)
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert len(data) > 100_000  # text, tables and figures, not a blank page


if __name__ == "__main__":  # write /tmp/report_check/report.html and shot.png for a look
    where = Path("/tmp/report_check")
    where.mkdir(exist_ok=True)
    _report(where, make_tables(), make_spec())
    screenshot(where / "report.html", where / "shot.png", height=7000)
    print(where / "shot.png")

"""The single-file HTML report: headline, KPI table with health bands, figures, footer.

The page is rendered from the Jinja2 templates shipped in ``sim/report/templates/``
(``report.html``, on the ``base.html`` it shares with the sweep page); this module only turns
the summary into plain rows of text for them. The environment escapes every value it prints, so
no text is escaped by hand here. Everything is inline (CSS, figures as base64 PNG): the file
opens anywhere, offline, without Python. The file is written atomically.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jinja2

import sim
from sim.files import write_text_atomic
from sim.metrics.results import Comparison, Metric, Stat, Summary
from sim.metrics.schema import RunTables, SummarySpec
from sim.report import figures
from sim.report.plotting import control_label
from sim.text import band_text, ci_text, format_value, label, thousands

__all__ = ["Cell", "generated_text", "render_page", "render_report", "write_report"]

SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Sales", ("gmv", "orders", "repurchase_rate")),
    ("Cost", ("points_cost", "programme_cost", "cost_ratio")),
    (
        "Liability",
        (
            "liability_end",
            "outstanding_points_end",
            "expected_liability_end",
            "outstanding_redeemed_share",
            "outstanding_redeemed_in_runoff",
            "runoff_tail_share",
            "ultimate_redemption_rate",
            "liability_to_monthly_gmv",
        ),
    ),
    (
        "Accounting (IFRS 15): the roll forward of deferred revenue",
        (
            "deferred_revenue_start",
            "revenue_allocated",
            "revenue_recognised",
            "breakage_recognised",
            "revenue_reestimated",
            "deferred_revenue_end",
            "expected_redemption_rate_end",
            "redemption_rate_estimate_end",
        ),
    ),
    (
        "Points flow",
        (
            "points_issued",
            "points_burned",
            "points_expired",
            "earn_rate",
            "burn_rate",
            "breakage",
            "redeemed_share_of_settled",
            "redemption_participation",
        ),
    ),
    (
        "Members",
        (
            "active_members_per_day",
            "active_days_per_member_month",
            "engaged_days_per_member_month",
            "retention_90",
            "retention_365",
            "churned_share",
        ),
    ),
)


# --- the templates ----------------------------------------------------------------------------


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sim.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["thousands"] = thousands
    env.filters["base64"] = lambda data: base64.b64encode(data).decode("ascii")
    return env


def render_page(template: str, context: Mapping[str, Any]) -> str:
    """A page from ``sim/report/templates/`` (``report.html``, ``sweep.html``), every value of
    ``context`` escaped as it is printed. A name the template uses and ``context`` lacks is an
    error, not an empty string."""
    return _environment().get_template(template).render(context)


def generated_text() -> str:
    """The time a page is written, for its footer."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- the page's data --------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """A number in a table (``macros.html``'s ``num_cell``): the value, its interval beneath,
    a tag, the CSS class that colours it (``ok``, ``edge``, ``out``, ``sig``, ``ns``) and a
    hover text."""

    value: str
    ci: str = ""
    tag: str = ""
    cls: str = ""
    title: str = ""


@dataclass(frozen=True)
class Row:
    """A metric's row: its name and meaning, the groups' values, its healthy band (``None``:
    no band column) and the differences of the treatments."""

    label: str
    text: str
    values: tuple[Cell | None, ...] = ()
    band: str | None = None
    diffs: tuple[Cell | None, ...] = ()


@dataclass(frozen=True)
class Section:
    title: str
    """The row above the section's rows ("": none)."""
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Table:
    head: tuple[str, ...]
    sections: tuple[Section, ...]


_TAGS: dict[tuple[str | None, str | None], tuple[str, str]] = {
    ("inside", None): ("ok", "in band"),
    ("straddling", "low"): ("edge", "near band edge"),
    ("straddling", "high"): ("edge", "near band edge"),
    ("outside", "low"): ("out", "below band"),
    ("outside", "high"): ("out", "above band"),
}
"""Colour and tag of a health verdict (:mod:`sim.health`): green inside the band, amber when
the interval straddles an edge, red outside."""


def _value_cell(metric: Metric | None, cur: str) -> Cell | None:
    """A group's value with its CI, coloured by the summary's health verdict."""
    if metric is None:
        return None
    cls, tag = _TAGS.get((metric.status, metric.side), ("", ""))
    off_band = metric.months_text()
    if off_band:  # inside for the window is not inside every month
        tag = f"{tag}; {off_band}" if tag else off_band
        cls = "edge" if cls == "ok" else cls
    return Cell(
        value=format_value(metric.mean, metric.unit, cur),
        ci=ci_text(metric.ci_low, metric.ci_high, metric.unit, cur),
        tag=tag,
        cls=cls,
    )


def _diff_cell(stat: Stat | None, cur: str, *, signed: bool = True) -> Cell | None:
    """A difference with its CI: bold when the CI excludes zero, grey when it straddles it.
    ``signed=False``: a ratio of differences (ROI), shown plainly."""
    if stat is None or stat.mean is None:
        return None
    lo, hi = stat.ci_low, stat.ci_high
    cls, tag = "", ""
    if signed and lo is not None and hi is not None:
        if lo == hi == 0:
            cls, tag = "ns", "no change"
        elif lo <= 0 <= hi:
            cls, tag = "ns", "not distinguishable from 0"
        else:
            cls = "sig"
    return Cell(
        value=format_value(stat.mean, stat.unit, cur, signed=signed),
        ci=ci_text(lo, hi, stat.unit, cur, signed=signed),
        tag=tag,
        cls=cls,
    )


def _kpi_table(summary: Summary) -> Table:
    cur = summary.currency
    groups = summary.groups
    experiment = summary.experiment or {}
    head = ["Metric", "What it means"]
    head += [control_label(g, summary.control) for g in groups]
    head.append("Healthy band")
    head += [f"{t} − {res.vs}" for t, res in experiment.items()]
    first = summary.metrics[groups[0]]
    tiers = tuple(name for name in first if name.startswith("tier_"))
    sections = (*SECTIONS, ("Tiers", tiers)) if tiers else SECTIONS
    out = []
    for title, names in sections:
        rows = []
        for name in names:
            if name not in first:
                continue
            meta = first[name]
            rows.append(
                Row(
                    label=label(name),
                    text=meta.text,
                    values=tuple(_value_cell(summary.metrics[g].get(name), cur) for g in groups),
                    band=band_text(meta.band, meta.unit, cur),
                    diffs=tuple(
                        _diff_cell(res.differences.get(name), cur) for res in experiment.values()
                    ),
                )
            )
        out.append(Section(title, tuple(rows)))
    return Table(tuple(head), tuple(out))


LEVELS = ("roi", "roi_redeemed_only", "margin_rate")
"""Experiment figures that are levels, not differences (shown without a sign)."""


def _effect_table(summary: Summary, comparisons: dict[str, Comparison] | None) -> Table | None:
    if not comparisons:
        return None
    cur = summary.currency
    results = list(comparisons.values())
    head = ("Effect", "What it means", *(f"{t} − {r.vs}" for t, r in comparisons.items()))
    rows = tuple(
        Row(
            label=label(name),
            text=meta.text,
            diffs=tuple(
                _diff_cell(res.metrics.get(name), cur, signed=name not in LEVELS) for res in results
            ),
        )
        for name, meta in results[0].metrics.items()
    )
    return Table(head, (Section("", rows),))


def _reported_table(summary: Summary) -> Table | None:
    """The source's reported figures beside the simulated ones."""
    if not summary.reported:
        return None
    cur = summary.currency
    rows = []
    for r in summary.reported:
        unit = r.unit or ("share" if abs(r.reported) < 1 else "")
        shown = format_value(r.reported, unit, cur) if unit else f"{r.reported:g}"
        if r.simulated is None:
            sim_cell = Cell(value="–", ci="", tag=r.reason, cls="")
        else:
            sim_cell = Cell(
                value=format_value(r.simulated, r.unit, cur),
                ci=ci_text(r.ci_low, r.ci_high, r.unit, cur),
                tag="",
                cls="",
            )
        rows.append(
            Row(
                label=r.key,
                text=r.definition or r.reason,
                values=(Cell(value=shown, ci="", tag="", cls=""), sim_cell),
            )
        )
    head = ("Reported figure", "Simulated as", "Reported", "Simulated")
    return Table(head, (Section("", tuple(rows)),))


def _without_cautions(summary: Summary) -> str:
    """The headline without its "Caution: ..." sentences (the report shows them in a box of
    their own under the headline)."""
    text = summary.headline
    for warning in summary.warnings:
        text = text.replace(f" Caution: {warning}", "")
    return text


def render_report(summary: Summary, charts: Sequence[figures.Chart]) -> str:
    """The report as one HTML document."""
    return render_page(
        "report.html",
        {
            "summary": summary,
            "headline": _without_cautions(summary),
            "kpi": _kpi_table(summary),
            "effect": _effect_table(summary, summary.experiment),
            "programme": _effect_table(summary, summary.programme_effect),
            "reported": _reported_table(summary),
            "charts": charts,
            "generated": generated_text(),
            "version": sim.__version__,
        },
    )


def write_report(
    tables: RunTables,
    summary: Summary,
    spec: SummarySpec,
    path: Path,
    *,
    campaigns: Sequence[tuple[str, date, date]] = (),
    extra: Sequence[figures.Chart] = (),
) -> None:
    """Draw the figures and write the report to ``path``: complete, or not there at all.
    ``extra``: charts drawn elsewhere (the robustness tornado), shown after the others."""
    path = Path(path)
    charts = [*figures.build_charts(tables, spec, campaigns), *extra]
    text = render_report(summary, charts)
    write_text_atomic(path, text)

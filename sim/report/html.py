"""The single-file HTML report: headline, KPI table with health bands, figures, footer.

Everything is inline (CSS, figures as base64 PNG): the file opens anywhere, offline, without
Python. All text from the run is escaped. The file is written atomically.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from html import escape
from pathlib import Path
from typing import Any

import sim
from sim.files import write_text_atomic
from sim.metrics.schema import RunTables, SummarySpec
from sim.metrics.summary import format_value
from sim.report import figures
from sim.report.plotting import control_label

__all__ = ["figures_html", "render_report", "write_report"]

SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Sales", ("gmv", "orders", "incentive_share", "repurchase_rate")),
    ("Cost", ("points_cost", "programme_cost", "cost_ratio")),
    ("Liability", ("liability_end", "expected_liability_end", "liability_to_monthly_gmv")),
    (
        "Points flow",
        (
            "points_issued",
            "points_burned",
            "points_expired",
            "earn_rate",
            "burn_rate",
            "breakage",
            "ultimate_redemption_rate",
            "redemption_participation",
        ),
    ),
    (
        "Members",
        (
            "active_members_per_day",
            "active_days_per_member_month",
            "retention_90",
            "retention_365",
            "churned_share",
        ),
    ),
)

LABELS = {
    "gmv": "GMV",
    "orders": "Orders",
    "incentive_share": "GMV from loyalty responses",
    "repurchase_rate": "Repurchase rate",
    "points_cost": "Points cost",
    "programme_cost": "Programme cost",
    "cost_ratio": "Cost ratio",
    "liability_end": "Liability at the end",
    "expected_liability_end": "Expected liability after breakage",
    "liability_to_monthly_gmv": "Liability in months of GMV",
    "points_issued": "Points issued",
    "points_burned": "Points redeemed",
    "points_expired": "Points expired",
    "earn_rate": "Earn rate",
    "burn_rate": "Burn rate (per month)",
    "breakage": "Breakage",
    "ultimate_redemption_rate": "Ultimate redemption rate",
    "redemption_participation": "Redemption participation",
    "active_members_per_day": "Active members a day",
    "active_days_per_member_month": "Active days per member a month",
    "retention_90": "90-day retention",
    "retention_365": "365-day retention",
    "churned_share": "Churned members",
    "incremental_gmv": "Incremental GMV",
    "incremental_margin": "Incremental margin",
    "incremental_points_cost": "Incremental points cost",
    "roi": "ROI",
    "liability_change": "Change in liability",
    "retention_change": "Change in 90-day retention",
    "active_change": "Change in active members a day",
    "cost_ratio_change": "Change in cost ratio",
}

CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0;
 background:#f6f7f9;color:#1d2433;line-height:1.45}
main{max-width:1180px;margin:0 auto;padding:28px 32px 40px;background:#fff}
.eyebrow{color:#5a6478;font-size:14px;margin:0 0 6px;text-transform:uppercase;letter-spacing:.04em}
h1{font-size:26px;line-height:1.35;font-weight:600;margin:0 0 12px}
h2{font-size:20px;margin:36px 0 8px;border-bottom:2px solid #e6e9ef;padding-bottom:4px}
h3{font-size:16px;margin:0 0 6px}
.meta,.note{color:#5a6478;font-size:13px;margin:4px 0}
table{border-collapse:collapse;width:100%;font-size:13px;margin-top:8px}
th,td{border-bottom:1px solid #e6e9ef;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f6;font-weight:600}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
tr.section td{background:#fafbfc;font-weight:600;color:#3b4458;padding-top:10px}
.ci{display:block;color:#5a6478;font-size:11px}
.tag{display:block;font-size:11px;font-weight:600}
td.ok{background:#dcf2e1}td.ok .tag{color:#1f7a3a}
td.edge{background:#fcefc7}td.edge .tag{color:#8a6200}
td.out{background:#f8d5d0}td.out .tag{color:#a3281b}
td.ns .v{color:#5a6478}td.sig .v{font-weight:700}
figure{margin:26px 0 0;padding:0}
figure img{width:100%;height:auto;border:1px solid #e6e9ef}
figcaption{color:#3b4458;font-size:13px;margin-top:6px}
footer{margin-top:40px;border-top:1px solid #e6e9ef;padding-top:10px;color:#5a6478;
 font-size:12px}
code{font-size:11px;word-break:break-all}
"""


def _label(name: str) -> str:
    if name.startswith("vs_control_"):
        return f"{_label(name.removeprefix('vs_control_'))} against the control"
    if name.startswith("tier_") and name.endswith("_share"):
        return f"Members in tier {name[5:-6]}"
    return LABELS.get(name, name.replace("_", " ").capitalize())


def _bound(value: float, unit: str, cur: str) -> str:
    """A band's edge, as short as it was written: 0.01 -> 1%."""
    return f"{value * 100:.4g}%" if unit == "share" else format_value(value, unit, cur)


def _band_text(band: Sequence[float | None] | None, unit: str, cur: str) -> str:
    if band is None or (band[0] is None and band[1] is None):
        return "–"
    low, high = band
    if low is None:
        return f"≤ {_bound(high, unit, cur)}"  # type: ignore[arg-type]
    if high is None:
        return f"≥ {_bound(low, unit, cur)}"
    return f"{_bound(low, unit, cur)} – {_bound(high, unit, cur)}"


def _ci(entry: Mapping[str, Any], cur: str, *, signed: bool) -> str:
    if entry["ci_low"] is None:
        return ""
    unit = entry["unit"]
    low = format_value(entry["ci_low"], unit, cur, signed=signed)
    high = format_value(entry["ci_high"], unit, cur, signed=signed)
    return f'<span class="ci">95% CI {escape(low)} to {escape(high)}</span>'


def _value_cell(entry: Mapping[str, Any] | None, cur: str) -> str:
    """A group's value with its CI, coloured by health: green inside the band, amber when the
    CI reaches past the band's edge, red outside."""
    if entry is None:
        return '<td class="num">–</td>'
    value = escape(format_value(entry["mean"], entry["unit"], cur))
    cls, tag = "", ""
    status, band = entry.get("status"), entry.get("band")
    if status == "ok" and band is not None:
        low, high = band
        lo, hi = entry["ci_low"], entry["ci_high"]
        edge = (low is not None and lo is not None and lo < low) or (
            high is not None and hi is not None and hi > high
        )
        cls, tag = ("edge", "near band edge") if edge else ("ok", "in band")
    elif status in ("low", "high"):
        cls, tag = "out", "below band" if status == "low" else "above band"
    tag_html = f'<span class="tag">{escape(tag)}</span>' if tag else ""
    ci = _ci(entry, cur, signed=False)
    return f'<td class="num {cls}"><span class="v">{value}</span>{ci}{tag_html}</td>'


def _diff_cell(entry: Mapping[str, Any] | None, cur: str, *, signed: bool = True) -> str:
    """A difference with its CI: bold when the CI excludes zero, grey when it straddles it.
    ``signed=False``: a ratio of differences (ROI), shown plainly."""
    if entry is None or entry["mean"] is None:
        return '<td class="num">–</td>'
    value = escape(format_value(entry["mean"], entry["unit"], cur, signed=signed))
    lo, hi = entry["ci_low"], entry["ci_high"]
    cls, note = "", ""
    if signed and lo is not None and hi is not None:
        if lo == hi == 0:
            cls, note = "ns", '<span class="tag">no change</span>'
        elif lo <= 0 <= hi:
            cls, note = "ns", '<span class="tag">not distinguishable from 0</span>'
        else:
            cls = "sig"
    ci = _ci(entry, cur, signed=signed)
    return f'<td class="num {cls}"><span class="v">{value}</span>{ci}{note}</td>'


def _kpi_table(summary: Mapping[str, Any]) -> str:
    cur = summary["currency"]
    groups: list[str] = summary["groups"]
    metrics: Mapping[str, Mapping[str, Any]] = summary["metrics"]
    experiment: Mapping[str, Any] = summary.get("experiment") or {}
    control = summary.get("control")
    head = ["Metric", "What it means"]
    head += [control_label(g, control) for g in groups]
    head.append("Healthy band")
    head += [f"{t} − {res['vs']}" for t, res in experiment.items()]
    rows = ["<tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"]
    first = metrics[groups[0]]
    tiers = tuple(name for name in first if name.startswith("tier_"))
    sections = (*SECTIONS, ("Tiers", tiers)) if tiers else SECTIONS
    width = len(head)
    for title, names in sections:
        rows.append(f'<tr class="section"><td colspan="{width}">{escape(title)}</td></tr>')
        for name in names:
            if name not in first:
                continue
            meta = first[name]
            cells = [
                f"<td><b>{escape(_label(name))}</b></td>",
                f"<td>{escape(meta['text'])}</td>",
            ]
            cells += [_value_cell(metrics[g].get(name), cur) for g in groups]
            band = meta.get("band")
            cells.append(f'<td class="num">{escape(_band_text(band, meta["unit"], cur))}</td>')
            cells += [
                _diff_cell(res.get("differences", {}).get(name), cur) for res in experiment.values()
            ]
            rows.append("<tr>" + "".join(cells) + "</tr>")
    return "<table>\n" + "\n".join(rows) + "\n</table>"


def _effect_table(summary: Mapping[str, Any]) -> str:
    cur = summary["currency"]
    experiment: Mapping[str, Any] = summary["experiment"]
    head = ["Effect", "What it means", *(f"{t} − {r['vs']}" for t, r in experiment.items())]
    rows = ["<tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"]
    names = list(next(iter(experiment.values()))["metrics"])
    for name in names:
        meta = next(iter(experiment.values()))["metrics"][name]
        cells = [f"<td><b>{escape(_label(name))}</b></td>", f"<td>{escape(meta['text'])}</td>"]
        cells += [
            _diff_cell(res["metrics"].get(name), cur, signed=name != "roi")
            for res in experiment.values()
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return "<table>\n" + "\n".join(rows) + "\n</table>"


def _footer(summary: Mapping[str, Any]) -> str:
    policies: Mapping[str, Mapping[str, str]] = summary.get("policies") or {}
    items = []
    for group, pol in policies.items():
        name = escape(pol.get("name", "?"))
        file = escape(pol.get("file", ""))
        digest = escape(pol.get("content_hash", ""))
        where = f" ({file})" if file else ""
        items.append(
            f"<li>{escape(group)}: policy <b>{name}</b>{where}, "
            f"content hash <code>{digest}</code></li>"
        )
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    win = summary["window"]
    return (
        "<footer>"
        f"<p>Scenario <b>{escape(str(summary['scenario']))}</b>; "
        f"{summary['replications']:,} replication(s); metric window {escape(win['start'])} "
        f"to {escape(win['end'])} ({win['days']:,} days). Generated {escape(now)} by pointsim "
        f"{escape(sim.__version__)}.</p>"
        f"<ul>{''.join(items)}</ul>"
        "</footer>"
    )


def figures_html(charts: Sequence[figures.Chart]) -> str:
    """The charts as ``<figure>`` elements: title, the PNG inline, "How to read this"."""
    parts = []
    for chart in charts:
        data = base64.b64encode(chart.png).decode("ascii")
        parts.append(
            f'<figure id="fig-{escape(chart.key)}"><h3>{escape(chart.title)}</h3>'
            f'<img src="data:image/png;base64,{data}" alt="{escape(chart.title)}">'
            f"<figcaption><b>How to read this:</b> {escape(chart.how_to_read)}</figcaption>"
            "</figure>"
        )
    return "\n".join(parts)


def render_report(summary: Mapping[str, Any], charts: Sequence[figures.Chart]) -> str:
    """The report as one HTML document."""
    cur = escape(summary["currency"])
    win = summary["window"]
    reps = summary["replications"]
    groups = ", ".join(summary["groups"])
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(summary['title'])} – pointsim report</title>",
        f"<style>{CSS}</style></head><body><main>",
        f'<p class="eyebrow">{escape(summary["title"])} · scenario '
        f"{escape(str(summary['scenario']))}</p>",
        f'<h1 id="headline">{escape(summary["headline"])}</h1>',
        f'<p class="meta">Metric window {escape(win["start"])} to {escape(win["end"])} '
        f"({win['days']:,} days) · {reps:,} replication(s) · groups: {escape(groups)} · "
        f"money in {cur}</p>",
        "<h2>Key figures</h2>",
        '<p class="note">Mean over replications with its 95% confidence interval. '
        "Green: inside the healthy band; amber: inside, but the interval reaches past the "
        "band's edge; red: outside the band. Differences in bold are distinguishable from "
        "zero; grey ones are not (their interval contains 0).</p>",
        _kpi_table(summary),
    ]
    if summary.get("experiment"):
        parts += [
            "<h2>Campaign effect</h2>",
            '<p class="note">Treatment minus control on the same simulated members and random '
            "numbers, per replication, then averaged. ROI is incremental margin per unit of "
            "incremental points cost.</p>",
            _effect_table(summary),
        ]
    parts += ["<h2>Charts</h2>", figures_html(charts)]
    parts += [_footer(summary), "</main></body></html>", ""]
    return "\n".join(parts)


def write_report(
    tables: RunTables,
    summary: dict[str, Any],
    spec: SummarySpec,
    path: Path,
    *,
    campaigns: Sequence[tuple[str, date, date]] = (),
) -> None:
    """Draw the figures and write the report to ``path``: complete, or not there at all."""
    path = Path(path)
    charts = figures.build_charts(tables, spec, campaigns)
    text = render_report(summary, charts)
    write_text_atomic(path, text)

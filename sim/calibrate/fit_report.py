"""The calibration report of ``pointsim calibrate fit``: one self-contained HTML page (figures
embedded) with, per segment, the fitted parameters and their standard errors, the model chosen
and why, and with a holdout the tracking and conditional-expectation figures of Fader, Hardie
& Lee (2005) and the forecast errors."""

from __future__ import annotations

import base64
import datetime as dt
import html

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.calibrate.fit import EPOCH, MODEL_NAMES, FitResult, SegmentFit

__all__ = ["fit_report_html"]

_STYLE = """body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.2em}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
.note{color:#555}img{max-width:100%}"""


def _png(fig: Figure) -> str:
    from sim.report.plotting import png_bytes

    data: bytes = png_bytes(fig)
    return base64.b64encode(data).decode("ascii")


def _table(frame: pd.DataFrame, digits: int = 4) -> str:
    def number(v: float) -> str:
        return f"{v:,.1f}" if abs(v) >= 10**digits else f"{v:.{digits}g}"

    text: str = frame.to_html(float_format=number, border=0, escape=True)
    return text


def _tracking(seg: SegmentFit, result: FitResult) -> str:
    from sim.report.plotting import new_figure

    bt = seg.backtest
    assert bt is not None
    fig = new_figure(8, 4)
    ax = fig.add_subplot(1, 1, 1)
    dates = pd.to_datetime(bt.days, unit="D")
    ax.plot(dates, bt.actual, color="black", label="actual")
    for model, values in bt.expected.items():
        ax.plot(dates, values, linestyle="--", label=MODEL_NAMES[model])
    ax.axvline(pd.Timestamp(result.calibration_end, unit="D"), color="grey", linestyle=":")  # type: ignore[arg-type]
    ax.set_ylabel("cumulative repeat transactions")
    ax.legend()
    return _png(fig)


def _by_frequency(seg: SegmentFit) -> str:
    from sim.report.plotting import new_figure

    bt = seg.backtest
    assert bt is not None
    fig = new_figure(8, 4)
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(bt.by_frequency))
    ax.plot(x, bt.by_frequency["actual"], "o-", color="black", label="actual")
    for model in MODEL_NAMES:
        if model in bt.by_frequency:
            ax.plot(x, bt.by_frequency[model], "s--", label=MODEL_NAMES[model])
    ax.set_xticks(x, list(bt.by_frequency.index))
    ax.set_xlabel("repeat transactions in the calibration period")
    ax.set_ylabel("mean holdout transactions")
    ax.legend()
    return _png(fig)


def fit_report_html(result: FitResult) -> str:
    """The page (module docstring)."""
    e = html.escape
    cal = EPOCH + dt.timedelta(days=result.calibration_end)
    parts = [
        "<!doctype html><meta charset='utf-8'><title>pointsim calibration</title>",
        f"<style>{_STYLE}</style>",
        "<h1>Buying behaviour fitted from a transaction history</h1>",
        f"<p>Log: <code>{e(result.source)}</code>. Calibration to {cal}; "
        + (
            f"holdout to {EPOCH + dt.timedelta(days=result.holdout_end)}. "
            if result.holdout_end is not None
            else "no holdout. "
        )
        + f"Time unit: {result.unit_days:g} days (rates and <i>alpha</i>, <i>beta</i> per unit)."
        " First purchases start each customer's clock and are not repeat transactions;"
        " purchases on one day are one transaction.</p>",
    ]
    if result.notes:
        parts.append("<p class='note'>" + "<br>".join(e(n) for n in result.notes) + "</p>")
    table = result.table()
    for seg in result.segments:
        parts.append(f"<h2>Segment {e(seg.segment)}</h2>")
        parts.append(
            f"<p>{seg.customers:,} customers, {seg.repeat_buyers:,} with a repeat purchase. "
            f"Model chosen: <b>{MODEL_NAMES[seg.chosen]}</b>, {e(seg.why)}. The simulator's "
            "members buy by BG/NBD: the scenario block is its fit.</p>"
        )
        mine = table[table["segment"] == seg.segment].drop(columns=["segment", "time_unit_days"])
        parts.append(_table(mine.set_index(["model", "parameter"])))
        corr = seg.frequency_spend_correlation
        if seg.spend is None:
            parts.append(f"<p class='note'>No spend model: {e(seg.spend_note)}.</p>")
        elif np.isfinite(corr):
            flag = " (far from 0: the spend model's independence assumption is doubtful)"
            parts.append(
                f"<p class='note'>Correlation of repeat transactions and mean value: {corr:.2f}"
                f"{flag if abs(corr) > 0.3 else ''}.</p>"
            )
        if seg.backtest is not None:
            bt = seg.backtest
            parts.append("<h3>Holdout: cumulative repeat transactions</h3>")
            parts.append(
                "<p class='note'>Actual against each model's expectation for the same "
                "customers, week by week; the dotted line is the calibration end (Fader, Hardie"
                " &amp; Lee 2005, figure 2).</p>"
            )
            parts.append(
                f"<img alt='tracking' src='data:image/png;base64,{_tracking(seg, result)}'>"
            )
            parts.append("<h3>Holdout by calibration frequency</h3>")
            parts.append(
                f"<img alt='by frequency' src='data:image/png;base64,{_by_frequency(seg)}'>"
            )
            parts.append(_table(bt.by_frequency))
            parts.append("<h3>Forecast errors</h3>")
            parts.append(_table(bt.errors.set_index("model")))
    return "\n".join(parts) + "\n"

"""The single-file HTML report of a run: headline, KPI table with health bands, figures.

Reads only the result tables (:mod:`sim.metrics.schema`) and the summary
(:func:`sim.metrics.summary.summarise`).
"""

from sim.report.figures import Chart, build_charts
from sim.report.html import render_report, write_report

__all__ = ["Chart", "build_charts", "render_report", "write_report"]

"""The single-file HTML report of a run: headline, KPI table with health bands, figures.

Reads only the result tables (:mod:`sim.metrics.schema`) and the summary
(:class:`sim.metrics.results.Summary`). The page is rendered from the Jinja2 templates in
``sim/report/templates/``, whose ``base.html`` (CSS) and ``macros.html`` (number cells, figures)
the sweep's page (:mod:`sim.sweep.report`) shares.
"""

from sim.report.figures import Chart, build_charts
from sim.report.html import render_report, write_report

__all__ = ["Chart", "build_charts", "render_report", "write_report"]

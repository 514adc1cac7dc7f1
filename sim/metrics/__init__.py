"""Metrics of a run: the result tables (:mod:`sim.metrics.schema`), their summary over
replications and groups (:mod:`sim.metrics.summary`)."""

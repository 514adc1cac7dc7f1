"""Which postings count as which points flow: defined with the postings, in
:mod:`sim.engine.flows` (both shells read it); re-exported here for the analysis."""

from sim.engine.flows import point_flows

__all__ = ["point_flows"]

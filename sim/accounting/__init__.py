"""Points as a finance team books them: issue cohorts and their redemption development.

Pure array code over the engine's postings, shared by both shells (DESIGN.md section 2):
:mod:`~sim.accounting.cohorts` attributes each member's redemptions, expiries and reversals to
the period the points were issued in (first in, first out), and
:mod:`~sim.accounting.development` forecasts each cohort's ultimate redemptions from that
development (chain ladder with a fitted tail, for a ledger's history), and
:mod:`~sim.accounting.runoff` forecasts what share of the points outstanding at a valuation will
be redeemed from their simulated run-off, and :mod:`~sim.accounting.ifrs15` books the points
a sale issues as IFRS 15 does (allocation, deferred revenue, breakage, catch-up), kept day by
day from the postings by :mod:`~sim.accounting.books` for both shells.
"""

from sim.accounting.cohorts import COHORT_FLOWS, CohortBook
from sim.accounting.development import Development, Triangle, develop
from sim.accounting.ifrs15 import Cohort, Movement, allocate, roll_forward
from sim.accounting.runoff import RunOff, run_off

__all__ = [
    "COHORT_FLOWS",
    "Cohort",
    "CohortBook",
    "Development",
    "Movement",
    "RunOff",
    "Triangle",
    "allocate",
    "develop",
    "roll_forward",
    "run_off",
]

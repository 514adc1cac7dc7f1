"""The points engine: pure rules over struct-of-arrays state. Both shells call it.

It imports numpy and the policy model and nothing else of ours; it does no I/O and keeps no
global state. See :mod:`sim.engine.day` for the order of a day.
"""

from sim.engine.calendar import day_number, to_date
from sim.engine.codes import Account, Kind, Status, referral_code
from sim.engine.compiled import CompiledPolicy, compile_policy
from sim.engine.day import DayResult, apply_events, close_day, open_day, step_day
from sim.engine.events import DayEvents, Postings
from sim.engine.invariants import check_invariants, posting_deltas, violations
from sim.engine.state import EngineState, MemberState, ProgramState, new_state

__all__ = [
    "Account",
    "CompiledPolicy",
    "DayEvents",
    "DayResult",
    "EngineState",
    "Kind",
    "MemberState",
    "Postings",
    "ProgramState",
    "Status",
    "apply_events",
    "check_invariants",
    "close_day",
    "compile_policy",
    "day_number",
    "new_state",
    "open_day",
    "posting_deltas",
    "referral_code",
    "step_day",
    "to_date",
    "violations",
]

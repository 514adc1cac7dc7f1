"""The live ledger: the engine's rules over a SQL database (SQLite by default, PostgreSQL).

See :mod:`sim.ledger.ledger` for how a request becomes one transaction, :mod:`.schema` for
the tables, :mod:`.audit` for the promises checked, :mod:`.versions` for applying policies.
"""

from sim.ledger.importer import ImportReport
from sim.ledger.ledger import EventOut, Ledger, Quote
from sim.ledger.members import NewMember
from sim.ledger.requests import EventIn, IdempotencyConflict, parse_money
from sim.ledger.store import LedgerError

__all__ = [
    "EventIn",
    "EventOut",
    "IdempotencyConflict",
    "ImportReport",
    "Ledger",
    "LedgerError",
    "NewMember",
    "Quote",
    "parse_money",
]

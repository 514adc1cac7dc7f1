"""pointsim: simulate a loyalty-points economy on the engine the live ledger runs."""

__version__ = "0.1.0"

"""Which postings count as which points flow: one definition for the simulation's recorder
and the ledger's metrics (DESIGN.md section 5)."""

from __future__ import annotations

from typing import Any

from sim.engine.codes import Account


def point_flows(src: Any, dst: Any) -> dict[str, Any]:
    """Masks of the postings (source and destination accounts as numpy arrays or pandas
    Series) that make up each daily points-flow metric."""
    return {
        "points_issued": (src == Account.ISSUED) & (dst <= Account.AVAILABLE),
        "points_released": (src == Account.PENDING) & (dst == Account.AVAILABLE),
        "points_burned": (src == Account.AVAILABLE) & (dst == Account.REDEEMED),
        "points_expired": dst == Account.EXPIRED,
        "points_reversed": dst == Account.REVERSED,
        "points_donated": dst == Account.DONATED,
    }

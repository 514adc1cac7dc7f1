"""Multipliers on earned points: the tier factor and the campaign factor, one definition each.

The award (:mod:`sim.engine.award`), the quote (:mod:`sim.engine.quote`) and the world's
members (through the quote, and :func:`campaign_bound` for the day's upper bound) all combine
multipliers here, so what a member is told, what a member responds to and what a member is
paid follow the same rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
import numpy.typing as npt

from sim.engine.compiled import CompiledPolicy

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

Stacking = Literal["multiply", "max", "add"]
"""How several campaign multipliers on the same points combine (``program.campaign_stacking``):
multiplied together, the largest alone, or their extras added (2x and 3x make 4x)."""


def stack(stacking: Stacking, factor: F64, multiplier: float) -> F64:
    """``factor`` (the campaign factor so far, per row; 1.0 before any campaign) with one more
    campaign's ``multiplier`` combined by ``stacking``. Folding a row's campaigns in the
    policy's order from 1.0 gives its campaign factor."""
    if stacking == "multiply":
        out: F64 = factor * multiplier
    elif stacking == "max":
        out = np.maximum(factor, multiplier)
    elif stacking == "add":
        out = factor + (multiplier - 1.0)
    else:
        raise ValueError(f"stacking(={stacking!r}) must be 'multiply', 'max' or 'add'")
    return out


def campaign_bound(stacking: Stacking, multipliers: Iterable[float]) -> float:
    """The campaign factor of a member in every one of the campaigns ``multipliers``: the
    largest any member can have while they run (campaign multipliers are >= 1, so each
    campaign can only raise the factor under every stacking rule)."""
    factor = np.ones(1)
    for m in multipliers:
        factor = stack(stacking, factor, m)
    return float(factor[0])


def tier_factor(cp: CompiledPolicy, tier: I64, birth_month: npt.ArrayLike, month: int) -> F64:
    """Factor of boostable points for members holding ``tier`` (the tier in force today), born
    in ``birth_month``, in calendar month ``month``: the tier's multiplier, times its birthday
    multiplier in the birthday month."""
    f: F64 = cp.tier_mult[tier]
    out: F64 = np.where(np.asarray(birth_month) == month, f * cp.tier_bday[tier], f)
    return out


def tier_factor_bound(cp: CompiledPolicy) -> float:
    """The largest tier factor any member can have, in or out of the birthday month."""
    return float(np.max(np.maximum(cp.tier_mult, cp.tier_mult * cp.tier_bday)))

"""Fractional points made whole, refusing instead of wrapping.

Points are computed as floats (rates times amounts times multipliers) and stored as int64. A
float beyond int64 does not raise when cast, it wraps (or becomes the smallest int64), so every
cast goes through :func:`whole_points`, which refuses a figure above
:data:`MAX_ENGINE_POINTS` with :class:`PointsOverflow`. The inputs' own bounds (the ledger's
requests, the policy's numbers) keep real programmes far below it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

MAX_ENGINE_POINTS = 2**62
"""The most points one figure may reach: sums of a few such figures still fit int64."""

EPS = 1e-9


class PointsOverflow(ArithmeticError):
    """A points figure beyond :data:`MAX_ENGINE_POINTS` (or not a number): refused."""


def whole_points(x: npt.ArrayLike, how: str = "floor") -> I64:
    """``x`` rounded (``floor``, ``ceil`` or ``round``) to whole points, or
    :class:`PointsOverflow` when a value is not finite or beyond :data:`MAX_ENGINE_POINTS`."""
    x = np.asarray(x, np.float64)
    if x.size and not (np.isfinite(x).all() and np.abs(x).max() <= MAX_ENGINE_POINTS):
        bad = x[~np.isfinite(x) | (np.abs(x) > MAX_ENGINE_POINTS)][0]
        raise PointsOverflow(
            f"a points figure of {bad:.6g} is beyond what the engine holds "
            f"({MAX_ENGINE_POINTS:.3g}): refused rather than wrapped"
        )
    if how == "floor":
        return np.floor(x + EPS).astype(np.int64)
    if how == "ceil":
        return np.ceil(x - EPS).astype(np.int64)
    return np.floor(x + 0.5).astype(np.int64)

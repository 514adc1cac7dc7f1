"""Array helpers that group elements by an integer key (usually the member), sort-based.

All keep array order within a group ("arrival order") and avoid per-element Python loops.
(``np.unique`` is avoided on hot paths: its hash-based path is slow on large int arrays.)
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]
G = TypeVar("G", bound=np.generic)


def _sorted(keys: I64) -> tuple[I64 | None, I64, B]:
    """(stable order, or None when the keys are already in order; keys in that order;
    start-of-group mask). Batches usually arrive in member order, so the permutation (and
    gathering through it) is skipped then."""
    order: I64 | None = None
    sk = keys
    if len(keys) > 1 and not bool((keys[1:] >= keys[:-1]).all()):
        order = np.argsort(keys, kind="stable")
        sk = keys[order]
    start = np.empty(len(sk), bool)
    if len(sk):
        start[0] = True
        np.not_equal(sk[1:], sk[:-1], out=start[1:])
    return order, sk, start


def _unsort(order: I64 | None, sorted_values: npt.NDArray[G]) -> npt.NDArray[G]:
    """Values computed in sorted order, put back in array order."""
    if order is None:
        return sorted_values
    out = np.empty_like(sorted_values)
    out[order] = sorted_values
    return out


def unique(keys: I64) -> I64:
    """Sorted distinct keys."""
    if len(keys) == 0:
        return keys.astype(np.int64)
    sk = keys if bool((keys[1:] >= keys[:-1]).all()) else np.sort(keys)
    keep = np.empty(len(sk), bool)
    keep[0] = True
    np.not_equal(sk[1:], sk[:-1], out=keep[1:])
    out: I64 = sk[keep]
    return out


def first_of_group(keys: I64) -> B:
    """Mask of each key's first occurrence in array order."""
    order, _, start = _sorted(keys)
    return _unsort(order, start)


def last_of_group(keys: I64) -> B:
    """Mask of each key's last occurrence in array order."""
    order, _, start = _sorted(keys)
    end = np.empty_like(start)
    if len(start):
        end[:-1] = start[1:]
        end[-1] = True
    return _unsort(order, end)


def first_where(keys: I64, where: B) -> B:
    """Mask of the first element of each key among those where ``where`` holds."""
    return first_among(keys, np.flatnonzero(where))


def first_among(keys: I64, idx: I64) -> B:
    """Mask of the first element of each key among elements ``idx`` (increasing positions)."""
    out = np.zeros(len(keys), bool)
    out[idx[first_of_group(keys[idx])]] = True
    return out


def _group_starts(start: B) -> I64:
    """For each element (in sorted order), the position of its group's first element."""
    idx = np.arange(len(start))
    out: I64 = np.maximum.accumulate(np.where(start, idx, 0))
    return out


def rank_in_group(keys: I64) -> I64:
    """1-based position of each element among its key's elements, in array order."""
    if len(keys) == 0:
        return np.zeros(0, np.int64)
    order, _, start = _sorted(keys)
    rank = np.arange(1, len(keys) + 1) - _group_starts(start)
    return _unsort(order, rank)


def cumsum_in_group(keys: I64, values: I64, *, inclusive: bool = True) -> I64:
    """Running sum of ``values`` per key in array order (inclusive or exclusive)."""
    if len(keys) == 0:
        return np.zeros(0, np.int64)
    order, _, start = _sorted(keys)
    sv = values if order is None else values[order]
    cs = np.cumsum(sv)
    excl = cs - sv
    run = (cs if inclusive else excl) - excl[_group_starts(start)]
    return _unsort(order, run.astype(np.int64, copy=False))


def group_sum(keys: I64, values: I64) -> tuple[I64, I64]:
    """Sorted distinct keys and the exact integer sum of ``values`` for each."""
    if len(keys) == 0:
        return keys.astype(np.int64), np.zeros(0, np.int64)
    order, sk, start = _sorted(keys)
    idx = np.flatnonzero(start)
    vals = values if order is None else values[order]
    sums: I64 = np.add.reduceat(vals.astype(np.int64, copy=False), idx)
    return sk[idx], sums


def scatter_add(target: npt.NDArray[np.int64], keys: I64, values: I64 | int) -> None:
    """``target[keys] += values`` with repeated keys adding up (exact for int64). numpy's
    ``ufunc.at`` has had a fast path since 1.25: it beats sorting keys or summing runs of a
    repeated key before a fancy add, whatever the order of the keys."""
    if len(keys):
        np.add.at(target, keys, values)

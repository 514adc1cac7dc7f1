"""Array helpers that group elements by an integer key (usually the member), sort-based.

All keep array order within a group ("arrival order") and avoid per-element Python loops.
(``np.unique`` is avoided on hot paths: its hash-based path is slow on large int arrays.)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


def _sorted(keys: I64) -> tuple[I64, I64, B]:
    """(stable order, keys in that order, start-of-group mask)."""
    if len(keys) < 2 or bool((keys[1:] >= keys[:-1]).all()):  # already sorted: no sort
        order, sk = np.arange(len(keys)), keys
    else:
        order = np.argsort(keys, kind="stable")
        sk = keys[order]
    start = np.empty(len(sk), bool)
    if len(sk):
        start[0] = True
        np.not_equal(sk[1:], sk[:-1], out=start[1:])
    return order, sk, start


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
    mask = np.zeros(len(keys), bool)
    if len(keys):
        order, _, start = _sorted(keys)
        mask[order[start]] = True
    return mask


def last_of_group(keys: I64) -> B:
    """Mask of each key's last occurrence in array order."""
    mask = np.zeros(len(keys), bool)
    if len(keys):
        order, _, start = _sorted(keys)
        end = np.r_[start[1:], True]
        mask[order[end]] = True
    return mask


def first_where(keys: I64, where: B) -> B:
    """Mask of the first element of each key among those where ``where`` holds."""
    out = np.zeros(len(keys), bool)
    idx = np.flatnonzero(where)
    out[idx[first_of_group(keys[idx])]] = True
    return out


def rank_in_group(keys: I64) -> I64:
    """1-based position of each element among its key's elements, in array order."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, np.int64)
    order, _, start = _sorted(keys)
    idx = np.arange(n)
    first = np.maximum.accumulate(np.where(start, idx, 0))
    rank = np.empty(n, np.int64)
    rank[order] = idx - first + 1
    return rank


def cumsum_in_group(keys: I64, values: I64, *, inclusive: bool = True) -> I64:
    """Running sum of ``values`` per key in array order (inclusive or exclusive)."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, np.int64)
    order, _, start = _sorted(keys)
    sv = values[order]
    cs = np.cumsum(sv)
    excl = cs - sv
    first = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    run = (cs if inclusive else excl) - excl[first]
    out = np.empty(n, np.int64)
    out[order] = run
    return out


def group_sum(keys: I64, values: I64) -> tuple[I64, I64]:
    """Sorted distinct keys and the exact integer sum of ``values`` for each."""
    if len(keys) == 0:
        return keys.astype(np.int64), np.zeros(0, np.int64)
    order, sk, start = _sorted(keys)
    idx = np.flatnonzero(start)
    sums: I64 = np.add.reduceat(values[order].astype(np.int64), idx)
    return sk[idx], sums


def scatter_add(target: npt.NDArray[np.int64], keys: I64, values: I64 | int) -> None:
    """``target[keys] += values`` with repeated keys adding up (exact for int64). Keys in
    increasing order (the usual case: batches arrive in member order) take plain fancy
    indexing, after summing runs of a repeated key; several times faster than ``np.add.at``."""
    if len(keys) == 0:
        return
    if len(keys) == 1:
        target[keys] += values
        return
    step = keys[1:] - keys[:-1]
    if bool((step > 0).all()):
        target[keys] += values
    elif bool((step >= 0).all()):  # sorted with repeats: sum each run, then one fancy add
        start = np.flatnonzero(np.concatenate(([True], step != 0)))
        vals = np.broadcast_to(np.asarray(values, np.int64), keys.shape)
        target[keys[start]] += np.add.reduceat(vals, start)
    else:
        np.add.at(target, keys, values)

"""The world's random numbers, keyed so that common random numbers hold.

A run's numbers are fixed by (scenario seed, sweep point, replication) alone. Within a run, the
uniform a member gets for a purpose on a day depends on nothing else: not on the group it runs
in, on which other members act, or on the worker. So twin groups see identical numbers, and a
member of a split group draws what it would draw in any other group.

Two sources, one contract (:meth:`Draws.uniform` for ``(purpose, day, members)``):

* *dense* purposes, asked for most members every day (buying, check-in ...): one
  ``numpy.random.Generator`` (PCG64DXSM) per (run, day, purpose), seeded from the run's
  ``SeedSequence``
  with ``spawn_key=(day, purpose)``, draws one uniform per member of the population in
  population order (only as far as the last member asked for: the same numbers, fewer drawn);
* *sparse* purposes, asked for a few members (order value, dropout after a purchase, item
  choice ...): a counter-based generator, the SplitMix64 finaliser (Steele, Lea & Flood 2014,
  "Fast splittable pseudorandom number generators", OOPSLA) applied to a key made of the run's
  entropy, the purpose, the day and the member (the counter-based idea of Salmon et al. 2011,
  "Parallel random numbers: as easy as 1, 2, 3"), costing work only for the members asked.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


class Purpose(IntEnum):
    """What a uniform is for. Values are part of the run's identity: do not renumber."""

    POPULATION = 0
    BUY = 1
    CHECKIN = 2
    SHARE = 3
    LOGIN = 4
    REDEEM = 5
    PROFILE = 6
    COURSE = 7
    SURVEY = 8
    LOTTERY = 9
    DONATE = 10
    BID = 11
    # sparse
    VALUE = 32
    DROP = 33
    CATEGORY = 34
    CHECKOUT = 35
    RETURN = 36
    RETURN_DAY = 37
    REVIEW = 38
    CHOICE = 39
    SPIN = 40
    WAKE = 41
    BID_SIZE = 42
    VERIFY = 43


DENSE = frozenset(p for p in Purpose if 0 < p < 32)

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31, _S11 = (np.uint64(k) for k in (30, 27, 31, 11))


def _mix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64's finaliser (a bijection of 64-bit words with full avalanche)."""
    x = x ^ (x >> _S30)
    x = x * _M1
    x = x ^ (x >> _S27)
    x = x * _M2
    out: npt.NDArray[np.uint64] = x ^ (x >> _S31)
    return out


def _mix_int(x: int) -> int:
    m = (1 << 64) - 1
    x &= m
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & m
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & m
    return x ^ (x >> 31)


class Draws:
    """Uniforms in [0, 1) for one run over a population of ``n`` members."""

    def __init__(self, seed: np.random.SeedSequence, n: int) -> None:
        if n < 0:
            raise ValueError(f"n(={n}) must be >= 0")
        self.seed = seed
        self.n = n
        words = seed.generate_state(2, np.uint64)
        self._key = int(words[0]) ^ (int(words[1]) << 1)
        self._day = -(2**62)
        self._dense: dict[int, F64] = {}

    def _extent(self, members: I64 | slice) -> int:
        """How many of the population's first members ``members`` reaches into."""
        if isinstance(members, slice):
            positions = range(self.n)[members]
            return positions[-1] + 1 if len(positions) else 0
        return int(members.max()) + 1 if len(members) else 0

    def generator(self, purpose: Purpose, day: int = 0) -> np.random.Generator:
        """A Generator of its own for ``purpose`` on ``day`` (e.g. drawing the population)."""
        return np.random.Generator(self._bit_generator(purpose, day))

    def _bit_generator(self, purpose: Purpose, day: int) -> np.random.PCG64DXSM:
        child = np.random.SeedSequence(
            self.seed.entropy,
            spawn_key=(*self.seed.spawn_key, int(day) & 0xFFFFFFFF, int(purpose)),
        )
        return np.random.PCG64DXSM(child)

    def _dense_tail(self, purpose: Purpose, day: int, start: int, stop: int) -> F64:
        """Numbers ``start`` to ``stop`` of a dense stream (one 64-bit step per uniform, so
        the stream is advanced past the first ``start``)."""
        bits = self._bit_generator(purpose, day)
        bits.advance(start)
        out: F64 = np.random.Generator(bits).random(stop - start)
        return out

    def uniform(self, purpose: Purpose, day: int, members: I64 | slice) -> F64:
        """One uniform per member of ``members`` (positions, or a slice of the population)."""
        if purpose in DENSE:
            if day != self._day:
                self._dense.clear()
                self._day = day
            arr = self._dense.get(purpose, np.zeros(0))
            need = self._extent(members)
            if len(arr) < need:
                # the stream only as far as asked: members who have not joined yet (the end
                # of the population) are not drawn for; a later ask draws the rest of the way
                tail = self._dense_tail(purpose, day, len(arr), need)
                arr = np.concatenate([arr, tail]) if len(arr) else tail
                self._dense[purpose] = arr
            out: F64 = arr[members]
            return out
        if isinstance(members, slice):
            members = np.arange(self.n, dtype=np.int64)[members]
        key = _mix_int(self._key ^ _mix_int((int(purpose) << 40) ^ (int(day) & 0xFFFFFFFFFF)))
        x = _mix(members.astype(np.uint64) * _GOLDEN + np.uint64(key))
        u: F64 = (x >> _S11).astype(np.float64) * (1.0 / 2**53)
        return u

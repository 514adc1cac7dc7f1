"""A batch of events (struct-of-arrays) and the postings the engine writes for them."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from sim.engine.codes import KIND_MAX, Kind

I64 = npt.NDArray[np.int64]
KIND_MIN = int(min(Kind))


@dataclass
class DayEvents:
    """One day's events, in arrival order by ``seq`` (unique, increasing within the batch).

    Field use by kind (unused fields are 0):

    - PURCHASE: ``amount`` (micros), ``quantity`` items, ``code`` category, ``ref`` order id.
    - REFUND: ``amount`` refunded (micros), ``quantity`` points to reverse, ``ref`` order id.
    - CHECKIN: nothing else. ACTION: ``code`` index into ``sim.policy.ACTIONS``.
    - REFERRAL: ``code`` from :func:`sim.engine.codes.referral_code` (stage and role).
    - INVESTMENT: ``amount`` (micros), ``quantity`` maturity day number, ``ref`` order id (a
      REFUND of that order before maturity, e.g. an early withdrawal, voids the points).
    - REDEEM: ``code`` catalogue item, ``quantity`` units (>= 1).
    - CASH_OFFSET: ``amount`` order value (micros), ``quantity`` points wanted (0: the most
      allowed).
    - LOTTERY: ``draw`` a uniform number in [0, 1) drawn by the shell for this spin.
    - BID: ``code`` auction lot, ``quantity`` points bid.
    - DONATE: ``quantity`` points. ADJUST: ``quantity`` points (+ credit, - debit).
    - FREEZE / UNFREEZE: nothing else.
    """

    member: I64
    kind: I64
    seq: I64
    amount: I64
    quantity: I64
    code: I64
    ref: I64
    draw: npt.NDArray[np.float64]

    def __post_init__(self) -> None:
        n = len(self.member)
        for f in fields(self):
            arr = np.asarray(getattr(self, f.name), np.float64 if f.name == "draw" else np.int64)
            if arr.shape != (n,):
                raise ValueError(f"events.{f.name}: shape {arr.shape}, expected ({n},)")
            setattr(self, f.name, arr)

    def __len__(self) -> int:
        return len(self.member)

    @classmethod
    def empty(cls) -> DayEvents:
        z = np.zeros(0, np.int64)
        return cls(z, z, z, z, z, z, z, np.zeros(0))

    @classmethod
    def build(
        cls,
        member: npt.ArrayLike,
        kind: npt.ArrayLike,
        *,
        seq: npt.ArrayLike | None = None,
        amount: npt.ArrayLike | None = None,
        quantity: npt.ArrayLike | None = None,
        code: npt.ArrayLike | None = None,
        ref: npt.ArrayLike | None = None,
        draw: npt.ArrayLike | None = None,
    ) -> DayEvents:
        m = np.atleast_1d(np.asarray(member, np.int64))
        n = len(m)

        def col(x: npt.ArrayLike | None, fill: float = 0) -> npt.NDArray[np.generic]:
            return np.full(n, fill) if x is None else np.broadcast_to(np.asarray(x), (n,)).copy()

        return cls(
            member=m,
            kind=col(kind).astype(np.int64),
            seq=np.arange(n, dtype=np.int64) if seq is None else col(seq).astype(np.int64),
            amount=col(amount).astype(np.int64),
            quantity=col(quantity).astype(np.int64),
            code=col(code).astype(np.int64),
            ref=col(ref).astype(np.int64),
            draw=col(draw, np.nan).astype(np.float64),
        )

    def take(self, idx: I64 | npt.NDArray[np.bool_]) -> DayEvents:
        return DayEvents(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @classmethod
    def concat(cls, parts: list[DayEvents]) -> DayEvents:
        if not parts:
            return cls.empty()
        return cls(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)}
        )

    def validate(self, n_members: int) -> None:
        """Raise ValueError naming the field of the first bad event."""
        if len(self) == 0 or self._plainly_valid(n_members):
            return
        checks = [
            ("member", (self.member < 0) | (self.member >= n_members), f"in [0, {n_members})"),
            ("kind", (self.kind < KIND_MIN) | (self.kind > KIND_MAX), "a sim.engine.Kind"),
            ("amount", self.amount < 0, ">= 0"),
            ("seq", np.diff(self.seq) <= 0, "strictly increasing"),
        ]
        nonneg_qty = self.kind != Kind.ADJUST
        checks.append(("quantity", nonneg_qty & (self.quantity < 0), ">= 0"))
        lottery = self.kind == Kind.LOTTERY
        bad_draw = lottery & ~((self.draw >= 0) & (self.draw < 1))
        checks.append(("draw", bad_draw, "in [0, 1) for a LOTTERY event"))
        for name, bad, expected in checks:
            if np.any(bad):
                i = int(np.flatnonzero(bad)[0])
                value = getattr(self, name)[i + 1 if name == "seq" else i]
                raise ValueError(f"events.{name}[{i}]: got {value!r}, expected {expected}")

    def _plainly_valid(self, n_members: int) -> bool:
        """The checks of :meth:`validate` by reductions (no mask per check): True when every
        event passes; False sends the caller to the per-event checks to name the first bad one.
        Negative quantities (debit adjustments) and lottery draws also take the slow path."""
        return bool(
            self.member.min() >= 0
            and self.member.max() < n_members
            and self.kind.min() >= KIND_MIN
            and self.kind.max() <= KIND_MAX
            and self.amount.min() >= 0
            and self.quantity.min() >= 0
            and (len(self) == 1 or (self.seq[1:] > self.seq[:-1]).all())
            and not (self.kind == Kind.LOTTERY).any()
        )


@dataclass
class Postings:
    """The journal rows of one engine call: ``points`` move from account ``src`` to ``dst`` of
    ``member`` under ``rule``; ``value`` is what those points are worth to the member (micros, at
    the member's point value that day); ``cost`` is the cash (micros) the programme pays for it
    (catalogue cost, cash offset, prize, donation, tier pack); ``event`` is the index of the
    causing event in the batch (-1 for scheduled work)."""

    member: I64
    rule: I64
    src: I64
    dst: I64
    points: I64
    value: I64
    cost: I64
    event: I64

    def __len__(self) -> int:
        return len(self.member)

    @classmethod
    def empty(cls) -> Postings:
        z = np.zeros(0, np.int64)
        return cls(z, z, z, z, z, z, z, z)

    @classmethod
    def concat(cls, parts: list[Postings]) -> Postings:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)}
        )

"""Whether the window holds what it measures: an effect still moving at the window's end, and
balances still building up after the warm-up (constructed series with known answers)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.metrics.horizon import balances_not_settled, effect_still_moving
from sim.metrics.summary import t_interval

DAYS = pd.date_range("2026-01-01", periods=180, freq="D")


def _frame(columns: dict[str, dict[str, list[np.ndarray]]]) -> pd.DataFrame:
    """``columns[column][group][replication]`` = a value a day."""
    rows = []
    groups = next(iter(columns.values()))
    for group, reps in groups.items():
        for r in range(len(reps)):
            data = {"group": group, "replication": r, "day": DAYS}
            for col, by_group in columns.items():
                data[col] = by_group[group][r]
            rows.append(pd.DataFrame(data))
    return pd.concat(rows, ignore_index=True)


def _gmv(effect: np.ndarray, reps: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    base = [1000 + rng.normal(0, 50, len(DAYS)) for _ in range(reps)]
    noise = [rng.normal(0, 0.2, len(DAYS)) for _ in range(reps)]
    treated = [b + effect + n for b, n in zip(base, noise, strict=True)]
    return _frame({"gmv": {"control": base, "treatment": treated}})


def test_an_effect_still_decaying_at_the_end_is_flagged_with_a_longer_window() -> None:
    t = np.arange(len(DAYS), dtype=float)
    effect = 100.0 * 0.5 ** (t / 30.0)  # halves every 30 days: still 1.6 a day at the end
    text = effect_still_moving(_gmv(effect), "treatment", "control", "CNY", t_interval)
    assert text is not None and "still moving at the window's end" in text
    # the last block is half the one before: 0.5 ** k < 0.05 from k = 5 blocks of 30 days
    assert "it shrank to 50% of the block before" in text
    assert "a window about 150 days longer" in text


def test_an_effect_over_before_the_end_is_not_flagged() -> None:
    effect = np.where(np.arange(len(DAYS)) < 60, 100.0, 0.0)
    assert effect_still_moving(_gmv(effect), "treatment", "control", "CNY", t_interval) is None


def _balances(per_member: np.ndarray, reps: int = 3) -> pd.DataFrame:
    members = np.full(len(DAYS), 1000.0)
    rng = np.random.default_rng(2)
    out = [per_member * members * (1 + rng.normal(0, 0.001, len(DAYS))) for _ in range(reps)]
    return _frame({"outstanding_points": {"all": out}, "members": {"all": [members] * reps}})


def test_balances_still_growing_after_the_warm_up_are_flagged_with_the_warm_up_needed() -> None:
    t = np.arange(len(DAYS), dtype=float)
    per_member = np.where(t < 60, 100.0 + 0.5 * t, 130.0)  # +15% a month, flat from day 60
    text = balances_not_settled(_balances(per_member), "all", 90, t_interval)
    assert text is not None and "still growing at the start of the window" in text
    # the 90-day block starting 60 days in is flat: 90 + 60 days of warm-up
    assert "about 150 days of warm-up would" in text


def test_balances_that_never_settle_say_so() -> None:
    t = np.arange(len(DAYS), dtype=float)
    text = balances_not_settled(_balances(100.0 * 1.05 ** (t / 30)), "all", 90, t_interval)
    assert text is not None and "does not settle within the window" in text


def test_settled_balances_are_not_flagged() -> None:
    flat = np.full(len(DAYS), 100.0)
    assert balances_not_settled(_balances(flat), "all", 90, t_interval) is None

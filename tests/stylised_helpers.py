"""Helpers of the stylised-facts tests (``test_stylised_facts.py``): which mechanisms to switch
off, the e-commerce catalogue's levers as policy overrides, a world run that lets a test look
at every member on every day, and the twin difference of a daily metric by date."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from twin_helpers import POLICIES

from sim.behaviour.params import Behaviour
from sim.policy.load import load_policy
from sim.scenario import load_scenario
from sim.world.world import World, WorldRun

I64 = npt.NDArray[np.int64]
T = TypeVar("T")

MECHANISMS = tuple(Behaviour.model_fields)
"""Every loyalty mechanism's name (``behaviour.<name>``)."""


def only(*keep: str, also_off: Iterable[str] = ()) -> tuple[str, ...]:
    """``--set`` overrides switching every mechanism off except ``keep`` (and ``also_off``
    off even if kept)."""
    unknown = set(keep) - set(MECHANISMS)
    assert not unknown, f"no such mechanisms: {sorted(unknown)}"
    return tuple(
        f"behaviour.{name}.enabled=false"
        for name in MECHANISMS
        if name not in keep or name in set(also_off)
    )


def switched_off(*names: str) -> tuple[str, ...]:
    """``--set`` overrides switching the mechanisms ``names`` off (the others as they are)."""
    unknown = set(names) - set(MECHANISMS)
    assert not unknown, f"no such mechanisms: {sorted(unknown)}"
    return tuple(f"behaviour.{name}.enabled=false" for name in names)


def catalogue(policy: str = "ecommerce_super_points.toml") -> dict[str, float]:
    """Each catalogue item of a policy file with the face value members perceive."""
    items = load_policy(POLICIES / policy).burn.catalogue
    return {
        name: float(item.face_value if item.face_value is not None else item.cash_cost)
        for name, item in items.items()
    }


def faces_times(factor: float, policy: str = "ecommerce_super_points.toml") -> dict[str, float]:
    """Policy overrides making every catalogue item ``factor`` times as generous."""
    return {
        f"burn.catalogue.{name}.face_value": round(face * factor, 6)
        for name, face in catalogue(policy).items()
    }


def no_burn(policy: str = "ecommerce_super_points.toml") -> dict[str, bool]:
    """Policy overrides disabling every way to burn points (cash offset and catalogue)."""
    out = {"burn.cash_offset.enabled": False}
    out.update({f"burn.catalogue.{name}.enabled": False for name in catalogue(policy)})
    return out


def no_earning() -> dict[str, bool]:
    """Policy overrides disabling every earn rule of the e-commerce programme: no programme."""
    return {f"earn.{rule}.enabled": False for rule in ("purchase", "checkin", "share", "profile")}


def world(path: Path, sets: Iterable[str] = (), replication: int = 0) -> World:
    """The world of one replication of a scenario file."""
    return World(load_scenario(path, sets=tuple(sets)), replication)


def watch_days(
    w: World,
    note: Callable[[int], T],
    count: Callable[[int, T, list[I64]], None],
) -> WorldRun:
    """Run ``w``, calling ``note(t)`` at the end of every day ``t`` (what the members look like
    going into day ``t + 1``) and, for every day ``t`` of the metric window,
    ``count(t, noted, bought)`` with what ``note`` returned the day before and each group's
    orders per member on day ``t`` (``bought[g][i]``, 0 or 1)."""
    last = [aw.orders_window.copy() for aw in w.arms]
    noted: list[T] = []

    def on_day(t: int) -> None:
        now = [aw.orders_window.copy() for aw in w.arms]
        if noted and t >= w.window_start:
            bought = [(n - b).astype(np.int64) for n, b in zip(now, last, strict=True)]
            count(t, noted[0], bought)
        last[:] = now
        noted[:] = [note(t)]

    w.on_day = on_day
    return w.run()


def daily_difference(metrics: pd.DataFrame, column: str) -> pd.Series:
    """Treatment minus control of a daily metric, summed over replications, by date (window
    days only)."""
    m = metrics[metrics["day_index"] >= 0]
    table = m.pivot_table(index="day", columns="group", values=column, aggfunc="sum")
    diff = table["treatment"] - table["control"]
    diff.index = pd.to_datetime(diff.index)
    return diff.sort_index()


def between(series: pd.Series, first: str, last: str) -> float:
    """Sum of a date-indexed series from ``first`` to ``last`` (inclusive)."""
    idx = pd.DatetimeIndex(series.index)
    sel = (idx >= pd.Timestamp(first)) & (idx <= pd.Timestamp(last))
    return float(series[sel].sum())


def quintile_of(values: npt.NDArray[np.float64]) -> I64:
    """0 (lowest fifth) to 4 (highest fifth) of each value."""
    edges = np.quantile(values, [0.2, 0.4, 0.6, 0.8])
    out: I64 = np.searchsorted(edges, values, side="right").astype(np.int64)
    return out


def group_rows(metrics: pd.DataFrame, group: str) -> pd.DataFrame:
    """The window days of one group, with a ``date`` column."""
    rows = metrics[(metrics["group"] == group) & (metrics["day_index"] >= 0)].copy()
    rows["date"] = pd.to_datetime(rows["day"])
    return rows


def as_table(d: Mapping[str, Any]) -> str:
    """A short ``k=v`` rendering of figures for assertion messages."""
    return ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float | np.floating) else f"{k}={v}" for k, v in d.items()
    )

"""Calibrating the redemption catalogue against the point value (``pointsim calibrate
catalogue``): which items are mis-priced, which are never redeemed or out of reach, and which
point value, earn rate or catalogue price scale puts the programme's cost inside its band.

Per item, from the policy: its face value per point (what a member perceives it worth over its
points price), its cash cost per point, and the face value per point against the programme's
point value. From simulated years of the scenario (the window of each replication, the
members' choices made by :mod:`sim.world`: among affordable items in proportion to face value
per point): how many redemption orders a year, by how many members, and who they are (their
segment, and whether they are light, middle or heavy earners: thirds of the members by points
earned a month); and how many months of a typical member's earning (the median over members
who earned) its price takes.

Flags, each with its reason and threshold (the thresholds are this project's assumptions,
printed with the table):

* never redeemed in any simulated year, or rarely (under :data:`RARE_SHARE` of the orders);
* face value per point far above or below the programme's point value (beyond a factor
  :data:`FAR_FACTOR`): members get much more, or much less, than a point is said to be worth;
* cash cost per point above the point value: each redemption costs more than the points were
  valued at;
* out of reach: fewer than :data:`REACH_SHARE` of the members earn its price in a year.

Solving (:func:`solve_catalogue`): one lever (the point value, every purchase rule's earn
rate, or a scale on every item's points price) run over a grid on common random numbers, each
replication solved for the target cost ratio (:mod:`sim.calibrate.grid`), the redemption
participation checked against its floor at the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from sim.calibrate.grid import Curve, Loader, Solution, metric_rows, run_grid, solve
from sim.calibrate.logs import CalibrationError
from sim.engine import Account, day_number
from sim.execute import Backend
from sim.policy import Policy
from sim.policy.diff import diff, render_diff
from sim.policy.earn import PurchaseRule
from sim.policy.load import override
from sim.scenario import Scenario

__all__ = [
    "FAR_FACTOR",
    "LEVERS",
    "RARE_SHARE",
    "REACH_SHARE",
    "CataloguePlan",
    "CatalogueReport",
    "CatalogueSolution",
    "catalogue_report",
    "plan_catalogue",
    "run_catalogue",
    "solve_catalogue",
]

RARE_SHARE = 0.01
"""An item with under this share of the redemption orders is rarely redeemed (assumed)."""
FAR_FACTOR = 2.0
"""Face value per point more than this factor above, or below 1 / it, the point value is
flagged (assumed)."""
REACH_SHARE = 0.5
"""An item whose price fewer than this share of members earn in a year is out of reach."""
DAYS_A_MONTH = 365.25 / 12
Lever = Literal["point-value", "earn-rate", "price-scale"]
LEVERS: tuple[Lever, ...] = ("point-value", "earn-rate", "price-scale")


@dataclass(frozen=True)
class CatalogueReport:
    """The catalogue's table (one row per enabled item) for ``group`` of ``scenario``."""

    scenario: str
    group: str
    point_value: float
    currency: str
    replications: int
    members: int
    monthly_points: float
    """The median points a member earns a month (members who earned)."""
    items: pd.DataFrame

    def flagged(self) -> pd.DataFrame:
        return self.items[self.items["flags"] != ""]


def _policy_table(policy: Policy) -> pd.DataFrame:
    pv = policy.program.point_value
    rows = []
    for key, item in policy.burn.catalogue.items():
        if not item.enabled:
            continue
        face = item.face_value if item.face_value is not None else item.cash_cost
        rows.append(
            {
                "item": key,
                "name": item.name or key,
                "points": item.points,
                "cash_cost": item.cash_cost,
                "face_value": face,
                "face_per_point": face / item.points,
                "cost_per_point": item.cash_cost / item.points,
                "value_vs_point_value": face / item.points / pv if pv > 0 else float("nan"),
                "min_tier": item.min_tier or "",
                "stock": item.stock,
            }
        )
    return pd.DataFrame(rows)


def catalogue_report(sc: Scenario, group: str | None = None) -> CatalogueReport:
    """Simulate each replication of ``sc`` in this process and tabulate the catalogue of
    ``group`` (default: the control or the only group)."""
    from sim.world.world import World

    group = group or sc.control or sc.arms[0].group
    arm = next((a for a in sc.arms if a.group == group), None)
    if arm is None:
        groups = ", ".join(a.group for a in sc.arms)
        raise CalibrationError(f"--group {group}: not a group of {sc.name} ({groups})")
    table = _policy_table(arm.policy)
    if table.empty:
        raise CalibrationError(f"{sc.name}: group {group}'s policy has no catalogue item")
    spec = sc.spec
    start = day_number(spec.horizon.start)
    end = start + spec.horizon.days - 1
    per_year = 365.0 / spec.horizon.days
    orders, redeemers, reach, thirds, segments = [], [], [], [], []
    monthly: list[float] = []
    members = 0
    for r in range(spec.replications):
        world = World(sc, r, export_events=True)
        run = world.run()
        assert run.events is not None and run.members is not None
        aw = next(a for a in world.arms if a.arm.group == group)
        n = aw.joined
        members += n
        earned = aw.state.members.acct[:n, Account.PENDING :].sum(axis=1).astype(np.float64)
        joined = np.maximum(aw.state.members.join_day[:n], world.first_day)
        months = np.maximum((end - joined + 1) / DAYS_A_MONTH, 1.0)
        rate = earned / months
        monthly.append(float(np.median(rate[rate > 0])) if (rate > 0).any() else 0.0)
        year = rate * 12
        reach.append(
            {
                k: float((year >= p).mean())
                for k, p in zip(table["item"], table["points"], strict=True)
            }
        )
        ev = run.events
        days = (pd.to_datetime(ev["day"]) - pd.Timestamp("1970-01-01")).dt.days
        mine = ev[
            (ev["group"] == group) & (ev["kind"] == "redeem") & (days >= start) & (days <= end)
        ]
        orders.append(mine.groupby("name").size() * per_year)
        redeemers.append(mine.groupby("name")["member"].nunique() / max(n, 1))
        cuts = np.quantile(rate, [1 / 3, 2 / 3]) if n else np.zeros(2)
        third = np.searchsorted(cuts, rate, side="right")
        who = mine.drop_duplicates(["name", "member"])
        level = pd.Series(third[who["member"].to_numpy()], index=who.index)
        thirds.append(who.assign(level=level).groupby(["name", "level"]).size())
        mem = run.members[run.members["group"] == group].set_index("member")["segment"]
        segments.append(
            who.assign(segment=who["member"].map(mem)).groupby(["name", "segment"]).size()
        )
    reps = spec.replications
    order_frame = pd.concat(orders, axis=1).reindex(table["item"]).fillna(0.0)
    table["orders_a_year"] = order_frame.mean(axis=1).to_numpy()
    table["orders_a_year_sd"] = (
        order_frame.std(axis=1, ddof=1).fillna(0.0).to_numpy() if reps > 1 else 0.0
    )
    red = pd.concat(redeemers, axis=1).reindex(table["item"]).fillna(0.0)
    table["redeemers_share"] = red.mean(axis=1).to_numpy()
    table["share_of_orders"] = table["orders_a_year"] / max(table["orders_a_year"].sum(), 1e-12)
    typical = float(np.mean(monthly))
    table["months_to_reach"] = table["points"] / typical if typical > 0 else np.inf
    table["members_reaching_in_a_year"] = [np.mean([r[k] for r in reach]) for k in table["item"]]
    table["by_earners"] = [
        _shares(thirds, k, {0: "light", 1: "middle", 2: "heavy"}) for k in table["item"]
    ]
    table["by_segment"] = [_shares(segments, k, None) for k in table["item"]]
    pv = arm.policy.program.point_value
    table["flags"] = [_flags(row, pv) for row in table.itertuples()]
    return CatalogueReport(
        scenario=sc.name,
        group=group,
        point_value=pv,
        currency=arm.policy.program.currency,
        replications=reps,
        members=members // max(reps, 1),
        monthly_points=typical,
        items=table,
    )


def _shares(parts: list[pd.Series], item: str, names: dict[int, str] | None) -> str:
    total = pd.concat(parts).groupby(level=[0, 1]).sum()
    if item not in total.index.get_level_values(0):
        return ""
    mine = total.xs(item, level=0)
    share = mine / mine.sum()
    label = (lambda k: names[int(k)]) if names else str
    return ", ".join(f"{label(k)} {v:.0%}" for k, v in share.items())


def _flags(row: Any, point_value: float) -> str:
    out = []
    if row.orders_a_year == 0:
        out.append("never redeemed in a simulated year")
    elif row.share_of_orders < RARE_SHARE:
        out.append(f"rarely redeemed ({row.share_of_orders:.1%} of orders, under {RARE_SHARE:.0%})")
    ratio = row.value_vs_point_value
    if np.isfinite(ratio) and ratio > FAR_FACTOR:
        out.append(
            f"face value per point {ratio:.1f}x the point value (over {FAR_FACTOR:g}x): members "
            "get far more than a point is worth"
        )
    elif np.isfinite(ratio) and ratio < 1 / FAR_FACTOR:
        out.append(
            f"face value per point {ratio:.2f}x the point value (under 1/{FAR_FACTOR:g}): "
            "members get far less than a point is worth"
        )
    if row.cost_per_point > point_value:
        out.append(
            f"cash cost per point {row.cost_per_point:.4g} above the point value {point_value:g}"
        )
    if row.members_reaching_in_a_year < REACH_SHARE:
        out.append(
            f"out of reach: {row.members_reaching_in_a_year:.0%} of members earn its "
            f"{row.points:,} points in a year (under {REACH_SHARE:.0%}; "
            f"{row.months_to_reach:.0f} months of typical earning)"
        )
    return "; ".join(out)


@dataclass(frozen=True)
class CatalogueSolution:
    """The lever's value (``scale`` of its current setting) at which the cost ratio hits
    ``target``, with the participation there, and the tuned policy."""

    lever: Lever
    current: float
    target: float
    band: tuple[float | None, float | None]
    floor: float
    cost: Curve
    participation: Curve
    solution: Solution
    tuned: Policy | None
    diff_text: str

    @property
    def value(self) -> float | None:
        s = self.solution
        return None if s.mean is None else s.mean * self.current

    def participation_at(self) -> float | None:
        s = self.solution
        return None if s.mean is None else self.participation.at(s.mean)

    def text(self) -> str:
        s = self.solution
        cost = self.cost.mean()
        span = (
            f"across {self.cost.values[0] * self.current:.4g} to "
            f"{self.cost.values[-1] * self.current:.4g} the cost ratio runs "
            f"{cost[0]:.2%} to {cost[-1]:.2%}"
        )
        if not s.solved or s.mean is None:
            side = {"above": "above", "below": "below"}.get(s.direction, "outside")
            return (
                f"No {self.lever} in the range searched puts the cost ratio at {self.target:.2%}: "
                f"it needs a value {side} it ({span})."
            )
        assert s.low is not None and s.high is not None
        part = self.participation_at()
        floor = (
            f"; redemption participation there {part:.1%}, "
            + ("above" if part is not None and part >= self.floor else "BELOW")
            + f" the floor {self.floor:.0%}"
        )
        return (
            f"{self.lever} {s.mean * self.current:.4g} (95% CI {s.low * self.current:.4g} to "
            f"{s.high * self.current:.4g}; now {self.current:.4g}) puts the cost ratio at "
            f"{self.target:.2%}{floor} ({span})."
        )

    @property
    def meets_floor(self) -> bool:
        part = self.participation_at()
        return part is not None and part >= self.floor


def _lever_values(policy: Policy, lever: Lever, scale: float) -> dict[str, Any]:
    """The policy settings for ``lever`` at ``scale`` times its current setting."""
    if lever == "point-value":
        return {"program.point_value": policy.program.point_value * scale}
    if lever == "earn-rate":
        out: dict[str, Any] = {}
        for key, rule in policy.earn.items():
            if rule.enabled and isinstance(rule, PurchaseRule):
                out[f"earn.{key}.points_per_unit"] = rule.points_per_unit * scale
        if not out:
            raise CalibrationError("--lever earn-rate: the policy has no enabled purchase rule")
        return out
    return {
        f"burn.catalogue.{key}.points": max(1, round(item.points * scale))
        for key, item in policy.burn.catalogue.items()
    }


def _lever_current(policy: Policy, lever: Lever) -> float:
    return policy.program.point_value if lever == "point-value" else 1.0


@dataclass(frozen=True)
class CataloguePlan:
    """A checked tuning, ready to run: the scenario and its lever's grid of scales."""

    base: Scenario
    policy: Policy
    group: str
    lever: Lever
    scales: npt.NDArray[np.float64]
    scenarios: list[Scenario]
    target: float
    band: tuple[float | None, float | None]
    floor: float


def plan_catalogue(
    path: Path | str,
    lever: Lever,
    *,
    target: float | None = None,
    floor: float = 0.0,
    low: float = 0.5,
    high: float = 2.0,
    points: int = 7,
    group: str | None = None,
    load: dict[str, Any] | None = None,
) -> CataloguePlan:
    """Check every input and load the scenario at each of the lever's scales (``low``..
    ``high`` times its current setting; nothing runs, nothing is written). The target cost
    ratio defaults to the middle of the scenario's cost_ratio band and must lie inside it."""
    if lever not in LEVERS:
        raise CalibrationError(f"--lever {lever}: expected one of {', '.join(LEVERS)}")
    if not (0 < low < 1 < high) or points < 3:
        raise CalibrationError(
            f"--low {low} --high {high} --points {points}: expected 0 < low < 1 < high (scales "
            "of the current setting) and at least 3 points"
        )
    if not 0.0 <= floor <= 1.0:
        raise CalibrationError(f"--min-participation {floor}: expected a share within [0, 1]")
    loader = Loader.of(path, load)
    base = loader.base
    group = group or base.control or base.arms[0].group
    arm = next((a for a in base.arms if a.group == group), None)
    if arm is None:
        raise CalibrationError(f"--group {group}: not a group of {base.name}")
    band = base.bands().get("cost_ratio", (None, None))
    if target is None:
        if band[0] is None or band[1] is None:
            raise CalibrationError(
                f"--target: {base.name} has no cost_ratio band with both ends ([health]); give "
                "the target cost ratio"
            )
        target = (band[0] + band[1]) / 2
    if not 0 < target < 1:
        raise CalibrationError(f"--target {target}: expected a cost ratio within (0, 1)")
    if (band[0] is not None and target < band[0]) or (band[1] is not None and target > band[1]):
        raise CalibrationError(
            f"--target {target:.2%}: outside the scenario's cost_ratio band "
            f"({band[0]} to {band[1]}); the target must be inside it"
        )
    scales = np.geomspace(low, high, points)
    scenarios = [
        loader.at(_lever_values(arm.policy, lever, float(s)), f"--lever {lever} x{s:.3g}")
        for s in scales
    ]
    return CataloguePlan(
        base, arm.policy, group, lever, scales, scenarios, float(target), band, floor
    )


def run_catalogue(
    plan: CataloguePlan,
    *,
    folder: Path,
    backend: Backend,
    on_run: Callable[[bool], None] | None = None,
) -> CatalogueSolution:
    """Run the plan's grid (kept in ``folder``: a rerun resumes), solve each replication for
    the target cost ratio, and the tuned policy at the answer."""
    rows = run_grid(plan.scenarios, folder, backend, on_run=on_run)
    cost = Curve(plan.scales, metric_rows(rows, plan.base, "cost_ratio", plan.group))
    part = Curve(plan.scales, metric_rows(rows, plan.base, "redemption_participation", plan.group))
    sol = solve(cost, plan.target)
    tuned = None
    text = ""
    if sol.mean is not None:
        tuned = override(plan.policy, _lever_values(plan.policy, plan.lever, sol.mean), "calibrate")
        text = render_diff(diff(plan.policy, tuned))
    return CatalogueSolution(
        lever=plan.lever,
        current=_lever_current(plan.policy, plan.lever),
        target=plan.target,
        band=plan.band,
        floor=plan.floor,
        cost=cost,
        participation=part,
        solution=sol,
        tuned=tuned,
        diff_text=text,
    )


def solve_catalogue(
    path: Path | str,
    lever: Lever,
    *,
    folder: Path,
    backend: Backend,
    on_run: Callable[[bool], None] | None = None,
    **options: Any,
) -> CatalogueSolution:
    """:func:`plan_catalogue` with ``options`` (target, floor, low, high, points, group,
    load), then :func:`run_catalogue`."""
    plan = plan_catalogue(path, lever, **options)
    return run_catalogue(plan, folder=folder, backend=backend, on_run=on_run)

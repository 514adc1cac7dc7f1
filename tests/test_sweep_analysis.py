"""The sweep's analysis on its own: the Pareto frontier, standardised regression coefficients,
constraints and the best-point answer with its warnings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.scenario.sweep_spec import Range, parse_constraint
from sim.sweep.analysis import best_point, pareto_mask, standardised_coefficients

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(st.lists(st.tuples(finite, finite), min_size=1, max_size=40))
def test_the_frontier_is_exactly_the_undominated_points(xy: list[tuple[float, float]]) -> None:
    x, y = np.array([p[0] for p in xy]), np.array([p[1] for p in xy])
    mask = pareto_mask(x, y)

    def dominated(i: int) -> bool:
        return any(
            x[j] <= x[i] and y[j] >= y[i] and (x[j] < x[i] or y[j] > y[i]) for j in range(len(x))
        )

    assert [bool(m) for m in mask] == [not dominated(i) for i in range(len(x))]
    assert mask.any()  # a non-empty set always has an undominated point


def test_points_with_nan_are_never_on_the_frontier() -> None:
    mask = pareto_mask([0.01, np.nan, 0.02, 0.005], [0.5, 0.9, 0.6, np.nan])
    assert mask.tolist() == [True, False, True, False]


def test_standardised_coefficients_recover_a_linear_model() -> None:
    rng = np.random.default_rng(3)
    X = rng.uniform(size=(400, 3)) * np.array([1.0, 100.0, 0.01])
    y = 2.0 * X[:, 0] + 0.0 * X[:, 1] - 300.0 * X[:, 2] + rng.normal(0, 0.01, 400)
    src, r2 = standardised_coefficients(X, y)
    sd = X.std(axis=0, ddof=1) / y.std(ddof=1)
    assert src == pytest.approx(np.array([2.0, 0.0, -300.0]) * sd, abs=0.01)
    assert abs(src[2]) > abs(src[0]) > abs(src[1])  # ranked by effect per sd, not by size
    assert r2 > 0.99


def test_a_constant_column_or_too_few_runs_gives_nan() -> None:
    X = np.column_stack([np.arange(6.0), np.full(6, 2.0)])
    src, r2 = standardised_coefficients(X, np.arange(6.0) * 3)
    assert src[0] == pytest.approx(1.0) and np.isnan(src[1]) and r2 == pytest.approx(1.0)
    src, r2 = standardised_coefficients(np.arange(2.0).reshape(2, 1), np.array([1.0, 2.0]))
    assert np.isnan(src).all() and np.isnan(r2)


@pytest.mark.parametrize(
    ("text", "metric", "op", "bound"),
    [
        ("cost_ratio<=0.03", "cost_ratio", "<=", 0.03),
        (" cost_ratio <= 3% ", "cost_ratio", "<=", 0.03),
        ("retention_365>0.5", "retention_365", ">", 0.5),
        ("gmv >= 1e6", "gmv", ">=", 1e6),
    ],
)
def test_constraints_parse(text: str, metric: str, op: str, bound: float) -> None:
    c = parse_constraint(text)
    assert (c.metric, c.op) == (metric, op) and c.bound == pytest.approx(bound)


@pytest.mark.parametrize("text", ["cost_ratio", "cost_ratio = 0.03", "<= 0.03", "cost ratio<=1"])
def test_bad_constraints_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="expected METRIC OP NUMBER"):
        parse_constraint(text)


def test_integer_ranges_reach_both_ends() -> None:
    r = Range(low=1, high=3)
    assert [r.value(u) for u in (0.0, 0.34, 0.67, 0.9999)] == [1, 2, 3, 3]
    assert Range(low=0.01, high=1.0, log=True).value(0.5) == pytest.approx(0.1)


def test_float_ranges_snap_to_their_step() -> None:
    """Money fields take whole micro-units only: samples are rounded to ``step`` (1e-6)."""
    money = Range(low=0.005, high=0.02)
    for u in np.linspace(0, 0.999, 37):
        v = money.value(float(u))
        assert 0.005 <= v <= 0.02 and round(v * 1e6) == pytest.approx(v * 1e6, abs=1e-6)
    halves = Range(low=0.5, high=3.0, step=0.5)
    assert {halves.value(float(u)) for u in np.linspace(0, 0.999, 50)} == {
        0.5, 1.0, 1.5, 2.0, 2.5, 3.0
    }  # fmt: skip


def _points(rows: list[tuple[int, float, float, float, float, float, float]]) -> pd.DataFrame:
    """(point, retention, lo, hi, cost_ratio, lo, hi) rows as an analysis' points table."""
    frame = pd.DataFrame(
        rows,
        columns=[
            "point",
            "retention_365",
            "retention_365_ci_low",
            "retention_365_ci_high",
            "cost_ratio",
            "cost_ratio_ci_low",
            "cost_ratio_ci_high",
        ],
    )
    frame["label"] = [f"p{p}" for p in frame["point"]]
    frame["runs_failed"] = 0
    return frame


UNITS = {"retention_365": "share", "cost_ratio": "share"}


def test_the_best_point_keeps_the_constraint_and_warns_when_its_ci_straddles_it() -> None:
    points = _points(
        [
            (0, 0.70, 0.69, 0.71, 0.020, 0.019, 0.021),
            (1, 0.80, 0.79, 0.81, 0.040, 0.039, 0.041),  # best retention, too costly
            (2, 0.75, 0.74, 0.76, 0.029, 0.027, 0.031),  # chosen; CI reaches past 3%
            (3, 0.74, 0.70, 0.78, 0.010, 0.009, 0.011),
        ]
    )
    best = best_point(
        points, ("retention_365", "max"), [parse_constraint("cost_ratio<=0.03")], UNITS
    )
    assert best.point == 2 and best.runner_up == 3
    assert best.bounds[0].holds and best.bounds[0].straddles
    assert any("straddles the bound cost_ratio <= 0.03" in w for w in best.warnings)
    assert any("runner-up, point 3" in w for w in best.warnings)
    assert best.text.startswith("Most retention_365 subject to cost_ratio <= 0.03: point 2 (p2)")
    assert "75.0% (95% CI 74.0% to 76.0%)" in best.text


def test_no_feasible_point_is_said_plainly_with_the_constraint_that_binds() -> None:
    points = _points([(0, 0.85, 0.8, 0.9, 0.05, 0.04, 0.06), (1, 0.75, 0.7, 0.8, 0.04, 0.03, 0.05)])
    best = best_point(
        points, ("retention_365", "max"), [parse_constraint("cost_ratio<=0.03")], UNITS
    )
    assert best.point is None
    assert best.text == (
        "No point keeps cost_ratio <= 0.03: cost_ratio <= 0.03 holds at no point (closest:"
        " point 1, p1, 4.00%)."
    )
    both = [parse_constraint("cost_ratio<=0.045"), parse_constraint("retention_365>=0.8")]
    best = best_point(points, ("retention_365", "max"), both, UNITS)
    assert best.point is None
    assert "cost_ratio <= 0.045 holds at 1 of 2 point(s)" in best.text
    assert "retention_365 >= 0.8 holds at 1 of 2 point(s)" in best.text  # jointly, neither
    best = best_point(points, ("cost_ratio", "min"), [], UNITS)
    assert best.point == 1 and best.text.startswith("Least cost_ratio: point 1")

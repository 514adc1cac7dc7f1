"""``pointsim calibrate effect`` and ``catalogue``: solving one setting over runs on common
random numbers (the grid solver on curves with a known answer), a response calibrated to a
target a user observed, and the catalogue's table, flags and tuning, from the CLI and from
Python, with bad input refused and nothing written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sim.calibrate.grid import Curve, solve
from sim.cli import main
from sim.policy import load_policy

SMALL = ["--members", "400", "--replications", "2", "--set", "horizon.runoff_days=0"]


def test_each_replication_is_solved_on_its_own_curve() -> None:
    """Two replications whose curves cross 2.0 at 1.5 and 2.5: the answer is 2.0 with an
    interval around it; a target above every curve is unsolved and said to lie above."""
    values = np.array([1.0, 2.0, 3.0])
    y = np.array([[1.0, 3.0, 5.0], [0.5, 1.5, 2.5]])
    s = solve(Curve(values, y), 2.0)
    np.testing.assert_allclose(s.per_replication, [1.5, 2.5])
    assert s.solved and s.mean == pytest.approx(2.0)
    assert s.low is not None and s.high is not None and s.low < 2.0 < s.high
    high = solve(Curve(values, y), 9.0)
    assert not high.solved and high.unsolved == 2 and high.direction == "above"
    falling = solve(Curve(values, -y), 9.0)
    assert falling.direction == "below"  # a falling curve reaches 9 below the range


def test_an_exact_grid_value_and_a_partial_answer() -> None:
    values = np.array([0.0, 1.0])
    s = solve(Curve(values, np.array([[0.0, 2.0], [0.0, 0.5]])), 1.0)
    assert s.unsolved == 1 and s.mean == pytest.approx(0.5) and not s.solved


def _run(args: list[str]) -> tuple[int, str]:
    out = CliRunner().invoke(main, args)
    return out.exit_code, out.output


@pytest.mark.slow
def test_effect_finds_the_checkout_share_that_gives_an_observed_cost_ratio(tmp_path: Path) -> None:
    """The default scenario's points cost rises with the share of members who pay with
    points at checkout; the cost ratio at the middle of what the plausible range gives is
    reproduced by a share inside it, and a ratio beyond the range is said to need more."""
    out = tmp_path / "eff"
    base = ["calibrate", "effect", "--parameter", "behaviour.redemption.checkout_share"]
    base += ["--metric", "cost_ratio", "--points", "3", "--out", str(out), *SMALL]
    code, text = _run([*base, "--target", "0.02"])
    assert code == 0, text
    assert "behaviour.redemption.checkout_share = " in text and "95% CI" in text
    frame = (out / "effect.csv").read_text()
    assert frame.startswith("parameter,value,replication,cost_ratio")
    code, text = _run([*base, "--target", "0.2", "--force"])
    assert code == 1, text
    assert "needs behaviour.redemption.checkout_share above the range searched" in text


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--parameter", "behaviour.nope.x", "--metric", "cost_ratio", "--target", "0.02"],
         "not a behaviour parameter"),
        (["--parameter", "behaviour.redemption.checkout_share", "--metric", "happiness",
          "--target", "0.02"], "--metric happiness"),
        (["--parameter", "behaviour.redemption.checkout_share", "--metric", "cost_ratio",
          "--target", "nan"], "--target nan"),
        (["--parameter", "behaviour.redemption.checkout_share", "--metric", "cost_ratio",
          "--target", "0.02", "--low", "0.5", "--high", "0.2"], "expected low < high"),
        (["--parameter", "behaviour.redemption.checkout_share", "--metric",
          "programme_gmv", "--target", "10"], "no_programme"),
    ],
)  # fmt: skip
def test_effect_refuses_bad_input_before_running(
    extra: list[str], expected: str, tmp_path: Path
) -> None:
    out = tmp_path / "eff"
    code, text = _run(["calibrate", "effect", *extra, "--out", str(out), *SMALL])
    assert code != 0 and expected in text, text
    assert not out.exists() or not any(out.iterdir())


def test_effect_lists_the_parameters_it_can_solve_for() -> None:
    code, text = _run(["calibrate", "effect", "--list"])
    assert code == 0 and "behaviour.redemption.checkout_share = 0.7 (plausible" in text


@pytest.mark.slow
def test_catalogue_flags_the_earbuds_and_tunes_the_prices(tmp_path: Path) -> None:
    """The designer's question: the 10,000-point earbuds are never redeemed in a year and out
    of reach, and the coupons give far more than a point is worth; a price scale that puts
    the cost ratio at 2% is written as a policy that loads, with its diff shown."""
    out, tuned = tmp_path / "cat", tmp_path / "tuned.toml"
    code, text = _run(
        ["calibrate", "catalogue", "--lever", "price-scale", "--target", "0.02", "--points", "3",
         "--write", str(tuned), "--out", str(out), *SMALL]
    )  # fmt: skip
    assert code == 0, text
    assert "flag earbuds: never redeemed in a simulated year" in text
    assert "out of reach" in text and "10.0x the point value" in text
    assert "price-scale " in text and "puts the cost ratio at 2.00%" in text
    assert "burn.catalogue.earbuds.points: 10000 ->" in text
    policy = load_policy(tuned)
    assert policy.burn.catalogue["earbuds"].points != 10_000
    table = (out / "catalogue.csv").read_text()
    assert "earbuds" in table and "months_to_reach" in table


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--lever", "price-scale", "--target", "0.2"], "outside the scenario's cost_ratio band"),
        (["--write", "x.toml"], "needs --lever"),
        (["--lever", "point-value", "--low", "1.5"], "expected 0 < low < 1 < high"),
        (["--group", "nobody"], "--group nobody"),
        (["--lever", "price-scale", "--write", "x.txt"], "expected a .toml file"),
        (["--lever", "price-scale", "--min-participation", "1.5"], "expected a share"),
        (["--lever", "earn-rate", "--target", "0"], "expected a cost ratio within (0, 1)"),
        (["--lever", "earn-rate", "--low", "0", "--high", "2"], "expected 0 < low < 1 < high"),
    ],
)
def test_catalogue_refuses_bad_input_with_nothing_written(
    extra: list[str], expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "cat"
    code, text = _run(["calibrate", "catalogue", *extra, "--out", str(out), *SMALL])
    assert code != 0 and expected in text, text
    assert not out.exists() or not any(out.iterdir())
    assert not (tmp_path / "x.toml").exists()

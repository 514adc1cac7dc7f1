"""The verdict on whether a treatment pays for itself: ROI against break-even 1 with its 95%
interval, and how many replications would decide when the interval straddles 1."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.metrics.results import Stat
from sim.metrics.summary import t_interval
from sim.metrics.verdict import replications_to_decide, roi_verdict


def _roi(values: list[float]) -> Stat:
    return Stat(**t_interval(values), unit="ratio", text="ROI")


def test_pays_when_the_whole_interval_is_above_break_even() -> None:
    v = roi_verdict(_roi([1.3, 1.4, 1.5, 1.4]))
    assert v is not None and v.outcome == "pays"
    assert v.text.startswith("It pays for itself: ROI 1.40 (95% CI 1.27 to 1.53)")


def test_does_not_pay_when_the_whole_interval_is_below_break_even() -> None:
    v = roi_verdict(_roi([0.5, 0.6, 0.7]))
    assert v is not None and v.outcome == "does_not_pay"
    assert "below break-even 1" in v.text


def test_cannot_tell_says_how_many_replications_would_decide() -> None:
    values = [0.2, 1.6, 0.9, 1.9]  # mean 1.15, sd 0.75: straddles 1 at n = 4
    v = roi_verdict(_roi(values))
    assert v is not None and v.outcome == "cannot_tell"
    need = v.replications_needed
    assert need is not None and need > 4
    assert f"about {need:,} replications would decide" in v.text
    # by the definition: the t-interval at ``need`` excludes 1, one fewer does not
    sd, gap = float(np.std(values, ddof=1)), abs(float(np.mean(values)) - 1)
    half = lambda n: stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)  # noqa: E731
    assert half(need) < gap <= half(need - 1)


def test_one_replication_cannot_tell_and_says_to_run_more() -> None:
    v = roi_verdict(_roi([1.8]))
    assert v is not None and v.outcome == "cannot_tell" and v.replications_needed is None
    assert "one replication" in v.text


def test_roi_at_break_even_cannot_be_decided_by_replications() -> None:
    v = roi_verdict(_roi([0.5, 1.5, 1.0]))
    assert v is not None and v.outcome == "cannot_tell" and v.replications_needed is None
    assert replications_to_decide(1.0, 0.5, 3) is None
    assert replications_to_decide(1.0001, 5.0, 3) is None  # beyond 10,000


def test_undefined_roi_has_no_verdict() -> None:
    undefined = Stat(mean=None, ci_low=None, ci_high=None, sd=None, n=0, unit="ratio", text="")
    assert roi_verdict(undefined) is None


@pytest.mark.parametrize("mean,sd", [(1.2, 0.3), (0.7, 1.0), (1.05, 0.2)])
def test_replications_to_decide_matches_the_normal_approximation(mean: float, sd: float) -> None:
    need = replications_to_decide(mean, sd, 3)
    assert need is not None
    normal = (1.96 * sd / abs(mean - 1)) ** 2
    assert normal <= need <= normal + 5  # the t quantile asks a few more than the normal

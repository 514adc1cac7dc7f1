"""sim.health: the one judgement of a metric against its band, with its interval."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.health import Health, judge, worst

BAND = (0.01, 0.03)


@pytest.mark.parametrize(
    ("mean", "low", "high", "status", "side"),
    [
        (0.02, 0.015, 0.025, "inside", None),
        (0.02, 0.005, 0.025, "straddling", "low"),
        (0.028, 0.02, 0.035, "straddling", "high"),
        (0.005, 0.002, 0.008, "outside", "low"),
        (0.05, 0.04, 0.06, "outside", "high"),
        (0.011, 0.009, 0.013, "straddling", "low"),  # the mean inside is not enough
        (0.009, 0.007, 0.011, "straddling", "low"),  # nor the mean outside
        (0.02, 0.01, 0.03, "inside", None),  # edges belong to the band
    ],
)
def test_judged_with_the_interval(
    mean: float, low: float, high: float, status: str, side: str | None
) -> None:
    verdict = judge(mean, low, high, BAND)
    assert verdict == Health(status, side, True)  # type: ignore[arg-type]


def test_open_bands_and_no_band() -> None:
    assert judge(5.0, 4.0, 6.0, (None, 3.0)) == Health("outside", "high", True)
    assert judge(5.0, 4.0, 6.0, (4.5, None)) == Health("straddling", "low", True)
    assert judge(5.0, 4.0, 6.0, (None, None)) == Health("inside", None, True)
    assert judge(5.0, 4.0, 6.0, None) is None
    assert judge(None, None, None, BAND) is None
    assert judge(float("nan"), None, None, BAND) is None


def test_one_replication_is_never_certain() -> None:
    verdict = judge(0.02, None, None, BAND)
    assert verdict == Health("inside", None, False)
    assert not verdict.ok
    assert "one replication" in verdict.text()
    assert judge(0.05, None, None, BAND) == Health("outside", "high", False)


def test_words() -> None:
    assert judge(0.02, 0.015, 0.025, BAND).text() == "inside its healthy band"  # type: ignore[union-attr]
    assert judge(0.05, 0.04, 0.06, BAND).text() == "above its band"  # type: ignore[union-attr]
    assert "straddles the upper edge" in judge(0.028, 0.02, 0.035, BAND).text()  # type: ignore[union-attr]


def test_an_inverted_band_is_refused() -> None:
    with pytest.raises(ValueError, match="low <= high"):
        judge(1.0, 0.5, 1.5, (2.0, 1.0))


def test_worst() -> None:
    verdicts = [judge(0.02, 0.015, 0.025, BAND), None, judge(0.028, 0.02, 0.035, BAND)]
    assert worst(verdicts) == "straddling"
    assert worst([None]) is None


finite = st.floats(-1e6, 1e6, allow_nan=False)


@given(finite, finite, finite, finite, finite)
def test_status_follows_the_interval(a: float, b: float, c: float, x: float, y: float) -> None:
    """Inside iff the whole interval is in the band; outside iff the whole interval is beyond
    one edge; straddling otherwise."""
    lo, mean, hi = sorted((a, b, c))
    low, high = sorted((x, y))
    verdict = judge(mean, lo, hi, (low, high))
    assert verdict is not None
    if low <= lo and hi <= high:
        assert verdict.status == "inside"
    elif hi < low or lo > high:
        assert verdict.status == "outside"
    else:
        assert verdict.status == "straddling"

"""Text and number formatting for people (sim.text)."""

from __future__ import annotations

import pytest

from sim.text import LABELS, band_text, ci_text, format_value, label, thousands


def test_format_value() -> None:
    assert format_value(1234567.891, "currency", "CNY") == "1,234,568 CNY"
    assert format_value(12.5, "currency", "CNY") == "12.50 CNY"
    assert format_value(12.5, "currency") == "12.50"
    assert format_value(0.0185, "share") == "1.85%"
    assert format_value(0.185, "share") == "18.5%"
    assert format_value(0.004, "share", signed=True) == "+0.40 pp"
    assert format_value(1.456, "ratio") == "1.46"
    assert format_value(-1500, "currency", "CNY", signed=True) == "-1,500 CNY"
    assert format_value(None, "points") == "–"
    assert format_value(float("nan"), "points") == "–"
    assert format_value(float("inf"), "share") == "–"


@pytest.mark.parametrize("signed", [False, True])
def test_a_rounded_zero_has_no_sign(signed: bool) -> None:
    assert format_value(-0.0001, "ratio", signed=signed) == "0.00"
    assert format_value(-0.000001, "share", signed=signed).lstrip("+-") == format_value(
        -0.000001, "share", signed=signed
    )
    assert format_value(0.0, "currency", "CNY", signed=signed) == "0 CNY"


def test_label() -> None:
    assert label("cost_ratio") == "Cost ratio"
    assert label("roi") == "ROI (with outstanding points)"
    assert label("vs_control_gmv") == "GMV against the control"
    assert label("tier_gold_share") == "Members in tier gold"
    assert label("some_new_metric") == "Some new metric"
    assert all(label(name) == text for name, text in LABELS.items())


def test_band_text() -> None:
    assert band_text((0.01, 0.03), "share") == "1% – 3%"
    assert band_text((None, 0.4), "share") == "≤ 40%"
    assert band_text((0.6, None), "share") == "≥ 60%"
    assert band_text((0.0125, None), "share") == "≥ 1.25%"
    assert band_text((None, 2.5), "ratio") == "≤ 2.50"
    assert band_text((1000, 50000), "currency", "CNY") == "1,000 CNY – 50,000 CNY"
    assert band_text(None, "share") == "–"
    assert band_text((None, None), "share") == "–"


def test_ci_text() -> None:
    assert ci_text(0.012, 0.019, "share") == "95% CI 1.20% to 1.90%"
    assert ci_text(-500, 700, "currency", "CNY", signed=True) == "95% CI -500 CNY to +700 CNY"
    assert ci_text(None, None, "share") == ""
    assert ci_text(0.1, None, "ratio") == ""


def test_thousands() -> None:
    assert thousands(1234567) == "1,234,567"
    assert thousands(0) == "0"

"""docs/behaviour.md lists every response parameter as the code declares it, and every
parameter that drives a response has a plausible range around its default and a source."""

from __future__ import annotations

from pathlib import Path

from sim.behaviour.page import page
from sim.behaviour.params import Behaviour, Traits, trait_assumptions

ROOT = Path(__file__).resolve().parent.parent


def test_the_behaviour_page_is_current() -> None:
    written = (ROOT / "docs" / "behaviour.md").read_text(encoding="utf-8")
    assert written == page(), (
        "docs/behaviour.md is out of date: python -m sim.behaviour.page > docs/behaviour.md"
    )


def test_every_mechanism_has_a_switch_and_its_numbers_a_range_and_a_source() -> None:
    b = Behaviour()
    for name in type(b).model_fields:
        assert getattr(b, name).enabled is True, f"behaviour.{name} has no switch on by default"
    rows = b.assumptions() + trait_assumptions(Traits(), "traits")
    assert len(rows) >= 30
    for a in rows:
        assert a.low <= a.default <= a.high, a.path
        assert a.low < a.high, f"{a.path}: a range of one value"
        assert a.source.strip(), f"{a.path}: no source (write 'assumed' if none)"
        assert a.path.split(".")[-1] in page()


def test_assumptions_report_the_values_in_use() -> None:
    b = Behaviour.model_validate({"reward_rate": {"elasticity": 1.5}})
    found = {a.path: a for a in b.assumptions()}
    elasticity = found["behaviour.reward_rate.elasticity"]
    assert elasticity.value == 1.5
    assert elasticity.default == 2.62
    assert (elasticity.low, elasticity.high) == (1.0, 4.0)
    assert "Bijmolt" in elasticity.source

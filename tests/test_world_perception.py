"""What members perceive of a policy is kept per member and recomputed only when their balance
or tier changes: the cached figures must equal the ones computed afresh, every day."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from world_helpers import tiny

from sim.engine.quote import days_to_expiry
from sim.world.perception import Perception
from sim.world.world import World


@pytest.mark.parametrize("policy", ["ecommerce_super_points.toml", "fintech_wealth.toml"])
def test_cached_views_equal_fresh_ones_every_day(
    tmp_path: Path, policy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = {"days": 0}
    refresh = Perception.refresh

    def checking(self: Perception, cp, state, k, day):  # type: ignore[no-untyped-def]
        refresh(self, cp, state, k, day)
        m = np.arange(k, dtype=np.int64)
        assert np.array_equal(
            self.days_to_expiry(cp, state, m, day), days_to_expiry(cp, state, m, day)
        )
        fresh = Perception(self.b, self.pop, self.facts, self.ref, self.same, self.promo_mult)
        refresh(fresh, cp, state, k, day)
        for name in ("v", "v0", "rho", "rho0", "odds", "promo_cap", "ratio"):
            assert np.array_equal(getattr(self, name)[:k], getattr(fresh, name)[:k]), name
        checked["days"] += 1

    monkeypatch.setattr(Perception, "refresh", checking)
    world = World(tiny(tmp_path, policy, size=300, days=60, warmup=20), 0)
    world.run()
    assert checked["days"] == 80
    view = world.arms[0].view
    assert (view.v[: world.arms[0].joined] > 0).any(), "members value their points"


def test_engagement_counts_towards_earning_speed_only_when_members_engage(
    tmp_path: Path,
) -> None:
    """How soon a member reaches a reward counts the points their check-ins and shares earn,
    but only when the engagement mechanism is on: with it off nobody takes those actions."""
    sets = ("behaviour.engagement.enabled=false",)
    on = World(tiny(tmp_path, size=200, days=5, warmup=0), 0)
    off = World(tiny(tmp_path, size=200, days=5, warmup=0, sets=sets), 0)
    assert (on.arms[0].view.action_speed > 0).any()
    assert not off.arms[0].view.action_speed.any()
    assert int(off.run().tables.daily["checkins"].sum()) == 0

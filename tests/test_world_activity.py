"""Activity and retention count buying; engagement (any action) is reported under its own name.
A member who only checks in, shares or redeems after their last purchase is engaged but is
neither active nor retained (issue 15: check-ins by members who no longer buy kept them
"retained")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from world_helpers import tiny

from sim.world.world import World


def test_a_member_who_only_checks_in_is_engaged_but_not_retained(tmp_path: Path) -> None:
    world = World(tiny(tmp_path, size=600, days=120, warmup=10), 0)
    run = world.run()
    aw = world.arms[0]
    k = aw.joined
    daily = run.tables.daily
    window = daily[daily["day_index"] >= 0]
    # one order per buyer a day: members buying a day are the day's orders
    assert (window["active_members"] == window["orders"]).all()
    assert (window["engaged_members"] >= window["active_members"]).all()
    assert int(window["engaged_members"].sum()) > int(window["active_members"].sum())
    # members still acting after their last purchase: engaged, not buying (not vacuous)
    only_engaged = aw.last_action[:k] > aw.last_buy[:k]
    assert only_engaged.sum() > 20
    last = world.window_start + len(window) - 1
    assert int(window["active_30d"].iloc[-1]) == int((aw.last_buy[:k] > last - 30).sum())
    assert int(window["engaged_30d"].iloc[-1]) == int((aw.last_action[:k] > last - 30).sum())
    # retention at 90 days: a purchase on or after the age, from the purchase days alone
    ret = run.tables.retention.set_index("age_days")
    ref = np.maximum(aw.pop.join_day[:k], world.first_day)
    age = last - ref
    eligible = age >= 90
    bought_late = (aw.last_buy[:k] - ref >= 90) & eligible
    acted_late = (aw.last_action[:k] - ref >= 90) & eligible
    assert ret.loc[90, "eligible"] == int(eligible.sum())
    assert ret.loc[90, "retained"] == bought_late.sum() / eligible.sum()
    assert acted_late.sum() > bought_late.sum()  # any action would have kept more "retained"

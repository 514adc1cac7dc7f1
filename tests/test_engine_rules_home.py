"""One home per rule: campaign stacking, the tier factor and liability are defined once in the
engine (``sim.engine.boost``, ``sim.engine.liability``), and earn, the quote, the world and
the ledger all agree with that definition."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from engine_helpers import (
    TINY,
    Sim,
    adjust,
    batch,
    compiled,
    day,
    earned,
    purchase,
    repo_policy,
)
from world_helpers import scenario_file

from sim.engine import Account, compile_policy, to_date
from sim.engine.boost import Stacking, campaign_bound, stack, tier_factor, tier_factor_bound
from sim.engine.liability import anchor_liability, liability_micros, outstanding_points
from sim.engine.quote import purchase_multipliers
from sim.ledger import Ledger
from sim.policy import MICROS
from sim.scenario import load_scenario
from sim.world.world import World

MODES: tuple[Stacking, ...] = ("multiply", "max", "add")

OVERLAPPING = """
[campaigns.double]
start = 2026-11-01
end = 2026-11-11
multiplier = 2.0

[campaigns.triple]
start = 2026-11-05
end = 2026-11-20
multiplier = 3.0
"""
"""Two campaigns on every boostable rule, both running from 5 to 11 November."""

FACTOR = {"multiply": 6.0, "max": 3.0, "add": 4.0}
"""The campaign factor of a member in both: 2 x 3, the larger, 1 + 1 + 2."""


def _policy_toml(stacking: str) -> str:
    return (
        TINY.replace("point_value = 0.01", f'point_value = 0.01\ncampaign_stacking = "{stacking}"')
        + OVERLAPPING
    )


# -- the stacking rule itself ----------------------------------------------------------------


def test_stack_combines_one_more_campaign_by_each_mode() -> None:
    so_far = np.array([1.0, 2.0, 3.0, 1.5])
    assert stack("multiply", so_far, 2.0).tolist() == [2.0, 4.0, 6.0, 3.0]
    assert stack("max", so_far, 2.0).tolist() == [2.0, 2.0, 3.0, 2.0]
    assert stack("add", so_far, 2.0).tolist() == [2.0, 3.0, 4.0, 2.5]
    assert stack("add", so_far, 1.0).tolist() == so_far.tolist()  # 1x adds nothing
    with pytest.raises(ValueError, match="stacking"):
        stack("sum", so_far, 2.0)  # type: ignore[arg-type]


def test_folding_from_one_gives_the_factor_of_a_member_in_all_the_campaigns() -> None:
    for mode, want in (("multiply", 12.0), ("max", 3.0), ("add", 5.0)):
        f = np.ones(2)
        for m in (2.0, 3.0, 2.0):
            f = stack(mode, f, m)  # type: ignore[arg-type]
        assert f.tolist() == [want, want]
        assert campaign_bound(mode, (2.0, 3.0, 2.0)) == want  # type: ignore[arg-type]
    assert campaign_bound("max", ()) == 1.0


def test_tier_factor_is_the_tier_multiplier_times_the_birthday_multiplier_in_that_month() -> None:
    cp = repo_policy("ecommerce_double_points")  # normal 1x, gold 1.5x, platinum 2x (4x birthday)
    tier = np.array([0, 1, 2, 2, 1], np.int64)
    born = np.array([3, 3, 3, 4, 4], np.int8)
    assert tier_factor(cp, tier, born, 3).tolist() == [1.0, 1.5, 4.0, 2.0, 1.5]
    assert tier_factor_bound(cp) == 4.0


# -- earn, the quote and the world agree -----------------------------------------------------


@pytest.mark.parametrize("stacking", MODES)
def test_earn_quote_and_world_agree_on_two_overlapping_campaigns(
    tmp_path: Path, stacking: Stacking
) -> None:
    toml = _policy_toml(stacking)
    cp = compiled(toml)
    both = day("2026-11-06")
    sim = Sim.start(cp, 2, "2026-11-06")
    # the quote, on the day both campaigns run
    tier_f, camp_f, lead = purchase_multipliers(cp, sim.state, np.array([0, 1]), both)
    assert camp_f.tolist() == [FACTOR[stacking]] * 2
    assert tier_f.tolist() == [1.0, 1.0]
    assert [cp.rule_ids[cp.campaigns[i].rule_id] for i in lead] == ["triple", "triple"]
    # earn: 100 CNY at 1 point a unit
    result = sim.step("2026-11-06", purchase(0, 100.0))
    assert earned(result) == [round(100 * FACTOR[stacking])]
    # the world: its members' factor is the quote's, and its daily bound is the same factor
    policy_file = tmp_path / "two_campaigns.toml"
    policy_file.write_text(toml, encoding="utf-8")
    scn = load_scenario(scenario_file(tmp_path, str(policy_file), size=50, days=25, warmup=0))
    world = World(scn, 0)
    world.run()
    aw = world.arms[0]
    assert aw.cp.campaign_stacking == stacking
    members = np.arange(len(aw))
    _, world_f, _ = purchase_multipliers(aw.cp, aw.state, members, both)
    assert set(world_f.tolist()) == {FACTOR[stacking]}
    # every campaign at once bounds any member's campaign factor, as the quote folds them
    assert aw.view.promo_mult == pytest.approx(FACTOR[stacking], rel=1e-12)


def test_earn_and_quote_agree_on_the_tier_factor_in_the_birthday_month() -> None:
    cp = repo_policy("ecommerce_double_points")
    sim = Sim.start(cp, 3, "2026-03-02", birth_month=[3, 3, 4])
    sim.set_tier(0, "gold")
    sim.set_tier(1, "platinum")
    sim.set_tier(2, "platinum")
    tier_f, camp_f, _ = purchase_multipliers(cp, sim.state, np.arange(3), day("2026-03-02"))
    assert tier_f.tolist() == [1.5, 4.0, 2.0]
    assert camp_f.tolist() == [1.0, 1.0, 1.0]
    result = sim.step("2026-03-02", batch(*(purchase(m, 100.0) for m in range(3))))
    assert earned(result) == [150, 400, 200]


# -- liability ----------------------------------------------------------------------------------

TIERED = """
[program]
name = "tiered"
point_value = 0.01

[earn.purchase]
kind = "purchase"
points_per_unit = 1.0
delay_days = 7

[tiers.normal]
threshold = 0

[tiers.gold]
threshold = 1000000
point_value = 0.0123

[tiers.platinum]
threshold = 2000000
point_value = 0.0157

[expiry]
mode = "never"
"""


def test_liability_values_pending_and_available_points_at_each_members_point_value() -> None:
    cp = compiled(TIERED)
    sim = Sim.start(cp, 4, "2026-03-02")
    sim.set_tier(1, "gold")
    sim.set_tier(2, "platinum")
    sim.step("2026-03-02", batch(adjust(0, 500), adjust(1, 300), adjust(2, 200), adjust(3, 7)))
    sim.step("2026-03-03", batch(purchase(1, 40.0), purchase(2, 10.0)))  # pending for 7 days
    ms = sim.state.members
    assert sim.pending(1) == 40 and sim.pending(2) == 10
    assert outstanding_points(ms) == 500 + 340 + 210 + 7
    assert liability_micros(cp, ms, 1.0) == 507 * 10_000 + 340 * 12_300 + 210 * 15_700
    # at 75%: 0.0075, 0.009225 and 0.011775 a point
    assert liability_micros(cp, ms, 0.75) == 507 * 7_500 + 340 * 9_225 + 210 * 11_775
    # the dynamic-value rule's figure: every point at the anchor value, not rounded
    assert anchor_liability(cp, ms, 0.75) == 1057 * 10_000 * 0.75
    # the ledger's way of writing it, member by member
    held = ms.acct[:, Account.PENDING] + ms.acct[:, Account.AVAILABLE]
    for f in (1.0, 0.75, 0.9, 0.333):
        by_tier = cp.point_values(f)[ms.tier.astype(np.int64)]
        assert liability_micros(cp, ms, f) == int((held * by_tier).sum())


def test_liability_is_the_worlds_and_the_ledgers_figure(tmp_path: Path) -> None:
    scn = load_scenario(
        scenario_file(tmp_path, size=120, days=30, warmup=0),
        sets=["tiers.gold.threshold=60", "tiers.platinum.threshold=200"],
    )
    world = World(scn, 0, export_events=True)
    run = world.run()
    assert run.events is not None and run.members is not None
    aw = world.arms[0]
    ms, ps = aw.state.members, aw.state.program
    assert (ms.tier > 0).sum() > 0 and ps.value_factor == 1.0
    micros = liability_micros(aw.cp, ms, ps.value_factor)
    daily = run.tables.daily.sort_values("day")
    assert daily["liability"].iloc[-1] == micros / MICROS
    # the ledger, replaying the world's log, closes each day at the same figure
    log = tmp_path / "events.parquet"
    run.events.to_parquet(log, index=False)
    run.members.to_parquet(tmp_path / "events.members.parquet", index=False)
    policies = {a.arm.group: (a.arm.policy, a.arm.policy_file) for a in world.arms}
    ledger = Ledger.init(f"sqlite:///{tmp_path / 'book.db'}", policies, to_date(world.first_day))
    ledger.import_log(log)
    ledger.eod(to_date(world.last_day))
    got = ledger.metrics(to_date(world.first_day), to_date(world.last_day)).sort_values("day")
    assert got["liability"].tolist() == daily["liability"].tolist()
    # and the engine's state is the one the ledger holds
    cp = compile_policy(aw.arm.policy, ("high_margin",))
    assert liability_micros(cp, ms, 1.0) == micros


def test_the_dynamic_value_rule_compares_the_anchor_figure() -> None:
    cp = compiled(
        TIERED.replace("delay_days = 7\n", "")
        + """
[dynamic_value]
threshold = 1.0
recover_below = 0.2
step = 0.9
floor = 0.5
"""
    )
    sim = Sim.start(cp, 2, "2026-03-02")
    sim.set_tier(1, "platinum")
    # 1,000 CNY of GMV; 80,000 points at the anchor 0.01 = 800 CNY (under the threshold) but
    # 1,250.30 CNY at the members' values (platinum 0.0157): the rule looks at the anchor
    sim.step("2026-03-02", batch(adjust(1, 79_000), purchase(0, 1000.0)))
    ms = sim.state.members
    assert anchor_liability(cp, ms, 1.0) < 1000 * MICROS < liability_micros(cp, ms, 1.0)
    assert sim.state.program.value_factor == 1.0
    assert liability_micros(cp, ms, 1.0) == 79_000 * 15_700 + 1_000 * 10_000

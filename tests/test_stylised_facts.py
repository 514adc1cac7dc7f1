"""Stylised facts of loyalty programmes, checked on twin runs.

Each test runs the simulated world on two groups that are the same members living the same
days on the same random numbers (common random numbers), under two policies or two behaviours,
and checks that a lever moves the world in the DIRECTION the cited evidence says and by about
the SIZE it reports, within a tolerance the docstring states and justifies. The figures come
from the evidence cited in ``sim/behaviour/params.py`` (or, where a test says so, from what
programmes report), not from re-deriving the model's own formulas.

Figures measured when the tests were written (seeds as below) are quoted in each docstring.
A fact the model fails to reproduce is a model bug to fix, not a test to loosen: when one
cannot be fixed at once, mark it ``xfail(strict=True)`` with its measurement (strict, so that
the mark goes once the model is fixed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from stylised_helpers import (
    as_table,
    between,
    daily_difference,
    faces_times,
    group_rows,
    no_burn,
    no_earning,
    only,
    quintile_of,
    switched_off,
    watch_days,
    world,
)
from twin_helpers import relative_effect, run_twin, twin_file, window_totals

from sim.behaviour.params import Behaviour
from sim.engine import Account

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

ELASTICITY = Behaviour().reward_rate.elasticity
"""Bijmolt, van Heerde & Pieters (2005): mean price elasticity -2.62 (the default)."""

CHECKIN_TABLE = (5, 8, 10, 12, 15, 18, 20)
CHECKIN_BONUS = 50
"""The e-commerce policy's check-in streak table and day-7 bonus."""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stylised")


# -- 1. a permanent reward-rate increase acts like a price cut --------------------------------


@dataclass
class RateTally:
    """Orders of both groups on member-days when the member is alive in both, and the
    p_buy-weighted price change they perceive, for all member-days and for those at
    perceived rates programmes actually pay (``plausible``)."""

    orders: dict[str, list[int]] = field(
        default_factory=lambda: {"all": [0, 0], "plausible": [0, 0]}
    )
    weight: dict[str, float] = field(default_factory=lambda: {"all": 0.0, "plausible": 0.0})
    predicted: dict[str, float] = field(default_factory=lambda: {"all": 0.0, "plausible": 0.0})
    member_days: dict[str, int] = field(default_factory=lambda: {"all": 0, "plausible": 0})
    window_lift: float = 0.0

    def lift(self, part: str) -> float:
        control, treatment = self.orders[part]
        return treatment / control - 1.0

    def prediction(self, part: str) -> float:
        return self.predicted[part] / self.weight[part]


PLAUSIBLE_RATE = 0.3
"""Perceived reward rates up to this (30% back) are the plausible part: doubling the earn rate
there is a price cut of at most about 20%, the range of the promotions the elasticity
meta-analysis's estimates come from."""


@pytest.fixture(scope="module")
def reward_rate_run(folder: Path) -> RateTally:
    """Twin: the e-commerce programme vs the same with twice the points per CNY, only the
    reward-rate mechanisms on (reward rate, perceived value, redemption)."""
    path = twin_file(
        folder,
        treatment={"earn.purchase.points_per_unit": 2.0},
        size=10_000,
        name="reward_rate",
    )
    w = world(path, only("reward_rate", "perceived_value", "redemption"))
    control, treatment = w.arms
    tally = RateTally()

    def note(t: int) -> tuple[B, F64, F64]:
        k = control.joined
        both = control.alive[:k] & treatment.alive[:k]
        return both, control.view.rho[:k].copy(), treatment.view.rho[:k].copy()

    def count(t: int, noted: tuple[B, F64, F64], bought: list[I64]) -> None:
        both, rho_c, rho_t = noted
        k = len(both)
        p = control.pop.p_buy[:k]
        # the price a member pays falls from 1 - rho_c to 1 - rho_t: a relative cut of
        # (rho_t - rho_c) / (1 - rho_c), times the elasticity (the 0.9 only guards the
        # division: no control member perceives that much)
        cut = (rho_t - rho_c) / (1.0 - np.minimum(rho_c, 0.9))
        for part, sel in (("all", both), ("plausible", both & (rho_t <= PLAUSIBLE_RATE))):
            tally.orders[part][0] += int(bought[0][:k][sel].sum())
            tally.orders[part][1] += int(bought[1][:k][sel].sum())
            tally.weight[part] += float(p[sel].sum())
            tally.predicted[part] += float((p[sel] * ELASTICITY * cut[sel]).sum())
            tally.member_days[part] += int(sel.sum())

    watch_days(w, note, count)
    tally.window_lift = float(treatment.orders_window.sum() / control.orders_window.sum() - 1)
    return tally


@pytest.mark.slow
def test_reward_rate_increase_raises_purchases_by_elasticity_times_price_cut(
    reward_rate_run: RateTally,
) -> None:
    """Bijmolt, van Heerde & Pieters (2005), JMR 42: the mean price elasticity over 1,851
    estimates is -2.62. A perceived reward rate ``rho`` is a price cut to ``1 - rho``, so
    doubling the everyday earn rate should raise purchases by about 2.62 x the relative price
    cut ``(rho_t - rho_c) / (1 - rho_c)`` each member perceives (their own ``view.rho`` in the
    two groups), averaged weighting by the baseline purchase probability.

    Measured on member-days when the member is alive in both groups: the rate response alone
    (BG/NBD dropout follows each purchase, so members who buy more also lapse sooner; that
    lifetime effect is a separate matter, see the campaign tests). Tolerance +-35% of the
    prediction: the prediction is a first-order reading of an average elasticity, whose
    estimates spread widely (most between -1 and -4, params.py's range).

    The prediction takes every perceived rate at face value, including the largest: with
    points valued at the 1-CNY coupon's face value (0.1 CNY a point, ten times the cash value)
    times a Gamma valuation (mean 1, up to about 5) and tier multipliers, the 99th percentile
    perceives about 0.33 back per CNY in the control and 0.74 in the treatment, far outside the
    price changes the elasticity was estimated on. The model feels a rate as the saturating
    price cut ``s * (1 - exp(-rho / s))`` (Gupta & Cooper 1992: consumers discount large
    discounts), so it responds a little less than the prediction there. Measured (10,000
    members, twin seed 11): +35.7% against a prediction of +40.3% (ratio 0.89; 0.89-0.90 over
    seeds 11-13). Before the saturation (a linear price cut clipped at 0.9) the same test gave
    +62% against +31%, the 13% of member-days above 30% back giving 74% of the extra orders.
    """
    predicted = reward_rate_run.prediction("all")
    measured = reward_rate_run.lift("all")
    figures = as_table({"measured": measured, "predicted": predicted})
    assert measured > 0, figures
    assert abs(measured / predicted - 1.0) <= 0.35, figures


@pytest.mark.slow
def test_reward_rate_increase_at_plausible_rates_matches_elasticity(
    reward_rate_run: RateTally,
) -> None:
    """Bijmolt, van Heerde & Pieters (2005), JMR 42: mean price elasticity -2.62. Where members
    perceive a reward rate programmes actually pay (at most 30% back after doubling, 86% of the
    member-days), doubling the earn rate raises purchases by about 2.62 x the relative price
    cut each member perceives (weighted by baseline purchase probability), on member-days
    alive in both groups.

    Tolerance +-35% of the prediction (a first-order reading of an average elasticity whose
    estimates spread widely). Measured (10,000 members, twin seed 11): +17.7% against
    +19.2% (ratio 0.92; 0.90-0.92 over seeds 11-13), on 85% of the member-days."""
    part = "plausible"
    predicted = reward_rate_run.prediction(part)
    measured = reward_rate_run.lift(part)
    share = reward_rate_run.member_days[part] / reward_rate_run.member_days["all"]
    figures = as_table({"measured": measured, "predicted": predicted, "share": share})
    assert share > 0.5, figures  # the typical member-days, not a corner
    assert predicted > 0.05, figures  # doubling the rate is a real price cut
    assert measured > 0, figures
    assert abs(measured / predicted - 1.0) <= 0.35, figures


@pytest.mark.slow
def test_catalogue_generosity_moves_purchases(folder: Path) -> None:
    """Point value is what points buy: a catalogue twice as generous (every item's face value
    x2) makes each point worth more to members, so the perceived reward rate and purchases
    rise; half as generous lowers both (the perceived-value mechanism, with the reward rate as
    a price: Bijmolt et al. 2005). Direction only, with the full default behaviour; the
    magnitude depends on how many members value points at the catalogue's best item.

    A material margin (|effect| > 1% of orders) rather than a bare sign: common random numbers
    make a twin's difference exact, so 1% is far outside noise. Measured (4,000 members, twin
    seed 11): x2 +4.4% orders, x0.5 -3.1% (x2 +3.9% to +4.4%, x0.5 -2.8% to -3.1% over seeds
    11-13)."""
    up = run_twin(twin_file(folder, treatment=faces_times(2.0), name="faces_x2"))
    down = run_twin(twin_file(folder, treatment=faces_times(0.5), name="faces_half"))
    rise, fall = relative_effect(up, "orders"), relative_effect(down, "orders")
    figures = as_table({"x2": rise, "x0.5": fall})
    assert rise > 0.01, figures
    assert fall < -0.01, figures
    assert relative_effect(up, "gmv") > 0 > relative_effect(down, "gmv"), figures


# -- 2. engagement responds to its reward -----------------------------------------------------


def _checkin_times(factor: float) -> dict[str, Any]:
    """Policy overrides paying ``factor`` times the check-in points (rounded, at least 1)."""
    return {
        "earn.checkin.streak_points": [max(round(p * factor), 1) for p in CHECKIN_TABLE],
        "earn.checkin.bonus_points": max(round(CHECKIN_BONUS * factor), 1),
    }


@pytest.mark.slow
def test_checkins_respond_to_their_reward_with_diminishing_returns(folder: Path) -> None:
    """Singer & Ye (2013), Annals AAPSS 645: incentives raise participation, with diminishing
    returns. Check-in points x10 must raise check-ins materially (> +25%), about a tenth of
    them must lower check-ins materially (< -40%), and the response must be concave (the
    cut's effect on the log of check-ins larger than the raise's): ten times the reward does
    not buy ten times the participation.

    The bounds are wide because the evidence gives direction and shape, not a size (the
    half-saturation constant is assumed). Measured (4,000 members, twin seed 11): x10 +58.5%,
    about x0.1 (points 1-2, bonus 5: 0.11 of the table's weekly points) -81.4% (x10 +57% to
    +63% over seeds 11-13)."""
    up = run_twin(twin_file(folder, treatment=_checkin_times(10.0), name="checkin_x10"))
    down = run_twin(twin_file(folder, treatment=_checkin_times(0.1), name="checkin_x01"))
    rise, fall = relative_effect(up, "checkins"), relative_effect(down, "checkins")
    figures = as_table({"x10": rise, "x0.1": fall})
    assert rise > 0.25, figures
    assert fall < -0.40, figures
    assert abs(np.log1p(fall)) > np.log1p(rise), figures


@pytest.mark.slow
def test_an_action_paying_nothing_is_not_taken(folder: Path) -> None:
    """Engagement is for the reward (Singer & Ye 2013): a check-in rule that stays enabled but
    pays nothing (every streak day 0 points, no bonus) gives no check-ins at all, while the
    same members check in under the paying table. Exact: nothing pays, nothing happens."""
    metrics = run_twin(
        twin_file(
            folder,
            treatment={"earn.checkin.streak_points": [0] * 7, "earn.checkin.bonus_points": 0},
            name="checkin_zero",
        )
    )
    totals = window_totals(metrics, "checkins")
    assert float(totals["control"].sum()) > 1000, totals
    assert float(totals["treatment"].sum()) == 0, totals


# -- 3. redemption is part of the value -------------------------------------------------------


@pytest.mark.slow
def test_switching_redemption_off_does_not_raise_gmv(folder: Path) -> None:
    """Points are worth what they buy (Bijmolt & Verhoef 2017: redemption is what gives a
    programme its value; Dorotic et al. 2014, IJRM 31: purchases rise around redemptions):
    taking every burn option away (cash offset and every catalogue item disabled) must not
    raise GMV. Direction, with a material margin: GMV falls by more than 1% (a twin's
    difference is exact; 1% is far outside noise). Measured (4,000 members, twin seed 11):
    -6.1% GMV, -6.3% orders (-6.1% to -7.1% GMV over seeds 11-13; and no check-ins or shares
    at all: points that buy nothing pay nothing)."""
    metrics = run_twin(twin_file(folder, treatment=no_burn(), name="no_burn"))
    effect = relative_effect(metrics, "gmv")
    totals = window_totals(metrics, "gmv")
    assert float(totals["treatment"].sum()) < float(totals["control"].sum()), totals
    assert effect < -0.01, effect


# -- 4. a campaign is followed by a dip ------------------------------------------------------

CAMPAIGN = ("2026-11-01", "2026-11-11")
AFTER = ("2026-11-12", "2027-12-31")
ANNOUNCED = ("2026-10-18", "2026-10-31")
BEFORE = ("2026-10-01", "2026-10-31")

NO_DROPOUT = "currency_scale = 5.0, a = 0.01, b = 1000.0"
"""A baseline whose BG/NBD dropout after a purchase is about 1e-5 instead of CDNOW's 0.25."""


@pytest.fixture(scope="module")
def campaign_runs(folder: Path) -> dict[str, pd.DataFrame]:
    """Twins of the double-points campaign (1-11 Nov, treatment only, not repeated), 150
    days from 1 Oct, 40,000 members, with only reward rate, perceived value, redemption and
    substitution on: as is (``on``), without substitution (``off``), without substitution on a
    baseline without dropout (``off_no_dropout``), announced 14 days ahead (``announced``)."""
    runs: dict[str, pd.DataFrame] = {}
    base = only("reward_rate", "perceived_value", "redemption", "substitution")
    for label, sets, baseline in (
        ("on", (), "currency_scale = 5.0"),
        ("off", switched_off("substitution"), "currency_scale = 5.0"),
        ("off_no_dropout", switched_off("substitution"), NO_DROPOUT),
        ("announced", ("behaviour.substitution.announce_days=14",), "currency_scale = 5.0"),
    ):
        place = folder / f"campaign_{label}"
        place.mkdir(exist_ok=True)
        path = twin_file(  # one name: the runs share their random numbers
            place,
            "ecommerce_double_points.toml",
            size=40_000,
            days=150,
            start="2026-10-01",
            sets={"campaigns.double11.yearly": False},
            baseline=baseline,
            name="campaign",
        )
        runs[label] = run_twin(path, sets=base + sets)
    return runs


def _bump_and_dip(metrics: pd.DataFrame, column: str = "gmv") -> dict[str, float]:
    diff = daily_difference(metrics, column)
    return {
        "before": between(diff, *BEFORE),
        "in_window": between(diff, *CAMPAIGN),
        "after": between(diff, *AFTER),
    }


@pytest.mark.slow
def test_campaign_bump_is_followed_by_a_dip_of_about_a_third(
    campaign_runs: dict[str, pd.DataFrame],
) -> None:
    """van Heerde, Leeflang & Wittink (2004), Marketing Science 23: about a third of a
    promotion's bump is borrowed from other periods. A dated double-points campaign (1-11
    Nov, treatment only): treatment minus control GMV is exactly 0 before it (common random
    numbers: nothing differs yet), positive over the campaign days and negative over the days
    after; the post deficit is about a third of the in-window gain.

    Tolerance 0.15-0.5: the evidence's third is an average over categories, and the
    repayment within the run is cut short by the window's end (light buyers repay over several
    inter-purchase times, more than the 16 weeks left). Measured (40,000 members, twin seed
    11): in-window +72,130 CNY, after -15,130 CNY, ratio 0.21 (0.18-0.21 over seeds 11-13).
    The dip must also be deeper than without the substitution mechanism (same members and
    random numbers), by more than 5 points of the bump: 0.21 against exactly 0 (next test)."""
    f = _bump_and_dip(campaign_runs["on"])
    ratio = -f["after"] / f["in_window"]
    without = _bump_and_dip(campaign_runs["off"])
    ratio_without = -without["after"] / without["in_window"]
    figures = as_table({**f, "ratio": ratio, "ratio_without_substitution": ratio_without})
    assert f["before"] == 0, figures
    assert f["in_window"] > 0, figures
    assert f["after"] < 0, figures
    assert 0.15 <= ratio <= 0.5, figures
    assert ratio > ratio_without + 0.05, figures  # the substitution mechanism does borrow


@pytest.mark.slow
def test_campaign_without_substitution_leaves_no_dip(
    campaign_runs: dict[str, pd.DataFrame],
) -> None:
    """The post-promotion dip is intertemporal substitution (van Heerde, Leeflang & Wittink
    2004; Neslin, Henderson & Quelch 1985: purchase acceleration): with the substitution
    mechanism switched off, nothing should be borrowed, so the days after the campaign should
    show no deficit. Tolerance: the after-campaign difference may be negative by at most 5% of
    the in-window gain (the twin is exact before the campaign; 5% allows for balances and
    redemptions differing afterwards).

    Measured (40,000 members, twin seed 11): after exactly 0 against +75,500 CNY in the
    window (exactly 0 over seeds 11-13). BG/NBD's dropout follows the member's baseline
    purchases (the same uniform, whatever the loyalty factors do), so a campaign neither ends
    nor extends lifetimes. When dropout followed every purchase, each extra purchase carried
    CDNOW's dropout chance (mean 0.25) and the days after lost 0.24 of the bump: a campaign
    that shortened the lives of the members it reached."""
    f = _bump_and_dip(campaign_runs["off"])
    ratio = -f["after"] / f["in_window"]
    figures = as_table({**f, "ratio": ratio})
    assert f["in_window"] > 0, figures
    assert ratio <= 0.05, figures


@pytest.mark.slow
def test_campaign_dip_without_substitution_comes_from_dropout_alone(
    campaign_runs: dict[str, pd.DataFrame],
) -> None:
    """The same on a baseline without BG/NBD dropout (a = 0.01, b = 1000: dropout after a
    purchase about 1e-5) and with substitution off: the campaign still adds purchases in its
    window but leaves the days after it as they were, so nothing but the substitution
    mechanism borrows. Tolerance: at most 2% of the in-window gain either way
    (balances differ after the campaign). Measured (40,000 members, twin seed 11): in-window
    +353,385 CNY, after exactly 0 (every seed tried)."""
    f = _bump_and_dip(campaign_runs["off_no_dropout"])
    figures = as_table(f)
    assert f["in_window"] > 0, figures
    assert abs(f["after"]) <= 0.02 * f["in_window"], figures


@pytest.mark.slow
def test_announced_campaign_has_a_pre_dip_and_a_first_day_catch_up(
    campaign_runs: dict[str, pd.DataFrame],
) -> None:
    """Mace & Neslin (2004), JMR 41: pre-promotion dips exist, when buyers know a promotion is
    coming they wait for it. Announced 14 days ahead, the campaign's audience orders less in
    those 14 days than the control (treatment minus control < 0), and on the campaign's first
    day orders more than the control and more than on the first day of the same campaign
    unannounced (the purchases put off are made then). Directions only; the evidence gives no
    size for a 14-day announcement.

    Measured (40,000 members, twin seed 11): orders in the 14 days before -207, first day
    +222 announced against +58 unannounced (before -176 to -216, first day +204 to +240 over
    seeds 11-13). (Mace & Neslin also find pre-dips smaller than post-dips; not asserted: a
    14-day announcement is this test's choice, and the sizes depend on it.)"""
    announced = daily_difference(campaign_runs["announced"], "orders")
    unannounced = daily_difference(campaign_runs["on"], "orders")
    first = pd.Timestamp(CAMPAIGN[0])
    figures = as_table(
        {
            "before": between(announced, *ANNOUNCED),
            "first_day": float(announced[first]),
            "first_day_unannounced": float(unannounced[first]),
        }
    )
    assert between(announced, *ANNOUNCED) < 0, figures
    assert float(announced[first]) > 0, figures
    assert float(announced[first]) > float(unannounced[first]), figures


# -- 5. light buyers respond more than heavy ones ---------------------------------------------


@pytest.fixture(scope="module")
def programme_lift_by_quintile(folder: Path) -> dict[str, F64]:
    """Orders lift of the programme against no programme (the control's every earn rule
    disabled, which is then also the reference programme) by baseline purchase-rate quintile,
    with share of wallet on and off (20,000 members, seed 11)."""
    path = twin_file(folder, control=no_earning(), size=20_000, name="programme_vs_none")
    out: dict[str, F64] = {}
    for label, sets in (("on", ()), ("off", switched_off("share_of_wallet"))):
        w = world(path, sets)
        w.run()
        control, treatment = w.arms
        q = quintile_of(control.pop.p_buy)
        out[label] = np.array(
            [
                treatment.orders_window[q == i].sum() / control.orders_window[q == i].sum() - 1
                for i in range(5)
            ]
        )
        light = q <= 1
        out[label + "_light_two"] = np.array(
            [treatment.orders_window[light].sum() / control.orders_window[light].sum() - 1]
        )
    return out


@pytest.mark.slow
def test_light_buyers_respond_more_than_heavy_buyers(
    programme_lift_by_quintile: dict[str, F64],
) -> None:
    """Liu (2007), J. Marketing 71: light and moderate buyers raise their purchases under a
    loyalty programme, heavy buyers barely change (they already hold most of their category
    here). Programme vs no programme, by baseline purchase-rate quintile: the lightest two
    quintiles together (the lightest alone makes only about 16 orders in the control, too few
    to read) respond more than twice as much as the heaviest, and the response falls from
    the second quintile to the heaviest, quintile by quintile.

    "More than twice": the evidence says heavy buyers barely change, so a heavy-quintile lift
    at least half the light buyers' would contradict it. Measured (20,000 members, twin seed
    11): quintile lifts [0.86, 0.39, 0.19, 0.09, 0.05] light to heavy (the first on a handful
    of orders), lightest two together +0.41 (+0.39 to +0.44 over seeds 11-13, heaviest +0.04
    to +0.06). The heaviest quintile's lift is mostly retention (the switching cost): on
    member-days alive in both groups it is +0.02. Before every programme factor (goal, halo,
    deadline) went through the share-of-wallet headroom, the heaviest quintile gained +0.30
    and the lightest two +0.45."""
    lift = programme_lift_by_quintile["on"]
    light = float(programme_lift_by_quintile["on_light_two"][0])
    figures = f"quintiles {np.round(lift, 3)}, lightest two {light:.3f}"
    assert lift[4] > 0, figures
    assert light > 2 * lift[4], figures
    assert np.all(np.diff(lift[1:]) < 0), figures


@pytest.mark.slow
def test_share_of_wallet_is_what_holds_heavy_buyers_back(
    programme_lift_by_quintile: dict[str, F64],
) -> None:
    """Liu (2007); Sharp & Sharp (1997), IJRM 14: heavy buyers respond little because they
    already buy most of their category here. Switching the share-of-wallet headroom off must
    raise the heaviest quintile's lift, by a material margin (+5 points: a twin difference is
    exact, and the headroom is the mechanism's whole point). Measured (20,000 members, twin
    seed 11): heaviest quintile +0.05 with headroom, +1.12 without."""
    on, off = programme_lift_by_quintile["on"][4], programme_lift_by_quintile["off"][4]
    assert off > on + 0.05, as_table({"with": float(on), "without": float(off)})


# -- 6. breakage ------------------------------------------------------------------------------


@pytest.mark.slow
def test_breakage_of_year_one_points_is_in_the_reported_range(folder: Path) -> None:
    """Retail programmes report 20-30% of points never redeemed (the figure the scenario
    files cite, e.g. ``scenarios/ecommerce.toml``; lapsed members are its main source, Bijmolt
    & Verhoef 2017). With 12-month rolling expiry to month end, the points issued in the
    first year (a cohort view: no warm-up, 4 joiners a day, 760 days so that the last of
    them, December's, expire on 1 January of year 3) expire at a rate of 20-30%.

    Tolerance 0.17-0.33: the reported range widened by about 3 points each way for one
    4,000-member replication. Measured (twin seed 11): 0.259 (0.247-0.259 over seeds
    11-13)."""
    metrics = run_twin(twin_file(folder, size=4000, days=760, warmup=0, joins=4, name="breakage"))
    rows = group_rows(metrics, "control")
    issued = float(rows.loc[rows["date"] < "2027-01-01", "points_issued"].sum())
    expired = float(rows.loc[rows["date"] <= "2028-01-01", "points_expired"].sum())
    # the run's expiries are the year-1 cohorts': from 1 Feb of year 2 to 1 Jan of year 3
    assert float(rows.loc[rows["date"] < "2027-02-01", "points_expired"].sum()) == 0
    assert float(rows.loc[rows["date"] > "2028-01-01", "points_expired"].sum()) == 0
    breakage = expired / issued
    assert 0.17 <= breakage <= 0.33, as_table({"issued": issued, "expired": expired})


# -- 7. redemptions rise toward the expiry date -----------------------------------------------


@dataclass
class ExpiryTally:
    """Member-days of members holding a redeemable balance, by days until their earliest
    points expire, and how many of them redeemed; and the daily metrics of the run."""

    member_days: dict[str, int] = field(default_factory=lambda: {"last_week": 0, "weeks_2_4": 0})
    redeemed: dict[str, int] = field(default_factory=lambda: {"last_week": 0, "weeks_2_4": 0})
    daily: pd.DataFrame = field(default_factory=pd.DataFrame)

    def rate(self, part: str) -> float:
        return self.redeemed[part] / self.member_days[part]

    def month_end_rise(self) -> float:
        """Redemptions a day in a month's last 7 days over the rest of the month, minus 1."""
        rows = group_rows(self.daily, "control")
        date = rows["date"]
        last_week = (date + pd.Timedelta(days=7)).dt.month != date.dt.month
        r = rows["redemptions"].to_numpy(float)
        return float(r[last_week.to_numpy()].mean() / r[~last_week.to_numpy()].mean() - 1)


@pytest.fixture(scope="module")
def expiry_runs(folder: Path) -> dict[str, ExpiryTally]:
    """The e-commerce programme (points expire 12 months on, at month ends) without the points
    day's redemption lift, with the expiry deadline on and off (20,000 members, seed 11)."""
    path = twin_file(folder, size=20_000, name="expiry")
    out: dict[str, ExpiryTally] = {}
    for label, sets in (
        ("on", ("behaviour.redemption.points_day_lift=0",)),
        ("off", ("behaviour.redemption.points_day_lift=0", *switched_off("expiry_deadline"))),
    ):
        w = world(path, sets)
        aw = w.arms[0]
        cheapest = float(aw.facts.item_points[aw.facts.item_weight > 0].min())
        tally = ExpiryTally()

        def note(t: int, aw: Any = aw, cheapest: float = cheapest) -> tuple[B, F64]:
            k = aw.joined
            bal = aw.state.members.acct[:k, Account.AVAILABLE]
            holds = aw.alive[:k] & (bal >= cheapest)
            left = aw.view.days_to_expiry(aw.cp, aw.state, np.arange(k), t + 1)
            return holds, left

        def count(
            t: int, noted: tuple[B, F64], bought: list[I64], aw: Any = aw, tally: Any = tally
        ) -> None:
            holds, left = noted
            redeemed = aw.last_redeem[: len(holds)] == t
            for part, sel in (
                ("last_week", holds & (left <= 7)),
                ("weeks_2_4", holds & (left > 7) & (left <= 30)),
            ):
                tally.member_days[part] += int(sel.sum())
                tally.redeemed[part] += int(redeemed[sel].sum())

        tally.daily = watch_days(w, note, count).tables.daily
        out[label] = tally
    return out


@pytest.mark.slow
def test_members_redeem_more_as_their_points_near_expiry(
    expiry_runs: dict[str, ExpiryTally],
) -> None:
    """Inman & McAlister (1994), JMR 31: redemptions climb steeply toward the expiration date.
    Members holding a redeemable balance whose earliest points expire within 7 days redeem at
    least 1.5 times as often a day as those whose points expire in 8-30 days; with the expiry
    deadline switched off the two rates are equal within 15%.

    "Steeply": 1.5 is half-way to the doubling the deadline's default lift gives a week out
    (the size is assumed in params.py); 15% is about three standard errors of the rate ratio
    (some 4,900 and 5,100 redemptions in the two cells). Measured (20,000 members, twin
    seed 11): x2.94 (x2.88-2.94 over seeds 11-13) with the deadline, x0.99 (x0.96-0.99)
    without: the deadline both multiplies the redemption probability and fades the
    stockpiling threshold, so members below it redeem too when their points are about to go."""
    on, off = expiry_runs["on"], expiry_runs["off"]
    ratio_on = on.rate("last_week") / on.rate("weeks_2_4")
    ratio_off = off.rate("last_week") / off.rate("weeks_2_4")
    figures = as_table({"with": ratio_on, "without": ratio_off, **on.redeemed})
    assert min(on.redeemed.values()) > 300, figures  # enough redemptions to read a rate
    assert ratio_on >= 1.5, figures
    assert abs(ratio_off - 1.0) <= 0.15, figures


@pytest.mark.slow
def test_month_end_redemptions_are_flat_without_the_deadline(
    expiry_runs: dict[str, ExpiryTally],
) -> None:
    """Without the expiry deadline nothing ties redemption to the calendar once the points
    day's lift is removed: programme-wide redemptions a day in the last 7 days of a month are
    within 5% of the rest of the month; with the deadline the last week gains at least 3
    points on that comparison (Inman & McAlister 1994: redemptions climb toward expiry; the
    points expire at month ends).

    5%: about three standard errors of the month-end ratio (some 190 redemptions a day); 3
    points: both runs share their random numbers, so their difference is tighter than
    either. Measured (20,000 members, twin seed 11): -1.4% without, +17.0% with (seeds
    11-13: -0.7% to -1.4% without, +17.0% to +18.2% with)."""
    off = expiry_runs["off"].month_end_rise()
    on = expiry_runs["on"].month_end_rise()
    figures = as_table({"without": off, "with": on})
    assert abs(off) < 0.05, figures
    assert on > off + 0.03, figures


@pytest.mark.slow
def test_month_end_redemptions_rise_clearly_with_month_end_expiry(
    expiry_runs: dict[str, ExpiryTally],
) -> None:
    """Inman & McAlister (1994), JMR 31: redemptions climb steeply toward the expiration date.
    With points expiring at month ends (the e-commerce policy) and the points day's redemption
    lift removed (``points_day_lift = 0``, else the 18th confounds the month's profile),
    redemptions a day in the last 7 days of a month should exceed the rest of the month by a
    clear margin, more than +10% (the rise the deadline mechanism was meant to produce
    programme-wide; no paper gives a programme-wide size).

    Measured (20,000 members, twin seed 11): +17.0% (+17.0% to +18.2% over seeds 11-13). Few
    members hold points about to expire (about 2% of member-days), and 3 in 4 of them are
    below their stockpiling threshold: when the deadline only multiplied their small
    redemption probability, the month-end rise was +4.1%. Points about to go fade the
    threshold (waiting to save up loses its point), which is what makes the rise show."""
    rise = expiry_runs["on"].month_end_rise()
    assert rise > 0.10, rise


# -- 8. the goal gradient ---------------------------------------------------------------------


@dataclass
class GoalTally:
    """Orders and expected baseline orders on member-days close to (progress >= 0.8) and far
    from (< 0.2) the member's next goal."""

    orders: dict[str, int] = field(default_factory=lambda: {"close": 0, "far": 0})
    expected: dict[str, float] = field(default_factory=lambda: {"close": 0.0, "far": 0.0})
    member_days: int = 0

    def rate(self, part: str) -> float:
        return self.orders[part] / self.expected[part]


@pytest.fixture(scope="module")
def goal_runs(folder: Path) -> dict[str, GoalTally]:
    """The e-commerce programme with every purchase-rate response off except the goal
    gradient (redemption on, so that balances reset), and the same with the goal gradient off
    too (8,000 members, seed 11; both groups of the twin run the same policy)."""
    path = twin_file(folder, size=8000, name="goal")
    base = switched_off(
        "reward_rate",
        "share_of_wallet",
        "substitution",
        "expiry_deadline",
        "redemption_halo",
        "switching_cost",
        "returns",
    )
    out: dict[str, GoalTally] = {}
    for label, sets in (("on", base), ("off", (*base, *switched_off("goal_gradient")))):
        w = world(path, sets)
        aw = w.arms[0]
        tally = GoalTally()

        def note(t: int, aw: Any = aw) -> tuple[B, B]:
            k = aw.joined
            progress = aw._progress(np.arange(k, dtype=np.int64))
            alive = aw.alive[:k]
            return alive & (progress >= 0.8), alive & (progress < 0.2)

        def count(
            t: int, noted: tuple[B, B], bought: list[I64], aw: Any = aw, tally: Any = tally
        ) -> None:
            close, far = noted
            k = len(close)
            p = aw.pop.p_buy[:k]
            for part, sel in (("close", close), ("far", far)):
                tally.orders[part] += int(bought[0][:k][sel].sum())
                tally.expected[part] += float(p[sel].sum())
            tally.member_days += int(close.sum())

        watch_days(w, note, count)
        out[label] = tally
    return out


@pytest.mark.slow
def test_goal_gradient_speeds_purchases_near_the_goal(goal_runs: dict[str, GoalTally]) -> None:
    """Kivetz, Urminsky & Zheng (2006), JMR 43: purchases come about 20% faster close to the
    reward (inter-purchase times about 20% shorter, a purchase rate up to about 1.25 times).
    On member-days within 20% of the member's next goal (progress >= 0.8), orders per expected
    baseline order are 15-30% higher with the goal gradient on than off (the same members and
    random numbers; normalising by the baseline purchase probability removes that heavier
    buyers reach goals more often), while far from the goal (progress < 0.2) the rate rises
    at least 10 points less.

    Tolerance 0.15-0.30: the evidence's 20% (x1.25 as a rate) with room for the sampling
    error of some 6,500 orders (about 2 points) either way. Measured (8,000 members, twin
    seed 11): close +24.9% (+22.8% to +24.9% over seeds 11-13), far +1.0% (-0.5% to +3.5%)."""
    on, off = goal_runs["on"], goal_runs["off"]
    close = on.rate("close") / off.rate("close") - 1
    far = on.rate("far") / off.rate("far") - 1
    figures = as_table({"close": close, "far": far, "orders_close": on.orders["close"]})
    assert on.orders["close"] > 1000, figures  # enough orders to read a rate
    assert 0.15 <= close <= 0.30, figures
    assert far < close - 0.10, figures


# -- 9. with every effect off nothing responds ------------------------------------------------


@pytest.mark.slow
def test_without_any_mechanism_a_generous_policy_changes_nothing(folder: Path) -> None:
    """With every loyalty mechanism off, members buy by the BG/NBD baseline alone (the
    calibration's premise, params.py): a far more generous policy (5 points per CNY, points
    worth 5 times as much, catalogue 3 times as generous, 36-month expiry) leaves orders and
    GMV exactly as they are, on the same members and random numbers. Exact: there is no noise
    in a twin. The policies do differ (points issued differ), so the zero is not vacuous."""
    generous = {
        "earn.purchase.points_per_unit": 5.0,
        "program.point_value": 0.05,
        "expiry.months": 36,
        **faces_times(3.0),
    }
    metrics = run_twin(
        twin_file(folder, treatment=generous, name="all_off"),
        sets=tuple(f"behaviour.{name}.enabled=false" for name in Behaviour.model_fields),
    )
    for column in ("orders", "gmv", "alive"):
        totals = window_totals(metrics, column)
        assert (totals["treatment"] == totals["control"]).all(), (column, totals)
    issued = window_totals(metrics, "points_issued")
    assert (issued["treatment"] > 1.5 * issued["control"]).all(), issued


def test_helpers_switch_the_right_mechanisms() -> None:
    """The overrides the tests rely on name every mechanism, and only those meant."""
    assert len(only()) == len(Behaviour.model_fields)
    kept = only("reward_rate", "perceived_value", "redemption")
    assert "behaviour.reward_rate.enabled=false" not in kept
    assert "behaviour.share_of_wallet.enabled=false" in kept
    assert len(kept) == len(Behaviour.model_fields) - 3
    faces = faces_times(2.0)
    assert faces["burn.catalogue.coupon_1.face_value"] == 2.0
    assert len(no_burn()) == len(faces) + 1

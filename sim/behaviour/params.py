"""Parameters of members' loyalty responses: each mechanism with its formula, default, plausible
range, source and switch.

Two kinds: *traits* describe how members differ (drawn once per member, per population
segment, :class:`Traits`); *mechanisms* say how members respond to the programme
(:class:`Behaviour`). Turning every mechanism off (``enabled = false``) leaves the BG/NBD
baseline alone: that is what the calibration test checks against the closed form.

Every number that drives a response is declared with :func:`param`: its default, the plausible
range ``(low, high)`` the robustness analysis varies it over, and its source (a paper, an
industry figure) or the word "assumed". :meth:`Behaviour.assumptions` lists them all;
``docs/behaviour.md`` is written from that list (a test keeps it current).

The formulas live in :mod:`sim.behaviour.loyalty`; the page ``docs/behaviour.md`` explains how
they fit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ConfigDict, Field

from sim.policy.base import Frozen, NonNegFloat, PosFloat, Share


def param(default: float, low: float, high: float, source: str, **bounds: Any) -> Any:
    """A response parameter: ``default``, the plausible range ``(low, high)`` and its source
    ("assumed" when nothing better is known). ``bounds`` are pydantic's (``ge``, ``le`` ...)."""
    if not low <= default <= high:
        raise ValueError(f"default {default} outside its plausible range ({low}, {high})")
    return Field(
        default=default, json_schema_extra={"range": [low, high], "source": source}, **bounds
    )


@dataclass(frozen=True)
class Assumption:
    """One response parameter as :meth:`Behaviour.assumptions` lists it."""

    path: str
    """Dotted path in a scenario (``behaviour.reward_rate.elasticity``)."""
    value: float
    default: float
    low: float
    high: float
    source: str
    doc: str


class Mechanism(Frozen):
    """A group of response parameters (field docstrings become their descriptions)."""

    model_config = ConfigDict(use_attribute_docstrings=True)


class Traits(Mechanism):
    """How members of a segment differ: distributions drawn once per member."""

    valuation_mean: PosFloat = param(
        1.0,
        0.25,
        1.5,
        "assumed: 1 is a member who values a point at what it buys; below 1 members discount"
        " points against cash",
    )
    """Mean of the member's valuation of points (a multiple of what a point buys), Gamma
    distributed over members with shape ``valuation_shape``: heterogeneity in how much
    members care about points."""
    valuation_shape: PosFloat = param(2.0, 0.5, 8.0, "assumed (coefficient of variation 0.71)")
    """Shape of the Gamma distribution of valuations (larger: members more alike)."""
    checkin_share: Share = param(0.25, 0.05, 0.5, "assumed")
    """Share of members with a check-in habit."""
    checkin_a: PosFloat = 3.0
    """Beta(a, b) of a habitual member's daily check-in probability under the reference
    programme's check-in reward (mean 0.5, assumed)."""
    checkin_b: PosFloat = 3.0
    """See ``checkin_a``."""
    share_rate: NonNegFloat = param(0.02, 0.005, 0.05, "assumed")
    """Mean daily probability of sharing under the reference programme's reward (Gamma
    distributed over members, shape 0.5)."""
    login_rate: Share = param(0.15, 0.05, 0.5, "assumed")
    """Mean daily probability of a rewarded app login under the reference programme's reward
    (Beta(1, 1/rate - 1) over members)."""
    course_rate: NonNegFloat = param(0.005, 0.001, 0.05, "assumed")
    """Mean daily probability of completing a course (where the policy pays for it)."""
    survey_rate: NonNegFloat = param(0.002, 0.0005, 0.01, "assumed")
    """Mean daily probability of answering a survey."""
    profile_rate: NonNegFloat = param(0.02, 0.005, 0.1, "assumed")
    """Daily probability of completing the profile while not yet done."""
    flexible_share: Share = param(
        0.3,
        0.1,
        0.5,
        "Breugelmans & Liu-Thompkins (2017), Marketing Letters 28: a minority of members"
        " accelerate purchases before their points expire; share assumed",
    )
    """Share of "flexible" members whose buying (not only redeeming) rises before expiry."""
    threshold_multiple: PosFloat = param(
        1.0,
        0.5,
        3.0,
        "Stourm, Bradlow & Fader (2015), JMR 52: members stockpile up to a personal threshold"
        " before redeeming; level assumed",
    )
    """Median stockpiling threshold, as a multiple of the median burn option's points."""
    threshold_sigma: NonNegFloat = param(0.8, 0.3, 1.2, "assumed")
    """Log-normal spread of the thresholds over members."""


class PerceivedValue(Mechanism):
    """What a point is worth to a member today.

    ``v = valuation * max_j value_j / (1 + discount_per_day * days_j)`` over the burn options
    ``j`` the member may use (catalogue items at face value per point, cash offset at the
    member's point value), ``days_j`` the days until the balance reaches option ``j`` at the
    member's earning speed (expected points a day from buying and rewarded actions). Point
    value, catalogue prices, earn rates and thresholds all enter here. Off: no delay discount
    (``days_j = 0``)."""

    enabled: bool = True
    discount_per_day: NonNegFloat = param(
        0.01,
        0.002,
        0.05,
        "Kirby & Marakovic (1996), Psychonomic Bulletin & Review 3: hyperbolic discount rates"
        " k of 0.002-0.05 a day for delayed rewards of tens of dollars",
    )
    """Hyperbolic discount rate of a reward that is ``days`` away."""


class RewardRate(Mechanism):
    """The perceived reward rate acts like a price cut.

    The perceived reward rate ``rho`` is the value back per unit spent: points per unit
    (purchase rule, category mix, tier multiplier, daily cap) times the perceived value of a
    point. Against ``rho0``, the same figure under the reference programme (the one the
    baseline purchase rates were observed under), the purchase rate is multiplied by
    ``((1 - f(rho)) / (1 - f(rho0))) ** -elasticity``: a permanent change persists. ``f(rho) =
    s * (1 - exp(-rho / s))``, ``s`` = ``saturation``, is the price cut the rate is felt as:
    about ``rho`` for the rates programmes usually pay, flattening for large ones, since
    consumers discount large discounts and their response saturates. A dated campaign's extra
    rate ``d_rho`` enters the same way, ``((1 - f(rho + d_rho * w)) / (1 - f(rho))) **
    -elasticity`` with ``w = 2 ** (-days into the promotion / promotion_half_life_days)``: the
    member's reference adapts to the promotion, so its effect wears off."""

    enabled: bool = True
    elasticity: NonNegFloat = param(
        2.62,
        1.0,
        4.0,
        "Bijmolt, van Heerde & Pieters (2005), JMR 42: mean price elasticity -2.62 over"
        " 1,851 estimates",
    )
    saturation: float = param(
        1.0,
        0.5,
        1.0,
        "Gupta & Cooper (1992), J. Consumer Research 19: consumers discount promotional"
        " discounts and the response saturates at large ones; level assumed (at most 1: a"
        " felt price cut stays below the whole price)",
        gt=0.0,
        le=1.0,
        allow_inf_nan=False,
    )
    promotion_half_life_days: PosFloat = param(
        12.0,
        5.0,
        21.0,
        "Pauwels, Hanssens & Siddarth (2002), JMR 39: promotion effects adjust within two to"
        " three weeks",
    )


class ShareOfWallet(Mechanism):
    """The programme moves the share of a member's category spending that comes here, with
    headroom: a programme factor ``M`` on the odds of buying here (the price factor times
    the goal gradient, redemption halo and expiry deadline factors) gives the purchase rate
    factor ``M / (1 - s + s * M)``, ``s`` the member's share of wallet. ``s = lam / (lam +
    kappa)``, ``lam`` the member's purchase rate, ``kappa`` set per segment so that the
    median member's share is ``median_share``: heavy buyers hold most of their category
    already and respond little, light and moderate buyers respond more (Liu 2007, J.
    Marketing 71; effects small overall, Sharp & Sharp 1997, IJRM 14)."""

    enabled: bool = True
    median_share: Share = param(
        0.5,
        0.3,
        0.8,
        "assumed; direction from Liu (2007): light and moderate buyers respond, heavy buyers"
        " barely change",
    )


class Substitution(Mechanism):
    """Part of a promotion's lift is borrowed from the weeks around it.

    Each purchase a promotion adds carries a debt of ``borrowed_share`` purchases, repaid as a
    dip: the purchase rate is multiplied by ``1 - min(debt, 0.9)`` while the debt decays at the
    member's purchase rate / ``repay_interpurchase`` (it is repaid over about
    ``repay_interpurchase`` inter-purchase times). An announced campaign (``announce_days`` > 0
    before it starts) also lowers the rate of its audience by ``pre_dip`` before it; the
    purchases put off are made on its first day."""

    enabled: bool = True
    borrowed_share: Share = param(
        0.33,
        0.1,
        0.5,
        "van Heerde, Leeflang & Wittink (2004), Marketing Science 23: about a third of a"
        " promotion bump is borrowed from other periods",
    )
    repay_interpurchase: PosFloat = param(
        1.0,
        0.5,
        2.0,
        "assumed; purchase acceleration shortens the time to the next purchase (Neslin,"
        " Henderson & Quelch 1985, Marketing Science 4)",
    )
    announce_days: int = Field(default=0, ge=0, le=60)
    """Days a campaign is announced before it starts (0: not announced; a scenario sets it)."""
    pre_dip: Share = param(
        0.1,
        0.0,
        0.3,
        "assumed; Mace & Neslin (2004), JMR 41: pre-promotion dips exist and are smaller than"
        " post-promotion dips",
    )


class GoalGradient(Mechanism):
    """Purchase rate x ``1 + g * progress``, ``progress`` the share of the way done towards the
    nearest goal: the next reward (the member's redemption threshold) or the next tier.
    Redeeming resets it."""

    enabled: bool = True
    g: NonNegFloat = param(
        0.25,
        0.1,
        0.4,
        "Kivetz, Urminsky & Zheng (2006), JMR 43: purchases about 20% faster close to the"
        " reward (inter-purchase times 20% shorter at the goal: a rate 1.25 times)",
    )


class RedemptionModel(Mechanism):
    """Daily redemption probability ``max_daily * logistic(steepness * (balance / threshold -
    1))`` for members who can afford something (Stourm, Bradlow & Fader 2015), times the
    deadline factor of :class:`ExpiryDeadline`, raised by ``points_day_lift`` on the
    programme's points day; members who have lapsed redeem at ``lapsed`` times that. At
    checkout, members above threshold pay part with points (cash offset) with
    ``checkout_share`` times the same logistic. Members pick among the catalogue items they can
    afford and may take, in proportion to each item's face value per point."""

    enabled: bool = True
    max_daily: Share = param(0.025, 0.01, 0.1, "assumed")
    steepness: PosFloat = 4.0
    points_day_lift: NonNegFloat = param(1.0, 0.0, 3.0, "assumed")
    checkout_share: Share = param(0.5, 0.1, 0.8, "assumed")
    lapsed: Share = param(
        0.05,
        0.0,
        0.2,
        "assumed; lapsed members leave their points unredeemed, the main source of breakage"
        " (Bijmolt & Verhoef 2017, Handbook of Research on Customer Loyalty)",
    )
    """Redemption rate of members who no longer buy, as a share of an active member's."""
    lottery_rate: Share = 0.01
    """Daily probability that a member who can pay spins the lottery (assumed)."""
    donation_rate: Share = 0.0005
    """Daily probability of donating a tenth of the balance (assumed)."""
    bid_rate: Share = 0.002
    """Daily probability of bidding on an open auction lot one can pay for (assumed)."""


class ExpiryDeadline(Mechanism):
    """Points about to expire act as a deadline. With ``d`` days until the member's earliest
    points expire and ``w = exp(-d / days)``, the stockpiling threshold fades: the readiness
    to redeem ``L`` (the logistic of :class:`RedemptionModel`) becomes ``L + fade * w * (1 -
    L)``, since waiting to save up loses its point when the points will be gone; redemption is
    further multiplied by ``1 + redeem_lift * w`` and the purchase rate of "flexible" members
    by ``1 + buy_lift * w``; an expiry reminder adds ``reminder_lift * exp(-days since / 3)`` to
    the redemption factor."""

    enabled: bool = True
    redeem_lift: NonNegFloat = param(
        2.0,
        0.5,
        4.0,
        "Inman & McAlister (1994), JMR 31: coupon redemptions climb steeply toward the"
        " expiration date; size assumed",
    )
    days: PosFloat = param(10.0, 3.0, 30.0, "assumed")
    fade: Share = param(
        1.0,
        0.3,
        1.0,
        "assumed: the threshold is the value of saving up for a larger reward (Stourm, Bradlow"
        " & Fader 2015), which points about to expire no longer have",
    )
    buy_lift: NonNegFloat = param(
        0.2,
        0.0,
        0.5,
        "Breugelmans & Liu-Thompkins (2017): flexible members buy more before expiry; size assumed",
    )
    reminder_lift: NonNegFloat = param(1.0, 0.0, 3.0, "assumed")


class RedemptionHalo(Mechanism):
    """Buying rises after a redemption (Dorotic, Verhoef, Fok & Bijmolt 2014, IJRM 31):
    purchase rate x ``1 + lift * exp(-days since / days)``."""

    enabled: bool = True
    lift: NonNegFloat = param(
        0.1, 0.0, 0.2, "Dorotic et al. (2014): purchases rise around redemptions; size assumed"
    )
    days: PosFloat = 14.0


class Engagement(Mechanism):
    """Check-ins, shares, logins, reviews, courses, surveys and profile completion respond to
    what they pay. A member's propensity (see :class:`Traits`) is the daily probability under
    the reference programme's reward ``V0`` (points x the member's perceived point value); at
    reward ``V`` it becomes ``propensity * (1 + c) * V / (V + c * V0)``, ``c`` =
    ``half_saturation``: nothing when the action pays nothing, diminishing returns as the
    reward grows (x10 the reward gives at most ``1 + c`` times). Where the reference pays
    nothing for an action, the propensity is the one under the policy simulated. Check-ins
    are also pulled up by a running streak: x ``1 + streak_pull * min(streak, 7) / 7``."""

    enabled: bool = True
    half_saturation: PosFloat = param(
        1.0,
        0.25,
        4.0,
        "assumed; incentives raise participation with diminishing returns (Singer & Ye 2013,"
        " Annals AAPSS 645)",
    )
    streak_pull: NonNegFloat = param(0.2, 0.0, 0.5, "assumed")
    review_after_purchase: Share = param(0.1, 0.02, 0.3, "assumed")
    """Probability of reviewing a purchase the same day (where reviews pay)."""


class SwitchingCost(Mechanism):
    """Members drop out less when leaving would forfeit something: dropout x ``1 -
    max_reduction * x / (x + 1)``, ``x`` the value the member would lose in units of
    ``half_value`` of their mean order: the redeemable value of the balance (what it buys now,
    at face value) plus a year of the tier's extra earning, times the member's valuation.
    Points that cannot be used protect nothing."""

    enabled: bool = True
    max_reduction: Share = param(
        0.3,
        0.05,
        0.5,
        "assumed; Sharp & Sharp (1997), IJRM 14: programme effects on repeat buying are small",
    )
    half_value: PosFloat = param(1.0, 0.25, 4.0, "assumed")


class WinBack(Mechanism):
    """Lapsed (dropped-out) members stay lapsed unless the scenario sets a win-back rate: with
    ``reminder`` probability on the day an expiry reminder reaches them, with ``campaign``
    probability a day while a dated campaign boosts their points. Both 0 by default; a
    scenario that sets one should give its ``source``, and its report names the rate."""

    enabled: bool = True
    reminder: Share = 0.0
    campaign: Share = 0.0
    source: str = Field(default="", max_length=400)
    """Where the rates come from (a study, the programme's own win-back figures)."""

    @property
    def used(self) -> bool:
        return self.enabled and (self.reminder > 0 or self.campaign > 0)


class Returns(Mechanism):
    """Share of orders returned (refunded in full) within ``window_days``."""

    enabled: bool = True
    rate: Share = param(0.03, 0.0, 0.15, "assumed")
    window_days: int = Field(default=7, ge=1, le=90)


class Behaviour(Frozen):
    """Every loyalty response, each switchable. Baseline buying is
    :class:`~sim.behaviour.baseline.BaselineParams`."""

    perceived_value: PerceivedValue = PerceivedValue()
    reward_rate: RewardRate = RewardRate()
    share_of_wallet: ShareOfWallet = ShareOfWallet()
    substitution: Substitution = Substitution()
    goal_gradient: GoalGradient = GoalGradient()
    redemption: RedemptionModel = RedemptionModel()
    expiry_deadline: ExpiryDeadline = ExpiryDeadline()
    redemption_halo: RedemptionHalo = RedemptionHalo()
    engagement: Engagement = Engagement()
    switching_cost: SwitchingCost = SwitchingCost()
    winback: WinBack = WinBack()
    returns: Returns = Returns()

    def all_off(self) -> Behaviour:
        """Every effect switched off: members buy by the baseline alone and never engage."""
        return Behaviour(
            **{
                name: getattr(self, name).model_copy(update={"enabled": False})
                for name in type(self).model_fields
            }
        )

    def assumptions(self, prefix: str = "behaviour") -> list[Assumption]:
        """Every response parameter declared with :func:`param`, with its value here."""
        return _assumptions(self, prefix)


def _assumptions(model: Frozen, prefix: str) -> list[Assumption]:
    out: list[Assumption] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        path = f"{prefix}.{name}"
        if isinstance(value, Frozen):
            out += _assumptions(value, path)
            continue
        extra = info.json_schema_extra
        if isinstance(extra, dict) and "range" in extra:
            bounds = extra["range"]
            assert isinstance(bounds, list)
            low, high = bounds
            out.append(
                Assumption(
                    path,
                    float(value),
                    float(info.default),
                    float(low),  # type: ignore[arg-type]
                    float(high),  # type: ignore[arg-type]
                    str(extra["source"]),
                    (info.description or "").strip(),
                )
            )
    return out


def trait_assumptions(traits: Traits, prefix: str) -> list[Assumption]:
    """The trait parameters of a segment declared with :func:`param`."""
    return _assumptions(traits, prefix)

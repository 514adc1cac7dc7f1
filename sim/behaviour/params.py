"""Parameters of members' loyalty responses, each with its default, its source and a switch.

Two kinds: *traits* describe how members differ (drawn once per member, per population
segment, :class:`Traits`); *effects* say how strongly everyone responds to the programme
(:class:`Behaviour`). Turning every effect off (``enabled = false``) leaves the BG/NBD baseline
alone: that is what the calibration test checks against the closed form.
"""

from __future__ import annotations

from pydantic import Field

from sim.policy.base import Frozen, NonNegFloat, PosFloat, Share


class Traits(Frozen):
    """How members of a segment differ: distributions drawn once per member."""

    valuation_a: PosFloat = 1.0
    """Beta(a, b) of the member's valuation of points against cash (0: points are worth nothing
    to them, 1: worth their face value). Default Beta(1, 3), mean 0.25: members discount points
    heavily (assumed; consistent with the small incentive share real programmes show)."""
    valuation_b: PosFloat = 3.0
    """See ``valuation_a``."""
    checkin_share: Share = 0.25
    """Share of members with a check-in habit (assumed)."""
    checkin_a: PosFloat = 3.0
    """Beta(a, b) of a habitual member's daily check-in probability (mean 0.5, assumed)."""
    checkin_b: PosFloat = 3.0
    """See ``checkin_a``."""
    share_rate: NonNegFloat = 0.02
    """Mean daily probability of sharing (Gamma-distributed over members, shape 0.5; assumed)."""
    login_rate: Share = 0.15
    """Mean daily probability of an app login (Beta(1, 1/rate - 1) over members; assumed)."""
    course_rate: NonNegFloat = 0.005
    """Mean daily probability of completing a course (where the policy pays for it; assumed)."""
    survey_rate: NonNegFloat = 0.002
    """Mean daily probability of answering a survey (assumed)."""
    profile_rate: NonNegFloat = 0.02
    """Daily probability of completing the profile while not yet done (assumed)."""
    flexible_share: Share = 0.3
    """Share of "flexible" members whose buying (not only redeeming) rises before expiry
    (Breugelmans & Liu-Thompkins 2017, "The effect of loyalty program expiration policy on
    consumer behavior", Marketing Letters 28: a minority of members accelerate purchases)."""
    threshold_multiple: PosFloat = 1.0
    """Median stockpiling threshold, as a multiple of the median burn option's points
    (Stourm, Bradlow & Fader 2015, "Stockpiling points in linear loyalty programs", JMR 52:
    members redeem once their balance passes a personal threshold; level assumed)."""
    threshold_sigma: NonNegFloat = 0.8
    """Log-normal spread of the thresholds over members (assumed)."""


class RewardResponse(Frozen):
    """Extra points act like a price cut, weighted by the member's valuation of points.

    Purchase rate x ``1 + (elasticity * extra_rate + salience) * valuation * decay * damping``,
    where ``extra_rate`` is the campaign's extra value per unit spent (e.g. 0.01 for double
    points worth 1% back), ``decay = exp(-days into the promotion / decay_days)``.
    ``elasticity``: mean price elasticity of demand, 2.62, from Bijmolt, van Heerde & Pieters
    (2005), "New empirical generalizations on the determinants of price elasticity", JMR 42.
    ``salience``: a bonus campaign's attention effect beyond its money value (assumed).
    ``decay_days``: promotion effects wear off over two to three weeks (Pauwels, Hanssens &
    Siddarth 2002, "The long-term effects of price promotions", JMR 39: adjustment ~ 2-3 weeks).
    ``pressure_damping``: how much less members already under points or time pressure respond
    (near a goal or an expiry; assumed)."""

    enabled: bool = True
    elasticity: NonNegFloat = 2.62
    salience: NonNegFloat = 0.1
    decay_days: PosFloat = 17.5
    pressure_damping: Share = 0.5


class GoalGradient(Frozen):
    """Purchase rate x ``1 + g * valuation * (1 - d)``, ``d`` the share of the way to the next
    reward (the member's redemption threshold) or tier still to go. Kivetz, Urminsky & Zheng
    (2006), "The goal-gradient hypothesis resurrected", JMR 43: about 20% faster near the goal.
    Redeeming resets the distance to the next reward."""

    enabled: bool = True
    g: NonNegFloat = 0.25


class RedemptionModel(Frozen):
    """Daily redemption probability ``max_daily * logistic(steepness * (balance / threshold -
    1))`` for members who can afford something (Stourm, Bradlow & Fader 2015); raised by
    ``expiry_lift`` for members whose points expire within ``horizon_days`` (Breugelmans &
    Liu-Thompkins 2017) and by ``points_day_lift`` on the programme's points day. At checkout,
    members above threshold pay part with points (cash offset) with ``checkout_share`` times
    the same logistic. Members pick among the catalogue items they can afford and may take,
    in proportion to each item's face value per point."""

    enabled: bool = True
    max_daily: Share = 0.08
    steepness: PosFloat = 4.0
    expiry_lift: Share = 0.25
    horizon_days: int = Field(default=30, ge=1, le=365)
    points_day_lift: NonNegFloat = 1.0
    checkout_share: Share = 0.5
    lottery_rate: Share = 0.01
    """Daily probability that a member who can pay spins the lottery (assumed)."""
    donation_rate: Share = 0.0005
    """Daily probability of donating a tenth of the balance (assumed)."""
    bid_rate: Share = 0.002
    """Daily probability of bidding on an open auction lot one can pay for (assumed)."""


class ExpiryPressure(Frozen):
    """ "Flexible" members buy more while their points are close to expiring (Breugelmans &
    Liu-Thompkins 2017): purchase rate x ``1 + buy_lift``."""

    enabled: bool = True
    buy_lift: NonNegFloat = 0.2


class RedemptionHalo(Frozen):
    """Buying rises around a redemption (Dorotic, Verhoef, Fok & Bijmolt 2014, "Reward
    redemption effects in a loyalty program when customers choose how much and when to
    redeem", IJRM 31): purchase rate x ``1 + lift * valuation * exp(-days since / days)``."""

    enabled: bool = True
    lift: NonNegFloat = 0.1
    days: PosFloat = 14.0


class CheckinHabit(Frozen):
    """Check-ins follow the member's habit, pulled up by a running streak: daily probability
    x ``1 + streak_pull * min(streak, 7) / 7`` (assumed; streak mechanics in the articles)."""

    enabled: bool = True
    streak_pull: NonNegFloat = 0.2


class Activity(Frozen):
    """Shares, logins, reviews, courses, surveys, profile completion and referrals, at each
    member's propensity (see :class:`Traits`), where the policy rewards them."""

    enabled: bool = True
    review_after_purchase: Share = 0.1
    """Probability of reviewing a purchase the same day (assumed)."""


class SwitchingCost(Frozen):
    """Members holding points or a tier drop out less: dropout x ``(1 - balance * progress)
    x (1 - tier * rank)``, progress the balance's share of the member's threshold (capped at
    1), rank the tier's position from 0 (lowest) to 1 (top). Sharp & Sharp (1997), "Loyalty
    programs and their impact on repeat-purchase loyalty patterns", IJRM 14 (small but real
    effects); strengths assumed."""

    enabled: bool = True
    balance: Share = 0.2
    tier: Share = 0.3


class Reactivation(Frozen):
    """Dormant (dropped-out) members come back: with ``reminder`` probability on the day an
    expiry reminder reaches them, with ``campaign`` probability a day while a dated campaign
    (one with a start or end date, not a standing rule such as new-member doubling) boosts
    their points (assumed)."""

    enabled: bool = True
    reminder: Share = 0.03
    campaign: Share = 0.001


class Returns(Frozen):
    """Share of orders returned (refunded in full) within ``window_days`` (assumed)."""

    enabled: bool = True
    rate: Share = 0.03
    window_days: int = Field(default=7, ge=1, le=90)


class Behaviour(Frozen):
    """Every loyalty response, each switchable. Baseline buying is :class:`BaselineParams`."""

    reward_response: RewardResponse = RewardResponse()
    goal_gradient: GoalGradient = GoalGradient()
    redemption: RedemptionModel = RedemptionModel()
    expiry_pressure: ExpiryPressure = ExpiryPressure()
    redemption_halo: RedemptionHalo = RedemptionHalo()
    checkin: CheckinHabit = CheckinHabit()
    activity: Activity = Activity()
    switching_cost: SwitchingCost = SwitchingCost()
    reactivation: Reactivation = Reactivation()
    returns: Returns = Returns()

    def all_off(self) -> Behaviour:
        """Every effect switched off: members buy by the baseline alone and never engage."""
        return Behaviour(
            **{
                name: getattr(self, name).model_copy(update={"enabled": False})
                for name in type(self).model_fields
            }
        )

"""Member behaviour: how members buy, and (later) how they respond to the programme."""

from sim.behaviour.baseline import (
    Baseline,
    BaselineParams,
    daily_buy_probability,
    discretisation_bias_bound,
    draw_traits,
    expected_order_value,
    expected_purchases,
    purchases_today,
)

__all__ = [
    "Baseline",
    "BaselineParams",
    "daily_buy_probability",
    "discretisation_bias_bound",
    "draw_traits",
    "expected_order_value",
    "expected_purchases",
    "purchases_today",
]

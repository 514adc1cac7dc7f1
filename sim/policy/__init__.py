"""The policy language: a programme's rules as a typed, validated, immutable model."""

from sim.policy.base import MICROS, money_to_micros
from sim.policy.earn import ACTIONS
from sim.policy.load import (
    PolicyError,
    Problem,
    content_hash,
    load_policy,
    override,
    parse_override,
    policy_toml,
    read_toml,
    validate_policy,
)
from sim.policy.model import SYSTEM_RULES, Policy

__all__ = [
    "ACTIONS",
    "MICROS",
    "SYSTEM_RULES",
    "Policy",
    "PolicyError",
    "Problem",
    "content_hash",
    "load_policy",
    "money_to_micros",
    "override",
    "parse_override",
    "policy_toml",
    "read_toml",
    "validate_policy",
]

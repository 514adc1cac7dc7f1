"""Small, generic fixtures shared by the test files."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import TINY, policy_from

from sim.engine import CompiledPolicy, compile_policy
from sim.policy import Policy


@pytest.fixture
def rng() -> np.random.Generator:
    """A fixed-seed generator; tests never use global random state."""
    return np.random.default_rng(20260101)


@pytest.fixture
def tiny_policy() -> Policy:
    """A minimal programme: 1 point per currency unit, one tier, points never expire."""
    return policy_from(TINY)


@pytest.fixture
def tiny_cp(tiny_policy: Policy) -> CompiledPolicy:
    """``tiny_policy`` compiled for the engine."""
    return compile_policy(tiny_policy)

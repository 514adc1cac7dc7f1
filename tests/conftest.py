"""Small, generic fixtures shared by the test files."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from engine_helpers import TINY, policy_from
from pg_server import PostgresServer, PostgresUnavailable

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


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A throw-away PostgreSQL server for the whole session (unix socket only).

    Without PostgreSQL installed the tests that need it are skipped, or fail when $CI is set.
    """
    server = PostgresServer()
    try:
        server.start()
    except PostgresUnavailable as exc:
        unavailable = str(exc)
    else:
        unavailable = ""
    if unavailable:  # outside the except block, so no chained traceback is shown
        if os.environ.get("CI"):
            pytest.fail(unavailable, pytrace=False)
        pytest.skip(unavailable)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """SQLAlchemy URL of a fresh database for this test, dropped afterwards."""
    stem = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40]
    name = f"t_{stem}_{uuid.uuid4().hex[:8]}"
    url = pg_server.create_database(name)
    try:
        yield url
    finally:
        pg_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database on each backend: one test body runs on SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'points.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url

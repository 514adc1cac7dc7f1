"""The ledger's schema: migrations build exactly the tables ``sim.ledger.schema`` declares,
on both backends, and a database at another version is refused until migrated."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from sim.ledger import Ledger, LedgerError
from sim.ledger import migrate as mig
from sim.ledger.schema import metadata
from sim.ledger.store import connect
from sim.policy import load_policy


def test_migrations_build_the_declared_schema(db_url: str) -> None:
    engine = connect(db_url)
    mig.upgrade(engine)
    with engine.connect() as conn:
        assert mig.current(conn) == mig.head()
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diffs == []


def test_upgrading_twice_changes_nothing(db_url: str) -> None:
    engine = connect(db_url)
    mig.upgrade(engine)
    mig.upgrade(engine)
    with engine.connect() as conn:
        assert mig.current(conn) == mig.head()


def test_a_database_at_another_schema_version_is_refused(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'points.db'}"
    pol = load_policy("policies/ecommerce_super_points.toml")
    Ledger.init(url, {"default": (pol, "p.toml")}, dt.date(2026, 1, 1))
    with connect(url).begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    with pytest.raises(LedgerError, match=r"schema version 0000.*pointsim ledger migrate"):
        Ledger(url)


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'points.db'}"
    pol = load_policy("policies/ecommerce_super_points.toml")
    led = Ledger.init(url, {"default": (pol, "p.toml")}, dt.date(2026, 1, 1))
    with led.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1

"""Schema versions: Alembic migrations shipped in ``sim/ledger/migrations``.

``pointsim ledger init`` (and every ledger command) brings the database to the newest
version; the version a database is at is in its ``alembic_version`` table.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

SCRIPTS = Path(__file__).with_name("migrations")


def _config(conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["connection"] = conn
    return cfg


def head() -> str:
    """The newest schema version this code knows."""
    rev = ScriptDirectory.from_config(_config()).get_current_head()
    assert rev is not None
    return rev


def current(conn: Connection) -> str | None:
    """The version the database is at (None: not a ledger yet)."""
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the database to :func:`head` (a no-op when it is there)."""
    with engine.begin() as conn:
        if current(conn) == head():
            return
        command.upgrade(_config(conn), "head")

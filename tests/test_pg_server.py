"""The database fixtures: a private PostgreSQL server, fresh databases, both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from pg_server import PostgresServer, PostgresUnavailable, find_binaries

points = sa.Table(
    "points",
    sa.MetaData(),
    sa.Column("member", sa.String(20), primary_key=True),
    sa.Column("balance", sa.BigInteger, nullable=False),
)

_seen_databases: list[str] = []


def test_two_connections_write_and_read_back(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    try:
        points.metadata.create_all(engine)
        with engine.connect() as first, engine.connect() as second:
            first.execute(points.insert(), {"member": "ann", "balance": 120})
            first.commit()
            second.execute(points.insert(), {"member": "bob", "balance": 2**40})
            second.commit()
            rows = first.execute(sa.select(points).order_by(points.c.member)).all()
        assert [tuple(r) for r in rows] == [("ann", 120), ("bob", 2**40)]
    finally:
        engine.dispose()


@pytest.mark.parametrize("run", ["first", "second"])
def test_each_test_gets_a_fresh_database(run: str, pg_url: str) -> None:
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            assert sa.inspect(conn).get_table_names() == []
            points.metadata.create_all(conn)
            conn.commit()
            name = conn.execute(sa.text("SELECT current_database()")).scalar_one()
            existing = set(conn.execute(sa.text("SELECT datname FROM pg_database")).scalars())
    finally:
        engine.dispose()
    assert name not in _seen_databases
    assert existing.isdisjoint(_seen_databases)  # earlier tests' databases were dropped
    _seen_databases.append(name)


def test_server_listens_on_its_unix_socket_only(pg_server: PostgresServer) -> None:
    engine = sa.create_engine(pg_server.url())
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW listen_addresses")).scalar_one() == ""
            sockets = conn.execute(sa.text("SHOW unix_socket_directories")).scalar_one()
    finally:
        engine.dispose()
    assert sockets == str(pg_server.socket_dir)


def test_missing_binaries_are_named_with_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(PostgresUnavailable, match=r"initdb, pg_ctl, postgres.*apt-get install"):
        find_binaries(path=str(tmp_path), lib_root=tmp_path)

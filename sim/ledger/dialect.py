"""The few statements whose SQL differs between SQLite and PostgreSQL, and bulk writes.

A request of a few events writes a few rows per table; those go through statements built
once per table and column set (:func:`_statement`), so SQLAlchemy's compiled cache serves
them and psycopg pipelines the parameter sets. Large writes (end of day, bulk import) take
COPY on PostgreSQL, where the set-up of a COPY or a temporary table pays for itself.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import UpdateBase

SMALL = 64
"""Rows up to which PostgreSQL writes take plain statements rather than COPY."""


@cache
def _statement(dialect: str, verb: str, table: Table, names: tuple[str, ...]) -> UpdateBase:
    """A statement over bound parameters, built once: ``insert`` of columns ``names``;
    ``update`` of ``names[1:]`` where ``names[0]`` equals the bound ``k_``; ``upsert_add``
    of ``names[-1]`` into the row keyed by ``names[:-1]``."""
    if verb == "insert":
        return table.insert().values({k: bindparam(k) for k in names})
    if verb == "update":
        return (
            table.update()
            .where(table.c[names[0]] == bindparam("k_"))
            .values({k: bindparam(k) for k in names[1:]})
        )
    make = sqlite_insert if dialect == "sqlite" else pg_insert
    stmt = make(table).values({k: bindparam(k) for k in names})
    column = names[-1]
    return stmt.on_conflict_do_update(
        index_elements=list(names[:-1]), set_={column: table.c[column] + stmt.excluded[column]}
    )


def upsert_add(conn: Connection, table: Table, key: dict[str, Any], column: str, add: int) -> None:
    """``table[key].column += add``, creating the row (with ``add``) when it is missing, in
    one atomic statement."""
    stmt = _statement(conn.dialect.name, "upsert_add", table, (*key, column))
    conn.execute(stmt, {**key, column: add})


def allocate_ids(conn: Connection, table: Table, n: int) -> list[int]:
    """``n`` fresh primary keys for ``table``, increasing, before its rows are written (the
    engine orders a batch's events by them). PostgreSQL draws them from the column's
    sequence; SQLite continues from the largest key, which is safe because its writers hold
    the database's write lock from the start of the transaction (BEGIN IMMEDIATE)."""
    if n == 0:
        return []
    if conn.dialect.name == "sqlite":
        top = conn.execute(select(func.max(table.c.id))).scalar_one() or 0
        return list(range(top + 1, top + n + 1))
    return list(conn.execute(_NEXTVAL, {"t": table.name, "n": n}).scalars())


_NEXTVAL = text(
    "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n) ORDER BY 1"
)


_COMPILED: dict[tuple[type, str, Table, tuple[str, ...]], tuple[str, list[str] | None]] = {}


def _run_many(
    conn: Connection, verb: str, table: Table, spec: tuple[str, ...], columns: dict[str, list[Any]]
) -> None:
    """Execute the :func:`_statement` ``(verb, table, spec)`` once per row of ``columns``
    (keyed by its bound names), through the driver's executemany; its SQL is compiled once
    per driver."""
    key = (type(conn.dialect), verb, table, spec)
    if key not in _COMPILED:
        stmt = _statement(conn.dialect.name, verb, table, spec)
        compiled: Any = stmt.compile(dialect=conn.dialect)
        order = list(compiled.positiontup) if compiled.positional else None
        _COMPILED[key] = (str(compiled), order)
    sql, order = _COMPILED[key]
    names = list(columns)
    n = len(next(iter(columns.values())))
    if n == 0:
        return
    if order is not None:
        params: list[Any] = list(zip(*(columns[k] for k in order), strict=True))
    else:
        rows = zip(*columns.values(), strict=True)
        params = [dict(zip(names, vals, strict=True)) for vals in rows]
    conn.exec_driver_sql(sql, params)


def bulk_insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """:func:`bulk_insert` for rows given as dicts (all with the same keys)."""
    if rows:
        bulk_insert(conn, table, {k: [r[k] for r in rows] for k in rows[0]})


def bulk_insert(conn: Connection, table: Table, columns: dict[str, list[Any]]) -> None:
    """Insert rows given as equal-length column lists of plain Python values: one statement
    compiled once, through the driver's executemany; on PostgreSQL more than :data:`SMALL`
    rows are streamed with COPY instead (both many times faster than per-row statements)."""
    if not columns or not len(next(iter(columns.values()))):
        return
    if conn.dialect.name == "postgresql" and len(next(iter(columns.values()))) > SMALL:
        _copy(conn, table.name, columns)
        return
    _run_many(conn, "insert", table, tuple(columns), columns)


def bulk_update(
    conn: Connection, table: Table, key: str, keys: list[Any], columns: dict[str, list[Any]]
) -> None:
    """``UPDATE table SET columns... WHERE key = ...`` for each row of the column lists
    (PostgreSQL, more than :data:`SMALL` rows: the rows are copied into a temporary table and
    joined in one UPDATE)."""
    if not keys:
        return
    if conn.dialect.name == "postgresql" and len(keys) > SMALL:
        tmp = f"tmp_{table.name}_update"
        names = ", ".join([key, *columns])
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {tmp}")
        conn.exec_driver_sql(
            f"CREATE TEMP TABLE {tmp} ON COMMIT DROP AS SELECT {names} FROM {table.name} "
            "WITH NO DATA"
        )
        _copy(conn, tmp, {key: keys, **columns})
        sets = ", ".join(f"{c} = {tmp}.{c}" for c in columns)
        conn.exec_driver_sql(
            f"UPDATE {table.name} SET {sets} FROM {tmp} WHERE {table.name}.{key} = {tmp}.{key}"
        )
        return
    _run_many(conn, "update", table, (key, *columns), {"k_": keys, **columns})


def _copy(conn: Connection, table: str, columns: dict[str, list[Any]]) -> None:
    """COPY rows into ``table`` on the connection's own transaction (psycopg 3)."""
    import psycopg

    raw: Any = conn.connection.dbapi_connection
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    try:
        with raw.cursor() as cur, cur.copy(sql) as copy:
            for row in zip(*columns.values(), strict=True):
                copy.write_row(row)
    except psycopg.Error as exc:  # as SQLAlchemy's own errors (IntegrityError ...), for retries
        raise DBAPIError.instance(sql, None, exc, psycopg.Error) from exc

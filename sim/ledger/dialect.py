"""The few statements whose SQL differs between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError


def upsert_add(conn: Connection, table: Table, key: dict[str, Any], column: str, add: int) -> None:
    """``table[key].column += add``, creating the row (with ``add``) when it is missing, in
    one atomic statement."""
    make = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    stmt = make(table).values({**key, column: add})
    stmt = stmt.on_conflict_do_update(
        index_elements=list(key), set_={column: table.c[column] + stmt.excluded[column]}
    )
    conn.execute(stmt)


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
    seq = conn.execute(
        text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}
    ).scalar_one()
    return list(
        conn.execute(
            text("SELECT nextval(:s) FROM generate_series(1, :n) ORDER BY 1"), {"s": seq, "n": n}
        ).scalars()
    )


def _run_many(conn: Connection, stmt: Any, names: list[str], columns: dict[str, list[Any]]) -> None:
    compiled = stmt.compile(dialect=conn.dialect)
    order = list(compiled.positiontup) if compiled.positional else None
    n = len(next(iter(columns.values())))
    if n == 0:
        return
    if order is not None:
        params: list[Any] = list(zip(*(columns[k] for k in order), strict=True))
    else:
        rows = zip(*columns.values(), strict=True)
        params = [dict(zip(names, vals, strict=True)) for vals in rows]
    conn.exec_driver_sql(str(compiled), params)


def bulk_insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """:func:`bulk_insert` for rows given as dicts (all with the same keys)."""
    if rows:
        bulk_insert(conn, table, {k: [r[k] for r in rows] for k in rows[0]})


def bulk_insert(conn: Connection, table: Table, columns: dict[str, list[Any]]) -> None:
    """Insert rows given as equal-length column lists of plain Python values: PostgreSQL
    streams them with COPY, SQLite takes one statement compiled once through the driver's
    executemany (both many times faster than per-row parameters)."""
    if not columns or not len(next(iter(columns.values()))):
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, table.name, columns)
        return
    stmt = table.insert().values({k: bindparam(k) for k in columns})
    _run_many(conn, stmt, list(columns), columns)


def bulk_update(
    conn: Connection, table: Table, key: str, keys: list[Any], columns: dict[str, list[Any]]
) -> None:
    """``UPDATE table SET columns... WHERE key = ...`` for each row of the column lists
    (PostgreSQL: the rows are copied into a temporary table and joined in one UPDATE)."""
    if not keys:
        return
    if conn.dialect.name == "postgresql":
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
    stmt = (
        table.update()
        .where(table.c[key] == bindparam("k_"))
        .values({k: bindparam(k) for k in columns})
    )
    _run_many(conn, stmt, ["k_", *columns], {"k_": keys, **columns})


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

"""Connecting to the ledger's database and running transactions that survive contention.

SQLite (the default, ``sqlite:///points.db``) runs in WAL mode with full synchronous commits;
every write transaction starts with ``BEGIN IMMEDIATE``, so writers queue for the one write
lock instead of failing half-way. PostgreSQL (``postgresql+psycopg://...``) runs at READ
COMMITTED and the ledger takes explicit row locks (``FOR SHARE`` on the clock for event
writers, ``FOR UPDATE`` on the clock for the day's close, on member rows in id order and on
stock rows). A transaction that loses a deadlock or a serialisation race is retried whole.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, DBAPIError, OperationalError

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRIES = 30
_RETRY_CODES = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available


class LedgerError(Exception):
    """A request the ledger refuses; nothing of it is written.

    ``field`` names the field or argument at fault in the library's own terms (``member``,
    ``amount``, ``quantity``, ``client_id``, ``url``, ``evidence`` ...; None: the request as
    a whole), ``at`` where that field is (``events[2]``, ``quote``, ``log.csv line 7``; "" for
    an argument of the call), and ``reason`` the value and what was expected. The message is
    ``at.field: reason`` (``at: field: reason`` after a file's line); a front end names its
    own options for the fields (the CLI: ``--amount: ...``)."""

    def __init__(self, reason: str, *, field: str | None = None, at: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.at = at

    def __str__(self) -> str:
        sep = ": " if " " in self.at else "."
        where = sep.join(p for p in (self.at, self.field) if p)
        return f"{where}: {self.reason}" if where else self.reason


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` as psycopg 3 URLs; check the URL parses."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise LedgerError(f"{url!r} is not a database URL ({exc})", field="url") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise LedgerError(
            f"{url!r}: backend {parsed.get_backend_name()!r} is not supported "
            "(expected sqlite:///FILE or postgresql://...)",
            field="url",
        )
    return url


def connect(url: str) -> Engine:
    """An Engine for ``url`` set up for the ledger (see the module docstring)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})
        _sqlite_setup(engine)
    else:
        engine = create_engine(url, isolation_level="READ COMMITTED", pool_pre_ping=True)
    return engine


def safe_url(url: str) -> str:
    """``url`` with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def check_storage(engine: Engine, url: str, *, integrity: bool = True) -> None:
    """Refuse a database that cannot be used safely, naming ``url``: a server that refuses
    the connection (a connection failure, not a ledger problem), a SQLite file that is empty
    (0 bytes: nothing was ever created there) or, with ``integrity`` (before writing), whose
    pages are damaged (``PRAGMA quick_check``, about 0.3 s per 100 MB: writes to such a file
    would succeed and the audit would then find it malformed)."""
    shown = safe_url(url)
    sqlite = engine.dialect.name == "sqlite"
    if sqlite and engine.url.database not in (None, "", ":memory:"):
        path = Path(str(engine.url.database))
        if path.is_file() and path.stat().st_size == 0:
            raise LedgerError(
                f"{shown}: empty file (0 bytes), not a ledger: if a ledger was there it has "
                "been truncated (restore it from a backup); `pointsim ledger init` creates a "
                "new one where no file is (delete this one first if that is what you want)",
                field="url",
            )
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(ledger_read=True)
            if not sqlite or not integrity:
                conn.exec_driver_sql("SELECT 1")
                return
            problems = [str(r) for r in conn.exec_driver_sql("PRAGMA quick_check").scalars()]
    except DatabaseError as exc:
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        if not sqlite and isinstance(exc, OperationalError):
            raise LedgerError(
                f"{shown}: connection failure: the database server refused or did not answer "
                f"({detail})",
                field="url",
            ) from None
        if "malformed" in detail:
            raise _damaged(shown, detail) from None
        raise LedgerError(f"{shown}: not a ledger database ({detail})", field="url") from None
    if problems != ["ok"]:
        raise _damaged(shown, "; ".join(problems[:3]))


def _damaged(shown: str, detail: str) -> LedgerError:
    return LedgerError(
        f"{shown}: the database file is damaged ({detail}): nothing was written; restore it "
        "from a backup (or copy what is readable with the sqlite3 shell's .recover) before "
        "using it",
        field="url",
    )


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA wal_autocheckpoint=16384")  # pages: checkpoint ~64 MB at a time
        cur.execute("PRAGMA cache_size=-131072")  # KiB: indexes of a large journal stay cached
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get("ledger_read", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None)
        if code in _RETRY_CODES:
            return True
        if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
            return True
    return False


def transact(engine: Engine, work: Callable[[Connection], T], *, read_only: bool = False) -> T:
    """Run ``work`` in one transaction, retrying it whole after a deadlock, a serialisation
    failure or a busy SQLite database. ``work`` must not have effects outside the database.
    ``read_only``: the transaction is rolled back at the end, whatever ``work`` did."""
    for attempt in range(RETRIES):
        try:
            with engine.connect() as conn:
                if read_only:
                    conn = conn.execution_options(ledger_read=True)
                with conn.begin() as txn:
                    result = work(conn)
                    if read_only:
                        txn.rollback()
                return result
        except DBAPIError as exc:
            if not _retryable(exc) or attempt == RETRIES - 1:
                raise
            log.info("retrying a transaction after %s", type(exc.orig).__name__)
            time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
    raise AssertionError("unreachable")


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads (one transaction, so what it reads is consistent)."""
    with engine.connect() as conn:
        conn = conn.execution_options(ledger_read=True)
        with conn.begin():
            yield conn

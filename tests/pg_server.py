"""A throw-away PostgreSQL server for the tests, reachable only through a unix socket.

``PostgresServer`` runs ``initdb`` into a fresh temporary directory, starts the server there with
``pg_ctl -w`` (no TCP listener, the socket lives in the same directory, fsync off) and removes
everything again on ``stop()``. PostgreSQL refuses to run as root, so when the tests run as root
(as they do in CI) the server binaries are run as the ``postgres`` system user, which owns the
temporary directory.
"""

from __future__ import annotations

import logging
import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

__all__ = [
    "PostgresBinaries",
    "PostgresError",
    "PostgresServer",
    "PostgresUnavailable",
    "find_binaries",
]

BINARIES = ("initdb", "pg_ctl", "postgres")
LIB_ROOT = Path("/usr/lib/postgresql")
INSTALL_HINT = "install PostgreSQL with `apt-get install postgresql`"
SUPERUSER = "postgres"
SERVER_SETTINGS = {
    "listen_addresses": "",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "50",
}
# A unix socket path (DIR/.s.PGSQL.5432) must fit in sun_path (108 bytes on Linux).
MAX_SOCKET_DIR = 90


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be run here at all (not installed, or no user to run it as)."""


class PostgresError(RuntimeError):
    """A PostgreSQL command failed; the message holds its output."""


@dataclass(frozen=True)
class PostgresBinaries:
    initdb: Path
    pg_ctl: Path
    postgres: Path


def find_binaries(path: str | None = None, lib_root: Path = LIB_ROOT) -> PostgresBinaries:
    """Find the server binaries on ``path`` (default: $PATH), else in the newest ``lib_root/*/bin``.

    Raises ``PostgresUnavailable`` naming the missing binaries and how to install them.
    """
    found: dict[str, Path] = {}
    missing: list[str] = []
    for name in BINARIES:
        hit = shutil.which(name, path=path) or _newest_in_lib(name, lib_root)
        if hit is None:
            missing.append(name)
        else:
            found[name] = Path(hit)
    if missing:
        raise PostgresUnavailable(
            f"PostgreSQL server binaries not found: {', '.join(missing)} "
            f"(searched PATH and {lib_root}/*/bin); {INSTALL_HINT}."
        )
    return PostgresBinaries(**found)


def _newest_in_lib(name: str, lib_root: Path) -> str | None:
    """``lib_root/<version>/bin/<name>`` for the highest numeric version that has it."""
    versions = [d for d in lib_root.glob("*") if d.name.replace(".", "").isdigit()]
    versions.sort(key=lambda d: [int(part) for part in d.name.split(".") if part], reverse=True)
    for version in versions:
        candidate = version / "bin" / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _run_as_prefix() -> list[str]:
    """The command prefix that runs a binary as the ``postgres`` user when we are root, else []."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SUPERUSER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root, but there is no {SUPERUSER!r} system user to run the PostgreSQL "
            f"server as (PostgreSQL refuses root); {INSTALL_HINT}, which creates that user."
        ) from None
    if runuser := shutil.which("runuser"):
        return [runuser, "-u", SUPERUSER, "--"]
    if setpriv := shutil.which("setpriv"):
        return [setpriv, f"--reuid={SUPERUSER}", f"--regid={SUPERUSER}", "--init-groups"]
    raise PostgresUnavailable(
        f"running as root, but neither `runuser` nor `setpriv` is available to run the "
        f"PostgreSQL server as the {SUPERUSER!r} user (install util-linux)."
    )


class PostgresServer:
    """One private PostgreSQL cluster in a temporary directory; use as a context manager."""

    def __init__(self, binaries: PostgresBinaries | None = None) -> None:
        self.binaries = binaries
        self._dir: Path | None = None
        self._running = False

    @property
    def socket_dir(self) -> Path:
        if self._dir is None:
            raise PostgresError("the server is not started")
        return self._dir

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3) for ``dbname`` on this server."""
        host = quote(str(self.socket_dir))
        return f"postgresql+psycopg://{SUPERUSER}@/{quote(dbname)}?host={host}"

    def start(self) -> None:
        """initdb into a fresh temporary directory and start the server; wait until it is up."""
        if self._dir is not None:
            raise PostgresError(f"the server is already started in {self._dir}")
        binaries = self.binaries or find_binaries()
        prefix = _run_as_prefix()
        base = tempfile.gettempdir()
        if len(base) > MAX_SOCKET_DIR - 30:
            base = "/tmp"
        self._dir = Path(tempfile.mkdtemp(prefix="pointsim-pg-", dir=base))
        try:
            if prefix:
                shutil.chown(self._dir, SUPERUSER, SUPERUSER)
            data = self._dir / "data"
            help_text = self._run(prefix, [binaries.initdb, "--help"])
            no_sync = ["--no-sync"] if "--no-sync" in help_text else []
            initdb = [binaries.initdb, "-D", data, "-U", SUPERUSER, "-A", "trust"]
            self._run(prefix, [*initdb, "-E", "UTF8", "--locale=C", *no_sync])
            settings = {**SERVER_SETTINGS, "unix_socket_directories": str(self._dir)}
            options = " ".join(f"-c {shlex.quote(f'{k}={v}')}" for k, v in settings.items())
            logfile = self._dir / "server.log"
            try:
                pg_ctl = [binaries.pg_ctl, "start", "-w", "-t", "60", "-D", data]
                self._run(prefix, [*pg_ctl, "-l", logfile, "-o", options])
            except PostgresError as exc:
                tail = logfile.read_text(errors="replace")[-2000:] if logfile.exists() else ""
                raise PostgresError(f"{exc}\nserver log ({logfile}):\n{tail}") from None
            self._running = True
            log.info("PostgreSQL started in %s", self._dir)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (if running) and remove its directory. Safe to call more than once."""
        if self._dir is None:
            return
        try:
            if self._running:
                binaries = self.binaries or find_binaries()
                stop = [binaries.pg_ctl, "stop", "-w", "-t", "60", "-D", self._dir / "data"]
                try:
                    self._run(_run_as_prefix(), [*stop, "-m", "fast"])
                except (PostgresError, subprocess.TimeoutExpired):
                    self._run(_run_as_prefix(), [*stop, "-m", "immediate"])
                self._running = False
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def create_database(self, name: str) -> str:
        """Create an empty database ``name``; return its SQLAlchemy URL."""
        with self._admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Terminate the connections still open to ``name``, then drop it."""
        with self._admin() as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=str(self.socket_dir), user=SUPERUSER, dbname="postgres", autocommit=True
        )

    def _run(self, prefix: list[str], argv: list[str | Path]) -> str:
        cmd = [*prefix, *map(str, argv)]
        proc = subprocess.run(
            cmd, cwd=self._dir, capture_output=True, text=True, timeout=120, check=False
        )
        if proc.returncode != 0:
            raise PostgresError(
                f"`{shlex.join(cmd)}` exited with {proc.returncode}:\n{proc.stdout}{proc.stderr}"
            )
        return proc.stdout

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

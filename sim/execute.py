"""The one executor of simulation runs, for ``pointsim run`` and ``pointsim sweep`` alike.

A run is one replication of one point: a :class:`RunTask` carries everything a worker needs
(its scenario, already parsed and validated, and nothing from the disk). :func:`execute`
runs tasks on a :class:`Backend`, in this process (``inline``), on a pool of local processes
(``processes``) or on a ``dask.distributed`` cluster (``dask``; over TLS with the certificates
of :class:`TlsFiles`, or those of dask's own configuration), and yields each
:class:`RunOutput` as it finishes. Where a task runs never changes its result: a run's random
numbers come from (scenario, replication) alone, so ``pointsim run --scheduler`` writes the
same tables as a local run.

A run that fails is returned as a failed output (its error and traceback), never raised:
the caller decides (a sweep records it and goes on; ``pointsim run`` stops).

Fault injection for tests and drills: ``POINTSIM_FAIL_POINTS=3,5`` makes every run of points 3
and 5 raise inside the worker, as a bug in the simulation would.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import socket
import ssl
import time
import traceback
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import SplitResult, urlsplit

import numpy as np
import pandas as pd

import sim
from sim.metrics.schema import RunTables, SummarySpec
from sim.metrics.summary import replication_metrics
from sim.policy.load import content_hash
from sim.scenario import Scenario
from sim.scenario.model import NO_PROGRAMME
from sim.world import simulate

if TYPE_CHECKING:
    from distributed.security import Security

__all__ = [
    "FAIL_POINTS",
    "Backend",
    "Keep",
    "RunOutput",
    "RunTask",
    "SchedulerError",
    "SecurityError",
    "TlsFiles",
    "cluster_security",
    "execute",
    "is_tls_address",
    "run_task",
    "scenario_key",
    "summary_spec",
    "tls_configured",
]

FAIL_POINTS = "POINTSIM_FAIL_POINTS"
CONNECT_TIMEOUT = 10.0
"""Seconds a client waits for the scheduler at most (less when dask's
``distributed.comm.timeouts.connect`` is shorter)."""
TLS_SCHEMES = frozenset({"tls", "wss"})
TLS_CONFIG = ("distributed.comm.tls.ca-file", "distributed.comm.tls.client.cert")
"""Dask's own settings that let a client into a TLS cluster when no :class:`TlsFiles` is given
(``distributed.comm.tls.client.key`` too when the key is not in the certificate file)."""

Keep = Literal["metrics", "daily", "events"]
"""What a run sends back besides its headline rows: nothing more (``metrics``), its daily
tables (``daily``), or its daily tables and the event log fed to the engine (``events``)."""


class SchedulerError(RuntimeError):
    """The Dask scheduler cannot be reached, or refuses this client."""


class SecurityError(ValueError):
    """A TLS setting of the Dask client is missing, does not fit the scheduler's address, or
    names a file that is not what it should be. ``setting`` names it: ``address``,
    ``ca_file``, ``cert`` or ``key``."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(message)
        self.setting = setting


@dataclass(frozen=True)
class RunTask:
    """One replication of one point: what a worker needs, and nothing from the disk."""

    point: int
    replication: int
    key: str
    """Content hash of what the point simulates: a stored run whose key differs is stale."""
    scenario: Scenario


@dataclass
class RunOutput:
    """What one run sends back."""

    task: RunTask
    rows: pd.DataFrame
    """One row per group: ``point``, ``replication``, ``group``, ``key``, ``status`` (``ok`` or
    ``failed``), ``error``, ``seconds``, ``member_days``, then every headline metric (NaN when
    the run failed)."""
    tables: RunTables | None = None
    """The run's daily tables (``keep`` ``daily`` or ``events``; None when it failed)."""
    events: pd.DataFrame | None = None
    members: pd.DataFrame | None = None
    campaigns: list[tuple[str, str, Any, Any]] = field(default_factory=list)
    member_days: int = 0

    @property
    def ok(self) -> bool:
        return bool((self.rows["status"] == "ok").all())

    @property
    def error(self) -> str:
        errors = [e for e in self.rows["error"] if e]
        return str(errors[0]) if errors else ""


def scenario_key(sc: Scenario) -> str:
    """Content hash of what a scenario simulates (its settings and policies, the pointsim
    version; not its replications, title or sweep): a stored run whose key differs is stale."""
    spec = sc.spec.model_dump(
        mode="json", exclude={"sweep", "meta", "title", "description", "replications"}
    )
    arms = [(a.group, a.policy_hash, a.label, a.share) for a in sc.arms]
    text = json.dumps({"spec": spec, "arms": arms, "version": sim.__version__}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def summary_spec(sc: Scenario) -> SummarySpec:
    """What the summary of ``sc``'s tables needs besides the tables."""
    first = sc.arms[0].policy
    return SummarySpec(
        scenario=sc.name,
        title=sc.spec.title or sc.name,
        groups=tuple(a.group for a in sc.arms),
        control=sc.control,
        tiers=tuple(first.tiers),
        bands=sc.bands(),
        currency=first.program.currency,
        policies={
            a.group: {
                "name": a.policy.program.name,
                "file": a.policy_file,
                "content_hash": a.policy_hash,
            }
            for a in sc.arms
        },
        assumptions=assumption_notes(sc),
        no_programme=NO_PROGRAMME if any(a.group == NO_PROGRAMME for a in sc.arms) else None,
        warmup_days=sc.spec.horizon.warmup_days,
        runoff_days=sc.spec.horizon.runoff_days,
        run=None
        if sc.origin is None
        else {**dataclasses.asdict(sc.origin), "sets": list(sc.origin.sets)},
        reported=dict(reported)
        if isinstance(reported := sc.spec.meta.get("reported"), dict)
        else {},
    )


def assumption_notes(sc: Scenario) -> tuple[str, ...]:
    """What a reader of ``sc``'s results must be told the figures rest on."""
    ref = sc.reference
    what = (
        'no programme (reference_policy = "none": the baseline rates are how members buy'
        " without one)"
        if sc.spec.reference_policy == "none"
        else f"the reference programme '{ref.program.name}' (content hash"
        f" {content_hash(ref)[:12]}): the programme their baseline buying was observed under"
    )
    notes = [
        f"Members' responses are measured against {what}. Every response parameter, its range"
        " and source: docs/behaviour.md."
    ]
    wb = sc.spec.behaviour.winback
    if wb.used:
        where = wb.source.strip() or "no source given: an assumption"
        notes.append(
            f"Lapsed members are won back at {wb.campaign:g} a day while a dated campaign"
            f" boosts their points and {wb.reminder:g} on an expiry reminder ({where});"
            " without it they stay lapsed."
        )
    return tuple(notes)


def _fail_points() -> set[int]:
    raw = os.environ.get(FAIL_POINTS, "")
    return {int(x) for x in raw.split(",") if x.strip()}


def _rows(
    task: RunTask, body: pd.DataFrame, status: str, error: str, seconds: float
) -> pd.DataFrame:
    body = body.reset_index()
    body.insert(0, "point", task.point)
    body.insert(1, "replication", task.replication)
    body.insert(3, "key", task.key)
    body.insert(4, "status", status)
    body.insert(5, "error", error)
    body.insert(6, "seconds", seconds)
    return body


def failed(task: RunTask, err: BaseException, seconds: float = 0.0) -> RunOutput:
    """The output of a run that failed: every group, metrics NaN, the error and traceback."""
    text = "".join(traceback.format_exception(err)).strip()
    groups = [a.group for a in task.scenario.arms]
    body = pd.DataFrame(
        {"member_days": np.full(len(groups), np.nan)}, index=pd.Index(groups, name="group")
    )
    return RunOutput(task, _rows(task, body, "failed", text, seconds))


def run_task(task: RunTask, keep: Keep = "metrics") -> RunOutput:
    """Simulate one run and return its headline rows per group (and its tables when ``keep``
    asks); a failure is returned, never raised."""
    began = time.perf_counter()
    sc = task.scenario
    try:
        if task.point in _fail_points():
            raise RuntimeError(f"injected failure ({FAIL_POINTS} names point {task.point})")
        run = simulate(sc, task.replication, point=task.point, export_events=keep == "events")
        metrics = replication_metrics(run.tables, summary_spec(sc))
        metrics = metrics.reset_index(level="replication", drop=True)
        metrics.insert(0, "member_days", float(run.member_days))
        rows = _rows(task, metrics, "ok", "", time.perf_counter() - began)
        return RunOutput(
            task,
            rows,
            run.tables if keep != "metrics" else None,
            run.events,
            run.members,
            run.campaigns,
            run.member_days,
        )
    except Exception as err:  # returned with the run; the caller decides
        return failed(task, err, time.perf_counter() - began)


@dataclass
class Backend:
    """Where runs go: ``inline`` (this process), ``processes`` (a local pool of ``workers``)
    or ``dask`` (the cluster behind ``client``, a ``distributed.Client``)."""

    kind: Literal["inline", "processes", "dask"]
    workers: int = 1
    client: Any = None
    address: str = ""

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers(={self.workers}) must be >= 1")
        if (self.kind == "dask") != (self.client is not None):
            raise ValueError("a dask backend needs a client, and only a dask backend has one")

    @classmethod
    def local(cls, workers: int | None = None) -> Backend:
        """A pool of ``workers`` local processes (default: one per core; 1: inline)."""
        n = workers if workers is not None else (os.cpu_count() or 1)
        return cls("inline" if n == 1 else "processes", n)

    @classmethod
    def choose(
        cls,
        workers: int | None = None,
        scheduler: str | None = None,
        tls: TlsFiles | None = None,
    ) -> Backend:
        """The backend the command line asks for: a Dask cluster when ``scheduler`` is given
        (over TLS with ``tls``, see :func:`cluster_security`), else local processes.
        :class:`SecurityError` when ``tls`` does not fit ``scheduler``,
        :class:`SchedulerError` when the scheduler cannot be reached or refuses us."""
        if scheduler is None:
            if tls is not None:
                raise SecurityError("address", "TLS certificates are for a Dask scheduler")
            return cls.local(workers)
        return cls("dask", 1, connect(scheduler, cluster_security(scheduler, tls)), scheduler)

    def describe(self) -> str:
        if self.kind == "dask":
            return f"the Dask cluster at {self.address}"
        return f"{self.workers} local process(es)"

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class TlsFiles:
    """The PEM files that let this client into a TLS-only Dask cluster: the cluster's CA
    certificate(s), this client's certificate (signed by that CA) and its private key (None
    when the key follows the certificate in ``cert``). Each is read and checked when made:
    :class:`SecurityError` names the file that cannot be read or is not what it should be."""

    ca_file: Path
    cert: Path
    key: Path | None = None

    def __post_init__(self) -> None:
        try:
            ssl.create_default_context(cafile=_readable(self.ca_file, "ca_file"))
        except ssl.SSLError as err:
            raise SecurityError(
                "ca_file", f"{self.ca_file}: not a PEM CA certificate ({_reason(err)})"
            ) from None
        cert = _readable(self.cert, "cert")
        key = _readable(self.key, "key") if self.key is not None else None
        if "-----BEGIN CERTIFICATE-----" not in Path(cert).read_text(errors="replace"):
            raise SecurityError("cert", f"{self.cert}: not a PEM certificate")
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(cert, key)
        except ssl.SSLError as err:
            if self.key is None:
                raise SecurityError(
                    "cert",
                    f"{self.cert}: holds no private key for its certificate"
                    f" ({_reason(err)}): give the key file",
                ) from None
            raise SecurityError(
                "key", f"{self.key}: not the PEM private key of {self.cert} ({_reason(err)})"
            ) from None

    def security(self) -> Security:
        """These files as the ``distributed.security.Security`` of a client that accepts no
        unencrypted connection."""
        from distributed.security import Security

        return Security(  # type: ignore[no-untyped-call]
            require_encryption=True,
            tls_ca_file=str(self.ca_file),
            tls_client_cert=str(self.cert),
            tls_client_key=str(self.key) if self.key is not None else None,
        )


def _readable(path: Path, setting: str) -> str:
    """``path`` as a string once it is known to be a file this process can read."""
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as err:
        raise SecurityError(setting, f"{path}: cannot read it ({err.strerror})") from None
    return str(path)


def _reason(err: ssl.SSLError) -> str:
    return str(err.reason or err.strerror or err)


def _url(address: str) -> SplitResult:
    return urlsplit(address if "://" in address else f"tcp://{address}")


def is_tls_address(address: str) -> bool:
    """Whether a scheduler address asks for TLS (``tls://``; ``wss://``); a bare ``HOST:PORT``
    is ``tcp://``, as ``distributed`` reads it."""
    return _url(address).scheme in TLS_SCHEMES


def tls_configured() -> bool:
    """Whether dask's own configuration (a YAML file, or ``DASK_DISTRIBUTED__COMM__TLS__...``
    variables) gives a client the cluster's CA certificate and a client certificate."""
    import dask.config

    return all(dask.config.get(name, None) for name in TLS_CONFIG)


def cluster_security(address: str, tls: TlsFiles | None = None) -> Security | None:
    """The ``distributed.security.Security`` of a client of the scheduler at ``address``: from
    ``tls`` when given; for a TLS address without it, from dask's configuration
    (:data:`TLS_CONFIG`); for a plain address, None (the client reads dask's configuration as
    it always does). :class:`SecurityError` when certificates are given for a plain address, or
    a TLS address has none."""
    if tls is not None:
        if not is_tls_address(address):
            raise SecurityError(
                "address",
                f"{address} is not a TLS address and certificates are given for it:"
                " a TLS scheduler's address starts with tls://",
            )
        return tls.security()
    if not is_tls_address(address):
        return None
    if not tls_configured():
        raise SecurityError(
            "cert",
            f"{address} is a TLS scheduler and no certificates are given for it (nor"
            f" {' and '.join(TLS_CONFIG)} in dask's configuration)",
        )
    from distributed.security import Security

    return Security(require_encryption=True)  # type: ignore[no-untyped-call]


def connect_timeout() -> float:
    """Seconds to wait for the scheduler: :data:`CONNECT_TIMEOUT`, or dask's
    ``distributed.comm.timeouts.connect`` when that is shorter."""
    import dask.config
    from dask.utils import parse_timedelta

    configured = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), "s")
    return min(CONNECT_TIMEOUT, float(configured or CONNECT_TIMEOUT))


def connect(address: str, security: Security | None = None) -> Any:
    """A ``distributed.Client`` on the scheduler at ``address`` (with ``security``, see
    :func:`cluster_security`); :class:`SchedulerError` when it cannot be reached or refuses
    this client, within :func:`connect_timeout`."""
    from distributed import Client

    url = _url(address)
    timeout = connect_timeout()
    if url.scheme in ("tcp", "tls"):  # refused at once, rather than after the client's retries
        try:
            where = (url.hostname or "localhost", url.port or 8786)
            socket.create_connection(where, min(5.0, timeout)).close()
        except (OSError, ValueError) as err:
            raise SchedulerError(f"{address}: cannot reach a Dask scheduler ({err})") from None
    try:
        return Client(address, security=security, timeout=timeout)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, RuntimeError, ValueError) as err:
        hint = (
            "is it a TLS scheduler whose CA signed this client's certificate?"
            if url.scheme in TLS_SCHEMES
            else "a scheduler started with TLS needs a tls:// address and certificates"
        )
        raise SchedulerError(
            f"{address}: cannot connect to a Dask scheduler ({err}; {hint})"
        ) from None


def _processes(tasks: Sequence[RunTask], workers: int, keep: Keep) -> Iterator[RunOutput]:
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks))) as pool:
        futures: dict[Future[RunOutput], RunTask] = {
            pool.submit(run_task, t, keep): t for t in tasks
        }
        try:
            for fut in as_completed(futures):
                try:
                    yield fut.result()
                except Exception as err:  # the worker process died (killed, out of memory)
                    yield failed(futures[fut], err)
        finally:
            for fut in futures:
                fut.cancel()


def _dask(tasks: Sequence[RunTask], client: Any, keep: Keep) -> Iterator[RunOutput]:
    from distributed import as_completed as dask_completed

    futures = {
        client.submit(
            run_task,
            t,
            keep,
            key=f"pointsim-p{t.point}-r{t.replication}-{t.key[:16]}-{keep}",
            pure=False,
        ): t
        for t in tasks
    }
    try:
        for fut in dask_completed(list(futures)):  # type: ignore[no-untyped-call]
            try:
                yield fut.result()
            except Exception as err:  # lost worker, or the result could not be sent back
                yield failed(futures[fut], err)
    finally:
        for fut in futures:
            fut.cancel()


def execute(
    tasks: Sequence[RunTask], backend: Backend, keep: Keep = "metrics"
) -> Iterator[RunOutput]:
    """Run ``tasks`` on ``backend`` and yield each output as it finishes (in no set order).
    No task: nothing is started."""
    if not tasks:
        return
    if backend.kind == "dask":
        yield from _dask(tasks, backend.client, keep)
    elif backend.kind == "processes" and len(tasks) > 1:
        yield from _processes(tasks, backend.workers, keep)
    else:
        for task in tasks:
            yield run_task(task, keep)

"""The options that send ``pointsim run`` and ``pointsim sweep`` to a Dask cluster:
``--scheduler`` and the TLS certificates, by the names ``dask scheduler`` and ``dask worker``
give them (``--tls-ca-file``, ``--tls-cert``, ``--tls-key``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

if TYPE_CHECKING:
    from sim.execute import TlsFiles

F = TypeVar("F", bound=Callable[..., None])

PEM = click.Path(dir_okay=False, path_type=Path)
OPTION = {
    "address": "--scheduler",
    "ca_file": "--tls-ca-file",
    "cert": "--tls-cert",
    "key": "--tls-key",
}
"""The option that gives each setting of :class:`sim.execute.SecurityError`."""

SCHEDULER = click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Run on the dask.distributed cluster whose scheduler is at ADDRESS "
    "(tls://host:8786, or tcp://host:8786 on a trusted network only) instead of local "
    "processes; the tables are the same.",
)
TLS_CA_FILE = click.option(
    "--tls-ca-file",
    type=PEM,
    metavar="FILE",
    help="The CA certificate(s) of a tls:// --scheduler's cluster (PEM), as given to dask "
    "scheduler and dask worker.",
)
TLS_CERT = click.option(
    "--tls-cert",
    type=PEM,
    metavar="FILE",
    help="This client's certificate (PEM), signed by that CA.",
)
TLS_KEY = click.option(
    "--tls-key",
    type=PEM,
    metavar="FILE",
    help="The private key of --tls-cert (PEM; not needed when it is in the --tls-cert file).",
)


def cluster_options(command: F) -> F:
    """``--scheduler``, ``--tls-ca-file``, ``--tls-cert`` and ``--tls-key``, in that order."""
    for option in (TLS_KEY, TLS_CERT, TLS_CA_FILE, SCHEDULER):
        command = option(command)
    return command


def tls_files(
    scheduler: str | None, ca_file: Path | None, cert: Path | None, key: Path | None
) -> TlsFiles | None:
    """The certificates the options give, checked against each other, ``--scheduler`` and
    dask's configuration, and read (exit 2 naming the option, before anything runs)."""
    given = [
        name
        for name, value in (("--tls-ca-file", ca_file), ("--tls-cert", cert), ("--tls-key", key))
        if value is not None
    ]
    if given and scheduler is None:
        raise click.UsageError(
            f"{given[0]} is for a Dask cluster: give --scheduler tls://HOST:PORT too"
        )
    if scheduler is None:
        return None
    from sim.execute import SecurityError, TlsFiles, is_tls_address, tls_configured

    if given and not is_tls_address(scheduler):
        raise click.UsageError(
            f"{given[0]} is given but --scheduler {scheduler} is not a TLS address:"
            " a TLS scheduler's address starts with tls:// (tls://HOST:8786)"
        )
    if not given:
        if is_tls_address(scheduler) and not tls_configured():
            raise click.UsageError(
                f"--scheduler {scheduler} is a TLS scheduler: give the cluster's CA certificate"
                " and this client's with --tls-ca-file and --tls-cert (and --tls-key), or set"
                " distributed.comm.tls.ca-file, .client.cert and .client.key in dask's"
                " configuration"
            )
        return None
    if ca_file is None or cert is None:
        missing = "--tls-ca-file" if ca_file is None else "--tls-cert"
        raise click.UsageError(
            f"{', '.join(given)} without {missing}: a TLS client needs the cluster's CA"
            " certificate (--tls-ca-file) and its own certificate (--tls-cert)"
        )
    try:
        return TlsFiles(ca_file, cert, key)
    except SecurityError as err:
        raise click.BadParameter(str(err), param_hint=OPTION[err.setting]) from None

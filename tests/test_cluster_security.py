"""A Dask cluster over TLS: ``pointsim run`` and ``pointsim sweep`` reach a TLS-only scheduler
with ``--tls-ca-file``, ``--tls-cert`` and ``--tls-key`` (or dask's own configuration) and
write the local run's figures; without the right certificates they are refused, promptly,
with a message and no traceback; options that do not fit each other or name a bad file exit 2
naming the option, before anything is written.

The cluster is a real ``distributed`` scheduler and worker listening on ``tls://`` only, with a
temporary CA (``Security.temporary()``) written to PEM files, as the options need files."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dask.config
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from sweep_helpers import write_scenario

from sim.cli import main
from sim.execute import SecurityError, TlsFiles, cluster_security

TABLES = ("metrics.parquet", "by_rule.parquet", "retention.parquet", "runs.parquet")
QUICK = {"distributed.comm.timeouts.connect": "3s"}
"""A refused client gives up within seconds, never hangs."""


@dataclass(frozen=True)
class Certs:
    """PEM files of one temporary CA: its certificate, a client certificate and key."""

    ca: Path
    cert: Path
    key: Path

    def options(self) -> list[str]:
        files = (("--tls-ca-file", self.ca), ("--tls-cert", self.cert), ("--tls-key", self.key))
        return [text for option, path in files for text in (option, str(path))]


def write_certs(folder: Path) -> Certs:
    """A fresh temporary CA's files (one key and self-signed certificate for every role)."""
    from distributed.security import Security

    sec = Security.temporary()  # type: ignore[no-untyped-call]
    folder.mkdir(parents=True, exist_ok=True)
    certs = Certs(folder / "ca.pem", folder / "client.pem", folder / "client.key")
    certs.ca.write_text(sec.tls_ca_file)
    certs.cert.write_text(sec.tls_client_cert)
    certs.key.write_text(sec.tls_client_key)
    return certs


@dataclass(frozen=True)
class TlsCluster:
    address: str
    certs: Certs


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsCluster]:
    """A scheduler and one worker on localhost that speak TLS only, certificates from files."""
    from distributed import LocalCluster
    from distributed.security import Security

    certs = write_certs(tmp_path_factory.mktemp("ca"))
    files = {"tls_ca_file": str(certs.ca), "require_encryption": True}
    roles = {
        f"tls_{role}_{part}": str(path)
        for role in ("scheduler", "worker", "client")
        for part, path in (("cert", certs.cert), ("key", certs.key))
    }
    security = Security(**files, **roles)  # type: ignore[no-untyped-call]
    with LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        protocol="tls",
        security=security,
        dashboard_address=None,
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://"), address
        yield TlsCluster(address, certs)


def cli(command: str, *args: str | Path) -> Result:
    return CliRunner().invoke(main, [command, *map(str, args)])


def refused(result: Result, code: int, *named: str) -> None:
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    for part in named:
        assert part in result.output, f"{part!r} not in {result.output!r}"
    assert "member-days" not in result.output, "refused before simulating"


# --- with the cluster's certificates --------------------------------------------------------


def test_a_run_over_tls_writes_the_local_run_s_summary(
    tls_cluster: TlsCluster, tmp_path: Path
) -> None:
    path = write_scenario(tmp_path)
    local = cli("run", path, "--out", tmp_path / "local", "--workers", "1", "--no-report")
    assert local.exit_code == 0, local.output
    remote = cli(
        "run", path, "--out", tmp_path / "tls", "--no-report",
        "--scheduler", tls_cluster.address, *tls_cluster.certs.options(),
    )  # fmt: skip
    assert remote.exit_code == 0, remote.output
    assert f"the Dask cluster at {tls_cluster.address}" in remote.output
    assert (tmp_path / "local" / "summary.json").read_bytes() == (
        tmp_path / "tls" / "summary.json"
    ).read_bytes()
    for name in TABLES:
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "local" / name),
            pd.read_parquet(tmp_path / "tls" / name),
            check_exact=True,
        )


def test_a_sweep_takes_the_certificates_from_dask_s_configuration(
    tls_cluster: TlsCluster, tmp_path: Path
) -> None:
    path = write_scenario(tmp_path)
    certs = tls_cluster.certs
    config = {
        "distributed.comm.tls.ca-file": str(certs.ca),
        "distributed.comm.tls.client.cert": str(certs.cert),
        "distributed.comm.tls.client.key": str(certs.key),
    }
    with dask.config.set(config):
        result = cli(
            "sweep", path, "--out", tmp_path / "out", "--no-report", "--replications", "1",
            "--vary", "caps.daily=[300]", "--scheduler", tls_cluster.address,
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"on the Dask cluster at {tls_cluster.address}" in result.output
    assert "0 failed" in result.output


# --- without them: refused, promptly, no traceback --------------------------------------


def test_a_tls_scheduler_without_certificates_is_refused_before_connecting(
    tls_cluster: TlsCluster, tmp_path: Path
) -> None:
    path = write_scenario(tmp_path / "in")
    for command in ("run", "sweep"):
        result = cli(command, path, "--out", tmp_path / "out", "--scheduler", tls_cluster.address)
        refused(result, 2, f"--scheduler {tls_cluster.address} is a TLS scheduler", "--tls-cert")
        assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("how", ["plain tcp", "another CA"])
def test_a_client_without_the_cluster_s_certificates_is_turned_away(
    tls_cluster: TlsCluster, tmp_path: Path, how: str
) -> None:
    path = write_scenario(tmp_path / "in")
    if how == "plain tcp":  # the TLS-only scheduler's port, spoken to without TLS
        args = ["--scheduler", tls_cluster.address.replace("tls://", "tcp://")]
    else:  # a certificate the cluster's CA did not sign
        args = ["--scheduler", tls_cluster.address, *write_certs(tmp_path / "other").options()]
    began = time.perf_counter()
    with dask.config.set(QUICK):
        result = cli("run", path, "--out", tmp_path / "out", *args)
    seconds = time.perf_counter() - began
    refused(result, 1, f"error: --scheduler {args[1]}: cannot connect to a Dask scheduler")
    assert seconds < 15, f"{how}: refused after {seconds:.1f} s"
    assert not (tmp_path / "out").exists()


# --- options that do not fit, files that are not certificates: exit 2 --------------------


def _not_pem(tmp: Path, certs: Certs) -> Certs:
    junk = tmp / "junk.pem"
    junk.write_text("not a certificate\n")
    return Certs(junk, certs.cert, certs.key)


def _no_such_cert(tmp: Path, certs: Certs) -> Certs:
    return Certs(certs.ca, tmp / "nowhere.pem", certs.key)


def _wrong_key(tmp: Path, certs: Certs) -> Certs:
    return Certs(certs.ca, certs.cert, write_certs(tmp / "other").key)


def _folder_as_key(tmp: Path, certs: Certs) -> Certs:
    return Certs(certs.ca, certs.cert, tmp)


BAD_FILES = {
    "a CA file that is not PEM": (_not_pem, "--tls-ca-file", "junk.pem: not a PEM CA"),
    "a missing certificate": (_no_such_cert, "--tls-cert", "nowhere.pem: cannot read it"),
    "the key of another certificate": (_wrong_key, "--tls-key", "not the PEM private key"),
    "a folder as the key": (_folder_as_key, "--tls-key", "is a directory"),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
@pytest.mark.parametrize("command", ["run", "sweep"])
def test_a_bad_certificate_file_is_refused_naming_the_option_and_file(
    tmp_path: Path, command: str, case: str
) -> None:
    make, option, says = BAD_FILES[case]
    certs = make(tmp_path, write_certs(tmp_path / "ca"))
    path = write_scenario(tmp_path / "in")
    args: list[str | Path] = ["--out", tmp_path / "out", "--scheduler", "tls://127.0.0.1:9"]
    args += certs.options()
    result = cli(command, path, *args)
    refused(result, 2, says)
    error = result.output.strip().splitlines()[-1]
    assert error.startswith("Error: Invalid value for") and option in error, error
    assert not (tmp_path / "out").exists()


COMBINATIONS = {
    "certificates and no scheduler": ([], "--tls-ca-file is for a Dask cluster"),
    "certificates and a tcp:// scheduler": (
        ["--scheduler", "tcp://127.0.0.1:9"],
        "--scheduler tcp://127.0.0.1:9 is not a TLS address",
    ),
    "certificates and a bare HOST:PORT": (
        ["--scheduler", "127.0.0.1:9"],
        "--scheduler 127.0.0.1:9 is not a TLS address",
    ),
}


@pytest.mark.parametrize("case", COMBINATIONS, ids=list(COMBINATIONS))
@pytest.mark.parametrize("command", ["run", "sweep"])
def test_certificates_need_a_tls_scheduler(tmp_path: Path, command: str, case: str) -> None:
    extra, says = COMBINATIONS[case]
    certs = write_certs(tmp_path / "ca")
    path = write_scenario(tmp_path / "in")
    result = cli(command, path, "--out", tmp_path / "out", *extra, *certs.options())
    refused(result, 2, says)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "given, missing",
    [(["cert"], "--tls-ca-file"), (["ca"], "--tls-cert"), (["key"], "--tls-ca-file")],
)
def test_half_the_certificates_are_refused_naming_the_missing_option(
    tmp_path: Path, given: list[str], missing: str
) -> None:
    certs = write_certs(tmp_path / "ca")
    option = {"ca": "--tls-ca-file", "cert": "--tls-cert", "key": "--tls-key"}
    args = [a for g in given for a in (option[g], str(getattr(certs, g)))]
    path = write_scenario(tmp_path / "in")
    result = cli("run", path, "--out", tmp_path / "out", "--scheduler", "tls://127.0.0.1:9", *args)
    refused(result, 2, f"without {missing}")
    assert not (tmp_path / "out").exists()


# --- the library's side -----------------------------------------------------------------


def test_the_library_builds_an_encrypting_security_and_refuses_a_mismatch(
    tmp_path: Path,
) -> None:
    certs = write_certs(tmp_path)
    combined = tmp_path / "combined.pem"  # the key after the certificate: --tls-key not needed
    combined.write_text(certs.cert.read_text() + certs.key.read_text())
    sec = cluster_security("tls://h:8786", TlsFiles(certs.ca, combined))
    assert sec is not None and sec.require_encryption
    client = sec.get_tls_config_for_role("client")  # type: ignore[no-untyped-call]
    assert (client["ca_file"], client["cert"], client["key"]) == (
        str(certs.ca),
        str(combined),
        None,
    )
    assert cluster_security("tcp://h:8786") is None
    with pytest.raises(SecurityError, match="holds no private key") as err:
        TlsFiles(certs.ca, certs.cert)
    assert err.value.setting == "cert"
    with pytest.raises(SecurityError, match="not a TLS address") as err:
        cluster_security("h:8786", TlsFiles(certs.ca, combined))
    assert err.value.setting == "address"
    with (
        dask.config.set({"distributed.comm.tls.ca-file": None}),
        pytest.raises(SecurityError, match="no certificates are given"),
    ):
        cluster_security("tls://h:8786")

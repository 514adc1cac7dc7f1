"""The ``pointsim`` command line: one :func:`main` group; each command group lives in its own
module and is registered here (``sim.cli_policy`` for ``pointsim policy ...``)."""

from __future__ import annotations

import click

from sim.cli_calibrate import calibrate
from sim.cli_ledger import ledger
from sim.cli_policy import policy
from sim.cli_run import run
from sim.cli_sweep import sweep


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pointsim", prog_name="pointsim")
def main() -> None:
    """Simulate a loyalty-points economy on the engine the live ledger runs."""


main.add_command(policy)
main.add_command(run)
main.add_command(ledger)
main.add_command(sweep)
main.add_command(calibrate)

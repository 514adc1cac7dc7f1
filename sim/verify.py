"""``pointsim ledger apply-policy --verify``: is a summary what its recorded run gives?

A ``summary.json`` could be edited by hand or pasted together; its content hash of the policy
says which policy it claims, not that it was simulated. Every run is deterministic (its
random numbers come from the scenario and the replication alone), so the run the summary
records (:class:`sim.metrics.results.RunRecord`: the scenario file with its SHA-256, the
command line's overrides) is simulated again here, on local processes, and its figures for
the evidence's group must equal the file's exactly.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sim.files import InputFileError, read_input
from sim.metrics.results import Summary, SummaryError
from sim.metrics.summary import summarise
from sim.policy.load import MAX_TOML_BYTES
from sim.runner import RunFailed, run_scenario
from sim.scenario import ScenarioError, load_scenario

__all__ = ["VerifyError", "verify_summary"]


class VerifyError(ValueError):
    """The summary cannot be verified, or its recorded run gives other figures."""


def verify_summary(path: Path, group: str, *, workers: int | None = None) -> str:
    """Simulate the run ``path`` records again and compare ``group``'s figures with the
    file's; returns what was compared, or :class:`VerifyError` saying what differs."""
    try:
        claimed = Summary.read(path)
    except SummaryError as exc:
        raise VerifyError(str(exc)) from None
    run = claimed.run
    if run is None:
        raise VerifyError(
            f"{path}: records no run to repeat (written by an older pointsim, or a sweep "
            "point): simulate the policy again with pointsim run"
        )
    scenario_file = Path(run.file)
    try:
        digest = hashlib.sha256(
            read_input(scenario_file, MAX_TOML_BYTES, "a TOML file")
        ).hexdigest()
    except (InputFileError, OSError) as exc:
        raise VerifyError(f"{path}: its scenario {run.file} cannot be read ({exc})") from None
    if digest != run.sha256:
        raise VerifyError(
            f"{path}: its scenario {run.file} has changed since the run (SHA-256 "
            f"{digest[:12]}, the run read {run.sha256[:12]})"
        )
    try:
        scenario = load_scenario(
            scenario_file,
            sets=tuple(run.sets),
            members=run.members,
            days=run.days,
            replications=run.replications,
            seed=run.seed,
            no_programme=run.no_programme,
        )
        result = run_scenario(scenario, workers=workers)
    except (ScenarioError, RunFailed) as exc:
        raise VerifyError(f"{path}: its recorded run cannot be repeated: {exc}") from None
    again = summarise(result.tables, result.summary_spec())
    if group not in claimed.metrics or group not in again.metrics:
        raise VerifyError(f"{path}: group {group!r} is not in both the file and the re-run")
    if again.policies.get(group) != claimed.policies.get(group):
        raise VerifyError(
            f"{path}: group {group} ran another policy in the re-run (a policy file changed?)"
        )
    differ = [
        name
        for name, metric in claimed.metrics[group].items()
        if again.metrics[group].get(name) != metric
    ]
    if differ or claimed.replications != again.replications or claimed.window != again.window:
        shown = ", ".join(
            f"{n} {claimed.metrics[group][n].mean!r} in the file, "
            f"{getattr(again.metrics[group].get(n), 'mean', None)!r} re-run"
            for n in differ[:3]
        )
        raise VerifyError(
            f"{path}: the file's figures are not what its recorded run gives"
            + (f" ({shown})" if shown else " (replications or window differ)")
        )
    return (
        f"{len(claimed.metrics[group])} figures of group {group} equal a re-run of "
        f"{run.file} ({claimed.replications} replications)"
    )

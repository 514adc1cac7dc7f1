"""Whether a run fits in this machine's memory, said before it starts.

A replication holds every member of every group as arrays: about :data:`BYTES_PER_MEMBER`
bytes per member and group (measured: the 1,000,000-member e-commerce year peaks at 1.27 GiB
in one process, ``bench/world_bench.py``), and local processes run replications side by side.
A run that would not fit is refused naming ``--members`` instead of dying of a MemoryError
(or being killed) hours in.
"""

from __future__ import annotations

from pathlib import Path

from sim.execute import Backend
from sim.scenario import Scenario

__all__ = ["BYTES_PER_MEMBER", "available_bytes", "run_bytes"]

BYTES_PER_MEMBER = 1500
"""Peak bytes a replication needs per member and group (with the cohort book)."""


def run_bytes(scenario: Scenario, processes: int) -> int:
    """Bytes the run of ``scenario`` needs at its peak on ``processes`` local processes."""
    spec = scenario.spec
    days = spec.horizon.warmup_days + spec.horizon.days
    members = spec.population.size + spec.population.joins_per_day * days
    copies = len(scenario.arms) if scenario.design == "twin" else 1
    at_once = max(1, min(processes, spec.replications))
    return int(members * copies * BYTES_PER_MEMBER * at_once)


def available_bytes() -> int | None:
    """Memory available to new work (``MemAvailable``; None where it cannot be read)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def processes(workers: int | None) -> int:
    """Local processes a run uses (:meth:`sim.execute.Backend.local`'s choice)."""
    return Backend.local(workers).workers

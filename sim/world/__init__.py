"""The simulated world: members as arrays, their behaviour, a SimPy calendar, the engine."""

from sim.world.world import World, WorldRun, run_seed, simulate

__all__ = ["World", "WorldRun", "run_seed", "simulate"]

"""The simulated world: a SimPy environment with a day clock and calendar processes.

Calendar things are SimPy processes: members joining, campaign windows, the monthly points
day. They switch the calendar state at the start of a day (tier reviews, month-end packs and
interest, expiry runs and reminders are the engine's own, by date); the clock process runs
each day at its middle: for every group it draws the members' actions, calls the engine once
for the day's batch (:mod:`sim.world.arm`) and records the metrics (:mod:`sim.world.recorder`).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import simpy

from sim.engine import Kind, day_number, to_date
from sim.engine.calendar import add_months
from sim.engine.quote import campaign_active
from sim.kpi import COHORT_PERIOD_DAYS, RunTables
from sim.scenario import Scenario
from sim.world.arm import ArmWorld, Today
from sim.world.draws import Draws, Purpose
from sim.world.population import Population, draw_population
from sim.world.recorder import Recorder

I64 = npt.NDArray[np.int64]


def run_seed(scenario: Scenario, replication: int) -> np.random.SeedSequence:
    """The random root of replication ``replication``: from the scenario's seed and name only,
    so every sweep point and every group of a replication shares its numbers."""
    name = zlib.crc32(scenario.name.encode())
    return np.random.SeedSequence([scenario.spec.seed, name], spawn_key=(replication,))


@dataclass
class WorldRun:
    """One replication of a scenario, every group."""

    tables: RunTables
    member_days: int
    seconds: float
    events: pd.DataFrame | None
    """The day-ordered event log fed to the engine (with ``export_events``)."""
    members: pd.DataFrame | None
    """Each group's members as the engine knows them (with ``export_events``)."""
    campaigns: list[tuple[str, str, Any, Any]]
    """(group, campaign, first day, last day) of each campaign window in the metric window."""


class World:
    """One replication: population, groups, calendar, clock."""

    def __init__(
        self,
        scenario: Scenario,
        replication: int = 0,
        *,
        point: int = 0,
        export_events: bool = False,
        on_day: Callable[[int], None] | None = None,
    ) -> None:
        spec = scenario.spec
        self.scenario = scenario
        self.replication = replication
        self.point = point
        self.window_start = day_number(spec.horizon.start)
        self.first_day = self.window_start - spec.horizon.warmup_days
        self.last_day = self.window_start + spec.horizon.days - 1
        self.runoff_periods = -(-spec.horizon.runoff_days // COHORT_PERIOD_DAYS)
        self.draws = Draws(run_seed(scenario, replication), 0)
        pop = draw_population(spec, self.draws, self.first_day)
        self.draws.n = len(pop)
        self.env = simpy.Environment(initial_time=self.first_day)
        self.on_day = on_day
        self.export = export_events
        self.event_log: list[pd.DataFrame] = []
        self.member_days = 0
        self.arms: list[ArmWorld] = []
        self.today: list[Today] = []
        self.joined: list[int] = []
        self.windows: list[tuple[str, str, Any, Any]] = []
        p = spec.population
        for arm, gids in zip(scenario.arms, self._split(pop), strict=True):
            members = pop if gids is None else pop.take(gids)
            aw = ArmWorld(
                arm,
                members,
                gids,
                spec.behaviour,
                dict(p.categories),
                self.first_day,
                p.purchases_as,
                p.investment_term_days,
                p.item_price,
                scenario.reference,
            )
            self.arms.append(aw)
            self.today.append(Today(self.first_day))
            self.joined.append(0)
        self.recorders = [
            Recorder(aw, self.first_day, self.window_start, spec.horizon.days, self.runoff_periods)
            for aw in self.arms
        ]
        env = self.env
        env.process(self._joins())
        for a, aw in enumerate(self.arms):
            for i, c in enumerate(aw.cp.campaigns):
                if c.groups is None or c.groups[aw.arm.label]:
                    env.process(self._campaign(a, i))
            if aw.cp.points_day:
                env.process(self._points_day(a, aw.cp.points_day))
        env.process(self._clock())

    def _split(self, pop: Population) -> list[I64 | None]:
        if self.scenario.design == "twin":
            return [None] * len(self.scenario.arms)
        shares = np.cumsum([arm.share for arm in self.scenario.arms])
        u = self.draws.generator(Purpose.POPULATION, day=1).random(len(pop))
        which = np.minimum(np.searchsorted(shares, u, side="right"), len(shares) - 1)
        return [np.flatnonzero(which == g).astype(np.int64) for g in range(len(shares))]

    # -- calendar processes ---------------------------------------------------------------

    def _joins(self) -> Generator[simpy.Event, Any, None]:
        """Members join: each group's joined prefix grows on the days members arrive."""
        env = self.env
        while True:
            t = int(env.now)
            for a, aw in enumerate(self.arms):
                self.joined[a] = int(np.searchsorted(aw.pop.join_day, t, side="right"))
            later = [
                aw.pop.join_day[self.joined[a]]
                for a, aw in enumerate(self.arms)
                if self.joined[a] < len(aw.pop)
            ]
            if not later:
                return
            yield env.timeout(int(min(later)) - t)

    def _campaign(self, a: int, i: int) -> Generator[simpy.Event, Any, None]:
        """A campaign's windows open and close (the engine applies the campaign itself; the
        members notice it from its first day)."""
        env, c = self.env, self.arms[a].cp.campaigns[i]
        name = self.arms[a].cp.rule_ids[c.rule_id]
        sub = self.scenario.spec.behaviour.substitution
        dated = c.start is not None or c.end is not None
        announce = sub.announce_days if sub.enabled and dated else 0
        t = int(env.now)
        while t <= self.last_day:
            while t <= self.last_day and not campaign_active(c, t):
                t += 1
            if t > self.last_day:
                return
            start = t
            while t <= self.last_day and campaign_active(c, t):
                t += 1
            if announce and start > int(env.now):  # announced before it starts
                yield env.timeout(max(start - announce - int(env.now), 0))
                self.today[a].announced[i] = start
            yield env.timeout(start - int(env.now))
            self.today[a].announced.pop(i, None)
            self.today[a].campaign_start[i] = start
            if t - 1 >= self.window_start and (c.start is not None or c.end is not None):
                first = max(start, self.window_start)
                self.windows.append((self.arms[a].arm.group, name, to_date(first), to_date(t - 1)))
            yield env.timeout(t - int(env.now))
            self.today[a].campaign_start.pop(i, None)

    def _points_day(self, a: int, dom: int) -> Generator[simpy.Event, Any, None]:
        env = self.env
        while True:
            t = int(env.now)
            d = to_date(t)
            month = d if d.day <= dom else add_months(d.replace(day=1), 1)
            target = month.replace(day=dom)
            yield env.timeout(day_number(target) - t)
            self.today[a].points_day = True
            yield env.timeout(1)
            self.today[a].points_day = False

    def _clock(self) -> Generator[simpy.Event, Any, None]:
        """Each day at noon: every group's day, then the metrics; after the window, the
        run-off's days until the points outstanding at its end have all left."""
        env = self.env
        yield env.timeout(0.5)
        while env.now < self.last_day + 1:
            t = int(env.now)
            window = t >= self.window_start
            for a, aw in enumerate(self.arms):
                self.today[a].day = t
                out = aw.step(self.today[a], self.draws, self.joined[a], window)
                self.member_days += self.joined[a]
                self.recorders[a].record(t, out)
                if self.export and len(out.events):
                    self.event_log.append(_event_frame(aw, t, out.events))
            if self.on_day is not None:
                self.on_day(t)
            yield env.timeout(1)
        for rec in self.recorders:
            rec.close()
        for t in range(
            self.last_day + 1, self.last_day + 1 + self.runoff_periods * COHORT_PERIOD_DAYS
        ):
            if (t - self.last_day - 1) % COHORT_PERIOD_DAYS == 0 and all(
                rec.cohorts.settled() for rec in self.recorders
            ):
                return
            for a, aw in enumerate(self.arms):
                self.today[a].day = t
                self.recorders[a].follow(
                    t, aw.step(self.today[a], self.draws, self.joined[a], False)
                )
                self.member_days += self.joined[a]
            yield env.timeout(1)

    # -- results --------------------------------------------------------------------------

    def run(self) -> WorldRun:
        began = time.perf_counter()
        self.env.run(until=self.last_day + 1 + self.runoff_periods * COHORT_PERIOD_DAYS)
        parts = [
            rec.tables(
                {
                    "scenario": self.scenario.name,
                    "point": self.point,
                    "replication": self.replication,
                    "group": aw.arm.group,
                }
            )
            for rec, aw in zip(self.recorders, self.arms, strict=True)
        ]
        tables = RunTables(*(pd.concat([p[j] for p in parts], ignore_index=True) for j in range(5)))
        events = members = None
        if self.export:
            events = (
                pd.concat(self.event_log, ignore_index=True)
                if self.event_log
                else _event_frame(self.arms[0], self.first_day, None)
            )
            segments = list(self.scenario.spec.population.segments)
            members = pd.concat(
                [_member_frame(aw, segments) for aw in self.arms], ignore_index=True
            )
        return WorldRun(
            tables, self.member_days, time.perf_counter() - began, events, members, self.windows
        )


def _event_frame(aw: ArmWorld, t: int, events: Any) -> pd.DataFrame:
    """The events of a group's day as log rows (``events`` None: an empty log)."""
    cols = ("seq", "member", "kind", "amount", "quantity", "code", "ref", "draw")
    if events is None:
        frame = pd.DataFrame({c: np.zeros(0, np.int64) for c in cols})
        frame.insert(0, "day", pd.Series(dtype="datetime64[ns]"))
        frame.insert(0, "group", pd.Series(dtype=object))
        frame["kind"] = frame["kind"].astype(object)
        frame["name"] = pd.Series(dtype=object)
        return frame
    frame = pd.DataFrame({c: getattr(events, c) for c in cols})
    frame["name"] = [aw.cp.event_name(k, c) for k, c in zip(events.kind, events.code, strict=True)]
    frame["kind"] = [Kind(k).name.lower() for k in events.kind]
    frame.insert(0, "day", pd.Timestamp(to_date(t)))
    frame.insert(0, "group", aw.arm.group)
    return frame


def _member_frame(aw: ArmWorld, segments: list[str]) -> pd.DataFrame:
    ms = aw.state.members
    return pd.DataFrame(
        {
            "group": aw.arm.group,
            "member": np.arange(len(aw), dtype=np.int64),
            "join_day": pd.to_datetime([to_date(d) for d in ms.join_day]),
            "birth_month": ms.birth_month.astype(np.int64),
            "referrer": ms.referrer,
            "label": aw.cp.policy.program.groups[aw.arm.label],
            "segment": np.asarray(segments, dtype=object)[aw.pop.segment[: len(aw)]],
        }
    )


def simulate(
    scenario: Scenario,
    replication: int = 0,
    *,
    point: int = 0,
    export_events: bool = False,
    on_day: Callable[[int], None] | None = None,
) -> WorldRun:
    """Simulate one replication of ``scenario`` (every group) in this process."""
    return World(
        scenario, replication, point=point, export_events=export_events, on_day=on_day
    ).run()

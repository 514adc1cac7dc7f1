"""Daily metrics of one group, read from the engine's postings and the members' arrays, kept
in preallocated arrays and turned into the tidy tables of :mod:`sim.kpi` at the end."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from sim.accounting import COHORT_FLOWS, Cohort, CohortBook, roll_forward
from sim.accounting.books import SaleBooks
from sim.accounting.cohorts import Flows
from sim.engine import Account, Kind, Postings, to_date
from sim.engine.flows import point_flows
from sim.engine.liability import liability_micros
from sim.kpi import BY_RULE, COHORT, COHORT_PERIOD_DAYS, DAILY, RETENTION
from sim.policy import MICROS
from sim.world.arm import ArmWorld, DayOutcome

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

_COLS = {c.name: i for i, c in enumerate(DAILY)}
RETENTION_AGES = (0, 7, 14, 30, 60, 90, 120, 180, 270, 365, 540, 730)


class Recorder:
    """Collects one group's metric rows for the days of the metric window, and its issue
    cohorts' development over every simulated day (warm-up included)."""

    def __init__(
        self, aw: ArmWorld, first_day: int, window_start: int, days: int, runoff_periods: int = 0
    ) -> None:
        self.aw = aw
        self.first_day = first_day
        self.window_start = window_start
        self.days = days
        self.daily = np.zeros((days, len(DAILY)))
        self.tiers = np.zeros((days, len(aw.cp.tier_names)), np.int64)
        self.by_rule = np.zeros((days, aw.cp.n_rules, len(BY_RULE)))
        self.cost_issue = aw.cp.cost_per_point_issued
        self.cost_burn = aw.cp.cost_per_point_burned
        self.cohorts = CohortBook(
            len(aw), first_day, window_start + days - 1, COHORT_PERIOD_DAYS, runoff_periods
        )
        self._closed: tuple[pd.DataFrame, pd.DataFrame] | None = None
        self.books = SaleBooks(len(aw), first_day, window_start + days - 1)
        policy = aw.cp.policy
        self.terms = (policy.program.point_value * MICROS, policy.accounting.expected_redemption)
        self.positions: dict[int, Cohort] = {}

    def close(self) -> None:
        """The window has ended: keep what the window's metrics read from the members' state
        (the run-off after it moves on), and value the cohort book."""
        self._closed = (self._retention(), self._runs())
        self.cohorts.value()

    def follow(self, t: int, out: DayOutcome) -> None:
        """A run-off day: only the cohort book moves."""
        p = Postings.concat([c for r in out.results for c in r.posting_chunks])
        self.cohorts.post(t, p.member, p.src, p.dst, p.points)

    def record(self, t: int, out: DayOutcome) -> None:
        chunks = [c for r in out.results for c in r.posting_chunks]
        p = Postings.concat(chunks)
        flows = point_flows(p.src, p.dst)
        self.cohorts.post(t, p.member, p.src, p.dst, p.points, flows)
        booked = self._books(t, p, out, flows)
        i = t - self.window_start
        if i < 0:
            return
        for name, value in booked.items():
            self.daily[i, _COLS[name]] = value
        aw = self.aw
        ms, ps = aw.state.members, aw.state.program
        k = aw.joined
        pts, rule = p.points.astype(np.float64), p.rule
        n_rules = aw.cp.n_rules
        row = self.daily[i]
        for mask, col, slot in (
            (flows["points_issued"], "points_issued", 0),
            (flows["points_burned"], "points_burned", 1),
            (flows["points_expired"], "points_expired", 2),
            (flows["points_reversed"], "points_reversed", 3),
            (flows["points_released"], "points_released", -1),
            (flows["points_donated"], "points_donated", -1),
        ):
            row[_COLS[col]] = pts[mask].sum()
            if slot >= 0 and mask.any():
                self.by_rule[i, :, slot] += np.bincount(
                    rule[mask], weights=pts[mask], minlength=n_rules
                )
        cost = p.cost.astype(np.float64) / MICROS
        if len(cost):
            self.by_rule[i, :, 4] += np.bincount(rule, weights=cost, minlength=n_rules)
        points_cost = float(cost.sum())
        row[_COLS["points_cost"]] = points_cost
        row[_COLS["programme_cost"]] = (
            points_cost
            + self.cost_issue * row[_COLS["points_issued"]]
            + self.cost_burn * row[_COLS["points_burned"]]
        )
        pending = ms.acct[:, Account.PENDING]
        avail = ms.acct[:, Account.AVAILABLE]
        pend_sum, avail_sum = float(pending.sum()), float(avail.sum())
        row[_COLS["pending_points"]] = pend_sum
        row[_COLS["available_points"]] = avail_sum
        row[_COLS["outstanding_points"]] = pend_sum + avail_sum
        # most members hold the lowest tier: count the others only
        tier = ms.tier[:k]
        upper = np.flatnonzero(tier != 0)  # a bool scan: several times faster on int8
        upper_tier = tier[upper].astype(np.int64)
        counts = np.bincount(upper_tier, minlength=self.tiers.shape[1])
        counts[0] = k - len(upper)
        self.tiers[i] = counts
        # at each member's point value, as the journal values points and the ledger's day close
        row[_COLS["liability"]] = liability_micros(aw.cp, ms, ps.value_factor) / MICROS
        row[_COLS["value_factor"]] = ps.value_factor
        row[_COLS["day_index"]] = t - self.window_start
        row[_COLS["members"]] = k
        row[_COLS["new_members"]] = out.new_members
        row[_COLS["alive"]] = int(aw.alive[:k].sum())
        row[_COLS["churned"]] = out.churned
        last = aw.last_buy[:k]
        row[_COLS["active_members"]] = int((last == t).sum())
        row[_COLS["active_30d"]] = int((last > t - 30).sum())
        acted = aw.last_action[:k]
        row[_COLS["engaged_members"]] = int((acted == t).sum())
        row[_COLS["engaged_30d"]] = int((acted > t - 30).sum())
        row[_COLS["redeemers_30d"]] = int((aw.last_redeem[:k] > t - 30).sum())
        row[_COLS["orders"]] = out.orders
        row[_COLS["gmv"]] = out.gmv
        row[_COLS["incentive_gmv"]] = out.incentive_gmv
        row[_COLS["checkins"]] = out.checkins
        row[_COLS["actions"]] = out.actions
        row[_COLS["redemptions"]] = out.redemptions

    def _books(self, t: int, p: Postings, out: DayOutcome, flows: Flows) -> dict[str, float]:
        """The day into the IFRS 15 books (:class:`sim.accounting.books.SaleBooks`, as the
        ledger keeps them): what today's sales allocated to points, the contract liability at
        the end of the day, and the revenue recognised today (of which breakage)."""
        ev = out.events
        sale = np.full(len(p.member), -1, np.int64)
        amount = np.full(len(p.member), -1, np.int64)
        has = np.flatnonzero(p.event >= 0)
        if len(has):
            purchase = ev.kind[p.event[has]] == Kind.PURCHASE
            sale[has[purchase]] = p.event[has[purchase]]
            amount[has[purchase]] = ev.amount[p.event[has[purchase]]]
        value, share = self.terms
        books = self.books
        allocated = books.feed(t, p.member, p.src, p.dst, p.points, sale, amount, value, share)
        estimate = books.estimate_through(t)
        now = books.cohorts(share)
        recognised = breakage = reestimated = liability = 0
        for month, position in now.items():
            move = roll_forward(self.positions.get(month), position)
            recognised += move.revenue
            breakage += move.breakage
            reestimated += move.reestimation
            liability += move.closing
        self.positions = now
        return {
            "revenue_allocated": allocated / MICROS,
            "deferred_revenue": liability / MICROS,
            "revenue_recognised": recognised / MICROS,
            "breakage_recognised": breakage / MICROS,
            "revenue_reestimated": reestimated / MICROS,
            "expected_redemption_rate": estimate.rate if share is None else share,
            "redemption_rate_estimate": estimate.rate if estimate.from_history else np.nan,
        }

    def tables(
        self, keys: dict[str, object]
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """(daily, by_rule, retention, runs, cohorts) frames of this group, index columns
        ``keys`` (scenario, point, replication, group) prepended."""
        aw = self.aw
        days = pd.to_datetime([to_date(self.window_start + i) for i in range(self.days)]).astype(
            "datetime64[ns]"
        )
        daily = pd.DataFrame(self.daily, columns=[c.name for c in DAILY])
        ints = [c.name for c in DAILY if c.unit in ("members", "orders", "events", "points")]
        ints.append("day_index")
        daily[ints] = daily[ints].round().astype(np.int64)
        for j, name in enumerate(aw.cp.tier_names):
            daily[f"tier_{name}"] = self.tiers[:, j]
        daily.insert(0, "day", days)
        for pos, (key, value) in enumerate(keys.items()):
            daily.insert(pos, key, value)

        d_idx, r_idx = np.nonzero(np.abs(self.by_rule).sum(axis=2))
        by_rule = pd.DataFrame(self.by_rule[d_idx, r_idx], columns=[c.name for c in BY_RULE])
        for name in ("earned", "burned", "expired", "reversed"):
            by_rule[name] = by_rule[name].round().astype(np.int64)
        by_rule.insert(0, "channel", np.asarray(aw.cp.rule_channel, dtype=object)[r_idx])
        by_rule.insert(0, "rule", np.asarray(aw.cp.rule_ids, dtype=object)[r_idx])
        by_rule.insert(0, "day", days[d_idx])
        for pos, (key, value) in enumerate(keys.items()):
            by_rule.insert(pos, key, value)

        if self._closed is None:
            self.close()
        assert self._closed is not None
        retention, runs = (frame.copy() for frame in self._closed)
        for frame in (retention, runs):
            for pos, (key, value) in enumerate(keys.items()):
                frame.insert(pos, key, value)
        cohorts = self._cohort_frame()
        for pos, (key, value) in enumerate(keys.items()):
            cohorts.insert(pos, key, value)
        return daily, by_rule, retention, runs, cohorts

    def _runs(self) -> pd.DataFrame:
        """The run's row (without the key columns) from the members' state at the window end."""
        aw = self.aw
        k = aw.joined
        return pd.DataFrame(
            {
                "members": [k],
                "redeemers_window": [int((aw.last_redeem[:k] >= self.window_start).sum())],
                "buyers_window": [int((aw.orders_window[:k] > 0).sum())],
                "repeat_buyers_window": [int((aw.orders_window[:k] > 1).sum())],
                "churned_end": [int((~aw.alive[:k]).sum())],
                "window_days": [self.days],
                "margin_rate": [aw.cp.policy.cost.margin_rate],
                "point_value": [aw.cp.policy.program.point_value],
            }
        )

    def _cohort_frame(self) -> pd.DataFrame:
        """Each cohort's development, one row per age observed by the window's end and per
        run-off period after it."""
        book = self.cohorts
        k, periods = book.k, book.runoff_periods
        cohort, age = np.nonzero(
            np.arange(k + periods)[None, :] <= np.arange(k - 1, -1, -1)[:, None] + periods
        )
        frame = pd.DataFrame(
            {
                "cohort_start": pd.to_datetime(
                    [to_date(book.cohort_start(int(c))) for c in cohort]
                ).astype("datetime64[ns]"),
                "age": age.astype(np.int64),
            }
        )
        frame["runoff_period"] = np.maximum(cohort + age - (k - 1), 0).astype(np.int64)
        frame["issued"] = book.issued[cohort]
        for f, flow in enumerate(COHORT_FLOWS):
            frame[flow] = book.flows[f, cohort, age]
        held = book.at_end if book.at_end is not None else book.outstanding()
        frame["outstanding"] = held[cohort]
        assert list(frame.columns[2:]) == [c.name for c in COHORT]
        return frame

    def _retention(self) -> pd.DataFrame:
        """Share of members still buying at or after each age (a purchase on or after the day
        they reach it), ages counted from joining (or from the first simulated day for members
        who joined before it)."""
        aw = self.aw
        end = self.window_start + self.days - 1
        k = aw.joined
        ref = np.maximum(aw.pop.join_day[:k], self.first_day)
        age = end - ref
        span = np.maximum(aw.last_buy[:k] - ref, 0)
        rows = []
        for a in RETENTION_AGES:
            eligible = int((age >= a).sum())
            if eligible == 0:
                continue
            retained = int(((span >= a) & (age >= a)).sum()) / eligible
            rows.append((a, eligible, retained))
        frame = pd.DataFrame(rows, columns=["age_days", *[c.name for c in RETENTION]])
        frame["eligible"] = frame["eligible"].astype(np.int64)
        return frame

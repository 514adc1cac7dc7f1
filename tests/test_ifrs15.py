"""IFRS 15 for points: the standard's own worked example to the unit, and the roll forward's
identity for any sequence of positions."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from sim.accounting import Cohort, allocate, roll_forward
from sim.cli import main
from sim.ledger import EventIn, Ledger, LedgerError, NewMember
from sim.policy import load_policy

MICROS = 1_000_000


def units(micros: int) -> int:
    """Micros as whole currency units, rounded half up (the example's rounding)."""
    return int(np.floor(micros / MICROS + 0.5))


def test_illustrative_example_52_to_the_unit() -> None:
    """IFRS 15 IE267-IE270: a purchase of CU100,000 earns 10,000 points worth CU1 each, 95%
    expected to be redeemed (stand-alone price CU9,500): CU91,324 to the goods, CU8,676 to the
    points. Year 1: 4,500 points redeemed of 9,500 expected, revenue CU4,110 and a liability
    of CU4,566. Year 2: the expectation is revised to 9,700 and 8,500 have been redeemed in
    total: cumulative revenue CU7,603, CU3,493 in year 2, a liability of CU1,073."""
    amount = 100_000 * MICROS
    (points,) = allocate([amount], [10_000], MICROS, 0.95)
    assert (units(amount - int(points)), units(int(points))) == (91_324, 8_676)
    year1 = Cohort(int(points), 10_000, 4_500, 0.95 * 10_000)
    first = roll_forward(None, year1)
    assert units(first.allocated) == 8_676
    assert units(first.revenue) == 4_110 and units(first.closing) == 4_566
    year2 = Cohort(int(points), 10_000, 8_500, 9_700)
    second = roll_forward(year1, year2)
    assert units(year2.recognised()) == 7_603
    assert units(second.revenue) == 3_493 and units(second.closing) == 1_073
    assert second.opening == first.closing
    assert second.reestimation < 0  # more points expected: less revenue per point, caught up


def test_a_settled_cohort_recognises_what_is_left() -> None:
    x = allocate([50 * MICROS], [500], MICROS // 100, 0.8)[0]
    open_ = Cohort(int(x), 500, 100, 400)
    done = Cohort(int(x), 500, 300, 300, settled=True)  # the rest expired
    move = roll_forward(open_, done)
    assert move.closing == 0 and move.opening + move.allocated - move.revenue == 0


def test_allocation_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="expected_share"):
        allocate([1], [1], 1.0, 1.5)
    assert allocate([100, 0], [0, 5], 1.0, 1.0).tolist() == [0, 0]


@st.composite
def histories(draw: st.DrawFn) -> list[Cohort]:
    """A cohort's positions at successive reporting dates: allocation and issue growing (sales
    in its month), redemptions growing, the estimate moving, perhaps settled at the end."""
    issued = allocated = redeemed = 0
    out = []
    for _ in range(draw(st.integers(1, 6))):
        more = draw(st.integers(0, 10_000))
        issued += more
        allocated += int(allocate([draw(st.integers(0, 10**9))], [more], 1e4, 0.9)[0])
        redeemed += draw(st.integers(0, issued - redeemed))
        expected = draw(st.floats(float(redeemed), float(issued))) if issued else 0.0
        out.append(Cohort(allocated, issued, redeemed, expected))
    if draw(st.booleans()):
        last = out[-1]
        out.append(Cohort(last.allocated, last.issued, last.redeemed, last.redeemed, True))
    return out


@settings(max_examples=300, deadline=None)
@given(histories())
def test_allocated_is_recognised_plus_breakage_plus_the_closing_liability(
    history: list[Cohort],
) -> None:
    """For any history: each period's opening + allocated - revenue = closing, to the micro;
    over the whole life, allocated = redemptions + breakage + re-estimation + closing; no
    liability is negative; a settled cohort owes nothing."""
    before = None
    total = {"allocated": 0, "revenue": 0}
    for position in history:
        move = roll_forward(before, position)
        assert move.opening + move.allocated - move.revenue == move.closing
        assert move.closing >= 0
        total["allocated"] += move.allocated
        total["revenue"] += move.revenue
        before = position
    assert before is not None
    assert total["allocated"] == before.allocated
    assert total["allocated"] - total["revenue"] == before.liability()
    if before.settled:
        assert before.liability() == 0


IE52_POLICY = """
[program]
name = "ie52"
currency = "CNY"
point_value = 1.0

[earn.purchase]
kind = "purchase"
points_per_unit = 0.1

[burn.catalogue.gift]
name = "Gift"
kind = "goods"
category = "gift"
points = 500
cash_cost = 300.0
face_value = 500.0

[tiers.member]
threshold = 0

[expiry]
mode = "never"

[accounting]
expected_redemption = 0.95
"""


def test_illustrative_example_52_through_the_ledger(db_url: str, tmp_path: Path) -> None:
    """The same example as a ledger books it: one purchase of CU100,000 earning 10,000
    points, 4,500 redeemed in year 1 and 4,000 more in year 2; the books closed at the end of
    year 1 and the expectation revised to 97% at the end of year 2."""
    path = tmp_path / "ie52.toml"
    path.write_text(IE52_POLICY)
    led = Ledger.init(db_url, {"default": (load_policy(path), str(path))}, dt.date(2026, 1, 1))
    led.add_members([NewMember("ann")])
    bought = led.record([EventIn("ann", "purchase", amount=100_000 * MICROS, ref=1)])[0]
    assert bought.points == 10_000
    led.record([EventIn("ann", "redeem", name="gift", quantity=9)])
    led.eod(dt.date(2026, 12, 31))
    year1 = led.accounting(dt.date(2026, 12, 31), close=True)
    assert units(year1.total.allocated) == 8_676
    assert units(year1.total.revenue) == 4_110 and units(year1.total.closing) == 4_566
    led.record([EventIn("ann", "redeem", name="gift", quantity=8)])
    led.eod(dt.date(2027, 12, 31))
    year2 = led.accounting(dt.date(2027, 12, 31), estimate=0.97)
    assert year2.opened == dt.date(2026, 12, 31) and units(year2.total.opening) == 4_566
    assert units(year2.total.revenue) == 3_493 and units(year2.total.closing) == 1_073
    assert list(year2.cohorts) == ["2026-01"]
    # cost view: 1,200 more points expected (9,700 - 8,500) at the gifts' 0.6 CNY a point
    assert year2.cost_per_point == pytest.approx(0.6 * MICROS)
    assert units(year2.expected_cost) == 720
    out = CliRunner().invoke(
        main, ["ledger", "accounting", "--db", led.url, "--as-of", "2027-12-31",
               "--redemption-rate", "0.97", "--by-cohort"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "1073.294732" in out.output and "2026-01" in out.output
    assert "(expected redemption 97.0%: as given)" in out.output
    shown = CliRunner().invoke(
        main, ["ledger", "accounting", "--db", led.url, "--as-of", "2027-12-31", "--triangle"]
    )
    assert shown.exit_code == 0, shown.output
    assert "chain ladder of redemptions" in shown.output and "estimated ultimate" in shown.output
    assert "95.0%: the policy's [accounting] expected_redemption" in shown.output
    book = tmp_path / "journal.csv"
    wrote = CliRunner().invoke(
        main, ["ledger", "accounting", "--db", led.url, "--as-of", "2027-12-31",
               "--redemption-rate", "0.97", "--journal", str(book)],
    )  # fmt: skip
    assert wrote.exit_code == 0, wrote.output
    lines = pd.read_csv(book)
    assert lines["debit_micros"].sum() == lines["credit_micros"].sum()  # it balances
    revenue = lines[lines["account"].str.startswith("revenue")]
    net = revenue["credit_micros"].sum() - revenue["debit_micros"].sum()
    assert units(int(net)) == 3_493
    with pytest.raises(LedgerError, match="not closed yet"):
        led.accounting(dt.date(2028, 1, 5))
    assert led.audit() == []
    led.engine.dispose()


def test_the_simulations_books_roll_forward(tmp_path: Path) -> None:
    """A simulated year's books: opening + allocated - recognised = closing in every
    replication and group, breakage is part of the revenue, and with an expected redemption
    below 1 some revenue is breakage."""
    from sim.execute import summary_spec
    from sim.metrics.summary import replication_metrics
    from sim.runner import run_scenario
    from sim.scenario import load_scenario

    sc = load_scenario(
        "scenarios/double_points.toml",
        members=600,
        replications=2,
        sets=["horizon.runoff_days=0", "accounting.expected_redemption=0.8"],
    )
    per = replication_metrics(run_scenario(sc).tables, summary_spec(sc))
    roll = per["deferred_revenue_start"] + per["revenue_allocated"] - per["revenue_recognised"]
    np.testing.assert_allclose(roll, per["deferred_revenue_end"], atol=1e-6)
    assert (per["revenue_allocated"] > 0).all() and (per["breakage_recognised"] > 0).all()
    assert (per["breakage_recognised"] < per["revenue_recognised"]).all()


STREAM_POLICY = """
[program]
name = "stream"
currency = "CNY"
point_value = 0.5

[earn.purchase]
kind = "purchase"
points_per_unit = 1.0

[earn.checkin]
kind = "checkin"
streak_points = [7]

[burn.catalogue.gift]
name = "Gift"
kind = "goods"
category = "gift"
points = 300
cash_cost = 90.0
face_value = 150.0

[tiers.member]
threshold = 0

[expiry]
mode = "rolling"
months = 3

[refunds]
clawback = "cap_at_balance"
"""


@st.composite
def streams(draw: st.DrawFn) -> dict[str, object]:
    """A few members' months: purchases (and refunds of some), check-ins and redemptions,
    each followed by a day close some days on, and sometimes the accounting period closed
    with an estimate given (a finance team's revision) or the policy's."""
    share = draw(st.one_of(st.none(), st.floats(0.3, 1.0)))
    steps = []
    for _ in range(draw(st.integers(2, 7))):
        ops = draw(
            st.lists(
                st.tuples(
                    st.sampled_from(["purchase", "purchase", "refund", "checkin", "redeem"]),
                    st.integers(0, 2),
                    st.integers(1, 2_000),
                ),
                min_size=1,
                max_size=6,
            )
        )
        gap = draw(st.integers(1, 80))
        close = draw(st.one_of(st.none(), st.just("policy"), st.floats(0.2, 1.0)))
        steps.append((ops, gap, close))
    return {"share": share, "steps": steps}


@settings(max_examples=10, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(stream=streams())
def test_the_ledgers_books_balance_for_any_event_stream(
    stream: dict[str, object], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Through the ledger, for random events and accounting closes: every roll forward opens
    on the last close's closing, moves by opening + allocated - recognised = closing per
    cohort and in total, and over the whole history allocated = recognised (redemptions +
    re-estimation) + breakage + the closing liability, which stays within [0, allocated]."""
    folder = tmp_path_factory.mktemp("stream")
    text = STREAM_POLICY
    if stream["share"] is not None:
        text += f"\n[accounting]\nexpected_redemption = {stream['share']}\n"
    path = folder / "stream.toml"
    path.write_text(text)
    start = dt.date(2025, 11, 20)
    policies = {"default": (load_policy(path), str(path))}
    led = Ledger.init(f"sqlite:///{folder / 'l.db'}", policies, start)
    keys = ["ann", "bob", "cy"]
    led.add_members([NewMember(k) for k in keys])
    orders: list[tuple[str, int, int]] = []
    day, ref = start, 0
    allocated = revenue = breakage = 0
    last_close = 0
    steps = stream["steps"]
    assert isinstance(steps, list)
    for ops, gap, close in steps:
        for kind, who, size in ops:
            key = keys[who]
            if kind == "purchase":
                ref += 1
                out = led.record([EventIn(key, "purchase", amount=size * MICROS, ref=ref)])[0]
                orders.append((key, ref, out.points))
            elif kind == "refund" and orders:
                owner, order, earned = orders[size % len(orders)]
                half = earned // 2
                led.record([EventIn(owner, "refund", amount=MICROS, quantity=half, ref=order)])
            elif kind == "redeem":
                with contextlib.suppress(LedgerError):  # refused when too few points
                    led.record([EventIn(key, "redeem", name="gift", quantity=1 + size % 2)])
            elif kind == "checkin":
                led.record([EventIn(key, "checkin")])
        day += dt.timedelta(days=gap)
        led.eod(day)
        if close is None:
            continue
        estimate = None if close == "policy" else float(close)
        rep = led.accounting(day, estimate=estimate, close=True)
        assert rep.total.opening == last_close
        for move in (rep.total, *rep.cohorts.values()):
            assert move.opening + move.allocated - move.revenue == move.closing
            assert move.closing >= 0
        allocated += rep.total.allocated
        revenue += rep.total.redemptions + rep.total.reestimation
        breakage += rep.total.breakage
        last_close = rep.total.closing
        assert allocated == revenue + breakage + last_close
        assert 0 <= last_close <= allocated
    day += dt.timedelta(days=1)
    led.eod(day)
    final = led.accounting(day)
    assert final.total.opening == last_close
    assert allocated + final.total.allocated == (
        revenue + breakage + final.total.redemptions + final.total.reestimation
        + final.total.breakage + final.total.closing
    )  # fmt: skip
    assert led.audit() == []
    led.engine.dispose()

"""``pointsim calibrate fit``: buying behaviour fitted from a transaction history. The
simulator's own log (every loyalty effect off, so members buy by the baseline alone) gives
back the parameters it was simulated from within their standard errors; the scenario block
written loads into a scenario as it is; a shop's export with its own column names and a
segment column is fitted per segment; bad logs are refused with nothing written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sim.behaviour.params import Behaviour
from sim.cli import main
from sim.scenario import load_scenario
from sim.world.world import World

ROOT = Path(__file__).resolve().parent.parent
OFF = [f"behaviour.{m}.enabled=false" for m in Behaviour.model_fields]
CAL, HOLD = "2026-09-30", "2027-06-30"


@pytest.fixture(scope="module")
def world_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """78 weeks of 5,000 members who all join on the first day, buying by the CDNOW
    parameters (order values in CNY: currency_scale 5), with the members file beside."""
    sc = load_scenario(
        ROOT / "scenarios" / "ecommerce.toml",
        members=5_000,
        replications=1,
        days=546,
        sets=["horizon.runoff_days=0", "horizon.warmup_days=0", "population.tenure_days=0",
              "population.joins_per_day=0", *OFF],
    )  # fmt: skip
    run = World(sc, 0, export_events=True).run()
    assert run.events is not None and run.members is not None
    folder = tmp_path_factory.mktemp("log")
    run.events.to_csv(folder / "log.csv", index=False)
    run.members.to_csv(folder / "log.members.csv", index=False)
    return folder / "log.csv"


def _fit(args: list[str]) -> tuple[int, str]:
    out = CliRunner().invoke(main, ["calibrate", "fit", *args])
    return out.exit_code, out.output


def test_the_simulators_own_log_gives_back_its_parameters(world_log: Path, tmp_path: Path) -> None:
    out = tmp_path / "fit"
    code, text = _fit([str(world_log), "--calibration-end", CAL, "--holdout-end", HOLD,
                       "--out", str(out)])  # fmt: skip
    assert code == 0, text
    assert "5,000 members' joins" in text and "holdout bgnbd" in text
    table = pd.read_csv(out / "fitted.csv").set_index(["model", "parameter"])
    truth = {
        ("bgnbd", "r"): 0.243, ("bgnbd", "alpha"): 4.414, ("bgnbd", "a"): 0.793,
        ("bgnbd", "b"): 2.426, ("gammagamma", "p"): 6.25, ("gammagamma", "q"): 3.74,
        ("gammagamma", "gamma"): 15.44 * 5,  # order values x 5: the spend rate's scale x 5
    }  # fmt: skip
    for key, value in truth.items():
        est, se = table.loc[key, "estimate"], table.loc[key, "std_error"]
        assert abs(est - value) < 3 * se, (key, est, se, value)
    assert table["converged"].all()
    # the forecast of the holdout's repeat transactions is within 10% for BG/NBD
    report = (out / "calibration.html").read_text()
    assert "cumulative repeat transactions" in report and "data:image/png;base64," in report


def test_the_scenario_block_loads_as_it_is(world_log: Path, tmp_path: Path) -> None:
    out = tmp_path / "fit"
    code, text = _fit([str(world_log), "--calibration-end", CAL, "--out", str(out)])
    assert code == 0, text
    assert "no holdout tested the forecasts" in text
    block = (out / "segments.toml").read_text()
    source = (ROOT / "scenarios" / "ecommerce.toml").read_text()
    head, _, rest = source.partition("[population.segments.all]")
    tail = rest[rest.index("\n[", 1) :] if "\n[" in rest else ""
    path = tmp_path / "fitted.toml"
    path.write_text(head.replace('policy = "../', f'policy = "{ROOT}/') + block + tail)
    sc = load_scenario(path, members=100, replications=1)
    base = sc.spec.population.segments["all"].baseline
    assert base.r == pytest.approx(0.243, abs=0.03) and base.time_unit_days == 7.0
    assert base.currency_scale == 1.0


def _shop_log(path: Path, n: int = 400, seed: int = 1) -> None:
    """A shop's export: other column names, timestamps, two segments of different pace,
    unsorted, with a same-day second order."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        seg = "app" if i % 2 else "web"
        # heterogeneous members, as a BTYD model has them: a purchase rate a day and a
        # chance of leaving after each purchase, each drawn per member
        rate = rng.gamma(0.8, (0.08 if seg == "app" else 0.03) / 0.8)
        leave = rng.beta(1.0, 3.0)
        t = rng.integers(0, 60)
        while t < 500:
            stamp = pd.Timestamp("2025-01-01") + pd.Timedelta(
                days=int(t), hours=int(rng.integers(0, 24))
            )
            rows.append({"customer_id": f"c{i}", "order_ts": stamp.isoformat(),
                         "total": round(float(rng.gamma(5, 8)), 2), "channel": seg})  # fmt: skip
            t += max(1, int(rng.exponential(1 / rate)))
            if rng.random() < leave:
                break
    frame = pd.DataFrame(rows).sample(frac=1.0, random_state=seed)
    frame.loc[len(frame)] = {**frame.iloc[0].to_dict(), "total": 1.0}  # same day, another order
    frame.to_csv(path, index=False)


def test_a_shop_export_is_fitted_per_segment(tmp_path: Path) -> None:
    log = tmp_path / "orders.csv"
    _shop_log(log)
    out = tmp_path / "fit"
    code, text = _fit([str(log), "--member-col", "customer_id", "--date-col", "order_ts",
                       "--amount-col", "total", "--segment-col", "channel",
                       "--calibration-end", "2025-12-31", "--holdout-end", "2026-05-15",
                       "--out", str(out)])  # fmt: skip
    assert code == 0, text
    assert "not in time order: sorted" in text and "merged into that day's transaction" in text
    assert text.count("repeat buyers;") == 2
    block = (out / "segments.toml").read_text()
    assert "[population.segments.app]" in block and "[population.segments.web]" in block
    table = pd.read_csv(out / "fitted.csv")
    assert set(table["segment"]) == {"app", "web"}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


GOOD = "member,date,amount\n" + "".join(
    f"m{i},2025-0{1 + d % 9}-1{d % 9},{10 + d}\n" for i in range(20) for d in range(3)
)


@pytest.mark.parametrize(
    ("text", "args", "expected"),
    [
        ("member,date,amount\na,yesterday,5\n", [], "line 2: date 'yesterday', expected a date"),
        ("member,date,amount\na,2025-01-01,-5\n", [], "amount '-5', expected an amount above 0"),
        ("member,date,amount\na,2025-01-01,\n", [], "line 2: amount '', expected an amount"),
        ("member,date,amount\n,2025-01-01,4\n", [], "line 2: member '', expected a member id"),
        ("member,when,amount\na,2025-01-01,4\n", [], "no date column"),
        ("member,date,amount\na,2025-01-01,4\na,2025-01-01,4\n", [], "repeat an earlier row"),
        (GOOD, [], "fewer than the 30 needed to fit"),
        (GOOD, ["--calibration-end", "2030-01-01"], "outside the data"),
        (GOOD, ["--calibration-end", "2025-03-01", "--holdout-end", "2026-01-01"],
         "after the log's last day"),
        (GOOD, ["--amount-col", "price"], "no column 'price'"),
        (GOOD, ["--unit-days", "0"], "--unit-days 0"),
        (GOOD, ["--group", "control"], "only for a pointsim event log"),
    ],
)  # fmt: skip
def test_bad_logs_are_refused_with_nothing_written(
    text: str, args: list[str], expected: str, tmp_path: Path
) -> None:
    log = _write(tmp_path / "log.csv", text)
    out = tmp_path / "fit"
    code, output = _fit([str(log), *args, "--out", str(out)])
    assert code == 1 and expected in output, output
    assert not out.exists()


def test_files_that_are_not_what_they_claim(tmp_path: Path) -> None:
    out = tmp_path / "fit"
    binary = tmp_path / "log.parquet"
    binary.write_bytes(b"\x00\x01 not parquet at all")
    code, output = _fit([str(binary), "--out", str(out)])
    assert code == 1 and "cannot be read" in output
    code, output = _fit([str(tmp_path / "missing.csv"), "--out", str(out)])
    assert code == 1 and "no such file" in output
    code, output = _fit([str(tmp_path), "--out", str(out)])
    assert code != 0
    assert not out.exists()


def test_duplicates_can_be_dropped_and_are_said(tmp_path: Path) -> None:
    log = tmp_path / "orders.csv"
    _shop_log(log)
    frame = pd.read_csv(log)
    pd.concat([frame, frame.head(3)]).to_csv(log, index=False)
    args = [str(log), "--member-col", "customer_id", "--date-col", "order_ts",
            "--amount-col", "total", "--out", str(tmp_path / "fit")]  # fmt: skip
    code, output = _fit(args)
    assert code == 1 and "3 row(s) repeat an earlier row" in output
    code, output = _fit([*args, "--duplicates", "drop"])
    assert code == 0 and "3 row(s) repeating an earlier row exactly: dropped" in output


def test_a_log_of_several_groups_needs_one_chosen(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text(
        "group,day,member,kind,amount\ncontrol,2025-01-01,0,purchase,1000000\n"
        "treatment,2025-01-01,0,purchase,1000000\n"
    )
    code, output = _fit([str(log), "--out", str(tmp_path / "fit")])
    assert code == 1 and "choose one with --group" in output


def test_a_pareto_fit_that_runs_too_long_leaves_bgnbd_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Members who all buy at one pace and never leave drive Pareto/NBD where its likelihood
    needs numerical integration: past its time budget it is left out, said, and BG/NBD (what
    the simulator runs) is fitted alone."""
    import sim.calibrate.fit as fit_module

    monkeypatch.setattr(fit_module, "PARETO_SECONDS", 0.5)
    rng = np.random.default_rng(3)
    rows = [
        {"member": f"m{i}", "date": (pd.Timestamp("2025-01-01") + pd.Timedelta(days=int(d))).date(),
         "amount": 10.0}
        for i in range(200)
        for d in np.unique(np.cumsum(rng.exponential(12, 40)).astype(int))
        if d < 500
    ]  # fmt: skip
    log = tmp_path / "steady.csv"
    pd.DataFrame(rows).to_csv(log, index=False)
    code, text = _fit([str(log), "--calibration-end", "2025-12-31", "--out", str(tmp_path / "f")])
    assert code == 0, text
    assert "Pareto/NBD not fitted: Pareto/NBD:" in text and "within 0.5 s" in text
    assert "chosen bgnbd" in text

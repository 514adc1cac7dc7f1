"""Fitting members' buying behaviour from a transaction history (``pointsim calibrate fit``).

The log (:mod:`sim.calibrate.logs`: one transaction per member and day) is cut at the
calibration end; each customer's first purchase starts their clock and is not a repeat
transaction (Fader, Hardie & Lee 2005). Per segment, BG/NBD and Pareto/NBD are fitted to the
repeat transactions and Gamma-Gamma to the mean value of the repeat transactions
(:mod:`sim.calibrate.btyd`, maximum likelihood with standard errors). Time is in units of
``unit_days`` days (weeks by default, as the literature's CDNOW figures).

With a holdout (transactions after the calibration end up to ``holdout_end``) each model is
tested on what it did not see, as Fader, Hardie & Lee (2005) do: the cumulative repeat
transactions of the whole customer base week by week, actual against expected (their
figure 2); the mean holdout transactions by calibration frequency, actual against the
conditional expectation (their figure 4); and the error of each customer's forecast. The model
chosen is the one whose customer forecasts err least on the holdout; without a holdout, the
one with the higher likelihood (the two have as many parameters), which says less.

The simulator's members buy by BG/NBD (:mod:`sim.behaviour.baseline`), so the scenario
block written is the BG/NBD fit with the Gamma-Gamma spend, whichever model fits better; when
Pareto/NBD does, the block says so and by how much.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from sim.calibrate import btyd
from sim.calibrate.logs import CalibrationError, Transactions

F64 = npt.NDArray[np.float64]

__all__ = [
    "MIN_REPEAT_BUYERS",
    "Backtest",
    "FitResult",
    "SegmentFit",
    "fit_transactions",
]

MIN_REPEAT_BUYERS = 30
"""Fewer customers with a repeat purchase in a segment are refused: four parameters from so
few leave standard errors as large as the estimates (an assumption of this project)."""
FREQUENCY_CAP = 7
"""Calibration frequencies shown one by one up to this, then together ("7+", as FHL 2005)."""
EPOCH = dt.date(1970, 1, 1)
MODELS = ("bgnbd", "paretonbd")
MODEL_NAMES = {"bgnbd": "BG/NBD", "paretonbd": "Pareto/NBD"}
PARETO_SECONDS = 60.0
"""Time allowed to fit Pareto/NBD: where the data drive it towards no drop-out at all its
likelihood needs numerical integration and the search can take minutes; BG/NBD, which the
simulator runs, is then fitted alone and the report says why."""


def _date(day: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(day))


@dataclass(frozen=True)
class Backtest:
    """A segment's holdout test (module docstring)."""

    days: F64
    """Days since 1970-01-01 of the tracking points (one a time unit)."""
    actual: F64
    """Cumulative repeat transactions to each tracking point."""
    expected: dict[str, F64]
    """Per model, the expected cumulative repeat transactions."""
    by_frequency: pd.DataFrame
    """Per calibration frequency (``0`` .. ``7+``): customers, actual and predicted mean
    holdout transactions per model."""
    errors: pd.DataFrame
    """Per model: holdout transactions actual and expected, their error in %, and the mean
    absolute and root mean square error of each customer's forecast."""


@dataclass(frozen=True)
class SegmentFit:
    segment: str
    customers: int
    repeat_buyers: int
    fits: dict[str, btyd.Fit]
    spend: btyd.Fit | None
    spend_note: str
    chosen: str
    why: str
    backtest: Backtest | None
    frequency_spend_correlation: float
    """Between customers' repeat transactions and their mean value: Gamma-Gamma assumes
    independence (Fader & Hardie 2013); far from 0 the spend model is suspect."""


@dataclass(frozen=True)
class FitResult:
    source: str
    notes: list[str]
    unit_days: float
    calibration_end: int
    holdout_end: int | None
    segments: list[SegmentFit] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """One row per segment, model and parameter: estimate, standard error, and the
        model's log-likelihood, AIC, BIC, convergence, and whether it was chosen."""
        rows = []
        for seg in self.segments:
            for model, f in [
                *seg.fits.items(),
                *([("gammagamma", seg.spend)] if seg.spend else []),
            ]:
                assert f is not None
                for name, value, se in zip(f.names, f.params, f.std_errors, strict=True):
                    rows.append(
                        {
                            "segment": seg.segment,
                            "model": model,
                            "parameter": name,
                            "estimate": value,
                            "std_error": se,
                            "loglik": f.loglik,
                            "aic": f.aic,
                            "bic": f.bic,
                            "converged": f.converged,
                            "chosen": model == seg.chosen,
                            "time_unit_days": self.unit_days,
                        }
                    )
        return pd.DataFrame(rows)

    def scenario_toml(self) -> str:
        """The ``[population.segments.*]`` blocks of a scenario (BG/NBD and Gamma-Gamma), to
        paste in place of a scenario's segments; shares by customers."""
        total = sum(s.customers for s in self.segments)
        lines = [
            f"# Fitted by pointsim calibrate fit from {self.source}: calibration to "
            f"{_date(self.calibration_end)}, time unit {self.unit_days:g} days.",
            "# Members in the simulation buy by BG/NBD; order values by Gamma-Gamma, in the "
            "log's currency.",
        ]
        shares = [round(s.customers / total, 6) for s in self.segments]
        shares[-1] = round(1.0 - sum(shares[:-1]), 6)
        for seg, share in zip(self.segments, shares, strict=True):
            bg = seg.fits["bgnbd"]
            lines.append("")
            lines.append(
                f"# {seg.segment}: {seg.customers:,} customers, {seg.repeat_buyers:,} with a "
                f"repeat purchase; BG/NBD log-likelihood {bg.loglik:,.1f}."
            )
            if seg.chosen != "bgnbd":
                lines.append(f"# {MODEL_NAMES[seg.chosen]} fitted better: {seg.why}")
            values = {n: v for n, v in zip(bg.names, bg.params, strict=True)}
            if seg.spend is not None:
                values.update(zip(seg.spend.names, seg.spend.params, strict=True))
            else:
                lines.append(f"# no spend model: {seg.spend_note}; order values as the default")
            values["time_unit_days"] = self.unit_days
            values["currency_scale"] = 1.0
            body = ", ".join(f"{k} = {v:.6g}" for k, v in values.items())
            lines.append(f"[population.segments.{_key(seg.segment)}]")
            lines.append(f"share = {share:.6g}")
            lines.append(f"baseline = {{ {body} }}")
        return "\n".join(lines) + "\n"


def _key(name: str) -> str:
    """A segment name as a TOML key and a scenario identifier."""
    out = "".join(c if c.isalnum() or c == "_" else "_" for c in name.strip().lower())
    out = out.strip("_") or "segment"
    return out if out[0].isalpha() else f"s_{out}"


def fit_transactions(
    tx: Transactions,
    *,
    calibration_end: dt.date | None = None,
    holdout_end: dt.date | None = None,
    unit_days: float = 7.0,
) -> FitResult:
    """Fit every segment of ``tx`` (module docstring). ``calibration_end`` defaults to the
    log's last day (then there is no holdout)."""
    first, last = tx.first_day, tx.last_day
    if not (np.isfinite(unit_days) and 0 < unit_days <= 365):
        raise CalibrationError(f"--unit-days {unit_days}: expected a number of days in (0, 365]")
    cal = last if calibration_end is None else (calibration_end - EPOCH).days
    if not first < cal <= last:
        raise CalibrationError(
            f"--calibration-end {_date(cal)}: outside the data ({_date(first)} to "
            f"{_date(last)}); it must fall after the first day and on or before the last"
        )
    hold = None
    if holdout_end is not None:
        hold = (holdout_end - EPOCH).days
        if not cal < hold:
            raise CalibrationError(
                f"--holdout-end {holdout_end}: must be after --calibration-end {_date(cal)}"
            )
        if hold > last:
            raise CalibrationError(
                f"--holdout-end {holdout_end}: after the log's last day {_date(last)}; a holdout "
                "the data do not cover would count missing purchases as none"
            )
    result = FitResult(tx.source, list(tx.notes), unit_days, cal, hold)
    for segment, frame in tx.frame.groupby("segment", sort=True):
        result.segments.append(_fit_segment(str(segment), frame, cal, hold, unit_days))
    return result


def _fit_segment(
    segment: str, frame: pd.DataFrame, cal: int, hold: int | None, unit: float
) -> SegmentFit:
    member = frame["member"].to_numpy()
    day = frame["day"].to_numpy(np.float64)
    amount = frame["amount"].to_numpy(np.float64)
    where = f"segment {segment}" if segment != "all" else "the log"
    try:
        rfm = btyd.rfm_from_transactions(member, day, amount, float(cal), unit)
    except ValueError as err:
        raise CalibrationError(f"{where}: {err}") from None
    if rfm.repeat_buyers < MIN_REPEAT_BUYERS:
        raise CalibrationError(
            f"{where}: {rfm.repeat_buyers} customer(s) with a repeat purchase by the calibration "
            f"end {_date(cal)}, fewer than the {MIN_REPEAT_BUYERS} needed to fit (of "
            f"{rfm.n:,} customers): use a later --calibration-end or a longer log"
        )
    skipped = ""
    try:
        fits = {"bgnbd": btyd.fit_bgnbd(rfm)}
        try:
            fits["paretonbd"] = btyd.fit_paretonbd(rfm, max_seconds=PARETO_SECONDS)
        except btyd.FitTooSlow as err:
            skipped = f"Pareto/NBD not fitted: {err}"
    except ValueError as err:
        raise CalibrationError(f"{where}: {err}") from None
    spend, note = _spend(rfm)
    buyers = rfm.x > 0
    spends = np.asarray(rfm.m)[buyers]
    varied = buyers.sum() > 2 and np.ptp(spends) > 0 and np.ptp(rfm.x[buyers]) > 0
    corr = float(np.corrcoef(rfm.x[buyers], spends)[0, 1]) if varied else float("nan")
    backtest = _backtest(rfm, fits, member, day, cal, hold, unit) if hold is not None else None
    chosen, why = _choose(fits, backtest)
    if skipped:
        why = f"{why} ({skipped})"
    return SegmentFit(
        segment, rfm.n, rfm.repeat_buyers, fits, spend, note, chosen, why, backtest, corr
    )


def _spend(rfm: btyd.RFM) -> tuple[btyd.Fit | None, str]:
    try:
        fit = btyd.fit_gammagamma(rfm)
    except ValueError as err:
        return None, str(err)
    if fit.param("q") <= 1:
        return None, (
            f"Gamma-Gamma q = {fit.param('q'):.3g} <= 1: the mean order value is infinite under it"
        )
    return fit, ""


def _choose(fits: dict[str, btyd.Fit], bt: Backtest | None) -> tuple[str, str]:
    ok = {k: f for k, f in fits.items() if f.converged}
    if not ok:
        return "bgnbd", "no model converged (see the table); BG/NBD kept"
    if len(fits) == 1:
        return "bgnbd", "the only model fitted"
    if bt is not None:
        mae = bt.errors.set_index("model")["mae"]
        best = min(ok, key=lambda k: float(mae[k]))
        other = next((k for k in MODELS if k != best), best)
        return best, (
            f"each customer's holdout transactions forecast with mean absolute error "
            f"{mae[best]:.4f} against {mae[other]:.4f} for {MODEL_NAMES[other]}"
        )
    best = max(ok, key=lambda k: ok[k].loglik)
    other = next((k for k in MODELS if k != best), best)
    return best, (
        f"higher log-likelihood on the calibration data ({fits[best].loglik:,.1f} against "
        f"{fits[other].loglik:,.1f}, as many parameters); no holdout tested the forecasts"
    )


def _expected(model: str, t: F64, params: tuple[float, ...]) -> F64:
    fn = btyd.bgnbd_expected if model == "bgnbd" else btyd.paretonbd_expected
    out: F64 = np.asarray(fn(t, params), np.float64)
    return out


def _conditional(model: str, t: float, params: tuple[float, ...], rfm: btyd.RFM) -> F64:
    fn = btyd.bgnbd_conditional if model == "bgnbd" else btyd.paretonbd_conditional
    out: F64 = np.asarray(fn(t, params, rfm), np.float64)
    return out


def _backtest(
    rfm: btyd.RFM,
    fits: dict[str, btyd.Fit],
    member: npt.NDArray[np.object_],
    day: F64,
    cal: int,
    hold: int,
    unit: float,
) -> Backtest:
    assert rfm.customer is not None
    actual_holdout = btyd.holdout_counts(rfm, member, day, float(cal), float(hold)).astype(
        np.float64
    )
    # each calibration customer's first purchase, and every repeat purchase's day
    frame = pd.DataFrame({"member": member, "day": day})
    frame = frame[frame["member"].isin(set(rfm.customer.tolist()))]
    firsts = frame.groupby("member")["day"].min()
    repeat_days = np.sort(
        frame["day"].to_numpy()[frame.duplicated("member", keep="first").to_numpy()]
    )
    start = float(firsts.min())
    days = np.arange(start + unit, hold + unit, unit)
    days[-1] = min(days[-1], hold)
    actual = np.searchsorted(repeat_days, days, side="right").astype(np.float64)
    cohort, count = np.unique(firsts.to_numpy(), return_counts=True)
    expected = {}
    for model, f in fits.items():
        total = np.zeros(len(days))
        for d0, n in zip(cohort, count, strict=True):
            t = np.maximum(days - d0, 0.0) / unit
            total += n * _expected(model, t, f.params)
        expected[model] = total
    horizon = (hold - cal) / unit
    freq = np.minimum(rfm.x, FREQUENCY_CAP)
    table = pd.DataFrame({"x": freq, "actual": actual_holdout})
    errors = []
    for model, f in fits.items():
        pred = _conditional(model, horizon, f.params, rfm)
        table[model] = pred
        err = pred - actual_holdout
        total_actual, total_pred = float(actual_holdout.sum()), float(pred.sum())
        errors.append(
            {
                "model": model,
                "holdout_actual": total_actual,
                "holdout_expected": total_pred,
                "error_pct": 100 * (total_pred - total_actual) / total_actual
                if total_actual
                else float("nan"),
                "mae": float(np.abs(err).mean()),
                "rmse": float(np.sqrt((err**2).mean())),
            }
        )
    by = table.groupby("x").agg(
        customers=("actual", "size"),
        actual=("actual", "mean"),
        **{m: (m, "mean") for m in fits},
    )
    by.index = [f"{i}+" if i == FREQUENCY_CAP else str(i) for i in by.index]
    return Backtest(days, actual, expected, by, pd.DataFrame(errors))

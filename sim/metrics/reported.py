"""Reported vs simulated: each figure a scenario's source reports (``[meta.reported]``) beside
the simulated one computed with a matching definition, or the reason there is none.

A ``<name>_before`` figure is the programme's absence: the no-programme group
(``--no-programme``); ``<name>_after`` the programme's group; ``<name>_change`` the relative
change from one to the other, per replication on common random numbers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from sim.metrics.results import ReportedRow


@dataclass(frozen=True)
class Definition:
    """How a reported quantity is computed from a group's per-replication metrics."""

    text: str
    unit: str
    value: Callable[[pd.DataFrame], pd.Series]


def _metric(name: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda rows: rows[name]


DEFINITIONS: dict[str, Definition] = {
    "visits_per_month": Definition(
        "buying days per member a month (one visit a buyer a day): active_days_per_member_month",
        "days",
        _metric("active_days_per_member_month"),
    ),
    "active_days_per_month": Definition(
        "days with any action (purchase, check-in, share, redemption) per member a month: "
        "engaged_days_per_member_month",
        "days",
        _metric("engaged_days_per_member_month"),
    ),
    "repurchase_rate": Definition(
        "buyers in the window who bought again: repurchase_rate",
        "share",
        _metric("repurchase_rate"),
    ),
    "points_cost_share_of_gmv": Definition(
        "cash cost of redemptions / GMV: cost_ratio", "share", _metric("cost_ratio")
    ),
    "points_cost_share_of_revenue": Definition(
        "cash cost of redemptions / (GMV x the policy's cost.margin_rate): cost_ratio /"
        " margin_rate",
        "share",
        lambda rows: rows["cost_ratio"] / rows["margin_rate"],
    ),
}
"""Reported quantities the simulation can compute (by the name before ``_before``,
``_after`` or ``_change``, or whole)."""

NOT_SIMULATED: dict[str, str] = {
    "members_buying_more_often": "needs each member's orders with and without the programme",
    "member_share_of_sales": "the simulation has no sales to non-members",
    "new_member_acquisition_cost_change": "acquisition costs are not simulated",
    "social_exposure_change": "social exposure is not simulated",
    "daily_logins": "logins are counted with the other actions (the daily 'actions' column)",
    "course_completion": "course completion rates are not simulated",
    "aum_change": "assets under management are not simulated",
}
"""Reported quantities the simulation does not compute, with the reason."""


def _split(key: str) -> tuple[str, str]:
    for suffix in ("_before", "_after", "_change"):
        if key.endswith(suffix):
            return key.removesuffix(suffix), suffix[1:]
    return key, ""


def reported_rows(
    reported: Mapping[str, object],
    per_rep: pd.DataFrame,
    programme: str,
    no_programme: str | None,
    interval: Callable[[pd.Series], dict[str, float | int | None]],
) -> list[ReportedRow]:
    """A row per reported figure: the simulated value (mean and 95% interval over
    replications) of ``programme`` (or of ``no_programme`` for a ``_before`` figure), or why
    it is not given."""
    rows = []
    groups = set(per_rep.index.get_level_values("group"))
    for key, value in reported.items():
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        name, when = _split(key)
        row = {"key": key, "reported": float(value)}
        definition = DEFINITIONS.get(name)
        if definition is None:
            reason = NOT_SIMULATED.get(key) or NOT_SIMULATED.get(
                name, "no matching definition in the simulation"
            )
            rows.append(ReportedRow(**row, reason=reason))
            continue
        needs_none = when in ("before", "change")
        if needs_none and (no_programme is None or no_programme not in groups):
            rows.append(
                ReportedRow(
                    **row,
                    definition=definition.text,
                    reason="needs the no-programme group (run with --no-programme)",
                )
            )
            continue
        with_programme = definition.value(per_rep.xs(programme, level="group"))
        if when == "before":
            assert no_programme is not None
            values = definition.value(per_rep.xs(no_programme, level="group"))
        elif when == "change":
            assert no_programme is not None
            without = definition.value(per_rep.xs(no_programme, level="group"))
            values = with_programme / without - 1.0
        else:
            values = with_programme
        st = interval(values)
        unit = "share" if when == "change" else definition.unit
        rows.append(
            ReportedRow(
                **row,
                simulated=st["mean"],
                ci_low=st["ci_low"],
                ci_high=st["ci_high"],
                unit=unit,
                definition=definition.text
                + (" (relative change, programme against none)" if when == "change" else ""),
            )
        )
    return rows

"""Does a treatment pay for itself? ROI (with outstanding points) judged against break-even 1
with its 95% interval over replications, and, when the interval straddles 1, about how many
replications would decide."""

from __future__ import annotations

import math

from scipy import stats

from sim.metrics.results import Stat, Verdict
from sim.text import format_value

BREAK_EVEN = 1.0
MAX_REPLICATIONS = 10_000
"""Beyond this many replications the answer is "too close to break-even to decide"."""


def replications_to_decide(mean: float, sd: float, have: int) -> int | None:
    """The smallest number of replications whose 95% t-interval around ``mean`` (sample sd
    ``sd``) would exclude break-even, assuming the mean and sd stay as measured (None: more
    than :data:`MAX_REPLICATIONS`, or ``mean`` at break-even)."""
    gap = abs(mean - BREAK_EVEN)
    if gap == 0 or not math.isfinite(sd):
        return None
    if sd == 0:
        return have
    n = max(have, 2)
    while n <= MAX_REPLICATIONS:
        if float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n) < gap:
            return n
        # jump close to the normal-theory answer, then walk
        n = max(n + 1, min(int((1.96 * sd / gap) ** 2), MAX_REPLICATIONS + 1))
    return None


def roi_verdict(roi: Stat) -> Verdict | None:
    """The verdict on a treatment's ROI (None where ROI is undefined)."""
    if roi.mean is None:
        return None
    figure = f"ROI {format_value(roi.mean, 'ratio')}"
    if roi.ci_low is None or roi.ci_high is None or roi.sd is None:
        return Verdict(
            outcome="cannot_tell",
            text=f"Can't tell whether it pays for itself from one replication ({figure}, no"
            " interval): run several (--replications)",
        )
    interval = (
        f"{figure} (95% CI {format_value(roi.ci_low, 'ratio')} to"
        f" {format_value(roi.ci_high, 'ratio')})"
    )
    if roi.ci_low > BREAK_EVEN:
        return Verdict(outcome="pays", text=f"It pays for itself: {interval}, above break-even 1")
    if roi.ci_high < BREAK_EVEN:
        return Verdict(
            outcome="does_not_pay",
            text=f"It does not pay for itself: {interval}, below break-even 1",
        )
    need = replications_to_decide(roi.mean, roi.sd, roi.n)
    more = (
        f"about {need:,} replications would decide"
        if need is not None
        else "ROI is too close to break-even for more replications to decide"
    )
    return Verdict(
        outcome="cannot_tell",
        text=f"Can't tell at this size whether it pays for itself: {interval} straddles"
        f" break-even 1; {more}",
        replications_needed=need,
    )

"""What each lever does to the e-commerce economy with every mechanism at its default: twin
runs (same members, same random numbers) of the e-commerce programme against the same with one
lever changed, 20,000 members, 2 replications, one year after a 120-day warm-up.

    .venv/bin/python bench/lever_effects.py [--members N] [--replications R]

Prints one line a lever (GMV and orders against the programme as it is) and, last, a JSON
object of the figures. The twin scenarios are the stylised-facts tests' (tests/twin_helpers.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from stylised_helpers import faces_times, no_burn  # noqa: E402
from twin_helpers import relative_effect, run_twin, twin_file, window_totals  # noqa: E402

LEVERS: dict[str, dict[str, Any]] = {
    "earn_rate_x2": {"earn.purchase.points_per_unit": 2.0},
    "point_value_x2": {"program.point_value": 0.02},
    "catalogue_x2": faces_times(2.0),
    "catalogue_x0.5": faces_times(0.5),
    "expiry_3_months": {"expiry.months": 3},
    "no_redemption": no_burn(),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=20_000)
    ap.add_argument("--replications", type=int, default=2)
    args = ap.parse_args()
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, change in LEVERS.items():
            path = twin_file(
                Path(tmp),
                treatment=change,
                size=args.members,
                replications=args.replications,
                name=name.replace(".", "_"),
            )
            m = run_twin(path)
            fig = {"gmv": relative_effect(m, "gmv"), "orders": relative_effect(m, "orders")}
            expired, issued = window_totals(m, "points_expired"), window_totals(m, "points_issued")
            for group in ("control", "treatment"):
                fig[f"expired_share_{group}"] = float(expired[group].sum() / issued[group].sum())
            out[name] = fig
            print(
                f"{name}: GMV {fig['gmv']:+.2%}, orders {fig['orders']:+.2%}; points expired"
                f" / issued in the window {fig['expired_share_control']:.1%} ->"
                f" {fig['expired_share_treatment']:.1%}",
                flush=True,
            )
    print(json.dumps(out))


if __name__ == "__main__":
    main()

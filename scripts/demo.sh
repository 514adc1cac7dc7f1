#!/usr/bin/env bash
# Set up (if needed) and run the main job: simulate the default scenario (double points
# 1-11 November, control vs treatment on the same members) and write its report to
# reports/double_points/ (report.html, summary.json, metrics.parquet ...).
# Extra arguments go to `pointsim run`, e.g. `bash scripts/demo.sh --members 2000`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/pointsim run "$@"

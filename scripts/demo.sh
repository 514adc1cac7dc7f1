#!/usr/bin/env bash
# Set up (if needed) and run the main job. Until the simulated world lands this checks every
# policy and shows the default programme's rules; it becomes `pointsim run` next.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/pointsim policy check policies/*.toml
.venv/bin/pointsim policy show policies/ecommerce_double_points.toml

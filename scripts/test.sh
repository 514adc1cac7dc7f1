#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: lint, types, then pytest (slow tests too).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== ruff"; .venv/bin/ruff check sim tests bench
echo "== ruff format"; .venv/bin/ruff format --check sim tests bench
echo "== mypy"; .venv/bin/mypy
echo "== pytest"; .venv/bin/pytest -q -n auto "$@"   # one worker per core

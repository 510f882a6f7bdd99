#!/usr/bin/env bash
# Install into .venv and run every test: unit, integration (real Ray, SQLite, PostgreSQL,
# training on digits / Fashion-MNIST subsets) and browser tests (headless Chromium).
# Tests that need PostgreSQL or Chromium skip with a reason where those are missing,
# unless POOLNAS_REQUIRE_ALL=1 (CI), where a missing system part fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/python -m pytest -q -p no:cacheprovider --timeout=900 --durations=25 "$@"

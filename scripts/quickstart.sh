#!/usr/bin/env bash
# Install into .venv and run the main job: the `quickstart` preset (a TPE sweep over
# pooling, λ, M and R on scikit-learn's digits) into sqlite:///poolnas.db, ending with
# the best configuration and report.html.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/poolnas sweep quickstart --report report.html "$@"

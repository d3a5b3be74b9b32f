#!/usr/bin/env bash
# Set up with the test extras (first run only), check lint and format, run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh --test
. .venv/bin/activate
ruff check .
ruff format --check .
python -m pytest "$@"

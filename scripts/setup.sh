#!/usr/bin/env bash
# Creates .venv and installs paperchat into it. Safe to re-run: it skips what is there.
# Usage: bash scripts/setup.sh [--test]   (--test adds pytest, gradio_client, playwright, ruff
#                                          and Debian's chromium for the browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip

# The CPU build of torch must be in place before sentence-transformers asks for torch;
# an unpinned torch pulls several GB of CUDA packages.
if ! python -c "import torch" 2>/dev/null; then
  echo "installing torch (CPU build)..."
  python -m pip install --quiet "torch==2.13.0"
fi

if [ "${1:-}" = "--test" ]; then
  python -m pip install --quiet -e ".[test]"
  if [ ! -x /usr/bin/chromium ]; then
    echo "installing Debian's chromium for the browser tests..."
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
  fi
else
  python -m pip install --quiet -e .
fi

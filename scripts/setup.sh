#!/usr/bin/env bash
# Creates .venv and installs paperchat into it. A later run skips what is done: a stamp file in
# .venv holds a hash of pyproject.toml and of this script, and only when that changes (new
# dependencies, entry points, set-up steps) do pip and the torch check run again. The install
# is editable, so code changes need no re-install.
# Usage: bash scripts/setup.sh [--test]   (--test adds pytest, gradio_client, playwright, ruff
#                                          and Debian's chromium for the browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
TEST=""; [ "${1:-}" = "--test" ] && TEST=1
KEY="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)"
CORE_STAMP=.venv/.paperchat-setup
TEST_STAMP=.venv/.paperchat-setup-test

stamped() { [ -f "$1" ] && [ "$(cat "$1")" = "$KEY" ] && [ -x .venv/bin/paperchat ]; }

install_python_packages() {
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  . .venv/bin/activate
  rm -f "$CORE_STAMP" "$TEST_STAMP"  # an interrupted install must not look finished
  python -m pip install --quiet --upgrade pip
  # The CPU build of torch must be in place before sentence-transformers asks for torch;
  # an unpinned torch pulls several GB of CUDA packages.
  if ! python -c "import torch" 2>/dev/null; then
    echo "installing torch (CPU build)..."
    python -m pip install --quiet "torch==2.13.0"
  fi
  if [ -n "$TEST" ]; then
    python -m pip install --quiet -e ".[test]"
    echo "$KEY" >"$TEST_STAMP"
  else
    python -m pip install --quiet -e .
  fi
  echo "$KEY" >"$CORE_STAMP"  # the test extras include the core install
}

if [ -n "$TEST" ]; then
  stamped "$TEST_STAMP" || install_python_packages
  if [ ! -x /usr/bin/chromium ]; then
    echo "installing Debian's chromium for the browser tests..."
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
  fi
else
  stamped "$CORE_STAMP" || install_python_packages
fi

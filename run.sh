#!/usr/bin/env bash
# The demo: set up (first run only), index the sample dumps, print stats, open the chat UI.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
. .venv/bin/activate
export PAPERCHAT_HOME="${PAPERCHAT_HOME:-$PWD/.paperchat}"
paperchat index sample_data/dumps
paperchat stats
exec paperchat ui "$@"

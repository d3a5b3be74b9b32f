#!/usr/bin/env bash
# The demo: set up (first run only), index the sample dumps, print stats, open the chat UI.
# A second run skips what is done: scripts/setup.sh keeps a stamp of its last install, and
# `--if-changed` re-indexes only if the sample dumps differ from what the catalog recorded.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
. .venv/bin/activate
export PAPERCHAT_HOME="${PAPERCHAT_HOME:-$PWD/.paperchat}"
paperchat index sample_data/dumps --if-changed
paperchat stats
exec paperchat ui "$@"

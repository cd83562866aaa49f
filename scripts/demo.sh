#!/usr/bin/env bash
# Quickstart command 1: install what is needed, then run the main job end to end (discoverly demo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${DISCOVERLY_DATA_DIR:-}" ] && [ -d ../shared/data ]; then
  export DISCOVERLY_DATA_DIR="$(cd ../shared/data && pwd)"
fi
export HF_HUB_OFFLINE=1 OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
exec .venv/bin/discoverly demo "$@"

#!/usr/bin/env bash
# Quickstart command 2: install what is needed, then run the whole test suite (slow tests included).
# Extra arguments go to pytest, e.g. scripts/test.sh -m "not slow" -x
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Java for the Spark tests (installs Debian's runtime when missing; they skip, with the reason, if it cannot)
bash scripts/java.sh || echo "note: no Java 17+ could be installed; the Spark tests will be skipped" >&2
if [ -z "${DISCOVERLY_DATA_DIR:-}" ] && [ -d ../shared/data ]; then
  export DISCOVERLY_DATA_DIR="$(cd ../shared/data && pwd)"
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
exec .venv/bin/python -m pytest "$@"

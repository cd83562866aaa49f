#!/usr/bin/env bash
# Create .venv and install discoverly with every extra and the dev tools. Idempotent: re-runs only
# when pyproject.toml changed. torch is installed first, pinned to the CPU wheel this machine has,
# so that nothing pulls the CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${DISCOVERLY_VENV:-.venv}
stamp="$VENV/.discoverly-installed"
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  echo "installing torch (CPU) ..."
  "$VENV/bin/python" -m pip install -q "torch==2.13.0" 2>&1 | grep -v "is ignored" || true
fi
echo "installing discoverly[all,dev] ..."
"$VENV/bin/python" -m pip install -q -e ".[all,dev]" 2>&1 | grep -v "is ignored" | grep -v "^ *!!\|corresp\|^ *\*\*\*\|^ *$" || true
"$VENV/bin/python" -c "import discoverly, torch, implicit" >/dev/null
echo "$want" > "$stamp"

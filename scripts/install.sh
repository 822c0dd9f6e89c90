#!/usr/bin/env bash
# Create ./.venv and install iptvsync into it (with the dev tools when asked: --dev).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# The versions CI tested (constraints.txt); pyproject.toml holds the ranges.
if [ "${1:-}" = "--dev" ]; then
  .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev]"
else
  .venv/bin/python -m pip install --quiet -c constraints.txt -e .
fi

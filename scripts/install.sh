#!/usr/bin/env bash
# Create ./.venv and install iptvsync into it (with the dev tools when asked: --dev).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# The versions CI tested (constraints.txt); pyproject.toml holds the ranges. Bytecode is compiled
# after, on every core at once (pip compiles file by file: a third of a fresh install's time).
if [ "${1:-}" = "--dev" ]; then
  .venv/bin/python -m pip install --quiet --no-compile -c constraints.txt -e ".[dev]"
else
  .venv/bin/python -m pip install --quiet --no-compile -c constraints.txt -e .
fi
# src/ too: an editable install leaves the project's own modules there, and where
# PYTHONDONTWRITEBYTECODE is set (CI machines, some containers) every command would compile them
# again at its start (~30 ms of a sync's start-up; docs/benchmarks.md, session 19).
.venv/bin/python -m compileall -q -j 0 "$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" src >/dev/null || true

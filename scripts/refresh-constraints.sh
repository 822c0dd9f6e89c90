#!/usr/bin/env bash
# Re-resolve every dependency at its newest release allowed by pyproject.toml into a scratch
# venv and write the versions to constraints.txt. Run scripts/test.sh afterwards: commit the
# new file only when everything passes with it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$PYTHON" -m venv "$scratch/venv"
"$scratch/venv/bin/python" -m pip install --quiet --upgrade pip
"$scratch/venv/bin/python" -m pip install --quiet ".[dev]"
grep '^#' constraints.txt > "$scratch/constraints.txt"  # the header, whatever its length
"$scratch/venv/bin/python" -m pip freeze | grep -v -i '^iptvsync' >> "$scratch/constraints.txt"
mv "$scratch/constraints.txt" constraints.txt
echo "constraints.txt: $(grep -c '==' constraints.txt) pinned versions"

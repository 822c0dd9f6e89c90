#!/usr/bin/env bash
# Install everything the test suite needs and run it all: lint, types, tests (SQLite and
# PostgreSQL, fake providers on real sockets, the web page in a real Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

# PostgreSQL must answer at 127.0.0.1:5432 (trust auth, user postgres, database test).
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi

# Debian's Chromium for the browser tests (never a browser download of a test tool's own);
# ffmpeg/ffprobe for the fakes' media, the relay and the player tests; hdhomerun_config for the tuner tests.
if ! command -v chromium >/dev/null 2>&1 || ! command -v ffprobe >/dev/null 2>&1 \
  || ! command -v hdhomerun_config >/dev/null 2>&1; then
  echo "installing Chromium, ffmpeg, hdhomerun-config (apt-get)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium ffmpeg hdhomerun-config >/dev/null
fi

bash scripts/install.sh --dev
echo "== ruff"; .venv/bin/ruff check src tests bench
echo "== mypy"; .venv/bin/mypy

# Two pytest runs (tests/conftest.py says why): everything but the browser tests in parallel
# (pytest-xdist, IPTVSYNC_TEST_WORKERS processes), then the browser (e2e) and serial tests in
# one process. Both always run; the script fails when either does. Arguments go to both runs.
# --cov (first): line coverage of src/iptvsync over both runs, combined (pytest-cov).
COV_PARALLEL=()
COV_SERIAL=()
if [ "${1:-}" = "--cov" ]; then
  shift
  COV_PARALLEL=(--cov=src/iptvsync --cov-report=)
  COV_SERIAL=(--cov=src/iptvsync --cov-append --cov-report=term)
fi
WORKERS=${IPTVSYNC_TEST_WORKERS:-4}
PYTEST=(.venv/bin/pytest -q -p no:cacheprovider --durations=20)
echo "== pytest: in parallel ($WORKERS workers)"
parallel=0
"${PYTEST[@]}" -n "$WORKERS" --dist loadgroup -m "not e2e and not serial" \
  "${COV_PARALLEL[@]}" "$@" || parallel=$?
echo "== pytest: browser and serial tests"
serial=0
"${PYTEST[@]}" -m "e2e or serial" "${COV_SERIAL[@]}" "$@" || serial=$?
# 5 is "no test collected": fine for one run when arguments picked tests of the other only.
if [ "$parallel" = 5 ] && [ "$serial" != 5 ]; then parallel=0; fi
if [ "$serial" = 5 ] && [ "$parallel" = 0 ]; then serial=0; fi
if [ "$parallel" != 0 ]; then exit "$parallel"; fi
exit "$serial"

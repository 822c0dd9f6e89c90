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

# Three pytest runs (tests/conftest.py says why): everything but the browser and serial tests
# in parallel (pytest-xdist, IPTVSYNC_TEST_WORKERS processes); the browser (e2e) tests in
# parallel processes of their own (IPTVSYNC_TEST_E2E_WORKERS: a process that ran Playwright
# runs no asyncio test after it); then the serial tests (timing-sensitive or disturbing what
# others share) in one process. All always run; the script fails when any does. Arguments go
# to every run. --cov (first): line coverage of src/iptvsync over the three runs, combined.
COV_FIRST=()
COV_NEXT=()
COV_LAST=()
if [ "${1:-}" = "--cov" ]; then
  shift
  COV_FIRST=(--cov=src/iptvsync --cov-report=)
  COV_NEXT=(--cov=src/iptvsync --cov-append --cov-report=)
  COV_LAST=(--cov=src/iptvsync --cov-append --cov-report=term)
fi
WORKERS=${IPTVSYNC_TEST_WORKERS:-4}
E2E_WORKERS=${IPTVSYNC_TEST_E2E_WORKERS:-2}
PYTEST=(.venv/bin/pytest -q -p no:cacheprovider --durations=20)
status=()
run() {  # run NAME ARGS...: one pytest run; 5 ("no test collected") counts as passed
  local name=$1 rc=0
  shift
  echo "== pytest: $name"
  "${PYTEST[@]}" "$@" || rc=$?
  if [ "$rc" = 5 ]; then rc=0; fi
  status+=("$rc")
}
run "in parallel ($WORKERS workers)" -n "$WORKERS" --dist loadgroup \
  -m "not e2e and not serial" "${COV_FIRST[@]}" "$@"
run "browser tests ($E2E_WORKERS workers)" -n "$E2E_WORKERS" -m "e2e and not serial" \
  "${COV_NEXT[@]}" "$@"
run "serial tests" -m "serial" "${COV_LAST[@]}" "$@"
for rc in "${status[@]}"; do
  if [ "$rc" != 0 ]; then exit "$rc"; fi
done

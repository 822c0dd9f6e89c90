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
# The outputs of the runs that go side by side, each shown whole when it ends.
LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT
echo "== ruff"; .venv/bin/ruff check src tests bench
# mypy (one core, ~15 s cold) beside the tests: they wait on sockets and subprocesses much of
# the time, so it takes no longer there and its time leaves the critical path.
.venv/bin/mypy >"$LOGS/mypy" 2>&1 &
MYPY=$!

# Three pytest runs (tests/conftest.py says why): everything but the browser and serial tests
# in parallel (pytest-xdist, IPTVSYNC_TEST_WORKERS processes) and, beside it, the browser (e2e)
# tests in parallel processes of their own (IPTVSYNC_TEST_E2E_WORKERS: a process that ran
# Playwright runs no asyncio test after it); then the serial tests (timing-sensitive or
# disturbing what others share) in one process, alone. All always run; the script fails when
# any does. Arguments go to every run. --cov (first): line coverage of src/iptvsync over the
# three runs (a data file each), combined.
COV=0
if [ "${1:-}" = "--cov" ]; then
  shift
  COV=1
  rm -f .coverage .coverage.*
fi
WORKERS=${IPTVSYNC_TEST_WORKERS:-4}
# One browser worker: beside the parallel run the 2 cores are busy already, and a second one
# doubled the session fixtures (server, media, seeded providers) for no earlier end.
E2E_WORKERS=${IPTVSYNC_TEST_E2E_WORKERS:-1}
PYTEST=(.venv/bin/pytest -q -p no:cacheprovider --durations=20)
# Python writes no bytecode where PYTHONDONTWRITEBYTECODE is set (CI images often do): compile
# src/ and tests/ once, or every Python process the suite starts (xdist workers, servers, CLI
# runs) compiles them again.
.venv/bin/python -m compileall -q -j 0 src tests >/dev/null
status=()
run() {  # run NAME ARGS...: one pytest run (coverage data in .coverage.NAME); 5 ("no test
  # collected") counts as passed
  local data=$1 rc=0
  shift
  local cov=()
  if [ "$COV" = 1 ]; then cov=(--cov=src/iptvsync --cov-report=); fi
  COVERAGE_FILE=.coverage.$data "${PYTEST[@]}" "${cov[@]}" "$@" || rc=$?
  if [ "$rc" = 5 ]; then rc=0; fi
  return "$rc"
}
shown() {  # shown TITLE LOG PID: wait for a background run, show its output, record its status
  local rc=0
  wait "$3" || rc=$?
  echo "== $1"
  cat "$LOGS/$2"
  status+=("$rc")
}
run parallel -n "$WORKERS" --dist loadgroup -m "not e2e and not serial" "$@" \
  >"$LOGS/parallel" 2>&1 &
PARALLEL=$!
run e2e -n "$E2E_WORKERS" -m "e2e and not serial" "$@" >"$LOGS/e2e" 2>&1 &
E2E=$!
shown "pytest: browser tests ($E2E_WORKERS workers)" e2e "$E2E"
shown "pytest: in parallel ($WORKERS workers)" parallel "$PARALLEL"
echo "== pytest: serial tests"
rc=0
run serial -m "serial" "$@" || rc=$?
status+=("$rc")
shown mypy mypy "$MYPY"
if [ "$COV" = 1 ]; then
  .venv/bin/coverage combine -q .coverage.parallel .coverage.e2e .coverage.serial
  .venv/bin/coverage report
fi
for rc in "${status[@]}"; do
  if [ "$rc" != 0 ]; then exit "$rc"; fi
done

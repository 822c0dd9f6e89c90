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
echo "== pytest"; .venv/bin/pytest -q -p no:cacheprovider --durations=20 "$@"

#!/usr/bin/env bash
# Install iptvsync and run the demo: a fake Stalker portal is synced (progress bars in this
# terminal), then served at http://127.0.0.1:8000/ (open it in a browser). Ctrl-C stops it.
# Options go to `iptvsync demo` (--port 8080, --portal-port, --full-size; --help lists them).
# Data: ./data, or IPTVSYNC_DATA_DIR; the fake portal keeps its port per data dir.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/iptvsync demo "$@"

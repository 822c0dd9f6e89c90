"""Concurrent snapshot downloads and page queries while a sync runs: zero errors.

Runs bench/load.py on a small catalogue (a real ``iptvsync serve`` process, a fake portal in
another process, 8 concurrent clients for 3 s). The full-size figures are in
docs/benchmarks.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "load.py"


@pytest.mark.slow
@pytest.mark.both_backends
def test_load_while_syncing_has_no_errors(database_url: str) -> None:
    # At least 60 requests: 3 s alone held 41 on a loaded CI machine (4 test workers on 2 cores).
    args = [sys.executable, str(BENCH), "--seconds", "3", "--concurrency", "8"]
    args += ["--min-requests", "60"]
    args += ["--movies", "6000", "--series", "300", "--channels", "100"]
    args += ["--latency-ms", "20", "--capacity", "2"]
    if database_url.startswith("postgresql"):
        args += ["--database-url", database_url]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["errors"] == 0, result["error_samples"]
    assert result["requests"] >= 60
    assert result["sync_running_at_start_of_load"], "the load ran while a sync was writing"
    assert result["sync_status"] == "succeeded"
    assert set(result["latency_ms"]) == {
        "page",
        "search",
        "snapshot",
        "snapshot304",
        "snapshot_page",
    }

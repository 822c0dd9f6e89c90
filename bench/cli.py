"""CLI start-up: how long a command takes before it does anything. One JSON line per case.

- ``help``: wall time of ``iptvsync --help`` (target ≤ 0.4 s).
- ``provider_list``: wall time of ``iptvsync provider list`` on a migrated database.
- ``sync_first_request``: from starting ``iptvsync sync NAME`` to the first request the
  provider receives (target ≤ 0.8 s): a fake Stalker portal in this process notes the arrival
  of its first request (``time.monotonic`` is one clock for every process of the machine).
  The data dir is at the newest schema and holds the provider.
- ``sync_fresh_data_dir``: ``iptvsync sync NAME`` on an empty data dir, to its one-line error
  (every migration runs first; there is no provider to ask).

Each case runs ``--runs`` times and reports the median and the fastest, plus what
``python -X importtime`` says of one run: the total of the top-level imports and the five
heaviest. No case is a test: start-up times depend on the host (docs/benchmarks.md).

    .venv/bin/python bench/cli.py
    .venv/bin/python bench/cli.py --runs 9 --case help
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._seed import machine

from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.server import ServerThread
from iptvsync.fakes.stalker import DEFAULT_MAC, StalkerFakeConfig, create_app

CLI = str(Path(sys.executable).parent / "iptvsync")


def emit(case: str, **fields: Any) -> None:
    print(json.dumps({"bench": "cli", "case": case, **fields}), flush=True)


class FirstRequest:
    """ASGI wrapper that notes when the first HTTP request arrives."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.at: float | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.at is None:
            self.at = time.monotonic()
        await self.app(scope, receive, send)


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPTVSYNC_")}
    env["IPTVSYNC_DATA_DIR"] = str(data_dir)
    return env


def import_times(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """``python -X importtime -m iptvsync ARGS``: total of top-level imports, five heaviest."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "iptvsync", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    top: list[tuple[int, str]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|", 2)
        if not cumulative.strip().isdigit() or name.startswith("  "):
            continue  # the header, or an import made by another import
        top.append((int(cumulative), name.strip()))
    top.sort(reverse=True)
    return {
        "import_s": round(sum(us for us, _ in top) / 1e6, 3),
        "heaviest": [{"module": n, "s": round(us / 1e6, 3)} for us, n in top[:5]],
    }


def timed(runs: int, once: Callable[[], float]) -> dict[str, Any]:
    values = [once() for _ in range(runs)]
    return {
        "median_s": round(statistics.median(values), 3),
        "min_s": round(min(values), 3),
        "runs": runs,
    }


def wall(args: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    subprocess.run([CLI, *args], env=env, capture_output=True, check=True, timeout=300)
    return time.monotonic() - started


def case_help(runs: int, work: Path) -> None:
    env = _env(work / "help")
    emit("help", **timed(runs, lambda: wall(["--help"], env)), **import_times(["--help"], env))


def _add_provider(data_dir: Path, url: str) -> None:
    subprocess.run(
        [CLI, "provider", "add", "stalker", "--url", url, "--mac", DEFAULT_MAC, "--name", "b"],
        env=_env(data_dir),
        capture_output=True,
        check=True,
        timeout=300,
    )


def case_provider_list(runs: int, work: Path) -> None:
    data_dir = work / "list"
    _add_provider(data_dir, "http://127.0.0.1:9/c/")
    env = _env(data_dir)
    emit(
        "provider_list",
        **timed(runs, lambda: wall(["provider", "list"], env)),
        **import_times(["provider", "list"], env),
    )


def _sync_once(portal: FirstRequest, url: str, data_dir: Path, state: str) -> float:
    """One ``iptvsync sync``: seconds from its start to the portal's first request (``migrated``)
    or to its one-line error (``fresh``: no provider, every migration runs first)."""
    if state == "migrated":
        _add_provider(data_dir, url)
    portal.at = None
    started = time.monotonic()
    proc = subprocess.run(
        [CLI, "sync", "b", "--channels"], env=_env(data_dir), capture_output=True, timeout=300
    )
    if state == "fresh":
        assert proc.returncode == 2, proc.stderr
        return time.monotonic() - started
    assert proc.returncode == 0 and portal.at is not None, proc.stderr
    return portal.at - started


def case_sync_first_request(runs: int, work: Path) -> None:
    catalogue = generate(seed=1, movies=50, series=10, channels=10)
    portal = FirstRequest(create_app(catalogue, StalkerFakeConfig()))
    with ServerThread(portal) as server:
        url = f"{server.url}/c/"
        for state, name in (("migrated", "sync_first_request"), ("fresh", "sync_fresh_data_dir")):
            dirs = iter(work / f"sync-{state}-{i}" for i in range(runs))
            figures = timed(runs, lambda s=state, d=dirs: _sync_once(portal, url, next(d), s))
            data_dir = work / f"importtime-{state}"
            if state == "migrated":
                _add_provider(data_dir, url)
            emit(name, **figures, **import_times(["sync", "b", "--channels"], _env(data_dir)))


CASES = {
    "help": case_help,
    "provider_list": case_provider_list,
    "sync_first_request": case_sync_first_request,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--case", choices=sorted(CASES), action="append")
    args = parser.parse_args()
    emit("machine", **machine(), load_1m=round(os.getloadavg()[0], 2))
    with tempfile.TemporaryDirectory(prefix="iptvsync-bench-cli-") as tmp:
        for name in args.case or list(CASES):
            CASES[name](args.runs, Path(tmp))


if __name__ == "__main__":
    main()

"""A whole CLI sync's CPU in instructions, not seconds: ``iptvsync sync`` of the fake Stalker
portal run under valgrind's callgrind, which counts every instruction the CLI's process and its
write process execute (the fake portal runs apart, uncounted).

Seconds on a shared two-core host drift by ±20 % within minutes (docs/benchmarks.md), so a
change worth 2 % of the client's CPU is lost in any wall-clock pair; the instruction count of
the same run is the same to ~1 % in the CLI's process (its event loop turns as the answers
come) and to ~0.01 % in the write process. It is the figure for a change that only trims CPU;
whether the trim reaches the wall is ``sync_stalker.py``'s to say. Under callgrind a sync runs
~50× slower, so the catalogue is small (default 6,000 movies, 1,500 series, 300 channels: about
a minute and a half), at 0 ms latency, without the guide; ``--guide`` syncs the portal's 3-day
guide too (with ``--channels 1000``, ~57k programmes, decoded in the write process as a large
guide is: ``sync/guide_sink.py``), and the line says ``"guide": true``.

One JSON line: items, and for the CLI's process (``main``) and the write process (``child``)
the instructions in all and per item, and those of a first load's index build (``indexes``);
``main_start`` is the CLI's imports alone (the modules a sync loads, in a fresh interpreter),
so ``(main - main_start) / items`` is the walk's and the snapshot's share per item. Needs
``valgrind`` (Debian's package).

    PYTHONPATH=<checkout>/src .venv/bin/python bench/sync_instructions.py [--movies N ...]
"""

from __future__ import annotations

import argparse
import glob
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sync_stalker import _fake, cli_provider, warm_portal

#: What ``iptvsync sync`` imports before its first request (the start's share).
SYNC_IMPORTS = (
    "import iptvsync.cli, iptvsync.sync.service, iptvsync.sync.engine, "
    "iptvsync.providers.stalker.client, iptvsync.snapshot.build"
)


def callgrind(argv: list[str], env: dict[str, str], out: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--trace-children=yes",
            f"--callgrind-out-file={out}.%p",
            "--dump-instr=no",
            "--collect-jumps=no",
            *argv,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def role(cmd: str) -> str:
    """Which of a sync's processes a callgrind file's ``cmd:`` line names: the write process
    (``child``), a first load's index build (``indexes``: ``store/index_build.py``, since
    session 18), else the CLI's own (``main``)."""
    if "write_child" in cmd:
        return "child"
    if "index_build" in cmd:
        return "indexes"
    return "main"


def totals(out: str) -> dict[str, int]:
    """Instructions of each process a callgrind run wrote, by ``role``. Each role is one
    process; the index build's once went under ``main`` too, and whichever file was read last
    was the CLI's count (one run of two read 0.34 G for the CLI's 4.6 G)."""
    found: dict[str, int] = {}
    for path in glob.glob(f"{out}.*"):
        text = Path(path).read_text(errors="replace")
        cmd = next((line for line in text.splitlines() if line.startswith("cmd:")), "")
        total = next(
            int(line.split()[1]) for line in text.splitlines() if line.startswith("totals:")
        )
        name = role(cmd)
        found[name] = found.get(name, 0) + total
    return found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--movies", type=int, default=6000)
    ap.add_argument("--series", type=int, default=1500)
    ap.add_argument("--channels", type=int, default=300)
    ap.add_argument("--guide", action="store_true")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    args.family, args.guide_prerendered, args.warm_portal = "stock", False, True
    items = args.movies + args.series + args.channels
    with (
        tempfile.TemporaryDirectory() as tmp,
        _fake(args, {"latency_ms": 0.0, "capacity": None}) as portal,
    ):
        # The catalogue alone unless asked: the guide has benchmarks of its own.
        env = cli_provider(portal.url, tmp, guide=args.guide)
        warm_portal(portal.url, args)
        started = time.perf_counter()
        ran = callgrind([sys.executable, "-m", "iptvsync", "sync", "b"], env, f"{tmp}/sync")
        wall = time.perf_counter() - started
        if ran.returncode != 0:
            raise SystemExit(f"the sync failed under valgrind: {ran.stderr[-800:]}")
        counted = totals(f"{tmp}/sync")
        callgrind([sys.executable, "-c", SYNC_IMPORTS], env, f"{tmp}/start")
        start = totals(f"{tmp}/start").get("main", 0)
    line: dict[str, Any] = {
        "bench": "sync_instructions",
        "items": items,
        "guide": args.guide,
        "main": counted.get("main"),
        "child": counted.get("child"),
        "indexes": counted.get("indexes"),
        "main_start": start,
        "main_per_item": round((counted.get("main", 0) - start) / items),
        "child_per_item": round(counted.get("child", 0) / items),
        "wall_under_valgrind_s": round(wall, 1),
    }
    print(json.dumps(line))


if __name__ == "__main__":
    main()

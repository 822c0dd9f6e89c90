"""Player outputs at size: 100k channels and a 200 MB guide, streamed with flat memory.

Seeds a database through the engine's write path (``bench/_seed.py``: 100k channels; the guide
through ``sync.guide.store_guide``), starts ``iptvsync`` in its own process (uvicorn), downloads
each output to nowhere and samples the server's RSS every 20 ms while it does. One JSON line per
output: bytes, seconds, MB/s, the server's RSS before (after a warm-up request) and its peak
during the download.

    .venv/bin/python bench/outputs.py                          # 100k channels, ~200 MB guide
    .venv/bin/python bench/outputs.py --channels 10000 --guide-mb 20   # a small run to compare
    .venv/bin/python bench/outputs.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._seed import seed_catalogue

from iptvsync.records import ProgrammeRecord
from iptvsync.store.db import create_db_engine
from iptvsync.store.migrate import upgrade
from iptvsync.store.models import channels
from iptvsync.sync.guide import store_guide

#: One programme as our XMLTV writes it is ~560 bytes with this description.
DESCRIPTION = (
    "An evening of news, weather and sport from around the country, with interviews, live "
    "reports from our correspondents and a look at tomorrow's papers & headlines. Presented "
    "by the usual team; subtitles available. Followed by the late film on most regions."
)
PROGRAMME_BYTES = 560


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _guide(keys: list[str], count: int, now: datetime) -> AsyncIterator[ProgrammeRecord]:
    per_key = max(1, -(-count // len(keys)))
    made = 0
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    for key in keys:
        for i in range(per_key):
            if made >= count:
                return
            begin = start + timedelta(minutes=30 * i)
            yield ProgrammeRecord(
                key,
                begin,
                begin + timedelta(minutes=30),
                f"Programme {i} on {key}",
                subtitle=f"Part {i % 3 + 1}",
                description=DESCRIPTION,
                category="News",
                episode=f"S01E{i % 20 + 1:02d}",
            )
            made += 1


def seed(url: str, n_channels: int, guide_mb: int) -> dict[str, Any]:
    engine = create_db_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    provider_id = seed_catalogue(engine, movies=0, series=0, channels=n_channels)
    with engine.connect() as conn:
        keys = sorted(
            {
                k
                for k in conn.execute(
                    sa.select(channels.c.epg_id).where(channels.c.provider_id == provider_id)
                ).scalars()
                if k
            }
        )
    count = guide_mb * 1_000_000 // PROGRAMME_BYTES
    stored = asyncio.run(
        store_guide(
            engine,
            provider_id,
            _guide(keys, count, datetime.now(UTC)),
            (timedelta(hours=6), timedelta(days=365)),
        )
    )
    engine.dispose()
    return {
        "case": "seed",
        "channels": n_channels,
        "guide_channels": len(keys),
        "programmes": stored,
        "seconds": round(time.perf_counter() - started, 1),
    }


class RssSampler:
    """Peak RSS of a process, sampled in a thread."""

    def __init__(self, pid: int, every_s: float = 0.02) -> None:
        self.proc = psutil.Process(pid)
        self.every_s = every_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.every_s)

    def __enter__(self) -> RssSampler:
        self.peak = self.proc.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def measure(base: str, pid: int, name: str, path: str) -> dict[str, Any]:
    proc = psutil.Process(pid)
    before = proc.memory_info().rss
    size = 0
    started = time.perf_counter()
    with RssSampler(pid) as rss, httpx.stream("GET", base + path, timeout=600) as answer:
        answer.raise_for_status()
        for chunk in answer.iter_raw(1 << 16):
            size += len(chunk)
    seconds = time.perf_counter() - started
    return {
        "case": name,
        "path": path,
        "bytes": size,
        "seconds": round(seconds, 2),
        "mb_per_s": round(size / 1e6 / seconds, 1),
        "rss_before_mb": round(before / 2**20, 1),
        "rss_peak_mb": round(rss.peak / 2**20, 1),
        "rss_growth_mb": round((rss.peak - before) / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=100_000)
    parser.add_argument("--guide-mb", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="iptvsync-bench-") as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        print(json.dumps(seed(url, args.channels, args.guide_mb)), flush=True)
        port = free_port()
        env = {
            **os.environ,
            "IPTVSYNC_DATABASE_URL": url,
            "IPTVSYNC_DATA_DIR": tmp,
            "IPTVSYNC_SCHEDULER": "false",
        }
        env.pop("IPTVSYNC_ADMIN_TOKEN", None)
        server = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "--factory", "iptvsync.app:app_factory",
                "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
            ],
            env=env,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("server did not start")
                time.sleep(0.2)
            # Warm-up: imports, pools and caches are paid for before the first measurement.
            httpx.get(base + "/player_api.php?username=u&password=p&action=get_live_categories")
            httpx.get(base + "/playlist.m3u?provider=999")
            cases = [
                ("playlist.m3u", "/playlist.m3u"),
                ("get.php", "/get.php?username=u&password=p&type=m3u_plus&output=ts"),
                (
                    "get_live_streams",
                    "/player_api.php?username=u&password=p&action=get_live_streams",
                ),
                ("xmltv.xml", "/xmltv.xml"),
                ("xmltv.xml.gz", "/xmltv.xml.gz"),
            ]
            for name, path in cases:
                print(json.dumps(measure(base, server.pid, name, path)), flush=True)
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()

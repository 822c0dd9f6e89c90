"""The relay under fan-out: one 8 Mbit/s upstream shared by 50 viewers over loopback.

Three processes: the fake M3U provider (its live TS paced at 1,000,000 bytes/s), the iptvsync
app (uvicorn, relay mode, one provider connection) and this one, whose 50 viewers read as fast
as they can over raw sockets for ``--seconds``. Measured:

- ``relay_cpu_pct``: the app's CPU time over the window, % of one core (psutil);
- ``ttfb_upstream_ms``: time to the first byte straight from the fake;
  ``ttfb_cold_ms``: through iptvsync for the first viewer (link, slot, upstream opened);
  ``ttfb_join_ms_p50``/``p95``/``max``: for viewers joining the running upstream (one every
  ``--stagger-ms``; 0 makes all 49 arrive at once);
  ``added_ttfb_ms``: the cold path's TTFB minus the upstream's; ``added_join_ttfb_ms_p50``/
  ``p95``: a joining viewer's TTFB minus the upstream's;
- ``join_cpu_ms``: the app's CPU time while the viewers joined (their requests, the slot
  writes, the streaming to those already in) per joining viewer;
- ``per_viewer_kb``: (app RSS with 50 viewers − with 1) / 49;
- ``stalls``: gaps over 1 s between two reads of any viewer; ``min_viewer_rate_bps``.

One JSON line.

    .venv/bin/python bench/relay.py                 # 50 viewers, 30 s
    .venv/bin/python bench/relay.py --viewers 10 --seconds 5
    .venv/bin/python bench/relay.py --users         # 50 output users (user slots checked)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from iptvsync.api.play import user_kind
from iptvsync.api.signing import play_path, sign, sign_play_url
from iptvsync.fakes.server import free_port
from iptvsync.settings import Settings

RATE_BPS = 1_000_000  # 8 Mbit/s
SECRET = "bench-relay-secret-long-enough-key"
ADMIN = "bench-admin-token-long-enough-24"


def serve_fake(port: int) -> None:
    """Child mode: the fake M3U provider with its live stream paced at RATE_BPS."""
    import uvicorn

    from iptvsync.fakes.catalogue import generate
    from iptvsync.fakes.server import create_fake_app

    app = create_fake_app("m3u", generate(seed=1, channels=6, movies=0, series=0))
    app.state.media.rate_bps = RATE_BPS
    app.state.media.burst_s = 0.5
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


class Viewer:
    def __init__(self) -> None:
        self.ttfb_s: float | None = None
        self.bytes = 0
        self.max_gap_s = 0.0
        self.last = 0.0

    async def run(self, url: str, until: float) -> None:
        parts = urlsplit(url)
        start = time.monotonic()
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        writer.write(f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode())
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")
        try:
            while time.monotonic() < until:
                chunk = await reader.read(256 * 1024)
                now = time.monotonic()
                if not chunk:
                    break
                if self.ttfb_s is None:
                    self.ttfb_s = now - start
                elif now - self.last > self.max_gap_s:
                    self.max_gap_s = now - self.last
                self.last = now
                self.bytes += len(chunk)
        finally:
            writer.close()


async def first_byte(url: str) -> float:
    """Milliseconds to the first body byte of ``url`` (a fresh connection)."""
    parts = urlsplit(url)
    start = time.monotonic()
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    writer.write(f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        await reader.readline()  # the chunk size line
    await reader.read(1)
    elapsed = time.monotonic() - start
    writer.close()
    return elapsed * 1000


def _pct(values: list[float], pct: float) -> float:
    """The ``pct``-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


async def measure(
    play: str | list[str],
    warm: str,
    direct: str,
    app: psutil.Process,
    viewers: int,
    seconds: float,
    stagger_s: float,
) -> dict[str, Any]:
    upstream = [await first_byte(direct) for _ in range(5)]
    first_ever = await first_byte(warm)  # the app's first play: lazy set-up included
    await asyncio.sleep(2)  # that channel's upstream closes
    urls = play if isinstance(play, list) else [play] * viewers
    cold = [await first_byte(urls[0])]
    await asyncio.sleep(2)
    cold.append(await first_byte(urls[0]))
    await asyncio.sleep(2)
    first = Viewer()
    horizon = time.monotonic() + seconds + 60
    tasks = [asyncio.create_task(first.run(urls[0], horizon))]
    while first.ttfb_s is None:
        await asyncio.sleep(0.01)
    await asyncio.sleep(1)
    rss_one = app.memory_info().rss
    others = [Viewer() for _ in range(viewers - 1)]
    cpu_join0 = app.cpu_times()
    for v, url in zip(others, urls[1:], strict=True):  # ``stagger_s`` apart, as people do
        tasks.append(asyncio.create_task(v.run(url, horizon)))
        await asyncio.sleep(stagger_s)
    while any(v.ttfb_s is None for v in others):
        await asyncio.sleep(0.01)
    cpu_join1 = app.cpu_times()
    join_cpu = (cpu_join1.user + cpu_join1.system) - (cpu_join0.user + cpu_join0.system)
    await asyncio.sleep(2)  # settle, then the window
    everyone = [first, *others]
    for v in everyone:
        v.max_gap_s = 0.0
    start_bytes = sum(v.bytes for v in everyone)
    per_start = [v.bytes for v in everyone]
    cpu0 = app.cpu_times()
    t0 = time.monotonic()
    await asyncio.sleep(seconds)
    cpu1 = app.cpu_times()
    elapsed = time.monotonic() - t0
    rss_all = app.memory_info().rss
    rates = [(v.bytes - b) / elapsed for v, b in zip(everyone, per_start, strict=True)]
    stalls = sum(1 for v in everyone if v.max_gap_s > 1.0)
    total = sum(v.bytes for v in everyone) - start_bytes
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    cpu = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    joins = [v.ttfb_s * 1000 for v in others if v.ttfb_s is not None]
    return {
        "viewers": viewers,
        "as": "users" if isinstance(play, list) else "admin",
        "stagger_ms": round(stagger_s * 1000),
        "seconds": round(elapsed, 1),
        "upstream_bps": RATE_BPS,
        "relay_cpu_pct": round(100 * cpu / elapsed, 1),
        "ttfb_upstream_ms": round(statistics.median(upstream), 1),
        "ttfb_cold_ms": round((first.ttfb_s or 0) * 1000, 1),
        "ttfb_join_ms_p50": round(statistics.median(joins), 1) if joins else None,
        "ttfb_join_ms_p95": round(_pct(joins, 95), 1) if joins else None,
        "ttfb_join_ms_max": round(max(joins), 1) if joins else None,
        "added_join_ttfb_ms_p50": round(statistics.median(joins) - statistics.median(upstream), 1)
        if joins
        else None,
        "added_join_ttfb_ms_p95": round(_pct(joins, 95) - statistics.median(upstream), 1)
        if joins
        else None,
        "join_cpu_ms": round(1000 * join_cpu / max(1, viewers - 1), 2),
        "ttfb_first_play_ms": round(first_ever, 1),
        "ttfb_cold_open_ms": [round(c, 1) for c in cold],
        "added_ttfb_ms": round(max(cold) - statistics.median(upstream), 1),
        "per_viewer_kb": round((rss_all - rss_one) / max(1, viewers - 1) / 1024, 1),
        "app_rss_mb": round(rss_all / 2**20, 1),
        "stalls": stalls,
        "min_viewer_rate_bps": round(min(rates)),
        "delivered_mb_s": round(total / elapsed / 2**20, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--stagger-ms", type=float, default=50.0, help="0: all join at once")
    parser.add_argument(
        "--users", action="store_true",
        help="each viewer an output user of its own (its user slot checked), not the admin",
    )  # fmt: skip
    parser.add_argument("--serve-fake", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake:
        serve_fake(args.serve_fake)
        return
    with tempfile.TemporaryDirectory(prefix="bench-relay-") as tmp:
        fake_port, app_port = free_port(), free_port()
        env = {
            **os.environ,
            "IPTVSYNC_DATA_DIR": tmp,
            "IPTVSYNC_SECRET_KEY": SECRET,
            "IPTVSYNC_ADMIN_TOKEN": ADMIN,
            "IPTVSYNC_SCHEDULER": "false",
        }
        procs = [
            subprocess.Popen([sys.executable, __file__, "--serve-fake", str(fake_port)], env=env),
            subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", "iptvsync.app:app_factory",
                 "--host", "127.0.0.1", "--port", str(app_port), "--log-level", "warning",
                 "--no-access-log"],
                env=env,
            ),
        ]  # fmt: skip
        try:
            fake = f"http://127.0.0.1:{fake_port}"
            base = f"http://127.0.0.1:{app_port}"
            wait_http(f"{fake}/_media/stats")
            wait_http(f"{base}/healthz")
            result = asyncio.run(setup_and_measure(fake, base, tmp, procs[1].pid, args))
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(10)
    print(json.dumps(result), flush=True)


async def setup_and_measure(
    fake: str, base: str, tmp: str, app_pid: int, args: Any
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as api:
        created = await api.post(
            "/api/providers",
            json={"name": "bench", "kind": "m3u", "url": f"{fake}/playlist.m3u",
                  "options": {"play_mode": "relay"}},
        )  # fmt: skip
        created.raise_for_status()
        pid = created.json()["id"]
        run = (await api.post(f"/api/providers/{pid}/sync")).json()["run_id"]
        while (await api.get(f"/api/sync-runs/{run}")).json()["status"] in ("queued", "running"):
            await asyncio.sleep(0.1)
    engine = sa.create_engine(f"sqlite:///{tmp}/iptvsync.db")
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT id, cmd FROM channels WHERE provider_id = ? ORDER BY id", (pid,)
        ).all()
    channel, other = [i for i, cmd in rows if cmd and cmd.split("?")[0].endswith(".ts")][:2]
    settings = Settings(secret_key=SECRET, admin_token=ADMIN)  # type: ignore[arg-type]
    play: str | list[str] = sign_play_url(settings, pid, "channel", channel, base_url=base)
    if args.users:
        # Imported here, not at the top: bench/relay_ab.sh runs this script on an older
        # checkout's src (594d4c6 and before keep users in outputs/users.py), which the default
        # admin case needs nothing of.
        from iptvsync.store.users import create_user

        play = []
        with engine.begin() as conn:
            for n in range(args.viewers):
                uid = create_user(conn, f"viewer{n}", "bench-password", all_providers=True)
                sig = sign(settings, pid, user_kind("channel", uid), channel)
                play.append(f"{base}{play_path(pid, 'channel', channel)}?u={uid}&sig={sig}")
    engine.dispose()
    warm = sign_play_url(settings, pid, "channel", other, base_url=base)
    return await measure(play, warm, f"{fake}/_asset/stream.ts", psutil.Process(app_pid),
                         args.viewers, args.seconds, args.stagger_ms / 1000)  # fmt: skip


if __name__ == "__main__":
    main()

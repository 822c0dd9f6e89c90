"""Wrong passwords under load: is the server still responsive, and does a name leak by timing?

Starts ``iptvsync serve`` (admin token set, one output user, the failed-login throttle out of the
way so every wrong password costs a real scrypt) and prints two JSON lines:

- ``timing``: median answer time of a wrong password for a known and for unknown user names
  (``--samples`` each, interleaved);
- ``flood``: ``--requests`` wrong Basic passwords on ``--connections`` connections (half on
  ``/api/providers``, half on a play link) while a thread asks ``/healthz`` every 50 ms: the
  flood's duration and status codes, ``/healthz`` median and p95, the server's RSS growth.

    .venv/bin/python bench/logins.py                       # 400 requests, 16 connections
    .venv/bin/python bench/logins.py --queue 8             # a small queue of password checks
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from iptvsync.store.db import create_db_engine
from iptvsync.store.migrate import upgrade
from iptvsync.store.users import create_user

TOKEN = "bench-admin-token-0123456789abcdef"
USER, PASSWORD = "viewer", "viewer-password-1"


def basic(username: str, password: str) -> dict[str, str]:
    return {
        "Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    }


def start(data: Path, queue: int) -> tuple[subprocess.Popen[bytes], str]:
    engine = create_db_engine(f"sqlite:///{(data / 'iptvsync.db').as_posix()}")
    upgrade(engine)
    with engine.begin() as conn:
        create_user(conn, USER, PASSWORD, all_providers=True)
    engine.dispose()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "IPTVSYNC_DATA_DIR": str(data),
        "IPTVSYNC_SCHEDULER": "false",
        "IPTVSYNC_ADMIN_TOKEN": TOKEN,
        "IPTVSYNC_LOGIN_FAILURES_PER_ADDRESS": "1000000",
        "IPTVSYNC_LOGIN_FAILURES_PER_USER": "1000000",
        "IPTVSYNC_PASSWORD_HASH_QUEUE": str(queue),
    }
    env.pop("IPTVSYNC_DATABASE_URL", None)
    args = [sys.executable, "-m", "iptvsync", "serve", "--port", str(port)]
    proc = subprocess.Popen(args, env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/healthz").status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("iptvsync serve did not start")


def timing(url: str, samples: int) -> dict[str, Any]:
    known: list[float] = []
    unknown: list[float] = []
    with httpx.Client(timeout=60) as client:
        for i in range(samples):
            for name, out in ((USER, known), (f"nobody-{i}", unknown)):
                started = time.perf_counter()
                client.get(url + "/api/providers", headers=basic(name, "wrong-password"))
                out.append((time.perf_counter() - started) * 1000)
    k, u = statistics.median(known), statistics.median(unknown)
    return {"case": "timing", "known_ms": round(k, 1), "unknown_ms": round(u, 1)}


def flood(url: str, pid: int, requests: int, connections: int) -> dict[str, Any]:
    process = psutil.Process(pid)
    baseline = process.memory_info().rss
    latencies: list[float] = []
    rss: list[int] = [baseline]
    stop = threading.Event()

    def sample() -> None:
        with httpx.Client(timeout=60) as client:
            while not stop.is_set():
                started = time.perf_counter()
                client.get(url + "/healthz")
                latencies.append((time.perf_counter() - started) * 1000)
                rss.append(process.memory_info().rss)
                stop.wait(0.05)

    async def wrong_passwords() -> list[int]:
        codes: list[int] = []
        todo = iter(range(requests))
        limits = httpx.Limits(max_connections=connections)
        async with httpx.AsyncClient(timeout=120, limits=limits) as client:

            async def worker() -> None:
                for i in todo:
                    path = "/api/providers/1/play/channel/1" if i % 2 else "/api/providers"
                    r = await client.get(url + path, headers=basic(USER, f"wrong-{i}"))
                    codes.append(r.status_code)

            await asyncio.gather(*(worker() for _ in range(connections)))
        return codes

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.monotonic()
    codes = asyncio.run(wrong_passwords())
    seconds = time.monotonic() - started
    stop.set()
    sampler.join()
    latencies.sort()
    return {
        "case": "flood",
        "seconds": round(seconds, 1),
        "codes": {str(c): codes.count(c) for c in sorted(set(codes))},
        "healthz_median_ms": round(statistics.median(latencies), 1),
        "healthz_p95_ms": round(latencies[max(0, int(len(latencies) * 0.95) - 1)], 1),
        "healthz_samples": len(latencies),
        "rss_growth_mb": round((max(rss) - baseline) / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--queue", type=int, default=64, help="IPTVSYNC_PASSWORD_HASH_QUEUE")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start(Path(tmp) / "data", args.queue)
        try:
            print(json.dumps(timing(url, args.samples)), flush=True)
            print(json.dumps(flood(url, proc.pid, args.requests, args.connections)), flush=True)
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()

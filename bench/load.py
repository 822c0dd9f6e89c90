"""Load while a sync runs: concurrent snapshot downloads and page queries against a real
``iptvsync serve`` process, while that server syncs a fake portal (another process).

Prints one JSON line: requests, errors, and latency percentiles per request type.

    .venv/bin/python bench/load.py [--seconds 20] [--concurrency 16] [--movies N ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from typing import Any

import httpx

from iptvsync.fakes.server import ServerProcess, free_port

MAC = "00:1A:79:12:34:56"
WORDS = ["the", "love", "night", "war", "star", "city", "man", "blue", "dark", "last"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


async def wait_run(http: httpx.AsyncClient, base: str, pid: int) -> dict[str, Any]:
    while True:
        state = (await http.get(f"{base}/api/providers/{pid}/sync")).json()
        if state["running"] is None and state["last_runs"]:
            return state["last_runs"][0]  # type: ignore[no-any-return]
        await asyncio.sleep(0.5)


async def hammer(
    base: str, pid: int, seconds: float, concurrency: int, min_requests: int = 0
) -> tuple[dict[str, list[float]], list[str]]:
    """``concurrency`` clients for ``seconds``, and on until ``min_requests`` were made (at
    most 60 s more): on a loaded machine a fixed time can hold too few requests to say
    anything (the test's case)."""
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    deadline = time.monotonic() + seconds
    hard_stop = deadline + 60
    made = 0
    limits = httpx.Limits(max_connections=concurrency)

    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        etag = (await http.get(f"/api/providers/{pid}/snapshot")).headers.get("etag", "")

        async def one(rng: random.Random) -> None:
            kind = rng.choice(["snapshot", "snapshot304", "page", "snapshot_page", "search"])
            headers: dict[str, str] = {"Accept-Encoding": "br, gzip"}
            if kind == "snapshot":
                url = f"/api/providers/{pid}/snapshot"
            elif kind == "snapshot304":
                url, headers["If-None-Match"] = f"/api/providers/{pid}/snapshot", etag
            elif kind == "page":
                url = f"/api/providers/{pid}/movies?page={rng.randint(1, 200)}&limit=50"
            elif kind == "snapshot_page":
                url = f"/api/providers/{pid}/snapshot?kind=movies&page={rng.randint(1, 100)}"
            else:
                url = f"/api/search?q={rng.choice(WORDS)}"
            started = time.perf_counter()
            try:
                async with http.stream("GET", url, headers=headers) as answer:
                    async for _ in answer.aiter_raw():
                        pass
                    if answer.status_code not in (200, 304):
                        errors.append(f"{kind}: {answer.status_code}")
            except httpx.HTTPError as exc:
                errors.append(f"{kind}: {type(exc).__name__}")
            latencies[kind].append((time.perf_counter() - started) * 1000)

        def more() -> bool:
            now = time.monotonic()
            return now < deadline or (made < min_requests and now < hard_stop)

        async def worker(n: int) -> None:
            nonlocal made
            rng = random.Random(n)
            while more():
                made += 1
                await one(rng)

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return latencies, errors


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        ServerProcess(
            "stalker",
            movies=args.movies,
            series=args.series,
            channels=args.channels,
            latency_ms=args.latency_ms,
        ) as portal,
    ):
        port = free_port()
        env = {**os.environ, "IPTVSYNC_DATA_DIR": tmp, "IPTVSYNC_DATABASE_URL": ""}
        env.pop("IPTVSYNC_ADMIN_TOKEN", None)
        if args.database_url:
            env["IPTVSYNC_DATABASE_URL"] = args.database_url
        else:
            env.pop("IPTVSYNC_DATABASE_URL")
        server = subprocess.Popen(  # noqa: ASYNC220 - started once, before the timed part
            [sys.executable, "-m", "iptvsync", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            await wait_http(f"{base}/healthz")
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                created = await http.post(
                    "/api/providers",
                    json={"name": "load", "kind": "stalker", "url": f"{portal.url}/c/", "mac": MAC},
                )
                pid = created.json()["id"]
                await http.post(f"/api/providers/{pid}/sync")
                first = await wait_run(http, base, pid)
                assert first["status"] == "succeeded", first
                # The load runs while a full re-walk of the portal is in progress.
                await http.post(f"/api/providers/{pid}/sync", json={"scope": "all", "mode": "full"})
                running_at_start = (await http.get(f"/api/providers/{pid}/sync")).json()[
                    "running"
                ] is not None
            started = time.perf_counter()
            latencies, errors = await hammer(
                base, pid, args.seconds, args.concurrency, args.min_requests
            )
            elapsed = time.perf_counter() - started
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                state = (await http.get(f"/api/providers/{pid}/sync")).json()
                still_running = state["running"] is not None
                second = await wait_run(http, base, pid)
        finally:
            server.terminate()
            server.wait(15)
    total = sum(len(v) for v in latencies.values())
    return {
        "bench": "load",
        "database": "postgresql" if args.database_url else "sqlite",
        "seconds": round(elapsed, 1),
        "concurrency": args.concurrency,
        "requests": total,
        "rps": round(total / elapsed, 1),
        "errors": len(errors),
        "error_samples": errors[:5],
        "sync_running_at_start_of_load": running_at_start,
        "sync_running_at_end_of_load": still_running,
        "sync_status": second["status"],
        "latency_ms": {
            kind: {
                "n": len(v),
                "p50": round(statistics.median(v), 1),
                "p95": round(percentile(v, 0.95), 1),
                "p99": round(percentile(v, 0.99), 1),
            }
            for kind, v in sorted(latencies.items())
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--min-requests", type=int, default=0, help="go on past --seconds until this many"
    )
    parser.add_argument("--movies", type=int, default=64_106)
    parser.add_argument("--series", type=int, default=19_076)
    parser.add_argument("--channels", type=int, default=5_000)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--capacity", type=int, default=None)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main_async(args))), flush=True)


if __name__ == "__main__":
    main()

"""Client CPU per provider request: the provider HTTP layer's page fast path (``lean.py``), the
same layer through aiohttp, and httpx + httpcore.

The fake Stalker portal runs in its own process; this process sends ``--requests`` page
requests (a ``get_ordered_list`` page, ~10 KB of JSON), ``--concurrency`` in flight, through
each stack, and prints one JSON line per stack with its CPU milliseconds per request (this
process only) and requests per second. The reasons ``providers/http.py`` is built on aiohttp
and reads pages on its own fast path (docs/providers.md, "The provider HTTP layer").

    .venv/bin/python bench/http_stack.py [--requests 3000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable

import httpx

from iptvsync.fakes.server import ServerProcess
from iptvsync.providers.http import build_http_client

PAGE = "/portal.php?type=vod&action=get_ordered_list&category=*&p={p}&JsHttpRequest=1-xml"


async def _drive(fetch: Callable[[str], Awaitable[int]], base: str, n: int, width: int) -> None:
    queue = iter(range(n))

    async def worker() -> None:
        for i in queue:
            status = await fetch(base + PAGE.format(p=1 + i % 50))
            assert status == 200, status

    await asyncio.gather(*(worker() for _ in range(width)))


#: The provider HTTP layer's two paths for ``get_small`` (``lean_pages``).
STACKS = {"lean (providers/lean.py)": True, "aiohttp (providers/http.py)": False}
MAC_COOKIE = {"Cookie": "mac=00:1A:79:00:00:01"}


def session_headers(base: str) -> dict[str, str]:
    """Handshake and profile (the fake binds the token to the MAC): real pages, not errors."""
    api = f"{base}/portal.php"
    shake = httpx.get(
        f"{api}?type=stb&action=handshake&token=&prehash=0&JsHttpRequest=1-xml", headers=MAC_COOKIE
    ).json()
    headers = {**MAC_COOKIE, "Authorization": f"Bearer {shake['js']['token']}"}
    httpx.get(f"{api}?type=stb&action=get_profile&JsHttpRequest=1-xml", headers=headers)
    return headers


async def measure(
    name: str, base: str, n: int, width: int, headers: dict[str, str]
) -> dict[str, object]:
    if name in STACKS:
        http = build_http_client(timeout_s=30, lean_pages=STACKS[name])

        async def fetch(url: str) -> int:
            reply = await http.get_small(url, headers=headers)
            assert len(reply.content) > 1000, reply.content[:200]
            return reply.status_code

        close = http.aclose
    else:
        client = httpx.AsyncClient(
            timeout=30, limits=httpx.Limits(max_connections=64), trust_env=False
        )

        async def fetch(url: str) -> int:
            response = await client.get(url, headers=headers)
            assert len(response.content) > 1000, response.content[:200]
            return response.status_code

        close = client.aclose
    await _drive(fetch, base, 200, width)  # warm up: connections, caches
    cpu, wall = time.process_time(), time.perf_counter()
    await _drive(fetch, base, n, width)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await close()
    return {
        "bench": "http_stack",
        "stack": name,
        "requests": n,
        "concurrency": width,
        "cpu_ms_per_request": round(cpu * 1000 / n, 3),
        "requests_per_s": round(n / wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with ServerProcess(
        "stalker", movies=2000, series=100, channels=100, family="reseller"
    ) as portal:
        headers = session_headers(portal.url)
        for _ in range(args.rounds):
            for name in (*STACKS, "httpx + httpcore"):
                line = asyncio.run(
                    measure(name, portal.url, args.requests, args.concurrency, headers)
                )
                print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()

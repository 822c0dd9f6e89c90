"""A hostile provider: any fake (Stalker, Xtream, M3U) with one kind of its requests turned
into an attack on the syncing server. A real HTTP server, as the other fakes.

``HostileProvider(inner_app, kind)`` is an ASGI app. While ``config.mode`` is ``off`` it passes
everything to the inner fake; otherwise the *target* requests (Stalker: the VOD pages; Xtream:
``get_vod_streams``; M3U: the playlist) are answered as the mode says:

    gzip_bomb          a small gzip body that inflates to ``bomb_bytes``
    endless_body       a 200 body that never ends
    huge_length        ``Content-Length: 2 GB``, then bytes until the client gives up
    endless_json       ``{"1": {"k0": "v", "k1": "v", ...`` forever (one endless row)
    slowloris          one byte every ``drip_interval_s``, forever
    redirect_loop      302 to itself
    redirect_internal  302 to ``internal_url`` (loopback: tests stand this server on a
                       "public" address, see ``provider_public_networks``)
    tvg_file / tvg_fifo / tvg_internal
                       the M3U playlist as usual, its header naming ``file://local_path`` or
                       ``internal_url`` as ``x-tvg-url``
    rate_limit         every request over ``rate_per_s`` answered 429 with ``Retry-After``

``internal_app(secret)`` is the "internal service" the attacks aim at: it counts its hits and
serves ``secret`` (as text and inside an XMLTV guide), so a test can assert it never leaks.
docs/reliability.md, "Hostile providers".
"""

from __future__ import annotations

import asyncio
import threading
import time
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route


class Mode(StrEnum):
    OFF = "off"
    GZIP_BOMB = "gzip_bomb"
    ENDLESS_BODY = "endless_body"
    HUGE_LENGTH = "huge_length"
    ENDLESS_JSON = "endless_json"
    SLOWLORIS = "slowloris"
    REDIRECT_LOOP = "redirect_loop"
    REDIRECT_INTERNAL = "redirect_internal"
    TVG_FILE = "tvg_file"
    TVG_FIFO = "tvg_fifo"
    TVG_INTERNAL = "tvg_internal"
    RATE_LIMIT = "rate_limit"


TVG_MODES = frozenset({Mode.TVG_FILE, Mode.TVG_FIFO, Mode.TVG_INTERNAL})


@dataclass
class HostileConfig:
    mode: Mode = Mode.OFF
    internal_url: str = ""
    local_path: str = ""
    bomb_bytes: int = 1536 * 2**20  # 1.5 GiB inflated, ~1.5 MB on the wire
    drip_interval_s: float = 0.5
    rate_per_s: float = 2.0
    retry_after_s: float = 1.0


@dataclass
class HostileStats:
    requests: int = 0
    attacks: int = 0
    throttled: int = 0
    served: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class HostileProvider:
    def __init__(self, inner: Any, kind: str, config: HostileConfig | None = None) -> None:
        self.inner = inner
        self.kind = kind
        self.config = config or HostileConfig()
        self.stats = HostileStats()
        self._tokens = 1.0
        self._token_time = time.monotonic()

    def is_target(self, path: str, query: dict[str, list[str]]) -> bool:
        action = (query.get("action") or [""])[0]
        if self.kind == "stalker":
            return action == "get_ordered_list" and (query.get("type") or [""])[0] == "vod"
        if self.kind == "xtream":
            return action == "get_vod_streams"
        return path.endswith(".m3u")

    def _admit(self) -> bool:
        with self.stats._lock:
            now = time.monotonic()
            rate = self.config.rate_per_s
            self._tokens = min(1.0, self._tokens + (now - self._token_time) * rate)
            self._token_time = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        self.stats.requests += 1
        mode = self.config.mode
        path, query = scope["path"], parse_qs(scope["query_string"].decode())
        if mode is Mode.RATE_LIMIT:
            if not self._admit():
                self.stats.throttled += 1
                retry = str(int(self.config.retry_after_s))
                await PlainTextResponse("Too Many Requests", 429, headers={"Retry-After": retry})(
                    scope, receive, send
                )
                return
        elif mode is not Mode.OFF and self.is_target(path, query):
            self.stats.attacks += 1
            if mode in TVG_MODES:
                await self.inner(scope, receive, _with_tvg_url(send, self._tvg_url()))
                return
            await self._attack(mode, scope)(scope, receive, send)
            return
        self.stats.served += 1
        await self.inner(scope, receive, send)

    def _tvg_url(self) -> str:
        if self.config.mode is Mode.TVG_INTERNAL:
            return self.config.internal_url
        return f"file://{self.config.local_path}"

    def _attack(self, mode: Mode, scope: Any) -> Response:
        prefix = _PREFIX.get(self.kind, b"")
        cfg = self.config
        if mode is Mode.GZIP_BOMB:
            return StreamingResponse(
                _bomb(prefix, cfg.bomb_bytes), headers={"Content-Encoding": "gzip"}
            )
        if mode is Mode.ENDLESS_BODY:
            return StreamingResponse(_endless(prefix, b" " * 65536))
        if mode is Mode.HUGE_LENGTH:
            return StreamingResponse(
                _endless(prefix, b" " * 65536), headers={"Content-Length": str(2 * 10**9)}
            )
        if mode is Mode.ENDLESS_JSON:
            return StreamingResponse(_endless_object())
        if mode is Mode.SLOWLORIS:
            return StreamingResponse(_drip(prefix, cfg.drip_interval_s))
        if mode is Mode.REDIRECT_LOOP:
            query = scope["query_string"].decode()
            here = scope["path"] + (f"?{query}" if query else "")
            return Response(status_code=302, headers={"Location": here})
        if mode is Mode.REDIRECT_INTERNAL:
            return Response(status_code=302, headers={"Location": cfg.internal_url})
        raise ValueError(mode)


_PREFIX = {
    "stalker": b'{"js":{"total_items":"100","max_page_items":"14","data":[',
    "xtream": b"[",
    "m3u": b"#EXTM3U\n",
}


async def _bomb(prefix: bytes, total: int) -> AsyncIterator[bytes]:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip
    yield packer.compress(prefix)
    zeros = b" " * 2**20
    for _ in range(total // len(zeros)):
        out = packer.compress(zeros)
        if out:
            yield out
            await asyncio.sleep(0)
    yield packer.flush()


async def _endless(prefix: bytes, filler: bytes) -> AsyncIterator[bytes]:
    yield prefix
    while True:
        yield filler
        await asyncio.sleep(0)


async def _endless_object() -> AsyncIterator[bytes]:
    yield b'{"1":{'
    n = 0
    while True:
        yield b"".join(b'"k%d":"%s",' % (n + i, b"v" * 40) for i in range(1000))
        n += 1000
        await asyncio.sleep(0)


async def _drip(prefix: bytes, interval: float) -> AsyncIterator[bytes]:
    yield prefix[:1] or b" "
    while True:
        await asyncio.sleep(interval)
        yield b" "


def _with_tvg_url(send: Any, url: str) -> Any:
    """``send`` that rewrites the playlist's first line to name ``url`` as its guide."""
    state = {"first": True}

    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message["headers"] if k.lower() != b"content-length"]
            message = {**message, "headers": headers}
        elif message["type"] == "http.response.body" and state["first"]:
            body = message.get("body", b"")
            if body:
                state["first"] = False
                first, _, rest = body.partition(b"\n")
                if b"#EXTM3U" in first[:16]:  # after a BOM, perhaps
                    body = f'#EXTM3U x-tvg-url="{url}"\n'.encode() + rest
                message = {**message, "body": body}
        await send(message)

    return wrapped


@dataclass
class InternalStats:
    hits: int = 0


def internal_app(secret: str) -> Starlette:
    """The internal service an attack aims at: ``/secret`` (text), ``/guide.xml`` (XMLTV)."""
    stats = InternalStats()

    async def text(request: Request) -> Response:
        stats.hits += 1
        return PlainTextResponse(secret)

    async def guide(request: Request) -> Response:
        stats.hits += 1
        body = (
            '<?xml version="1.0"?><tv><channel id="c1"><display-name>'
            f"{secret}</display-name></channel>"
            '<programme start="20200101000000 +0000" stop="20400101000000 +0000" channel="c1">'
            f"<title>{secret}</title></programme></tv>"
        )
        return Response(body, media_type="application/xml")

    app = Starlette(routes=[Route("/secret", text), Route("/guide.xml", guide)])
    app.state.stats = stats
    return app

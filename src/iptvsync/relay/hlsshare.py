"""Shared HLS upstreams: viewers of one live channel share its playlist and segment fetches.

An HLS viewer is a *session* (the id in its relay URLs): it holds the viewer's user slot and
lives while the player keeps asking (``idle_s`` after its last request it ends and its slot is
freed). Sessions of the same channel share one ``HlsUpstream``: one provider slot, the
provider's headers, and one numbering of the upstream URLs. Fetches go through ``PartCache``:

- a playlist is fetched at most once per refresh window (half its ``EXT-X-TARGETDURATION``,
  0.5–5 s; a master or an ended playlist once for the upstream's life), requests in between get
  the copy, requests during a fetch wait for it;
- a segment (or key, or init map) is fetched once and kept ``SEGMENT_TTL_S`` for the other
  viewers, requests during the fetch wait for it. Kept bytes are bounded (``max_bytes``, least
  recently used first out); a part larger than ``MAX_PART_BYTES`` is streamed to its viewer
  and not kept.

The upstream and its provider slot go when its last session ends (docs/outputs.md).
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from iptvsync.errors import ProviderBadResponse
from iptvsync.relay import hls, upstream
from iptvsync.relay.response import RelayResponse

SEGMENT_TTL_S = 60.0
MAX_PART_BYTES = 32 * 1024 * 1024
DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
_TARGET = re.compile(r"^#EXT-X-TARGETDURATION:\s*(\d+(?:\.\d+)?)", re.M)
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"

HlsUrl = Callable[[str, int, str], str]
_closing: set[asyncio.Future[None]] = set()


@dataclass
class Part:
    body: bytes
    content_type: str
    url: str  # after redirects: a playlist's relative URIs resolve against it
    playlist: bool
    expires: float


@dataclass(eq=False)
class HlsUpstream:
    key: tuple[Any, ...]
    provider_id: int
    headers: dict[str, str]
    allow_private: bool
    holder: str  # the provider slot
    root: str  # the first playlist's URL
    account: str = "default"
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    urls: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    sessions: dict[str, HlsSession] = field(default_factory=dict)
    closed: bool = False

    def number(self, url: str) -> int:
        found = self.index.get(url)
        if found is None:
            found = self.index[url] = len(self.urls)
            self.urls.append(url)
        return found


@dataclass(eq=False)
class HlsSession:
    id: str
    upstream: HlsUpstream
    user_holder: str | None
    user_id: int | None
    sent: int = 0
    used: float = field(default_factory=time.monotonic)


class PartCache:
    """Single-flight fetches of HLS parts, keyed by (provider, upstream URL), bounded."""

    def __init__(self, http: Any, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.http = http
        self.max_bytes = max_bytes
        self.kept_bytes = 0
        self._kept: OrderedDict[tuple[int, str], Part] = OrderedDict()
        self._inflight: dict[tuple[int, str], asyncio.Future[Part | upstream.Upstream]] = {}

    async def get(self, up: HlsUpstream, url: str) -> Part | upstream.Upstream:
        """The part (kept or fetched), or, for one too large to keep, the open upstream
        response for the caller to stream."""
        key = (up.provider_id, url)
        kept = self._kept.get(key)
        if kept is not None and kept.expires > time.monotonic():
            self._kept.move_to_end(key)
            return kept
        running = self._inflight.get(key)
        if running is None:
            # Its own task: a viewer that goes away does not cancel what the others wait for.
            running = self._inflight[key] = asyncio.ensure_future(self._fetch(up, url))
            running.add_done_callback(lambda task: self._settle(key, task, up))
            mine = True
        else:
            mine = False
        try:
            got = await asyncio.shield(running)
        except asyncio.CancelledError:
            if mine:  # nobody else may use a streamed part: close it when it comes
                running.add_done_callback(_close_streamed)
            raise
        if isinstance(got, Part):
            return got
        if mine:
            return got
        return await self._open(up, url)  # too large to share: the creator streams its own

    def _settle(
        self, key: tuple[int, str], task: asyncio.Future[Part | upstream.Upstream],
        up: HlsUpstream,
    ) -> None:  # fmt: skip
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled() and task.exception() is None:
            got = task.result()
            if isinstance(got, Part) and not up.closed:  # a closed channel keeps nothing
                self.keep(key, got)

    async def _open(self, up: HlsUpstream, url: str) -> upstream.Upstream:
        opened = await upstream.open(self.http, url, up.headers, allow_private=up.allow_private)
        if opened.status >= 400:
            await opened.close()
            raise refused(opened.status)
        return opened

    async def _fetch(self, up: HlsUpstream, url: str) -> Part | upstream.Upstream:
        opened = await self._open(up, url)
        playlist = hls.is_playlist(opened.content_type, opened.url)
        announced = opened.length
        if not playlist and announced is not None and announced > MAX_PART_BYTES:
            return opened
        limit = hls.MAX_PLAYLIST_BYTES if playlist else MAX_PART_BYTES
        body = bytearray()
        try:
            async for chunk in opened.chunks():
                body += chunk
                if len(body) > limit:
                    break
        except BaseException:
            await opened.close()
            raise
        if len(body) > limit and not playlist:
            opened.prefix = bytes(body)  # streamed on from here, not kept
            return opened
        await opened.close()
        now = time.monotonic()
        if playlist:
            text = bytes(body[:limit]).decode("utf-8", "replace")
            expires = now + refresh_window(text)
        else:
            expires = now + SEGMENT_TTL_S
        kind = PLAYLIST_TYPE if playlist else (opened.content_type or "video/mp2t")
        return Part(bytes(body[:limit]), kind, opened.url, playlist, expires)

    def keep(self, key: tuple[int, str], part: Part) -> None:
        old = self._kept.pop(key, None)
        if old is not None:
            self.kept_bytes -= len(old.body)
        self._kept[key] = part
        self.kept_bytes += len(part.body)
        now = time.monotonic()
        for k in [k for k, p in self._kept.items() if p.expires <= now]:
            self.kept_bytes -= len(self._kept.pop(k).body)
        while self.kept_bytes > self.max_bytes and len(self._kept) > 1:
            _, oldest = self._kept.popitem(last=False)
            self.kept_bytes -= len(oldest.body)

    def forget(self, provider_id: int, urls: list[str]) -> None:
        for url in urls:
            part = self._kept.pop((provider_id, url), None)
            if part is not None:
                self.kept_bytes -= len(part.body)


def _close_streamed(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is None:
        got = task.result()
        if isinstance(got, upstream.Upstream):
            closing = asyncio.ensure_future(got.close())
            _closing.add(closing)
            closing.add_done_callback(_closing.discard)


def refresh_window(text: str) -> float:
    """How long a playlist's copy serves: a live media playlist half its target duration
    (0.5–5 s), a master or an ended (VOD) one for the upstream's life."""
    if "#EXT-X-ENDLIST" in text or "#EXT-X-TARGETDURATION" not in text:
        return 24 * 3600.0
    found = _TARGET.search(text)
    target = float(found.group(1)) if found else 6.0
    return min(5.0, max(0.5, target / 2))


def refused(status: int) -> ProviderBadResponse:
    return ProviderBadResponse(
        f"the provider refused the stream with HTTP {status}", detail={"upstream_status": status}
    )


class HlsHub:
    """This replica's shared HLS upstreams and their viewers' sessions."""

    def __init__(self, http: Any, *, idle_s: float, cache_bytes: int = DEFAULT_CACHE_BYTES):
        self.idle_s = idle_s
        self.cache = PartCache(http, cache_bytes)
        self.upstreams: dict[tuple[Any, ...], HlsUpstream] = {}
        self.sessions: dict[str, HlsSession] = {}

    def start(self, up: HlsUpstream, first: Part) -> None:
        self.upstreams[up.key] = up
        self.cache.keep((up.provider_id, up.root), first)

    def open_upstream(self, key: tuple[Any, ...]) -> HlsUpstream | None:
        found = self.upstreams.get(key)
        return found if found is not None and not found.closed else None

    async def join(
        self, up: HlsUpstream, user_holder: str | None, user_id: int | None, hls_url: HlsUrl
    ) -> tuple[HlsSession, Response]:
        """A new viewer's session and its copy of the channel's first playlist."""
        session = HlsSession(uuid.uuid4().hex, up, user_holder, user_id)
        up.sessions[session.id] = session
        self.sessions[session.id] = session
        try:
            got = await self.cache.get(up, up.root)
        except BaseException:
            self.end_session(session)
            raise
        if not isinstance(got, Part) or not got.playlist:
            if not isinstance(got, Part):
                await got.close()
            self.end_session(session)
            raise ProviderBadResponse("the provider's HLS playlist turned into something else")
        return session, self._playlist(session, got, hls_url)

    async def part(self, session_id: str, index: int, hls_url: HlsUrl) -> Response | None:
        """A variant playlist or a segment of a session; None: no such session or part."""
        session = self.sessions.get(session_id)
        if session is None or index >= len(session.upstream.urls):
            return None
        session.used = time.monotonic()
        got = await self.cache.get(session.upstream, session.upstream.urls[index])
        if isinstance(got, Part):
            if got.playlist:
                return self._playlist(session, got, hls_url)
            session.sent += len(got.body)
            return Response(got.body, media_type=got.content_type)
        return _streamed(got, session)

    def _playlist(self, session: HlsSession, part: Part, hls_url: HlsUrl) -> Response:
        up = session.upstream
        text = part.body.decode("utf-8", "replace")

        def register(url: str) -> str:
            return hls_url(session.id, up.number(url), hls.extension(url))

        body = hls.rewrite(text, part.url, register)
        session.sent += len(body)
        return Response(body, media_type=PLAYLIST_TYPE, headers={"Cache-Control": "no-store"})

    def idle(self) -> list[HlsSession]:
        now = time.monotonic()
        return [s for s in self.sessions.values() if now - s.used > self.idle_s]

    def end_session(self, session: HlsSession) -> HlsUpstream | None:
        """Drop a session; its upstream when that was the last one (the caller frees both
        slots)."""
        self.sessions.pop(session.id, None)
        up = session.upstream
        up.sessions.pop(session.id, None)
        if up.sessions or up.closed:
            return None
        return self.close(up)

    def close(self, up: HlsUpstream) -> HlsUpstream:
        up.closed = True
        if self.upstreams.get(up.key) is up:
            del self.upstreams[up.key]
        for sid in list(up.sessions):
            self.sessions.pop(sid, None)
        self.cache.forget(up.provider_id, [up.root, *up.urls])
        return up

    def find(self, holder: str) -> HlsSession | None:
        """The session of a user slot holder (or a session id)."""
        found = self.sessions.get(holder)
        if found is not None:
            return found
        return next((s for s in self.sessions.values() if s.user_holder == holder), None)

    def stats(self) -> dict[str, int]:
        return {
            "hls_upstreams": len(self.upstreams),
            "hls_sessions": len(self.sessions),
            "hls_cache_bytes": self.cache.kept_bytes,
        }


def _streamed(opened: upstream.Upstream, session: HlsSession) -> Response:
    """A part too large to keep, streamed from its upstream to this one viewer."""

    async def chunks() -> AsyncIterator[bytes]:
        if opened.prefix:
            session.sent += len(opened.prefix)
            yield opened.prefix
        async for chunk in opened.chunks():
            session.sent += len(chunk)
            yield chunk

    stop = asyncio.Event()

    def cleanup() -> None:
        closing = asyncio.ensure_future(opened.close())
        _closing.add(closing)
        closing.add_done_callback(_closing.discard)

    return RelayResponse(
        chunks(), media_type=opened.content_type or "video/mp2t", cleanup=cleanup,
        on_disconnect=stop.set, kicked=stop,
    )  # fmt: skip

"""The relay's one door to provider bytes: open a URL with the provider's headers and stream.

Narrow on purpose: ``open(http, url, headers)`` → an ``Upstream`` with ``status``,
``content_type``, ``url`` (after redirects), ``chunks()`` (each read bounded by
``read_timeout``) and ``close()``. It goes through the app's provider HTTP client
(``providers.http``), whose errors are already the ``errors.py`` provider tree.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from iptvsync.numbers import ascii_int
from iptvsync.providers.http import BodyKind, ProviderHttp, Stream

READ_TIMEOUT_S = 15.0
CHUNK = 64 * 1024


@dataclass
class Upstream:
    status: int
    content_type: str
    url: str
    read_timeout: float
    _stream: Stream = field(repr=False)
    _exit: contextlib.AsyncExitStack = field(repr=False)
    #: What a reader already took off the body and hands on first (``relay.hlsshare``).
    prefix: bytes = b""

    @property
    def length(self) -> int | None:
        """The announced body length (``Content-Length``), when there is one."""
        value = self._stream.headers.get("content-length")
        return None if value is None else ascii_int(value, 20)

    def header(self, name: str) -> str | None:
        value = self._stream.headers.get(name)
        return str(value) if value is not None else None

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives; a read slower than ``read_timeout`` ends it with
        ``ProviderTimeout`` (the provider HTTP layer's per-read timeout)."""
        async for chunk in self._stream.iter_chunks():
            # A read hands over all that arrived (a provider's opening burst can be 500 KB):
            # pieces of at most CHUNK keep every viewer's bounded queue meaningful (relay.hub).
            # Between pieces the viewers' writers get a turn, as between reads of a steady
            # stream.
            for start in range(0, len(chunk), CHUNK):
                yield chunk[start : start + CHUNK]
                if start + CHUNK < len(chunk):
                    await asyncio.sleep(0)

    async def read_all(self, limit: int) -> bytes:
        """The whole body (a playlist), refused past ``limit`` bytes."""
        out = bytearray()
        async for chunk in self.chunks():
            out += chunk
            if len(out) > limit:
                break
        return bytes(out[:limit])

    async def close(self) -> None:
        await self._exit.aclose()


def may_reach_private(http: ProviderHttp, provider_url: str) -> bool:
    """A stream URL comes from provider content: it may lead into loopback or LAN space only
    when the provider itself is configured at such an address (docs/providers.md, "Where a
    provider may send us")."""
    host = urlsplit(provider_url).hostname or ""
    return host == "localhost" or host.endswith(".localhost") or http.policy.is_private(host)


async def open(
    http: ProviderHttp,
    url: str,
    headers: Mapping[str, str],
    *,
    read_timeout: float = READ_TIMEOUT_S,
    allow_private: bool = False,
    byte_range: str | None = None,
) -> Upstream:
    """Open a stream through the one provider HTTP layer (``BodyKind.MEDIA``: no total
    deadline, no size limit; the per-read timeout, the scheme and address rules still hold).
    ``byte_range``: a player's ``Range`` header, passed on (a movie seeks so)."""
    exit_stack = contextlib.AsyncExitStack()
    if byte_range is not None:
        # Byte offsets count the file as stored: no compressed transfer.
        headers = {**headers, "Range": byte_range, "Accept-Encoding": "identity"}
    try:
        stream = await exit_stack.enter_async_context(
            http.stream(
                url,
                kind=BodyKind.MEDIA,
                headers=dict(headers),
                allow_private=allow_private,
                read_timeout=read_timeout,
            )
        )
    except BaseException:
        await exit_stack.aclose()
        raise
    content_type = stream.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return Upstream(stream.status_code, content_type, stream.url, read_timeout, stream, exit_stack)


def stream_headers(client: Any, kind: str, options: Mapping[str, Any]) -> dict[str, str]:
    """The headers a provider wants on stream requests: a Stalker box's (MAG User-Agent,
    X-User-Agent, MAC cookie, session token), else the configured player User-Agent."""
    own = getattr(client, "stream_headers", None)
    if callable(own):
        return dict(own())
    return {"User-Agent": str(options.get("user_agent") or "VLC/3.0.18 LibVLC/3.0.18")}

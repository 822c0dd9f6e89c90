"""The relay's one door to provider bytes: open a URL with the provider's headers and stream.

Narrow on purpose: ``open(http, url, headers)`` → an ``Upstream`` with ``status``,
``content_type``, ``url`` (after redirects), ``chunks()`` (each read bounded by
``read_timeout``) and ``close()``. It goes through the app's provider HTTP client
(``providers.http``), and httpx errors leave here as the ``errors.py`` provider tree.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from iptvsync.providers.http import translate_transport_error

READ_TIMEOUT_S = 15.0


@dataclass
class Upstream:
    status: int
    content_type: str
    url: str
    read_timeout: float
    _response: httpx.Response = field(repr=False)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives; a read slower than ``read_timeout`` ends it with
        ``ProviderTimeout``."""
        iterator = self._response.aiter_raw()
        while True:
            try:
                chunk = await asyncio.wait_for(anext(iterator), self.read_timeout)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise translate_transport_error(
                    httpx.ReadTimeout("stalled"), url=self.url
                ) from None
            except httpx.HTTPError as exc:
                raise translate_transport_error(exc, url=self.url) from exc
            if chunk:
                yield chunk

    async def read_all(self, limit: int) -> bytes:
        """The whole body (a playlist), refused past ``limit`` bytes."""
        out = bytearray()
        async for chunk in self.chunks():
            out += chunk
            if len(out) > limit:
                break
        return bytes(out[:limit])

    async def close(self) -> None:
        await self._response.aclose()


async def open(
    http: httpx.AsyncClient,
    url: str,
    headers: Mapping[str, str],
    *,
    read_timeout: float = READ_TIMEOUT_S,
) -> Upstream:
    request = http.build_request("GET", url, headers=dict(headers))
    try:
        response = await asyncio.wait_for(http.send(request, stream=True), read_timeout)
    except TimeoutError:
        raise translate_transport_error(httpx.ConnectTimeout("no answer"), url=url) from None
    except httpx.HTTPError as exc:
        raise translate_transport_error(exc, url=url) from exc
    content_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return Upstream(response.status_code, content_type, str(response.url), read_timeout, response)


def stream_headers(client: Any, kind: str, options: Mapping[str, Any]) -> dict[str, str]:
    """The headers a provider wants on stream requests: a Stalker box's (MAG User-Agent,
    X-User-Agent, MAC cookie, session token), else the configured player User-Agent."""
    own = getattr(client, "stream_headers", None)
    if callable(own):
        return dict(own())
    return {"User-Agent": str(options.get("user_agent") or "VLC/3.0.18 LibVLC/3.0.18")}

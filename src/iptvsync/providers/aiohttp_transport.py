"""An httpx transport that does its I/O with aiohttp.

Provider clients keep talking to an injected ``httpx.AsyncClient`` (STYLE 2); only the transport
underneath changes. Why: walking a Stalker portal is thousands of small requests, and httpcore
costs about 1.4 ms of CPU per request on this project's machines against 0.35 ms for aiohttp
(measured with the fake portal in another process: bench notes in docs/benchmarks.md). At a
portal that answers 16 pages in parallel in 20 ms, the protocol allows 1.25 ms per page: the
client's own CPU must stay well under that.

Exceptions are mapped onto httpx's own classes here, so ``providers.http`` translates them to
the iptvsync error tree exactly as for the default transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass

import aiohttp
import httpx

CHUNK = 64 * 1024


@contextlib.contextmanager
def _mapped(request: httpx.Request | None, *, connecting: bool) -> Iterator[None]:
    try:
        yield
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        cls = httpx.ConnectTimeout if connecting else httpx.ReadTimeout
        raise cls(str(exc) or "timed out", request=request) from exc
    except aiohttp.ClientConnectorError as exc:  # refused, DNS, unreachable
        raise httpx.ConnectError(_why(exc), request=request) from exc
    except aiohttp.ServerDisconnectedError as exc:
        raise httpx.RemoteProtocolError(str(exc) or "server disconnected", request=request) from exc
    except aiohttp.ClientPayloadError as exc:
        raise httpx.ReadError(str(exc), request=request) from exc
    except aiohttp.InvalidURL as exc:
        raise httpx.UnsupportedProtocol(str(exc), request=request) from exc
    except (aiohttp.ClientOSError, aiohttp.ClientConnectionError) as exc:
        raise httpx.ReadError(str(exc), request=request) from exc
    except aiohttp.ClientResponseError as exc:  # malformed status line or headers
        raise httpx.RemoteProtocolError(str(exc), request=request) from exc
    except aiohttp.ClientError as exc:
        raise httpx.NetworkError(str(exc), request=request) from exc


def _why(exc: aiohttp.ClientConnectorError) -> str:
    """A short reason for a failed connection, for one-line error messages."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "the host name does not resolve"
    if isinstance(exc.os_error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc.os_error, TimeoutError):
        return "connection timed out"
    return exc.os_error.strerror or type(exc.os_error).__name__


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped(self._request, connecting=False):
            async for chunk in self._response.content.iter_chunked(CHUNK):
                yield chunk

    async def aclose(self) -> None:
        # A body read to the end returns its connection to the pool; one abandoned half-way
        # (a cancelled walk) must not be reused.
        if self._response.content.at_eof():
            self._response.release()
        else:
            self._response.close()


@dataclass(slots=True)
class SmallResponse:
    """A whole small response: what a page fetch needs, without httpx's response model."""

    status_code: int
    headers: Mapping[str, str]  # case-insensitive (aiohttp's CIMultiDictProxy)
    content: bytes


#: What httpx sends unless told otherwise, minus the encodings the direct path cannot decode.
_DIRECT_HEADERS = {"Accept": "*/*", "Accept-Encoding": "gzip, deflate"}


def _decoded(body: bytes, encoding: str | None) -> bytes:
    if not encoding or encoding == "identity":
        return body
    if encoding in ("gzip", "x-gzip", "deflate"):
        try:
            return zlib.decompress(body, 47)  # gzip or zlib, told apart by the header
        except zlib.error:
            if encoding != "deflate":
                raise
            return zlib.decompress(body, -15)  # raw deflate, as some servers send it
    raise ValueError(f"unexpected Content-Encoding {encoding!r}")


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(
        self, *, max_connections: int = 64, keepalive_expiry: float = 30.0, verify: bool = True
    ) -> None:
        self._max_connections = max_connections
        self._keepalive = keepalive_expiry
        self._verify = verify
        self._session: aiohttp.ClientSession | None = None

    def _session_for_loop(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                keepalive_timeout=self._keepalive,
                ssl=self._verify,
            )
            # httpx keeps cookies and decodes bodies itself: aiohttp must do neither.
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept"),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session_for_loop()
        timeout = request.extensions.get("timeout", {})
        body = await request.aread()
        with _mapped(request, connecting=True):
            response = await session.request(
                request.method,
                str(request.url),
                headers=list(request.headers.multi_items()),
                data=body or None,
                allow_redirects=False,
                compress=None,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeout.get("pool"),
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            )
        return httpx.Response(
            status_code=response.status,
            headers=list(response.raw_headers),
            stream=_Body(response, request),
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def get_small(
        self, url: str, headers: Mapping[str, str], timeout: float
    ) -> SmallResponse | None:
        """GET ``url`` and read the whole body, straight through aiohttp: no httpx request and
        response models, URL parsing or cookie-jar pass, which cost twice aiohttp's own CPU per
        request. None for a redirect: the caller asks httpx, which follows it.

        Errors are httpx's exception classes, as from ``handle_async_request``.
        """
        session = self._session_for_loop()
        limits = aiohttp.ClientTimeout(
            total=None, connect=timeout, sock_connect=timeout, sock_read=timeout
        )
        with _mapped(None, connecting=True):
            response = await session.get(
                url,
                headers={**_DIRECT_HEADERS, **headers},
                allow_redirects=False,
                timeout=limits,
            )
        try:
            if 300 <= response.status < 400 and "Location" in response.headers:
                return None
            with _mapped(None, connecting=False):
                body = await response.read()
            encoding = response.headers.get("Content-Encoding")
            try:
                content = _decoded(body, encoding.strip().lower() if encoding else None)
            except (zlib.error, ValueError) as exc:
                raise httpx.DecodingError(f"undecodable body: {exc}") from exc
            return SmallResponse(response.status, response.headers, content)
        finally:
            response.release()

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
            # aiohttp closes its sockets on the next loop turn.
            await asyncio.sleep(0)

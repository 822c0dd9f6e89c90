"""The one HTTP layer for provider traffic: aiohttp and a page fast path, with limits on every
response.

Every byte a provider sends passes through ``ProviderHttp``: a page read whole
(``get_small``: on the fast path, ``lean.py``, where its URL allows) or a body streamed chunk
by chunk (``stream``, for whole lists, playlists, guides and media, through aiohttp). On every
response, on either path, streamed or not, it enforces:

- a total deadline per request (connect + every read; ``BodyKind.MEDIA`` has none but keeps
  its per-read timeout);
- a maximum body per kind of request, counted after decompression: a gzip bomb ends as
  ``ProviderBadResponse("response too large")`` after at most the limit is inflated;
- at most ``max_redirects`` redirects, followed here hop by hop, http(s) only;
- where a provider may send us (``guard.py``): with ``allow_private=False`` (a URL from provider
  content, or any redirect of a public provider) the connection goes through a pool whose
  connector refuses private, loopback and link-local addresses at connect time.

Why aiohttp and not httpx: walking a Stalker portal is thousands of small requests, and
httpx + httpcore cost about seven times aiohttp's CPU per request (docs/providers.md, "The
provider HTTP layer"). Errors never leave as aiohttp's: they are mapped here onto ``errors.py``,
with messages built from ``redact``-ed text. ``send.py`` adds retries and the politeness budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from multidict import CIMultiDictProxy

from iptvsync.errors import ProviderBadResponse, ProviderError, ProviderTimeout, ProviderUnreachable
from iptvsync.providers import lean
from iptvsync.providers.budget import Outcome
from iptvsync.providers.guard import (
    AddressPolicy,
    AddressRefused,
    Pins,
    check_scheme,
    last_peer_private,
)
from iptvsync.providers.inflate import Inflater, too_large
from iptvsync.providers.redact import (  # re-exported: the historical home of these helpers
    RedactingFilter,
    install_log_redaction,
    mask_mac,
    redact,
    safe_url,
)
from iptvsync.settings import Settings

if TYPE_CHECKING:  # imported where a request needs it (``connector.py`` says why)
    import aiohttp

#: The module that brings aiohttp in, imported off the loop (``ProviderHttp._aiohttp_loaded``).
_CONNECTOR = "iptvsync.providers.connector"

__all__ = [
    "BodyKind",
    "HttpLimits",
    "ProviderHttp",
    "RedactingFilter",
    "Reply",
    "Stream",
    "build_http_client",
    "install_log_redaction",
    "mask_mac",
    "outcome_of",
    "redact",
    "safe_url",
]

DEFAULT_TIMEOUT_S = 15.0
DEFAULT_CONNECT_TIMEOUT_S = 10.0
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DEFAULT_HEADERS = {"Accept": "*/*", "Accept-Encoding": "gzip, deflate"}

install_log_redaction()


class BodyKind(StrEnum):
    """What a request fetches; each kind has its own deadline and size limit."""

    PAGE = "page"  # a portal page, a login answer, a small JSON document
    LIST = "list"  # a whole Xtream list
    PLAYLIST = "playlist"
    GUIDE = "guide"
    MEDIA = "media"  # a long-lived stream: no total deadline, no size limit


@dataclass(frozen=True, slots=True)
class HttpLimits:
    read_timeout_s: float = DEFAULT_TIMEOUT_S
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    page_deadline_s: float = 120.0
    list_deadline_s: float = 1800.0
    max_page_bytes: int = 64 * 2**20
    max_list_bytes: int = 2 * 2**30
    max_playlist_bytes: int = 2 * 2**30
    max_guide_bytes: int = 8 * 2**30
    max_redirects: int = 5
    public_networks: tuple[str, ...] = ()
    #: ``get_small`` on the page fast path (``lean.py``) where the URL allows; False: every
    #: request through aiohttp.
    lean_pages: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpLimits:
        return cls(
            read_timeout_s=settings.request_timeout_s,
            page_deadline_s=settings.provider_page_deadline_s,
            list_deadline_s=settings.provider_list_deadline_s,
            max_page_bytes=settings.provider_max_page_bytes,
            max_list_bytes=settings.provider_max_list_bytes,
            max_playlist_bytes=settings.provider_max_playlist_bytes,
            max_guide_bytes=settings.provider_max_guide_bytes,
            max_redirects=settings.provider_max_redirects,
            public_networks=tuple(settings.provider_public_networks),
            lean_pages=settings.provider_lean_http,
        )

    def deadline(self, kind: BodyKind) -> float | None:
        if kind is BodyKind.MEDIA:
            return None
        return self.page_deadline_s if kind is BodyKind.PAGE else self.list_deadline_s

    def max_bytes(self, kind: BodyKind) -> int | None:
        return {
            BodyKind.PAGE: self.max_page_bytes,
            BodyKind.LIST: self.max_list_bytes,
            BodyKind.PLAYLIST: self.max_playlist_bytes,
            BodyKind.GUIDE: self.max_guide_bytes,
            BodyKind.MEDIA: None,
        }[kind]


@dataclass(slots=True)
class Reply:
    """A whole (small) response."""

    status_code: int
    headers: CIMultiDictProxy[str]
    content: bytes
    url: str
    #: The answering server's address is private (loopback, LAN): its content may point there.
    peer_private: bool = False

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


def deadline_exceeded(url: str) -> ProviderTimeout:
    return ProviderTimeout(
        f"the provider did not send the whole answer within the deadline ({safe_url(url)})",
        detail={"deadline": "exceeded"},
    )


@contextlib.contextmanager
def _mapped(url: str, deadline: float | None = None) -> Iterator[None]:
    """aiohttp's and asyncio's exceptions as the errors.py tree. A timeout at ``deadline``
    (the request's whole time) says ``detail.deadline``: ``send`` does not retry it."""
    try:
        yield
    except ProviderError:
        raise
    except BaseException as exc:
        _raise_mapped(exc, url, deadline)
        raise


def _raise_mapped(exc: BaseException, url: str, deadline: float | None) -> None:
    """Raise ``exc`` as the errors.py tree when it is a transport error (else return)."""
    where = f" ({safe_url(url)})"  # built only on failure: safe_url costs ~40 µs
    error: ProviderError
    if isinstance(exc, TimeoutError):  # aiohttp's ServerTimeoutError is one too
        if deadline is not None and asyncio.get_running_loop().time() >= deadline - 0.05:
            error = deadline_exceeded(url)
        else:
            error = ProviderTimeout(f"the provider did not answer in time{where}")
    elif isinstance(exc, lean.ConnectFailed):
        why = _why_os(exc.os_error) if exc.os_error else "the host name does not resolve"
        error = ProviderUnreachable(f"cannot connect to the provider{where}: {why}")
    elif isinstance(exc, lean.Dropped):
        error = ProviderUnreachable(f"the provider dropped the connection{where}")
    elif isinstance(exc, lean.Malformed):
        error = ProviderBadResponse(f"the provider sent a malformed response{where}")
    elif isinstance(exc, lean.TooLarge):
        if exc.announced is not None:
            error = too_large(f"{where[:-1]}: {exc.announced} bytes announced)")
        else:
            error = too_large(f"{where[:-1]}: over {exc.limit} bytes)")
    # aiohttp's own errors: never imported (a walk on the page fast path), it raised none.
    elif "aiohttp" in sys.modules and (mapped := _aiohttp_error(exc, where)) is not None:
        error = mapped
    elif isinstance(exc, OSError):
        reason = redact(str(exc) or type(exc).__name__)[:200]
        error = ProviderUnreachable(f"network error talking to the provider{where}: {reason}")
    else:
        return
    raise error from exc


def _aiohttp_error(exc: BaseException, where: str) -> ProviderError | None:
    import aiohttp

    if isinstance(exc, aiohttp.ClientConnectorError):  # before OSError: it is one
        if isinstance(exc, aiohttp.ClientConnectorDNSError):
            why = "the host name does not resolve"
        else:
            why = _why_os(exc.os_error)
        return ProviderUnreachable(f"cannot connect to the provider{where}: {why}")
    if isinstance(exc, aiohttp.InvalidURL):
        return ProviderUnreachable(f"unsupported or invalid provider URL{where}")
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return ProviderUnreachable(f"the provider dropped the connection{where}")
    if isinstance(exc, aiohttp.ClientResponseError):  # malformed status line or headers
        return ProviderBadResponse(f"the provider sent a malformed response{where}")
    if isinstance(exc, aiohttp.ClientError):
        reason = redact(str(exc) or type(exc).__name__)[:200]
        return ProviderUnreachable(f"network error talking to the provider{where}: {reason}")
    return None


def _why_os(error: OSError) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError):
        return "connection timed out"
    return error.strerror or type(error).__name__


def outcome_of(error: ProviderError) -> Outcome:
    """What a transport failure tells the politeness budget."""
    if isinstance(error, ProviderTimeout):
        return Outcome.TIMEOUT
    if isinstance(error, ProviderUnreachable):
        return Outcome.CONNECT_ERROR
    return Outcome.NEUTRAL


class Stream:
    """An open response whose body is read chunk by chunk under the limits."""

    def __init__(
        self,
        response: aiohttp.ClientResponse,
        url: str,
        limit: int | None,
        deadline: float | None,
        read_timeout: float,
        peer_private: bool,
    ) -> None:
        self._response = response
        self.url = url
        self.status_code = response.status
        self.headers = response.headers
        self.peer_private = peer_private
        self._limit = limit
        self._deadline = deadline
        self._read_timeout = read_timeout
        self._inflater = Inflater(response.headers.get("Content-Encoding"), limit, url)

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """The decoded body, chunk by chunk. Raises ProviderBadResponse past the size limit,
        ProviderTimeout past the deadline or when one read waits longer than the read timeout."""
        content = self._response.content
        loop = asyncio.get_running_loop()
        with _mapped(self.url, self._deadline):
            while True:
                wait = self._read_timeout
                if self._deadline is not None:
                    wait = min(wait, self._deadline - loop.time())
                    if wait <= 0:
                        raise deadline_exceeded(self.url)
                async with asyncio.timeout(wait):
                    data = await content.readany()
                if not data:
                    break
                for piece in self._inflater.feed(data):
                    yield piece
            rest = self._inflater.flush()
            if rest:
                yield rest

    async def read(self) -> bytes:
        out = bytearray()
        async for chunk in self.iter_chunks():
            out += chunk
        return bytes(out)


class ProviderHttp:
    """One per app (or CLI run): two aiohttp pools, one that may reach any address (the
    operator's own URLs) and one that reaches public addresses only (provider content)."""

    def __init__(
        self,
        limits: HttpLimits | None = None,
        *,
        max_connections: int = 64,
        keepalive_expiry: float = 30.0,
        verify: bool = True,
        pins: Pins | None = None,
    ) -> None:
        """``pins``: host name → (address, port), as ``curl --resolve`` (tests)."""
        self.limits = limits or HttpLimits()
        self._pins = dict(pins or {})
        self.policy = AddressPolicy(self.limits.public_networks)
        self._max_connections = max_connections
        self._keepalive = keepalive_expiry
        self._verify = verify
        self._any: aiohttp.ClientSession | None = None
        self._public: aiohttp.ClientSession | None = None
        #: The page fast path's pools (``lean.py``), as the two sessions: any address, public only.
        self._lean: dict[bool, lean.LeanPool] = {}

    async def _aiohttp_loaded(self) -> None:
        """Import aiohttp (and the connector) in a worker thread the first time a request
        needs it: ~0.14 s of imports that, run on the event loop, held every request of a
        walk in flight (a Stalker sync's guide stream starts during the VOD walk; docs/
        benchmarks.md, "aiohttp off the loop"). The loop goes on serving its answers while
        the thread imports; the import costs the same CPU, spread instead of in one stall."""
        if _CONNECTOR not in sys.modules:
            await asyncio.to_thread(importlib.import_module, _CONNECTOR)

    def _session(self, allow_private: bool) -> aiohttp.ClientSession:
        current = self._any if allow_private else self._public
        if current is not None and not current.closed:
            return current
        import aiohttp

        from iptvsync.providers.connector import GuardedConnector

        options: dict[str, Any] = {
            "limit": self._max_connections,
            "keepalive_timeout": self._keepalive,
            "ssl": self._verify,
        }
        policy = None if allow_private else self.policy
        connector = GuardedConnector(policy, self._pins, self.limits.public_networks, **options)
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,  # decoded here, counted against the limit
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept"),
            trust_env=False,
        )
        if allow_private:
            self._any = session
        else:
            self._public = session
        return session

    @contextlib.asynccontextmanager
    async def stream(
        self,
        url: str,
        *,
        kind: BodyKind,
        headers: Mapping[str, str] | None = None,
        allow_private: bool = True,
        read_timeout: float | None = None,
        max_bytes: int | None = None,
        deadline_s: float | None = None,
    ) -> AsyncIterator[Stream]:
        """GET ``url`` and yield the open response (redirects followed). ``allow_private``:
        the URL is the operator's own; its redirects may go private only when the server
        that sent them is private itself. False: public addresses only, on every hop."""
        limits = self.limits
        loop = asyncio.get_running_loop()
        total = deadline_s if deadline_s is not None else limits.deadline(kind)
        deadline = None if total is None else loop.time() + total
        limit = max_bytes if max_bytes is not None else limits.max_bytes(kind)
        read = read_timeout or limits.read_timeout_s
        sent = {**_DEFAULT_HEADERS, **(headers or {})}
        response, url = await self._follow(url, sent, allow_private, deadline, read)
        assert not isinstance(response, lean.Answer)  # not ``whole``: never the fast path
        try:
            length = response.content_length
            if limit is not None and length is not None and length > limit:
                raise too_large(f" ({safe_url(url)}: {length} bytes announced)")
            yield Stream(response, url, limit, deadline, read, last_peer_private())
        finally:
            if response.content.at_eof():
                response.release()
            else:
                response.close()  # abandoned half-way: never reuse this connection

    def lean_pool(self, allow_private: bool) -> lean.LeanPool:
        pool = self._lean.get(allow_private)
        if pool is None:
            pool = self._lean[allow_private] = lean.LeanPool(
                None if allow_private else self.policy,
                AddressPolicy(self.limits.public_networks),
                pins=self._pins,
                verify=self._verify,
                max_connections=self._max_connections,
                keepalive_expiry=self._keepalive,
            )
        return pool

    async def get_small(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        kind: BodyKind = BodyKind.PAGE,
        allow_private: bool = True,
    ) -> Reply:
        """GET ``url`` and read the whole body (at most the kind's limit). The hot path of a
        Stalker walk: on the page fast path (``lean.py``) where the URL allows, else one
        aiohttp call and a read when the length is announced."""
        limits = self.limits
        loop = asyncio.get_running_loop()
        total = limits.deadline(kind)
        deadline = None if total is None else loop.time() + total
        limit = limits.max_bytes(kind)
        read = timeout or limits.read_timeout_s
        sent = {**_DEFAULT_HEADERS, **headers} if headers else _DEFAULT_HEADERS
        response, url = await self._follow(
            url, sent, allow_private, deadline, read, whole=self.limits.lean_pages, limit=limit
        )
        if isinstance(response, lean.Answer):  # the page fast path: read and decoded already
            return Reply(
                response.status, response.headers, response.body, url, response.peer_private
            )
        try:
            private = last_peer_private()
            length = response.content_length
            if length is None or limit is None:
                stream = Stream(response, url, limit, deadline, read, private)
                body = await stream.read()
            elif length > limit:
                raise too_large(f" ({safe_url(url)}: {length} bytes announced)")
            else:
                with _mapped(url, deadline):
                    async with asyncio.timeout_at(deadline):
                        raw = await response.read()
                encoding = response.headers.get("Content-Encoding")
                if encoding:
                    inflater = Inflater(encoding, limit, url)
                    body = b"".join([*inflater.feed(raw), inflater.flush()])
                else:
                    body = raw
            return Reply(response.status, response.headers, body, url, private)
        finally:
            response.release()

    async def _follow(
        self,
        url: str,
        headers: dict[str, str],
        allow_private: bool,
        deadline: float | None,
        read: float,
        *,
        whole: bool = False,
        limit: int | None = None,
    ) -> tuple[aiohttp.ClientResponse | lean.Answer, str]:
        """The answer after the redirects, with its URL. ``whole``: a hop whose URL the page
        fast path sends as written goes there and is read whole, at most ``limit`` bytes."""
        loop = asyncio.get_running_loop()
        response: aiohttp.ClientResponse | lean.Answer
        for _hop in range(self.limits.max_redirects + 1):
            parts = urlsplit(url)
            check_scheme(parts.scheme)
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                raise deadline_exceeded(url)
            connect = self.limits.connect_timeout_s
            if remaining is not None:
                connect = min(connect, remaining)
            with _mapped(url, deadline):
                try:
                    if whole and lean.sendable(parts, headers):
                        response = await self.lean_pool(allow_private).get(
                            parts,
                            headers,
                            limit=limit,
                            decoders=functools.partial(Inflater, limit=limit, url=url),
                            connect_timeout=connect,
                            read_timeout=read,
                            deadline=deadline,
                        )
                        private = response.peer_private
                    else:
                        await self._aiohttp_loaded()
                        import aiohttp

                        timeout = aiohttp.ClientTimeout(
                            total=None, connect=connect, sock_connect=connect, sock_read=read
                        )
                        session = self._session(allow_private)
                        async with asyncio.timeout(remaining):
                            response = await session.get(
                                url, headers=headers, allow_redirects=False, timeout=timeout
                            )
                        private = last_peer_private()
                except AddressRefused as exc:
                    raise AddressRefused(f"{exc.message} ({safe_url(url)})") from None
            location = response.headers.get("Location")
            if response.status not in _REDIRECTS or not location:
                return response, url
            if allow_private and not private:
                allow_private = False  # a public server may not send us into private space
            response.close()
            url = urljoin(url, location)
        raise ProviderBadResponse(
            f"the provider redirects more than {self.limits.max_redirects} times"
        )

    async def aclose(self) -> None:
        for session in (self._any, self._public):
            if session is not None and not session.closed:
                await session.close()
        self._any = self._public = None
        for pool in self._lean.values():
            pool.close()
        self._lean = {}
        await asyncio.sleep(0)  # aiohttp closes its sockets on the next loop turn

    async def __aenter__(self) -> ProviderHttp:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def build_http_client(
    settings: Settings | None = None,
    *,
    timeout_s: float | None = None,
    verify: bool = True,
    pins: Pins | None = None,
    **limits: Any,
) -> ProviderHttp:
    """The ``ProviderHttp`` the app and the CLI share: limits from the settings (or the
    defaults), ``timeout_s`` as the per-read timeout, ``limits`` overriding single fields."""
    base = HttpLimits.from_settings(settings) if settings is not None else HttpLimits()
    values = {f: getattr(base, f) for f in base.__dataclass_fields__}
    if timeout_s is not None:
        values["read_timeout_s"] = timeout_s
    values.update(limits)
    return ProviderHttp(HttpLimits(**values), verify=verify, pins=pins)

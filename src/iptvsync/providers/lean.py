"""The page fast path of the provider HTTP layer: one GET's whole small answer on a kept-alive
HTTP/1.1 connection, parsed by httptools (llhttp, the C parser under aiohttp's own).

Why: a Stalker walk is thousands of small pages, and aiohttp's request machinery (request and
response objects, header multidicts, URL objects, three timers, a stream reader) cost the event
loop ~0.1 ms a page, more than parsing the page's rows; during a sync's walk that CPU is what
the walk waits for (docs/benchmarks.md, "The page fast path"). Here a request is one write of
prebuilt bytes and its answer a few parser callbacks, under one timer.

What stays in ``http.py``: which requests come here (``ProviderHttp.get_small``, one hop at a
time, for a URL this module can send as written: ``sendable``), redirects, deadlines, decoding
the body, and mapping every failure onto errors.py (``_raise_mapped``: this module raises
``ConnectFailed``, ``Dropped``, ``Malformed``, ``TooLarge`` and ``TimeoutError``). Everything
else, and any URL this module will not send as written, goes through aiohttp.

The rules are aiohttp's connector's, the guard's included (docs/reliability.md, "Hostile
providers"):
- ``pins`` as ``curl --resolve``; with a policy (the public-only pool), every resolved address
  is checked before connecting and the peer after, and a private one is refused;
- a status line and headers of at most aiohttp's limits (8,190 bytes a field, 128 fields);
- a body counted against the caller's limit as it arrives (an announced length past it fails
  before any body is read), and a connection never reused after anything unexpected;
- a kept-alive connection the server closed while it was idle is replaced once, for a request
  that got no byte of answer, as aiohttp does for an idempotent request.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import SplitResult

import httptools
from multidict import CIMultiDict, CIMultiDictProxy

from iptvsync.providers import guard

#: aiohttp's defaults for a response's head (``max_field_size``, ``max_headers``).
MAX_FIELD = 8190
MAX_HEADERS = 128
#: Bytes read before the head is complete: httptools holds a header until its end before
#: handing it over, so a header that never ends is cut here, not by the deadline.
MAX_HEAD = MAX_FIELD * (MAX_HEADERS + 1)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class ConnectFailed(Exception):
    """No connection: the name did not resolve (``os_error`` None) or every address failed."""

    def __init__(self, os_error: OSError | None) -> None:
        super().__init__(os_error)
        self.os_error = os_error


class Dropped(Exception):
    """The connection ended before the whole answer."""


class Malformed(Exception):
    """The answer is not HTTP/1.x as the parser reads it, or its head is over the limits."""


class TooLarge(Exception):
    """The body is over the limit: announced (``announced`` bytes) or as it arrived."""

    def __init__(self, limit: int, announced: int | None) -> None:
        super().__init__(limit, announced)
        self.limit = limit
        self.announced = announced


class Decoder(Protocol):
    """A Content-Encoding's decoder (``inflate.Inflater``): it counts what it hands on."""

    def feed(self, data: bytes) -> Iterable[bytes]: ...

    def flush(self) -> bytes: ...


#: Given the answer's Content-Encoding, its decoder.
Decoders = Callable[[str], Decoder]


@dataclass(slots=True)
class Answer:
    """A whole answer, its body decoded: what ``http.py`` reads of it (an aiohttp response
    has the same names)."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    peer_private: bool

    def close(self) -> None:
        """Nothing to close: the connection went back to its pool (a redirect's body too)."""


def sendable(parts: SplitResult, headers: Mapping[str, str]) -> bool:
    """Whether this module sends the request as aiohttp would: http(s), a host and port as
    written (no user info, which aiohttp turns into a header; no name that needs IDNA; a valid
    port), a target that needs no quoting (printable ASCII, no spaces), headers without a
    control character, and no ``Host`` of the caller's (written here)."""
    netloc = parts.netloc
    if parts.scheme not in _DEFAULT_PORTS or "@" in netloc or not parts.hostname:
        return False
    target = netloc + parts.path + parts.query
    if not (target.isascii() and target.isprintable()) or " " in target:
        return False
    try:
        parts.port  # noqa: B018 (raises for a port out of range, which aiohttp refuses itself)
    except ValueError:
        return False
    if "Host" in headers or "host" in headers:
        return False
    return ("".join(headers) + "".join(headers.values())).isprintable()


class _Connection(asyncio.Protocol):
    """One kept-alive connection and the answer being read on it (one at a time)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self.peer_private = False
        self.idle_since = 0.0
        self.used = False  # it has answered before: it may have gone stale while idle
        self.closed = False
        self.reusable = False
        self.last_data = 0.0
        self.got_data = False
        self._waiter: asyncio.Future[Answer] | None = None
        self._parser: Any = None
        self._limit: int | None = None
        self._decoders: Decoders | None = None
        self._decoder: Decoder | None = None
        self._headers: CIMultiDict[str] = CIMultiDict()
        self._fields = 0
        self._body: list[bytes] = []
        self._size = 0
        self._head_size = 0
        self._framed = False  # a length or chunks tell where the body ends
        self._head_done = False
        self._error: BaseException | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._read_timeout = 0.0
        self._deadline: float | None = None

    # -- the exchange ------------------------------------------------------------------------

    def begin(
        self,
        request: bytes,
        limit: int | None,
        decoders: Decoders | None,
        read_timeout: float,
        deadline: float | None,
    ) -> asyncio.Future[Answer]:
        """Send ``request``; the future of its answer. One timer watches it: it fires at the
        deadline or when no byte came for ``read_timeout``, and moves on while bytes keep
        coming (a bound method, not a closure: a closure that re-arms itself is a reference
        cycle, and each would hold its page until the collector's next full pass)."""
        waiter: asyncio.Future[Answer] = self._loop.create_future()
        self._waiter = waiter
        self._parser = httptools.HttpResponseParser(self)
        self._limit = limit
        self._decoders = decoders
        self._error = None
        self._reset_message()
        self.got_data = False
        self.reusable = False
        self.last_data = self._loop.time()
        self._read_timeout = read_timeout
        self._deadline = deadline
        self._timer = self._loop.call_at(self._due(), self._on_timer)
        assert self.transport is not None
        self.transport.write(request)
        return waiter

    def _due(self) -> float:
        due = self.last_data + self._read_timeout
        return due if self._deadline is None else min(due, self._deadline)

    def _on_timer(self) -> None:
        self._timer = None
        if self._waiter is None or self._waiter.done():
            return
        due = self._due()
        if self._loop.time() >= due:
            self.fail(TimeoutError())
        else:
            self._timer = self._loop.call_at(due, self._on_timer)

    def stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _reset_message(self) -> None:
        self._headers = CIMultiDict()
        self._head_size = 0
        self._fields = 0
        self._body = []
        self._size = 0
        self._framed = False
        self._head_done = False
        self._decoder = None

    def fail(self, exc: BaseException) -> None:
        """End the exchange with ``exc`` and the connection with it."""
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is None or self._waiter.done():
            return
        if exc is None and self._head_done and not self._framed:
            self._complete(keep=False)  # a body that ends with the connection
        else:
            self.fail(Dropped())

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # bytes nobody asked for: never trust this connection again
            self.close()
            return
        self.got_data = True
        self.last_data = self._loop.time()
        if not self._head_done:
            self._head_size += len(data)
            if self._head_size > MAX_HEAD:
                self.fail(Malformed("headers too large"))
                return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            self.fail(self._error or Malformed(str(exc)))
        except httptools.HttpParserError as exc:  # the upgrade error included
            self.fail(Malformed(str(exc)))

    # -- httptools callbacks -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._waiter is None:  # a second answer in the same bytes: nobody asked for it
            self._error = Malformed("an answer nobody asked for")
            raise self._error

    def on_status(self, status: bytes) -> None:
        if len(status) > MAX_FIELD:
            self._error = Malformed("status line too long")
            raise self._error

    def on_header(self, name: bytes, value: bytes) -> None:
        self._fields += 1
        if len(name) + len(value) > MAX_FIELD or self._fields > MAX_HEADERS:
            self._error = Malformed("headers too large")
            raise self._error
        self._headers.add(
            name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape")
        )

    def on_headers_complete(self) -> None:
        self._head_done = True
        headers = self._headers
        length = headers.get("Content-Length")
        # A length or a chunked coding ends the body; anything else ends with the connection.
        coding = headers.get("Transfer-Encoding", "").lower()
        self._framed = length is not None or "chunked" in coding
        if length is not None and self._limit is not None and int(length) > self._limit:
            self._error = TooLarge(self._limit, int(length))  # llhttp checked its digits
            raise self._error
        encoding = headers.get("Content-Encoding")
        if encoding and self._decoders is not None:
            try:  # decoded as it arrives: a bomb stops at the limit, not at its end
                self._decoder = self._decoders(encoding)
            except BaseException as exc:
                self._error = exc
                raise

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._limit is not None and self._size > self._limit:
            self._error = TooLarge(self._limit, None)
            raise self._error
        if self._decoder is None:
            self._body.append(body)
            return
        try:
            self._body.extend(self._decoder.feed(body))
        except BaseException as exc:
            self._error = exc
            raise

    def on_message_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:  # an interim answer (100 Continue): the real one follows
            self._reset_message()
            return
        self._complete(keep=self._parser.should_keep_alive())

    def _complete(self, *, keep: bool) -> None:
        if self._decoder is not None:
            try:
                self._body.append(self._decoder.flush())
            except BaseException as exc:
                self.fail(exc)
                return
        waiter, self._waiter = self._waiter, None
        self.reusable = keep
        if waiter is not None and not waiter.done():
            body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
            status = self._parser.get_status_code()
            waiter.set_result(
                Answer(status, CIMultiDictProxy(self._headers), body, self.peer_private)
            )
        self._body = []


async def _resolve(loop: asyncio.AbstractEventLoop, host: str, port: int) -> list[str]:
    """The addresses of ``host``: an address itself (no resolver thread, as aiohttp skips its
    resolver for one), else what ``getaddrinfo`` says."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise ConnectFailed(None) from None
    return [str(info[4][0]) for info in infos]


class LeanPool:
    """Kept-alive connections by scheme, host and port, at most ``max_connections`` open.

    ``policy``: the public-only pool's address policy (None: any address; ``any_policy`` then
    only tells whether the peer was private)."""

    def __init__(
        self,
        policy: guard.AddressPolicy | None,
        any_policy: guard.AddressPolicy,
        *,
        pins: guard.Pins,
        verify: bool,
        max_connections: int,
        keepalive_expiry: float,
    ) -> None:
        self._policy = policy
        self._any_policy = any_policy
        self._pins = pins
        self._verify = verify
        self._ssl: ssl.SSLContext | None = None
        self._max = max(1, max_connections)
        self._keepalive = keepalive_expiry
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._busy = 0
        self._waiting: deque[asyncio.Future[None]] = deque()
        self.requests = 0  # requests sent here (tests: the fast path really served them)

    async def get(
        self,
        parts: SplitResult,
        headers: Mapping[str, str],
        *,
        limit: int | None,
        decoders: Decoders | None,
        connect_timeout: float,
        read_timeout: float,
        deadline: float | None,
    ) -> Answer:
        """The whole answer to ``GET`` of ``parts`` (which ``sendable`` accepted); its body
        at most ``limit`` bytes as sent, and decoded by ``decoders``' for its encoding."""
        host = parts.hostname or ""
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
        key = (parts.scheme, host, port)
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        netloc = parts.netloc
        lines = "".join([f"{k}: {v}\r\n" for k, v in headers.items()])
        request = f"GET {target} HTTP/1.1\r\nHost: {netloc}\r\n{lines}\r\n".encode()
        self.requests += 1
        for attempt in (1, 2):
            conn = await self._acquire(key, connect_timeout)
            try:
                waiter = conn.begin(request, limit, decoders, read_timeout, deadline)
                try:
                    answer = await waiter
                finally:
                    conn.stop_timer()
            except BaseException as exc:
                self._finish(key, conn, keep=False)
                stale = isinstance(exc, Dropped) and conn.used and not conn.got_data
                if attempt == 1 and stale:
                    continue  # it had gone stale while idle: once more on a new connection
                raise
            self._finish(key, conn, keep=conn.reusable)
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    # -- the pool ----------------------------------------------------------------------------

    async def _acquire(self, key: tuple[str, str, int], connect_timeout: float) -> _Connection:
        """A connection for one exchange: an idle one of ``key`` or a new one. At most
        ``max_connections`` are in use at once (idle ones do not count, as in aiohttp)."""
        loop = asyncio.get_running_loop()
        while self._busy >= self._max:
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiting.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # woken and cancelled at once: pass the turn on
                raise
        self._busy += 1
        try:
            idle = self._idle.get(key)
            now = loop.time()
            while idle:
                conn = idle.pop()
                if not conn.closed and now - conn.idle_since < self._keepalive:
                    return conn
                conn.close()
            return await self._connect(key, connect_timeout)
        except BaseException:
            self._busy -= 1
            self._wake()
            raise

    def _finish(self, key: tuple[str, str, int], conn: _Connection, *, keep: bool) -> None:
        """The exchange is over: the connection goes back idle (``keep``) or is closed."""
        self._busy -= 1
        if keep and not conn.closed:
            conn.used = True
            conn.idle_since = asyncio.get_running_loop().time()
            self._idle.setdefault(key, []).append(conn)
        else:
            conn.close()
        self._wake()

    def _wake(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _connect(self, key: tuple[str, str, int], timeout: float) -> _Connection:
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        address, to_port = guard.pinned(self._pins, host, port)
        context = self._context() if scheme == "https" else None
        async with asyncio.timeout(timeout):
            found = guard.allowed(self._policy, await _resolve(loop, address, to_port))
            error: OSError | None = None
            for ip in dict.fromkeys(found):
                try:
                    transport, conn = await loop.create_connection(
                        lambda: _Connection(loop),
                        ip,
                        to_port,
                        ssl=context,
                        server_hostname=host if context is not None else None,
                    )
                    break
                except OSError as exc:
                    error = exc
            else:
                raise ConnectFailed(error)
        peer = transport.get_extra_info("peername")
        try:
            conn.peer_private = guard.peer_private(
                self._policy, self._any_policy, str(peer[0]) if peer else ""
            )
        except guard.AddressRefused:
            transport.close()
            raise
        return conn

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            if self._verify:
                self._ssl = ssl.create_default_context()
            else:
                self._ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                self._ssl.check_hostname = False
                self._ssl.verify_mode = ssl.CERT_NONE
        return self._ssl

    def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()

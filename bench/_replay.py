"""A lean replaying front for a fake portal: ``bench/sync_stalker.py --replay``.

On a two-core machine the fake portal (Starlette under uvicorn, the portal's logic in Python)
spends about 0.45 ms of CPU per page, 2.4-2.9 s over a full walk, on the cores the client
needs; a real portal's CPU is another machine's. This front answers every request it has seen
before from memory, after the latency the case asks for, for about a third of that CPU; a
request it has not seen goes to the fake (which runs at 0 ms) and its answer is kept. So a
sync run once through the front (the recording run) and then again (the measured run) is
answered by a portal that costs the client's machine almost nothing (docs/benchmarks.md,
"The portal's CPU").

- Answers are kept by method, request target and body, not by header; a GET answered 200 is
  kept, anything else is passed through each time. A Stalker token travels in a header, and
  the recorded handshake hands the client the recorded token, so the same walk asks the same
  targets. One client at a time: an answer recorded for one set of headers (a MAC, an
  ``Accept-Encoding``) is replayed to any other.
- ``/_control/stats`` answers the front's own counts in the fake's shape (``requests``,
  ``by_action``, ``first_at``, ``last_at``) plus ``hits``, ``misses`` and the fake's own
  stats under ``upstream``; ``/_control/reset-stats`` resets both; any other ``/_control/``
  call goes to the fake.
- No capacity model, no 429 and no errors: a case that needs them uses the fake itself.

    python bench/_replay.py --upstream http://127.0.0.1:PORT --latency-ms 20
    # prints "LISTENING <port>" once it accepts connections
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import http
import subprocess
import sys
import time
import urllib.parse
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Any

import httptools
import orjson

#: Headers not passed on: each hop has its own connection and framing.
_HOP = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"content-length", b"host"})


class Stats:
    def __init__(self) -> None:
        self.requests = 0
        self.hits = 0
        self.misses = 0
        self.by_action: Counter[str] = Counter()
        self.first_at: float | None = None
        self.last_at: float | None = None

    def count(self, target: bytes) -> None:
        now = time.time()
        self.requests += 1
        self.last_at = now
        if self.first_at is None:
            self.first_at = now
        query = target.partition(b"?")[2].decode("latin-1")
        params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        self.by_action[f"{params.get('type', '')}.{params.get('action', '')}"] += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "hits": self.hits,
            "misses": self.misses,
            "by_action": dict(self.by_action),
            "first_at": self.first_at,
            "last_at": self.last_at,
        }


def answer(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    """A whole HTTP/1.1 answer, framed by its length."""
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:  # a status Python has no name for
        reason = ""
    head = [f"HTTP/1.1 {status} {reason}".encode()]
    head += [name + b": " + value for name, value in headers if name.lower() not in _HOP]
    head.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(head) + b"\r\n\r\n" + body


class _Response:
    """httptools callbacks collecting one upstream answer."""

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.done = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.done = True


class Upstream:
    """One keep-alive connection to the fake, used by one downstream connection at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def ask(
        self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        lines = [method + b" " + target + b" HTTP/1.1", f"Host: {self.host}:{self.port}".encode()]
        lines += [name + b": " + value for name, value in headers if name.lower() not in _HOP]
        lines.append(b"Content-Length: " + str(len(body)).encode())
        writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        got = _Response()
        parser = httptools.HttpResponseParser(got)
        while not got.done:
            data = await reader.read(65536)
            if not data:
                self.streams = None
                raise ConnectionError("the fake closed the connection")
            parser.feed_data(data)
        if not parser.should_keep_alive():
            writer.close()
            self.streams = None
        return parser.get_status_code(), got.headers, b"".join(got.body)

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


class Front(asyncio.Protocol):
    """One client connection: answers from the cache after the latency, the rest through
    ``Upstream``, in the order asked."""

    def __init__(self, replay: Replay) -> None:
        self.replay = replay
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.upstream = Upstream(replay.host, replay.port)
        self.queue: collections.deque[tuple[bytes, bytes, list[tuple[bytes, bytes]], bytes]] = (
            collections.deque()
        )
        self.worker: asyncio.Task[None] | None = None
        self._reset()

    def _reset(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.worker is not None:
            self.worker.cancel()
        self.upstream.close()

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.close()

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        method = self.parser.get_method()
        request = (method, self.url, self.headers, b"".join(self.body))
        self._reset()
        if self.worker is None and not self.queue:
            # The common case, kept off the task machinery: one timer per answer.
            cached = self.replay.hit(method, request[1], request[3])
            if cached is not None:
                asyncio.get_running_loop().call_later(self.replay.latency, self._send, cached)
                return
        self.queue.append(request)
        if self.worker is None:
            self.worker = asyncio.ensure_future(self._work())

    def _send(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    async def _work(self) -> None:
        try:
            while self.queue:
                self._send(await self.replay.serve(self.upstream, *self.queue.popleft()))
        except (ConnectionError, OSError):
            if self.transport is not None:
                self.transport.close()
        finally:
            self.worker = None


class Replay:
    def __init__(self, upstream: str, latency_ms: float) -> None:
        parts = urllib.parse.urlsplit(upstream)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.latency = latency_ms / 1000
        self.cache: dict[tuple[bytes, bytes, bytes], bytes] = {}
        self.stats = Stats()

    def hit(self, method: bytes, target: bytes, body: bytes) -> bytes | None:
        """The kept answer to a request, counted as served; None when there is none."""
        cached = self.cache.get((method, target, body))
        if cached is not None:
            self.stats.count(target)
            self.stats.hits += 1
        return cached

    async def serve(
        self,
        upstream: Upstream,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> bytes:
        """The answer to one request that could not be answered at once."""
        path = target.partition(b"?")[0]
        if path.startswith(b"/_control/"):
            if path == b"/_control/stats":
                _status, _headers, upstream_stats = await upstream.ask(method, target, headers, b"")
                stats = {**self.stats.to_dict(), "upstream": orjson.loads(upstream_stats)}
                return answer(200, [(b"Content-Type", b"application/json")], orjson.dumps(stats))
            if path == b"/_control/reset-stats":
                self.stats = Stats()
            status, got_headers, got = await upstream.ask(method, target, headers, body)
            return answer(status, got_headers, got)
        cached = self.hit(method, target, body)
        if cached is None:
            self.stats.count(target)
            self.stats.misses += 1
            status, got_headers, got = await upstream.ask(method, target, headers, body)
            cached = answer(status, got_headers, got)
            if method == b"GET" and status == 200:
                self.cache[(method, target, body)] = cached
        await asyncio.sleep(self.latency)
        return cached


class ReplayPortal:
    """The fake (``ServerProcess``, run at 0 ms) behind a front in its own process that adds
    ``latency_ms``; as a context manager, like the fake: ``url``, and ``proc`` the front's
    process; ``processes()`` both, for their CPU."""

    def __init__(self, fake: Any, latency_ms: float) -> None:
        self.fake = fake
        self.latency_ms = latency_ms
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> ReplayPortal:
        self.fake.__enter__()
        try:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, str(Path(__file__).resolve())),
                    *("--upstream", self.fake.url, "--latency-ms", str(self.latency_ms)),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert self.proc.stdout is not None
            line = self.proc.stdout.readline()
            if not line.startswith("LISTENING "):
                raise RuntimeError(f"the replay front did not start: {line!r}")
            self.url = f"http://127.0.0.1:{int(line.split()[1])}"
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
        self.fake.__exit__(kind, exc, tb)

    def processes(self) -> list[int]:
        assert self.proc is not None and self.fake.proc is not None
        return [self.proc.pid, self.fake.proc.pid]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True, help="the fake portal's base URL")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    replay = Replay(args.upstream, args.latency_ms)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Front(replay), "127.0.0.1", args.port, backlog=2048)
    port = server.sockets[0].getsockname()[1]
    print(f"LISTENING {port}", flush=True)
    with contextlib.suppress(asyncio.CancelledError):
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())

"""Shared upstreams: one provider connection per live channel, fanned out to every viewer.

A ``Channel`` pumps its source (the upstream's chunks, or ffmpeg's output) and hands each chunk
to every ``Viewer``'s queue: the same ``bytes`` object, so a viewer costs a deque of references,
not a copy. A viewer's queue is bounded (``buffer_bytes``); a viewer that falls further behind
is dropped at once and the pump never waits for anyone. When the source ends (the provider
closed, died, or stalled past its read timeout), every viewer sees the end of its body. When the
last viewer leaves, the channel closes its source after ``linger_s`` (a viewer coming back within
that window, a quick zap back, finds it still open).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("iptvsync.relay")

DEFAULT_BUFFER_BYTES = 4 * 1024 * 1024
DEFAULT_LINGER_S = 1.0
#: The newest bytes a channel keeps for viewers that join it: a joining player gets data at
#: once instead of waiting for the upstream's next chunk (and a decoder finds a keyframe sooner).
PRIME_BYTES = 256 * 1024


@dataclass(eq=False)
class Viewer:
    """One player's view of a channel."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    user_id: int | None = None
    username: str | None = None
    since: float = field(default_factory=time.time)
    sent: int = 0
    dropped: bool = False
    _queue: deque[bytes | None] = field(default_factory=deque, repr=False)
    _buffered: int = 0
    _wake: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    #: Set when the viewer is dropped or stopped: its response stops at once.
    kicked: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _closed: bool = False

    def offer(self, chunk: bytes, limit: int) -> bool:
        """Queue ``chunk``; False (and the viewer is finished) when it is too far behind."""
        if self._closed:
            return False
        if self._buffered + len(chunk) > limit:
            self.dropped = True
            self.finish()
            return False
        self._queue.append(chunk)
        self._buffered += len(chunk)
        self._wake.set()
        return True

    def finish(self) -> None:
        """End this viewer's body after what it already has (or at once when dropped)."""
        if self._closed:
            return
        self._closed = True
        if self.dropped:
            self._queue.clear()
            self._buffered = 0
            self.kicked.set()
        self._queue.append(None)
        self._wake.set()

    async def body(self) -> AsyncIterator[bytes]:
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            chunk = self._queue.popleft()
            if chunk is None:
                return
            self._buffered -= len(chunk)
            self.sent += len(chunk)
            yield chunk


Source = AsyncIterator[bytes]
TS_PACKET = 188


def ts_sync(data: bytes) -> int:
    """Where the first whole MPEG-TS packet starts in ``data`` (two sync bytes 188 apart), so a
    joining player's first byte is a packet's; 0 when none is found (not TS: sent as is)."""
    for start in range(min(TS_PACKET, len(data))):
        if data[start] == 0x47 and (
            start + TS_PACKET >= len(data) or data[start + TS_PACKET] == 0x47
        ):
            return start
    return 0


class Channel:
    """One upstream and its viewers. ``start`` once; viewers ``join`` and ``leave``."""

    def __init__(
        self,
        key: tuple[Any, ...],
        source: Source,
        *,
        on_close: Callable[[Channel], Awaitable[None]],
        buffer_bytes: int = DEFAULT_BUFFER_BYTES,
        linger_s: float = DEFAULT_LINGER_S,
        info: dict[str, Any] | None = None,
    ) -> None:
        self.key = key
        self.id = uuid.uuid4().hex
        self.info = info or {}
        self.since = time.time()
        self.bytes = 0
        self.viewers: dict[str, Viewer] = {}
        self.closed = False
        self._source = source
        self._on_close = on_close
        self._buffer = buffer_bytes
        self._linger_s = linger_s
        self._linger: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._recent: deque[bytes] = deque()
        self._recent_bytes = 0
        self._prime: bytes | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._pump(), name=f"relay-{self.id[:8]}")

    def join(self, viewer: Viewer) -> None:
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        if self._recent:
            viewer.offer(self._primer(), self._buffer)
        self.viewers[viewer.id] = viewer

    def leave(self, viewer: Viewer) -> None:
        self.viewers.pop(viewer.id, None)
        viewer.finish()
        if not self.viewers and not self.closed and self._linger is None:
            loop = asyncio.get_running_loop()
            self._linger = loop.call_later(self._linger_s, self.stop)

    def stop(self) -> None:
        """Close the upstream now; every viewer sees the end of its body."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def wait_closed(self) -> None:
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._task)

    async def _pump(self) -> None:
        try:
            async for chunk in self._source:
                self.bytes += len(chunk)
                self._remember(chunk)
                for viewer in list(self.viewers.values()):
                    if not viewer.offer(chunk, self._buffer):
                        self.viewers.pop(viewer.id, None)
                        log.info("relay: dropped a viewer that could not keep up")
                if not self.viewers and self._linger is None:
                    self.leave_none()
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # the provider died or stalled: viewers see the end
            log.info("relay: upstream ended: %s", type(exc).__name__)
        finally:
            self.closed = True
            for viewer in list(self.viewers.values()):
                viewer.finish()
            self.viewers.clear()
            aclose = getattr(self._source, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
            await self._on_close(self)

    def _primer(self) -> bytes:
        """The newest bytes as one piece, from a TS packet boundary: one send per joining
        viewer, and viewers joining between two chunks share the same object. At most half
        a viewer's buffer: a primer that filled it would have the viewer dropped by the next
        chunk if that came before its first send."""
        if self._prime is None:
            joined = b"".join(self._recent)[-(self._buffer // 2) :]
            self._prime = joined[ts_sync(joined) :]
        return self._prime

    def _remember(self, chunk: bytes) -> None:
        self._prime = None
        self._recent.append(chunk)
        self._recent_bytes += len(chunk)
        while self._recent_bytes > PRIME_BYTES and len(self._recent) > 1:
            self._recent_bytes -= len(self._recent.popleft())

    def leave_none(self) -> None:
        """Every viewer was dropped: close after the linger like a last one leaving."""
        loop = asyncio.get_running_loop()
        self._linger = loop.call_later(self._linger_s, self.stop)

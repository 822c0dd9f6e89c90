"""A portal's guide decoded and stored in the run's write process (docs/sync.md, "The write
process").

A 3-day guide of 5,000 channels is ~255k programmes. Decoded and inserted in the sync's own
process, they cost its one busy core ~10 µs each while the catalogue walk waits for it
(docs/benchmarks.md, issues 16 and 21). So when the client can hand over its raw answer
(``providers/base.GuideOffload``), the answer's bytes go to the write process instead, in
chunks of ~256 KB, and the child runs the client's own decoder and writes the programmes in
batches, keeping the same window and the same per-channel first start that ``store_guide``
keeps here. Pickling bytes costs next to nothing; pickling a decoded programme cost about
what its insert does, which is why decoded programmes are not sent.

The ``sink_*`` functions it calls there are in ``sync/batch_write.py``, which the child
imports (this module is the parent's side).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from iptvsync.sync.background import OneInFlight, in_db_thread
from iptvsync.sync.batch_write import sink_close, sink_drop, sink_feed, sink_open, sink_tokens
from iptvsync.sync.write_process import RunWriter

#: Bytes sent to the child at a time: a few hundred calls for a 60 MB guide.
CHUNK = 256 * 1024
#: A guide for fewer channels is decoded here: a child is not worth starting for it.
MIN_CHANNELS = 500


class ProcessOffload:
    """The sync's side of ``GuideOffload``: takes a large guide's decoder to the write
    process, then its bytes. ``store_guide`` reads ``stored`` and ``earliest`` after the
    stream ends."""

    def __init__(
        self,
        writer: RunWriter,
        provider_id: int,
        now: datetime,
        window: tuple[timedelta, timedelta],
    ) -> None:
        self._writer = writer
        self.provider_id = provider_id
        self.now = now
        self.first: datetime = now - window[0]  # the window kept, as ``store_guide`` keeps it
        self.last: datetime = now + window[1]
        self._token = next(sink_tokens)
        self._open = False
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._writing: OneInFlight[None] = OneInFlight()
        self.stored = 0
        self.earliest: dict[str, datetime] = {}

    async def _call(self, fn: Any, *args: Any) -> Any:
        return await in_db_thread(self._writer.call_process, fn, *args)

    async def start(self, decoder: Any) -> bool:
        if len(getattr(decoder, "channels", ())) < MIN_CHANNELS:
            return False
        if not await asyncio.to_thread(self._writer.ensure_process):
            return False
        await self._call(sink_open, self._token, decoder, self.provider_id, self.first, self.last)
        self._open = True
        return True

    async def feed(self, data: bytes) -> None:
        self._buffer.append(data)
        self._buffered += len(data)
        if self._buffered >= CHUNK:
            await self._send()

    async def _send(self) -> None:
        data = b"".join(self._buffer)
        self._buffer, self._buffered = [], 0
        # One chunk in the child while the next is read (``OneInFlight``).
        await self._writing.submit(self._call(sink_feed, self._token, data))

    async def finish(self) -> tuple[int, int]:
        if self._buffer:
            await self._send()
        await self._writing.wait()
        stored, earliest, counts = await self._call(sink_close, self._token)
        self._open = False
        self.stored, self.earliest = stored, earliest
        seen, broken = counts
        return seen, broken

    async def abort(self) -> None:
        """After a failed guide: the child forgets it (what it wrote, ``store_guide``
        removes, as it does its own)."""
        if self._open:
            self._open = False
            try:
                await self._writing.wait()
            finally:
                await self._call(sink_drop, self._token)

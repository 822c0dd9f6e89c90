"""The portal's all-channels guide cut into runs of whole channels, each decoded at once.

``get_epg_info`` answers ``{"js":{"data":{"<ch_id>":[...],"<ch_id>":[...],...}}}``: tens of MB
for thousands of channels, read as it arrives (``guide.py``). ijson costs ~3.5 µs a programme
(~60 ns a byte, every row's 17 fields built one event at a time); orjson ~2 ns a byte. Portals
write the guide compact (PHP ``json_encode``), so the last ``],"`` of the buffer is tried as a
cut: the text before it parses as ``{...}`` only when that ``],"`` ends a channel's list at the
top level of ``data`` (inside a string or a nested value the prefix is unbalanced and orjson
refuses it), and then the rest starts with the next channel's key. A body that does not start
with the compact prefix, or where no cut is found in ``MAX_PENDING`` bytes (pretty-printed, or
one huge channel), goes on through ijson from where the cutting stopped: the plain path,
``tests/providers/stalker/test_guide_split.py`` checks both give the same channels.

A run is decoded by orjson into dicts, or, in ``GuideDecoder``, into small structs of the
values the parse reads (``parse/guide_rows.py``, the one fast path, held to orjson's by
``test_guide_rows.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, tzinfo
from typing import Any

import ijson
import orjson

from iptvsync.errors import ProviderBadResponse
from iptvsync.records import ProgrammeRecord

Rows = tuple[str, list[Any]]
#: How a compact guide starts; anything else is read by ijson.
PREFIX = b'{"js":{"data":{'
_CUT = b'],"'
#: A byte-order mark and whitespace before the JSON.
_LEAD = b"\xef\xbb\xbf \r\n\t"


class GuideSplitter:
    """Feed the bytes after ``PREFIX``; get the channels completed so far. ``loads`` decodes a
    run: orjson's, or ``guide_rows.loads_run`` (rows as structs, ``GuideDecoder``'s)."""

    MAX_PENDING = 8 << 20
    TRIES = 8

    def __init__(self, loads: Callable[[bytes], Any] = orjson.loads) -> None:
        self.pending = b""
        self._loads = loads

    def feed(self, data: bytes) -> dict[str, Any] | None:
        """Whole channels now complete (maybe none); None when this input needs ijson."""
        buf = self.pending + data
        cut = buf.rfind(_CUT)
        for _ in range(self.TRIES):
            if cut < 0:
                break
            try:
                run = self._loads(b"{" + buf[: cut + 1] + b"}")
            except orjson.JSONDecodeError:
                cut = buf.rfind(_CUT, 0, cut)
                continue
            self.pending = buf[cut + 2 :]
            return run
        self.pending = buf
        return None if len(buf) > self.MAX_PENDING else {}

    def close(self) -> dict[str, Any]:
        """The last channels: ``pending`` is the document's tail (``...]}}}``, or more keys)."""
        try:
            doc = orjson.loads(PREFIX + self.pending)
        except orjson.JSONDecodeError as exc:
            raise ProviderBadResponse("the portal's guide is not valid JSON") from exc
        data = doc.get("js", {}).get("data") if isinstance(doc, dict) else None
        return data if isinstance(data, dict) else {}


def _pairs(run: dict[str, Any]) -> list[Rows]:
    return [(str(k), v if isinstance(v, list) else []) for k, v in run.items()]


async def guide_channels(head: bytes, chunks: AsyncIterator[bytes]) -> AsyncIterator[Rows]:
    """``(channel id, rows)`` of the guide whose first bytes are ``head`` (JSON, maybe after a
    BOM or whitespace) and the rest ``chunks``, in document order: ``GuideDecoder``'s cut,
    without the programmes."""
    decoder = GuideDecoder({}, UTC, orjson.loads)
    for pair in decoder.pairs(head):
        yield pair
    async for chunk in chunks:
        for pair in decoder.pairs(chunk):
            yield pair
    for pair in decoder.close_pairs():
        yield pair


class GuideDecoder:
    """The all-channels answer's bytes in, programmes out: ``guide_channels`` as a push
    parser (the cut and a run decoder while it holds, then ijson), the channel map and
    ``parse_programme``. Pure: no I/O and no clock, and it pickles before its first ``feed``,
    so a sync may run it in its write process, next to the writes (``sync/guide_sink.py``).
    ``GuideReader`` runs it here otherwise: one decoder for both places. ``loads``: the run
    decoder; when not given, ``guide_rows.run_loader()``'s, chosen at the first bytes where
    they are decoded (msgspec is imported there only: not by a sync's start, nor by a parent
    that hands its guide to the write process)."""

    def __init__(
        self, channels: Mapping[str, str], zone: tzinfo, loads: Callable[[bytes], Any] | None = None
    ) -> None:
        self.channels = dict(channels)  # channel id → guide key, one channel per key
        self.loads = loads
        self.zone = zone
        self.broken = 0  # programmes dropped for broken times
        self.seen = 0  # channels the answer held (0: the caller falls back to the short EPG)
        self._done: set[str] = set()
        self._head = b""
        self._splitter: GuideSplitter | None = None
        self._items: list[Rows] | None = None  # ijson's output, when it took over
        self._ijson: Any = None

    def feed(self, data: bytes) -> list[ProgrammeRecord]:
        return self.programmes_of(self.pairs(data))

    def close(self) -> list[ProgrammeRecord]:
        return self.programmes_of(self.close_pairs())

    def pairs(self, data: bytes) -> list[Rows]:
        """The channels ``data`` completed (maybe none)."""
        if self._ijson is not None:
            return self._send(data)
        if self._splitter is None:
            self._head = (self._head + data).lstrip(_LEAD)
            if len(self._head) < len(PREFIX):
                return []  # not enough of the answer to tell its shape
            data, self._head = self._head, b""
            if not data.startswith(PREFIX):
                return self._to_ijson(data)
            if self.loads is None:
                from iptvsync.providers.stalker.parse.guide_rows import run_loader

                self.loads = run_loader()
            self._splitter = GuideSplitter(self.loads)
            data = data[len(PREFIX) :]
        run = self._splitter.feed(data)
        if run is None:  # no cut in megabytes: ijson from here
            return self._to_ijson(PREFIX + self._splitter.pending)
        return _pairs(run)

    def close_pairs(self) -> list[Rows]:
        """The last channels, at the end of the answer."""
        if self._ijson is not None:
            try:
                self._ijson.close()
            except ijson.JSONError as exc:
                raise ProviderBadResponse("the portal's guide is not valid JSON") from exc
            return self._drain()
        if self._splitter is None:
            if not self._head:
                return []
            return self._to_ijson(self._head) + self.close_pairs()
        return _pairs(self._splitter.close())

    def _to_ijson(self, data: bytes) -> list[Rows]:
        self._items = ijson.sendable_list()
        self._ijson = ijson.kvitems_coro(self._items, "js.data")
        return self._send(data)

    def _send(self, data: bytes) -> list[Rows]:
        try:
            self._ijson.send(data)
        except ijson.JSONError as exc:
            raise ProviderBadResponse("the portal's guide is not valid JSON") from exc
        return self._drain()

    def _drain(self) -> list[Rows]:
        assert self._items is not None
        pairs = [(str(k), v if isinstance(v, list) else []) for k, v in self._items]
        del self._items[:]
        return pairs

    def programmes_of(self, pairs: list[Rows]) -> list[ProgrammeRecord]:
        """The programmes of whole channels (``(channel id, rows)``), in order."""
        from iptvsync.providers.stalker.parse.guide_rows import parse_row

        out: list[ProgrammeRecord] = []
        zone, done = self.zone, self._done
        for ch_id, rows in pairs:
            self.seen += 1
            key = self.channels.get(ch_id)
            if key is None or key in done:
                continue
            done.add(key)
            for row in rows:
                record = parse_row(row, key, zone)
                if record is None:
                    self.broken += 1
                else:
                    out.append(record)
        return out

"""The portal's own programme guide (docs/stalker.md §5.6), as ``StalkerClient.guide()`` streams it.

1. ``type=itv&action=get_epg_info&period=<hours>``: every channel's programmes for a period in
   one answer (``{"js": {"data": {"<ch_id>": [...]}}}``). Tens of MB for thousands of channels,
   so it is parsed as it arrives, a run of whole channels at a time (``guide_split.py``: orjson
   on compact answers, ijson otherwise), never held whole.
2. Where the portal has no such guide (an empty or unknown answer), the per-channel short EPG
   ``get_short_epg&ch_id=<id>&size=<n>``, a few channels at a time (``guide_workers``), every
   request inside the provider's politeness budget like any other.

Programmes are keyed by the channel's ``xmltv_id`` (its ``epg_id``), as XMLTV guides are, so
they land in the same guide tables and are served by the same routes. Several channels sharing
one ``xmltv_id`` are read once. Times are UTC (``parse/epg.py``); programmes with broken times
are dropped and counted in ``notes`` (a run warning). An action that errors or times out raises
its typed error: the engine turns it into a warning and the catalogue is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from iptvsync.errors import ProviderBadResponse, ProviderError, ProviderTimeout, ProviderUnreachable
from iptvsync.providers.base import GuideOffload
from iptvsync.providers.budget import Outcome
from iptvsync.providers.http import BodyKind
from iptvsync.providers.stalker import parse
from iptvsync.providers.stalker.guide_split import GuideDecoder, Rows
from iptvsync.providers.stalker.parse.epg import parse_programme
from iptvsync.records import ProgrammeRecord

if TYPE_CHECKING:
    from iptvsync.providers.stalker.client import StalkerClient

_HEAD_LIMIT = 65_536


def zone_of(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


class GuideReader:
    """One guide download for a connected ``StalkerClient`` (see the module doc)."""

    def __init__(self, client: StalkerClient, channels: Mapping[str, str], notes: list[str]):
        self._client = client
        # One channel id per guide key: channels sharing an xmltv_id are read once.
        self._channels: dict[str, str] = {}
        keys: set[str] = set()
        for ch_id, key in channels.items():
            if key not in keys:
                keys.add(key)
                self._channels[ch_id] = key
        self._notes = notes
        self._zone = zone_of(client.identity.timezone)

    async def programmes(
        self, offload: GuideOffload | None = None
    ) -> AsyncIterator[ProgrammeRecord]:
        """The guide's programmes. With ``offload``, a streamed all-channels answer may be
        decoded (and stored) elsewhere: its programmes are then not yielded here."""
        decoder = GuideDecoder(self._channels, self._zone)
        broken = 0
        elsewhere: bool | None = None  # decided at the answer's first bytes
        try:
            async for item in self._bulk():
                if not isinstance(item, bytes):  # the answer read the usual way
                    for record in decoder.programmes_of([item]):
                        yield record
                    continue
                if elsewhere is None:
                    elsewhere = offload is not None and await offload.start(decoder)
                if elsewhere:
                    assert offload is not None
                    await offload.feed(item)
                else:
                    for record in decoder.feed(item):
                        yield record
            if elsewhere:
                assert offload is not None
                decoder.seen, decoder.broken = await offload.finish()
            else:
                for record in decoder.close():
                    yield record
            broken = decoder.broken
            if not decoder.seen:
                async for ch_id, rows in self._short():
                    key = self._channels[ch_id]
                    for row in rows:
                        short = parse_programme(row, key, self._zone)
                        if short is None:
                            broken += 1
                        else:
                            yield short
        finally:
            if broken:
                self._notes.append(
                    f"epg_bad_times: {broken} programmes of the portal's guide had broken "
                    f"times and were dropped"
                )

    # -- the all-channels guide ------------------------------------------------------------

    def _bulk_params(self) -> dict[str, str]:
        period = self._client.settings.guide_period_h
        return {"type": "itv", "action": "get_epg_info", "period": str(period)}

    async def _bulk(self) -> AsyncIterator[bytes | Rows]:
        """The answer's bytes as they arrive when it is JSON; else its channels, read the
        usual way (that re-authenticates once)."""
        c = self._client
        await c.connect()
        params = self._bulk_params()
        url, headers, _ = c.request_parts(params)
        timeout = c.settings.guide_timeout_s
        async with c.budget.slot() as slot:
            c.count_request()
            try:
                async with c.http.stream(
                    url, kind=BodyKind.GUIDE, headers=headers, read_timeout=timeout
                ) as response:
                    status = response.status_code
                    if status != 200:
                        slot.record(Outcome.SERVER_ERROR if status >= 500 else Outcome.NEUTRAL)
                        message = f"the portal's guide answered HTTP {status}"
                        if status >= 500:
                            raise ProviderUnreachable(message)
                        raise ProviderBadResponse(message)
                    chunks = response.iter_chunks()
                    head = b""
                    while not head.strip():
                        chunk = await anext(chunks, None)
                        if chunk is None:
                            break
                        head += chunk
                    if not head.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"{"):
                        # Not JSON: an auth failure or an error page.
                        slot.record(Outcome.NEUTRAL)
                        fallback = True
                    else:
                        fallback = False
                        yield head
                        async for chunk in chunks:
                            yield chunk
                        slot.record(Outcome.OK)
            except ProviderTimeout as exc:
                slot.record(Outcome.TIMEOUT)
                raise ProviderTimeout(
                    "the portal's guide (get_epg_info) did not answer in time"
                ) from exc
            except (ProviderUnreachable, ProviderBadResponse):
                raise
            except ProviderError:
                slot.record(Outcome.NEUTRAL)
                raise
        if fallback:
            env = await c.call(params)
            data = env.js.get("data") if isinstance(env.js, dict) else None
            if isinstance(data, dict):
                for ch_id, rows in data.items():
                    yield str(ch_id), rows if isinstance(rows, list) else []

    # -- the short EPG, channel by channel ---------------------------------------------------

    async def _short(self) -> AsyncIterator[Rows]:
        c = self._client
        pending = list(self._channels)
        queue: asyncio.Queue[Rows | BaseException | None] = asyncio.Queue(maxsize=64)
        size = str(c.settings.guide_short_size)

        async def worker() -> None:
            while pending:
                ch_id = pending.pop()
                params = {"type": "itv", "action": "get_short_epg", "ch_id": ch_id, "size": size}
                env = await c.call(params)
                try:
                    rows = parse._rows(env.js)
                except ProviderBadResponse:
                    rows = []
                await queue.put((ch_id, rows))

        async def run(workers: int) -> None:
            try:
                await asyncio.gather(*(worker() for _ in range(workers)))
                await queue.put(None)
            except BaseException as exc:  # handed to the consumer, raised there
                await queue.put(exc)

        workers = max(1, min(c.settings.guide_workers, c.budget.limit))
        task = asyncio.create_task(run(workers))
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


def guide_stream(
    client: StalkerClient,
    channels: Callable[[], Any],
    notes: list[str],
    offload: GuideOffload | None = None,
) -> AsyncIterator[ProgrammeRecord]:
    """``StalkerClient.guide()``'s stream: the channel map is read when the stream starts."""

    async def stream() -> AsyncIterator[ProgrammeRecord]:
        mapping = await channels()
        reader = GuideReader(client, mapping, notes)
        async for record in reader.programmes(offload):
            yield record

    return stream()


__all__ = ["GuideReader", "guide_stream", "zone_of"]

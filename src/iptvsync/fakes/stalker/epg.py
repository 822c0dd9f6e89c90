"""The fake portal's programme guide (docs/stalker.md §5.6): ``get_epg_info`` (every channel's
programmes for a period, ``{"js": {"data": {"<ch_id>": [...]}}}``) and ``get_short_epg``.

Programme rows carry Unix ``start_timestamp`` / ``stop_timestamp`` and ``time`` / ``time_to``
strings in the ``timezone`` cookie's zone, as stock servers write them. Switches:
``epg_info`` (False: the action is unknown, an empty ``js``), ``epg_fail`` (``"500"``: HTTP
500; ``"timeout"``: the answer comes after ``epg_delay_s``; ``"truncate"``: the all-channels
answer ends half-way, as a cut connection does), ``epg_timestamps`` (False: only
the local time strings), ``epg_broken_every`` (every Nth programme has broken times).
Only channels with an ``xmltv_id`` have a guide (stock answers ``[]`` for the others).

Programme ``id``s are unique across channels, as a stock portal's ``epg`` table ids are
(``programme_id`` / ``programme_of``); ``mark_archive`` is 1 only on programmes that ended
within the channel's archive, as stock marks them (the archive's own module: ``archive.py``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from starlette.responses import Response, StreamingResponse

from iptvsync.fakes.items import FakeChannel
from iptvsync.fakes.stalker.payloads import _PROGRAMMES, _Ctx
from iptvsync.fakes.stalker.values import _int_or_none

_LENGTHS_MIN = (30, 60, 90, 120)
#: Programmes start on 5-minute marks, as a real guide's do (the reference's rows: 20:00 to
#: 21:00), each channel's schedule shifted by its own number of marks. They once started at
#: any second, so every channel's times were its own: a client's caches of converted times
#: (``parse/epg.py``, ``store/bulk.py``), built for real guides, then missed on half its
#: times (docs/benchmarks.md, session 10).
_MARK_S = 300
#: Programme ids: the slot number times this plus the channel id (unique, and read back).
_ID_BASE = 1_000_000


def programme_id(channel: FakeChannel, k: int) -> int:
    return k * _ID_BASE + channel.id


def programme_of(programme: int) -> tuple[int, int]:
    """(channel id, slot number) of a programme id."""
    return programme % _ID_BASE, programme // _ID_BASE


def slot_times(channel: FakeChannel, k: int) -> tuple[int, int]:
    """Unix (start, stop) of the channel's k-th programme slot."""
    length, offset = _schedule(channel)
    begin = offset + k * length
    return begin, begin + length


def _schedule(channel: FakeChannel) -> tuple[int, int]:
    """The channel's programme length and its first slot's offset (seconds, from the epoch)."""
    length = _LENGTHS_MIN[channel.id % 4] * 60
    return length, (channel.id * 7919) % (length // _MARK_S) * _MARK_S


def archived(channel: FakeChannel, begin: int, end: int, now: float) -> bool:
    """Whether the portal keeps a recording: ended, and within the channel's archive days."""
    return channel.archive and end <= now and begin >= now - channel.archive_days * 86400


def _zone(ctx: _Ctx) -> Any:
    return _zone_named(ctx.request.cookies.get("timezone", "") or "UTC")


def _zone_named(name: str) -> Any:
    try:
        return ZoneInfo(name.replace("%2F", "/"))
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def programme_rows(
    channel: FakeChannel,
    start: float,
    until: float,
    *,
    zone: Any = UTC,
    timestamps: bool = True,
    broken_every: int | None = None,
    limit: int | None = None,
    now: float | None = None,
    times: dict[int, tuple[str, str]] | None = None,
) -> list[dict[str, Any]]:
    """The channel's programmes from the one running at ``start`` until ``until``
    (``now`` for ``mark_archive``: the wall clock when not given). ``times``: the local time
    texts already made for ``zone`` (``_local_times``), shared by the channels of one answer."""
    clock = time.time() if now is None else now
    if times is None:
        times = {}
    length, offset = _schedule(channel)
    first = int((start - offset) // length)
    rows: list[dict[str, Any]] = []
    k = first
    while True:
        begin = offset + k * length
        if begin >= until or (limit is not None and len(rows) >= limit):
            break
        end = begin + length
        start_text, start_clock = times.get(begin) or _local_times(times, begin, zone)
        stop_text, stop_clock = times.get(end) or _local_times(times, end, zone)
        row: dict[str, Any] = {
            "id": str(programme_id(channel, k)),
            "ch_id": str(channel.id),
            "time": start_text,
            "time_to": stop_text,
            "duration": length,
            "name": _PROGRAMMES[(channel.id * 31 + k) % len(_PROGRAMMES)],
            "descr": "",
            "real_id": f"{channel.id}_{begin}",
            "category": "",
            "director": "",
            "actor": "",
            "start_timestamp": begin,
            "stop_timestamp": end,
            "t_time": start_clock,
            "t_time_to": stop_clock,
            "mark_memo": 0,
            "mark_archive": 1 if archived(channel, begin, end, clock) else 0,
        }
        if not timestamps:
            del row["start_timestamp"], row["stop_timestamp"]
        if broken_every and k % broken_every == 0:
            row["time"] = row["time_to"] = "0000-00-00 00:00:00"
            if timestamps:
                row["start_timestamp"], row["stop_timestamp"] = end, begin
        rows.append(row)
        k += 1
    return rows


def _local_times(times: dict[int, tuple[str, str]], at: int, zone: Any) -> tuple[str, str]:
    """``time`` and ``t_time`` of a Unix time in ``zone``, kept in ``times``. Slots start on
    5-minute marks, so an answer's 285k programmes share about a thousand times. Made once
    each, the 3-day answer of 5,000 channels takes 1.0-1.4 CPU-seconds instead of 4.7-7.6:
    the fake is one process on the client's two cores in the bench, and its guide was
    charged to the client (docs/benchmarks.md, session 26)."""
    local = datetime.fromtimestamp(at, zone)
    made = times[at] = (local.strftime("%Y-%m-%d %H:%M:%S"), local.strftime("%H:%M"))
    return made


async def epg_info(ctx: _Ctx) -> Response:
    """``type=itv&action=get_epg_info&period=<hours>``: every guided channel at once."""
    cfg = ctx.cfg
    if not cfg.epg_info:
        return ctx.reply([])  # an unknown action on this portal
    if cfg.epg_fail == "500":
        return Response(b"<html><body>500 Internal Server Error</body></html>", 500)
    if cfg.epg_fail == "timeout":
        await asyncio.sleep(cfg.epg_delay_s)
    period_h = max(1, min(_int_or_none(ctx.params.get("period", "")) or 3, 24 * 14))
    zone = _zone(ctx)
    stats = ctx.portal.stats
    rendered = ctx.portal.guide_renders.get(_render_key(cfg, period_h, zone))
    if rendered is not None:
        parts, served = rendered
        stats.items_served += served

        async def replay() -> AsyncIterator[bytes]:
            for part in parts:
                yield part
                await asyncio.sleep(0)

        return StreamingResponse(replay(), 200, media_type="application/json")
    channels = guide_parts(ctx.portal, cfg, period_h, zone)
    half = len(_guided(ctx.portal)) // 2

    async def body() -> AsyncIterator[bytes]:
        # Written channel by channel: the fake's memory stays flat whatever the guide's size.
        for index, (part, rows) in enumerate(channels):
            stats.items_served += rows
            yield part
            if cfg.epg_fail == "truncate" and index > half:
                return  # the connection's end half-way: no closing brackets
            if index % 10 == 9:
                # A few ms of work at a time, then the other requests: a real portal builds
                # this answer in one of its PHP workers while the others serve the walk's
                # pages. Every 200 channels (~0.1 s) stalled the walk's pages in batches, and
                # a client that measures latency (the politeness budget) saw a slow portal.
                await asyncio.sleep(0)

    return StreamingResponse(body(), 200, media_type="application/json")


def _guided(portal: Any) -> list[Any]:
    return [c for c in portal.catalogue.channels if c.xmltv_id]


def _render_key(cfg: Any, period_h: int, zone: Any) -> tuple[Any, ...]:
    return (period_h, str(zone), cfg.epg_timestamps, cfg.epg_broken_every)


def guide_parts(portal: Any, cfg: Any, period_h: int, zone: Any) -> Iterator[tuple[bytes, int]]:
    """The all-channels answer as it is written: its opening, then one part per guided
    channel (the channel's bytes and its programme count), its closing last."""
    now = portal.clock()
    until = now + period_h * 3600
    times: dict[int, tuple[str, str]] = {}
    yield b'{"js":{"data":{', 0
    for index, channel in enumerate(_guided(portal)):
        rows = programme_rows(
            channel,
            now,
            until,
            zone=zone,
            timestamps=cfg.epg_timestamps,
            broken_every=cfg.epg_broken_every,
            now=now,
            times=times,
        )
        lead = b"," if index else b""
        yield lead + orjson.dumps(str(channel.id)) + b":" + orjson.dumps(rows), len(rows)
    yield b"}}}", 0


def prerender_guide(portal: Any, cfg: Any, period_h: int = 72, zone_name: str = "UTC") -> None:
    """``epg_prerendered``: render the answer for ``period_h`` and the ``timezone`` cookie
    ``zone_name`` now (the defaults are the client's), and serve that one from memory, in
    parts of 10 channels. A real portal builds its guide on its own machine, in one of
    many workers; this fake is one process on the client's machine, and rendering 255k
    programmes there (1.0-1.4 s of CPU, 3-7 s before ``_local_times``) measured as the
    guide's cost to the client (docs/benchmarks.md, issue 16)."""
    zone = _zone_named(zone_name)
    made = list(guide_parts(portal, cfg, period_h, zone))
    parts = [b"".join(p for p, _ in made[i : i + 10]) for i in range(0, len(made), 10)]
    portal.guide_renders[_render_key(cfg, period_h, zone)] = (parts, sum(n for _, n in made))


def short_epg(ctx: _Ctx) -> Response:
    """``type=itv&action=get_short_epg&ch_id=<id>&size=<n>``: the current and next programmes."""
    cfg = ctx.cfg
    ch_id = _int_or_none(ctx.params.get("ch_id", ""))
    channel = ctx.portal.catalogue.get("channel", ch_id) if ch_id is not None else None
    if channel is None or not channel.xmltv_id:
        return ctx.reply([])
    if cfg.epg_fail == "500":
        return Response(b"<html><body>500 Internal Server Error</body></html>", 500)
    size = _int_or_none(ctx.params.get("size", "")) or (5 if cfg.stock else 4)
    now = ctx.portal.clock()
    rows = programme_rows(
        channel,
        now,
        now + 14 * 86400,
        zone=_zone(ctx),
        timestamps=cfg.epg_timestamps,
        broken_every=cfg.epg_broken_every,
        limit=min(size, 50),
        now=now,
    )
    return ctx.reply(rows)

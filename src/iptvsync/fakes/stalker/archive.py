"""The fake portal's TV archive (catch-up), as Ministra serves it (docs/stalker.md, *Catch-up*).

- ``type=epg&action=get_simple_data_table&ch_id=<id>&date=<YYYY-MM-DD>&p=<n>``: one day of a
  channel's programmes (the day in the ``timezone`` cookie's zone), 10 a page, each with its
  ``id`` and ``mark_archive`` (1: ended, within the channel's archive). ``p=0`` is the page
  holding the programme on now, as stock answers it.
- ``type=tv_archive&action=create_link&cmd=auto /media/<programme id>.mpg``: a link to the
  recording, in the form ``archive_link`` names:

  ========== ==============================================================================
  storage    ``ffmpeg http://<storage>/stalker_portal/storage/get.php?filename=<Ymd-H>.mpg&``
             ``ch_id=..&token=..&start=<s into the hour>&duration=<s>&real_id=..`` (stock)
  flussonic  ``http://<storage>/<stream>/archive/<start>/<duration>/mpegts?token=..`` (no
             solution prefix: a Flussonic DVR storage)
  position   ``ffmpeg http://<storage>/archive/<ch>/<Ymd-H>.mpg position:<s> media_len:<s>``
             (older stock: the hour's file, where to start in it and how long to play)
  ========== ==============================================================================

  ``archive_error`` answers ``error`` instead (``"limit"``: the storage's sessions are full;
  ``"link_fault"``); a programme not in the archive answers ``error: "nothing_to_play"``.

The recordings are the fake's real media (``fakes/media.py``), served once (not looped) at
each form's path; storage tokens live ``archive_link_ttl_s`` (stock: 8 hours).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from iptvsync.fakes.stalker.epg import (
    _zone,
    archived,
    programme_of,
    programme_rows,
    slot_times,
)
from iptvsync.fakes.stalker.payloads import _Ctx
from iptvsync.fakes.stalker.values import _int_or_none

if TYPE_CHECKING:
    from iptvsync.fakes.media import FakeMedia
    from iptvsync.fakes.stalker.portal import FakeStalkerPortal

ARCHIVE_PAGE = 10
ARCHIVE_FORMS = ("storage", "flussonic", "position")
_MEDIA = re.compile(r"/media/(\d+)\.mpg")


def _channel(ctx: _Ctx, ch_id: int | None) -> Any:
    return ctx.portal.catalogue.get("channel", ch_id) if ch_id is not None else None


def simple_data_table(ctx: _Ctx) -> Response:
    """One local day of a channel's programmes, paged."""
    channel = _channel(ctx, _int_or_none(ctx.params.get("ch_id", "")))
    zone = _zone(ctx)
    now = ctx.portal.clock()
    try:
        day = datetime.strptime(ctx.params.get("date", ""), "%Y-%m-%d").replace(tzinfo=zone)
    except ValueError:
        day = datetime.fromtimestamp(now, zone).replace(hour=0, minute=0, second=0, microsecond=0)
    if channel is None or not channel.xmltv_id:
        return ctx.reply({"total_items": 0, "max_page_items": ARCHIVE_PAGE, "data": []})
    begin, end = day.timestamp(), (day + timedelta(days=1)).timestamp()
    rows = [
        r
        for r in programme_rows(channel, begin, end, zone=zone, now=now)
        if r["start_timestamp"] >= begin
    ]
    page = _int_or_none(ctx.params.get("p", "")) or 0
    if page <= 0:
        # Stock's "default page": the one holding the programme on now (else page 1).
        on_now = next((i for i, r in enumerate(rows) if r["stop_timestamp"] > now), 0)
        page = on_now // ARCHIVE_PAGE + 1
    chunk = rows[(page - 1) * ARCHIVE_PAGE : page * ARCHIVE_PAGE]
    ctx.portal.stats.items_served += len(chunk)
    return ctx.reply(
        {
            "cur_page": ctx.num(page),
            "selected_item": ctx.num(0),
            "total_items": ctx.num(len(rows)),
            "max_page_items": ctx.num(ARCHIVE_PAGE),
            "data": chunk,
        }
    )


def archive_create_link(ctx: _Ctx) -> Response:
    """``cmd=auto /media/<programme id>.mpg`` → a link to the recording."""
    cfg = ctx.cfg
    failed = {"id": 0, "cmd": "", "storage_id": "", "load": "0"}
    match = _MEDIA.search(ctx.params.get("cmd", ""))
    if match is None:
        return ctx.reply({**failed, "error": "nothing_to_play"})
    ch_id, k = programme_of(int(match.group(1)))
    channel = _channel(ctx, ch_id)
    now = ctx.portal.clock()
    if channel is None:
        return ctx.reply({**failed, "error": "nothing_to_play"})
    begin, end = slot_times(channel, k)
    if not archived(channel, begin, end, now):
        return ctx.reply({**failed, "error": "nothing_to_play"})
    if cfg.archive_error:
        return ctx.reply({**failed, "error": cfg.archive_error})
    ctx.portal.archive_links += 1
    key = ctx.portal.new_link("archive", channel.id, ttl_s=cfg.archive_link_ttl_s)
    hour = datetime.fromtimestamp(begin, _zone(ctx))
    filename = hour.strftime("%Y%m%d-%H") + ".mpg"
    position = hour.minute * 60 + hour.second
    length = end - begin
    if cfg.archive_link == "flussonic":
        cmd = f"{ctx.origin}/ch{channel.id}/archive/{begin}/{length}/mpegts?token={key}"
    elif cfg.archive_link == "position":
        cmd = f"ffmpeg {ctx.origin}/archive/{channel.id}/{filename} position:{position}"
        cmd += f" media_len:{length}"
    else:
        cmd = (
            f"ffmpeg {ctx.origin}/stalker_portal/storage/get.php?filename={filename}"
            f"&ch_id={channel.id}&token={key}&start={position}&duration={length}"
            f"&osd_title={quote(channel.name)}&real_id={channel.id}_{begin}"
        )
    js = {
        "id": 0,
        "cmd": cmd,
        "storage_id": ctx.num(1),
        "load": "0",
        "error": "",
        "download_cmd": cmd.removeprefix("ffmpeg "),
        "to_file": f"{hour:%Y%m%d-%H}_{channel.id}.mpg",
    }
    return ctx.reply(js)


def archive_routes(portal: FakeStalkerPortal, media: FakeMedia) -> list[Route]:
    """Where the recordings are served: the storage's ``get.php``, a Flussonic DVR path and
    the older stock ``/archive/<ch>/<file>`` (an open path, as stock's nginx serves it)."""

    def recording(ch_id: int | None) -> bool:
        channel = portal.catalogue.get("channel", ch_id) if ch_id is not None else None
        return channel is not None and channel.archive

    async def storage(request: Request) -> Response:
        if not portal.link_valid(request.query_params.get("token", "")):
            return Response(b"", 403)
        return await media.respond(request, live=False)

    async def flussonic(request: Request) -> Response:
        ch_id = _int_or_none(request.path_params["stream"].removeprefix("ch"))
        if not portal.link_valid(request.query_params.get("token", "")) or not recording(ch_id):
            return Response(b"", 403)
        return await media.respond(request, live=False)

    async def hourly(request: Request) -> Response:
        if not recording(_int_or_none(request.path_params["ch"])):
            return Response(b"", 404)
        return await media.respond(request, live=False)

    return [
        Route("/stalker_portal/storage/get.php", storage),
        Route("/{stream}/archive/{start}/{duration}/mpegts", flussonic),
        Route("/archive/{ch}/{name}", hourly),
    ]

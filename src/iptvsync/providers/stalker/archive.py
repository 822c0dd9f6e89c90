"""Catch-up on Stalker/Ministra portals: a past programme played from the portal's TV archive
(docs/stalker.md, *Catch-up*).

A MAG box plays an archived programme by its id in the portal's guide: it reads the day's
programmes (``type=epg&action=get_simple_data_table&ch_id=&date=&p=``, rows with ``id`` and
``mark_archive``), then asks ``type=tv_archive&action=create_link&cmd=auto /media/<id>.mpg``.
The answer's ``cmd`` is the recording: ``ffmpeg http://<storage>/stalker_portal/storage/
get.php?...`` (stock), a bare Flussonic DVR URL, or on older stock the hour's file with
`` position:<s> media_len:<s>`` markers after it.

Programme ids are looked up at play time, not stored: a portal renumbers its ``epg`` rows
when it re-imports its guide, and only the programmes someone plays need an id.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol
from urllib.parse import urlsplit

from iptvsync.errors import NoFreeConnection, NotFound
from iptvsync.providers.base import PlayTarget
from iptvsync.providers.catchup import CatchupUnsupported
from iptvsync.providers.stalker.guide import zone_of
from iptvsync.providers.stalker.parse import RADIO_PREFIX, parse_create_link
from iptvsync.providers.stalker.parse.coerce import to_int, to_str
from iptvsync.providers.stalker.parse.epg import parse_programme

#: Pages of one day's guide read at most (a day of 15-minute programmes is 10 pages of 10).
MAX_PAGES = 16
_MARKERS = re.compile(r"\s+(?:position|media_len):\d+")


class PortalCalls(Protocol):
    """What this module needs of ``StalkerClient`` (its public surface only)."""

    async def call(self, params: dict[str, str]) -> Any: ...


class StalkerLike(PortalCalls, Protocol):
    @property
    def identity(self) -> Any: ...

    async def connect(self) -> None: ...

    def request_parts(self, params: dict[str, str]) -> tuple[str, dict[str, str], float]: ...


async def resolve_catchup(client: StalkerLike, target: PlayTarget, start: datetime) -> str:
    """The play endpoint's catch-up for a Stalker provider (``providers/catchup.py``): the
    recording of the programme at ``start``. The portal's recording has its own length."""
    await client.connect()
    endpoint = urlsplit(client.request_parts({})[0])
    return await resolve_archive(
        client,
        target,
        start,
        zone=zone_of(client.identity.timezone),
        origin=f"{endpoint.scheme}://{endpoint.netloc}",
        mac=client.identity.mac,
    )


async def resolve_archive(
    client: PortalCalls,
    target: PlayTarget,
    start: datetime,
    *,
    zone: tzinfo,
    origin: str,
    mac: str,
) -> str:
    """The URL of the recording of the programme on ``target``'s channel at ``start``."""
    channel = target.provider_item_id
    if channel.startswith(RADIO_PREFIX):
        raise CatchupUnsupported("radio stations have no archive")
    programme = await find_programme(client, channel, start, zone)
    env = await client.call(
        {
            "type": "tv_archive",
            "action": "create_link",
            "cmd": f"auto /media/{programme}.mpg",
            "series": "",
            "forced_storage": "",
            "disable_ad": "0",
            "download": "0",
            "force_ch_link_check": "0",
        }
    )
    return archive_link(env.js, env.top, origin=origin, mac=mac)


async def find_programme(client: PortalCalls, channel: str, start: datetime, zone: tzinfo) -> str:
    """The portal's id of the programme running at ``start``: the day's guide (in the zone of
    the ``timezone`` cookie the client sends), page by page until a row holds that time."""
    when = start.astimezone(UTC)
    day = when.astimezone(zone).strftime("%Y-%m-%d")
    page = 1
    while page <= MAX_PAGES:
        env = await client.call(
            {
                "type": "epg",
                "action": "get_simple_data_table",
                "ch_id": channel,
                "date": day,
                "p": str(page),
            }
        )
        rows, pages = _page(env.js)
        for row in rows:
            record = parse_programme(row, channel, zone)
            if record is None or not record.start <= when < record.stop:
                continue
            programme = to_str(row.get("id"))
            if not programme or to_int(row.get("mark_archive")) == 0:
                raise NotFound(
                    "the portal keeps no recording of this programme",
                    detail={"start": int(when.timestamp())},
                )
            return programme
        past = any(
            (r := parse_programme(row, channel, zone)) is not None and r.start > when
            for row in rows
        )
        if past or not rows or page >= pages:
            break
        page += 1
    raise NotFound(
        "the portal's guide has no programme at that time",
        detail={"start": int(when.timestamp())},
    )


def _page(js: Any) -> tuple[list[dict[str, Any]], int]:
    """(rows, pages) of a ``get_simple_data_table`` answer (a page object or a bare list)."""
    if isinstance(js, list):
        return [r for r in js if isinstance(r, dict)], 1
    if not isinstance(js, dict):
        return [], 0
    data = js.get("data")
    rows = [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []
    total = to_int(js.get("total_items")) or len(rows)
    size = to_int(js.get("max_page_items")) or len(rows) or 1
    return rows, -(-total // size)


def archive_link(js: Any, top: dict[str, Any] | None, *, origin: str, mac: str) -> str:
    """``tv_archive`` ``create_link`` → the recording's URL. The player markers of older stock
    answers (`` position:<s> media_len:<s>``) are dropped: the URL is the hour's file, played
    from its beginning. ``limit`` (the storage's sessions are full) is a busy connection;
    ``nothing_to_play`` (no recording) is 404."""
    if isinstance(js, dict):
        error = (to_str(js.get("error")) or to_str((top or {}).get("error")) or "").lower()
        if error == "limit":
            raise NoFreeConnection("the portal's archive storage has no free session")
        if error == "nothing_to_play":
            raise NotFound("the portal keeps no recording of this programme")
        cmd = to_str(js.get("cmd"))
        if cmd:
            js = {**js, "cmd": _MARKERS.sub("", cmd)}
    return parse_create_link(js, top, origin=origin, mac=mac)

"""Channels (docs/stalker.md §5.4): rows to ChannelRecords, and ``get_all_channels`` streamed row
by row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import ijson

from iptvsync.errors import ProviderBadResponse
from iptvsync.providers.stalker.parse.coerce import to_bool, to_int, to_str
from iptvsync.providers.stalker.parse.data_rows import Unproven, data_rows
from iptvsync.providers.stalker.parse.envelope import decode_envelope
from iptvsync.providers.stalker.parse.lists import parse_page
from iptvsync.providers.stalker.parse.urls import PortalUrls
from iptvsync.providers.steps import Steps, run_steps
from iptvsync.records import ChannelRecord


def parse_channel(
    row: Mapping[str, Any], urls: PortalUrls, *, censored_genres: Iterable[str] = ()
) -> ChannelRecord | None:
    cid = to_str(row.get("id"))
    if cid is None:
        return None
    genre = to_str(row.get("tv_genre_id"))
    cmd = to_str(row.get("cmd"))
    if cmd is None:
        cmds = row.get("cmds")
        if isinstance(cmds, list):
            cmd = next((to_str(c.get("url")) for c in cmds if isinstance(c, dict)), None)
    archive = any(to_bool(row.get(k)) for k in ("archive", "tv_archive", "enable_tv_archive"))
    extra = {
        k: str(v)
        for k in ("use_http_tmp_link", "use_load_balancing")
        if (v := to_str(row.get(k))) is not None
    }
    return ChannelRecord(
        provider_item_id=cid,
        name=to_str(row.get("name")) or f"Channel {cid}",
        number=to_int(row.get("number")),
        logo=urls.logo(row.get("logo")),
        category_ids=(genre,) if genre and genre != "0" else (),
        cmd=cmd,
        epg_id=to_str(row.get("xmltv_id")),
        archive=archive,
        archive_days=_archive_days(row.get("tv_archive_duration")) if archive else None,
        radio=to_bool(row.get("radio")),
        censored=to_bool(row.get("censored")) or (genre is not None and genre in censored_genres),
        extra=extra,
    )


def _archive_days(value: Any) -> int | None:
    # Stock stores the archive depth in hours (default 168); some panels send days. Whole
    # multiples of 24, and anything above a month of days, can only be hours.
    number = to_int(value)
    if number is None or number <= 0:
        return None
    if number > 31 or number % 24 == 0:
        return max(1, -(-number // 24))
    return number


def parse_channels(
    rows: Iterable[Mapping[str, Any]], urls: PortalUrls, *, censored_genres: Iterable[str] = ()
) -> list[ChannelRecord]:
    genres = frozenset(censored_genres)
    out = []
    for row in rows:
        record = parse_channel(row, urls, censored_genres=genres)
        if record is not None:
            out.append(record)
    return out


#: Rows decoded between two pauses of ``channel_stream_steps``: ~1–2 ms of the event loop's
#: time, so the answers of the requests in flight are read while the list is decoded.
CHANNEL_STEP = 16


def parse_channel_stream(
    body: bytes, urls: PortalUrls, *, censored_genres: Iterable[str] = ()
) -> list[ChannelRecord]:
    """``get_all_channels`` → records, in one go (``channel_stream_steps`` run to its end)."""
    return run_steps(channel_stream_steps(body, urls, censored_genres=censored_genres))


def channel_stream_steps(
    body: bytes, urls: PortalUrls, *, censored_genres: Iterable[str] = ()
) -> Steps[list[ChannelRecord]]:
    """``get_all_channels`` → records, one row at a time, pausing (a bare ``yield``) every
    ``CHANNEL_STEP`` rows; the records are the generator's return value.

    The answer holds every channel at once (tens of MB on big portals, each row the whole
    ``itv`` table); parsing it whole would hold every row's dict at the same time. Its rows are
    decoded one by one: each from its own bytes by orjson where ``data_rows`` can prove them
    the answer's ``js.data`` (``FAST_ROWS``), else by ijson walking ``js.data`` row by row.
    Either way only the compact records stay. Anything that is not the
    ``{"js": {"data": [...]}}`` shape goes through ``decode_envelope``, which knows every
    error body.

    The pauses let a sync decode the list on its event loop between the answers of the
    requests in flight (``StalkerTransport._call``'s ``whole_list``): decoded whole, in a thread or
    not, the list held the interpreter for ~0.15 s, every answer meanwhile waited for it, and
    the politeness budget read that wait as a queue at the portal (docs/sync.md §6).
    """
    stripped = body.strip()
    if not stripped.startswith(b"{"):
        decode_envelope(body)  # raises the right typed error for text / HTML / empty bodies
        raise ProviderBadResponse("the portal answered get_all_channels with no JSON object")
    genres = frozenset(censored_genres)
    out: list[ChannelRecord] | None = None
    if FAST_ROWS:
        try:
            out = yield from _parsed(data_rows(stripped), urls, genres)
        except Unproven:
            out = None  # the rows read so far are void: ijson reads the answer again
    if out is None:
        try:
            rows = ijson.items(stripped, "js.data.item", use_float=True)
            out = yield from _parsed(rows, urls, genres)
        except (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError):
            raise ProviderBadResponse("the portal's channel list is not valid JSON") from None
    if not out:
        # An error object, or an empty list: let the envelope decoder tell which.
        parse_page(decode_envelope(body).js)
    return out


#: ``channel_stream_steps`` reads rows through ``data_rows`` first (False: ijson only, the
#: plain path the tests hold it to).
FAST_ROWS = True


def _parsed(
    rows: Iterable[Any], urls: PortalUrls, genres: frozenset[str]
) -> Steps[list[ChannelRecord]]:
    out: list[ChannelRecord] = []
    for number, row in enumerate(rows, start=1):
        if isinstance(row, dict):
            record = parse_channel(row, urls, censored_genres=genres)
            if record is not None:
                out.append(record)
        if number % CHANNEL_STEP == 0:
            yield
    return out


#: Radio stations live in another table than TV channels: their ids get this prefix.
RADIO_PREFIX = "radio:"


def radio_channels(rows: Iterable[Mapping[str, Any]], urls: PortalUrls) -> list[ChannelRecord]:
    """Rows of the radio module (``type=radio``) as channels flagged ``radio``."""
    out = []
    for row in rows:
        record = parse_channel(row, urls)
        if record is not None:
            out.append(
                replace(record, provider_item_id=RADIO_PREFIX + record.provider_item_id, radio=True)
            )
    return out

"""Xtream Codes list payloads → typed records. Pure: no I/O, no clock.

Categories, list rows (live, VOD, series), ``get_vod_info``, ``get_series_info`` and the short
EPG. Every scalar goes through ``values.py`` (the two server families send the same field as a
string or an int, docs/providers.md §1.0, §1.10); login and failure bodies: ``account.py``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from iptvsync.errors import ProviderBadResponse
from iptvsync.providers.pages import looks_adult
from iptvsync.providers.xtream.account import check_auth_object
from iptvsync.providers.xtream.values import (
    as_object,
    epoch_to_datetime,
    minutes_of,
    to_bool,
    to_float,
    to_int,
    to_str,
    year_from_name,
    year_of,
)
from iptvsync.records import (
    CategoryRecord,
    ChannelRecord,
    EpisodeRecord,
    Kind,
    MovieRecord,
    ProgrammeRecord,
    SeasonRecord,
    SeriesRecord,
)


def _rating(value: Any) -> float | None:
    # Panels send 0 or "" for "not rated" (§1.6).
    rating = to_float(value)
    return rating if rating and rating > 0 else None


def _category_ids(row: Mapping[str, Any]) -> tuple[str, ...]:
    """The row's primary ``category_id`` first, then every id in XUI's ``category_ids`` list."""
    out: list[str] = []
    primary = to_str(row.get("category_id"))
    if primary is not None:
        out.append(_norm_id(primary))
    extra = row.get("category_ids")
    if isinstance(extra, list):
        for item in extra:
            text = to_str(item)
            if text is not None:
                text = _norm_id(text)
                if text not in out:
                    out.append(text)
    return tuple(out)


def _norm_id(text: str) -> str:
    # "022", 22 and "22" are the same category; keys are str(int) when numeric (§1.3).
    number = to_int(text)
    return str(number) if number is not None else text


# ---------------------------------------------------------------------------------------------
# Categories and list rows (§1.3 to §1.6)


def parse_categories(payload: Any, kind: Kind) -> list[CategoryRecord]:
    """``get_{live,vod,series}_categories`` → CategoryRecords, keyed by ``str(category_id)``."""
    check_auth_object(payload)
    rows: Iterable[Any]
    if isinstance(payload, list):
        rows = payload
    elif isinstance(payload, dict):  # a PHP array with gaps in its keys becomes an object
        rows = payload.values()
    else:
        raise ProviderBadResponse("category list is not a JSON list")
    out: list[CategoryRecord] = []
    seen: set[str] = set()
    for position, row in enumerate(rows):
        if not isinstance(row, dict):
            continue
        cid = to_str(row.get("category_id"))
        if cid is None:
            continue
        cid = _norm_id(cid)
        if cid in seen:
            continue
        seen.add(cid)
        title = to_str(row.get("category_name")) or f"Category {cid}"
        out.append(
            CategoryRecord(
                kind=kind,
                provider_category_id=cid,
                title=title,
                censored=to_bool(row.get("is_adult")) or looks_adult(title),
                position=position,
            )
        )
    return out


RADIO_TYPES = frozenset({"radio_streams", "radio"})


def parse_live_row(row: Any) -> ChannelRecord | None:
    """A ``get_live_streams`` row, or None when it has no usable ``stream_id`` (§1.10 item 4)."""
    if not isinstance(row, dict):
        return None
    sid = to_int(row.get("stream_id"))
    if sid is None:
        return None
    stream_type = (to_str(row.get("stream_type")) or "live").lower()
    archive = to_bool(row.get("tv_archive"))
    days = to_int(row.get("tv_archive_duration"))
    extra: dict[str, str] = {}
    if stream_type not in {"live", *RADIO_TYPES}:
        extra["stream_type"] = stream_type
    # Dispatcharr substitutes a generated name for null/empty names (§1.4).
    return ChannelRecord(
        provider_item_id=str(sid),
        name=to_str(row.get("name")) or f"Channel {sid}",
        number=to_int(row.get("num")),
        logo=to_str(row.get("stream_icon")),
        category_ids=_category_ids(row),
        epg_id=to_str(row.get("epg_channel_id")),
        archive=archive,
        archive_days=days if archive and days and days > 0 else None,
        radio=stream_type in RADIO_TYPES,
        censored=to_bool(row.get("is_adult")),
        extra=extra,
    )


def parse_vod_row(row: Any) -> MovieRecord | None:
    """A ``get_vod_streams`` row, or None without a usable ``stream_id``."""
    if not isinstance(row, dict):
        return None
    sid = to_int(row.get("stream_id"))
    if sid is None:
        return None
    name = to_str(row.get("name")) or to_str(row.get("title")) or f"Movie {sid}"
    return MovieRecord(
        provider_item_id=str(sid),
        name=name,
        year=year_of(row.get("year"), row.get("release_date"), row.get("releasedate"))
        or year_from_name(name),
        rating=_rating(row.get("rating")),
        poster=to_str(row.get("stream_icon")),
        category_ids=_category_ids(row),
        added_at=epoch_to_datetime(row.get("added")),
        description=to_str(row.get("plot")),
        director=to_str(row.get("director")),
        actors=to_str(row.get("cast")),
        genres=to_str(row.get("genre")),
        duration_min=minutes_of(row.get("episode_run_time")) or minutes_of(row.get("duration")),
        extension=(to_str(row.get("container_extension")) or "").lower() or None,
        censored=to_bool(row.get("is_adult")),
    )


def parse_series_row(row: Any) -> SeriesRecord | None:
    """A ``get_series`` row: ``series_id``, ``cover``, ``last_modified`` (not the VOD names)."""
    if not isinstance(row, dict):
        return None
    sid = to_int(row.get("series_id"))
    if sid is None:
        return None
    name = to_str(row.get("name")) or to_str(row.get("title")) or f"Series {sid}"
    return SeriesRecord(
        provider_item_id=str(sid),
        name=name,
        year=year_of(row.get("year"), row.get("release_date"), row.get("releaseDate"))
        or year_from_name(name),
        rating=_rating(row.get("rating")),
        poster=to_str(row.get("cover")),
        category_ids=_category_ids(row),
        added_at=epoch_to_datetime(row.get("last_modified")) or epoch_to_datetime(row.get("added")),
        description=to_str(row.get("plot")),
        director=to_str(row.get("director")),
        actors=to_str(row.get("cast")),
        genres=to_str(row.get("genre")),
        duration_min=minutes_of(row.get("episode_run_time")),
        censored=to_bool(row.get("is_adult")),
    )


# ---------------------------------------------------------------------------------------------
# get_vod_info and get_series_info (§1.5, §1.6)


def parse_vod_info(payload: Any, fallback: MovieRecord | None = None) -> MovieRecord | None:
    """``get_vod_info``: ``movie_data`` first, then ``info``, then the list row (``fallback``).

    ``info`` and ``movie_data`` may each be ``[]``; ``tmdb_id`` and ``duration`` vary in shape.
    """
    check_auth_object(payload)
    if not isinstance(payload, dict):
        return fallback
    info = as_object(payload.get("info"))
    data = as_object(payload.get("movie_data"))
    sid = to_int(data.get("stream_id"))
    if sid is None and fallback is not None:
        sid = to_int(fallback.provider_item_id)
    if sid is None:
        return None
    base = fallback or MovieRecord(provider_item_id=str(sid), name=f"Movie {sid}")
    name = to_str(data.get("name")) or base.name or to_str(info.get("name")) or base.name
    duration = minutes_of(info.get("duration"))
    if duration is None:
        secs = to_int(info.get("duration_secs"))
        duration = round(secs / 60) if secs else None
    cats = _category_ids(data) or base.category_ids
    return dataclasses.replace(
        base,
        provider_item_id=str(sid),
        name=name,
        year=year_of(info.get("releasedate"), info.get("release_date")) or base.year,
        rating=_rating(info.get("rating")) or base.rating,
        poster=to_str(info.get("movie_image")) or to_str(info.get("cover_big")) or base.poster,
        category_ids=cats,
        added_at=epoch_to_datetime(data.get("added")) or base.added_at,
        description=to_str(info.get("plot")) or to_str(info.get("description")) or base.description,
        director=to_str(info.get("director")) or base.director,
        actors=to_str(info.get("cast")) or to_str(info.get("actors")) or base.actors,
        genres=to_str(info.get("genre")) or base.genres,
        duration_min=duration or base.duration_min,
        extension=(to_str(data.get("container_extension")) or "").lower() or base.extension,
    )


_EPISODE_TITLE_PREFIX = re.compile(r"^.*?\bS\d{1,3}\s*E\d{1,4}\s*-\s*", re.IGNORECASE)


def _episode_rows(episodes: Any) -> Iterable[tuple[int | None, Any]]:
    """(season key, episode row) pairs from every shape ``episodes`` comes in (§1.6).

    An object keyed by season number as a string; a list of lists when PHP's keys happened to be
    0..n-1 (index = season number); a flat list of episode objects; ``[]`` for none; and a season
    that is itself an object keyed by position.
    """
    if isinstance(episodes, dict):
        groups: Iterable[tuple[int | None, Any]] = ((to_int(k), v) for k, v in episodes.items())
    elif isinstance(episodes, list):
        if all(isinstance(item, dict) for item in episodes):
            groups = [(None, episodes)]
        else:
            groups = enumerate(episodes)
    else:
        return
    for season_key, group in groups:
        if isinstance(group, dict):
            rows: Iterable[Any] = group.values()
        elif isinstance(group, list):
            rows = group
        else:
            continue
        for row in rows:
            if isinstance(row, dict):
                yield season_key, row


def parse_series_info(payload: Any) -> list[SeasonRecord]:
    """``get_series_info`` → seasons with their episodes, sorted; episodes without an id skipped.

    Episode ``id`` is the stream id for ``/series/U/P/<id>.<ext>`` URLs; ``season`` and
    ``episode_num`` may be strings; ``info`` may be ``[]``; ``seasons`` may be ``[]`` or absent.
    """
    check_auth_object(payload)
    if isinstance(payload, list):
        if not payload:
            return []
        raise ProviderBadResponse("series info is not a JSON object")
    if not isinstance(payload, dict):
        raise ProviderBadResponse("series info is not a JSON object")
    names: dict[int, str] = {}
    meta = payload.get("seasons")
    meta_rows = meta.values() if isinstance(meta, dict) else meta if isinstance(meta, list) else []
    for row in meta_rows:
        if isinstance(row, dict):
            number = to_int(row.get("season_number"))
            if number is not None:
                names[number] = to_str(row.get("name")) or f"Season {number}"
    seasons: dict[int, dict[str, EpisodeRecord]] = {}
    for season_key, row in _episode_rows(payload.get("episodes")):
        eid = to_int(row.get("id")) if row.get("id") is not None else to_int(row.get("stream_id"))
        if eid is None:
            continue
        season = to_int(row.get("season"))
        if season is None:
            season = season_key if season_key is not None else 1
        number = to_int(row.get("episode_num"))
        title = to_str(row.get("title")) or to_str(row.get("name"))
        short = _EPISODE_TITLE_PREFIX.sub("", title).strip() if title else ""
        if number is None:
            number = len(seasons.get(season, {})) + 1
        name = short or title or f"Episode {number}"
        extension = (to_str(row.get("container_extension")) or "").lower() or None
        seasons.setdefault(season, {}).setdefault(
            str(eid),
            EpisodeRecord(
                provider_item_id=str(eid),
                season=season,
                number=number,
                name=name,
                extension=extension,
            ),
        )
    out: list[SeasonRecord] = []
    for number in sorted(seasons):
        episodes = sorted(seasons[number].values(), key=lambda e: (e.number, e.provider_item_id))
        out.append(
            SeasonRecord(
                number=number,
                name=names.get(number) or f"Season {number}",
                episodes=tuple(episodes),
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Short EPG (§1.8)


def _b64(value: Any) -> str | None:
    text = to_str(value)
    if text is None:
        return None
    try:
        decoded = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return text  # some panels send plain text here
    return decoded.decode("utf-8", errors="replace").strip() or None


def parse_short_epg(payload: Any, channel_key: str) -> list[ProgrammeRecord]:
    """``get_short_epg`` / ``get_simple_data_table`` → programmes, times from the UTC epochs.

    ``title`` and ``description`` are base64; ``start``/``end`` strings are panel-local time and
    ``end`` may be an int, so only ``start_timestamp``/``stop_timestamp`` are trusted.
    """
    check_auth_object(payload)
    listings = as_object(payload).get("epg_listings")
    if not isinstance(listings, list):
        return []
    out: list[ProgrammeRecord] = []
    for row in listings:
        if not isinstance(row, dict):
            continue
        start = epoch_to_datetime(row.get("start_timestamp"))
        stop = epoch_to_datetime(row.get("stop_timestamp"))
        if start is None or stop is None or stop <= start:
            continue
        out.append(
            ProgrammeRecord(
                channel_key=to_str(row.get("channel_id")) or channel_key,
                start=start,
                stop=stop,
                title=_b64(row.get("title")) or "",
                description=_b64(row.get("description")),
            )
        )
    return out

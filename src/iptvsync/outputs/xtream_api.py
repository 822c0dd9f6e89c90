"""The Xtream Codes player API as players expect it (pure: rows in, panel-shaped dicts out).

Shapes mirror what real panels send (docs/providers.md §1.2-§1.8), in the XUI flavour: ``num``,
``stream_id`` and ``series_id`` are integers; ``category_id``, ``is_adult`` (``"0"``/``"1"``) and
epoch fields (``added``, ``last_modified``, ``exp_date``: Unix seconds) are strings (the types
pyxtream's schemas expect). Every field a strict
client reads is present and never null where clients call ``int()`` or ``len()`` on it
(pyxtream does both), so missing values are ``""``, ``0`` or ``[]``.

Ids (stable: they are our compact integer ids, which never change across syncs):

============  ==========================================  =============================
what          Xtream field                                value
============  ==========================================  =============================
channel       ``stream_id`` (``/live/…``)                 channel id
movie         ``stream_id`` (``/movie/…``)                ``VOD_BASE`` + movie id
episode       ``id`` in get_series_info (``/series/…``)   ``EPISODE_BASE`` + episode id
series        ``series_id``                               series id
category      ``category_id``                             category id
============  ==========================================  =============================

A panel keeps live channels, movies and episodes in one ``streams`` table, so their ids never
collide, and players (favourites, resume points, history) key by ``stream_id`` alone. Our three
tables count from 1 each, so movies and episodes are moved into ranges of their own, below 2^31
because Android players parse ids into 32-bit ints. Series ids live in their own namespace in
panels too (a separate table), so they are used as they are. Category ids are already unique
across kinds (one table), as in a panel.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from iptvsync.errors import ValidationFailed
from iptvsync.store.batches import CategoryRef, Row

VOD_BASE = 1_000_000_000
EPISODE_BASE = 1_500_000_000
ID_LIMIT = 2**31 - 1

#: Output users do not expire; a fixed far date (before 2038, for 32-bit clients) instead of
#: null, because several clients call ``int()`` on ``exp_date``.
NEVER_EXPIRES = "2145916800"  # 2038-01-01T00:00:00Z
MAX_CONNECTIONS = "100"  # not enforced here: the provider's own limit applies downstream


def movie_stream_id(movie_id: int) -> int:
    return VOD_BASE + movie_id


def episode_stream_id(episode_id: int) -> int:
    return EPISODE_BASE + episode_id


def movie_id_of(stream_id: int) -> int | None:
    return stream_id - VOD_BASE if VOD_BASE < stream_id < EPISODE_BASE else None


def episode_id_of(stream_id: int) -> int | None:
    return stream_id - EPISODE_BASE if EPISODE_BASE < stream_id <= ID_LIMIT else None


def timeshift_window(start: str, minutes: int) -> tuple[int, int]:
    """(Unix start, seconds) of a ``/timeshift/`` URL: ``YYYY-MM-DD:HH-MM`` (UTC here; panels
    use their own zone) and a length in minutes (1 minute to 1 day)."""
    try:
        begin = datetime.strptime(start, "%Y-%m-%d:%H-%M").replace(tzinfo=UTC)
    except ValueError:
        raise ValidationFailed(
            "start must be YYYY-MM-DD:HH-MM", detail={"start": start[:40]}
        ) from None
    return int(begin.timestamp()), max(60, min(minutes * 60, 86400))


def channel_id_of(stream_id: int) -> int | None:
    return stream_id if 0 < stream_id < VOD_BASE else None


def epoch(value: datetime | None) -> str:
    """Unix seconds as a string; "0" when unknown (clients call ``int()`` on these)."""
    if value is None:
        return "0"
    return str(int(value.timestamp()))


def _rating(value: float | None) -> tuple[str, float]:
    """(``rating`` on 10 as a string, ``rating_5based``), as panels send them."""
    if value is None:
        return "", 0
    return f"{value:g}", round(value / 2, 1)


def _category_fields(row: Row) -> dict[str, Any]:
    ids = row.category_ids or ([row.category_id] if row.category_id is not None else [])
    return {
        "category_id": str(row.category_id) if row.category_id is not None else "",
        "category_ids": [int(i) for i in ids],
    }


def _adult(row: Row, categories: dict[int, CategoryRef]) -> str:
    """``"1"`` for adult items (the item's flag or its category's), as XC 2.x sends it: a string
    (clients compare it to ``"1"``)."""
    category = categories.get(row.category_id) if row.category_id is not None else None
    return "1" if row.censored or (category and category.censored) else "0"


# ---------------------------------------------------------------------------------------------
# Login


def login_payload(
    username: str,
    password: str,
    *,
    created_at: datetime | None,
    host: str,
    port: int,
    scheme: str,
    now: datetime,
) -> dict[str, Any]:
    """``user_info`` + ``server_info`` (§1.2). ``server_info`` names the address the
    player used: some players build stream URLs from it instead of from what the user typed."""
    local = now.astimezone(UTC)
    return {
        "user_info": {
            "username": username,
            "password": password,
            "message": "",
            "auth": 1,
            "status": "Active",
            "exp_date": NEVER_EXPIRES,
            "is_trial": "0",
            "active_cons": "0",
            "created_at": epoch(created_at or now),
            "max_connections": MAX_CONNECTIONS,
            "allowed_output_formats": ["m3u8", "ts"],
        },
        "server_info": {
            "url": host,
            "port": str(port) if scheme == "http" else "",
            "https_port": str(port) if scheme == "https" else "",
            "server_protocol": scheme,
            "rtmp_port": "",
            "timezone": "UTC",
            "timestamp_now": int(local.timestamp()),
            "time_now": local.strftime("%Y-%m-%d %H:%M:%S"),
            "process": True,
        },
    }


REFUSED: dict[str, Any] = {"user_info": {"auth": 0}}
"""What a panel answers to wrong credentials, for any action (HTTP 200, XC 2.x)."""


# ---------------------------------------------------------------------------------------------
# Lists


def category_row(category_id: int, title: str) -> dict[str, Any]:
    return {"category_id": str(category_id), "category_name": title, "parent_id": 0}


def live_row(num: int, ch: Row, categories: dict[int, CategoryRef]) -> dict[str, Any]:
    return {
        "num": num,
        "name": ch.name,
        # Panels merge radio into the live list with its own stream_type (docs/providers.md §1.4).
        "stream_type": "radio_streams" if ch.radio else "live",
        "stream_id": ch.id,
        "stream_icon": ch.logo or "",
        "epg_channel_id": ch.epg_id or "",
        "added": epoch(ch.added_at),
        "is_adult": _adult(ch, categories),
        **_category_fields(ch),
        "custom_sid": "",
        "tv_archive": int(bool(ch.archive)),
        "direct_source": "",
        "tv_archive_duration": int(ch.archive_days or 0) if ch.archive else 0,
        "thumbnail": "",
    }


def vod_row(num: int, movie: Row, categories: dict[int, CategoryRef]) -> dict[str, Any]:
    rating, rating5 = _rating(movie.rating)
    return {
        "num": num,
        "name": movie.name,
        "title": movie.name,
        "year": str(movie.year) if movie.year else "",
        "stream_type": "movie",
        "stream_id": movie_stream_id(movie.id),
        "stream_icon": movie.poster or "",
        "rating": rating,
        "rating_5based": rating5,
        "added": epoch(movie.added_at),
        "is_adult": _adult(movie, categories),
        **_category_fields(movie),
        "container_extension": movie.extension or "mp4",
        "custom_sid": "",
        "direct_source": "",
    }


def _detail(row: Row) -> dict[str, Any]:
    detail = row.detail if isinstance(getattr(row, "detail", None), dict) else None
    return detail or {}


def series_row(num: int, show: Row, categories: dict[int, CategoryRef]) -> dict[str, Any]:
    rating, rating5 = _rating(show.rating)
    detail = _detail(show)
    run_time = detail.get("duration_min")
    return {
        "num": num,
        "name": show.name,
        "title": show.name,
        "year": str(show.year) if show.year else "",
        "stream_type": "series",
        "series_id": show.id,
        "cover": show.poster or "",
        "plot": detail.get("description") or "",
        "cast": detail.get("actors") or "",
        "director": detail.get("director") or "",
        "genre": detail.get("genres") or "",
        "release_date": "",
        "releaseDate": "",
        "last_modified": epoch(show.updated_at or show.added_at),
        "rating": rating,
        "rating_5based": rating5,
        "backdrop_path": [],
        "youtube_trailer": "",
        "episode_run_time": str(run_time) if run_time else "",
        **_category_fields(show),
    }


# ---------------------------------------------------------------------------------------------
# Details


def _duration(minutes: Any) -> tuple[int, str]:
    try:
        secs = int(minutes) * 60
    except (TypeError, ValueError):
        return 0, ""
    return secs, f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"


def vod_info(movie: Row, categories: dict[int, CategoryRef]) -> dict[str, Any]:
    """``get_vod_info``: ``info`` (what the detail page shows) and ``movie_data`` (how to play)."""
    detail = _detail(movie)
    secs, duration = _duration(detail.get("duration_min"))
    return {
        "info": {
            "movie_image": movie.poster or "",
            "cover_big": movie.poster or "",
            "tmdb_id": "",
            "name": movie.name,
            "o_name": movie.name,
            "plot": detail.get("description") or "",
            "description": detail.get("description") or "",
            "cast": detail.get("actors") or "",
            "actors": detail.get("actors") or "",
            "director": detail.get("director") or "",
            "genre": detail.get("genres") or "",
            "releasedate": str(movie.year) if movie.year else "",
            "release_date": str(movie.year) if movie.year else "",
            "year": str(movie.year) if movie.year else "",
            "rating": movie.rating if movie.rating is not None else 0,
            "duration_secs": secs,
            "duration": duration,
            "youtube_trailer": "",
            "backdrop_path": [],
            "bitrate": 0,
            "video": {},
            "audio": {},
            "subtitles": [],
        },
        "movie_data": {
            "stream_id": movie_stream_id(movie.id),
            "name": movie.name,
            "title": movie.name,
            "year": str(movie.year) if movie.year else "",
            "added": epoch(movie.added_at),
            **_category_fields(movie),
            "container_extension": movie.extension or "mp4",
            "custom_sid": "",
            "direct_source": "",
        },
    }


EMPTY_VOD_INFO: dict[str, Any] = {"info": {}, "movie_data": {}}


def episode_title(series_name: str, season: int, number: int, name: str | None) -> str:
    """``Show - S01E02 - Name``, as panels title episodes: unique within a series, which clients
    rely on (pyxtream keys a season's episodes by title; names like "Finale" repeat)."""
    code = f"S{season:02d}E{number:02d}"
    return f"{series_name} - {code} - {name}" if name else f"{series_name} - {code}"


def series_info(
    show: Row, episodes: Iterable[Row], categories: dict[int, CategoryRef]
) -> dict[str, Any]:
    """``get_series_info``: ``seasons``, ``info`` and ``episodes`` keyed by season number as a
    string; always an object (never the ``[]`` of an empty PHP array, docs/providers.md §1.6)."""
    listing = series_row(0, show, categories)
    listing.pop("num")
    by_season: dict[int, list[Row]] = {}
    names: dict[int, str] = {}
    for ep in episodes:
        by_season.setdefault(ep.season, []).append(ep)
        if ep.season_name:
            names.setdefault(ep.season, ep.season_name)
    cover = show.poster or ""
    seasons = [
        {
            "id": number,
            "name": names.get(number) or f"Season {number}",
            "season_number": number,
            "episode_count": len(eps),
            "air_date": "",
            "overview": "",
            "cover": cover,
            "cover_big": cover,
            "vote_average": 0,
        }
        for number, eps in sorted(by_season.items())
    ]
    added = listing["last_modified"]
    return {
        "seasons": seasons,
        "info": {k: v for k, v in listing.items() if k not in ("series_id", "stream_type")},
        "episodes": {
            str(number): [
                {
                    "id": str(episode_stream_id(ep.id)),
                    "episode_num": ep.number,
                    "title": episode_title(show.name, ep.season, ep.number, ep.name),
                    "container_extension": ep.extension or "mp4",
                    "info": {
                        "movie_image": cover,
                        "plot": "",
                        "releasedate": "",
                        "rating": 0,
                        "duration_secs": 0,
                        "duration": "",
                        "bitrate": 0,
                        "video": {},
                        "audio": {},
                    },
                    "custom_sid": "",
                    "added": added,
                    "season": number,
                    "direct_source": "",
                }
                for ep in eps
            ]
            for number, eps in sorted(by_season.items())
        },
    }


# ---------------------------------------------------------------------------------------------
# Guide


def _b64(text: str | None) -> str:
    return base64.b64encode((text or "").encode()).decode()


def epg_listing(programme: Row, stream_id: int, now: datetime, *, archive: bool) -> dict[str, Any]:
    """One ``epg_listings`` entry: base64 ``title``/``description``, times as panel-local
    strings (our panel's timezone is UTC) and as epoch ``*_timestamp`` strings (§1.8)."""
    start = _utc(programme.start)
    stop = _utc(programme.stop)
    return {
        "id": str(programme.id),
        "epg_id": str(stream_id),
        "title": _b64(programme.title),
        "lang": "",
        "start": start.strftime("%Y-%m-%d %H:%M:%S"),
        "end": stop.strftime("%Y-%m-%d %H:%M:%S"),
        "description": _b64(programme.description),
        "channel_id": programme.channel_key,
        "start_timestamp": epoch(start),
        "stop_timestamp": epoch(stop),
        "stream_id": str(stream_id),
        "now_playing": int(start <= now < stop),
        "has_archive": int(archive and stop <= now),
    }


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

"""M3U entries → what they are and which records they become.

``classify`` tells live from VOD (§2.5, rules in docs/providers.md),
``identity_key`` gives each entry a stable, secret-free provider id (docs/providers.md §2.8), and
``to_record`` / ``series_record`` turn parsed entries (``parse.py``) into typed records.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from iptvsync.providers.m3u.parse import M3uEntry, url_path
from iptvsync.providers.pages import looks_adult
from iptvsync.records import ChannelRecord, EpisodeRecord, MovieRecord, SeriesRecord

# ---------------------------------------------------------------------------------------------
# Live or VOD (§2.5)


class EntryKind(StrEnum):
    CHANNEL = "channel"
    RADIO = "radio"
    MOVIE = "movie"
    EPISODE = "episode"


VIDEO_FILE_EXTENSIONS = frozenset(
    [
        "mp4",
        "mkv",
        "avi",
        "mov",
        "m4v",
        "wmv",
        "flv",
        "webm",
        "mpg",
        "mpeg",
        "divx",
        "xvid",
        "3gp",
        "ogv",
        "vob",
        "iso",
        "rmvb",
    ]
)
AUDIO_STREAM_EXTENSIONS = frozenset(["aac", "mp3", "ogg", "opus"])
_VOD_SEGMENTS = frozenset({"movie", "movies", "vod"})
_SERIES_SEGMENTS = frozenset({"series"})

_EPISODE_MARKERS = (
    re.compile(r"\bS(\d{1,3})\s*[._-]?\s*E(\d{1,4})\b", re.IGNORECASE),
    re.compile(r"\b(\d{1,2})x(\d{1,3})\b", re.IGNORECASE),
    re.compile(
        r"\b(?:season|saison|staffel|temporada|stagione|sezon|seizoen|säsong|sæson|sesong)"
        r"\s*(\d{1,3})\W{0,3}"
        r"(?:episode|épisode|episodio|episódio|folge|capitulo|capítulo|odcinek|afl|aflevering|"
        r"avsnitt|ep\.?)\s*(\d{1,4})",
        re.IGNORECASE,
    ),
)


@dataclass(frozen=True, slots=True)
class EpisodeMarker:
    series_title: str
    season: int
    episode: int
    title: str | None


@functools.lru_cache(maxsize=1024)  # classify, then series_record, ask about one name
def episode_marker(name: str) -> EpisodeMarker | None:
    """``Show S01E02``, ``Show 1x02``, ``Show Season 1 Episode 2`` → its parts, else None."""
    for pattern in _EPISODE_MARKERS:
        match = pattern.search(name)
        if match:
            series = name[: match.start()].strip(" -:|.,([")
            rest = name[match.end() :].strip(" -:|.,)]")
            return EpisodeMarker(
                series_title=series,
                season=int(match.group(1)),
                episode=int(match.group(2)),
                title=rest or None,
            )
    return None


def url_extension(url: str) -> str | None:
    path = url_path(url)
    last = path.rsplit("/", 1)[-1]
    if "." not in last:
        return None
    ext = last.rsplit(".", 1)[1].lower()
    return ext if ext.isalnum() and len(ext) <= 5 else None


def classify(entry: M3uEntry) -> EntryKind:
    """Live, radio, movie or series episode, by the rules in docs/providers.md.

    Radio first (``radio="true"`` or an audio stream extension). An entry is VOD only when its
    URL or flags say it is a file: an XC path segment (``/movie/``, ``/movies/``, ``/vod/``,
    ``/series/``), a video-file extension, ``media="true"`` or ``#EXT-X-PLAYLIST-TYPE:VOD``. A VOD
    entry is an episode when it sits under ``/series/`` or its name carries an episode marker.
    Everything else (``.ts``, ``.m3u8``, no extension, udp/rtmp...) is a live channel, whatever
    its name or group says: names like "Friends S01E01" on a 24/7 channel stay channels.
    """
    ext = url_extension(entry.url)
    if entry.attrs.get("radio", "").lower() == "true" or ext in AUDIO_STREAM_EXTENSIONS:
        return EntryKind.RADIO
    segments = {s.lower() for s in url_path(entry.url).split("/")}
    is_series_path = bool(segments & _SERIES_SEGMENTS)
    is_vod = (
        is_series_path
        or bool(segments & _VOD_SEGMENTS)
        or ext in VIDEO_FILE_EXTENSIONS
        or entry.attrs.get("media", "").lower() == "true"
        or entry.vod_flag
    )
    if not is_vod:
        return EntryKind.CHANNEL
    if is_series_path or episode_marker(entry.name) is not None:
        return EntryKind.EPISODE
    return EntryKind.MOVIE


# ---------------------------------------------------------------------------------------------
# Identity (docs/providers.md §2.8: stream URL without volatile query tokens, else tvg-id + name)

VOLATILE_PARAMS = frozenset(
    [
        "token",
        "auth",
        "auth_token",
        "authtoken",
        "access_token",
        "play_token",
        "key",
        "expires",
        "expire",
        "expiry",
        "exp",
        "e",
        "st",
        "sig",
        "signature",
        "hash",
        "h",
        "wmsauthsign",
        "hdnts",
        "hdnea",
        "session",
        "sessionid",
        "session_id",
        "sid",
        "nonce",
        "lease",
        "timestamp",
        "time",
        "utc",
        "lutc",
        "start",
        "end",
        "tk",
    ]
)
SECRET_PARAMS = frozenset({"username", "password", "user", "pass", "mac", "login"})
_TOKENISH = re.compile(r"^[A-Za-z0-9_\-=~%.]{24,}$")


def _is_token(segment: str) -> bool:
    if len(segment) < 24:  # _TOKENISH needs 24 characters: most segments stop here
        return False
    stem = segment.rsplit(".", 1)[0] if "." in segment[-6:] else segment
    return (
        bool(_TOKENISH.match(stem))
        and any(c.isdigit() for c in stem)
        and any(c.isalpha() for c in stem)
    )


def normalise_url(url: str, secrets: Iterable[str] = ()) -> str | None:
    """The stable part of a stream URL, or None when nothing stable is left.

    Dropped: Kodi's ``|Header=...`` suffix, the fragment, volatile query parameters (tokens,
    expiries, signatures), token-like path segments before the last one, and the values of
    credentials (so a password change does not re-key every entry). Scheme and host are
    lower-cased, the remaining query is sorted.
    """
    raw = url.strip().split("|", 1)[0]
    try:
        parts = urlsplit(raw)
    except ValueError:
        return None
    if not parts.scheme or not (parts.netloc or parts.path):
        return None
    hidden = {s for s in secrets if s}
    segments = parts.path.split("/")
    last = len(segments) - 1
    kept: list[str] = []
    for i, seg in enumerate(segments):
        if (hidden and unquote(seg) in hidden) or (i < last and _is_token(seg)):
            kept.append("*")
        else:
            kept.append(seg)
    if _is_token(segments[last]):
        return None  # the stream's own name is a rotating token: the URL identifies nothing
    query = (
        sorted(
            (k, "*" if k.lower() in SECRET_PARAMS or v in hidden else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k.lower() not in VOLATILE_PARAMS
        )
        if parts.query
        else []
    )
    try:
        port = parts.port
    except ValueError:  # a non-numeric port: keep the netloc as written
        return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", ""))
    host = (parts.hostname or "").lower()
    if port:
        host = f"{host}:{port}"
    return urlunsplit((parts.scheme.lower(), host, "/".join(kept), urlencode(query), ""))


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=10).hexdigest()


def identity_key(entry: M3uEntry, secrets: Iterable[str] = ()) -> str:
    """A compact, secret-free provider id: ``u<hash>`` of the normalised URL, or ``t<hash>`` of
    tvg-id + name when the URL has nothing stable in it."""
    normalised = normalise_url(entry.url, secrets)
    if normalised is not None:
        return "u" + _digest(normalised)
    return "t" + _digest(f"{entry.attrs.get('tvg-id', '').lower()}\x00{entry.name.casefold()}")


def series_key(title: str) -> str:
    return "s" + _digest(" ".join(title.casefold().split()))


# ---------------------------------------------------------------------------------------------
# Entries → records


def groups_of(entry: M3uEntry) -> tuple[str, ...]:
    """Category ids: the group title(s). Kodi allows several separated by ``;``."""
    return _groups(entry.group) if entry.group else ()


@functools.lru_cache(maxsize=4096)
def _groups(group: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(g.strip() for g in group.split(";") if g.strip()))


@functools.lru_cache(maxsize=4096)
def adult_groups(groups: tuple[str, ...]) -> bool:
    """Whether any of the groups looks adult (a playlist has a few hundred groups at most)."""
    return any(looks_adult(g) for g in groups)


def _int(text: str | None) -> int | None:
    if not text:
        return None
    # At most 18 digits: int() refuses a text of over 4,300 (docs/reliability.md).
    match = re.match(r"\s*(-?\d{1,18})(?!\d)", text)
    return int(match.group(1)) if match else None


_YEAR = re.compile(r"\((\d{4})\)\s*$")


@dataclass(frozen=True, slots=True)
class EpisodeEntry:
    """An episode and the series it belongs to (series are grouped from the playlist)."""

    series: SeriesRecord
    episode: EpisodeRecord


M3uRecord = ChannelRecord | MovieRecord | EpisodeEntry


def to_record(
    entry: M3uEntry, secrets: Iterable[str] = (), kind: EntryKind | None = None
) -> M3uRecord:
    """The entry as a record; ``kind`` is ``classify(entry)`` when the caller has it already."""
    kind = kind or classify(entry)
    key = identity_key(entry, secrets)
    logo = entry.attrs.get("tvg-logo") or None
    groups = groups_of(entry)
    censored = adult_groups(groups)
    ext = url_extension(entry.url)
    if kind in (EntryKind.CHANNEL, EntryKind.RADIO):
        days = next(
            (
                d
                for d in (
                    _int(entry.attrs.get(k)) for k in ("catchup-days", "timeshift", "tvg-rec")
                )
                if d and d > 0
            ),
            None,
        )
        catchup = entry.attrs.get("catchup") or entry.attrs.get("catchup-type")
        extra = {
            k: v
            for k, v in (
                ("tvg-name", entry.attrs.get("tvg-name")),
                ("tvg-shift", entry.attrs.get("tvg-shift")),
                ("tvg-chno", entry.attrs.get("tvg-chno") or entry.attrs.get("channel-number")),
                ("catchup", catchup),
                ("catchup-source", entry.attrs.get("catchup-source")),
                (
                    "user-agent",
                    entry.options.get("http-user-agent")
                    or entry.attrs.get("http-user-agent")
                    or entry.attrs.get("user-agent"),
                ),
                (
                    "referrer",
                    entry.options.get("http-referrer")
                    or entry.attrs.get("http-referrer")
                    or entry.attrs.get("referrer"),
                ),
            )
            if v
        }
        for prop, value in entry.kodi_props.items():
            extra[f"kodiprop:{prop}"] = value
        return ChannelRecord(
            provider_item_id=key,
            name=entry.name,
            number=_int(entry.attrs.get("tvg-chno") or entry.attrs.get("channel-number")),
            logo=logo,
            category_ids=groups,
            cmd=entry.url,
            epg_id=entry.attrs.get("tvg-id") or None,
            archive=bool(days) or bool(catchup and catchup.lower() not in {"", "none"}),
            archive_days=days,
            radio=kind is EntryKind.RADIO,
            censored=censored,
            extra=extra,
        )
    if kind is EntryKind.MOVIE:
        match = _YEAR.search(entry.name)
        return MovieRecord(
            provider_item_id=key,
            name=entry.name,
            year=int(match.group(1)) if match else None,
            poster=logo,
            category_ids=groups,
            cmd=entry.url,
            extension=ext,
            censored=censored,
        )
    marker = episode_marker(entry.name)
    series = _series(entry, marker, groups, censored)
    if marker is not None:
        season, number = marker.season, marker.episode
        episode_name = marker.title or f"Episode {number}"
    else:  # an XC /series/ URL without a marker in its name
        season, number, episode_name = 1, 0, entry.name
    episode = EpisodeRecord(
        provider_item_id=key,
        season=season,
        number=number,
        name=episode_name,
        cmd=entry.url,
        extension=ext,
    )
    return EpisodeEntry(series=series, episode=episode)


def series_record(entry: M3uEntry) -> SeriesRecord:
    """``to_record(entry).series`` of an episode entry, without the episode's identity key
    (what a walk needs: the series, once per episode of it)."""
    groups = groups_of(entry)
    censored = adult_groups(groups)
    return _series(entry, episode_marker(entry.name), groups, censored)


def _series(
    entry: M3uEntry, marker: EpisodeMarker | None, groups: tuple[str, ...], censored: bool
) -> SeriesRecord:
    if marker is not None:
        title = marker.series_title or entry.attrs.get("tvg-name") or entry.name
    else:
        title = entry.name
    return _series_of(title, entry.attrs.get("tvg-logo") or None, groups, censored)


@functools.lru_cache(maxsize=4096)
def _series_of(
    title: str, poster: str | None, groups: tuple[str, ...], censored: bool
) -> SeriesRecord:
    """One record for all the episodes of a series (dozens each): built, keyed, once."""
    match = _YEAR.search(title)
    return SeriesRecord(
        provider_item_id=series_key(title),
        name=title,
        year=int(match.group(1)) if match else None,
        poster=poster,
        category_ids=groups,
        censored=censored,
    )

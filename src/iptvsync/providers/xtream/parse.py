"""Xtream Codes payloads → typed records. Pure: no I/O, no clock (``now`` is passed in).

Two server families answer one API (docs/providers.md §1.0): the original Xtream Codes 2.x and its
reseller clones send almost every number as a string; XUI.one / XC_VM send ints for ids and add
``category_ids``. Every scalar is therefore coerced here (§1.10): ids with ``int(str(x).strip())``,
booleans from ``1``/``"1"``/``true``/``"true"``, floats after a decimal comma becomes a dot, and
``""``/``null`` mean "missing". A PHP empty array ``[]`` can stand where an object is expected.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from iptvsync.errors import (
    ProviderAccountExpired,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderBanned,
    ProviderError,
    ProviderUnreachable,
)
from iptvsync.providers.pages import looks_adult
from iptvsync.records import (
    AccountInfo,
    CategoryRecord,
    ChannelRecord,
    EpisodeRecord,
    Kind,
    MovieRecord,
    ProgrammeRecord,
    SeasonRecord,
    SeriesRecord,
)

BOM = b"\xef\xbb\xbf"

# ---------------------------------------------------------------------------------------------
# Scalar coercion (§1.10 item 1 and 3)


def to_str(value: Any) -> str | None:
    """A trimmed string, or None for null / "" / non-scalars."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    text = str(value).strip()
    return text or None


def to_int(value: Any) -> int | None:
    """``int(str(x).strip())``, tolerating ``"12.0"``; None when missing or not a number."""
    if value is None or isinstance(value, (bool, dict, list)):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return int(float(text.replace(",", ".")))
        except (ValueError, OverflowError):
            return None
    except OverflowError:
        return None


def to_float(value: Any) -> float | None:
    """A float, with a decimal comma accepted (``"7,5"``, seen on real panels)."""
    if value is None or isinstance(value, (bool, dict, list)):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip().replace(",", ".")
    if not text:
        return None
    try:
        out = float(text)
    except ValueError:
        return None
    return out if out == out else None  # NaN is "missing"


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return False


def as_object(value: Any) -> dict[str, Any]:
    """An object, or ``{}`` when the panel sent PHP's empty array ``[]`` (or anything else)."""
    return value if isinstance(value, dict) else {}


def epoch_to_datetime(value: Any) -> datetime | None:
    seconds = to_int(value)
    if seconds is None or seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


_YEAR_IN_NAME = re.compile(r"\((\d{4})\)\s*$")
_YEAR_PREFIX = re.compile(r"^\s*(\d{4})")


def year_of(*candidates: Any) -> int | None:
    """First plausible year among explicit fields (``year``, ``release_date``)."""
    for value in candidates:
        text = to_str(value)
        if not text:
            continue
        match = _YEAR_PREFIX.match(text)
        if match and 1880 <= int(match.group(1)) <= 2200:
            return int(match.group(1))
    return None


def year_from_name(name: str) -> int | None:
    match = _YEAR_IN_NAME.search(name)
    if match and 1880 <= int(match.group(1)) <= 2200:
        return int(match.group(1))
    return None


def minutes_of(value: Any) -> int | None:
    """Duration as minutes from ``"01:42:00"``, ``"102"`` (bare minutes) or seconds fields."""
    text = to_str(value)
    if not text:
        return None
    if ":" in text:
        parsed = [to_int(p) for p in text.split(":")]
        nums = [p for p in parsed if p is not None]
        if len(nums) != len(parsed) or len(nums) > 3:
            return None
        while len(nums) < 3:
            nums.insert(0, 0)
        hours, minutes, seconds = nums
        total = hours * 60 + minutes + (1 if seconds >= 30 else 0)
        return total or None
    bare = to_int(text)
    return bare if bare and bare > 0 else None


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
# Bodies that are not the JSON we asked for (§1.2 failure shapes)


def strip_bom(raw: bytes) -> bytes:
    """Drop a UTF-8 BOM and leading whitespace (seen before the JSON on real panels)."""
    raw = raw.lstrip()
    while raw.startswith(BOM):
        raw = raw[len(BOM) :].lstrip()
    return raw


_BANNED_WORDS = ("banned", "blocked", "forbidden", "access denied", "cloudflare", "captcha")
_EXPIRED_WORDS = ("expired",)
_AUTH_WORDS = ("unauthorized", "invalid", "credentials", "disabled", "not found")
_TRANSIENT_WORDS = ("too many connections", "try again", "server busy", "flood")


def classify_failure(status: int, body: bytes) -> ProviderError:
    """The error that an HTTP status plus a non-JSON (or empty) body stands for.

    XC_VM answers 404 with an HTML page for invalid, banned, disabled and expired lines; WAFs and
    UA blocks answer 401/403 or a challenge page; a 200 page may say "Too many connections".
    The caller decides what is transient (see ``is_transient``).
    """
    text = body[:32_768].decode("utf-8", errors="replace").lower()
    if status == 401:
        return ProviderAuthFailed("provider refused the credentials (HTTP 401)")
    if status == 403:
        return ProviderBanned("provider refused access (HTTP 403); check the User-Agent or IP")
    if status == 429:
        return ProviderBanned("provider rate limit (HTTP 429)")
    if 500 <= status < 600:
        return ProviderUnreachable(f"provider server error (HTTP {status})")
    if any(word in text for word in _EXPIRED_WORDS):
        return ProviderAccountExpired("provider says the account has expired")
    if any(word in text for word in _TRANSIENT_WORDS):
        return ProviderBadResponse("provider is busy (too many connections)")
    if any(word in text for word in _BANNED_WORDS):
        return ProviderBanned("provider blocked the request")
    if status == 404:
        return ProviderAuthFailed(
            "provider refused the credentials (HTTP 404)", detail={"http_status": 404}
        )
    if any(word in text for word in _AUTH_WORDS):
        return ProviderAuthFailed("provider refused the credentials")
    if not text.strip():
        return ProviderBadResponse(f"empty response (HTTP {status})")
    if status >= 400:
        return ProviderBadResponse(f"unexpected HTTP {status}")
    return ProviderBadResponse("response is not JSON")


def is_transient(error: ProviderError, status: int) -> bool:
    """Worth a retry with back-off: 429, 5xx, empty bodies, "too many connections"."""
    if status == 429 or 500 <= status < 600:
        return True
    return isinstance(error, ProviderBadResponse)


# ---------------------------------------------------------------------------------------------
# Login (§1.2)


@dataclass(frozen=True, slots=True)
class XtreamLogin:
    """What the login payload says. No credentials are kept here."""

    family: str  # "xtream" (XC 2.x, strings) | "xui" (XUI.one / XC_VM)
    account: AccountInfo
    max_connections: int | None = None
    active_connections: int | None = None
    is_trial: bool = False
    allowed_formats: tuple[str, ...] = ()
    timezone: str | None = None
    version: str | None = None

    @property
    def live_extension(self) -> str:
        """``m3u8`` when the line allows it, else ``ts`` (IPTVnator's rule, §1.2)."""
        if "m3u8" in self.allowed_formats:
            return "m3u8"
        return "ts"


def check_auth_object(payload: Any) -> None:
    """Raise when a list action answered with the login object ``{"user_info":{"auth":0}}``.

    The same object can come back for any action (§1.2 failure 1); a list with it is not a list.
    """
    if isinstance(payload, dict) and isinstance(payload.get("user_info"), dict):
        info = payload["user_info"]
        if not to_bool(info.get("auth")):
            raise _refusal(info)


def _refusal(info: Mapping[str, Any]) -> ProviderError:
    status = (to_str(info.get("status")) or "").lower()
    if status == "expired":
        return ProviderAccountExpired("provider says the account has expired")
    if status == "banned":
        return ProviderBanned("provider says the account is banned")
    if status == "disabled":
        # auth 0 with "Disabled" is also what panels answer to a wrong password (docs/providers.md
        # §1.2): a credentials problem first.
        return ProviderAuthFailed("provider says the account is disabled")
    return ProviderAuthFailed("provider refused the credentials")


def expiry_of(value: Any) -> datetime | None:
    """``exp_date``: null, "", "0" or a negative number mean "never expires" (§1.2)."""
    return epoch_to_datetime(value)


def parse_login(payload: Any, *, now: datetime) -> XtreamLogin:
    """The login payload (``player_api.php`` with no action) → XtreamLogin, or a typed error.

    A past ``exp_date`` means expired even when ``status`` still says Active.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("user_info"), dict):
        raise ProviderBadResponse("login answer has no user_info object")
    info = payload["user_info"]
    server = as_object(payload.get("server_info"))
    if not to_bool(info.get("auth")):
        raise _refusal(info)
    status = (to_str(info.get("status")) or "active").lower()
    expires_at = expiry_of(info.get("exp_date"))
    if status == "expired" or (expires_at is not None and expires_at <= now):
        raise ProviderAccountExpired(
            "provider account expired"
            + (f" on {expires_at.date().isoformat()}" if expires_at else ""),
            detail={"expires_at": expires_at.isoformat()} if expires_at else None,
        )
    if status == "banned":
        raise ProviderBanned("provider says the account is banned")
    if status == "disabled":
        raise ProviderAuthFailed("provider says the account is disabled")
    formats = info.get("allowed_output_formats")
    allowed = tuple(
        str(f).strip().lower() for f in (formats if isinstance(formats, list) else []) if f
    )
    xui = to_bool(server.get("xui")) or to_str(server.get("version")) is not None
    return XtreamLogin(
        family="xui" if xui else "xtream",
        account=AccountInfo(
            status="active" if status == "active" else "unknown",
            expires_at=expires_at,
            message=to_str(info.get("message")),
        ),
        max_connections=to_int(info.get("max_connections")),
        active_connections=to_int(info.get("active_cons")),
        is_trial=to_bool(info.get("is_trial")),
        allowed_formats=allowed,
        timezone=to_str(server.get("timezone")),
        version=to_str(server.get("version")),
    )


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
                provider_id=cid,
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
        provider_id=str(sid),
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
        provider_id=str(sid),
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
        provider_id=str(sid),
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
        sid = to_int(fallback.provider_id)
    if sid is None:
        return None
    base = fallback or MovieRecord(provider_id=str(sid), name=f"Movie {sid}")
    name = to_str(data.get("name")) or base.name or to_str(info.get("name")) or base.name
    duration = minutes_of(info.get("duration"))
    if duration is None:
        secs = to_int(info.get("duration_secs"))
        duration = round(secs / 60) if secs else None
    cats = _category_ids(data) or base.category_ids
    return dataclasses.replace(
        base,
        provider_id=str(sid),
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
                provider_id=str(eid), season=season, number=number, name=name, extension=extension
            ),
        )
    out: list[SeasonRecord] = []
    for number in sorted(seasons):
        episodes = sorted(seasons[number].values(), key=lambda e: (e.number, e.provider_id))
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


# ---------------------------------------------------------------------------------------------
# URLs (§1.1, §1.7)


def normalise_base_url(url: str) -> str:
    """The panel base, ``scheme://host[:port][/sub-path]``: a pasted endpoint and query go."""
    base = url.strip().split("#", 1)[0].split("?", 1)[0].rstrip("/")
    for suffix in ("/player_api.php", "/get.php", "/xmltv.php", "/panel_api.php"):
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)]
    if "://" not in base:
        base = "http://" + base
    return base.rstrip("/")


STREAM_PREFIX = {"channel": "live", "movie": "movie", "episode": "series"}

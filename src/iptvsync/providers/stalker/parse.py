"""Stalker / Ministra payloads → typed records. Pure: no I/O, no clock (``now`` is passed in).

Two server families answer the same protocol (reference §0): stock Ministra (string ids,
``total_items`` as a string, plain-text auth failures, a ``text`` debug key) and reseller panels
(XC / XUI / XC_VM: ints, empty-body auth failures, base64 ``cmd``s, ``"N/A"`` values, a
``type=series`` module). Every function here accepts both shapes, coerces every scalar, and
raises only ``ProviderError`` subclasses on bad input — never KeyError or TypeError.
"""

from __future__ import annotations

import base64
import binascii
import html
import math
import re
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import ijson
import orjson

from iptvsync.errors import (
    ProviderAccountExpired,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderUnreachable,
)
from iptvsync.providers.http import redact
from iptvsync.records import (
    AccountInfo,
    CategoryRecord,
    ChannelRecord,
    EpisodeRecord,
    Kind,
    MovieRecord,
    SeasonRecord,
    SeriesRecord,
)


class PortalBusy(ProviderBadResponse):
    """A 200 answer that is a transient refusal ("Too many connections"): retry later.

    Still a ProviderBadResponse for anyone who gives up, so the error code stays
    ``provider_bad_response``.
    """

    transient = True


# ---------------------------------------------------------------------------------------------
# scalars

_MISSING = frozenset({"", "n/a", "na", "null", "none", "undefined", "false", "-"})


def to_str(value: Any) -> str | None:
    """A trimmed string; None for null, ``""``, ``"N/A"``, ``false`` and containers."""
    if isinstance(value, str):
        text = value.strip()
    elif value is None or isinstance(value, dict | list | bool):
        return None
    else:
        text = str(value).strip()
    if len(text) <= 9 and text.lower() in _MISSING:
        return None
    return text


def to_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value == value and abs(value) < 1e18 else None
    text = str(value).strip()
    if re.fullmatch(r"[+-]?\d{1,18}", text):
        return int(text)
    if re.fullmatch(r"[+-]?\d{1,18}\.\d*", text):
        return int(float(text))
    return None


def to_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip()
        if not text or len(text) > 32 or "_" in text:
            return None
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def to_bool(value: Any) -> bool:
    """``1``/``"1"``/``true``/``"true"``/``"yes"``/``"on"`` → True; ``""``/``0``/null → False."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return False


def _text(value: Any, limit: int = 300) -> str | None:
    """Portal-provided message text (errors, refusals): HTML stripped, secrets masked, bounded."""
    plain = _clean(value, limit * 2)
    return None if plain is None else (redact(plain)[:limit] or None)


_TAG = re.compile(r"<[^>]*>")


def _clean(value: Any, limit: int = 4000) -> str | None:
    """Catalogue text: entities decoded, tags dropped, whitespace collapsed, ``"N/A"`` → None.
    The cheap checks come first: this runs for every field of every row."""
    if isinstance(value, str):
        text = value
    elif value is None or isinstance(value, dict | list | bool):
        return None
    else:
        text = str(value)
    if "&" in text:
        text = html.unescape(text)
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "  " in text or "\n" in text or "\t" in text or "\r" in text:
        text = " ".join(text.split())
    text = text.strip()
    if len(text) <= 9 and text.lower() in _MISSING:
        return None
    return text[:limit]


_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y",
    "%B %d, %Y, %I:%M %p",  # XC account expiry in ``phone``: "March 5, 2026, 12:00 am"
    "%B %d, %Y %I:%M %p",
    "%B %d, %Y",
    "%b %d, %Y, %I:%M %p",
    "%b %d, %Y",
)


def parse_when(value: Any) -> datetime | None:
    """A portal date (``YYYY-MM-DD HH:MM:SS``, Unix seconds, XC's "March 5, 2026, 12:00 am")
    as an aware UTC datetime. Naive portal times are read as UTC (we send ``timezone=UTC``).
    ``0000-00-00``, ``Unlimited`` and garbage give None."""
    if isinstance(value, str) and len(value) == 19 and value[4] == "-" and value[0] != "0":
        try:  # the common case, at C speed
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        except ValueError:
            pass
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        seconds = to_int(value)
        if seconds is None or not 100_000_000 <= seconds <= 100_000_000_000:
            return None
        return datetime.fromtimestamp(seconds, tz=UTC)
    text = to_str(value)
    if text is None or text.startswith("0000"):
        return None
    text = " ".join(text.split())
    if text.endswith("Z"):
        text = text[:-1]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is not None:
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


# ---------------------------------------------------------------------------------------------
# the envelope (reference §2, decision tree)


@dataclass(frozen=True, slots=True)
class Envelope:
    """A decoded ``{"js": ...}`` answer. ``top`` holds the keys beside ``js`` (XC panels put
    create_link's ``error``/``link_id`` there); ``has_text`` is the stock servers' debug key."""

    js: Any
    top: dict[str, Any]
    has_text: bool


_AUTH_TEXT = re.compile(
    r"(?i)^(?:(?P<token>authori[sz]ation failed\.?(?:\s*\d+)?)"
    r"|(?P<denied>access denied\.?)|(?P<unauth>unauthori[sz]ed request\.?))$"
)
_AUTH_IN_JS = re.compile(r"(?i)authori[sz]ation failed|invalid token|token (?:is )?invalid")
_BUSY = re.compile(
    r"(?i)too many (?:connections|requests|users)|try again later|temporarily unavailable"
    r"|server is busy|rate limit|service unavailable|max_user_connections"
)


def decode_envelope(body: bytes | str) -> Envelope:
    """Decode a 200 answer, or raise the typed error its body means.

    - empty body → ProviderAuthFailed (XC-style "not authorized": bad token or unknown MAC);
    - ``Authorization failed.`` (some builds append digits: ``Authorization failed. 75``),
      ``Access denied.``, ``Unauthorized request.`` → ProviderAuthFailed;
    - an HTML or text "Too many connections"-style page → PortalBusy (transient);
    - other HTML/text, truncated JSON, JSON without ``js`` → ProviderBadResponse;
    - ``js.error``/``js.msg`` saying "Authorization failed"/"Invalid token" → ProviderAuthFailed.
    """
    raw = body.encode("utf-8", "replace") if isinstance(body, str) else bytes(body)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    stripped = raw.strip()
    if not stripped:
        raise ProviderAuthFailed(
            "the portal answered with an empty body (not authorized: token or MAC refused)",
            detail={"reason": "empty"},
        )
    if stripped[:1] not in (b"{", b"["):
        _raise_for_text(stripped)
    data = _loads(stripped)
    if not isinstance(data, dict) or "js" not in data:
        raise ProviderBadResponse("the portal answered JSON without a 'js' member")
    js = data["js"]
    if isinstance(js, dict):
        for key in ("error", "msg"):
            value = js.get(key)
            if isinstance(value, str) and _AUTH_IN_JS.search(value):
                raise ProviderAuthFailed(
                    f"the portal refused the session: {_text(value, 120)}",
                    detail={"reason": "token"},
                )
    top = {k: v for k, v in data.items() if k != "js"}
    return Envelope(js=js, top=top, has_text="text" in data)


def _raise_for_text(stripped: bytes) -> None:
    text = stripped[:4096].decode("utf-8", "replace").strip()
    match = _AUTH_TEXT.match(text)
    if match:
        reason = "token" if match.group("token") else "access_denied"
        if match.group("unauth"):
            reason = "unauthorized"
        raise ProviderAuthFailed(
            f"the portal refused the request: {text[:60]}", detail={"reason": reason}
        )
    # PHP notices (HTML-formatted) are sometimes printed before the JSON: the envelope
    # behind them is the answer.
    if stripped.find(b'{"js"') > 0:
        return
    if _BUSY.search(text):
        raise PortalBusy("the portal is overloaded (it answered 'too many connections')")
    if text[:1] == "<" or "<html" in text[:512].lower():
        raise ProviderBadResponse("the portal answered an HTML page instead of JSON")
    raise ProviderBadResponse(f"the portal answered text instead of JSON: {_text(text, 80)!r}")


def _loads(stripped: bytes) -> Any:
    try:
        return orjson.loads(stripped)
    except orjson.JSONDecodeError:
        pass
    start = stripped.find(b'{"js"')
    if start > 0:
        try:
            return orjson.loads(stripped[start:])
        except orjson.JSONDecodeError:
            pass
    try:  # invalid UTF-8 inside otherwise valid JSON
        return orjson.loads(stripped.decode("utf-8", "replace"))
    except orjson.JSONDecodeError as exc:
        raise ProviderBadResponse("the portal answered truncated or malformed JSON") from exc


# ---------------------------------------------------------------------------------------------
# session: handshake, profile, account (reference §4)


@dataclass(frozen=True, slots=True)
class Handshake:
    token: str
    random: str | None = None


def parse_handshake(js: Any) -> Handshake:
    if not isinstance(js, dict):
        raise ProviderBadResponse("the handshake answer is not an object")
    token = to_str(js.get("token"))
    if token is None:
        # XC_VM answers {"token": null} for an unregistered MAC.
        raise ProviderAuthFailed(
            "the portal refused the handshake (MAC not registered?)",
            detail={"reason": "handshake"},
        )
    if len(token) > 4096 or any(c.isspace() for c in token):
        raise ProviderBadResponse("the handshake token is not a usable token")
    return Handshake(token=token, random=to_str(js.get("random")))


@dataclass(frozen=True, slots=True)
class Profile:
    status: int
    message: str | None = None
    blocked: bool = False
    portal_disabled: bool = False
    watchdog_timeout: int | None = None
    expires_at: datetime | None = None
    expiry_text: str | None = None  # XC puts the expiry (or "Unlimited") in ``phone``

    @property
    def needs_login(self) -> bool:
        return self.status == 2


_EXPIRED_WORDS = re.compile(
    r"(?i)expir|ended|end of (?:your )?subscription|tariff|payment|pay |renew|suspend|blocked"
    r"|disabled|deactivat|not active|inactive|balance"
)


def parse_profile(js: Any) -> Profile:
    """Read ``get_profile``; raise when the portal refuses this box.

    status 0 → OK; 2 → login required (``needs_login``); 1 → refused: expiry/blocking wording
    → ProviderAccountExpired, maintenance (``portal_disabled``) → ProviderUnreachable,
    anything else (bare ``{"status":1}`` = invalid MAC, "device conflict", "old firmware") →
    ProviderAuthFailed with the portal's message.
    """
    if not isinstance(js, dict):
        raise ProviderBadResponse("the profile answer is not an object")
    status = to_int(js.get("status"))
    message = _text(js.get("block_msg")) or _text(js.get("msg")) or _text(js.get("info"))
    msg = _text(js.get("msg"))
    if msg and message and msg not in message:
        message = f"{msg}: {message}"
    phone = to_str(js.get("phone"))
    expires = parse_when(js.get("expire_billing_date")) or parse_when(phone)
    profile = Profile(
        status=0 if status is None else status,
        message=message,
        blocked=to_bool(js.get("blocked")),
        portal_disabled=to_bool(js.get("portal_disabled")),
        watchdog_timeout=to_int(js.get("watchdog_timeout")),
        expires_at=expires,
        expiry_text=phone if phone and (expires or phone.lower() == "unlimited") else None,
    )
    if profile.status == 1:
        if profile.portal_disabled:
            raise ProviderUnreachable(
                f"the portal is in maintenance: {message or 'temporarily unavailable'}"
            )
        if message and _EXPIRED_WORDS.search(message):
            raise ProviderAccountExpired(f"the portal refused this account: {message}")
        raise ProviderAuthFailed(
            f"the portal refused this MAC: {message or 'not registered or wrong format'}",
            detail={"reason": "profile"},
        )
    if profile.status == 0 and profile.blocked:
        raise ProviderAccountExpired(
            f"the account is blocked: {message}" if message else "the account is blocked"
        )
    return profile


def parse_do_auth(js: Any) -> None:
    """``do_auth`` answers ``true``/``false`` (sometimes ``1``/``0`` or ``"1"``)."""
    if not to_bool(js):
        raise ProviderAuthFailed(
            "the portal refused the login and password", detail={"reason": "login"}
        )


def parse_account_info(
    js: Any, profile: Profile | None = None, *, now: datetime | None = None
) -> AccountInfo:
    """``account_info/get_main_info`` (stock ``end_date``, XC expiry in ``phone``) plus what
    the profile said, as an AccountInfo. ``now`` decides "expired"."""
    info = js if isinstance(js, dict) else {}
    expires: datetime | None = None
    unlimited = False
    for key in ("end_date", "expire_date", "expire_billing_date", "phone", "exp_date"):
        value = info.get(key)
        if isinstance(value, str) and value.strip().lower() == "unlimited":
            unlimited = True
            continue
        expires = expires or parse_when(value)
    if expires is None and profile is not None:
        expires = profile.expires_at
        unlimited = unlimited or (profile.expiry_text or "").lower() == "unlimited"
    status = "active"
    message = _text(info.get("tariff_plan"), 120)
    if profile is not None and profile.blocked:
        status = "disabled"
    elif expires is not None and now is not None and expires < now:
        status = "expired"
    if unlimited and expires is None:
        message = message or "Unlimited"
    return AccountInfo(status=status, expires_at=expires, message=message)


# ---------------------------------------------------------------------------------------------
# URLs of a portal: origin and base, logos, posters (reference §5.4, §6.3)


_HTTP_URL = re.compile(r"(?i)^https?://")


@dataclass(frozen=True, slots=True)
class PortalUrls:
    """``origin`` = scheme://host[:port]; ``base`` = origin + the portal path (the directory
    above ``server/load.php`` or holding ``portal.php``), no trailing slash."""

    origin: str
    base: str

    @classmethod
    def from_endpoint(cls, endpoint: str) -> PortalUrls:
        parts = urlsplit(endpoint)
        origin = f"{parts.scheme}://{parts.netloc}"
        path = parts.path
        if path.endswith("/server/load.php"):
            path = path[: -len("/server/load.php")]
        elif path.endswith(".php"):
            path = path.rsplit("/", 1)[0]
        return cls(origin=origin, base=origin + path.rstrip("/"))

    def absolute(self, value: Any, *, bare_prefix: str | None = None) -> str | None:
        """Absolute URLs as they are; ``/path`` on the origin; ``//host/x`` on the scheme;
        a bare name under ``base`` (+ ``bare_prefix``)."""
        text = to_str(value)
        if text is None:
            return None
        if text.startswith(("http://", "https://")) or _HTTP_URL.match(text):
            return text
        if text.startswith("//"):
            return f"{urlsplit(self.origin).scheme}:{text}"
        if text.startswith("/"):
            return self.origin + text
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", text):
            return None  # data:, javascript: and friends are not images
        prefix = f"{self.base}/{bare_prefix.strip('/')}/" if bare_prefix else f"{self.base}/"
        return prefix + text

    def logo(self, value: Any) -> str | None:
        # Stock sends a bare file name; the box builds <base>/misc/logos/<size>/<name>.
        return self.absolute(value, bare_prefix="misc/logos/320")


# ---------------------------------------------------------------------------------------------
# lists: categories and pages (reference §5.1, §6.1, §8)

_PSEUDO_CATEGORY_IDS = frozenset({"*", "coming_soon", "dvb", "pvr"})


def _rows(value: Any) -> list[dict[str, Any]]:
    """A list of row objects from a list, a ``{"data": [...]}`` wrapper, or a PHP associative
    array serialised as an object of objects. Non-object rows are dropped."""
    if isinstance(value, dict) and "data" in value:
        value = value["data"]
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        value = list(value.values())
    if value in ({}, None, False, ""):
        return []  # PHP's empty array, or nothing
    if not isinstance(value, list):
        raise ProviderBadResponse("the portal answered a list of the wrong type")
    return [row for row in value if isinstance(row, dict)]


def parse_categories(js: Any, kind: Kind) -> list[CategoryRecord]:
    """Genres (ITV) or categories (VOD, series); the "All" pseudo-category ``*`` is dropped."""
    out: list[CategoryRecord] = []
    seen: set[str] = set()
    for row in _rows(js):
        cid = to_str(row.get("id"))
        if cid is None or cid.lower() in _PSEUDO_CATEGORY_IDS or cid in seen:
            continue
        seen.add(cid)
        title = (
            to_str(row.get("title"))
            or to_str(row.get("category_name"))
            or to_str(row.get("alias"))
            or f"Category {cid}"
        )
        out.append(
            CategoryRecord(
                kind=kind,
                provider_id=cid,
                title=title,
                censored=to_bool(row.get("censored")),
                position=len(out),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class PagePayload:
    rows: list[dict[str, Any]]
    total_items: int | None
    page_size: int | None

    @property
    def total_pages(self) -> int | None:
        if self.total_items is None or not self.page_size:
            return None
        return max(0, -(-self.total_items // self.page_size))


def parse_page(js: Any) -> PagePayload:
    """``{"total_items": "1234"|1234, "max_page_items": 14, "data": [...]}``."""
    if isinstance(js, list):  # some panels answer the bare list
        return PagePayload(rows=_rows(js), total_items=None, page_size=None)
    if not isinstance(js, dict):
        if js in (None, False, "", 0):
            return PagePayload(rows=[], total_items=None, page_size=None)
        raise ProviderBadResponse("the portal answered a page that is not an object")
    data = js.get("data")
    rows = _rows(data) if data is not None else []
    total = to_int(js.get("total_items"))
    size = to_int(js.get("max_page_items"))
    return PagePayload(
        rows=rows,
        total_items=total if total is not None and total >= 0 else None,
        page_size=size if size is not None and 0 < size <= 10_000 else None,
    )


# ---------------------------------------------------------------------------------------------
# channels (reference §5.4)


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
        provider_id=cid,
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


def parse_channel_stream(
    body: bytes, urls: PortalUrls, *, censored_genres: Iterable[str] = ()
) -> list[ChannelRecord]:
    """``get_all_channels`` → records, one row at a time.

    The answer holds every channel at once (tens of MB on big portals, each row the whole
    ``itv`` table); parsing it whole would hold every row's dict at the same time. ijson walks
    ``js.data`` row by row and only the compact records stay. Anything that is not the
    ``{"js": {"data": [...]}}`` shape goes through ``decode_envelope``, which knows every
    error body.
    """
    stripped = body.strip()
    if not stripped.startswith(b"{"):
        decode_envelope(body)  # raises the right typed error for text / HTML / empty bodies
        raise ProviderBadResponse("the portal answered get_all_channels with no JSON object")
    genres = frozenset(censored_genres)
    out: list[ChannelRecord] = []
    try:
        for row in ijson.items(stripped, "js.data.item", use_float=True):
            if isinstance(row, dict):
                record = parse_channel(row, urls, censored_genres=genres)
                if record is not None:
                    out.append(record)
    except (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError):
        raise ProviderBadResponse("the portal's channel list is not valid JSON") from None
    if not out:
        # An error object, or an empty list: let the envelope decoder tell which.
        parse_page(decode_envelope(body).js)
    return out


# ---------------------------------------------------------------------------------------------
# VOD items (reference §6.3, §7)


def decode_b64_cmd(cmd: str | None) -> dict[str, Any] | None:
    """XC/XUI movie cmds are base64 JSON (``{"type":"movie","stream_id":1234,...}``)."""
    if not cmd or len(cmd) > 4096 or "." in cmd or ":" in cmd or " " in cmd:
        return None
    try:
        padded = cmd + "=" * (-len(cmd) % 4)
        decoded = base64.b64decode(padded, altchars=b"-_" if "-" in cmd or "_" in cmd else None)
        data = orjson.loads(decoded)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _year(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 1880 <= value <= 2100 else None
    text = to_str(value)
    if text is None:
        return None
    if len(text) == 4 and text.isdigit():
        number = int(text)
        return number if 1880 <= number <= 2100 else None
    match = re.search(r"\b(18[89]\d|19\d\d|20\d\d|2100)\b", text)
    return int(match.group(1)) if match else None


def _rating(row: Mapping[str, Any]) -> float | None:
    for key in ("rating_imdb", "rating_im", "rating_kinopoisk", "rating", "rating_5based"):
        value = to_float(row.get(key))
        if value is None or value <= 0:
            continue
        if key == "rating_5based":
            value *= 2
        return round(min(10.0, value), 2)
    return None


def _duration_min(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 < value < 10_000 else None
    text = to_str(value)
    if text is None:
        return None
    if text.isdigit():
        minutes = int(text)
        return minutes if 0 < minutes < 10_000 else None
    hms = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
    if hms:  # "01:45:00" or "1:45"
        return int(hms.group(1)) * 60 + int(hms.group(2)) or None
    match = re.match(r"(\d{1,5})", text)
    if not match:
        return None
    minutes = int(match.group(1))
    return minutes if 0 < minutes < 10_000 else None


def _extension(row: Mapping[str, Any], cmd: str | None) -> str | None:
    ext = to_str(row.get("container_extension"))
    decoded = decode_b64_cmd(cmd) if ext is None else None
    if decoded is not None:
        ext = to_str(decoded.get("target_container")) or to_str(decoded.get("container_extension"))
    if ext is None and cmd:
        path = strip_solution(cmd).split("?", 1)[0].split("#", 1)[0]
        tail = path.rsplit("/", 1)[-1]
        if "." in tail:
            suffix = tail.rsplit(".", 1)[1]
            if 2 <= len(suffix) <= 4 and suffix.lower() not in ("mpg", "php"):
                ext = suffix
    if ext is None:
        return None
    ext = ext.lstrip(".").lower()
    return ext if re.fullmatch(r"[a-z0-9]{1,5}", ext) else None


def _poster(row: Mapping[str, Any], urls: PortalUrls) -> str | None:
    for key in ("screenshot_uri", "pic", "cover", "cover_big", "stream_icon"):
        value = urls.absolute(row.get(key))
        if value:
            return value
    return None


def is_series_row(row: Mapping[str, Any]) -> bool:
    """Ministra ``is_series=1`` (model B), reseller series rows, or the old model A: a VOD item
    with a non-empty ``series`` list of episode numbers."""
    if to_bool(row.get("is_series")):
        return True
    series = row.get("series")
    return isinstance(series, list) and len(series) > 0


def parse_vod_item(
    row: Mapping[str, Any],
    urls: PortalUrls,
    *,
    force_series: bool = False,
    censored_categories: Container[str] = (),
) -> MovieRecord | SeriesRecord | None:
    """A VOD row as a MovieRecord, or a SeriesRecord when it is a series (``force_series`` for
    rows of the reseller ``type=series`` module). ``cmd`` is kept verbatim (base64 included).
    This runs for every one of a catalogue's 100k+ rows: keep it cheap."""
    item_id = to_str(row.get("id"))
    if item_id is None:
        return None
    name = to_str(row.get("name")) or to_str(row.get("o_name")) or f"Untitled {item_id}"
    category = to_str(row.get("category_id"))
    cmd = to_str(row.get("cmd"))
    common: dict[str, Any] = {
        "provider_id": item_id,
        "name": name,
        "year": _year(row.get("year")) or _year(row.get("releasedate")),
        "rating": _rating(row),
        "poster": _poster(row, urls),
        "category_ids": (category,) if category and category != "0" else (),
        "added_at": parse_when(row.get("added")),
        "cmd": cmd,
        "description": _clean(row.get("description"), 4000),
        "director": _clean(row.get("director"), 500),
        "actors": _clean(row.get("actors"), 1000),
        "genres": _clean(row.get("genres_str"), 300),
        "duration_min": _duration_min(row.get("time")),
        "censored": to_bool(row.get("censored"))
        or (category is not None and category in censored_categories),
    }
    if force_series or is_series_row(row):
        return SeriesRecord(**common)
    return MovieRecord(**common, extension=_extension(row, cmd))


def parse_vod_items(
    rows: Iterable[Mapping[str, Any]],
    urls: PortalUrls,
    *,
    force_series: bool = False,
    censored_categories: Iterable[str] = (),
) -> list[MovieRecord | SeriesRecord]:
    censored = frozenset(censored_categories)
    out = []
    for row in rows:
        record = parse_vod_item(row, urls, force_series=force_series, censored_categories=censored)
        if record is not None:
            out.append(record)
    return out


# ---------------------------------------------------------------------------------------------
# seasons and episodes (reference §7.B stock is_series, §7.C reseller type=series)

_SEASON_PAIR = re.compile(r"^\s*\d+\s*:\s*(\d+)\s*$")
_SEASON_WORD = re.compile(r"(?i)season\s*[-_ ]?(\d+)")


def season_number(row: Mapping[str, Any], fallback: int) -> int:
    """``"55:2"`` (XC 2.x), ``"season2"`` (some panels), ``season_number``, a "Season 2" name,
    "Specials" (0), else ``fallback`` (XC_VM puts the plain show id in ``id``)."""
    explicit = to_int(row.get("season_number"))
    if explicit is not None:
        return explicit
    sid = to_str(row.get("id")) or ""
    for pattern in (_SEASON_PAIR, _SEASON_WORD):
        match = pattern.search(sid)
        if match:
            return int(match.group(1))
    for key in ("name", "o_name", "season_name"):
        text = to_str(row.get(key)) or ""
        match = _SEASON_WORD.search(text)
        if match:
            return int(match.group(1))
        if text.lower().startswith("special"):
            return 0
    return fallback


def _positions(value: Any) -> list[int]:
    if not isinstance(value, list):
        return []
    out: list[int] = []
    for item in value:
        number = to_int(item)
        if number is not None and number >= 0 and number not in out:
            out.append(number)
    return out


def parse_reseller_seasons(rows: Iterable[Mapping[str, Any]], show_id: str) -> list[SeasonRecord]:
    """Reseller ``type=series&movie_id=<show>`` rows (one per season, newest first) → seasons
    in ascending order. Episodes are the positions in ``series`` (1..k): the panel picks the
    k-th episode of the season at ``create_link&cmd=<season cmd>&series=k``."""
    seasons: dict[int, SeasonRecord] = {}
    row_list = list(rows)
    for index, row in enumerate(row_list):
        number = season_number(row, fallback=len(row_list) - index)
        cmd = to_str(row.get("cmd"))
        episodes = tuple(
            EpisodeRecord(
                provider_id=f"{show_id}:{number}:{position}",
                season=number,
                number=position,
                name=f"Episode {position}",
                cmd=cmd,
            )
            for position in _positions(row.get("series"))
        )
        name = to_str(row.get("name")) or ("Specials" if number == 0 else f"Season {number}")
        if number in seasons:  # merge duplicates rather than lose episodes
            known = {e.number for e in seasons[number].episodes}
            episodes = seasons[number].episodes + tuple(
                e for e in episodes if e.number not in known
            )
        seasons[number] = SeasonRecord(number=number, name=name, episodes=episodes)
    return [seasons[n] for n in sorted(seasons)]


@dataclass(frozen=True, slots=True)
class StockSeason:
    id: str
    number: int
    name: str


def parse_stock_seasons(rows: Iterable[Mapping[str, Any]]) -> list[StockSeason]:
    """Ministra ``type=vod&movie_id=<id>`` rows that are seasons (``is_season``), ascending.
    File rows (a movie that is not a series) are ignored."""
    out: dict[int, StockSeason] = {}
    for index, row in enumerate(rows):
        sid = to_str(row.get("id"))
        if sid is None or to_bool(row.get("is_file")) or to_bool(row.get("is_episode")):
            continue
        if not (to_bool(row.get("is_season")) or "season_number" in row):
            continue
        number = season_number(row, fallback=index + 1)
        name = to_str(row.get("season_name")) or to_str(row.get("name")) or f"Season {number}"
        out.setdefault(number, StockSeason(id=sid, number=number, name=name))
    return [out[n] for n in sorted(out)]


def parse_stock_episodes(
    rows: Iterable[Mapping[str, Any]], *, movie_id: str, season: StockSeason
) -> list[EpisodeRecord]:
    """Ministra episode rows (``is_episode``). The provider id carries the whole path
    ``<movie>:<season id>:<episode id>`` so play can list the episode's files later."""
    out: dict[int, EpisodeRecord] = {}
    for index, row in enumerate(rows):
        eid = to_str(row.get("id"))
        if eid is None or to_bool(row.get("is_file")) or to_bool(row.get("is_season")):
            continue
        number = to_int(row.get("series_number"))
        if number is None:
            match = re.search(r"(?i)episode\s*(\d+)", to_str(row.get("name")) or "")
            number = int(match.group(1)) if match else index + 1
        name = to_str(row.get("series_name")) or to_str(row.get("name")) or f"Episode {number}"
        out.setdefault(
            number,
            EpisodeRecord(
                provider_id=f"{movie_id}:{season.id}:{eid}",
                season=season.number,
                number=number,
                name=name,
                cmd=to_str(row.get("cmd")),
            ),
        )
    return [out[n] for n in sorted(out)]


def parse_stock_files(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Cmds of an episode's files (``is_file`` rows), video files first."""
    videos: list[str] = []
    others: list[str] = []
    for row in rows:
        cmd = to_str(row.get("cmd")) or to_str(row.get("url"))
        if cmd is None:
            continue
        file_type = (to_str(row.get("file_type")) or "video").lower()
        (videos if file_type == "video" else others).append(cmd)
    return videos + others


# ---------------------------------------------------------------------------------------------
# play links (reference §5.5, §6.4)

_SOLUTION = re.compile(r"^(?P<solution>[a-z][a-z0-9_]*)\s+(?P<rest>\S.*)$", re.IGNORECASE)
_LINK_ERRORS = {
    "nothing_to_play": "nothing to play for this item",
    "limit": "too many streams are playing on this account",
    "access_denied": "access to this item is denied",
    "link_fault": "the portal could not build a link",
    "player_file_missing": "the episode file is missing on the portal",
}
_PLAYABLE_SCHEMES = ("http", "https", "rtmp", "rtmps", "rtsp")


def strip_solution(cmd: str) -> str:
    """``"ffrt http://x/ch/1"`` → ``"http://x/ch/1"``: drop the player "solution" prefix
    (ffmpeg, ffrt, ffrt2, auto, rtp...), and a trailing `` position:<sec>`` resume marker."""
    text = cmd.strip()
    match = _SOLUTION.match(text)
    if match and "://" not in match.group("solution"):
        text = match.group("rest").strip()
    return re.sub(r"\s+position:\d+$", "", text)


def needs_create_link(cmd: str | None, *, tmp_link: bool = False) -> bool:
    """Whether a channel cmd must go through ``create_link`` (IPTVnator's rules): the portal
    asks for it (``use_http_tmp_link``/``use_load_balancing``), the URL points at localhost or
    ends with ``_`` (XC ``/ch/<id>_``), or it is not an http(s) URL at all."""
    if tmp_link or not cmd:
        return True
    url = strip_solution(cmd)
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return True
    host = (parts.hostname or "").lower()
    return host in ("localhost", "127.0.0.1", "0.0.0.0", "") or url.endswith("_")


def stream_id_from_cmd(cmd: str | None) -> str | None:
    """The stream id an original cmd names: base64 ``stream_id``, ``stream=N``, ``/ch/N_``."""
    if not cmd:
        return None
    decoded = decode_b64_cmd(cmd.strip())
    if decoded is not None:
        value = to_str(decoded.get("stream_id"))
        if value:
            return value
    for pattern in (r"[?&]stream=(\d+)", r"/ch/(\d+)", r"/(\d+)_?(?:\.[a-z0-9]{1,5})?(?:\?|$)"):
        match = re.search(pattern, cmd)
        if match:
            return match.group(1)
    return None


def parse_create_link(
    js: Any,
    top: Mapping[str, Any] | None = None,
    *,
    origin: str,
    original_cmd: str | None = None,
    mac: str | None = None,
) -> str:
    """``create_link`` → the playable URL.

    An ad playlist (a list) plays its last element; ``error`` (in ``js`` or, on XC, beside it)
    → ProviderBadResponse with a readable reason; the solution prefix is stripped; ``%mac%`` is
    filled in; relative ``/media/...`` and ``?token=...`` replies are resolved against the
    portal origin; an empty ``stream=`` (the XC bug, IPTVnator #1486) is patched with the id
    from the original cmd.
    """
    if isinstance(js, list):
        candidates = [item for item in js if isinstance(item, dict)]
        if not candidates:
            raise ProviderBadResponse("the portal answered an empty play list")
        js = candidates[-1]
    if not isinstance(js, dict):
        raise ProviderBadResponse("the portal's play-link answer is not an object")
    top = top or {}
    error = to_str(js.get("error")) or to_str(top.get("error"))
    if error:
        reason = _LINK_ERRORS.get(error.lower(), _text(error, 120) or "unknown error")
        raise ProviderBadResponse(
            f"the portal refused to create a play link: {reason}",
            detail={"reason": error.lower()[:40]},
        )
    cmd = to_str(js.get("cmd")) or to_str(js.get("url"))
    if cmd is None:
        raise ProviderBadResponse("the portal's play-link answer has no link")
    url = strip_solution(cmd)
    if mac:
        url = url.replace("%mac%", mac).replace("%MAC%", mac)
    if url.startswith(("/", "?")):
        url = urljoin(origin.rstrip("/") + "/", url)
    url = _patch_empty_stream(url, original_cmd)
    scheme = urlsplit(url).scheme.lower()
    if scheme not in _PLAYABLE_SCHEMES or not urlsplit(url).netloc:
        raise ProviderBadResponse(f"the portal's play link is not playable ({scheme or 'no'} URL)")
    return url


def _patch_empty_stream(url: str, original_cmd: str | None) -> str:
    parts = urlsplit(url)
    if "stream=" not in parts.query:
        return url
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not any(k == "stream" and v == "" for k, v in query):
        return url
    stream_id = stream_id_from_cmd(original_cmd)
    if stream_id is None:
        return url
    patched = [(k, stream_id if k == "stream" and v == "" else v) for k, v in query]
    return urlunsplit(parts._replace(query=urlencode(patched, safe=":/")))

"""Extended M3U playlists → typed records. Pure and streaming: bytes in, entries out, line by line.

There is no standard, only what Kodi (pvr.iptvsimple), Dispatcharr, ipytv and IPTVnator accept
(docs/providers.md §2.6): a BOM, CRLF/LF/CR in one file, a missing ``#EXTM3U``, unquoted and
single-quoted attribute values, commas inside quoted values and inside the name, upper-case keys,
``#EXTGRP``/``#EXTVLCOPT``/``#KODIPROP`` directives between ``#EXTINF`` and its URL, an ``#EXTINF``
without a URL (dropped), a quoted value broken over two lines, non-UTF-8 bytes, gzip, and binary
junk. ``classify`` tells live from VOD (§2.5, rules in docs/providers.md) and ``identity_key``
gives each entry a stable provider id (docs/providers.md §2.8).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from iptvsync.errors import (
    ProviderAccountExpired,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderBanned,
    ProviderError,
)
from iptvsync.providers.pages import looks_adult
from iptvsync.providers.xmltv import Inflater
from iptvsync.records import ChannelRecord, EpisodeRecord, MovieRecord, SeriesRecord

BOM = b"\xef\xbb\xbf"
MAX_LINE = 1 << 20  # a longer "line" is junk; it is skipped without being held in memory

# ---------------------------------------------------------------------------------------------
# Bytes → lines


def sniff_error(head: bytes, what: str = "playlist URL") -> ProviderError | None:
    """An error page or binary blob served instead of a playlist (checked on the first ~32 KB).

    Panels answer 200 with an HTML or JSON page saying "expired", "forbidden"... (Dispatcharr
    sniffs the same way). Compressed bodies are not sniffed here: the line decoder inflates them.
    """
    body = head.lstrip()
    while body.startswith(BOM):
        body = body[len(BOM) :].lstrip()
    if not body or body.startswith((b"\x1f\x8b", b"\xfd7zXZ\x00")):
        return None
    if body[:1] in (b"<", b"{", b"["):
        text = body[:32_768].decode("utf-8", errors="replace").lower()
        if "expired" in text:
            return ProviderAccountExpired(f"{what} says the account has expired")
        if any(w in text for w in ("banned", "blocked", "forbidden", "access denied")):
            return ProviderBanned(f"{what} refused access")
        if any(w in text for w in ("unauthori", "invalid", "login", "password", '"auth":0')):
            return ProviderAuthFailed(f"{what} refused the credentials")
        return ProviderBadResponse(f"{what} returned an HTML or JSON page, not the file")
    if b"\x00" in body[:32_768] and b"#EXT" not in body[:32_768]:
        return ProviderBadResponse(f"{what} returned binary data, not a playlist")
    return None


class LineDecoder:
    """Push bytes, get text lines. Inflates gzip/xz by magic, splits on LF, CRLF or CR, decodes
    UTF-8 with a Latin-1 fallback per line, and skips over-long lines without buffering them."""

    def __init__(self, max_line: int = MAX_LINE, *, at_start: bool = True) -> None:
        """``at_start``: the bytes fed begin a file (a BOM there is dropped); False for a part
        of a plain file that begins at a line start."""
        self._inflater = Inflater()
        self._buf = b""
        self._skipping = False
        self._first = at_start
        self._max_line = max_line
        self.junk_lines = 0

    def feed(self, chunk: bytes) -> list[str]:
        out: list[str] = []
        for data in self._inflater.feed(chunk):
            self._split(data, out)
        return out

    def close(self) -> list[str]:
        out: list[str] = []
        for data in self._inflater.close():
            self._split(data, out)
        if self._buf and not self._skipping:
            self._emit(self._buf, out)
        self._buf = b""
        return out

    def _split(self, data: bytes, out: list[str]) -> None:
        buf = self._buf + data
        if not self._first and not self._skipping:
            cut = buf.rfind(b"\n")
            if cut >= 0 and self._split_fast(buf[:cut], out):
                self._buf = buf[cut + 1 :]
                self._check_partial()
                return
        parts = buf.split(b"\n")
        self._buf = parts.pop()
        for part in parts:
            if self._skipping:
                self._skipping = False
                continue
            for piece in part.split(b"\r"):
                self._emit(piece, out)
        self._check_partial()

    def _check_partial(self) -> None:
        if len(self._buf) > self._max_line:
            self._buf = b""
            if not self._skipping:
                self.junk_lines += 1
            self._skipping = True

    @staticmethod
    def _split_fast(body: bytes, out: list[str]) -> bool:
        """Complete lines of valid UTF-8, decoded and split at C speed (the common case); False
        to take the line-by-line path (invalid bytes, or a BOM that must go)."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return False
        if "\ufeff" in text:
            return False
        if "\r" in text:
            text = text.replace("\r", "\n")
        out.extend(filter(None, map(str.strip, text.split("\n"))))
        return True

    def _emit(self, raw: bytes, out: list[str]) -> None:
        if self._first and raw.strip():
            self._first = False
            while raw.lstrip().startswith(BOM):
                raw = raw.lstrip()[len(BOM) :]
        if not raw.strip():
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            # cp1251/Latin-1 playlists exist (§2.6); Latin-1 never fails and keeps ASCII intact.
            text = raw.decode("latin-1")
        text = text.strip().lstrip("\ufeff")
        if text:
            out.append(text)


# ---------------------------------------------------------------------------------------------
# Lines → entries


@dataclass(slots=True)
class M3uHeader:
    """``#EXTM3U`` attributes (keys lower-cased)."""

    attrs: dict[str, str] = field(default_factory=dict)

    @property
    def guide_urls(self) -> list[str]:
        """``x-tvg-url`` / ``url-tvg`` / ``tvg-url``, each possibly a comma-separated list."""
        out: list[str] = []
        for key in ("x-tvg-url", "url-tvg", "tvg-url"):
            for url in self.attrs.get(key, "").split(","):
                url = url.strip()
                if url and url not in out:
                    out.append(url)
        return out


@dataclass(slots=True)
class M3uEntry:
    """One playlist entry: the ``#EXTINF`` line, its directives and its URL."""

    url: str
    name: str
    attrs: dict[str, str] = field(default_factory=dict)
    group: str | None = None
    options: dict[str, str] = field(default_factory=dict)  # #EXTVLCOPT
    kodi_props: dict[str, str] = field(default_factory=dict)  # #KODIPROP
    vod_flag: bool = False  # #EXT-X-PLAYLIST-TYPE:VOD


_ATTR = re.compile(
    r"""\s*([A-Za-z0-9_][A-Za-z0-9_\-:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s,"']*))"""
)
_DURATION = re.compile(r"\s*(-?\d+(?:\.\d+)?)?")


def parse_attrs(text: str, pos: int = 0) -> tuple[dict[str, str], int | None]:
    """Attributes from ``pos`` on, and the index of the comma that ends them (None: no comma).

    Quote-aware, so commas inside quoted values (logo URLs, ``"News, Sports"``) do not end the
    list; unquoted values end at a space or a comma (``tvg-chno=7``, ``timeshift=3,Name``); a
    stray token without ``=`` is skipped. The name is everything after the returned comma (Kodi's
    rule: the first comma after the last attribute).
    """
    attrs: dict[str, str] = {}
    size = len(text)
    while pos < size:
        match = _ATTR.match(text, pos)
        if match:
            key = match.group(1).lower()
            value = next((g for g in match.group(2, 3, 4) if g is not None), "")
            attrs.setdefault(key, value.strip())
            pos = match.end()
            continue
        char = text[pos]
        if char == ",":
            return attrs, pos
        if char.isspace():
            pos += 1
            continue
        while pos < size and not text[pos].isspace() and text[pos] != ",":
            pos += 1
    return attrs, None


#: The shape nearly every #EXTINF line has: a duration, ``key="value"`` pairs, a comma.
_PLAIN_EXTINF = re.compile(
    r'#EXTINF:\s*-?\d+(?:\.\d+)?((?:\s+[A-Za-z0-9_][A-Za-z0-9_\-:.]*="[^"]*")*)\s*,(.*)',
    re.IGNORECASE | re.DOTALL,
)
_PLAIN_ATTR = re.compile(r'([A-Za-z0-9_][A-Za-z0-9_\-:.]*)="([^"]*)"')


def parse_extinf(line: str) -> tuple[dict[str, str], str]:
    """``#EXTINF:-1 k="v" ...,Name`` → (attributes, name)."""
    plain = _PLAIN_EXTINF.fullmatch(line)
    if plain is not None:  # one regex for the whole line; the general parser otherwise
        attrs: dict[str, str] = {}
        for key, value in _PLAIN_ATTR.findall(plain.group(1)):
            attrs.setdefault(key.lower(), value.strip())
        return attrs, plain.group(2).strip()
    return parse_extinf_general(line)


def parse_extinf_general(line: str) -> tuple[dict[str, str], str]:
    """``parse_extinf`` for any line: quote-aware, unquoted values, stray tokens."""
    body = line[len("#EXTINF:") :] if line[:8].upper() == "#EXTINF:" else line
    match = _DURATION.match(body)
    attrs, comma = parse_attrs(body, match.end() if match else 0)
    name = body[comma + 1 :].strip() if comma is not None else ""
    return attrs, name


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://\S")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f]")  # control characters but the tab


def _is_junk(line: str) -> bool:
    return _CONTROL.search(line) is not None or "\ufffd" in line[:4]


NOT_A_PLAYLIST = "not an M3U playlist (no #EXTM3U and no entries)"


class M3uParser:
    """Feed lines, get entries. Counts what it dropped so the client can warn about it."""

    def __init__(self) -> None:
        self.header: M3uHeader | None = None
        self.saw_content = False
        self.orphans = 0  # #EXTINF with no URL
        self.junk = 0
        self.entries = 0
        self._extinf: str | None = None
        self._group: str | None = None
        self._options: dict[str, str] = {}
        self._props: dict[str, str] = {}
        self._vod = False

    def feed(self, line: str) -> M3uEntry | None:
        if not line:
            return None
        if line.startswith("#"):
            return self._directive(line)
        if self._extinf is not None and line.startswith('"'):
            # A quoted value broken across two lines (ipytv doctor): join it to the #EXTINF.
            self._extinf += line
            return None
        # A URL line has a scheme; a bare absolute path counts only right after an #EXTINF.
        pending_path = self._extinf is not None and line.startswith("/")
        if _is_junk(line) or not (_URL.match(line) or pending_path):
            self.junk += 1
            return None
        return self._entry(line)

    def finish(self) -> None:
        """The input ended: a pending #EXTINF never gets its URL."""
        if self._extinf is not None:
            self.orphans += 1
            self._extinf = None

    def close(self) -> None:
        """``finish``, and the whole input was no playlist at all: raise."""
        self.finish()
        if self.header is None and not self.saw_content:
            raise ProviderBadResponse(NOT_A_PLAYLIST)

    def _directive(self, line: str) -> M3uEntry | None:
        upper = line[:24].upper()
        if upper.startswith("#EXTM3U"):
            if self.header is None:
                self.header = M3uHeader(parse_attrs(line[len("#EXTM3U") :])[0])
            return None
        if upper.startswith("#EXTINF"):
            if self._extinf is not None:
                self.orphans += 1  # the previous #EXTINF never got a URL (§2.6): drop it
                self._reset()
            self._extinf = line
            self.saw_content = True
            return None
        if upper.startswith("#EXTGRP:"):
            self._group = line[len("#EXTGRP:") :].strip() or None
        elif upper.startswith("#EXTVLCOPT"):
            key, value = _key_value(line.split(":", 1)[1] if ":" in line else line[12:])
            if key:
                self._options[key] = value
        elif upper.startswith("#KODIPROP:"):
            key, value = _key_value(line[len("#KODIPROP:") :])
            if key:
                self._props[key] = value
        elif upper.startswith("#EXT-X-PLAYLIST-TYPE"):
            self._vod = line.split(":", 1)[-1].strip().upper() == "VOD"
        # Every other #EXT-X-... or unknown # line is ignored without dropping the entry.
        return None

    def _entry(self, url: str) -> M3uEntry:
        self.saw_content = True
        if self._extinf is not None:
            attrs, name = parse_extinf(self._extinf)
        else:
            attrs, name = {}, ""  # a URL with no #EXTINF: keep it, named after the URL
        # Per-entry #EXTGRP, with group-title winning (Dispatcharr's reading, §2.4).
        group = attrs.get("group-title") or self._group
        name = name or attrs.get("tvg-name") or _name_from_url(url)
        entry = M3uEntry(
            url=url.strip(),
            name=name,
            attrs=attrs,
            group=group.strip() if group else None,
            options=self._options,
            kodi_props=self._props,
            vod_flag=self._vod,
        )
        self.entries += 1
        self._reset()
        return entry

    def _reset(self) -> None:
        self._extinf = None
        self._group = None
        self._options = {}
        self._props = {}
        self._vod = False


class EntryReader:
    """Bytes of a playlist in, entries out: a ``LineDecoder`` feeding an ``M3uParser``."""

    def __init__(self, *, at_start: bool = True) -> None:
        self.decoder = LineDecoder(at_start=at_start)
        self.parser = M3uParser()

    def feed(self, chunk: bytes) -> list[M3uEntry]:
        return self._entries(self.decoder.feed(chunk))

    def close(self) -> list[M3uEntry]:
        """The entries of the last lines; a pending #EXTINF counts as an orphan."""
        entries = self._entries(self.decoder.close())
        self.parser.finish()
        return entries

    def _entries(self, lines: list[str]) -> list[M3uEntry]:
        return [entry for entry in map(self.parser.feed, lines) if entry is not None]

    @property
    def stats(self) -> dict[str, int]:
        """``entries``, ``orphans`` (#EXTINF lines without a URL) and ``junk`` lines."""
        parser = self.parser
        return {
            "entries": parser.entries,
            "orphans": parser.orphans,
            "junk": parser.junk + self.decoder.junk_lines,
        }


def _key_value(text: str) -> tuple[str, str]:
    # Values may contain "=" (license URLs): split on the first one only.
    key, _, value = text.strip().lstrip("-").partition("=")
    return key.strip().lower(), value.strip()


#: ``scheme://host/path?query#fragment`` with nothing urlsplit would strip, remove or check (no
#: whitespace or control characters, no brackets in the host): its path is group 1.
_PLAIN_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^/?#\[\]\x00-\x20]*(/[^?#\x00-\x20]*)?")


@functools.lru_cache(maxsize=8)
def _path(url: str) -> str:
    """The URL's path without Kodi's ``|headers`` suffix; "" when the URL does not parse.

    Cached: ``classify``, ``url_extension`` and ``to_record`` ask for the same entry's path
    several times in a row. Plain ASCII URLs (nearly all) skip urlsplit, which cost a quarter
    of the parse time of a 1M-line playlist; the result is the same.
    """
    url = url.split("|", 1)[0]
    if url.isascii():
        plain = _PLAIN_URL.match(url)
        if plain is not None:
            rest = url[plain.end() :]
            if not rest or rest[0] in "?#":
                return plain.group(1) or ""
    try:
        return urlsplit(url).path
    except ValueError:  # "Invalid IPv6 URL" and friends
        return ""


def _name_from_url(url: str) -> str:
    path = _path(url).rstrip("/")
    return unquote(path.rsplit("/", 1)[-1]) or url


def parse_playlist(data: bytes | str) -> tuple[M3uHeader | None, list[M3uEntry]]:
    """Whole-file convenience for small playlists and tests."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    error = sniff_error(raw[:32_768])
    if error is not None:
        raise error
    decoder = LineDecoder()
    parser = M3uParser()
    entries: list[M3uEntry] = []
    for line in [*decoder.feed(raw), *decoder.close()]:
        entry = parser.feed(line)
        if entry is not None:
            entries.append(entry)
    parser.close()
    return parser.header, entries


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
    path = _path(url)
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
    segments = {s.lower() for s in _path(entry.url).split("/")}
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
    match = re.match(r"\s*(-?\d+)", text)
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
            provider_id=key,
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
            provider_id=key,
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
        provider_id=key,
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
        provider_id=series_key(title),
        name=title,
        year=int(match.group(1)) if match else None,
        poster=poster,
        category_ids=groups,
        censored=censored,
    )

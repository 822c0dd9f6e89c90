"""Extended M3U playlists → typed records. Pure and streaming: bytes in, entries out, line by line.

There is no standard, only what Kodi (pvr.iptvsimple), Dispatcharr, ipytv and IPTVnator accept
(docs/providers.md §2.6): a BOM, CRLF/LF/CR in one file, a missing ``#EXTM3U``, unquoted and
single-quoted attribute values, commas inside quoted values and inside the name, upper-case keys,
``#EXTGRP``/``#EXTVLCOPT``/``#KODIPROP`` directives between ``#EXTINF`` and its URL, an ``#EXTINF``
without a URL (dropped), a quoted value broken over two lines, non-UTF-8 bytes, gzip, and binary
junk. What each entry is and which record it becomes is ``entries.py``'s job.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from iptvsync.errors import (
    ProviderAccountExpired,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderBanned,
    ProviderError,
)
from iptvsync.providers.xmltv import Inflater

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
def url_path(url: str) -> str:
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
    path = url_path(url).rstrip("/")
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

"""XMLTV guides → ProgrammeRecords, as a stream with flat memory. Shared by M3U and Xtream.

Guides are tens to hundreds of MB (docs/providers.md §3.3), so bytes are pushed chunk by chunk into
lxml's ``XMLPullParser`` and every ``<channel>``/``<programme>`` is cleared once read. Hostile or
broken input raises ``ProviderBadResponse`` (the engine records the warning ``epg_rejected``):

- any ``<!ENTITY`` declaration in the prolog (billion laughs, external entities) is refused before
  lxml sees it; entities are never resolved, DTDs never loaded, the network never used;
- a root that is not ``<tv>`` (an HTML error page), truncated XML, or malformed markup.

Compression is detected by magic bytes, not by name or Content-Type (gzip ``1f 8b``, xz ``fd 37
7a 58 5a 00``); a body that the HTTP layer already decoded from ``Content-Encoding: gzip`` is
plain XML by then and is not decompressed twice. Channels and programmes may interleave (XC_VM
writes each channel followed by its programmes), so nothing assumes DTD order.
"""

from __future__ import annotations

import functools
import html
import lzma
import re
import zlib
from collections.abc import AsyncGenerator, AsyncIterable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from lxml import etree

from iptvsync.errors import ProviderBadResponse
from iptvsync.records import ProgrammeRecord

GZIP_MAGIC = b"\x1f\x8b"
XZ_MAGIC = b"\xfd7zXZ\x00"
ZIP_MAGIC = b"PK\x03\x04"
BOM = b"\xef\xbb\xbf"

MAX_PROLOG = 1 << 20  # the root element must start within the first MiB
_INFLATE_STEP = 1 << 20  # decompress at most this much per step: flat memory, no bomb

# ---------------------------------------------------------------------------------------------
# Times (§3.2)

_TIME = re.compile(r"^\s*(\d{4,14})\s*(?:([+-])(\d{2}):?(\d{2})|([A-Za-z]{1,5}))?\s*$")
_PAD = "00000101000000"  # YYYYMMDDhhmmss with month and day 01 for short prefixes
_ZONES = {"UTC": 0, "GMT": 0, "Z": 0, "UT": 0, "BST": 60, "CET": 60, "CEST": 120, "EET": 120,
          "EEST": 180, "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420,
          "MDT": -360, "PST": -480, "PDT": -420, "IST": 330, "JST": 540, "MSK": 180}  # fmt: skip


@functools.lru_cache(maxsize=4096)
def parse_xmltv_time(text: str | None) -> datetime | None:
    """``YYYYMMDDhhmmss [+-]HHMM`` (any prefix of the digits; no offset means UTC) → aware UTC.

    Zone names such as ``BST`` are legal in the DTD but rare; a handful are known, the rest are
    read as UTC. Returns None for anything unparsable (one bad programme must not fail a guide).
    Cached: a programme's stop is the next one's start, and programmes start on the same round
    times across channels (a quarter of the guide's parse time went here).
    """
    if not text:
        return None
    match = _TIME.match(text)
    if not match:
        return None
    digits, sign, hh, mm, zone = match.groups()
    digits = digits + _PAD[len(digits) :]
    try:
        naive = datetime(
            int(digits[0:4]),
            int(digits[4:6]),
            int(digits[6:8]),
            int(digits[8:10]),
            int(digits[10:12]),
            int(digits[12:14]),
        )
    except ValueError:
        return None
    offset = 0
    if sign:
        offset = int(hh) * 60 + int(mm)
        if sign == "-":
            offset = -offset
    elif zone:
        offset = _ZONES.get(zone.upper(), 0)
    return (naive - timedelta(minutes=offset)).replace(tzinfo=UTC)


_NS_PART = re.compile(r"^\s*(\d{1,9})(?!\d)")  # int() refuses 4,300 digits


def episode_from_xmltv_ns(text: str | None) -> str | None:
    """``season.episode.part``, zero-based, parts optionally ``X/Y`` → ``S01E05`` style."""
    if not text or "." not in text:
        return None
    parts = text.split(".")
    season_m = _NS_PART.match(parts[0])
    episode_m = _NS_PART.match(parts[1]) if len(parts) > 1 else None
    season = int(season_m.group(1)) + 1 if season_m else None
    episode = int(episode_m.group(1)) + 1 if episode_m else None
    if season is not None and episode is not None:
        return f"S{season:02d}E{episode:02d}"
    if episode is not None:
        return f"E{episode:02d}"
    if season is not None:
        return f"S{season:02d}"
    return None


# ---------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True, slots=True)
class XmltvChannel:
    """A guide ``<channel>``: its id (== ``tvg-id`` / ``epg_channel_id``), names and icon."""

    id: str
    display_names: tuple[str, ...] = ()
    icon: str | None = None


GuideItem = XmltvChannel | ProgrammeRecord


def _text(elem: etree._Element) -> str | None:
    # lxml's stubs say str | bytes; an element parsed from bytes gives str only.
    if len(elem) == 0:  # no child elements (nearly always): its own text is all of it
        text = (elem.text or "").strip()
    else:
        text = "".join(cast("Iterator[str]", elem.itertext())).strip()
    if "&" in text:
        # Entities are never resolved, so an HTML entity such as &eacute; (undefined in XML,
        # common in real guides, §3.3) survives as its literal reference: decode it as text.
        text = html.unescape(text)
    return text or None


def _first(elem: etree._Element, tag: str) -> str | None:
    for child in elem.iterchildren(tag):
        text = _text(child)
        if text:
            return text
    return None


def _channel(elem: etree._Element) -> XmltvChannel | None:
    cid = (elem.get("id") or "").strip()
    if not cid:
        return None
    names = tuple(t for t in (_text(c) for c in elem.iterchildren("display-name")) if t)
    icon = None
    for child in elem.iterchildren("icon"):
        icon = (child.get("src") or "").strip() or None
        if icon:
            break
    return XmltvChannel(id=cid, display_names=names, icon=icon)


def _episode(elem: etree._Element) -> str | None:
    onscreen = None
    for child in elem.iterchildren("episode-num"):
        system = (child.get("system") or "onscreen").strip().lower()
        if system == "xmltv_ns":
            normalised = episode_from_xmltv_ns(_text(child))
            if normalised:
                return normalised
        elif system == "onscreen" and onscreen is None:
            onscreen = _text(child)
    return onscreen


# ---------------------------------------------------------------------------------------------
# The push parser


class Inflater:
    """Magic-byte detection and bounded incremental decompression."""

    def __init__(self) -> None:
        self._head = b""
        self._format: str | None = None  # "plain" | "gzip" | "xz", once the magic is known
        self._gzip = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._xz = lzma.LZMADecompressor()

    def feed(self, chunk: bytes) -> Iterable[bytes]:
        if self._format is None:
            self._head += chunk
            if len(self._head) < 6:
                return
            chunk, self._head = self._head, b""
            self._choose(chunk)
        yield from self._run(chunk)

    def close(self) -> Iterable[bytes]:
        if self._format is None:
            chunk, self._head = self._head, b""
            self._choose(chunk)
            yield from self._run(chunk)
        if self._format == "gzip" and not self._gzip.eof:
            raise ProviderBadResponse("guide is a truncated gzip file")
        if self._format == "xz" and not self._xz.eof:
            raise ProviderBadResponse("guide is a truncated xz file")

    def _choose(self, head: bytes) -> None:
        if head.startswith(GZIP_MAGIC):
            self._format = "gzip"
        elif head.startswith(XZ_MAGIC):
            self._format = "xz"
        elif head.startswith(ZIP_MAGIC):
            raise ProviderBadResponse("zipped guides are not supported; use .xml, .gz or .xz")
        else:
            self._format = "plain"

    def _run(self, chunk: bytes) -> Iterable[bytes]:
        try:
            if self._format == "gzip":
                data = chunk
                while data and not self._gzip.eof:
                    out = self._gzip.decompress(data, _INFLATE_STEP)
                    if out:
                        yield out
                    data = self._gzip.unconsumed_tail
            elif self._format == "xz":
                if self._xz.eof:
                    return  # trailing bytes after the stream are ignored
                out = self._xz.decompress(chunk, _INFLATE_STEP)
                if out:
                    yield out
                while not self._xz.eof and not self._xz.needs_input:
                    out = self._xz.decompress(b"", _INFLATE_STEP)
                    if not out:
                        break
                    yield out
            elif chunk:
                yield chunk
        except (zlib.error, lzma.LZMAError) as exc:
            raise ProviderBadResponse("guide is not valid compressed data") from exc


_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]*)(?=[\s/>])")  # a complete tag name only


class XmltvParser:
    """Push bytes in with ``feed``; get channels and programmes out as they complete.

    Programmes without ``stop`` end at the next programme of the same channel (DTD rule); the
    last one of such a channel has no known end and is dropped. ``close`` raises when the
    document is truncated.
    """

    def __init__(self) -> None:
        self._inflater = Inflater()
        self._prolog: bytearray | None = bytearray()
        self._parser = etree.XMLPullParser(
            events=("end",),
            tag=("channel", "programme"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        self._pending: dict[str, ProgrammeRecord] = {}  # channel → programme waiting for a stop
        self.channels = 0
        self.programmes = 0
        self.skipped = 0

    def feed(self, chunk: bytes) -> list[GuideItem]:
        out: list[GuideItem] = []
        for data in self._inflater.feed(chunk):
            self._push(data, out)
        return out

    def close(self) -> list[GuideItem]:
        out: list[GuideItem] = []
        for data in self._inflater.close():
            self._push(data, out)
        if self._prolog is not None:
            raise ProviderBadResponse("guide is empty or has no <tv> root element")
        try:
            self._parser.close()
        except etree.LxmlError as exc:
            raise ProviderBadResponse(f"guide is not well-formed XML: {_short(exc)}") from exc
        self._drain(out)
        self._pending.clear()
        return out

    # -- internals

    def _push(self, data: bytes, out: list[GuideItem]) -> None:
        if self._prolog is not None:
            self._prolog += data
            data = self._check_prolog()
            if not data:
                return
        try:
            self._parser.feed(data)
        except etree.LxmlError as exc:
            raise ProviderBadResponse(f"guide is not well-formed XML: {_short(exc)}") from exc
        self._drain(out)

    def _check_prolog(self) -> bytes:
        """Hold bytes until the root element starts; refuse entity declarations and non-XMLTV."""
        assert self._prolog is not None
        head = bytes(self._prolog)
        if head.startswith(BOM):
            head = head[len(BOM) :]
        match = _ROOT.search(head)
        if match is None:
            if b"<!ENTITY" in head:
                raise ProviderBadResponse("guide declares XML entities (refused)")
            if len(head) > MAX_PROLOG:
                raise ProviderBadResponse("guide has no root element in its first MiB")
            return b""
        prolog = head[: match.start()]
        if b"<!ENTITY" in prolog or b"<!entity" in prolog:
            raise ProviderBadResponse("guide declares XML entities (refused)")
        if match.group(1) != b"tv":
            raise ProviderBadResponse("not an XMLTV document (root is not <tv>)")
        self._prolog = None
        return head

    def _drain(self, out: list[GuideItem]) -> None:
        try:
            events = list(self._parser.read_events())
        except etree.LxmlError as exc:
            raise ProviderBadResponse(f"guide is not well-formed XML: {_short(exc)}") from exc
        for _event, elem in events:
            if not isinstance(elem, etree._Element):
                continue
            if elem.tag == "channel":
                channel = _channel(elem)
                if channel is not None:
                    self.channels += 1
                    out.append(channel)
            else:
                self._programme(elem, out)
            elem.clear()
            parent = elem.getparent()
            if parent is not None:
                while elem.getprevious() is not None:
                    del parent[0]

    def _programme(self, elem: etree._Element, out: list[GuideItem]) -> None:
        channel = (elem.get("channel") or "").strip()
        start = parse_xmltv_time(elem.get("start"))
        if not channel or start is None:
            self.skipped += 1
            return
        stop = parse_xmltv_time(elem.get("stop"))
        waiting = self._pending.pop(channel, None)
        if waiting is not None and start > waiting.start:
            out.append(_with_stop(waiting, start))
            self.programmes += 1
        record = ProgrammeRecord(
            channel_key=channel,
            start=start,
            stop=stop or start,
            title=_first(elem, "title") or "",
            subtitle=_first(elem, "sub-title"),
            description=_first(elem, "desc"),
            category=_first(elem, "category"),
            episode=_episode(elem),
        )
        if stop is None:
            self._pending[channel] = record
        elif stop > start:
            out.append(record)
            self.programmes += 1
        else:
            self.skipped += 1


def _with_stop(record: ProgrammeRecord, stop: datetime) -> ProgrammeRecord:
    return ProgrammeRecord(
        channel_key=record.channel_key,
        start=record.start,
        stop=stop,
        title=record.title,
        subtitle=record.subtitle,
        description=record.description,
        category=record.category,
        episode=record.episode,
    )


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else exc.__class__.__name__


# ---------------------------------------------------------------------------------------------
# Async helpers


async def iter_guide(chunks: AsyncIterable[bytes]) -> AsyncGenerator[GuideItem, None]:
    """Channels and programmes from an async byte stream (a response body, a file reader)."""
    parser = XmltvParser()
    async for chunk in chunks:
        for item in parser.feed(chunk):
            yield item
    for item in parser.close():
        yield item


async def iter_programmes(chunks: AsyncIterable[bytes]) -> AsyncGenerator[ProgrammeRecord, None]:
    """Only the programmes of ``iter_guide``."""
    async for item in iter_guide(chunks):
        if isinstance(item, ProgrammeRecord):
            yield item


def parse_guide(data: bytes) -> list[GuideItem]:
    """Whole-document convenience for small guides and tests."""
    parser = XmltvParser()
    out = parser.feed(data)
    out.extend(parser.close())
    return out

"""The fake panel's guide: a deterministic schedule per channel, as XMLTV documents (plain or
gzipped) and as the short EPG."""

from __future__ import annotations

import asyncio
import hashlib
import zlib
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from iptvsync.fakes.catalogue import Catalogue
from iptvsync.fakes.items import FakeChannel

_SHOWS = (
    "Morning Show",
    "News at Noon",
    "The Big Match",
    "Documentary: Oceans",
    "Film: The Lost River",
    "Kids Club",
    "Evening News",
    "Late Talk",
    "Weather & Traffic",
    "Music Hits",
)


def guide_anchor(config: Any) -> datetime:
    anchor = config.epg_anchor or datetime.now(UTC)
    return anchor.replace(hour=0, minute=0, second=0, microsecond=0)


def schedule(ch: FakeChannel, anchor: datetime, hours: int) -> Iterator[dict[str, Any]]:
    """A deterministic schedule for one channel: 30/60/90-minute programmes from ``anchor``."""
    start = anchor
    end = anchor + timedelta(hours=hours)
    index = 0
    while start < end:
        digest = hashlib.blake2b(f"{ch.id}:{index}".encode(), digest_size=4).digest()
        minutes = (30, 60, 90)[digest[0] % 3]
        stop = start + timedelta(minutes=minutes)
        title = _SHOWS[digest[1] % len(_SHOWS)]
        yield {
            "id": index,
            "start": start,
            "stop": stop,
            "title": title,
            "desc": f"{title} on {ch.name}. Part {index + 1}.",
            "category": title.split(":")[0].split(" ")[0],
            "season": digest[2] % 5,
            "episode": digest[3] % 20,
        }
        start = stop
        index += 1


def guided_channels(catalogue: Catalogue, limit: int | None) -> Iterator[FakeChannel]:
    count = 0
    seen: set[str] = set()
    for ch in catalogue.channels:
        if not ch.xmltv_id or ch.xmltv_id in seen:
            continue
        seen.add(ch.xmltv_id)
        yield ch
        count += 1
        if limit is not None and count >= limit:
            return


def _xmltv_time(when: datetime, offset_min: int) -> str:
    local = when + timedelta(minutes=offset_min)
    sign = "+" if offset_min >= 0 else "-"
    hours, minutes = divmod(abs(offset_min), 60)
    return local.strftime("%Y%m%d%H%M%S") + f" {sign}{hours:02d}{minutes:02d}"


def xmltv_documents(
    catalogue: Catalogue, base: str, anchor: datetime, hours: int, limit: int | None
) -> Iterator[bytes]:
    """XMLTV the way XC_VM writes it: each channel followed by its programmes (interleaved),
    ``channel="x" >`` with a space, offsets varying by channel; chunked per channel."""
    yield (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE tv SYSTEM "xmltv.dtd">\n'
        b'<tv generator-info-name="fake-xtream/1.0" source-info-name="fake">\n'
    )
    parts: list[str] = []
    for ch in guided_channels(catalogue, limit):
        cid = quoteattr(ch.xmltv_id or "")
        parts.append(f"  <channel id={cid}>\n    <display-name>{escape(ch.name)}</display-name>\n")
        if ch.logo:
            parts.append(f"    <icon src={quoteattr(f'{base}/logos/{ch.logo}')}/>\n")
        parts.append("  </channel>\n")
        offset = (0, 60, -300, 330)[ch.id % 4]
        for prog in schedule(ch, anchor, hours):
            start, stop = _xmltv_time(prog["start"], offset), _xmltv_time(prog["stop"], offset)
            parts.append(
                f'  <programme start="{start}" stop="{stop}" channel={cid} >\n'
                f'    <title lang="en">{escape(prog["title"])}</title>\n'
                f"    <desc>{escape(prog['desc'])}</desc>\n"
                f"    <category>{escape(prog['category'])}</category>\n"
                f'    <episode-num system="xmltv_ns">{prog["season"]}.{prog["episode"]}.'
                "</episode-num>\n"
                "  </programme>\n"
            )
        if len(parts) > 400:
            yield "".join(parts).encode()
            parts = []
    parts.append("</tv>\n")
    yield "".join(parts).encode()


def gzip_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    for chunk in chunks:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()


async def aiter_chunks(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
        await asyncio.sleep(0)

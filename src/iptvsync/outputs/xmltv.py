"""XMLTV output, written as a stream: ``/xmltv.xml``, ``/xmltv.xml.gz`` and Xtream ``xmltv.php``.

The document is produced batch by batch (channels, then programmes, as the DTD orders them:
``tv (channel*, programme*)``) and never exists whole in memory; ``.gz`` is the same stream through
one ``zlib`` compress object. Elements inside ``<programme>`` keep the DTD order: ``title``,
``sub-title``, ``desc``, ``category``, ``episode-num``.

Channel ids are the guide's own ids (the channels' ``epg_id``, which is also their ``tvg-id`` and
Xtream ``epg_channel_id``), as a panel's ``xmltv.php`` does, so a player can mix our guide with an
external one. A channel id is written once: in a combined output where two providers use the
same guide id, the first provider (by id) owns it and only its programmes are written.

Text is escaped, and characters XML 1.0 forbids (control characters a provider's guide may carry)
are dropped, so the output is always well-formed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

import sqlalchemy as sa

from iptvsync import __version__, deflate
from iptvsync.store import batches as read
from iptvsync.store.batches import ProviderRef

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_BREAKS = re.compile(r"\s*[\r\n]+\s*")
_EPISODE = re.compile(r"^S(\d+)(?:E(\d+))?$|^E(\d+)$", re.IGNORECASE)

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE tv SYSTEM "xmltv.dtd">\n'
    f'<tv generator-info-name="iptvsync/{__version__}" source-info-name="iptvsync">\n'
)
TAIL = "</tv>\n"


def _text(value: object, *, one_line: bool = True) -> str:
    text = _ILLEGAL.sub("", str(value))
    if one_line:  # the DTD: no newlines except in <desc>
        text = _BREAKS.sub(" ", text).strip()
    return escape(text)


def _attr(value: object) -> str:
    return quoteattr(_BREAKS.sub(" ", _ILLEGAL.sub("", str(value))).strip())


def xmltv_time(value: datetime) -> str:
    """``YYYYMMDDhhmmss +0000`` in UTC (docs/providers.md §3.2)."""
    return value.astimezone(UTC).strftime("%Y%m%d%H%M%S +0000")


def episode_nums(episode: str | None) -> list[tuple[str, str]]:
    """``S01E05`` (how guides are stored) → xmltv_ns ``0.4.`` (zero-based) and onscreen."""
    if not episode:
        return []
    out: list[tuple[str, str]] = []
    match = _EPISODE.match(episode.strip())
    if match:
        season, ep, bare = match.groups()
        ep = ep or bare
        ns_season = str(int(season) - 1) if season and int(season) > 0 else ""
        ns_episode = str(int(ep) - 1) if ep and int(ep) > 0 else ""
        out.append(("xmltv_ns", f"{ns_season}.{ns_episode}."))
    out.append(("onscreen", episode.strip()))
    return out


def channel_element(channel_id: str, name: str, icon: str | None) -> str:
    parts = [f"  <channel id={_attr(channel_id)}>\n"]
    parts.append(f"    <display-name>{_text(name)}</display-name>\n")
    if icon:
        parts.append(f"    <icon src={_attr(icon)}/>\n")
    parts.append("  </channel>\n")
    return "".join(parts)


def programme_element(
    channel_id: str,
    start: datetime,
    stop: datetime | None,
    title: str,
    subtitle: str | None = None,
    description: str | None = None,
    category: str | None = None,
    episode: str | None = None,
) -> str:
    stop_attr = f' stop="{xmltv_time(stop)}"' if stop is not None else ""
    parts = [
        f'  <programme start="{xmltv_time(start)}"{stop_attr} channel={_attr(channel_id)}>\n',
        f"    <title>{_text(title)}</title>\n",
    ]
    if subtitle:
        parts.append(f"    <sub-title>{_text(subtitle)}</sub-title>\n")
    if description:
        parts.append(f"    <desc>{_text(description, one_line=False)}</desc>\n")
    if category:
        parts.append(f"    <category>{_text(category)}</category>\n")
    for system, value in episode_nums(episode):
        parts.append(f'    <episode-num system="{system}">{_text(value)}</episode-num>\n')
    parts.append("  </programme>\n")
    return "".join(parts)


def document(db: sa.Engine, providers: list[ProviderRef]) -> Iterator[bytes]:
    """The XMLTV document for ``providers``, in chunks of one batch each."""
    yield HEAD.encode()
    owner: dict[str, int] = {}  # guide channel id -> provider that writes it
    for provider in providers:
        for rows in read.iter_channels(db, provider.id):
            out = []
            for ch in rows:
                key = ch.epg_id
                if not key or key in owner:
                    continue
                owner[key] = provider.id
                out.append(channel_element(key, ch.name, ch.logo))
            if out:
                yield "".join(out).encode()
    for provider in providers:
        for rows in read.iter_programmes(db, provider.id):
            out = [
                programme_element(
                    p.channel_key,
                    p.start,
                    p.stop,
                    p.title,
                    p.subtitle,
                    p.description,
                    p.category,
                    p.episode,
                )
                for p in rows
                if owner.get(p.channel_key) == provider.id
            ]
            if out:
                yield "".join(out).encode()
    yield TAIL.encode()


def gzip_stream(chunks: Iterable[bytes], level: int = 6) -> Iterator[bytes]:
    """Gzip a stream of chunks as it goes (a real ``.gz`` file: magic ``1f 8b``)."""
    compressor = deflate.gzip_compressor(level)  # zlib-ng where installed
    for chunk in chunks:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()

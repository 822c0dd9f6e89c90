"""M3U Plus playlists: the ``#EXTM3U`` header and ``#EXTINF`` entries (pure), and ``playlist``,
which renders a principal's providers batch by batch from the store.

Entries follow the panel template players are built against (docs/providers.md §1.9, §2.1):
``#EXTINF:-1 tvg-id="…" tvg-name="…" tvg-logo="…" tvg-chno="…" group-title="…",Name`` then the
URL on its own line. M3U has no escaping, so values are made safe instead of escaped:

- a double quote inside an attribute would end it early (ipytv then falls back to its "broken
  row" parser and Kodi drops the rest of the line), so it becomes a single quote;
- a line break would split the entry in two, so CR, LF and other control characters become
  spaces, in attributes and in the name (the name may keep its commas: parsers take the name
  after the comma that ends the attribute list, docs/providers.md §2.6).

Every line ends in ``\\n`` (no mixed endings as XC panels send).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

import sqlalchemy as sa

from iptvsync.store import batches as read
from iptvsync.store.batches import ProviderRef

#: ``play_url(provider_id, kind, item_id, extension)``: kind is channel, movie or episode.
PlayUrl = Callable[[int, str, int, str], str]
#: ``catchup_source(provider_id, channel_id, live_url)``: the ``catchup-source`` template of a
#: channel with an archive (placeholders as Kodi's IPTV Simple reads them: ``{utc}``...).
CatchupSource = Callable[[int, int, str], str]

#: C0 and C1 controls (NEL U+0085 among them) and the Unicode line and paragraph separators:
#: every character ``str.splitlines()`` breaks a line on, so no reader sees an extra line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def group_title(title: str | None, provider: ProviderRef, several: bool) -> str:
    """A category's title as players show it; prefixed with the provider's name when one output
    holds several providers, whose "News" groups would otherwise merge."""
    title = title or "Uncategorised"
    return f"{provider.name} | {title}" if several else title


def clean_value(value: object) -> str:
    """An attribute value that cannot end its quotes or its line."""
    if value is None:
        return ""
    return _CONTROL.sub(" ", str(value)).replace('"', "'").strip()


def clean_name(value: object) -> str:
    """A display name that cannot end its line (quotes are fine after the comma)."""
    if value is None:
        return ""
    return _CONTROL.sub(" ", str(value)).strip()


def header(attributes: Iterable[tuple[str, str | None]] = ()) -> str:
    """``#EXTM3U`` with header attributes (``x-tvg-url`` and its older spelling ``url-tvg``)."""
    attrs = "".join(f' {k}="{clean_value(v)}"' for k, v in attributes if v)
    return f"#EXTM3U{attrs}\n"


def entry(name: str, url: str, attributes: Iterable[tuple[str, object]]) -> str:
    """One playlist entry. Attributes whose value is None are left out; "" is written as ""."""
    attrs = "".join(f' {k}="{clean_value(v)}"' for k, v in attributes if v is not None)
    return f"#EXTINF:-1{attrs},{clean_name(name)}\n{clean_name(url)}\n"


def playlist(
    db: sa.Engine,
    providers: list[ProviderRef],
    content: str,
    play_url: PlayUrl,
    *,
    bare: bool = False,
    catchup_source: CatchupSource | None = None,
) -> Iterator[str]:
    """The entries of ``providers``, one chunk per batch: live channels (``content`` ``live`` or
    ``all``), then movies and the episodes fetched so far (``vod`` or ``all``).

    Movies and episodes carry an empty ``tvg-id``, as panels write them (§1.9); names
    are ``Film (2020)`` and ``Show S01E02``, so a player can tell them from channels. ``bare``
    leaves every attribute out (``#EXTINF:-1,Name``: a panel's ``type=m3u``). Channels with an
    archive get ``catchup="default"``, ``catchup-days`` and ``catchup-source`` when
    ``catchup_source`` is given (past programmes play through the same play endpoints).
    """
    several = len(providers) > 1
    for provider in providers:
        if content in ("live", "all"):
            cats = read.category_refs(db, provider.id, "channel")
            for rows in read.iter_channels(db, provider.id):
                out = []
                for ch in rows:
                    cat = cats.get(ch.category_id)
                    attrs: list[tuple[str, object]] = [
                        ("tvg-id", ch.epg_id or ""),
                        ("tvg-name", ch.name),
                        ("tvg-logo", ch.logo or ""),
                        ("tvg-chno", ch.number),
                        (
                            "group-title",
                            group_title(cat.title if cat else None, provider, several),
                        ),
                    ]
                    if ch.radio:
                        attrs.append(("radio", "true"))
                    url = play_url(provider.id, "channel", ch.id, "ts")
                    if ch.archive and catchup_source is not None:
                        attrs += [
                            ("catchup", "default"),
                            ("catchup-days", ch.archive_days or 1),
                            ("catchup-source", catchup_source(provider.id, ch.id, url)),
                        ]
                    out.append(entry(ch.name, url, () if bare else attrs))
                yield "".join(out)
        if content not in ("vod", "all"):
            continue
        cats = read.category_refs(db, provider.id, "movie")
        for rows in read.iter_movies(db, provider.id):
            out = []
            for mv in rows:
                cat = cats.get(mv.category_id)
                name = mv.name
                if mv.year and str(mv.year) not in name:
                    name = f"{name} ({mv.year})"
                url = play_url(provider.id, "movie", mv.id, mv.extension or "mp4")
                group = group_title(cat.title if cat else None, provider, several)
                out.append(_vod_entry(name, url, mv.poster, group, bare))
            yield "".join(out)
        cats = read.category_refs(db, provider.id, "series")
        for rows in read.iter_episodes(db, provider.id):
            out = []
            for ep in rows:
                cat = cats.get(ep.category_id)
                name = f"{ep.series_name} S{ep.season:02d}E{ep.number:02d}"
                url = play_url(provider.id, "episode", ep.id, ep.extension or "mp4")
                group = group_title(cat.title if cat else None, provider, several)
                out.append(_vod_entry(name, url, ep.poster, group, bare))
            yield "".join(out)


def _vod_entry(name: str, url: str, logo: str | None, group: str, bare: bool) -> str:
    if bare:
        return entry(name, url, ())
    attrs = [("tvg-id", ""), ("tvg-name", name), ("tvg-logo", logo or ""), ("group-title", group)]
    return entry(name, url, attrs)

"""What the fake panel lists: rows of the three kinds in either family's shape, streamed as
JSON chunks, and the ``get.php`` playlist."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import orjson

from iptvsync.fakes.items import FakeChannel, FakeMovie, FakeSeries, seasons
from iptvsync.fakes.xtream.state import ROWS_PER_CHUNK, FakeXtreamProvider, XtreamFakeConfig, _epoch


class Rows:
    """Builds list rows in the configured family's shape."""

    def __init__(self, provider: FakeXtreamProvider, base: str) -> None:
        self.cat = provider.catalogue
        self.cfg = provider.config
        self.base = base
        self.xui = self.cfg.family == "xui"
        self._kind_cats: dict[str, list[int]] = {}

    def num(self, value: int) -> Any:
        return value if self.xui else str(value)

    def categories_of(self, kind: str, item: Any) -> list[int]:
        """The item's category, plus a second one for every fifth item when duplicating."""
        cats = [item.category_id]
        if self.cfg.duplicates and item.id % 5 == 0:
            ids = self._kind_cats.get(kind)
            if ids is None:
                ids = self._kind_cats[kind] = [c.id for c in self.cat.categories_of(kind)]
            other = ids[(ids.index(item.category_id) + 1) % len(ids)]
            if other != item.category_id:
                cats.append(other)
        return cats

    def censored(self, category_id: int) -> int:
        category = self.cat.get_category(category_id)
        return int(bool(category and category.censored))

    def _nullify(self, row: dict[str, Any], item_id: int, name: str, icon: str) -> None:
        if not self.cfg.nulls:
            return
        if item_id % 97 == 0:
            row[name] = None
            row[icon] = None
        if item_id % 89 == 0:
            row["category_id"] = None
        elif item_id % 83 == 0:
            row["category_id"] = "999999"  # not in the category list

    def live(self, ch: FakeChannel, num: int, cats: list[int], cat_id: int) -> dict[str, Any]:
        row: dict[str, Any] = {
            "num": self.num(num),
            "name": ch.name,
            "stream_type": "radio_streams" if ch.radio else "live",
            "stream_id": self.num(ch.id),
            "stream_icon": f"{self.base}/logos/{ch.logo}" if ch.logo else "",
            "epg_channel_id": ch.xmltv_id,
            "added": str(_epoch(ch.added)),
            "is_adult": self.num(self.censored(ch.category_id)),
            "category_id": str(cat_id),
            "custom_sid": None if ch.id % 2 else "",
            "tv_archive": self.num(int(ch.archive)),
            "direct_source": "",
            "tv_archive_duration": self.num(ch.archive_days),
        }
        if self.xui:
            row["category_ids"] = cats
            row["thumbnail"] = ""
        self._nullify(row, ch.id, "name", "stream_icon")
        return row

    def rating(self, value: float | None, item_id: int) -> Any:
        if value is None:
            return "" if not self.xui else 0
        if self.xui:
            return value
        text = f"{value:.1f}"
        return text.replace(".", ",") if item_id % 3 == 0 else text  # decimal comma (§1.5)

    def movie(self, m: FakeMovie, num: int, cats: list[int], cat_id: int) -> dict[str, Any]:
        row: dict[str, Any] = {
            "num": self.num(num),
            "name": m.name,
            "stream_type": "movie",
            "stream_id": self.num(m.id),
            "stream_icon": f"{self.base}/images{m.poster}" if m.poster else "",
            "rating": self.rating(m.rating, m.id),
            "rating_5based": round((m.rating or 0) / 2, 1),
            "added": str(_epoch(m.added)),
            "is_adult": self.num(self.censored(m.category_id)),
            "category_id": str(cat_id),
            "container_extension": m.extension,
            "custom_sid": None,
            "direct_source": "",
        }
        if self.xui:
            row.update(
                title=m.name,
                year=str(m.year),
                plot=m.description,
                cast=m.actors,
                director=m.director,
                genre=m.genres,
                release_date=f"{m.year}-01-01",
                episode_run_time=m.duration_min,
                category_ids=cats,
            )
        self._nullify(row, m.id, "name", "stream_icon")
        return row

    def series(self, s: FakeSeries, num: int, cats: list[int], cat_id: int) -> dict[str, Any]:
        # Seen as an int in get_series on a real XC 2.x panel (docs/providers.md §1.6).
        category: Any = str(cat_id) if (self.xui or s.id % 11) else cat_id
        row: dict[str, Any] = {
            "num": self.num(num),
            "name": s.name,
            "title": s.name,
            "year": str(s.year),
            "stream_type": "series",
            "series_id": self.num(s.id),
            "cover": f"{self.base}/images{s.poster}" if s.poster else "",
            "plot": s.description,
            "cast": "",
            "director": "",
            "genre": s.genres,
            "release_date": f"{s.year}-01-01",
            "releaseDate": f"{s.year}-01-01",
            "last_modified": str(_epoch(s.added)),
            "rating": self.rating(s.rating, s.id),
            "rating_5based": round((s.rating or 0) / 2, 1),
            "backdrop_path": [],
            "youtube_trailer": "",
            "episode_run_time": "45",
            "category_id": category,
        }
        if self.xui:
            row["category_ids"] = cats
        self._nullify(row, s.id, "name", "cover")
        return row


def _list_rows(
    provider: FakeXtreamProvider, base: str, action: str, category: str | None
) -> Iterator[dict[str, Any]]:
    rows = Rows(provider, base)
    builders: dict[str, tuple[str, Callable[[Any, int, list[int], int], dict[str, Any]]]] = {
        "get_live_streams": ("channel", rows.live),
        "get_vod_streams": ("movie", rows.movie),
        "get_series": ("series", rows.series),
    }
    kind, build = builders[action]
    wanted = int(category) if category and category.strip().lstrip("-").isdigit() else None
    if provider.config.nulls and wanted is None:
        yield {"num": 0, "name": "Broken row without an id", "stream_type": "live"}
    num = 0
    for item in provider.catalogue.items(kind):
        cats = rows.categories_of(kind, item)
        if wanted is not None and wanted not in cats:
            continue
        # XUI "show category duplicates": the row appears once per category, each with its
        # own num; without duplicates, the primary category only.
        per_row = cats if provider.config.duplicates else cats[:1]
        for cat_id in per_row:
            if wanted is not None and cat_id != wanted:
                continue
            num += 1
            yield build(item, num, cats, cat_id)


async def _json_chunks(
    rows: Iterator[dict[str, Any]], config: XtreamFakeConfig
) -> AsyncIterator[bytes]:
    """A JSON list, ``ROWS_PER_CHUNK`` rows per chunk; the quirks are applied to the bytes."""
    prefix = b"\xef\xbb\xbf \n" if config.bom else b""
    yield prefix + b"["
    first = True
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= ROWS_PER_CHUNK:
            yield _encode(batch, first, config)
            first = False
            batch = []
            if config.truncate_lists:
                return  # the body ends mid-list: truncated JSON
            await asyncio.sleep(0)
    if batch:
        chunk = _encode(batch, first, config)
        if config.truncate_lists:
            yield chunk[: len(chunk) // 2]
            return
        yield chunk
    if config.truncate_lists:
        return
    yield b"]"


def _encode(batch: list[dict[str, Any]], first: bool, config: XtreamFakeConfig) -> bytes:
    body = orjson.dumps(batch)[1:-1]
    if config.latin1:
        body = body.replace("é".encode(), b"\xe9")
    return body if first else b"," + body


def m3u_plus_lines(
    provider: FakeXtreamProvider, base: str, live_ext: str, plus: bool
) -> Iterator[bytes]:
    """``get.php``: header ends in LF, entries in CRLF (mixed, as XC_VM writes them); VOD and
    episodes without ``tvg-id``; ``timeshift="N"`` on archive channels (§1.9)."""
    cfg = provider.config
    cat = provider.catalogue
    titles = {c.id: c.title for c in cat.categories}
    user, pw = cfg.username, cfg.password
    out: list[str] = ['#EXTM3U\n#EXT-X-SESSION-DATA:DATA-ID="com.fake-xtream.1_0"\n']

    def extinf(attrs: str, name: str) -> str:
        return f"#EXTINF:-1 {attrs},{name}\r\n" if plus else f"#EXTINF:-1,{name}\r\n"

    for ch in cat.channels:
        logo = f"{base}/logos/{ch.logo}" if ch.logo else ""
        shift = f'timeshift="{ch.archive_days}" ' if ch.archive else ""
        attrs = (
            f'{shift}tvg-id="{ch.xmltv_id or ""}" tvg-name="{ch.name}" tvg-logo="{logo}" '
            f'group-title="{titles.get(ch.category_id, "")}"'
        )
        out.append(extinf(attrs, ch.name) + f"{base}/{user}/{pw}/{ch.id}.{live_ext}\r\n")
        if len(out) > 500:
            yield "".join(out).encode()
            out = []
    for m in cat.movies:
        name = m.name if m.name.endswith(")") else f"{m.name} ({m.year})"
        poster = f"{base}/images{m.poster}" if m.poster else ""
        attrs = f'tvg-name="{name}" tvg-logo="{poster}" group-title="{titles.get(m.category_id)}"'
        out.append(extinf(attrs, name) + f"{base}/movie/{user}/{pw}/{m.id}.{m.extension}\r\n")
        if len(out) > 500:
            yield "".join(out).encode()
            out = []
    for s in cat.series:
        cover = f"{base}/images{s.poster}" if s.poster else ""
        group = titles.get(s.category_id)
        for season in seasons(s):
            for ep in season.episodes:
                name = f"{s.name} S{season.number:02d}E{ep.number:02d}"
                attrs = f'tvg-name="{name}" tvg-logo="{cover}" group-title="{group}"'
                out.append(
                    extinf(attrs, name) + f"{base}/series/{user}/{pw}/{ep.id}.{ep.extension}\r\n"
                )
        if len(out) > 500:
            yield "".join(out).encode()
            out = []
    yield "".join(out).encode()

"""A deterministic fake IPTV catalogue shared by the fake Stalker, Xtream and M3U providers.

``generate(seed)`` builds categories, channels, movies and series that look like a real
reseller catalogue (``invent.py`` makes them up; ``items.py`` holds the records, id spaces and
derived seasons). The same seed gives the same catalogue, byte for byte; nothing reads the
clock.

Catalogues are mutable (``add_movies``, ``remove``, ``truncate``...) so tests and benchmarks
can play "the provider added 40 titles" or "the provider lost most of its catalogue".
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from iptvsync.fakes.invent import (
    import_batches,
    make_categories,
    make_channel,
    make_movie,
    make_series,
)
from iptvsync.fakes.items import (
    CATALOGUE_END,
    CATALOGUE_SPAN,
    CHANNEL_ID_BASE,
    MOVIE_ID_BASE,
    SERIES_ID_BASE,
    FakeCategory,
    FakeChannel,
    FakeMovie,
    FakeSeries,
)

# ---------------------------------------------------------------------------------------------
# the catalogue


class Catalogue:
    """Categories and items of every kind, with cached orderings.

    ``revision`` grows on every change; consumers that cache derived data (page lists, indexes)
    compare it to know when to rebuild.
    """

    def __init__(self, seed: int = 42) -> None:
        self.seed = seed
        self.categories: list[FakeCategory] = []
        self.channels: list[FakeChannel] = []
        self.movies: list[FakeMovie] = []
        self.series: list[FakeSeries] = []
        self.revision = 0
        self._rng = random.Random(seed)
        self._next_id = {
            "channel": CHANNEL_ID_BASE,
            "movie": MOVIE_ID_BASE,
            "series": SERIES_ID_BASE,
        }
        self._latest = CATALOGUE_END
        self._index: dict[str, dict[int, Any]] = {}
        self._newest: dict[str, list[Any]] = {}
        self._by_cat: dict[str, dict[int, list[Any]]] = {}
        self._cat_pick: dict[str, tuple[list[int], list[float], float]] = {}
        self._cat_index: dict[int, FakeCategory] = {}

    # -- reading ------------------------------------------------------------------------------

    def items(self, kind: str) -> list[Any]:
        """The live list of one kind, in id order. Do not mutate it; use the methods."""
        kind = _kind(kind)
        if kind == "channel":
            return self.channels
        if kind == "movie":
            return self.movies
        return self.series

    def get(self, kind: str, item_id: int) -> Any:
        """The item of ``kind`` with ``item_id``, or None."""
        kind = _kind(kind)
        index = self._index.get(kind)
        if index is None:
            index = self._index[kind] = {item.id: item for item in self.items(kind)}
        return index.get(int(item_id))

    def get_category(self, category_id: int) -> FakeCategory | None:
        if len(self._cat_index) != len(self.categories):
            self._cat_index = {c.id: c for c in self.categories}
        return self._cat_index.get(int(category_id))

    def categories_of(self, kind: str) -> list[FakeCategory]:
        kind = _kind(kind)
        return [c for c in self.categories if c.kind == kind]

    def newest_first(self, kind: str) -> list[Any]:
        """Items sorted by ``added`` descending, then id descending (cached until a change)."""
        kind = _kind(kind)
        cached = self._newest.get(kind)
        if cached is None:
            cached = sorted(self.items(kind), key=_added_key, reverse=True)
            self._newest[kind] = cached
        return cached

    def by_category(self, kind: str, category_id: int) -> list[Any]:
        """Items of one category, in id order (cached until a change)."""
        kind = _kind(kind)
        groups = self._by_cat.get(kind)
        if groups is None:
            groups = {}
            for item in self.items(kind):
                groups.setdefault(item.category_id, []).append(item)
            self._by_cat[kind] = groups
        return groups.get(int(category_id), [])

    def counts(self) -> dict[str, int]:
        return {
            "categories": len(self.categories),
            "channels": len(self.channels),
            "movies": len(self.movies),
            "series": len(self.series),
        }

    # -- changing -----------------------------------------------------------------------------

    def add_movies(self, n: int) -> list[FakeMovie]:
        """Append ``n`` new movies with fresh ids and the newest ``added`` dates."""
        made = [make_movie(self, self._take_id("movie"), self._next_added()) for _ in range(n)]
        self.movies.extend(made)
        self._changed()
        return made

    def add_series(self, n: int) -> list[FakeSeries]:
        made = [make_series(self, self._take_id("series"), self._next_added()) for _ in range(n)]
        self.series.extend(made)
        self._changed()
        return made

    def add_channels(self, n: int) -> list[FakeChannel]:
        made = []
        number = max((c.number for c in self.channels), default=0)
        for _ in range(n):
            number += 1
            made.append(make_channel(self, self._take_id("channel"), number, self._next_added()))
        self.channels.extend(made)
        self._changed()
        return made

    def add(self, kind: str, n: int) -> list[Any]:
        kind = _kind(kind)
        if kind == "channel":
            return self.add_channels(n)
        if kind == "movie":
            return self.add_movies(n)
        return self.add_series(n)

    def remove(self, kind: str, ids: Iterable[int]) -> int:
        """Remove items by id; returns how many existed. Ids are never reused."""
        kind = _kind(kind)
        gone = {int(i) for i in ids}
        items = self.items(kind)
        kept = [item for item in items if item.id not in gone]
        removed = len(items) - len(kept)
        items[:] = kept
        if removed:
            self._changed()
        return removed

    def truncate(self, kind: str, keep: int) -> int:
        """Keep only the ``keep`` oldest items (lowest ids) of a kind; returns how many went."""
        kind = _kind(kind)
        items = self.items(kind)
        removed = max(0, len(items) - max(0, keep))
        if removed:
            del items[max(0, keep) :]
            self._changed()
        return removed

    # -- internals ----------------------------------------------------------------------------

    def _changed(self) -> None:
        self.revision += 1
        self._index.clear()
        self._newest.clear()
        self._by_cat.clear()

    def _take_id(self, kind: str) -> int:
        item_id = self._next_id[kind]
        self._next_id[kind] = item_id + 1
        return item_id

    def _next_added(self) -> datetime:
        # Additions are strictly newer than everything before, a minute apart, so an
        # incremental walk by "added" sees them first.
        self._latest += timedelta(minutes=1)
        return self._latest

    def _pick_category(self, kind: str) -> int:
        if kind not in self._cat_pick:
            make_categories(self, self._rng)
        ids, cum, total = self._cat_pick[kind]
        return ids[bisect.bisect_right(cum, self._rng.random() * total)]


def _kind(kind: str) -> str:
    k = str(kind).lower()
    if k in ("channel", "channels", "itv", "live"):
        return "channel"
    if k in ("movie", "movies", "vod"):
        return "movie"
    if k == "series":
        return "series"
    raise ValueError(f"unknown kind {kind!r}")


def _added_key(item: Any) -> tuple[datetime, int]:
    return (item.added, item.id)


# ---------------------------------------------------------------------------------------------
# generation


def generate(
    seed: int = 42, movies: int = 64_106, series: int = 19_076, channels: int = 5_000
) -> Catalogue:
    """A deterministic catalogue: the same seed and sizes give the same catalogue."""
    cat = Catalogue(seed)
    rng = cat._rng
    make_categories(cat, rng)
    end = CATALOGUE_END
    start = end - CATALOGUE_SPAN
    ids = {"channel": CHANNEL_ID_BASE, "movie": MOVIE_ID_BASE, "series": SERIES_ID_BASE}

    for kind, count in (("channel", channels), ("movie", movies), ("series", series)):
        stamps = import_batches(rng, count, start, end)
        items = cat.items(kind)
        base = ids[kind]
        if kind == "channel":
            for i in range(count):
                items.append(make_channel(cat, base + i, i + 1, stamps[i]))
        elif kind == "movie":
            for i in range(count):
                items.append(make_movie(cat, base + i, stamps[i]))
        else:
            for i in range(count):
                items.append(make_series(cat, base + i, stamps[i]))
        cat._next_id[kind] = base + count
        _ensure_adult_item(cat, kind)
    cat._latest = end
    return cat


def _ensure_adult_item(cat: Catalogue, kind: str) -> None:
    # Small catalogues could draw no adult item at 1.5%; every kind should have one to test
    # "hidden from All" with.
    items = cat.items(kind)
    adult = cat._cat_pick[kind][0][-1]
    if len(items) < 10 or any(item.category_id == adult for item in items):
        return
    item = items[len(items) // 2]
    item.category_id = adult
    if isinstance(item, FakeChannel):
        item.name = "XXX: " + item.name.split(": ", 1)[-1]


def ids_of(items: Sequence[Any]) -> list[int]:
    """Convenience for tests and the control API."""
    return [item.id for item in items]


class CatalogueControls:
    """What every fake provider lets a test (or ``/_control``) do to its catalogue: add,
    remove and truncate items of a kind. The fake's state holds the ``catalogue``."""

    catalogue: Catalogue

    def add(self, kind: str, count: int) -> list[int]:
        return [item.id for item in self.catalogue.add(kind, count)]

    def remove(self, kind: str, ids: Iterable[int]) -> int:
        return self.catalogue.remove(kind, ids)

    def truncate(self, kind: str, keep: int) -> int:
        return self.catalogue.truncate(kind, keep)

"""The ordered lists the fake portal pages through, built once per catalogue revision.

Channels by number or name, VOD by added date, name or rating, each sorted once and then
grouped per category or filtered of adult categories, cached until the catalogue changes.
``FakeStalkerPortal`` inherits these methods from ``OrderedLists``.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from iptvsync.fakes.catalogue import Catalogue
from iptvsync.fakes.items import FakeChannel, FakeMovie, FakeSeries
from iptvsync.fakes.stalker.values import _int_or_none


def _group(items: list[Any]) -> dict[int, list[Any]]:
    groups: dict[int, list[Any]] = {}
    for item in items:
        groups.setdefault(item.category_id, []).append(item)
    return groups


def _channel_number_key(ch: FakeChannel) -> tuple[int, int]:
    return (ch.number, ch.id)


def _channel_name_key(ch: FakeChannel) -> tuple[str, int]:
    return (ch.name.casefold(), ch.id)


def _added_desc(item: Any) -> tuple[float, int]:
    return (-item.added.timestamp(), -item.id)


def _name_key(item: Any) -> tuple[str, int]:
    return (item.name.casefold(), item.id)


def _rating_key(item: Any) -> tuple[float, int]:
    return (-(item.rating or 0.0), item.id)


_SORT_KEYS: dict[str, Callable[[Any], Any]] = {
    "added": _added_desc,
    "name": _name_key,
    "rating": _rating_key,
    "top": _rating_key,
}


class OrderedLists:
    """Portal lists (a mixin of ``FakeStalkerPortal``, which sets these attributes)."""

    catalogue: Catalogue
    _lists: dict[tuple[Any, ...], Any]
    _lists_revision: int

    def _cached(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        if self._lists_revision != self.catalogue.revision:
            self._lists.clear()
            self._lists_revision = self.catalogue.revision
        value = self._lists.get(key)
        if value is None:
            value = self._lists[key] = build()
        return value

    def adult_ids(self) -> frozenset[int]:
        return self._cached(
            ("adult",),
            lambda: frozenset(c.id for c in self.catalogue.categories if c.censored),
        )

    def channel_list(self, genre: str, sortby: str, hide_adult: bool) -> list[FakeChannel]:
        def build_all() -> list[FakeChannel]:
            key = _channel_name_key if sortby == "name" else _channel_number_key
            return sorted(self.catalogue.channels, key=key)

        ordered: list[FakeChannel] = self._cached(("itv", sortby), build_all)
        if genre == "*":
            if not hide_adult:
                return ordered
            adult = self.adult_ids()
            return self._cached(
                ("itv", sortby, "*"), lambda: [c for c in ordered if c.category_id not in adult]
            )
        groups = self._cached(("itv-groups", sortby), lambda: _group(ordered))
        return groups.get(_int_or_none(genre), [])

    def vod_list(
        self, kinds: str, category: str, sortby: str, hide_adult: bool
    ) -> list[FakeMovie | FakeSeries]:
        """Movies and/or series (``kinds`` "movie", "series" or "both") in portal order."""

        def build_all() -> list[FakeMovie | FakeSeries]:
            parts: list[list[Any]] = []
            if kinds in ("movie", "both"):
                parts.append(self._sorted("movie", sortby))
            if kinds in ("series", "both"):
                parts.append(self._sorted("series", sortby))
            if len(parts) == 1:
                return parts[0]
            key = _SORT_KEYS.get(sortby, _added_desc)
            return list(heapq.merge(*parts, key=key))

        ordered: list[Any] = self._cached(("vod", kinds, sortby), build_all)
        if category == "*":
            if not hide_adult:
                return ordered
            adult = self.adult_ids()
            return self._cached(
                ("vod", kinds, sortby, "*"),
                lambda: [i for i in ordered if i.category_id not in adult],
            )
        groups = self._cached(("vod-groups", kinds, sortby), lambda: _group(ordered))
        return groups.get(_int_or_none(category), [])

    def _sorted(self, kind: str, sortby: str) -> list[Any]:
        if sortby == "added":
            return self.catalogue.newest_first(kind)
        return sorted(self.catalogue.items(kind), key=_SORT_KEYS.get(sortby, _name_key))

    def newest_added(self) -> datetime:
        """The portal's "now" for the today/yesterday labels: its newest title."""

        def build() -> datetime:
            stamps = [i.added for i in self.catalogue.newest_first("movie")[:1]]
            stamps += [i.added for i in self.catalogue.newest_first("series")[:1]]
            return max(stamps, default=datetime(2026, 1, 1, tzinfo=UTC))

        return self._cached(("newest",), build)

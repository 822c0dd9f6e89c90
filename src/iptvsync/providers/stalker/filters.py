"""Paging one hidden (censored) category whose filter parameter the portal may ignore.

Adult genres are often missing from "All" and from ``get_all_channels`` (docs/stalker.md §5.2, §8),
so they are walked one by one. Which parameter filters a list differs between portals: a MAG
box sends ``genre=`` for live TV and ``category=`` (with ``genre=*``) for VOD, stalker-to-m3u
sends ``genre=`` for VOD, and an independent portal read only ``category=`` for live TV. A
portal that ignores the parameter answers the ordinary list, whose rows the walk would then
drop as duplicates without noticing. So:

- page 1 is asked with each parameter set in turn (the box's first); the first whose rows
  belong to the category (``tv_genre_id`` / ``category_id``) is kept for the other pages;
- rows that carry a category and do not belong are never merged: a parameter set none of
  whose answers belong ends the stream with a warning, and stray rows on later pages are
  dropped with a count in the warnings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from iptvsync.providers.stalker.paging import FetchedPage
from iptvsync.providers.stalker.parse import PagePayload, to_str
from iptvsync.records import CatalogueRecord

GetPage = Callable[[Mapping[str, str]], Awaitable[PagePayload]]
ToRecords = Callable[[list[dict[str, Any]]], list[CatalogueRecord]]

#: The key of a row's category, per module.
_CATEGORY_KEY = {"itv": "tv_genre_id", "vod": "category_id", "series": "category_id", "radio": ""}


def filter_variants(module: str, category: str) -> list[dict[str, str]]:
    """The parameter sets to try for one category of ``module``, the box's own first."""
    if module in ("itv", "radio"):
        return [{"genre": category}, {"genre": category, "category": category}]
    return [{"category": category, "genre": "*"}, {"category": category, "genre": category}]


def rows_belong(rows: list[dict[str, Any]], module: str, category: str) -> bool | None:
    """True when every row that names its category names ``category``; None when no row
    names one (nothing to verify); False when some row belongs elsewhere."""
    key = _CATEGORY_KEY.get(module, "")
    if not key:
        return None
    named = [to_str(r.get(key)) for r in rows if to_str(r.get(key)) not in (None, "", "0")]
    if not named:
        return None
    return all(n == category for n in named)


class CategoryStream:
    """``fetch(number)`` for ``walk_stream`` over one hidden category (see module doc)."""

    def __init__(
        self,
        module: str,
        category: str,
        *,
        params: Callable[[dict[str, str], int], dict[str, str]],
        get_page: GetPage,
        to_records: ToRecords,
        warn: Callable[[str], None],
    ) -> None:
        self.module = module
        self.category = category
        self._params = params
        self._get_page = get_page
        self._to_records = to_records
        self._warn = warn
        self._variant: dict[str, str] | None = None
        self._refused = False
        self._first: PagePayload | None = None
        self._lock = asyncio.Lock()
        self.dropped = 0

    async def _choose(self) -> None:
        async with self._lock:
            if self._variant is not None or self._refused:
                return
            tried: list[str] = []
            for variant in filter_variants(self.module, self.category):
                payload = await self._get_page(self._params(variant, 1))
                tried.append("&".join(f"{k}={v}" for k, v in variant.items()))
                if rows_belong(payload.rows, self.module, self.category) is not False:
                    self._variant, self._first = variant, payload
                    return
            self._refused = True
            self._warn(
                f"hidden_category_unfiltered: {self.module} category {self.category}: the "
                f"portal answered rows of other categories to every filter tried "
                f"({'; '.join(tried)}); nothing of it was merged"
            )

    async def fetch(self, number: int) -> FetchedPage:
        await self._choose()
        if self._variant is None:
            return FetchedPage(records=[], rows=0)
        if number == 1 and self._first is not None:
            payload, self._first = self._first, None
        else:
            payload = await self._get_page(self._params(self._variant, number))
        rows = payload.rows
        if rows_belong(rows, self.module, self.category) is False:
            key = _CATEGORY_KEY[self.module]
            kept = [r for r in rows if to_str(r.get(key)) in (None, "", "0", self.category)]
            self.dropped += len(rows) - len(kept)
            rows = kept
        return FetchedPage(
            records=self._to_records(rows),
            rows=len(payload.rows),
            total_items=payload.total_items,
            page_size=payload.page_size or (len(payload.rows) if payload.total_items else None),
        )

    def finish(self) -> None:
        if self.dropped:
            self._warn(
                f"hidden_category_stray_rows: {self.module} category {self.category}: "
                f"{self.dropped} rows of other categories were dropped"
            )

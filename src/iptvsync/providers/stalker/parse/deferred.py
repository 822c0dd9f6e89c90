"""VOD rows parsed where they are written, not where they are fetched (docs/sync.md, "The
write process").

A first sync of a large portal is CPU-bound in the process that fetches: per movie, building
its record from the row's 40-odd fields costs more than the request's share and the decode
together (docs/benchmarks.md, issue 21). The walk itself needs only each row's kind and id (to
page, stop and de-duplicate), so a VOD page becomes one :class:`VodPage` (the body as the
portal sent it) and a :class:`DeferredVod` per row. Their records are built by the same
``parse_vod_item`` when the batch is written: in the write process, which receives the body
once per page (pickle keeps one copy of an object shared by many items), or on the database
thread when the run writes in its own process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from iptvsync.providers.stalker.parse.coerce import to_str
from iptvsync.providers.stalker.parse.envelope import decode_envelope
from iptvsync.providers.stalker.parse.lists import parse_page
from iptvsync.providers.stalker.parse.urls import PortalUrls
from iptvsync.providers.stalker.parse.vod import is_series_row, parse_vod_item
from iptvsync.records import CatalogueRecord, DeferredRecord, Kind


class VodPage:
    """One page's body and how its rows are parsed. Its items are written in row order, so
    the rows are decoded once, at the first, and let go after the ``last`` (a write
    process holds one page's rows at a time, not a batch's); never sent to another process."""

    __slots__ = ("_rows", "body", "censored", "force_series", "last", "urls")

    def __init__(
        self,
        body: bytes,
        urls: PortalUrls,
        force_series: bool,
        censored: frozenset[str],
        last: int,
    ) -> None:
        self.body = body
        self.urls = urls
        self.force_series = force_series
        self.censored = censored
        self.last = last  # the index of its last item
        self._rows: Sequence[Mapping[str, Any]] | None = None

    def row(self, index: int) -> Mapping[str, Any]:
        rows = self._rows
        if rows is None:
            rows = parse_page(decode_envelope(self.body).js).rows
        self._rows = None if index >= self.last else rows
        return rows[index]

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        return VodPage, (self.body, self.urls, self.force_series, self.censored, self.last)


class DeferredVod(DeferredRecord):
    """Row ``index`` of a :class:`VodPage`: its kind and id now, its record on demand."""

    __slots__ = ("index", "kind", "page", "provider_item_id")

    def __init__(self, kind: Kind, provider_item_id: str, page: VodPage, index: int) -> None:
        self.kind = kind
        self.provider_item_id = provider_item_id
        self.page = page
        self.index = index

    def record(self) -> CatalogueRecord:
        page = self.page
        record = parse_vod_item(
            page.row(self.index),
            page.urls,
            force_series=page.force_series,
            censored_categories=page.censored,
        )
        if record is None:  # the row had an id when it was deferred: it still has
            raise AssertionError("a deferred VOD row lost its id")
        return record

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        return DeferredVod, (self.kind, self.provider_item_id, self.page, self.index)


def defer_vod_items(
    body: bytes,
    rows: Sequence[Mapping[str, Any]],
    urls: PortalUrls,
    *,
    force_series: bool = False,
    censored_categories: frozenset[str] = frozenset(),
) -> list[DeferredVod]:
    """The items of a page whose ``rows`` were decoded from ``body``: the rows
    ``parse_vod_items`` would make records of (those with an id), with the same kinds."""
    found = []
    for index, row in enumerate(rows):
        item_id = to_str(row.get("id"))
        if item_id is None:
            continue
        kind = Kind.SERIES if force_series or is_series_row(row) else Kind.MOVIE
        found.append((kind, item_id, index))
    if not found:
        return []
    page = VodPage(body, urls, force_series, censored_categories, found[-1][2])
    return [DeferredVod(kind, item_id, page, index) for kind, item_id, index in found]

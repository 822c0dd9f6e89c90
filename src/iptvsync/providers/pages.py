"""Turning a stream of list records into the engine's pages, for every provider kind whose
lists come as one answer (Xtream's JSON lists, an M3U playlist): duplicates merged by id with
every category kept, one page held back so the last one carries the stream's totals.
(Xtream's category duplicates are the reason, docs/providers.md; M3U lists repeat entries too.)
"""

from __future__ import annotations

import dataclasses
import re

from iptvsync.numbers import ascii_int
from iptvsync.records import ChannelRecord, MovieRecord, Page, SeriesRecord

_ADULT = re.compile(r"\b(xxx|adult|18\+|porn)", re.IGNORECASE)


def looks_adult(title: str) -> bool:
    """Adult category titles (``XXX``, ``Adult``, ``18+``): flagged censored."""
    return bool(_ADULT.search(title))


ListRecord = ChannelRecord | MovieRecord | SeriesRecord


_HEX_KEY = re.compile(r"^[a-z][0-9a-f]{8,32}$")


def _compact_key(pid: str) -> int | str:
    """Ids as ints where exact: Xtream's digits, and the M3U ``u<hex>`` / ``s<hex>`` keys."""
    number = ascii_int(pid, 40)  # "٣" must not become the id 3, nor "²" crash
    if number is not None:
        return number
    if _HEX_KEY.match(pid):
        return (ord(pid[0]) << 132) | int(pid[1:], 16)
    return pid


class Deduper:
    """De-duplicates rows by id while keeping every category (§1.4, XUI "category duplicates").

    A stream is parsed page by page, so a duplicate may arrive after its first copy was already
    handed on. ``accept`` returns the record to emit: the record itself when new, the record with
    the merged ``category_ids`` (and the first copy's channel number) when the duplicate brings a
    new category (emit it again: the later copy wins on upsert), or None for a pure duplicate.

    Memory: an int id → small int (index of an interned category tuple) per record, about 70
    bytes, plus the first number of each channel: ~13 MB for 178k movies.
    """

    def __init__(self) -> None:
        self._seen: dict[int | str, int] = {}
        self._numbers: dict[int | str, int | None] = {}
        self._index: dict[tuple[str, ...], int] = {}
        self._tuples: list[tuple[str, ...]] = []

    def __len__(self) -> int:
        return len(self._seen)

    def _intern(self, cats: tuple[str, ...]) -> int:
        position = self._index.get(cats)
        if position is None:
            position = self._index[cats] = len(self._tuples)
            self._tuples.append(cats)
        return position

    def accept(self, record: ListRecord) -> ListRecord | None:
        key = _compact_key(record.provider_item_id)
        previous = self._seen.get(key)
        is_channel = isinstance(record, ChannelRecord)
        if previous is None:
            self._seen[key] = self._intern(record.category_ids)
            if is_channel:
                self._numbers[key] = record.number  # type: ignore[union-attr]
            return record
        known = self._tuples[previous]
        merged = known + tuple(c for c in record.category_ids if c not in known)
        if merged == known:
            return None
        self._seen[key] = self._intern(merged)
        if isinstance(record, ChannelRecord):
            return dataclasses.replace(
                record, category_ids=merged, number=self._numbers.get(key, record.number)
            )
        return dataclasses.replace(record, category_ids=merged)


class PageBuilder:
    """Pages of de-duplicated records for one stream of a walk.

    One full page is held back, so the stream's last page (returned by ``finish``) is known and
    carries ``total_pages`` and ``total_items``; a stream with no records still ends with one
    empty page, so the engine sees every stream end.
    """

    def __init__(self, stream: str, size: int = 1000) -> None:
        self.stream = stream
        self.size = size
        self.dedupe = Deduper()
        self.number = 0
        self._batch: list[ListRecord] = []
        self._held: Page | None = None

    def add(self, record: ListRecord) -> Page | None:
        """Take a record; return a page that is ready to hand on, if any."""
        out = self.dedupe.accept(record)
        if out is None:
            return None
        self._batch.append(out)
        if len(self._batch) < self.size:
            return None
        return self._hold(self._page())

    def finish(self) -> list[Page]:
        """The held page and the last one, the last with the stream's totals."""
        pages = [self._held] if self._held is not None else []
        self._held = None
        if self._batch or not pages:
            pages.append(self._page())
        pages[-1].total_pages = self.number
        pages[-1].total_items = len(self.dedupe)
        return pages

    def _page(self) -> Page:
        self.number += 1
        page = Page(self.stream, self.number, list(self._batch))
        self._batch = []
        return page

    def _hold(self, page: Page) -> Page | None:
        ready, self._held = self._held, page
        return ready

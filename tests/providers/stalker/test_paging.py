"""The in-order concurrent pager (docs/stalker.md §8 stop rules), driven by a fake page source."""

from __future__ import annotations

import asyncio
import random

import pytest

from iptvsync.errors import ProviderTimeout
from iptvsync.providers.stalker.paging import FetchedPage, Seen, walk_stream
from iptvsync.records import MovieRecord, Page


def movies(ids: range | list[int]) -> list[MovieRecord]:
    return [MovieRecord(provider_item_id=str(i), name=f"m{i}") for i in ids]


class Source:
    """``total`` items, ``size`` per page, answered in random order (jittered delays)."""

    def __init__(self, total: int, size: int = 14, *, repeat_after: int | None = None) -> None:
        self.total, self.size, self.repeat_after = total, size, repeat_after
        self.requested: list[int] = []
        self.rng = random.Random(3)
        self.in_flight = 0
        self.max_in_flight = 0

    async def __call__(self, number: int) -> FetchedPage:
        self.requested.append(number)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.rng.uniform(0, 0.003))
        finally:
            self.in_flight -= 1
        if self.repeat_after is not None and number > self.repeat_after:
            number = 1
        start = (number - 1) * self.size
        ids = range(start, min(start + self.size, self.total))
        return FetchedPage(movies(ids), len(ids), self.total, self.size)


async def collect(source: Source, **kwargs: object) -> tuple[list[Page], object]:
    pages: list[Page] = []
    stop_at = kwargs.pop("stop_at", None)

    async def deliver(page: Page) -> bool:
        pages.append(page)
        return page.number != stop_at

    outcome = await walk_stream(
        "vod",
        source,
        deliver,
        window=lambda: 4,
        seen=kwargs.pop("seen", Seen()),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )
    return pages, outcome


async def test_pages_arrive_in_order_with_concurrency() -> None:
    source = Source(total=100)
    pages, outcome = await collect(source)
    assert [p.number for p in pages] == list(range(1, 9))
    assert [r.provider_item_id for p in pages for r in p.records] == [str(i) for i in range(100)]
    assert outcome.complete and outcome.stop_reason is None  # type: ignore[attr-defined]
    assert pages[0].total_pages == 8 and pages[0].total_items == 100
    # Up to twice the window and one more: the budget, not the pager, holds the requests on
    # the wire at its limit (pages being parsed still count here).
    assert 5 < source.max_in_flight <= 9
    assert max(source.requested) == 8  # never past the total
    assert 0 not in source.requested  # p is 1-based (§8)


async def test_a_capped_walk_reads_ahead_one_page_past_the_window() -> None:
    """An incremental walk (it has a page cap) expects to stop early: what it asks past its
    stop is wasted on the portal, so it keeps one page more than the window, not twice."""
    source = Source(total=1000)
    pages, outcome = await collect(source, page_cap=40, stop_at=12)
    assert [p.number for p in pages] == list(range(1, 13))
    assert outcome.stop_reason == "early_termination"  # type: ignore[attr-defined]
    assert 1 < source.max_in_flight <= 5


async def test_repeated_page_stops_incomplete() -> None:
    pages, outcome = await collect(Source(total=100, repeat_after=3))
    assert [p.number for p in pages] == [1, 2, 3]
    assert not outcome.complete and outcome.stop_reason == "repeated_page"  # type: ignore[attr-defined]
    assert "repeats" in outcome.warnings[0]  # type: ignore[attr-defined]


async def test_early_termination_and_page_cap() -> None:
    pages, outcome = await collect(Source(total=100), stop_at=2)
    assert [p.number for p in pages] == [1, 2]
    assert outcome.stop_reason == "early_termination"  # type: ignore[attr-defined]
    pages, outcome = await collect(Source(total=100), page_cap=3)
    assert [p.number for p in pages] == [1, 2, 3]
    assert outcome.stop_reason == "page_cap" and not outcome.complete  # type: ignore[attr-defined]
    pages, outcome = await collect(Source(total=30), page_cap=3)
    assert outcome.complete  # the end came first


async def test_a_page_repeats_only_what_its_own_stream_delivered() -> None:
    # The items of another stream (a hidden category listed in "All" too) are filtered as
    # duplicates, but a page made of them is no repeat of this stream's pages.
    seen = Seen()
    seen.add("vod:category:9", [f"movie:{i}" for i in range(10, 20)])
    pages, outcome = await collect(Source(total=30, size=5), seen=seen)
    assert [len(p.records) for p in pages] == [5, 5, 0, 0, 5, 5]
    assert outcome.complete and outcome.stop_reason is None  # type: ignore[attr-defined]
    # A key several streams delivered counts for each of them.
    assert seen.all_from("vod", ["movie:12"]) and seen.all_from("vod:category:9", ["movie:12"])
    assert not seen.all_from("vod", []) and not seen.all_from("radio", ["movie:12"])
    assert len(seen) == 30 and "movie:29" in seen


async def test_dedupe_across_streams_and_empty_lists() -> None:
    seen = Seen()
    seen.add("another", ["movie:0", "movie:5"])
    pages, outcome = await collect(Source(total=20), seen=seen)
    delivered = [r.provider_item_id for p in pages for r in p.records]
    assert "0" not in delivered and "5" not in delivered and len(delivered) == 18
    assert outcome.complete
    pages, outcome = await collect(Source(total=0))
    assert pages == [] and outcome.complete  # type: ignore[attr-defined]


async def test_unknown_totals_walk_until_an_empty_page() -> None:
    async def fetch(number: int) -> FetchedPage:
        ids = range((number - 1) * 10, min(number * 10, 45))
        return FetchedPage(movies(ids), len(ids))  # no totals at all

    pages: list[Page] = []

    async def deliver(page: Page) -> bool:
        pages.append(page)
        return True

    outcome = await walk_stream("x", fetch, deliver, window=lambda: 3, seen=Seen())
    assert outcome.complete and sum(len(p.records) for p in pages) == 45


async def test_empty_page_mid_list_is_skipped() -> None:
    async def fetch(number: int) -> FetchedPage:
        if number == 2:  # stock drops locked items after counting them (§8)
            return FetchedPage([], 0, 42, 14)
        ids = range((number - 1) * 14, min(number * 14, 42))
        return FetchedPage(movies(ids), len(ids), 42, 14)

    got: list[int] = []

    async def deliver(page: Page) -> bool:
        got.append(page.number)
        return True

    outcome = await walk_stream("x", fetch, deliver, window=lambda: 2, seen=Seen())
    assert got == [1, 3] and outcome.complete


async def test_a_failing_page_raises_and_cancels_the_rest() -> None:
    started: list[int] = []
    cancelled: list[int] = []

    async def fetch(number: int) -> FetchedPage:
        started.append(number)
        if number == 3:
            raise ProviderTimeout("page 3 kept timing out")
        try:
            await asyncio.sleep(0.05 if number > 3 else 0)
        except asyncio.CancelledError:
            cancelled.append(number)
            raise
        return FetchedPage(movies(range((number - 1) * 14, number * 14)), 14, 140, 14)

    async def deliver(page: Page) -> bool:
        return True

    with pytest.raises(ProviderTimeout):
        await walk_stream("x", fetch, deliver, window=lambda: 4, seen=Seen())
    assert cancelled  # in-flight pages were cancelled, not leaked

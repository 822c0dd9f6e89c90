"""Walking one paged list ("stream") concurrently, delivering pages in order (docs/stalker.md §8).

Pages are fetched ahead within the politeness budget (the window is the budget's current
limit), but handed to the consumer strictly in page order, so an incremental sync can stop a
stream at the first page that brings nothing new. Stop rules, in the order they are checked:

- an empty page is the end (unless the portal's total says more pages follow: stock servers
  drop locked items after counting, so a page can be empty mid-list);
- a page whose ids were all seen earlier in this stream means the portal ignores ``p`` and
  repeats page 1: stop, incomplete, ``repeated_page``;
- the consumer returning False stops the stream: ``early_termination``;
- a fetch that raises ``StreamUnavailable`` (an optional module whose server keeps failing)
  stops its stream, incomplete, ``unavailable``, with its reason as a warning: the rest of
  the walk goes on, and nothing of that stream is taken as gone;
- the last page by the portal's total is the end; ``page_cap`` pages stop it: ``page_cap``.
  The page size is ``max_page_items``, or the rows page 1 held when fewer (a portal may claim
  20 while its pages hold 14: trusting the claim would stop the walk early).

Items already delivered by another stream of the same walk are filtered out (dedupe by kind
and id), but still count as "seen" for the repeat check only within their own stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from iptvsync.records import CatalogueRecord, Page


class StreamUnavailable(Exception):
    """Raised by a fetch: its stream cannot be read now. The stream stops incomplete (so the
    walk removes nothing) instead of failing the walk; ``str(exc)`` is the warning."""


@dataclass(slots=True)
class FetchedPage:
    records: list[CatalogueRecord]
    rows: int  # rows the portal sent (records may be fewer: rows without ids are dropped)
    total_items: int | None = None
    page_size: int | None = None


@dataclass(slots=True)
class StreamOutcome:
    stream: str
    complete: bool
    stop_reason: str | None = None
    pages: int = 0
    items: int = 0
    warnings: list[str] = field(default_factory=list)


FetchPage = Callable[[int], Coroutine[Any, Any, FetchedPage]]
Deliver = Callable[[Page], Awaitable[bool]]
#: ``"movie:153"``: one small string per item walked, where a tuple of two new strings was
#: three objects (a sync of 88k items kept ~9 MB more; docs/benchmarks.md, issue 21).
SeenKey = str


def seen_key(record: CatalogueRecord) -> SeenKey:
    return f"{record.kind}:{record.provider_item_id}"


class Seen:
    """The keys a walk's streams delivered, and which stream delivered each: what the walk
    de-duplicates against, and what tells a stream that a page repeats its own earlier ones.

    One dict (key → its stream, or the set of them for a key several streams listed) where a
    set for the walk and a set per stream were: at the end of a VOD walk of 83k items the two
    sets' tables held 16 MB, the dict ~3 MB (docs/benchmarks.md, issue 21)."""

    __slots__ = ("_by",)

    def __init__(self) -> None:
        self._by: dict[SeenKey, str | set[str]] = {}

    def __contains__(self, key: object) -> bool:
        return key in self._by

    def __len__(self) -> int:
        return len(self._by)

    def all_from(self, stream: str, keys: list[SeenKey]) -> bool:
        """Whether ``stream`` delivered every one of ``keys`` before (False when empty)."""
        by = self._by
        for key in keys:
            tag = by.get(key)
            if tag is None or not (tag == stream if isinstance(tag, str) else stream in tag):
                return False
        return bool(keys)

    def unseen(self, records: list[CatalogueRecord], keys: list[SeenKey]) -> list[CatalogueRecord]:
        """The ``records`` whose ``keys`` (theirs, in order) no stream delivered before: one
        dict lookup each, where ``key in seen`` was a call of ``__contains__`` each."""
        by = self._by
        return [r for r, k in zip(records, keys, strict=True) if k not in by]

    def add(self, stream: str, keys: list[SeenKey]) -> None:
        by = self._by
        for key in keys:
            tag = by.get(key)
            if tag is None:
                by[key] = stream
            elif isinstance(tag, str):
                if tag != stream:
                    by[key] = {tag, stream}
            else:
                tag.add(stream)


#: Pages a whole walk keeps going per request the budget allows (see ``walk_stream``).
_AHEAD_FACTOR = 2
#: Pages fetched before the first answer tells the total: guessing wider wastes requests on
#: small lists (a censored genre is often one page).
_BLIND_PAGES = 2


async def walk_stream(
    stream: str,
    fetch: FetchPage,
    deliver: Deliver,
    *,
    window: Callable[[], int],
    seen: Seen,
    page_cap: int | None = None,
    max_ahead: int = 256,
) -> StreamOutcome:
    """Walk pages 1.. of one stream; see the module docstring for the stop rules.

    ``window()`` is read every time a page could be launched (the budget's current limit):
    up to twice that many pages, plus one, are kept going, and the budget keeps the requests
    on the wire at its limit. A page still counts here while its answer waits to be parsed
    and collected: with only one page more than the limit, those pages held the next
    requests back, and a walk at 20 ms kept ~25 requests in flight of 32 (~29 now;
    docs/benchmarks.md, issue 21). A walk with a ``page_cap`` (an incremental one, which
    expects to stop early) keeps one page more than the limit: whatever it asks past its
    stop is wasted on the portal. A page that fails for good raises its typed error, after
    the other requests of the stream are cancelled.
    """
    out = StreamOutcome(stream=stream, complete=False)
    ahead = 1 if page_cap is not None else _AHEAD_FACTOR
    tasks: dict[int, asyncio.Task[FetchedPage]] = {}
    ready: dict[int, FetchedPage] = {}
    # Pages whose requests are done, told by each task's own callback. ``asyncio.wait`` over
    # every task in flight (up to 65) added and removed a callback on each of them at every
    # wake-up, and finding the done ones scanned them all again: the loop took 74 µs of CPU a
    # page, where it takes 58-61 now (``bench/walk_loop.py``; docs/benchmarks.md, session 22).
    finished: list[int] = []
    woken = asyncio.Event()

    def launch(number: int) -> None:
        def ended(_: asyncio.Task[FetchedPage]) -> None:
            finished.append(number)
            woken.set()

        tasks[number] = asyncio.create_task(fetch(number))
        tasks[number].add_done_callback(ended)

    next_launch = next_deliver = 1
    total_pages: int | None = None
    total_items: int | None = None
    answered = False
    learned_size: int | None = None

    def may_launch() -> bool:
        if page_cap is not None and next_launch > page_cap:
            return False
        if total_pages is not None and next_launch > max(total_pages, 1):
            return False
        if not answered and next_launch > _BLIND_PAGES:
            return False
        if next_launch - next_deliver >= max_ahead:
            return False
        return len(tasks) < ahead * max(1, window()) + 1

    try:
        while True:
            while may_launch():
                launch(next_launch)
                next_launch += 1
            if next_deliver not in ready:
                if next_deliver not in tasks:
                    # Nothing left to fetch (past the total or the cap) and nothing pending.
                    out.complete = page_cap is None or total_pages is not None
                    if not out.complete:
                        out.stop_reason = "page_cap"
                    return out
                if not finished:
                    woken.clear()
                    await woken.wait()
                done = sorted(finished)  # page order, as the tasks were launched
                finished.clear()
                try:
                    for number in done:
                        ready[number] = tasks.pop(number).result()  # a failed page's error
                except StreamUnavailable as exc:
                    out.stop_reason = "unavailable"
                    out.warnings.append(f"{stream}: {exc}")
                    return out
                continue

            number = next_deliver
            page = ready.pop(number)
            next_deliver += 1
            size = page.page_size
            if number == 1 and size and 0 < page.rows < (page.total_items or 0):
                # A portal's max_page_items may differ from what its pages hold: page 1 of a
                # longer list shows the real size (never trust more than it held).
                learned_size = min(size, page.rows)
            if learned_size and size:
                size = learned_size
            if page.total_items is not None and size:
                pages_now = -(-page.total_items // size)
                total_pages = max(total_pages or 0, pages_now)
                total_items = max(total_items or 0, page.total_items)
            answered = True

            if page.rows == 0:
                if total_pages is not None and number < total_pages:
                    continue  # empty mid-list: the portal counted items it then hid
                out.complete = True
                return out

            keys = [seen_key(r) for r in page.records]
            if seen.all_from(stream, keys):
                out.stop_reason = "repeated_page"
                out.warnings.append(
                    f"{stream}: page {number} repeats items of earlier pages; the portal "
                    f"seems to ignore paging, so the walk stopped there (incomplete)"
                )
                return out
            fresh = seen.unseen(page.records, keys)
            seen.add(stream, keys)
            out.pages += 1
            out.items += len(fresh)
            keep_going = await deliver(
                Page(
                    stream=stream,
                    number=number,
                    records=fresh,
                    total_pages=total_pages,
                    total_items=total_items,
                )
            )
            last = total_pages is not None and number >= total_pages
            if keep_going is False and not last:
                out.stop_reason = "early_termination"
                return out
            if last:
                out.complete = True
                return out
            if page_cap is not None and number >= page_cap:
                out.stop_reason = "page_cap"
                return out
    finally:
        for task in tasks.values():
            task.cancel()
        for task in tasks.values():
            with contextlib.suppress(BaseException):
                await task

"""The CPU of a Stalker walk's own loop (``providers/stalker/paging.walk_stream``), without the
network, the parse or the database: pages of ready-made records answered a few ms apart and out
of order, 32 requests allowed (65 pages kept going, as a first load's walk keeps them), each
delivered to a no-op. What is left is the loop's work: launching, waiting for answers, putting
them in order, the repeated-page check and the de-duplication.

One JSON line: pages, the best CPU seconds of ``--runs`` walks, and µs per page. Compare two
checkouts side by side with ``PYTHONPATH=<checkout>/src``.

    .venv/bin/python bench/walk_loop.py [--pages 6000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from iptvsync.providers.stalker.paging import FetchedPage, Seen, walk_stream
from iptvsync.records import MovieRecord, Page

PAGE_ITEMS = 14  # a stock portal's page


async def walk(pages: int, records: dict[int, list[MovieRecord]]) -> tuple[int, float]:
    """One walk of ``pages`` pages: how many were delivered, and the CPU seconds it took."""

    async def fetch(number: int) -> FetchedPage:
        # 0-8 ms, by a fixed scramble of the page number: answers come back out of order.
        await asyncio.sleep(0.002 * ((number * 7919) % 5))
        return FetchedPage(
            records=records[number],
            rows=PAGE_ITEMS,
            total_items=pages * PAGE_ITEMS,
            page_size=PAGE_ITEMS,
        )

    async def deliver(page: Page) -> bool:
        return True

    started = time.process_time()
    out = await walk_stream("vod", fetch, deliver, window=lambda: 32, seen=Seen())
    return out.pages, time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=6000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    records = {
        n: [MovieRecord(f"{n}-{i}", f"Movie {n}-{i}") for i in range(PAGE_ITEMS)]
        for n in range(1, args.pages + 1)
    }
    best = float("inf")
    delivered = 0
    for _ in range(args.runs):
        delivered, cpu = asyncio.run(walk(args.pages, records))
        best = min(best, cpu)
    print(
        json.dumps(
            {
                "bench": "walk_loop",
                "pages": delivered,
                "cpu_s": round(best, 3),
                "us_per_page": round(best / max(delivered, 1) * 1e6, 1),
            }
        )
    )


if __name__ == "__main__":
    main()

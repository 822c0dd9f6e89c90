"""A Stalker VOD walk's client CPU per page, without the network or the database: the fake
portal's own movie and series pages (rendered in-process, as a full walk asks for them) read
by ``decode_envelope``, ``parse_page`` and ``parse_vod_items``, then turned into the rows the
writer stores (``record_to_row``) and written into a fresh database as the write process
writes them (``write_items``).

One JSON line: pages, items, and the best µs per item of ``--runs`` for each step. Compare two
checkouts side by side with ``PYTHONPATH=<checkout>/src``, and the plain parse with its compiled
twin with ``IPTVSYNC_COMPILED=0`` (``iptvsync/speedups.py``).

    .venv/bin/python bench/parse_pages.py [--movies 64106] [--series 19076] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import tempfile
import time
from typing import Any

import httpx

from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.stalker import DEFAULT_MAC, StalkerFakeConfig, create_app
from iptvsync.providers.stalker import parse
from iptvsync.providers.stalker.parse.urls import PortalUrls
from iptvsync.records import Kind
from iptvsync.store.bulk import SqliteFile
from iptvsync.store.catalogue import bulk_shapes
from iptvsync.store.db import create_db_engine
from iptvsync.store.migrate import upgrade
from iptvsync.store.providers import create_provider
from iptvsync.sync.batch_write import write_items
from iptvsync.sync.diff import record_kind, record_to_row

try:
    from iptvsync.store.catalogue import defer_read_indexes
except ImportError:  # a checkout from before store/first_load.py: its first load kept them
    defer_read_indexes = None  # type: ignore[assignment]

ENDPOINT = "/stalker_portal/server/load.php"


async def pages(movies: int, series: int) -> list[bytes]:
    """Every page of the stock fake's VOD list (movies and series), as the walk reads it."""
    catalogue = generate(seed=42, movies=movies, series=series, channels=10)
    app = create_app(catalogue, StalkerFakeConfig(family="stock"))
    headers = {"Cookie": f"mac={DEFAULT_MAC}; stb_lang=en; timezone=UTC", "User-Agent": "MAG200"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://portal.test", headers=headers
    ) as http:
        base = {"JsHttpRequest": "1-xml"}
        hello = await http.get(ENDPOINT, params={**base, "type": "stb", "action": "handshake"})
        http.headers["Authorization"] = f"Bearer {hello.json()['js']['token']}"
        await http.get(ENDPOINT, params={**base, "type": "stb", "action": "get_profile"})
        query = {**base, "type": "vod", "action": "get_ordered_list", "category": "*"}
        query["sortby"] = "added"
        bodies: list[bytes] = []
        number = 1
        while True:
            answer = await http.get(ENDPOINT, params={**query, "p": str(number)})
            js = answer.json()["js"]
            if not js["data"]:
                return bodies
            bodies.append(answer.content)
            number += 1


def best_of(runs: int, step: Any, inputs: list[Any]) -> tuple[float, list[Any]]:
    """The best CPU seconds of ``runs`` passes of ``step`` over ``inputs``, and its outputs.
    The collector is off while timing: a pass keeps every output (the walk keeps none), and
    collections over that growing heap would be timed as the step's."""
    best = float("inf")
    out: list[Any] = []
    for _ in range(runs):
        out = []
        gc.collect()
        gc.disable()
        started = time.process_time()
        out = [step(x) for x in inputs]
        best = min(best, time.process_time() - started)
        gc.enable()
    return best, out


def write(records: list[Any], category_ids: dict[str, int], runs: int) -> float:
    """The best CPU seconds of writing ``records`` into a fresh database, as the write process
    does (``write_items`` on a ``SqliteFile``, batches of 2,000; ``row_us`` is part of it)."""
    best = float("inf")
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            path = f"{tmp}/bench.db"
            db = create_db_engine(f"sqlite:///{path}")
            upgrade(db)
            with db.begin() as conn:
                provider_id = create_provider(
                    conn, {"name": "b", "kind": "stalker", "url": "http://portal.test/c/"}
                )
                if defer_read_indexes is not None:
                    defer_read_indexes(conn)  # as a first sync does (store/first_load.py)
            db.dispose()
            target = SqliteFile(path, bulk_shapes(), cache_kib=2048)
            by_kind: dict[Kind, list[Any]] = {Kind.MOVIE: [], Kind.SERIES: []}
            for record in records:
                by_kind[record_kind(record)].append(record)
            cat_maps = {kind: category_ids for kind in by_kind}
            gc.collect()
            started = time.process_time()
            for kind, group in by_kind.items():
                for at in range(0, len(group), 2000):
                    batch = {kind: group[at : at + 2000]}
                    write_items(target, provider_id, 1, 1, batch, cat_maps)
            best = min(best, time.process_time() - started)
            target.close()
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--movies", type=int, default=64_106)
    parser.add_argument("--series", type=int, default=19_076)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    bodies = asyncio.run(pages(args.movies, args.series))
    urls = PortalUrls.from_endpoint(f"http://portal.test{ENDPOINT}")

    decode_s, envelopes = best_of(args.runs, parse.decode_envelope, bodies)
    page_s, payloads = best_of(args.runs, lambda env: parse.parse_page(env.js), envelopes)
    parse_s, parsed = best_of(
        args.runs, lambda payload: parse.parse_vod_items(payload.rows, urls), payloads
    )
    records = [r for page in parsed for r in page]
    category_ids = {r.category_ids[0]: i for i, r in enumerate(records) if r.category_ids}
    row_s, _ = best_of(args.runs, lambda record: record_to_row(record, category_ids), records)
    items = len(records)
    write_s = write(records, category_ids, args.runs)

    def per_item(seconds: float) -> float:
        return round(seconds / items * 1e6, 2)

    print(
        json.dumps(
            {
                "bench": "parse_pages",
                "pages": len(bodies),
                "items": items,
                "decode_us": per_item(decode_s),
                "page_us": per_item(page_s),
                "parse_us": per_item(parse_s),
                "row_us": per_item(row_s),
                "write_us": per_item(write_s),
                "total_us": per_item(decode_s + page_s + parse_s + write_s),
            }
        )
    )


if __name__ == "__main__":
    main()

"""The programme path every guide shares, without HTTP: a Stalker all-channels guide (the fake
portal's rows, 3 days of ``--channels`` channels) decoded by ``guide_split.GuideDecoder`` (cut
into channels, decoded, read by ``parse_programme``) and written by ``sync.guide.store_guide``
into a fresh SQLite file.

One JSON line: programmes, the best process CPU of ``--runs`` (the database thread included)
and µs per programme. Compare two checkouts side by side with ``PYTHONPATH=<checkout>/src``
(a checkout without ``guide_split`` reads the guide with ijson, as it did). With
``IPTVSYNC_COMPILED=0`` the decoder takes orjson's dicts, not its structs (session 26).

    .venv/bin/python bench/guide_path.py [--channels 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, timedelta
from typing import Any

import ijson
import orjson

from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.stalker.epg import programme_rows
from iptvsync.providers.stalker.parse.epg import parse_programme
from iptvsync.records import ProgrammeRecord
from iptvsync.store import providers as provider_store
from iptvsync.store.db import create_db_engine
from iptvsync.store.migrate import upgrade
from iptvsync.sync.background import run_db_thread
from iptvsync.sync.guide import store_guide

try:
    from iptvsync.providers.stalker.guide_split import GuideDecoder, guide_channels
except ImportError:  # a checkout from before the cut: ijson
    guide_channels = None  # type: ignore[assignment]
    GuideDecoder = None  # type: ignore[assignment,misc]


def guide_body(channels: int) -> tuple[bytes, dict[str, str]]:
    """The answer, and its channels' map (each channel its own guide key)."""
    catalogue = generate(movies=0, series=0, channels=channels, seed=1)
    now = time.time()
    parts = [b'{"js":{"data":{']
    guided = [c for c in catalogue.channels if c.xmltv_id]
    for i, ch in enumerate(guided):
        rows = programme_rows(ch, now - 3600, now + 72 * 3600)
        parts.append((b"," if i else b"") + orjson.dumps(str(ch.id)) + b":" + orjson.dumps(rows))
    parts.append(b"}}}")
    return b"".join(parts), {str(ch.id): str(ch.id) for ch in guided}


async def _pairs(body: bytes) -> AsyncIterator[tuple[str, Any]]:
    if guide_channels is None:
        for key, rows in ijson.kvitems(io.BytesIO(body), "js.data"):
            yield key, rows
        return

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 1 << 16):
            yield body[i : i + (1 << 16)]

    stream = chunks()
    head = await anext(stream)
    async for pair in guide_channels(head, stream):
        yield pair


async def _records(body: bytes, channels: dict[str, str]) -> AsyncIterator[ProgrammeRecord]:
    if GuideDecoder is not None and hasattr(GuideDecoder, "programmes_of"):
        decoder = GuideDecoder(channels, UTC)
        for i in range(0, len(body), 1 << 16):
            for programme in decoder.feed(body[i : i + (1 << 16)]):
                yield programme
        for programme in decoder.close():
            yield programme
        return
    async for key, rows in _pairs(body):
        for row in rows:
            record = parse_programme(row, key, UTC)
            if record is not None:
                yield record


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--channels", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    body, channels = guide_body(args.channels)
    with tempfile.TemporaryDirectory() as tmp:
        db = create_db_engine(f"sqlite:///{tmp}/guide.db")
        upgrade(db)
        with db.begin() as conn:
            pid = provider_store.create_provider(
                conn, {"name": "bench", "kind": "m3u", "url": "http://x/"}
            )

        async def once() -> int:
            with run_db_thread("bench-db"):
                window = (timedelta(hours=6), timedelta(days=7))
                return await store_guide(db, pid, _records(body, channels), window)

        best: tuple[float, int] | None = None
        for _ in range(args.runs):
            started = time.process_time()
            stored = asyncio.run(once())
            cpu = time.process_time() - started
            if best is None or cpu < best[0]:
                best = (cpu, stored)
        db.dispose()
    assert best is not None
    print(
        json.dumps(
            {
                "bench": "guide_path",
                "reader": "ijson" if guide_channels is None else "guide_split",
                "bytes": len(body),
                "programmes": best[1],
                "cpu_s": round(best[0], 3),
                "us_per_programme": round(best[0] / best[1] * 1e6, 2),
            }
        )
    )


if __name__ == "__main__":
    main()

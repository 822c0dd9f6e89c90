"""M3U playlists and XMLTV guides at size: time and flat memory.

The parent writes the inputs once into a temporary directory, deterministically, with the fakes'
own writers (``fakes.m3u.playlist_lines``: the quirky playlist, every switch at its default;
``fakes.xtream.xmltv_documents``: XC_VM-style interleaved XMLTV, a week per channel), then runs
every case in a process of its own so that each peak RSS is that case's own:

  m3u-parse    the client's walks (CHANNELS, then VOD) over the file with a no-op page handler:
               reading, line decoding, parsing, identity keys, records and pages, no database
  m3u-sync     a full sync of the file into a fresh SQLite database (``prepare_run`` scope all +
               ``execute_run``), the provider's ``epg_url`` a tiny local guide
  xmltv-parse  ``providers.xmltv.iter_programmes`` over the file streamed in 256 KiB chunks
  xmltv-store  the same stream through ``sync.guide.store_guide`` into a fresh SQLite database
               (window: every programme of the file, whatever the time of day)

Each at a small and at the full size (M3U: 100k and 1M lines; XMLTV: 20 MB and 200 MB), to show
that memory stays flat (RSS sampled every 10 ms, ``bench/_rss.py``). Playlists come in two
shapes (``PER_MILLION_LINES``): 3 lines per entry (1M lines ≈ 333k entries, as in issue 6) and
the writer's plain ~2 (1M lines ≈ 490k entries). One JSON line per case: size, wall seconds,
rate, RSS when the case starts (after imports) and peak RSS.

    .venv/bin/python bench/m3u_xmltv.py                     # everything
    .venv/bin/python bench/m3u_xmltv.py --only m3u --m3u 100000 --m3u 1000000:plain
    .venv/bin/python bench/m3u_xmltv.py --only xmltv --xmltv-mb 20 --xmltv-mb 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._rss import PeakRss

from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.m3u import FakeM3uProvider, M3uFakeConfig, playlist_lines
from iptvsync.fakes.xtream import xmltv_documents
from iptvsync.providers.base import ProviderConfig
from iptvsync.providers.http import build_http_client
from iptvsync.providers.registry import make_client
from iptvsync.providers.xmltv import iter_programmes
from iptvsync.records import Page, Scope
from iptvsync.settings import Settings
from iptvsync.store import catalogue as catalogue_store
from iptvsync.store import providers as provider_store
from iptvsync.store.db import create_db_engine
from iptvsync.store.migrate import upgrade
from iptvsync.store.models import programmes
from iptvsync.sync.engine import SyncContext, execute_run
from iptvsync.sync.guide import store_guide
from iptvsync.sync.service import prepare_run

CASES = ("m3u-parse", "m3u-sync", "xmltv-parse", "xmltv-store")
READ_CHUNK = 1 << 18
#: Where the playlists' URLs point. Never fetched: the sync's guide is the provider's epg_url.
BASE = "http://m3u.bench.invalid"
#: Playlist composition per million lines, by shape (channels : movies : series of ~37 episodes
#: each, about 1 : 4 : 0.26, close to a big reseller line's export):
#: - "issue": the writer's entries plus an ``#EXTGRP`` line repeating ``group-title`` (as many
#:   real playlists carry), 3 lines per entry: 1M lines ≈ 333k entries, the shape of issue 6;
#: - "plain": the writer's output as is, ~2 lines per entry: 1M lines ≈ 490k entries.
PER_MILLION_LINES = {
    "issue": {"channels": 23_000, "movies": 92_000, "series": 6_100},
    "plain": {"channels": 34_000, "movies": 136_000, "series": 9_000},
}
_GROUP_TITLE = re.compile(rb'(#EXTINF:[^\n]*?group-title="([^"]*)"[^\n]*\n)')
#: The guide anchor: fixed, so that the generated files are the same on every run.
ANCHOR = datetime(2025, 1, 6, tzinfo=UTC)
GUIDE_HOURS = 24 * 7


# ---------------------------------------------------------------------------------------------
# Inputs


def write_playlist(path: Path, lines: int, shape: str = "issue") -> dict[str, Any]:
    scale = lines / 1_000_000
    sizes = {k: max(1, round(v * scale)) for k, v in PER_MILLION_LINES[shape].items()}
    provider = FakeM3uProvider(generate(seed=61, **sizes), M3uFakeConfig())
    written = entries = newlines = 0
    with path.open("wb") as out:
        for chunk in playlist_lines(provider, BASE):
            if shape == "issue":  # chunks end on entry boundaries
                chunk = _GROUP_TITLE.sub(rb"\1#EXTGRP:\2\n", chunk)
            out.write(chunk)
            written += len(chunk)
            newlines += chunk.count(b"\n")
            entries += chunk.count(b"#EXTINF")
    return {"shape": shape, "lines": newlines, "extinf": entries, "bytes": written, **sizes}


def write_guide(path: Path, megabytes: float, channels_limit: int | None = None) -> dict[str, Any]:
    """A week per channel, channel after channel, until ``megabytes`` are written."""
    target = int(megabytes * 1_000_000)
    # ~37% of the fake's channels have a guide id; a week of one channel is ~55 KB.
    channels = channels_limit or max(10, int(target / 55_000 / 0.37) + 50)
    catalogue = generate(seed=62, movies=0, series=0, channels=channels)
    written = 0
    with path.open("wb") as out:
        for chunk in xmltv_documents(catalogue, BASE, ANCHOR, GUIDE_HOURS, channels_limit):
            if written >= target and not chunk.endswith(b"</tv>\n"):
                continue  # chunks end on a channel boundary: stop adding channels
            if written >= target:
                chunk = b"</tv>\n"
            out.write(chunk)
            written += len(chunk)
    return {"bytes": written}


async def read_file(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            yield chunk
            await asyncio.sleep(0)


def fresh_db(directory: Path) -> tuple[sa.Engine, Settings]:
    settings = Settings(data_dir=directory, database_url=f"sqlite:///{directory}/bench.db")
    db = create_db_engine(settings.resolved_database_url())
    upgrade(db)
    return db, settings


# ---------------------------------------------------------------------------------------------
# Cases


async def m3u_parse(path: Path) -> dict[str, Any]:
    settings = Settings(data_dir=path.parent)
    http = build_http_client()
    client = make_client(ProviderConfig(kind="m3u", url=str(path)), http, settings)
    items = pages = 0

    async def on_page(page: Page) -> bool:
        nonlocal items, pages
        items += len(page.records)
        pages += 1
        return True

    started = time.perf_counter()
    per_scope = {}
    for scope in (Scope.CHANNELS, Scope.VOD):
        t0 = time.perf_counter()
        await client.walk(scope, on_page)
        per_scope[scope.value] = round(time.perf_counter() - t0, 2)
    wall = time.perf_counter() - started
    stats = dict(client.parse_stats)  # type: ignore[attr-defined]
    await client.aclose()
    await http.aclose()
    return {
        "walk_s": per_scope,
        "wall_s": round(wall, 2),
        "items": items,
        "pages": pages,
        "entries": stats.get("entries"),
    }


async def m3u_sync(path: Path, guide: Path) -> dict[str, Any]:
    db, settings = fresh_db(path.parent / f"sync-{path.stem}")
    with db.begin() as conn:
        provider_id = provider_store.create_provider(
            conn, {"name": "bench", "kind": "m3u", "url": str(path), "epg_url": str(guide)}
        )
    phases: dict[str, float] = {}
    started = 0.0

    def on_progress(run: dict[str, Any]) -> None:
        phases.setdefault(str(run.get("phase")), time.perf_counter() - started)

    http = build_http_client()
    ctx = SyncContext(
        db=db, settings=settings, http=http, make_client=make_client, on_progress=on_progress
    )
    run_id, _ = prepare_run(db, settings, provider_id, scope="all")
    started = time.perf_counter()
    run = await execute_run(ctx, run_id)
    wall = time.perf_counter() - started
    await http.aclose()
    with db.connect() as conn:
        stored = catalogue_store.live_counts(conn, provider_id)
    db.dispose()
    items = sum(c["added"] for c in run["counts"].values())
    return {
        "status": run["status"],
        "wall_s": round(wall, 2),
        "phases_first_seen_s": {k: round(v, 2) for k, v in phases.items()},
        "items": items,
        "items_per_s": round(items / wall),
        "stored": stored,
        "warnings": run["warnings"],
    }


async def xmltv_parse(path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    count = 0
    async for _programme in iter_programmes(read_file(path)):
        count += 1
    wall = time.perf_counter() - started
    return {
        "wall_s": round(wall, 2),
        "programmes": count,
    }


async def xmltv_store(path: Path) -> dict[str, Any]:
    db, _settings = fresh_db(path.parent / f"store-{path.stem}")
    with db.begin() as conn:
        provider_id = provider_store.create_provider(
            conn, {"name": "bench", "kind": "m3u", "url": "http://m3u.bench.invalid/x.m3u"}
        )
    # A window holding every programme of the file, as if "now" were inside the week.
    now = datetime.now(UTC)
    window = (now - ANCHOR + timedelta(days=1), ANCHOR + timedelta(days=8) - now)
    if window[1] < timedelta(0):
        window = (window[0], timedelta(0))
    started = time.perf_counter()
    stored = await store_guide(db, provider_id, iter_programmes(read_file(path)), window)
    wall = time.perf_counter() - started
    with db.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(programmes)).scalar_one()
    db.dispose()
    return {
        "wall_s": round(wall, 2),
        "programmes": stored,
        "rows": rows,
    }


def run_case(name: str, path: Path, guide: Path | None) -> dict[str, Any]:
    with PeakRss() as rss:
        if name == "m3u-parse":
            line = asyncio.run(m3u_parse(path))
        elif name == "m3u-sync":
            assert guide is not None
            line = asyncio.run(m3u_sync(path, guide))
        elif name == "xmltv-parse":
            line = asyncio.run(xmltv_parse(path))
        else:
            line = asyncio.run(xmltv_store(path))
    size_mb = path.stat().st_size / 1e6
    if name.startswith("xmltv"):
        line["mb_per_s"] = round(size_mb / line["wall_s"], 1)
    return {
        "bench": "m3u_xmltv",
        "case": name,
        "file_mb": round(size_mb, 1),
        **line,
        "rss_start_mb": round(rss.start_mb, 1),
        "peak_rss_mb": round(rss.peak_mb, 1),
        "peak_rss_with_children_mb": round(rss.peak_with_children_mb, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=("m3u", "xmltv"))
    parser.add_argument(
        "--m3u",
        action="append",
        metavar="LINES[:SHAPE]",
        help="a playlist to run (shape issue|plain); default 100000 1000000 1000000:plain",
    )
    parser.add_argument("--xmltv-mb", type=float, action="append")
    parser.add_argument("--case", choices=CASES)
    parser.add_argument("--file", type=Path)
    parser.add_argument("--guide", type=Path)
    parser.add_argument("--profile", type=Path, help="write a cProfile of the case here")
    args = parser.parse_args()
    if args.case:
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            line = profiler.runcall(run_case, args.case, args.file, args.guide)
            profiler.dump_stats(args.profile)
        else:
            line = run_case(args.case, args.file, args.guide)
        print(json.dumps(line), flush=True)
        return

    def child(case: str, path: Path, extra: dict[str, Any], guide: Path | None = None) -> None:
        command = [sys.executable, __file__, f"--case={case}", f"--file={path}"]
        if guide is not None:
            command.append(f"--guide={guide}")
        out = subprocess.run(command, check=False, capture_output=True, text=True)
        if out.returncode:
            print(json.dumps({"case": case, "error": out.stderr[-2000:]}), flush=True)
            return
        print(json.dumps({**json.loads(out.stdout.strip().splitlines()[-1]), **extra}), flush=True)

    # Inputs are written by a fresh process: this one stays small, and so do the children it
    # forks (see bench/_rss.py).
    with (
        tempfile.TemporaryDirectory() as tmp,
        multiprocessing.get_context("spawn").Pool(1) as writer,
    ):
        root = Path(tmp)
        if args.only in (None, "m3u"):
            small_guide = root / "small-guide.xml"
            writer.apply(write_guide, (small_guide, 0.001, 20))
            for spec in args.m3u or ("100000", "1000000", "1000000:plain"):
                lines, _, shape = spec.partition(":")
                path = root / f"playlist-{lines}-{shape or 'issue'}.m3u"
                made = writer.apply(write_playlist, (path, int(lines), shape or "issue"))
                for case in ("m3u-parse", "m3u-sync"):
                    child(case, path, {"input": made}, small_guide)
                path.unlink()
        if args.only in (None, "xmltv"):
            for mb in args.xmltv_mb or (20, 200):
                path = root / f"guide-{mb:g}mb.xml"
                made = writer.apply(write_guide, (path, mb))
                for case in ("xmltv-parse", "xmltv-store"):
                    child(case, path, {"input": made})
                path.unlink()


if __name__ == "__main__":
    main()

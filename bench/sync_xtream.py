"""Xtream sync of the default large account against the fake panel in a separate process.

The large account (``fakes.xtream.LARGE_ACCOUNT``): 56,713 live, 178,007 movies, 47,568 series;
its three lists weigh about 135 MB of JSON. Cases, each in its own process so that each peak
RSS is that case's own (the fake panel runs once, in a process of its own, for all of them):

  size    download the three lists and the guide and count their bytes (no parsing)
  cold    a full sync into a fresh SQLite file (channels, VOD, guide), wall time per phase
  resync  the same sync again with the panel unchanged (scope all): every list is read again,
          nothing is added, updated or removed

One JSON line per case: wall seconds (the catalogue walk apart from the guide), requests,
items, items/s, counts, RSS at the start (after imports) and peak RSS (MiB, sampled every 10 ms:
``bench/_rss.py``).

    .venv/bin/python bench/sync_xtream.py                       # the large account
    .venv/bin/python bench/sync_xtream.py --family xui          # XUI.one rows (ints, more fields)
    .venv/bin/python bench/sync_xtream.py --movies 17800 --series 4757 --channels 5671
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._rss import PeakRss

from iptvsync.fakes.server import ServerProcess
from iptvsync.fakes.xtream import LARGE_ACCOUNT
from iptvsync.providers.http import build_http_client
from iptvsync.providers.registry import make_client
from iptvsync.settings import Settings
from iptvsync.store import catalogue as catalogue_store
from iptvsync.store import providers as provider_store
from iptvsync.store.db import create_db_engine
from iptvsync.store.migrate import upgrade
from iptvsync.store.models import programmes
from iptvsync.sync.engine import SyncContext, execute_run
from iptvsync.sync.service import prepare_run

CASES = ("size", "cold", "resync")
LISTS = ("get_live_streams", "get_vod_streams", "get_series")
CREDENTIALS = {"username": "user", "password": "pass"}


async def measure_size(url: str) -> dict[str, Any]:
    """Bytes of each list and of the guide, as the panel sends them (identity encoding)."""
    sizes: dict[str, int] = {}
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=120) as http:
        for action in (*LISTS, "xmltv"):
            target = f"{url}/xmltv.php" if action == "xmltv" else f"{url}/player_api.php"
            params = {**CREDENTIALS, **({} if action == "xmltv" else {"action": action})}
            total = 0
            async with http.stream("GET", target, params=params) as response:
                async for chunk in response.aiter_raw():
                    total += len(chunk)
            sizes[action] = total
    lists = sum(sizes[a] for a in LISTS)
    return {
        "bench": "sync_xtream",
        "case": "size",
        "bytes": sizes,
        "lists_mb": round(lists / 1e6, 1),
        "guide_mb": round(sizes["xmltv"] / 1e6, 1),
        "download_s": round(time.perf_counter() - started, 2),
    }


def open_db(db_path: Path) -> tuple[sa.Engine, Settings]:
    # The fake's guide covers today's first hours (UTC midnight + ``epg_hours``): a window that
    # reaches 30 h back keeps all of it whatever the time of day, so the cold case always
    # stores the whole guide (with the default 6 h, a run after 12:00 UTC stored none).
    settings = Settings(
        data_dir=db_path.parent, database_url=f"sqlite:///{db_path}", epg_past_hours=30
    )
    db = create_db_engine(settings.resolved_database_url())
    return db, settings


async def run_sync(name: str, url: str, db_path: Path) -> dict[str, Any]:
    db, settings = open_db(db_path)
    if name == "cold":
        upgrade(db)
        with db.begin() as conn:
            provider_id = provider_store.create_provider(
                conn, {"name": "bench", "kind": "xtream", "url": url, **CREDENTIALS}
            )
    else:
        with db.connect() as conn:
            provider_id = provider_store.list_providers(conn)[0].id
    # When each phase was first seen (progress is flushed twice a second).
    phases: dict[str, float] = {}
    started = 0.0

    def on_progress(run: dict[str, Any]) -> None:
        phases.setdefault(str(run.get("phase")), time.perf_counter() - started)

    http = build_http_client(timeout_s=120)
    # aiohttp, which an Xtream panel's whole lists come through, is imported by the first
    # request that needs it (``ProviderHttp._aiohttp_loaded``): ~0.1 s of imports, paid
    # here, before the clock, so that ``wall_s`` is the sync's, as in checkouts that imported
    # it with ``providers.http`` (``bench/ab_all.py`` compares them).
    await http._aiohttp_loaded()
    ctx = SyncContext(
        db=db, settings=settings, http=http, make_client=make_client, on_progress=on_progress
    )
    try:
        run_id, _ = prepare_run(db, settings, provider_id, scope="all")
        started = time.perf_counter()
        run = await execute_run(ctx, run_id)
        wall = time.perf_counter() - started
    finally:
        await http.aclose()
    with db.connect() as conn:
        stored = catalogue_store.live_counts(conn, provider_id)
        guide = conn.execute(sa.select(sa.func.count()).select_from(programmes)).scalar_one()
    db.dispose()
    items = sum(c["added"] + c["updated"] + c["unchanged"] for c in run["counts"].values())
    epg_at = phases.get("epg")
    catalogue_s = epg_at if epg_at is not None else wall
    return {
        "bench": "sync_xtream",
        "case": name,
        "status": run["status"],
        "plan": run["plan"],
        "wall_s": round(wall, 2),
        "catalogue_s": round(catalogue_s, 2),
        "guide_s": round(wall - epg_at, 2) if epg_at is not None else None,
        "phases_first_seen_s": {k: round(v, 2) for k, v in phases.items()},
        "requests": run["requests"],
        "items": items,
        "items_per_s": round(items / catalogue_s, 1),
        "counts": run["counts"],
        "stored": stored,
        "programmes": guide,
        "warnings": run["warnings"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--movies", type=int, default=LARGE_ACCOUNT["movies"])
    parser.add_argument("--series", type=int, default=LARGE_ACCOUNT["series"])
    parser.add_argument("--channels", type=int, default=LARGE_ACCOUNT["channels"])
    parser.add_argument("--family", default="xtream", choices=("xtream", "xui"))
    parser.add_argument("--case", choices=CASES)
    parser.add_argument("--url", help="a running fake panel (set by the parent)")
    parser.add_argument("--db", type=Path, help="the SQLite file (set by the parent)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the case here")
    args = parser.parse_args()
    if args.case:
        if args.case == "size":
            coro = measure_size(args.url)
        else:
            coro = run_sync(args.case, args.url, args.db)
        with PeakRss() as rss:
            if args.profile:
                import cProfile

                profiler = cProfile.Profile()
                line = profiler.runcall(asyncio.run, coro)
                profiler.dump_stats(args.profile)
            else:
                line = asyncio.run(coro)
        line["rss_start_mb"] = round(rss.start_mb, 1)
        line["peak_rss_mb"] = round(rss.peak_mb, 1)
        # With the sync's write process (sampled every tenth tick: 100 ms).
        line["peak_with_children_mb"] = round(rss.peak_with_children_mb, 1)
        print(json.dumps(line), flush=True)
        return
    with (
        tempfile.TemporaryDirectory() as tmp,
        ServerProcess(
            "xtream",
            movies=args.movies,
            series=args.series,
            channels=args.channels,
            family=args.family,
        ) as panel,
    ):
        db_path = Path(tmp) / "bench.db"
        for name in CASES:
            command = [sys.executable, __file__, f"--case={name}", f"--url={panel.url}"]
            out = subprocess.run(
                [*command, f"--db={db_path}"], check=False, capture_output=True, text=True
            )
            if out.returncode:
                print(json.dumps({"case": name, "error": out.stderr[-2000:]}), flush=True)
                continue
            line = json.loads(out.stdout.strip().splitlines()[-1])
            print(json.dumps({**line, "family": args.family}), flush=True)


if __name__ == "__main__":
    main()

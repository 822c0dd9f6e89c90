"""Benchmark helpers: seed a database with a generated catalogue fast, without a provider;
serve the API in a child process; percentiles.

The rows go through the sync engine's own write path (``record_to_row`` → ``upsert_items`` /
``upsert_categories``) so the data looks exactly like a real sync wrote it: stable compact ids,
hashes, "Uncategorised" categories, versions. Only the walk is skipped.

    from bench._seed import seed_catalogue
    provider_id = seed_catalogue(engine, movies=64_106, series=19_076, channels=5_000)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from iptvsync.fakes.catalogue import Catalogue, generate
from iptvsync.fakes.items import FakeChannel, FakeMovie, FakeSeries
from iptvsync.records import CatalogueRecord, ChannelRecord, Kind, MovieRecord, SeriesRecord
from iptvsync.store import catalogue as store
from iptvsync.store.models import providers
from iptvsync.store.providers import create_provider, utcnow
from iptvsync.sync.diff import record_to_row

IMAGE_BASE = "https://image.tmdb.org"
LOGO_BASE = "http://portal.example/stalker_portal/misc/logos/320/"
BATCH = 2_000
DEFAULT = {"movies": 64_106, "series": 19_076, "channels": 5_000}
LARGE = {"movies": 231_000, "series": 69_000, "channels": 5_000}


def movie_record(m: FakeMovie) -> MovieRecord:
    return MovieRecord(
        provider_item_id=str(m.id),
        name=m.name,
        year=m.year,
        rating=m.rating,
        poster=IMAGE_BASE + m.poster if m.poster else None,
        category_ids=(str(m.category_id),),
        added_at=m.added,
        cmd=f"/media/{m.id}.mpg",
        description=m.description,
        director=m.director,
        actors=m.actors,
        genres=m.genres,
        duration_min=m.duration_min,
        extension=m.extension,
    )


def series_record(s: FakeSeries) -> SeriesRecord:
    return SeriesRecord(
        provider_item_id=str(s.id),
        name=s.name,
        year=s.year,
        rating=s.rating,
        poster=IMAGE_BASE + s.poster if s.poster else None,
        category_ids=(str(s.category_id),),
        added_at=s.added,
        description=s.description,
        genres=s.genres,
    )


def channel_record(c: FakeChannel) -> ChannelRecord:
    return ChannelRecord(
        provider_item_id=str(c.id),
        name=c.name,
        number=c.number,
        logo=LOGO_BASE + c.logo if c.logo else None,
        category_ids=(str(c.category_id),),
        cmd=f"ffrt http://localhost/ch/{c.id}",
        epg_id=c.xmltv_id,
        archive=c.archive,
        archive_days=c.archive_days or None,
        radio=c.radio,
    )


def records(catalogue: Catalogue, kind: Kind) -> Iterator[CatalogueRecord]:
    if kind is Kind.MOVIE:
        return (movie_record(m) for m in catalogue.movies)
    if kind is Kind.SERIES:
        return (series_record(s) for s in catalogue.series)
    return (channel_record(c) for c in catalogue.channels)


def _chunks(items: Iterator[CatalogueRecord], size: int) -> Iterator[list[CatalogueRecord]]:
    chunk: list[CatalogueRecord] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def write_catalogue(
    engine: sa.Engine,
    provider_id: int,
    catalogue: Catalogue,
    *,
    version: int,
    run_id: int = 1,
    kinds: Sequence[Kind] = (Kind.CHANNEL, Kind.MOVIE, Kind.SERIES),
) -> None:
    """Write (or rewrite) ``catalogue`` as sync ``version`` of ``provider_id``."""
    now = utcnow()
    for kind in kinds:
        cats = [
            (str(c.id), c.title, c.censored, i)
            for i, c in enumerate(catalogue.categories_of(kind.value))
        ]
        with engine.begin() as conn:
            cat_map = store.upsert_categories(conn, provider_id, kind.value, cats, version=version)
        for chunk in _chunks(records(catalogue, kind), BATCH):
            rows = [record_to_row(r, cat_map) for r in chunk]
            with engine.begin() as conn:
                store.upsert_items(
                    conn, kind.value, provider_id, rows, run_id=run_id, version=version, now=now
                )
    with engine.begin() as conn:
        conn.execute(
            providers.update().where(providers.c.id == provider_id).values(snapshot_version=version)
        )


def seed_catalogue(
    engine: sa.Engine,
    *,
    seed: int = 42,
    movies: int = DEFAULT["movies"],
    series: int = DEFAULT["series"],
    channels: int = DEFAULT["channels"],
    name: str = "bench",
) -> int:
    """Create a provider and write a generated catalogue as its version 1; return its id."""
    catalogue = generate(seed, movies=movies, series=series, channels=channels)
    with engine.begin() as conn:
        provider_id = create_provider(
            conn,
            {"name": name, "kind": "stalker", "url": "http://portal.example/c/", "mac": None},
        )
    write_catalogue(engine, provider_id, catalogue, version=1)
    return provider_id


def ensure_seeded(database_url: str, size: str = "default", *, seed: int = 42) -> int:
    """A database holding one seeded provider of ``size`` ("default" or "large"): reused when
    the file already has one (benchmarks share it), seeded otherwise. Returns the provider id."""
    from iptvsync.store.db import create_db_engine
    from iptvsync.store.migrate import upgrade

    sizes = DEFAULT if size == "default" else LARGE
    engine = create_db_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            found = conn.execute(
                sa.select(providers.c.id).where(providers.c.name == f"bench-{size}")
            ).scalar()
        if found is not None:
            return int(found)
        return seed_catalogue(engine, seed=seed, name=f"bench-{size}", **sizes)
    finally:
        engine.dispose()


@contextlib.contextmanager
def serve_api(data_dir: Path, database_url: str, **env: str) -> Iterator[str]:
    """Run ``iptvsync``'s API under uvicorn in a child process on a free port; yields its URL.

    A separate process, so the benchmark client does not share the server's interpreter.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    environ = {
        **os.environ,
        "IPTVSYNC_DATA_DIR": str(data_dir),
        "IPTVSYNC_DATABASE_URL": database_url,
        "IPTVSYNC_SCHEDULER": "false",
        **env,
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "iptvsync.app:app_factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=environ,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the API did not start")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / p99 / max of durations in seconds, as milliseconds."""
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99), "max_ms": at(1.0)}


def machine() -> dict[str, Any]:
    import platform
    import sqlite3

    import psutil

    return {
        "nproc": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def main(argv: Sequence[str] | None = None) -> None:
    from iptvsync.store.db import create_db_engine
    from iptvsync.store.migrate import upgrade

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--size", choices=("default", "large"), default="default")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    sizes: dict[str, Any] = DEFAULT if args.size == "default" else LARGE
    engine = create_db_engine(args.database_url)
    upgrade(engine)
    started = time.perf_counter()
    provider_id = seed_catalogue(engine, seed=args.seed, **sizes)
    print(
        json.dumps(
            {
                "case": "seed",
                "provider_id": provider_id,
                **sizes,
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    )


if __name__ == "__main__":
    main()

"""Catalogues for the output tests and iptvsync itself on a real loopback port.

Two providers, seeded through the engine's own write paths:

- "Alpha" (M3U kind): written with ``record_to_row`` + ``upsert_categories``/``upsert_items``
  and swept with ``sweep_unseen``, so it holds one soft-deleted row of each kind; names with
  commas, quotes and accents; a radio channel, a channel without number, one without guide id,
  one listed under two categories; an adult category; stored episodes and a guide.
- "Bravo" (Xtream kind): synced for real (plan, walk, diff, upsert, guide) from the fake Xtream
  panel served on a loopback port, so series detail and play resolve against a live panel.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn

from iptvsync.app import create_app
from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.server import ServerThread
from iptvsync.fakes.xtream import XtreamFakeConfig
from iptvsync.fakes.xtream import create_app as create_xtream_app
from iptvsync.providers.http import build_http_client
from iptvsync.providers.registry import make_client
from iptvsync.records import (
    CategoryRecord,
    ChannelRecord,
    EpisodeRecord,
    Kind,
    MovieRecord,
    ProgrammeRecord,
    SeasonRecord,
    SeriesRecord,
)
from iptvsync.settings import Secret, Settings
from iptvsync.store import catalogue, seasons
from iptvsync.store import providers as provider_store
from iptvsync.store.models import ITEM_TABLES, episodes, series
from iptvsync.sync.diff import record_to_row
from iptvsync.sync.engine import SyncContext, execute_run
from iptvsync.sync.guide import store_guide
from iptvsync.sync.service import prepare_run

ADMIN_TOKEN = "admin-token-for-tests-long-enough"
BRAVO_USER, BRAVO_PASS = "provuser", "provsecret42"

ALPHA_CATEGORIES = [
    CategoryRecord(Kind.CHANNEL, "news", "News", False, 1),
    CategoryRecord(Kind.CHANNEL, "sports", "Sports & Co", False, 2),
    CategoryRecord(Kind.CHANNEL, "adult", "Adult", True, 3),
    CategoryRecord(Kind.MOVIE, "films", "Films, Classics", False, 1),
    CategoryRecord(Kind.SERIES, "shows", 'Shows "Best"', False, 1),
]

ALPHA_CHANNELS = [
    ChannelRecord(
        "c1",
        'News, "Live" HD',
        number=1,
        logo="http://img.alpha.test/l/a,b.png",
        category_ids=("news",),
        cmd="http://cdn.alpha.test/live/c1.ts",
        epg_id="news.alpha",
    ),
    ChannelRecord(
        "c2",
        "Sport Éire",
        number=2,
        logo="http://img.alpha.test/l/2.png",
        category_ids=("sports", "news"),
        cmd="http://cdn.alpha.test/live/c2.ts",
        epg_id="sport.alpha",
        archive=True,
        archive_days=3,
    ),
    ChannelRecord(
        "c3", "Radio One", number=3, category_ids=("news",), cmd="http://cdn.alpha.test/r1.aac",
        radio=True,
    ),
    ChannelRecord(
        "c4", "Late Night", number=18, category_ids=("adult",),
        cmd="http://cdn.alpha.test/live/c4.ts", epg_id="late.alpha",
    ),
    ChannelRecord("c5", "No Number", category_ids=(), cmd="http://cdn.alpha.test/live/c5.ts"),
    ChannelRecord(
        "c6", "Gone Channel", number=6, category_ids=("news",),
        cmd="http://cdn.alpha.test/live/c6.ts", epg_id="gone.alpha",
    ),
]  # fmt: skip

ADDED = datetime(2025, 6, 1, tzinfo=UTC)
ALPHA_MOVIES = [
    MovieRecord(
        f"m{i}",
        name,
        year=2000 + i,
        rating=6.5 + i / 10,
        poster=f"http://img.alpha.test/p/{i}.jpg",
        category_ids=("films",),
        added_at=ADDED + timedelta(days=i),
        cmd=f"http://cdn.alpha.test/vod/m{i}.mkv",
        description=f"Plot of film {i}",
        director="Some Director",
        duration_min=95,
        extension="mkv",
    )
    for i, name in enumerate(["Amélie, the Film", 'The "Quoted" One', "Plain", "Gone Movie"], 1)
]
ALPHA_SERIES = [
    SeriesRecord(
        f"s{i}",
        name,
        year=2010 + i,
        rating=8.0,
        poster=f"http://img.alpha.test/s/{i}.jpg",
        category_ids=("shows",),
        added_at=ADDED,
        description="A show",
    )
    for i, name in enumerate(["Show One", "Gone Show"], 1)
]
ALPHA_SEASONS = [
    SeasonRecord(
        n,
        f"Season {n}",
        tuple(
            EpisodeRecord(f"e{n}{e}", n, e, f"Episode {e}", cmd=f"http://cdn.alpha.test/e{n}{e}.mp4",
                          extension="mp4")
            for e in (1, 2)
        ),
    )
    for n in (1, 2)
]  # fmt: skip
DELETED = {"channel": "c6", "movie": "m4", "series": "s2"}


@dataclass
class Seeded:
    alpha: int
    bravo: int
    bravo_catalogue: Any
    panel_url: str

    def ids(self, db: sa.Engine, kind: str, provider_id: int, *, live: bool = True) -> set[int]:
        table = ITEM_TABLES[kind]
        cond = [table.c.provider_id == provider_id]
        if live:
            cond.append(table.c.deleted_at.is_(None))
        with db.connect() as conn:
            return set(conn.execute(sa.select(table.c.id).where(*cond)).scalars())

    def row(self, db: sa.Engine, kind: str, provider_id: int, key: str) -> Any:
        table = ITEM_TABLES[kind]
        with db.connect() as conn:
            return conn.execute(
                sa.select(table).where(
                    table.c.provider_id == provider_id, table.c.provider_item_id == key
                )
            ).one()

    def episode_ids(self, db: sa.Engine, provider_id: int) -> set[int]:
        with db.connect() as conn:
            return set(
                conn.execute(
                    sa.select(episodes.c.id)
                    .join(series, series.c.id == episodes.c.series_id)
                    .where(episodes.c.provider_id == provider_id, series.c.deleted_at.is_(None))
                ).scalars()
            )


def _write(conn: sa.Connection, provider_id: int, records: list[Any], kind: str, run: int,
           now: datetime) -> None:  # fmt: skip
    cats = catalogue.category_map(conn, provider_id, kind)
    rows = [record_to_row(r, cats) for r in records]
    catalogue.upsert_items(conn, kind, provider_id, rows, run_id=run, version=run, now=now)


def seed_alpha(db: sa.Engine) -> int:
    now = datetime.now(UTC)
    with db.begin() as conn:
        pid = provider_store.create_provider(
            conn, {"name": "Alpha", "kind": "m3u", "url": "http://alpha.test/list.m3u"}
        )
        for kind in ("channel", "movie", "series"):
            records = [c for c in ALPHA_CATEGORIES if c.kind == kind]
            catalogue.upsert_categories(
                conn,
                pid,
                kind,
                [(c.provider_category_id, c.title, c.censored, c.position) for c in records],
                version=1,
            )
        everything = {"channel": ALPHA_CHANNELS, "movie": ALPHA_MOVIES, "series": ALPHA_SERIES}
        for kind, records in everything.items():
            _write(conn, pid, records, kind, 1, now)
        # A second complete walk that no longer sees one item of each kind: swept (soft delete).
        for kind, records in everything.items():
            kept = [r for r in records if r.provider_item_id != DELETED[kind]]
            _write(conn, pid, kept, kind, 2, now)
            catalogue.sweep_unseen(
                conn, kind, pid, run_id=2, version=2, now=now, guard_ratio=1.0, guard_min_items=100
            )
        show = conn.execute(
            sa.select(series.c.id).where(
                series.c.provider_id == pid, series.c.provider_item_id == "s1"
            )
        ).scalar_one()
        gone = conn.execute(
            sa.select(series.c.id).where(
                series.c.provider_id == pid, series.c.provider_item_id == "s2"
            )
        ).scalar_one()
        seasons.store_seasons(conn, provider_id=pid, series_id=show, seasons=ALPHA_SEASONS, now=now)
        seasons.store_seasons(
            conn, provider_id=pid, series_id=gone, seasons=ALPHA_SEASONS[:1], now=now
        )
    return pid


def alpha_guide(now: datetime) -> list[ProgrammeRecord]:
    # Four half-hours, the second one running now.
    start = now.replace(microsecond=0) - timedelta(minutes=45)
    out = []
    for key in ("news.alpha", "sport.alpha", "gone.alpha", "unknown.alpha"):
        for i in range(4):
            out.append(
                ProgrammeRecord(
                    key,
                    start + timedelta(minutes=30 * i),
                    start + timedelta(minutes=30 * (i + 1)),
                    f"{key} show {i} <&>",
                    subtitle="Part \x01two" if i == 1 else None,
                    description="Line one\nline two & more" if i == 0 else None,
                    category="News",
                    episode="S01E05" if i == 2 else None,
                )
            )
    return out


async def _aiter(items: list[ProgrammeRecord]) -> AsyncIterator[ProgrammeRecord]:
    for item in items:
        yield item


@pytest.fixture
def panel() -> Iterator[Any]:
    """The fake Xtream panel of provider Bravo, on a loopback port."""
    cat = generate(seed=11, movies=12, series=4, channels=8)
    config = XtreamFakeConfig(
        username=BRAVO_USER,
        password=BRAVO_PASS,
        # The fake's guide starts at midnight (UTC): make it run past now.
        epg_hours=datetime.now(UTC).hour + 4,
    )
    with ServerThread(create_xtream_app(cat, config)) as server:
        server.catalogue = cat  # type: ignore[attr-defined]
        yield server


@pytest.fixture
async def seeded(db: sa.Engine, settings: Settings, panel: Any) -> Seeded:
    alpha = seed_alpha(db)
    await store_guide(
        db, alpha, _aiter(alpha_guide(datetime.now(UTC))), (timedelta(hours=6), timedelta(days=2))
    )
    with db.begin() as conn:
        bravo = provider_store.create_provider(
            conn,
            {"name": "Bravo", "kind": "xtream", "url": panel.url, "username": BRAVO_USER,
             "password": BRAVO_PASS},
        )  # fmt: skip
    http = build_http_client(timeout_s=10)
    try:
        run_id, _ = prepare_run(db, settings, bravo, scope="all", mode="full")
        run = await execute_run(
            SyncContext(db=db, settings=settings, http=http, make_client=make_client), run_id
        )
    finally:
        await http.aclose()
    assert run["status"] == "succeeded", run
    return Seeded(alpha, bravo, panel.catalogue, panel.url)


class AppServer:
    """iptvsync (``create_app``, lifespan on) under uvicorn in a thread on 127.0.0.1."""

    def __init__(self, settings: Settings) -> None:
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=0, log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> AppServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("iptvsync did not start")
            time.sleep(0.02)
        sock = self.server.servers[0].sockets[0]
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def server_settings(settings: Settings, *, admin: bool) -> Settings:
    return settings.replace(
        admin_token=Secret(ADMIN_TOKEN) if admin else None,
        scheduler=False,
        data_dir=Path(settings.data_dir),
    )


@pytest.fixture
def open_server(settings: Settings, seeded: Seeded) -> Iterator[AppServer]:
    """iptvsync with no admin token: outputs open."""
    with AppServer(server_settings(settings, admin=False)) as server:
        yield server


@pytest.fixture
def locked_server(settings: Settings, seeded: Seeded) -> Iterator[AppServer]:
    """iptvsync with an admin token: outputs need an output user's credentials."""
    with AppServer(server_settings(settings, admin=True)) as server:
        yield server

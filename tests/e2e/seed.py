"""Seed a provider's catalogue straight into the database, for lists too big to sync in a test.

Writes through the engine's own functions (``record_to_row``, ``upsert_categories``,
``upsert_items``) and builds the snapshot with the real builder, so what the page reads is what
a sync would have produced, minus the walk.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from iptvsync.records import MovieRecord
from iptvsync.settings import Settings
from iptvsync.snapshot.build import build_snapshot
from iptvsync.store.catalogue import upsert_categories, upsert_items
from iptvsync.store.db import create_db_engine
from iptvsync.store.models import providers
from iptvsync.store.providers import utcnow
from iptvsync.sync.diff import record_to_row

BATCH = 2000


def movie_name(number: int) -> str:
    return f"Seeded Movie {number:05d}"


def seed_movies(settings: Settings, provider_id: int, count: int, categories: int = 12) -> None:
    """``count`` movies named ``Seeded Movie 00001``.. (the highest number is the newest)."""
    db = create_db_engine(settings.resolved_database_url())
    try:
        start = datetime(2023, 1, 1, tzinfo=UTC)
        with db.begin() as conn:
            cats = [(str(i + 1), f"Genre {i + 1:02d}", False, i) for i in range(categories)]
            category_ids = upsert_categories(conn, provider_id, "movie", cats, version=1)
            batch = []
            for n in range(1, count + 1):
                record = MovieRecord(
                    provider_item_id=str(n),
                    name=movie_name(n),
                    year=1960 + n % 64,
                    rating=round((n % 91) / 10, 1),
                    category_ids=(str(n % categories + 1),),
                    added_at=start + timedelta(minutes=n),
                )
                batch.append(record_to_row(record, category_ids))
                if len(batch) == BATCH:
                    _write(conn, provider_id, batch)
                    batch = []
            _write(conn, provider_id, batch)
            conn.execute(
                sa.update(providers).where(providers.c.id == provider_id).values(snapshot_version=1)
            )
        build_snapshot(db, settings, provider_id)
    finally:
        db.dispose()


def _write(conn: sa.Connection, provider_id: int, rows: list[dict[str, object]]) -> None:
    if rows:
        upsert_items(conn, "movie", provider_id, rows, run_id=0, version=1, now=utcnow())


def channel_name(number: int) -> str:
    return f"Seeded Channel {number:05d}"


def seed_channels(
    settings: Settings, provider_id: int, count: int, *, days: int = 3, hours: int = 2
) -> None:
    """``count`` channels, each with a guide of ``hours``-long programmes over ``days`` days
    (from yesterday 00:00 UTC), and catch-up on every third channel."""
    from iptvsync.records import ChannelRecord
    from iptvsync.store.catalogue import insert_rows
    from iptvsync.store.models import programmes

    db = create_db_engine(settings.resolved_database_url())
    try:
        day0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        day0 -= timedelta(days=1)
        slots = days * 24 // hours
        with db.begin() as conn:
            cats = [(str(i + 1), f"Group {i + 1:02d}", False, i) for i in range(10)]
            category_ids = upsert_categories(conn, provider_id, "channel", cats, version=1)
            rows = []
            guide: list[dict[str, object]] = []
            for n in range(1, count + 1):
                record = ChannelRecord(
                    provider_item_id=str(n),
                    name=channel_name(n),
                    number=n,
                    category_ids=(str(n % 10 + 1),),
                    cmd=f"http://127.0.0.1:9/live/{n}.m3u8",
                    epg_id=f"ch{n}",
                    archive=n % 3 == 0,
                    archive_days=3 if n % 3 == 0 else None,
                )
                rows.append(record_to_row(record, category_ids))
                for s in range(slots):
                    start = day0 + timedelta(hours=s * hours)
                    guide.append(
                        {
                            "provider_id": provider_id,
                            "channel_key": f"ch{n}",
                            "start": start,
                            "stop": start + timedelta(hours=hours),
                            "title": f"Show {s} on {n}",
                        }
                    )
                if len(rows) == BATCH:
                    upsert_items(
                        conn, "channel", provider_id, rows, run_id=0, version=1, now=utcnow()
                    )
                    rows = []
                if len(guide) >= 20_000:
                    insert_rows(conn, programmes, guide)
                    guide = []
            if rows:
                upsert_items(conn, "channel", provider_id, rows, run_id=0, version=1, now=utcnow())
            if guide:
                insert_rows(conn, programmes, guide)
            conn.execute(
                sa.update(providers).where(providers.c.id == provider_id).values(snapshot_version=1)
            )
        build_snapshot(db, settings, provider_id)
    finally:
        db.dispose()

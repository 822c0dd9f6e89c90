"""Storing a provider's guide (EPG): a window around now, old programmes pruned.

The new guide is written beside the old one and swapped in at the end, so readers never see
an empty guide and a guide that fails half-way leaves the previous one in place.

Programmes that ended before the new guide begins are kept (within the window): a Stalker
portal's guide starts at the programme on now, and those past programmes are what its
catch-up plays (docs/stalker.md, *Catch-up*). A guide that lists the past (XMLTV) covers
them, so the old copies go.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from iptvsync.records import ProgrammeRecord
from iptvsync.store.catalogue import insert_rows
from iptvsync.store.models import programmes
from iptvsync.store.providers import utcnow
from iptvsync.sync.background import OneInFlight, in_db_thread

BATCH = 2000


async def store_guide(
    db: sa.Engine,
    provider_id: int,
    guide: AsyncIterator[ProgrammeRecord],
    window: tuple[timedelta, timedelta],
) -> int:
    now = utcnow()
    start, end = now - window[0], now + window[1]

    def high_water() -> int:
        with db.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.coalesce(sa.func.max(programmes.c.id), 0))
                ).scalar_one()
            )

    cutoff = await in_db_thread(high_water)
    earliest: dict[str, datetime] = {}  # per channel, the new guide's first start
    batch: list[dict[str, Any]] = []
    stored = 0
    # The batch being written while the next one is parsed (see ``OneInFlight``).
    writing: OneInFlight[None] = OneInFlight()

    def write(rows: list[dict[str, Any]]) -> None:
        with db.begin() as conn:
            insert_rows(conn, programmes, rows)

    try:
        async for p in guide:
            if p.stop <= start or p.start >= end:
                continue
            if p.channel_key not in earliest or p.start < earliest[p.channel_key]:
                earliest[p.channel_key] = p.start
            batch.append(
                {
                    "provider_id": provider_id,
                    "channel_key": p.channel_key,
                    "start": p.start,
                    "stop": p.stop,
                    "title": p.title,
                    "subtitle": p.subtitle,
                    "description": p.description,
                    "category": p.category,
                    "episode": p.episode,
                }
            )
            if len(batch) >= BATCH:
                await writing.submit(in_db_thread(write, batch))
                stored += len(batch)
                batch = []
        await writing.wait()
        if batch:
            await in_db_thread(write, batch)
            stored += len(batch)
    except BaseException:
        with contextlib.suppress(Exception):
            await asyncio.shield(writing.wait())
        await in_db_thread(_drop_newer, db, provider_id, cutoff)
        raise
    await in_db_thread(_drop_older, db, provider_id, cutoff, start, now, earliest)
    return stored


def _drop_newer(db: sa.Engine, provider_id: int, cutoff: int) -> None:
    with db.begin() as conn:
        conn.execute(
            programmes.delete().where(
                programmes.c.provider_id == provider_id, programmes.c.id > cutoff
            )
        )


def _drop_older(
    db: sa.Engine,
    provider_id: int,
    cutoff: int,
    window_start: datetime,
    now: datetime,
    earliest: dict[str, datetime],
) -> None:
    """The previous guide goes, except its programmes that ended (within the window) before
    the new guide's first programme of their channel."""
    old = sa.and_(programmes.c.provider_id == provider_id, programmes.c.id <= cutoff)
    # Ended after every channel's new first programme: covered whatever its channel (one
    # statement, which is all of it for a guide that lists the past, such as XMLTV).
    covered = min(now, max(earliest.values(), default=now))
    with db.begin() as conn:
        conn.execute(
            programmes.delete().where(
                old, sa.or_(programmes.c.stop <= window_start, programmes.c.stop > covered)
            )
        )
        # What is left is a few hours of ended programmes per channel: kept unless the new
        # guide covers their time.
        drop = [
            row.id
            for row in conn.execute(
                sa.select(programmes.c.id, programmes.c.channel_key, programmes.c.stop).where(old)
            )
            if _aware(row.stop) > earliest.get(row.channel_key, now)
        ]
        for i in range(0, len(drop), 500):
            conn.execute(programmes.delete().where(programmes.c.id.in_(drop[i : i + 500])))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)

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
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from iptvsync.records import ProgrammeRecord
from iptvsync.store import guide_write
from iptvsync.store.catalogue import EngineTarget
from iptvsync.store.providers import utcnow
from iptvsync.sync.background import OneInFlight, in_db_thread
from iptvsync.sync.batch_write import GuideBatches, write_programmes
from iptvsync.sync.guide_sink import ProcessOffload


async def store_guide(
    db: sa.Engine,
    provider_id: int,
    guide: AsyncIterator[ProgrammeRecord],
    window: tuple[timedelta, timedelta],
    offload: ProcessOffload | None = None,
) -> int:
    """Store ``guide`` for ``provider_id``. The programmes it yields are written here (a
    decoded programme costs about as much to pickle as to insert: 2.3 against ~3.5 µs); the
    part of it the client handed to ``offload`` was decoded and written by the run's write
    process (``sync/guide_sink.py``), and is counted in here at the end."""
    now = offload.now if offload is not None else utcnow()
    start, end = now - window[0], now + window[1]

    def high_water() -> int:
        with db.connect() as conn:
            return guide_write.high_water(conn)

    cutoff = await in_db_thread(high_water)
    kept = GuideBatches(start, end)
    # The batch being written while the next one is parsed (see ``OneInFlight``).
    writing: OneInFlight[None] = OneInFlight()

    target = EngineTarget(db)

    def write(rows: list[ProgrammeRecord]) -> None:
        write_programmes(target, provider_id, rows)

    try:
        async for p in guide:
            # The record is the row (``store/guide_write.py``): kept as it is.
            full = kept.add(p)
            if full:
                await writing.submit(in_db_thread(write, full))
        await writing.wait()
        rest = kept.take()
        if rest:
            await in_db_thread(write, rest)
    except BaseException:
        with contextlib.suppress(Exception):
            await asyncio.shield(writing.wait())
        if offload is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(offload.abort())
        await in_db_thread(_drop_newer, db, provider_id, cutoff)
        raise
    if offload is not None:
        kept.merge(offload.stored, offload.earliest)
    await in_db_thread(_drop_older, db, provider_id, cutoff, start, now, kept.earliest)
    return kept.stored


def _drop_newer(db: sa.Engine, provider_id: int, cutoff: int) -> None:
    with db.begin() as conn:
        guide_write.drop_newer(conn, provider_id, cutoff)


def _drop_older(db: sa.Engine, provider_id: int, cutoff: int, *window: Any) -> None:
    with db.begin() as conn:
        guide_write.drop_older(conn, provider_id, cutoff, *window)

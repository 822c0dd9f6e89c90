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
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from iptvsync.errors import GuideMissing, ProviderBadResponse, ProviderError
from iptvsync.providers.base import ProviderClient
from iptvsync.records import ProgrammeRecord
from iptvsync.settings import Settings
from iptvsync.store import guide_write
from iptvsync.store.catalogue import EngineTarget
from iptvsync.store.providers import mark_guide_stored, utcnow
from iptvsync.sync.background import OneInFlight, in_db_thread_retrying
from iptvsync.sync.batch_write import GuideBatches, write_programmes
from iptvsync.sync.guide_sink import ProcessOffload
from iptvsync.sync.write_process import RunWriter

log = logging.getLogger("iptvsync.sync")


async def refresh_guide(
    db: sa.Engine,
    settings: Settings,
    writer: RunWriter,
    provider_id: int,
    client: ProviderClient,
    last: datetime | None,
    mode: str,
) -> list[str]:
    """A sync's guide step: store the guide, at most every ``epg_refresh_after_s`` since the
    ``last`` one stored unless the sync is a full one; the run's warnings about it.

    Guides run to tens or hundreds of MB and change a few times a day: downloading one at
    every incremental sync would be the impolite part of an otherwise cheap run.
    """
    if mode != "full" and last is not None:
        age = utcnow() - last
        if age < timedelta(seconds=settings.epg_refresh_after_s):
            return []
    window = (timedelta(hours=settings.epg_past_hours), timedelta(days=settings.epg_future_days))
    # A large guide's raw answer may be decoded and written by the write process.
    offload = ProcessOffload(writer, provider_id, utcnow(), window)
    guide = client.guide(offload)
    if guide is None:
        return []
    try:
        stored = await store_guide(db, provider_id, guide, window, offload)
        log.info("guide of provider %s: %s programmes", provider_id, stored)
        await in_db_thread_retrying(_mark_guide, db, provider_id)
    except ProviderBadResponse as exc:
        # A hostile or broken guide is refused; the channels still sync (docs/api.md, "Guide").
        return [f"epg_rejected: {exc.message}"]
    except GuideMissing as exc:
        return [f"epg_unavailable: {exc.message}"]
    except ProviderError as exc:
        return [f"epg_unavailable: {exc.code}"]
    # A guide may report what it dropped (a Stalker portal's programmes with broken times).
    return list(getattr(client, "guide_warnings", None) or [])


def _mark_guide(db: sa.Engine, provider_id: int) -> None:
    with db.begin() as conn:
        mark_guide_stored(conn, provider_id)


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

    cutoff = await in_db_thread_retrying(high_water)
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
                await writing.submit(in_db_thread_retrying(write, full))
        await writing.wait()
        rest = kept.take()
        if rest:
            await in_db_thread_retrying(write, rest)
    except BaseException:
        with contextlib.suppress(Exception):
            await asyncio.shield(writing.wait())
        if offload is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(offload.abort())
        await in_db_thread_retrying(_drop_newer, db, provider_id, cutoff)
        raise
    if offload is not None:
        kept.merge(offload.stored, offload.earliest)
    await in_db_thread_retrying(_drop_older, db, provider_id, cutoff, start, now, kept.earliest)
    return kept.stored


def _drop_newer(db: sa.Engine, provider_id: int, cutoff: int) -> None:
    with db.begin() as conn:
        guide_write.drop_newer(conn, provider_id, cutoff)


def _drop_older(db: sa.Engine, provider_id: int, cutoff: int, *window: Any) -> None:
    with db.begin() as conn:
        guide_write.drop_older(conn, provider_id, cutoff, *window)

"""The write pipeline of a sync: submission order, cancel-safety, errors, one database thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from iptvsync.records import ProgrammeRecord
from iptvsync.store import providers as provider_store
from iptvsync.store.models import programmes
from iptvsync.sync.background import OneInFlight, in_db_thread, run_db_thread


async def test_work_runs_one_at_a_time_in_submission_order() -> None:
    pipeline: OneInFlight[int] = OneInFlight()
    running = 0
    most = 0
    order: list[int] = []

    async def piece(n: int) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        order.append(n)
        running -= 1
        return n

    async def submitter(first: int) -> None:
        for n in range(first, first + 5):
            await pipeline.submit(piece(n))
            await asyncio.sleep(0)

    # Two streams submit at once, as the streams of a Stalker walk do.
    await asyncio.gather(submitter(0), submitter(100))
    last = await pipeline.wait()
    assert most == 1
    assert sorted(order) == [*range(5), *range(100, 105)]
    assert [n for n in order if n < 100] == list(range(5))
    assert [n for n in order if n >= 100] == list(range(100, 105))
    assert last == order[-1]
    assert await pipeline.wait() is None


async def test_a_cancelled_submitter_loses_no_work() -> None:
    pipeline: OneInFlight[str] = OneInFlight()
    release = asyncio.Event()
    done: list[str] = []

    async def piece(name: str, gate: asyncio.Event | None = None) -> str:
        if gate is not None:
            await gate.wait()
        done.append(name)
        return name

    await pipeline.submit(piece("first", release))
    waiting = asyncio.create_task(pipeline.submit(piece("second")))
    await asyncio.sleep(0.01)
    waiting.cancel()  # the run is cancelled while its submitter waits for "first"
    with pytest.raises(asyncio.CancelledError):
        await waiting
    release.set()
    assert await pipeline.wait() == "second"
    assert done == ["first", "second"]


@pytest.mark.parametrize("ahead", [1, 2])
async def test_a_failed_piece_stops_what_is_queued_after_it(ahead: int) -> None:
    pipeline: OneInFlight[int] = OneInFlight(ahead=ahead)
    ran: list[int] = []

    async def fails() -> int:
        await asyncio.sleep(0.01)
        raise RuntimeError("disk full")

    async def piece(n: int) -> int:
        ran.append(n)
        return n

    await pipeline.submit(fails())
    for n in range(1, ahead):  # handed over ahead of the failed one: no wait yet
        await pipeline.submit(piece(n))
    with pytest.raises(RuntimeError, match="disk full"):
        await pipeline.submit(piece(ahead))  # waits on the failed piece: its error stops the walk
    with pytest.raises(RuntimeError, match="disk full"):
        await pipeline.wait()
    assert ran == []


async def test_ahead_lets_the_submitter_run_ahead_of_a_slow_piece() -> None:
    """A walk hands its writer up to ``ahead`` batches before it waits: a slow write (the WAL
    checkpoint) no longer holds the walk at once; still one write at a time, in order."""
    pipeline: OneInFlight[int] = OneInFlight(ahead=3)
    gate = asyncio.Event()
    running = most = 0
    order: list[int] = []

    async def piece(n: int) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        if n == 0:
            await gate.wait()  # the slow one
        order.append(n)
        running -= 1
        return n

    for n in range(3):  # three handed over while the first is stuck: none waits
        await asyncio.wait_for(pipeline.submit(piece(n)), 1.0)
    fourth = asyncio.create_task(pipeline.submit(piece(3)))
    await asyncio.sleep(0.02)
    assert not fourth.done()  # the fourth waits for the oldest
    assert order == []
    gate.set()
    await asyncio.wait_for(fourth, 1.0)
    assert await pipeline.wait() == 3
    assert order == [0, 1, 2, 3] and most == 1


async def test_a_runs_database_work_shares_one_thread() -> None:
    def where() -> int:
        return threading.get_ident()

    with run_db_thread("test-db"):
        inside = {await in_db_thread(where) for _ in range(20)}
        # Tasks started inside the block inherit it.
        inside |= set(await asyncio.gather(*(in_db_thread(where) for _ in range(20))))
    assert len(inside) == 1
    assert threading.get_ident() not in inside
    # Outside a run, work goes to the default pool (not the run's thread, which has ended).
    outside = await in_db_thread(where)
    assert outside != threading.get_ident()


async def test_the_guides_writes_wait_for_a_database_that_went_away(
    db: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A guide batch whose transaction fails because the database is away (a PostgreSQL
    restart) is written again once it is back, as the catalogue's batches are: the sync
    pauses instead of failing (tests/reliability/test_faults.py restarts a real server)."""
    from iptvsync.sync import guide

    with db.begin() as conn:
        pid = provider_store.create_provider(
            conn, {"name": "p", "kind": "m3u", "url": "http://p.test/x.m3u"}
        )
    plain = guide.write_programmes
    refused: list[int] = []

    def away_once(target: Any, provider_id: int, rows: list[ProgrammeRecord]) -> None:
        if not refused:
            refused.append(len(rows))
            raise sa.exc.OperationalError("INSERT", {}, Exception("server closed the connection"))
        plain(target, provider_id, rows)

    monkeypatch.setattr(guide, "write_programmes", away_once)
    now = datetime.now(UTC)
    shows = [
        ProgrammeRecord(f"ch{i}", now + timedelta(hours=h), now + timedelta(hours=h + 1), "News")
        for i in range(3)
        for h in range(2)
    ]

    async def listed() -> AsyncIterator[ProgrammeRecord]:
        for show in shows:
            yield show

    stored = await guide.store_guide(db, pid, listed(), (timedelta(hours=6), timedelta(days=1)))
    assert refused == [len(shows)]
    assert stored == len(shows)
    with db.connect() as conn:
        count = conn.execute(
            sa.select(sa.func.count()).where(programmes.c.provider_id == pid)
        ).scalar_one()
    assert count == len(shows)

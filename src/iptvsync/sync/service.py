"""Asking for a sync and cancelling one: the part the API, the CLI and schedules share."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Protocol

import sqlalchemy as sa

from iptvsync.errors import NothingRunning
from iptvsync.settings import Settings
from iptvsync.store import catalogue, runs
from iptvsync.store.providers import get_provider, utcnow
from iptvsync.sync.plan import Plan, plan_sync

log = logging.getLogger("iptvsync.sync")

#: A run whose heartbeat is older than this belongs to a dead process.
STALE_AFTER_S = 60.0


class Runner(Protocol):
    """Executes queued runs: in-process (embedded, ``sync.runner``) or through Procrastinate
    (scale, ``sync.procrastinate_runner``). The app lifespan starts it on the process's
    database and stops it at shutdown."""

    async def start(self, db: sa.Engine) -> None: ...

    async def stop(self) -> None: ...

    async def enqueue(self, run_id: int, provider_id: int) -> None: ...

    async def cancel(self, run_id: int) -> None: ...


def prepare_run(
    db: sa.Engine,
    settings: Settings,
    provider_id: int,
    *,
    scope: str = "auto",
    mode: str = "auto",
    worker: str | None = None,
) -> tuple[int, Plan]:
    """Plan from what is stored and insert the queued run (SyncRunning if one exists)."""
    with db.begin() as conn:
        runs.close_stale_runs(conn, stale_after_s=STALE_AFTER_S)
        provider = get_provider(conn, provider_id)
        counts = catalogue.live_counts(conn, provider_id)
    plan = plan_sync(
        channels=counts["channels"],
        vod=counts["movies"] + counts["series"],
        scope=scope,
        mode=mode,
        last_channel_sync_at=provider.last_channel_sync_at,
        last_vod_sync_at=provider.last_vod_sync_at,
        now=utcnow(),
        channel_refresh_after=timedelta(seconds=settings.channel_refresh_after_s),
    )
    run_id = runs.create_run(
        db, provider_id, scope=scope, mode=mode, plan=plan.as_dict(), worker=worker
    )
    return run_id, plan


async def request_sync(
    db: sa.Engine,
    settings: Settings,
    runner: Runner,
    provider_id: int,
    *,
    scope: str = "auto",
    mode: str = "auto",
) -> tuple[int, Plan]:
    run_id, plan = await asyncio.to_thread(
        prepare_run, db, settings, provider_id, scope=scope, mode=mode
    )
    await runner.enqueue(run_id, provider_id)
    return run_id, plan


async def request_cancel(db: sa.Engine, runner: Runner, provider_id: int) -> int:
    def flag() -> int | None:
        with db.begin() as conn:
            get_provider(conn, provider_id)
            return runs.request_cancel(conn, provider_id)

    run_id = await asyncio.to_thread(flag)
    if run_id is None:
        raise NothingRunning("no sync of this provider is queued or running")
    await runner.cancel(run_id)
    return run_id


class StaleRunSweeper:
    """Closes runs whose process died, every ``every_s``, in every server (docs/deploy.md).

    Without it a run whose only worker was killed stayed ``running`` (and streamed over SSE)
    until the next sync request of its provider happened to close it.
    """

    def __init__(self, db: sa.Engine, every_s: float) -> None:
        self.db = db
        self.every_s = every_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> StaleRunSweeper:
        self._task = asyncio.create_task(self._loop(), name="iptvsync-stale-runs")
        return self

    def sweep(self) -> int:
        with self.db.begin() as conn:
            return runs.close_stale_runs(conn, stale_after_s=STALE_AFTER_S)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                closed = await asyncio.to_thread(self.sweep)
            except Exception:  # the database restarting must not end the sweeps
                log.exception("closing stale runs failed")
                continue
            if closed:
                log.warning("closed %d sync run(s) whose process died", closed)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

"""The Procrastinate runner in one process: a real worker, a real fake portal on a socket, the
machine's PostgreSQL (a schema per test)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import procrastinate
import pytest
import sqlalchemy as sa

from iptvsync.errors import SyncRunning
from iptvsync.fakes.catalogue import Catalogue, generate
from iptvsync.fakes.server import ServerThread
from iptvsync.fakes.stalker import DEFAULT_MAC, StalkerFakeConfig, create_app
from iptvsync.settings import Settings
from iptvsync.store import providers as provider_store
from iptvsync.store import runs
from iptvsync.store.migrate import install_procrastinate_schema, upgrade
from iptvsync.store.models import ITEM_TABLES, sync_runs
from iptvsync.store.providers import iso, utcnow
from iptvsync.store.run_state import FINAL
from iptvsync.sync import procrastinate_runner as pr
from iptvsync.sync.service import request_cancel, request_sync
from iptvsync.worker import run_worker_async
from tests.run_rows import set_run

SIZES = {"movies": 300, "series": 60, "channels": 40}


@pytest.fixture
def catalogue() -> Catalogue:
    return generate(seed=11, **SIZES)


@pytest.fixture
def portal(catalogue: Catalogue) -> Iterator[ServerThread]:
    app = create_app(catalogue, StalkerFakeConfig(latency_ms=5))
    with ServerThread(app) as server:
        yield server


def add_provider(db: sa.Engine, url: str, options: dict[str, Any] | None = None) -> int:
    with db.begin() as conn:
        return provider_store.create_provider(
            conn,
            {
                "name": "fake",
                "kind": "stalker",
                "url": f"{url}/c/",
                "mac": DEFAULT_MAC,
                "options": options or {},
            },
        )


def get_run(db: sa.Engine, run_id: int) -> Any:
    with db.connect() as conn:
        return runs.get_run(conn, run_id)


async def wait_for(db: sa.Engine, run_id: int, check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        run = await asyncio.to_thread(get_run, db, run_id)
        if check(run):
            return run
        assert time.monotonic() < deadline, f"run {run_id} stuck: {runs.public_run(run)}"
        await asyncio.sleep(0.1)


def ended(run: Any) -> bool:
    return run.status in FINAL


def stored(db: sa.Engine, kind: str, provider_id: int) -> tuple[int, int]:
    table = ITEM_TABLES[kind]
    with db.connect() as conn:
        total, distinct = conn.execute(
            sa.select(sa.func.count(), sa.func.count(sa.distinct(table.c.provider_item_id))).where(
                table.c.provider_id == provider_id, table.c.deleted_at.is_(None)
            )
        ).one()
    return int(total), int(distinct)


def assert_exact(db: sa.Engine, provider_id: int, catalogue: Catalogue) -> None:
    for kind, items in (
        ("movie", catalogue.movies),
        ("series", catalogue.series),
        ("channel", catalogue.channels),
    ):
        assert stored(db, kind, provider_id) == (len(items), len(items)), kind


async def open_app(settings: Settings) -> procrastinate.App:
    app = pr.build_app(settings)
    await app.open_async()
    return app


async def jobs(app: procrastinate.App, **filters: Any) -> list[Any]:
    return list(await app.job_manager.list_jobs_async(queue=pr.QUEUE, **filters))


# --- pure --------------------------------------------------------------------------------------


def test_libpq_url_and_tick_cron() -> None:
    assert (
        pr.libpq_url("postgresql+psycopg://u:secret@db:5432/iptv?options=-csearch_path%3Dx")
        == "postgresql://u:secret@db:5432/iptv?options=-csearch_path%3Dx"
    )
    assert pr.tick_cron(60) == "* * * * *"
    assert pr.tick_cron(300) == "*/5 * * * *"
    assert pr.tick_cron(15) == "* * * * * */15"
    assert pr.tick_cron(0.2) == "* * * * * */1"
    assert pr.tick_cron(90) == "*/2 * * * *"
    assert pr.tick_cron(7200) == "0 */2 * * *"


def test_schema_is_installed_by_migrate_once(pg_db: sa.Engine) -> None:
    with pg_db.connect() as conn:
        assert conn.exec_driver_sql("SELECT to_regclass('procrastinate_jobs')").scalar()
    assert install_procrastinate_schema(pg_db) is False
    upgrade(pg_db)  # idempotent on every start


# --- queueing ----------------------------------------------------------------------------------


async def test_one_queued_sync_per_provider_and_cancel_before_start(
    scale_settings: Settings, pg_db: sa.Engine, portal: ServerThread
) -> None:
    provider_id = add_provider(pg_db, portal.url)
    runner = pr.ProcrastinateRunner(scale_settings, db=pg_db)
    app = await open_app(scale_settings)
    try:
        run_id, _ = await request_sync(pg_db, scale_settings, runner, provider_id)
        with pytest.raises(SyncRunning):
            await request_sync(pg_db, scale_settings, runner, provider_id)
        waiting = await jobs(app, status="todo")
        assert [j.task_kwargs["run_id"] for j in waiting] == [run_id]
        assert waiting[0].queueing_lock == waiting[0].lock == pr.provider_lock(provider_id)

        # Waiting in the queue is not being dead: an hour later it is still queued.
        with pg_db.begin() as conn:
            closed = runs.close_stale_runs(
                conn, stale_after_s=60, now=utcnow() + timedelta(hours=1)
            )
        assert closed == 0
        run = get_run(pg_db, run_id)
        assert run.status == "queued" and run.worker == f"{pr.PREFIX}{waiting[0].id}"

        # Cancel before any worker took it: the job is cancelled, the run closed at once.
        assert await request_cancel(pg_db, runner, provider_id) == run_id
        assert get_run(pg_db, run_id).status == "cancelled"
        assert (await jobs(app, id=waiting[0].id))[0].status == "cancelled"

        # A leftover waiting job of the provider (its run long gone) does not block the next.
        await app.configure_task(
            pr.SYNC_TASK,
            queue=pr.QUEUE,
            lock=pr.provider_lock(provider_id),
            queueing_lock=pr.provider_lock(provider_id),
        ).defer_async(run_id=run_id, provider_id=provider_id)
        next_id, _ = await request_sync(pg_db, scale_settings, runner, provider_id)
        assert [j.task_kwargs["run_id"] for j in await jobs(app, status="todo")] == [next_id]
    finally:
        await runner.stop()
        await app.close_async()


async def test_a_lost_job_closes_its_queued_run(
    scale_settings: Settings, pg_db: sa.Engine, portal: ServerThread
) -> None:
    provider_id = add_provider(pg_db, portal.url)
    runner = pr.ProcrastinateRunner(scale_settings, db=pg_db)
    try:
        run_id, _ = await request_sync(pg_db, scale_settings, runner, provider_id)
        app = await runner._open()
        assert await pr.close_lost_runs(app, pg_db) == 0
        with pg_db.begin() as conn:
            conn.exec_driver_sql("DELETE FROM procrastinate_jobs")
        assert await pr.close_lost_runs(app, pg_db) == 1
        run = get_run(pg_db, run_id)
        assert run.status == "failed" and run.error["code"] == "interrupted"
    finally:
        await runner.stop()


# --- a worker ----------------------------------------------------------------------------------


async def test_worker_runs_the_sync(
    scale_settings: Settings,
    pg_db: sa.Engine,
    portal: ServerThread,
    catalogue: Catalogue,
    worker: asyncio.Task[None],
) -> None:
    provider_id = add_provider(pg_db, portal.url)
    runner = pr.ProcrastinateRunner(scale_settings, db=pg_db)
    try:
        run_id, plan = await request_sync(pg_db, scale_settings, runner, provider_id)
        assert plan.as_dict() == {"channels": "full", "vod": "full"}
        run = await wait_for(pg_db, run_id, ended)
        public = runs.public_run(run)
        assert public["status"] == "succeeded", public
        assert run.worker.startswith(pr.PREFIX) and "@" in run.worker
        assert public["counts"]["movies"]["added"] == len(catalogue.movies)
        assert_exact(pg_db, provider_id, catalogue)
        app = await open_app(scale_settings)
        try:
            # Deleted once succeeded: the run's row ends a moment before its job does (the
            # task returns, then the worker deletes the job), so this waits for it, 10 s at most.
            deadline = time.monotonic() + 10
            while (left := await jobs(app, task=pr.SYNC_TASK)) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert left == []
        finally:
            await app.close_async()
    finally:
        await runner.stop()


async def test_cancel_a_running_sync_through_the_queue(
    scale_settings: Settings,
    pg_db: sa.Engine,
    catalogue: Catalogue,
    worker: asyncio.Task[None],
) -> None:
    slow = create_app(catalogue, StalkerFakeConfig(latency_ms=60))
    runner = pr.ProcrastinateRunner(scale_settings, db=pg_db)
    with ServerThread(slow) as server:
        # Two requests at a time: the walk's ~30 pages then take ~1 s at 60 ms, so the cancel
        # lands mid-walk (at the default 32, the walk can end before the worker sees it).
        provider_id = add_provider(pg_db, server.url, {"max_concurrency": 2})
        try:
            run_id, _ = await request_sync(pg_db, scale_settings, runner, provider_id)
            await wait_for(pg_db, run_id, lambda r: (r.progress or {}).get("done_items", 0) > 0)
            asked = time.monotonic()
            await request_cancel(pg_db, runner, provider_id)
            run = await wait_for(pg_db, run_id, ended, timeout=10)
            assert run.status == "cancelled"
            assert time.monotonic() - asked < 5
            kept = sum(stored(pg_db, k, provider_id)[0] for k in ("channel", "movie", "series"))
            everything = len(catalogue.channels) + len(catalogue.movies) + len(catalogue.series)
            assert 0 < kept < everything  # keeps what it wrote, and it was not the end
        finally:
            await runner.stop()


@pytest.mark.parametrize("cancelled", [False, True], ids=["resumed", "cancelled-meanwhile"])
async def test_a_dead_workers_sync_is_resumed_by_another(
    scale_settings: Settings,
    pg_db: sa.Engine,
    portal: ServerThread,
    catalogue: Catalogue,
    cancelled: bool,
) -> None:
    """A worker took the job, marked the run running and died (no kill -9 in-process: its
    traces are written by hand; tests/scale/test_multiprocess.py kills a real one). A live
    worker retries the job and resumes the same run; or, when a cancel reached the dead worker,
    closes the run as cancelled instead of leaving it running."""
    provider_id = add_provider(pg_db, portal.url)
    runner = pr.ProcrastinateRunner(scale_settings, db=pg_db)
    app = await open_app(scale_settings)
    try:
        run_id, _ = await request_sync(pg_db, scale_settings, runner, provider_id)
        dead = await app.job_manager.register_worker()
        job = await app.job_manager.fetch_job(queues=[pr.QUEUE], worker_id=dead)
        assert job is not None and job.task_kwargs["run_id"] == run_id
        first_start = utcnow() - timedelta(minutes=5)
        with pg_db.begin() as conn:
            set_run(
                conn,
                run_id,
                status="running",
                worker=f"{pr.PREFIX}{job.id}@elsewhere:1",
                started_at=first_start,
            )
            conn.exec_driver_sql(
                "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour' "
                f"WHERE id = {int(dead)}"
            )
        if cancelled:
            await request_cancel(pg_db, runner, provider_id)
            assert get_run(pg_db, run_id).status == "running"  # nobody drives it to the end

        task = asyncio.create_task(
            run_worker_async(scale_settings, install_signal_handlers=False, name="survivor")
        )
        try:
            await wait_for(pg_db, run_id, ended, timeout=40)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        public = runs.public_run(get_run(pg_db, run_id))
        if cancelled:
            assert public["status"] == "cancelled", public
            return
        assert public["status"] == "succeeded", public
        assert any(w.startswith("resumed") for w in public["warnings"])
        assert public["started_at"] == iso(first_start)  # when it first started, not resumed
        assert_exact(pg_db, provider_id, catalogue)
        with pg_db.connect() as conn:
            count = sa.select(sa.func.count()).where(sync_runs.c.provider_id == provider_id)
            assert conn.execute(count).scalar_one() == 1  # the same run, not a new one
    finally:
        await runner.stop()
        await app.close_async()


async def test_scheduled_sync_in_scale_mode(
    scale_settings: Settings,
    pg_db: sa.Engine,
    portal: ServerThread,
    catalogue: Catalogue,
    worker: asyncio.Task[None],
) -> None:
    provider_id = add_provider(pg_db, portal.url, {"schedule": {"every": "1h"}})

    def run_ids() -> list[int]:
        with pg_db.connect() as conn:
            return list(
                conn.execute(
                    sa.select(sync_runs.c.id).where(sync_runs.c.provider_id == provider_id)
                ).scalars()
            )

    deadline = time.monotonic() + 20
    while not run_ids():
        assert time.monotonic() < deadline, "the periodic tick never started the sync"
        await asyncio.sleep(0.2)
    run = await wait_for(pg_db, run_ids()[0], ended)
    assert run.status == "succeeded"
    assert_exact(pg_db, provider_id, catalogue)
    await asyncio.sleep(2.5)  # more ticks: nothing is due for an hour
    assert len(run_ids()) == 1


async def test_a_new_sync_after_a_dead_worker_runs_without_a_manual_step(
    scale_settings: Settings, pg_db: sa.Engine, portal: ServerThread, catalogue: Catalogue
) -> None:
    """The only worker died mid-sync; a new sync request closes the stale run and queues a new
    one. When a worker comes back, the dead job must not be retried into the provider's
    queueing lock (where it failed forever, its lock blocking the new job): it is failed, and
    the new run completes with exact counts."""
    provider_id = add_provider(pg_db, portal.url)
    runner = pr.ProcrastinateRunner(scale_settings, db=pg_db)
    app = await open_app(scale_settings)
    try:
        first, _ = await request_sync(pg_db, scale_settings, runner, provider_id)
        dead = await app.job_manager.register_worker()
        job = await app.job_manager.fetch_job(queues=[pr.QUEUE], worker_id=dead)
        assert job is not None and job.task_kwargs["run_id"] == first
        with pg_db.begin() as conn:
            set_run(
                conn,
                first,
                status="running",
                worker=f"{pr.PREFIX}{job.id}@elsewhere:1",
                heartbeat_at=utcnow() - timedelta(hours=1),
            )
            conn.exec_driver_sql(
                "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour' "
                f"WHERE id = {int(dead)}"
            )
        second, _ = await request_sync(pg_db, scale_settings, runner, provider_id)
        closed = runs.public_run(get_run(pg_db, first))
        assert (closed["status"], closed["error"]["code"]) == ("failed", "interrupted")

        task = asyncio.create_task(
            run_worker_async(scale_settings, install_signal_handlers=False, name="back")
        )
        try:
            run = await wait_for(pg_db, second, ended, timeout=40)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert run.status == "succeeded", runs.public_run(run)
        assert_exact(pg_db, provider_id, catalogue)
        assert await app.job_manager.get_job_status_async(job.id) == (
            procrastinate.jobs.Status.FAILED
        )
        # Nothing blocks the provider afterwards: a third sync is accepted.
        third, _ = await request_sync(pg_db, scale_settings, runner, provider_id)
        assert third > second
    finally:
        await runner.stop()
        await app.close_async()

"""The scale runner: sync runs as Procrastinate jobs on the same PostgreSQL.

``iptvsync serve`` replicas (``IPTVSYNC_RUNNER=procrastinate``) defer a job per run;
``iptvsync worker`` processes (``iptvsync/worker.py``) on any number of machines execute them
with the same ``execute_run`` as the in-process runner. What each piece guarantees:

- One sync per provider: our partial unique index admits one queued-or-running run per provider;
  the job carries ``queueing_lock`` (one waiting job per provider) and ``lock`` (one running job
  per provider) named after the provider, so Procrastinate agrees with the index.
- Cancel: the API replica that was asked sets the run's ``cancel_requested`` (the engine polls
  it) and asks Procrastinate to abort the job (``cancel_job_by_id(abort=True)``): a waiting job
  is cancelled before it starts (we close its run as ``cancelled`` here), a running one is
  aborted through LISTEN/NOTIFY on whichever worker holds it, which cancels our task; the task
  turns that into the engine's cooperative cancel, so the run keeps what it wrote.
- A worker killed mid-sync (kill -9, lost machine): its Procrastinate heartbeat stops; the
  surviving workers' maintenance loop retries its stalled jobs (``get_stalled_jobs`` +
  ``retry_job``, one reaper at a time under an advisory lock). The retried job resumes *the same
  run id*: it takes the run back from ``running`` once the run's heartbeat has visibly stopped
  moving, and executes the run's plan again from the start. Rows written by the dead attempt are
  found by identity and touched, not duplicated (upserts are idempotent per batch); a full walk
  sweeps as usual, so the catalogue ends exact. The run's counts cover the completed attempt and
  a warning says it was resumed.
- Scheduled syncs: a Procrastinate periodic task (one job per tick across all workers, thanks to
  Procrastinate's periodic-defer table) calls ``schedule.start_due_syncs``.

Runs of this runner carry ``sync_runs.worker = "procrastinate:<job id>[@host:pid]"``: a queued
run is waiting in Procrastinate's queue, not held by a process, so ``store.runs`` does not close
it as stale; the workers' maintenance loop closes queued runs whose job is gone instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from typing import Any, Protocol

import procrastinate
import sqlalchemy as sa
from procrastinate import exceptions as pq_exceptions

from iptvsync.errors import IptvsyncError
from iptvsync.settings import Settings
from iptvsync.store import locks, runs
from iptvsync.store.run_state import RunStatus, StopReason, move
from iptvsync.sync.engine import SyncContext, execute_run
from iptvsync.sync.service import Runner

log = logging.getLogger("iptvsync.worker")


class WorkerServices(Protocol):
    """What the tasks need of the worker process's wiring (``iptvsync.worker`` passes its
    ``runtime.Services``): the database, the settings, a runner and fresh sync contexts."""

    db: sa.Engine
    settings: Settings
    runner: Runner

    def sync_context(self) -> SyncContext: ...


QUEUE = "iptvsync"
SYNC_TASK = "iptvsync.sync_run"
TICK_TASK = "iptvsync.schedule_tick"
TICK_LOCK = "iptvsync-schedule"
CONTEXT_KEY = "iptvsync"
PREFIX = runs.QUEUED_ELSEWHERE_PREFIX  # "procrastinate:"
#: Reapers of several workers take turns under this advisory lock ("iptvsync" in ASCII).
REAPER_LOCK_KEY = 0x6970_7476_7379_6E63 & 0x7FFF_FFFF_FFFF_FFFF
#: How long a run's heartbeat must stand still before a retried job takes the run over.
TAKEOVER_QUIET_S = 2.0
TAKEOVER_WAIT_S = 15.0


def provider_lock(provider_id: int) -> str:
    return f"iptvsync-provider-{provider_id}"


def libpq_url(database_url: str) -> str:
    """Our SQLAlchemy URL (``postgresql+psycopg://``) as the libpq URL Procrastinate wants."""
    url = sa.engine.make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        raise IptvsyncError("the procrastinate runner needs a PostgreSQL database_url")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def tick_cron(seconds: float) -> str:
    """A Procrastinate cron for a tick every ``seconds`` (6 fields: seconds come last)."""
    s = max(1, round(seconds))
    if s < 60:
        return f"* * * * * */{s}"
    if s < 3600:
        minutes = round(s / 60)
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    return f"0 */{min(round(s / 3600), 23)} * * *"


def build_app(settings: Settings, *, pool_max: int = 4) -> procrastinate.App:
    """The Procrastinate app with our two tasks (not opened)."""
    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_url(settings.resolved_database_url()),
        min_size=1,
        max_size=pool_max,
        kwargs={"application_name": "iptvsync-jobs"},
    )
    app = procrastinate.App(connector=connector, periodic_defaults={"max_delay": 600})
    app.task(name=SYNC_TASK, queue=QUEUE, pass_context=True)(_sync_task)
    tick = app.task(
        name=TICK_TASK, queue=QUEUE, pass_context=True, lock=TICK_LOCK, queueing_lock=TICK_LOCK
    )(_tick_task)
    if settings.scheduler:
        app.periodic(cron=tick_cron(settings.schedule_tick_s), periodic_id="providers")(tick)
    return app


class ProcrastinateRunner:
    """The ``Runner`` of scale mode: ``enqueue`` defers a job, ``cancel`` aborts it.

    Built by ``iptvsync serve`` before the app exists; the app lifespan calls ``start(db)``
    with its database (a worker passes both at construction). The Procrastinate app is opened
    on first use.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        app: procrastinate.App | None = None,
        db: sa.Engine | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self._app = app
        self._owns_app = app is None
        self._opened = app is not None
        self._open_lock = asyncio.Lock()

    async def start(self, db: sa.Engine) -> None:
        self.db = db
        await self._open()

    async def _open(self) -> procrastinate.App:
        async with self._open_lock:
            if self._app is None:
                self._app = build_app(self.settings)
            if not self._opened:
                await self._app.open_async()
                self._opened = True
        return self._app

    def _engine(self) -> sa.Engine:
        if self.db is None:
            from iptvsync.store import secrets
            from iptvsync.store.db import create_db_engine

            self.db = create_db_engine(self.settings.resolved_database_url())
            secrets.bind(self.db, secrets.codec_for(self.settings))
        return self.db

    async def enqueue(self, run_id: int, provider_id: int) -> None:
        app = await self._open()
        lock = provider_lock(provider_id)
        deferrer = app.configure_task(SYNC_TASK, lock=lock, queueing_lock=lock, queue=QUEUE)
        try:
            try:
                job_id = await deferrer.defer_async(run_id=run_id, provider_id=provider_id)
            except pq_exceptions.AlreadyEnqueued:
                # A waiting job of this provider whose run is no longer active (the index let
                # our run in): a leftover, harmless to drop.
                await self._drop_waiting_jobs(app, lock, keep_run=run_id)
                job_id = await deferrer.defer_async(run_id=run_id, provider_id=provider_id)
        except Exception as exc:
            await asyncio.to_thread(
                self._close_queued, run_id, RunStatus.FAILED, StopReason.NOT_QUEUED.error()
            )
            log.exception("could not queue run %s", run_id)
            raise IptvsyncError("the job queue is unavailable; the sync was not started") from exc

        def mark() -> None:
            with self._engine().begin() as conn:
                runs.hand_to_queue(conn, run_id, f"{PREFIX}{job_id}")

        await asyncio.to_thread(mark)

    async def _drop_waiting_jobs(self, app: procrastinate.App, lock: str, keep_run: int) -> None:
        for job in await app.job_manager.list_jobs_async(
            queue=QUEUE, task=SYNC_TASK, status="todo", queueing_lock=lock
        ):
            if job.id is not None and job.task_kwargs.get("run_id") != keep_run:
                await app.job_manager.cancel_job_by_id_async(job.id)

    async def cancel(self, run_id: int) -> None:
        """Abort the run's job. The run's ``cancel_requested`` flag is already set (by
        ``service.request_cancel``), so a worker that picks the job up right now stops too."""
        app = await self._open()
        for job in await _jobs_of_run(app, run_id):
            assert job.id is not None
            await app.job_manager.cancel_job_by_id_async(job.id, abort=True)
            status = await app.job_manager.get_job_status_async(job.id)
            if status == procrastinate.jobs.Status.CANCELLED:  # it never started
                await asyncio.to_thread(self._close_queued, run_id, RunStatus.CANCELLED, None)

    def _close_queued(self, run_id: int, to: RunStatus, error: dict[str, str] | None) -> None:
        with self._engine().begin() as conn:
            move(conn, run_id, to, source=RunStatus.QUEUED, error=error)

    async def stop(self) -> None:
        if self._app is not None and self._opened and self._owns_app:
            await self._app.close_async()
            self._opened = False


async def _jobs_of_run(app: procrastinate.App, run_id: int) -> list[Any]:
    found = []
    for status in ("todo", "doing"):
        for job in await app.job_manager.list_jobs_async(
            queue=QUEUE, task=SYNC_TASK, status=status
        ):
            if job.task_kwargs.get("run_id") == run_id:
                found.append(job)
    return found


# --- the tasks (run by ``iptvsync worker``) ----------------------------------------------------


RESUMED_NOTE = (
    "resumed: the worker running this sync died and another worker ran it again; "
    "counts cover the resumed walk"
)


async def _sync_task(context: procrastinate.JobContext, run_id: int, provider_id: int) -> str:
    services: WorkerServices = context.additional_context[CONTEXT_KEY]
    resumed = await _claim(services.db, run_id, context.job.id)
    if resumed is None:
        return "skipped"
    ctx = services.sync_context()
    ctx.worker = f"{PREFIX}{context.job.id}@{socket.gethostname()}:{os.getpid()}"
    if resumed:
        ctx.notes.append(RESUMED_NOTE)
    work = asyncio.create_task(execute_run(ctx, run_id), name=f"sync-run-{run_id}")
    try:
        run = await asyncio.shield(work)
    except asyncio.CancelledError:
        # Procrastinate cancels this task to abort the job (a user's cancel, or the worker
        # shutting down past its grace period): stop the engine its cooperative way, so the
        # run ends "cancelled" with what it wrote, then let Procrastinate record the abort.
        ctx.cancel.set()
        await work
        raise
    return str(run["status"])


async def _claim(db: sa.Engine, run_id: int, job_id: int | None) -> bool | None:
    """Make the run executable: False for a fresh run, True when this job resumes a run whose
    worker died (taken back from ``running``), None when another process still drives it."""

    def read() -> Any:
        with db.connect() as conn:
            try:
                return runs.get_run(conn, run_id)
            except IptvsyncError:  # provider deleted meanwhile (cascade)
                return None

    run = await asyncio.to_thread(read)
    if run is None:
        return None
    if run.status != RunStatus.RUNNING:
        return False  # queued: ours; final: execute_run returns it as it is
    # Running: the job was retried because Procrastinate found its worker dead. Take the run
    # only once its heartbeat has visibly stopped moving, comparing values rather than clocks
    # (the other worker's clock may be off).
    waited = 0.0
    seen = run.heartbeat_at
    while waited < TAKEOVER_WAIT_S:
        await asyncio.sleep(TAKEOVER_QUIET_S)
        waited += TAKEOVER_QUIET_S
        run = await asyncio.to_thread(read)
        if run is None or run.status != RunStatus.RUNNING:
            return False if run is not None else None
        if run.heartbeat_at == seen:
            break
        seen = run.heartbeat_at
    else:
        log.warning("run %s is still driven by another worker; not resuming it", run_id)
        return None

    def take() -> bool:
        with db.begin() as conn:
            return bool(runs.take_over(conn, run_id, seen, f"{PREFIX}{job_id}"))

    taken = await asyncio.to_thread(take)
    if taken:
        log.warning("resuming run %s: the worker that ran it died", run_id)
    return True if taken else None


async def _tick_task(context: procrastinate.JobContext, timestamp: int) -> int:
    from iptvsync.sync.schedule import start_due_syncs

    services: WorkerServices = context.additional_context[CONTEXT_KEY]
    started = await start_due_syncs(services.db, services.settings, services.runner)
    return len(started)


# --- the worker's maintenance: stalled jobs, lost jobs -----------------------------------------


async def reap_stalled_jobs(app: procrastinate.App, settings: Settings, db: sa.Engine) -> list[int]:
    """Retry the jobs of workers that stopped heartbeating; returns the retried job ids.

    One reaper at a time (an advisory lock, ``store.locks``): two reapers could otherwise both
    retry a job, the second one after a live worker had already picked it up again. A stalled
    job whose abort was requested (a cancel that reached a dead worker) is failed by
    Procrastinate instead of retried: its run, which nobody drives any more, is closed here.
    """
    retried: list[int] = []
    held = await asyncio.to_thread(locks.try_lock, db, REAPER_LOCK_KEY)
    if held is None:
        return retried
    try:
        await _reap(app, settings, db, retried)
    finally:
        await asyncio.to_thread(locks.unlock, held, REAPER_LOCK_KEY)
    return retried


async def _reap(
    app: procrastinate.App, settings: Settings, db: sa.Engine, retried: list[int]
) -> None:
    for job in await app.job_manager.get_stalled_jobs(
        queue=QUEUE, seconds_since_heartbeat=settings.worker_stalled_after_s
    ):
        assert job.id is not None
        run_id = _run_of(job)
        if run_id is not None and not await asyncio.to_thread(_run_is_active, db, run_id):
            # Its run was closed meanwhile (a new sync request found it stale): nothing to
            # resume, and retrying would collide with the provider's waiting job on the
            # queueing lock, leaving this job "doing" and its lock blocking that job forever.
            await _give_up(app, job, "its run was already closed")
            continue
        try:
            await app.job_manager.retry_job(job)
        except pq_exceptions.UniqueViolation:
            # Another job of this provider waits in the queue: that one wins.
            await _give_up(app, job, "another sync of its provider is queued")
            if run_id is not None:
                await asyncio.to_thread(_close_abandoned, db, run_id)
            continue
        except pq_exceptions.ConnectorException:
            continue  # it finished or was retried meanwhile
        status = await app.job_manager.get_job_status_async(job.id)
        if status == procrastinate.jobs.Status.FAILED and run_id is not None:
            await asyncio.to_thread(_close_abandoned, db, run_id)
            continue
        log.warning("retrying job %s (%s): its worker stopped", job.id, job.task_name)
        retried.append(job.id)


def _run_of(job: Any) -> int | None:
    if job.task_name != SYNC_TASK:
        return None
    return int(str(job.task_kwargs["run_id"]))


def _run_is_active(db: sa.Engine, run_id: int) -> bool:
    with db.connect() as conn:
        try:
            return bool(RunStatus(runs.get_run(conn, run_id).status).active)
        except IptvsyncError:  # the provider (and its runs) were deleted
            return False


async def _give_up(app: procrastinate.App, job: Any, why: str) -> None:
    """End a dead worker's job as failed (Procrastinate's public API), releasing its locks."""
    log.warning("not retrying job %s (%s): %s", job.id, job.task_name, why)
    with contextlib.suppress(pq_exceptions.ConnectorException):
        await app.job_manager.finish_job(
            job, status=procrastinate.jobs.Status.FAILED, delete_job=False
        )


def _close_abandoned(db: sa.Engine, run_id: int) -> None:
    with db.begin() as conn:
        if runs.cancel_requested(conn, run_id):
            move(conn, run_id, RunStatus.CANCELLED)
        else:
            move(conn, run_id, RunStatus.FAILED, error=StopReason.WORKER_DIED.error())


async def close_lost_runs(app: procrastinate.App, db: sa.Engine) -> int:
    """Close queued runs whose Procrastinate job is gone (deleted, failed before the run
    started, cancelled while our replica died): they would block their provider forever.
    The jobs are asked of Procrastinate (its ``JobManager``), never read from its tables."""
    closed = 0
    with db.connect() as conn:
        waiting = runs.queued_elsewhere(conn)
    for run_id, job_id, cancel in waiting:
        jobs = await app.job_manager.list_jobs_async(id=int(job_id)) if job_id.isdigit() else []
        if any(job.status in _LIVE_JOB for job in jobs):
            continue

        def close(run_id: int = run_id, cancel: bool = cancel) -> int:
            with db.begin() as conn:
                if cancel:
                    return move(conn, run_id, RunStatus.CANCELLED, source=RunStatus.QUEUED)
                error = StopReason.JOB_GONE.error()
                return move(conn, run_id, RunStatus.FAILED, source=RunStatus.QUEUED, error=error)

        closed += await asyncio.to_thread(close)
    return closed


#: Job statuses in which a job will still run (or runs) its sync (``Job.status`` is the text).
_LIVE_JOB = (procrastinate.jobs.Status.TODO.value, procrastinate.jobs.Status.DOING.value)


async def maintain(app: procrastinate.App, db: sa.Engine, settings: Settings) -> None:
    every = max(0.5, min(settings.worker_heartbeat_s, settings.worker_stalled_after_s / 3))
    while True:
        await asyncio.sleep(every)
        try:
            await reap_stalled_jobs(app, settings, db)
            await close_lost_runs(app, db)
        except Exception:  # the database restarting must not stop the worker
            log.exception("worker maintenance failed")


def __getattr__(name: str) -> Any:
    """``procrastinate --app=iptvsync.sync.procrastinate_runner.app shell`` (operators' tool:
    list, retry or cancel jobs) gets an app built from the environment's settings."""
    if name == "app":
        from iptvsync.settings import load_settings

        return build_app(load_settings())
    raise AttributeError(name)

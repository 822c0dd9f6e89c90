"""``iptvsync worker``: a process that runs sync jobs from the Procrastinate queue (scale mode,
docs/deploy.md). It opens what a server opens (``runtime``) and hands it to the tasks of
``sync/procrastinate_runner.py``, with that module's maintenance loop beside them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket

from iptvsync.runtime import Services, open_database, open_http
from iptvsync.settings import Settings
from iptvsync.sync.procrastinate_runner import (
    CONTEXT_KEY,
    QUEUE,
    ProcrastinateRunner,
    build_app,
    maintain,
)


async def run_worker_async(
    settings: Settings,
    *,
    concurrency: int | None = None,
    name: str | None = None,
    wait: bool = True,
    install_signal_handlers: bool = True,
) -> None:
    """Run a worker until SIGINT / SIGTERM (or, ``wait=False``, until the queue is empty)."""
    concurrency = concurrency or settings.worker_concurrency
    db = await asyncio.to_thread(open_database, settings)  # also installs Procrastinate's schema
    http = open_http(settings)
    # Connections: one per running job's defer/finish, the listener, heartbeat, abort poll.
    app = build_app(settings, pool_max=concurrency + 6)
    try:
        async with app.open_async():
            runner = ProcrastinateRunner(settings, app=app, db=db)
            services = Services(settings=settings, db=db, http=http, runner=runner)
            maintenance = asyncio.create_task(maintain(app, db, settings), name="maintenance")
            try:
                await app.run_worker_async(
                    queues=[QUEUE],
                    name=name or f"{socket.gethostname()}:{os.getpid()}",
                    concurrency=concurrency,
                    wait=wait,
                    additional_context={CONTEXT_KEY: services},
                    delete_jobs="successful",
                    update_heartbeat_interval=settings.worker_heartbeat_s,
                    stalled_worker_timeout=settings.worker_stalled_after_s,
                    shutdown_graceful_timeout=settings.worker_shutdown_timeout_s,
                    fetch_job_polling_interval=settings.worker_poll_s,
                    abort_job_polling_interval=settings.worker_poll_s,
                    install_signal_handlers=install_signal_handlers,
                )
            finally:
                maintenance.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await maintenance
    finally:
        await http.aclose()
        db.dispose()


def run_worker(
    settings: Settings, *, concurrency: int | None = None, name: str | None = None
) -> None:
    asyncio.run(run_worker_async(settings, concurrency=concurrency, name=name))

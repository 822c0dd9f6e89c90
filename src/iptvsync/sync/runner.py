"""The in-process runner of the embedded deployment: asyncio tasks inside ``iptvsync serve``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from iptvsync.store import runs
from iptvsync.sync.engine import SyncContext, execute_run

log = logging.getLogger("iptvsync.runner")


class InlineRunner:
    """Runs each queued run as a task; ``cancel`` sets the run's event at once.

    The row's cancel flag (set by whichever API replica was asked) is the source of truth; the
    event only saves the engine its next poll.
    """

    def __init__(self, make_context: Callable[[], SyncContext]) -> None:
        self._make_context = make_context
        self._tasks: dict[int, asyncio.Task[dict[str, Any]]] = {}
        self._contexts: dict[int, SyncContext] = {}

    async def enqueue(self, run_id: int, provider_id: int) -> None:
        ctx = self._make_context()
        self._contexts[run_id] = ctx
        task = asyncio.create_task(execute_run(ctx, run_id), name=f"sync-run-{run_id}")
        self._tasks[run_id] = task
        task.add_done_callback(lambda _t: self._forget(run_id))

    def _forget(self, run_id: int) -> None:
        self._tasks.pop(run_id, None)
        self._contexts.pop(run_id, None)

    async def cancel(self, run_id: int) -> None:
        ctx = self._contexts.get(run_id)
        if ctx is not None:
            ctx.cancel.set()

    async def wait(self, run_id: int) -> dict[str, Any] | None:
        task = self._tasks.get(run_id)
        return await task if task else None

    async def start(self, db: sa.Engine) -> None:
        """Close what a dead process left running (kill -9, power cut)."""

        def close() -> None:
            with db.begin() as conn:
                runs.close_dead_local_runs(conn)

        await asyncio.to_thread(close)

    async def stop(self) -> None:
        for ctx in self._contexts.values():
            ctx.cancel.set()
        for task in list(self._tasks.values()):
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, 5)

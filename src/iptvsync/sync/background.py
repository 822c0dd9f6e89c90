"""Background work of a sync: one write in flight, on the run's one database thread.

A walk parses the next batch while the last one is written (SQLite's work runs without the
GIL); keeping at most one write in flight keeps memory at two batches and writes in order.

All of a run's database work goes through one thread (``run_db_thread``): the writes are
serialised by the database anyway, and one thread uses one pooled connection (one page cache)
and one malloc arena. Through the default executor a run spread over two or three connections
and threads, about 20 MB more at its peak for no gain in speed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

T = TypeVar("T")
log = logging.getLogger("iptvsync.sync")

_DB_THREAD: ContextVar[ThreadPoolExecutor | None] = ContextVar("sync_db_thread", default=None)


@contextlib.contextmanager
def run_db_thread(name: str) -> Iterator[None]:
    """Within this block (and the tasks it starts), ``in_db_thread`` runs on one thread."""
    executor = ThreadPoolExecutor(1, thread_name_prefix=name)
    token = _DB_THREAD.set(executor)
    try:
        yield
    finally:
        _DB_THREAD.reset(token)
        # Work still queued (a write whose caller was cancelled) finishes; nothing waits for it.
        executor.shutdown(wait=False)


async def in_db_thread(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on the run's database thread (any worker thread outside a run)."""
    executor = _DB_THREAD.get()
    if executor is None:
        return await asyncio.to_thread(fn, *args)
    return await asyncio.get_running_loop().run_in_executor(executor, functools.partial(fn, *args))


#: How long database work is retried when the database goes away (a PostgreSQL restart, a
#: locked SQLite file): the sync pauses instead of failing.
DB_RETRY_S = 60.0
_DB_TRANSIENT = (sa.exc.OperationalError, sa.exc.InterfaceError)


async def in_db_thread_retrying(fn: Callable[..., T], *args: Any) -> T:
    """``in_db_thread``, retried while the database is unavailable.

    Every function passed here is one transaction that leaves the run state alone until it
    has committed (or is idempotent, as the guide's deletes are), so a retry never counts
    twice. The catalogue's writes and the guide's go through it alike: a PostgreSQL restart
    during either pauses the sync (tests/reliability/test_faults.py).
    """
    delay, waited = 0.25, 0.0
    while True:
        try:
            return await in_db_thread(fn, *args)
        except _DB_TRANSIENT as exc:
            if waited >= DB_RETRY_S:
                raise
            log.warning("database unavailable (%s); retrying in %.1fs", type(exc).__name__, delay)
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 5.0)


class OneInFlight(Generic[T]):
    """Background work that runs in submission order, one piece at a time.

    ``submit`` queues the work at once, so a batch handed over is never lost, even when the
    submitter is cancelled while it waits; then, once more than ``ahead`` pieces are
    outstanding, it waits for the oldest (memory: ``ahead`` + 1 batches). With ``ahead=1`` one
    piece runs while the next is queued. Several submitters (the streams of a walk) queue in
    the order they submit. A piece that fails stops the pieces queued after it: its error is
    raised to the submitter waiting on it (at most ``ahead`` submissions later) and by
    ``wait``.
    """

    def __init__(self, ahead: int = 1) -> None:
        self._last: asyncio.Task[T] | None = None
        self._ahead = ahead
        self._queued: collections.deque[asyncio.Task[T]] = collections.deque()

    async def submit(self, work: Coroutine[Any, Any, T]) -> None:
        previous = self._last
        self._last = task = asyncio.create_task(_after(previous, work))
        self._queued.append(task)
        while len(self._queued) > self._ahead:
            waited = self._queued.popleft()
            # Shielded: cancelling the submitter must not cancel the write it waits for.
            await asyncio.shield(waited)

    async def wait(self) -> T | None:
        """Wait for all submitted work: the last piece's result (None when nothing was queued)."""
        self._queued.clear()
        last, self._last = self._last, None
        return None if last is None else await asyncio.shield(last)


async def _after(previous: asyncio.Task[T] | None, work: Coroutine[Any, Any, T]) -> T:
    if previous is not None:
        try:
            await previous
        except BaseException:
            work.close()
            raise
    return await work

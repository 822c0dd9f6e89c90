"""One piece of work in the background at a time, in order: the write pipelines of a sync.

A walk parses the next batch while the last one is written (SQLite's work runs without the
GIL); keeping at most one write in flight keeps memory at two batches and writes in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class OneInFlight(Generic[T]):
    def __init__(self) -> None:
        self._task: asyncio.Task[T] | None = None

    async def submit(self, work: Coroutine[Any, Any, T]) -> None:
        """Wait for the work in flight (its error is raised here), then start ``work``."""
        await self.wait()
        self._task = asyncio.create_task(work)

    async def wait(self) -> T | None:
        """The result of the work in flight (None when there is none); raises its error."""
        task, self._task = self._task, None
        return None if task is None else await task

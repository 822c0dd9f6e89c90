"""Connection slots held by this replica, leased in the database (``store.streams``).

Scopes: ``provider:<id>:<account key>`` (one per upstream; the account key is a MAC or
``default``), ``user:<id>`` (one per viewer of an output user), ``admin:<holder>`` (the admin's
viewers: counted for ``/api/streams``, never limited). ``SlotBook`` renews every lease it holds
every ``lease_s / 3`` seconds; a holder whose row disappeared (stopped through
``DELETE /api/streams/{id}`` on any replica) gets its ``on_lost`` callback. Slot writes are
gathered (``Batcher``): fifty viewers joining a channel at once take their slots in one or two
transactions, not fifty queued SQLite writes (docs/benchmarks.md, "Relay fan-out").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from iptvsync.store import streams

log = logging.getLogger("iptvsync.relay")

DEFAULT_LEASE_S = 15.0
#: At most this many slot writes in one transaction.
BATCH = 200

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """Runs ``work`` (a blocking function of a list) in a thread on everything submitted
    while the previous run was busy: callers that come together are served together."""

    def __init__(self, work: Callable[[list[T]], list[R]]) -> None:
        self._work = work
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None

    def submit(self, item: T) -> asyncio.Future[R]:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="relay-slot-writes")
        return future

    async def drain(self) -> None:
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task

    async def _run(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:BATCH], self._pending[BATCH:]
            try:
                results = await asyncio.to_thread(self._work, [item for item, _ in batch])
            except Exception as exc:  # every caller of this batch sees the error
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)


def provider_scope(provider_id: int, account: str) -> str:
    return f"provider:{provider_id}:{account}"


def user_scope(user_id: int) -> str:
    return f"user:{user_id}"


@dataclass
class Held:
    holder: str
    scope: str
    info: dict[str, Any]
    on_lost: Callable[[], None]
    refresh: Callable[[], dict[str, Any]] | None = None


class SlotBook:
    def __init__(self, db: sa.Engine, *, lease_s: float = DEFAULT_LEASE_S) -> None:
        self.db = db
        self.lease_s = lease_s
        self.replica = uuid.uuid4().hex[:16]
        self._held: dict[str, Held] = {}
        self._task: asyncio.Task[None] | None = None
        # Viewers arriving together share one transaction (and one thread hop) for their
        # slots, and so do viewers leaving together.
        self._asks: Batcher[streams.Ask, streams.Grant] = Batcher(self._acquire_batch)
        self._releases: Batcher[str, None] = Batcher(self._release_batch)

    async def acquire(
        self,
        scope: str,
        limit: int,
        *,
        stream_id: str,
        info: dict[str, Any],
        on_lost: Callable[[], None],
        refresh: Callable[[], dict[str, Any]] | None = None,
        holder: str | None = None,
    ) -> str | None:
        """A holder id for a slot of ``scope``, or None when all ``limit`` are taken."""
        taken, _ = await self.take(
            scope, limit, stream_id=stream_id, info=info, on_lost=on_lost, refresh=refresh,
            holder=holder,
        )  # fmt: skip
        return taken

    async def take(
        self,
        scope: str,
        limit: int,
        *,
        stream_id: str,
        info: dict[str, Any],
        on_lost: Callable[[], None],
        refresh: Callable[[], dict[str, Any]] | None = None,
        holder: str | None = None,
        user_id: int | None = None,
    ) -> tuple[str | None, streams.Grant]:
        """``acquire``, and what the database said (``store.streams.Grant``): with ``user_id``
        the limit is that user's own, read in the same transaction."""
        holder = holder or uuid.uuid4().hex
        ask = streams.Ask(scope, limit, holder, stream_id, dict(info), user_id)
        future = self._asks.submit(ask)
        try:
            grant = await asyncio.shield(future)
        except asyncio.CancelledError:
            # The caller went away while its slot was being written: give the slot back.
            future.add_done_callback(lambda f: self._give_back(f, holder))
            raise
        if grant.number is None:
            return None, grant
        if grant.username is not None:
            info = {**info, "username": grant.username}
        self._held[holder] = Held(holder, scope, info, on_lost, refresh)
        self._ensure_renewing()
        return holder, grant

    def _give_back(self, future: asyncio.Future[Any], holder: str) -> None:
        if (
            not future.cancelled()
            and future.exception() is None
            and future.result().number is not None
        ):
            self._releases.submit(holder)

    async def release(self, *holders: str | None) -> None:
        wanted = [h for h in holders if h and self._held.pop(h, None) is not None]
        if wanted:
            await asyncio.gather(*(self._releases.submit(h) for h in wanted))

    def _acquire_batch(self, asks: list[streams.Ask]) -> list[streams.Grant]:
        return streams.acquire_many(
            self.db, asks, replica=self.replica, now=time.time(), lease_s=self.lease_s
        )

    def _release_batch(self, holders: list[str]) -> list[None]:
        streams.release(self.db, holders)
        return [None] * len(holders)

    async def holders(self, scope: str) -> list[streams.SlotRow]:
        return await asyncio.to_thread(streams.held, self.db, scope, now=time.time())

    def local(self, holder: str) -> Held | None:
        return self._held.get(holder)

    def _ensure_renewing(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._renew_forever(), name="relay-slot-leases")

    async def renew_now(self) -> None:
        infos = {}
        for h in list(self._held.values()):
            if h.refresh is not None:
                with contextlib.suppress(Exception):
                    h.info = {**h.info, **h.refresh()}
            infos[h.holder] = h.info
        missing = await asyncio.to_thread(
            streams.renew, self.db, infos, now=time.time(), lease_s=self.lease_s
        )
        for holder in missing:
            held = self._held.pop(holder, None)
            if held is not None:
                log.info("relay: a slot of %s was taken back; stopping its stream", held.scope)
                held.on_lost()

    async def _renew_forever(self) -> None:
        while self._held:
            await asyncio.sleep(self.lease_s / 3)
            try:
                await self.renew_now()
            except Exception:  # the database is away for a moment: try again next round
                log.warning("relay: could not renew stream slot leases", exc_info=True)

    async def aclose(self) -> None:
        await self._asks.drain()
        await self._releases.drain()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        held = list(self._held)
        self._held.clear()
        if held:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(streams.release, self.db, held)

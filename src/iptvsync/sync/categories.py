"""A walk's categories: asked of the provider before its walk, stored while the walk starts
(docs/sync.md, "Categories").

Every item row names its category by the database's id, so a walk's first write needs its
categories stored; its first request does not. So the lists are asked, then stored in the
background while the walk's first pages are fetched, and the first write waits for them
(``Stored.maps``).

Where a Stalker sync runs its channel and VOD walks at once, the VOD walk starts first: its
two lists (``vod`` and ``series``) then take the two requests a session starts with, and its
first page goes out one round trip sooner (the channels' list follows in the next; the channel
walk is short). The channels' categories are still stored first, whichever answer comes first
(``CategoryOrder``): a first sync numbers its categories the same way every time, as it did
when the channel walk asked first.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import sqlalchemy as sa

from iptvsync.providers.base import ProviderClient
from iptvsync.records import CategoryRecord, Kind, Scope
from iptvsync.store import catalogue as store
from iptvsync.sync.background import in_db_thread_retrying

#: (provider category id, title, censored, position): a row of ``store.upsert_categories``.
Row = tuple[str, str, bool, int]


class CategoryOrder:
    """Channels' categories stored before the VOD walk's, when both walks run at once."""

    def __init__(self) -> None:
        self._channels = asyncio.Event()
        self._channels.set()  # nothing to wait for unless ``expect_channels``

    def expect_channels(self) -> None:
        """Both walks run at once: the VOD walk stores its categories after the channels'."""
        self._channels.clear()

    def channels_done(self) -> None:
        """The channel walk stored its categories, or ended without (a failure): go on."""
        self._channels.set()

    async def turn(self, scope: Scope) -> None:
        if scope is Scope.VOD:
            await self._channels.wait()


@dataclass(slots=True)
class Stored:
    """A walk's categories: what the provider listed, and their ids once stored."""

    #: Provider category ids listed, per kind (the sweep retires the others).
    seen: dict[Kind, set[str]]
    _task: asyncio.Task[dict[Kind, dict[str, int]]]

    async def maps(self) -> dict[Kind, dict[str, int]]:
        """Provider category id → the database's id, per kind: waits until they are stored
        (and raises what storing them raised)."""
        return await asyncio.shield(self._task)

    def abandon(self) -> None:
        """The walk ended without waiting for them: storing them goes on (a write already
        in its thread cannot be stopped), and its failure, if any, is not reported twice."""
        self._task.add_done_callback(_retrieved)


def _retrieved(task: asyncio.Task[dict[Kind, dict[str, int]]]) -> None:
    with contextlib.suppress(BaseException):
        task.result()


async def ask(client: ProviderClient, kinds: list[Kind]) -> dict[Kind, list[CategoryRecord]]:
    """Every kind's list: at once where the client allows (``concurrent_scopes``): the VOD
    walk's first page waited ~0.15 s for two lists asked one after the other (issue 21)."""
    if client.concurrent_scopes:
        found = await asyncio.gather(*(client.categories(kind) for kind in kinds))
    else:
        found = [await client.categories(kind) for kind in kinds]
    return dict(zip(kinds, found, strict=True))


def store_soon(
    db: sa.Engine,
    provider_id: int,
    version: int,
    scope: Scope,
    found: dict[Kind, list[CategoryRecord]],
    order: CategoryOrder,
) -> Stored:
    """Store ``found`` in the background, in its turn (``CategoryOrder``)."""
    rows = {
        kind: [
            (c.provider_category_id, c.title, c.censored, c.position or i)
            for i, c in enumerate(records)
        ]
        for kind, records in found.items()
    }

    async def store_in_turn() -> dict[Kind, dict[str, int]]:
        try:
            await order.turn(scope)
            return await in_db_thread_retrying(_write, db, provider_id, version, rows)
        finally:
            if scope is Scope.CHANNELS:
                order.channels_done()

    seen = {kind: {c.provider_category_id for c in records} for kind, records in found.items()}
    return Stored(seen, asyncio.create_task(store_in_turn()))


def _write(
    db: sa.Engine, provider_id: int, version: int, rows: dict[Kind, list[Row]]
) -> dict[Kind, dict[str, int]]:
    with db.begin() as conn:
        return {
            kind: store.upsert_categories(conn, provider_id, kind.value, kind_rows, version=version)
            for kind, kind_rows in rows.items()
        }

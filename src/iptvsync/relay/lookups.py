"""What a play request reads from the database, shared between the requests that need it.

Fifty viewers opening one channel at once would otherwise read the same provider row, item row
and MAC pool fifty times, each read a thread hop that competes with the relay's event loop for
the interpreter (docs/benchmarks.md, "Relay fan-out"):

- ``target``: the provider and the item's play target; requests asking for the same item while
  a read is under way wait for that read (nothing is kept after it: a provider edited or
  deleted a moment later is seen by the next request);
- ``pool_macs``: a Stalker provider's usable MACs, kept per provider version (its
  ``updated_at``, which ``PUT /api/providers/{id}/macs`` moves on every replica, and its last
  sync times, since a sync records which MACs the portal refused) and at most ``POOL_TTL_S``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from iptvsync.providers.base import PlayTarget
from iptvsync.store import macs, queries

POOL_TTL_S = 60.0


class PlayLookups:
    def __init__(self, db: Any) -> None:
        self.db = db
        self._inflight: dict[tuple[Any, ...], asyncio.Future[Any]] = {}
        self._pools: dict[int, tuple[tuple[Any, ...], float, list[str]]] = {}

    async def target(self, provider_id: int, kind: str, item_id: int) -> tuple[Any, PlayTarget]:
        return await self._once(("target", provider_id, kind, item_id), lambda: asyncio.to_thread(
            read_target, self.db, provider_id, kind, item_id
        ))  # fmt: skip

    async def pool_macs(self, provider: Any) -> list[str]:
        if provider.kind != "stalker":
            return []
        version = (
            provider.updated_at,
            getattr(provider, "last_channel_sync_at", None),
            getattr(provider, "last_vod_sync_at", None),
        )
        kept = self._pools.get(provider.id)
        if kept is not None and kept[0] == version and time.monotonic() - kept[1] < POOL_TTL_S:
            return kept[2]
        found: list[str] = await self._once(
            ("pool", provider.id, version),
            lambda: asyncio.to_thread(read_pool_macs, self.db, provider.id),
        )
        self._pools[provider.id] = (version, time.monotonic(), found)
        return found

    def forget(self, provider_id: int) -> None:
        """The provider's MAC pool changed here: the next play reads it again."""
        self._pools.pop(provider_id, None)

    async def _once(self, key: tuple[Any, ...], read: Callable[[], Awaitable[Any]]) -> Any:
        running = self._inflight.get(key)
        if running is None:
            running = self._inflight[key] = asyncio.ensure_future(read())
            running.add_done_callback(lambda _: self._inflight.pop(key, None))
        # shield: one caller going away does not cancel the read the others wait for.
        return await asyncio.shield(running)


def lookups(svc: Any) -> PlayLookups:
    """The process's shared lookups (made on the first play)."""
    found: PlayLookups | None = svc.play_lookups
    if found is None:
        found = svc.play_lookups = PlayLookups(svc.db)
    return found


def read_pool_macs(db: Any, provider_id: int) -> list[str]:
    """A Stalker provider's MAC pool (``store.macs``) minus the MACs the portal refused."""
    with db.connect() as conn:
        entries = macs.pool(conn, provider_id)
    usable = [e["mac"] for e in entries if e["state"] in ("unknown", "active")]
    return usable or [e["mac"] for e in entries]


def read_target(db: Any, provider_id: int, kind: str, item_id: int) -> tuple[Any, PlayTarget]:
    with db.connect() as conn:
        provider = queries.check_provider(conn, provider_id)
        if kind == "episode":
            ep = queries.episode_row(conn, provider_id, item_id)
            return provider, PlayTarget(
                kind="episode",
                provider_item_id=ep.provider_item_id,
                cmd=ep.cmd,
                extension=ep.extension,
                series_provider_id=ep.series_provider_item_id,
                season=ep.season,
                episode=ep.number,
            )
        row = queries.item_row(conn, kind, provider_id, item_id)
        extra = dict(row.detail) if isinstance(row.detail, dict) else {}
        target = PlayTarget(
            kind=kind,
            provider_item_id=row.provider_item_id,
            cmd=row.cmd,
            extension=row.extension if kind == "movie" else None,
            extra=extra,
        )
        return provider, target

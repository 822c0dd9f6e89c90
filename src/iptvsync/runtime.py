"""The application's wiring: what one process (server, worker, CLI command) opens once and
hands to everything else (docs/architecture.md).

``open_database`` and ``open_http`` open the two shared resources; ``Services`` carries them with
the settings, the runner and the per-process pools. The API reaches it through
``api.services.Svc``; the CLI and the scale worker build their own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from iptvsync.logins import Logins
from iptvsync.providers.base import ProviderClient, ProviderConfig
from iptvsync.providers.http import ProviderHttp, build_http_client
from iptvsync.providers.registry import make_client
from iptvsync.providers.spool import sweep_leftovers
from iptvsync.settings import Settings
from iptvsync.store import macs
from iptvsync.store.open import open_database
from iptvsync.store.providers import provider_config
from iptvsync.sync.engine import SyncContext
from iptvsync.sync.service import Runner

if TYPE_CHECKING:
    from iptvsync.relay.broker import Relay
    from iptvsync.relay.lookups import PlayLookups

__all__ = ["ClientFactory", "ClientPool", "Services", "open_database", "open_http"]

ClientFactory = Callable[[ProviderConfig, ProviderHttp, Settings], ProviderClient]
#: Series whose episodes are fetched at once are serialised on this many locks (by id).
SERIES_LOCKS = 64


class ClientPool:
    """One provider client per provider for play links and series detail.

    A Stalker session (discovery, handshake, profile) is made once and reused instead of per
    play: three requests saved on every play, and no new handshake that on a reseller panel
    would rotate the token under a running sync's feet. A provider changed since (its
    ``updated_at``) gets a fresh client; idle clients are closed after ``idle_s``.
    """

    def __init__(self, services: Services, idle_s: float = 600.0) -> None:
        self._services = services
        self._idle_s = idle_s
        self._clients: dict[int, tuple[Any, ProviderClient, float]] = {}
        self._lock = asyncio.Lock()

    async def get(self, provider: Any) -> ProviderClient:
        svc = self._services
        key = (provider.updated_at, provider.url, provider.mac, provider.username)
        now = time.monotonic()
        async with self._lock:
            stale = [
                pid
                for pid, (seen, _, used) in self._clients.items()
                if now - used > self._idle_s or (pid == provider.id and seen != key)
            ]
            for pid in stale:
                await self._clients.pop(pid)[1].aclose()
            found = self._clients.get(provider.id)
            if found is None:
                config = provider_config(provider)
                if config.kind == "stalker":  # play draws from the MAC pool too, healthy first
                    config.options["mac_pool"] = await asyncio.to_thread(
                        _mac_pool, svc.db, provider.id
                    )
                client = svc.make_client(config, svc.http, svc.settings)
            else:
                client = found[1]
            self._clients[provider.id] = (key, client, now)
            return client

    async def aclose(self) -> None:
        async with self._lock:
            for _, client, _ in self._clients.values():
                await client.aclose()
            self._clients.clear()


@dataclass
class Services:
    """What a process shares: settings, database, provider HTTP, the runner of syncs, and the
    pools built on them."""

    settings: Settings
    db: sa.Engine
    http: ProviderHttp
    runner: Runner
    #: How provider clients are made (tests put a counting factory here).
    make_client: ClientFactory = make_client
    #: The stream relay, made on the first relayed play (``api.play.get_relay``).
    relay: Relay | None = None
    #: Play-time reads shared by concurrent plays, the MAC pool per provider version
    #: (``relay.lookups``), made on the first play.
    play_lookups: PlayLookups | None = None
    #: Clients of a Stalker pool's other MACs, per (provider id, its version, MAC).
    relay_mac_clients: dict[tuple[Any, ...], ProviderClient] = field(default_factory=dict)
    #: One episode fetch per series at a time (``api.catalogue.ensure_episodes``).
    series_locks: list[asyncio.Lock] = field(
        default_factory=lambda: [asyncio.Lock() for _ in range(SERIES_LOCKS)]
    )
    clients: ClientPool = field(init=False)
    logins: Logins = field(init=False)

    def __post_init__(self) -> None:
        self.clients = ClientPool(self)
        self.logins = Logins(self.settings)

    def sync_context(self) -> SyncContext:
        return SyncContext(
            db=self.db,
            settings=self.settings,
            http=self.http,
            make_client=make_client,
            on_changed=self.on_changed,
        )

    async def on_changed(self, provider_id: int) -> None:
        """After a sync changed the catalogue: rebuild the provider's snapshot."""
        from iptvsync.snapshot.build import build_snapshot_async

        await build_snapshot_async(self.db, self.settings, provider_id)


def open_http(settings: Settings) -> ProviderHttp:
    """The provider HTTP layer of this process. Also deletes spool files (downloaded
    playlists, their indexes) that a killed process left behind (``providers/spool.py``)."""
    sweep_leftovers()
    return build_http_client(settings)


def _mac_pool(db: sa.Engine, provider_id: int) -> list[dict[str, Any]]:
    with db.connect() as conn:
        return macs.pool_for_sync(conn, provider_id)

"""Resources built once in the app lifespan and injected into routes (STYLE 5)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Request

from iptvsync.api.logins import Logins
from iptvsync.providers.base import ProviderClient
from iptvsync.providers.http import ProviderHttp, build_http_client
from iptvsync.providers.registry import make_client
from iptvsync.providers.spool import sweep_leftovers
from iptvsync.settings import Settings
from iptvsync.store.open import open_database  # noqa: F401 - the app's wiring opens it here
from iptvsync.store.providers import provider_config
from iptvsync.sync.engine import SyncContext
from iptvsync.sync.service import Runner


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
                factory = svc.extras.get("make_client", make_client)
                config = provider_config(provider)
                if config.kind == "stalker":  # play draws from the MAC pool too, healthy first
                    config.options["mac_pool"] = await asyncio.to_thread(
                        _mac_pool, svc, provider.id
                    )
                client = factory(config, svc.http, svc.settings)
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
    settings: Settings
    db: sa.Engine
    http: ProviderHttp
    runner: Runner
    extras: dict[str, Any] = field(default_factory=dict)
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


async def get_services(request: Request) -> Services:
    # ``async``: FastAPI runs a plain ``def`` dependency in a worker thread, a thread hop on
    # every request (the relay's joining viewers felt it).
    services: Services = request.app.state.services
    return services


Svc = Annotated[Services, Depends(get_services)]


def _mac_pool(svc: Services, provider_id: int) -> list[dict[str, Any]]:
    from iptvsync.store import macs

    with svc.db.connect() as conn:
        return macs.pool_for_sync(conn, provider_id)

"""Resources built once in the app lifespan and injected into routes (STYLE 5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import sqlalchemy as sa
from fastapi import Depends, Request

from iptvsync.providers.http import build_http_client
from iptvsync.providers.registry import make_client
from iptvsync.settings import Settings
from iptvsync.store.db import create_db_engine
from iptvsync.store.migrate import upgrade
from iptvsync.sync.engine import SyncContext
from iptvsync.sync.service import Runner


@dataclass
class Services:
    settings: Settings
    db: sa.Engine
    http: httpx.AsyncClient
    runner: Runner
    extras: dict[str, Any] = field(default_factory=dict)

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


def open_database(settings: Settings) -> sa.Engine:
    db = create_db_engine(settings.resolved_database_url())
    upgrade(db)
    return db


def open_http(settings: Settings) -> httpx.AsyncClient:
    return build_http_client(timeout_s=settings.request_timeout_s)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


Svc = Annotated[Services, Depends(get_services)]

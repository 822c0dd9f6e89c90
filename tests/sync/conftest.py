"""A fake Stalker portal in-process and a tiny harness to run syncs against it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from iptvsync.fakes.catalogue import Catalogue, generate
from iptvsync.fakes.server import ServedHttp
from iptvsync.fakes.stalker import DEFAULT_MAC, FakeStalkerPortal, StalkerFakeConfig, create_app
from iptvsync.providers.http import ProviderHttp
from iptvsync.providers.registry import make_client
from iptvsync.settings import Settings
from iptvsync.store import providers as provider_store
from iptvsync.sync.engine import SyncContext, execute_run
from iptvsync.sync.service import prepare_run

SIZES = {"movies": 400, "series": 60, "channels": 50}


@dataclass
class Harness:
    db: sa.Engine
    settings: Settings
    http: ProviderHttp
    portal: FakeStalkerPortal
    catalogue: Catalogue
    provider_id: int

    def context(self) -> SyncContext:
        return SyncContext(
            db=self.db, settings=self.settings, http=self.http, make_client=make_client
        )

    async def sync(self, scope: str = "auto", mode: str = "auto") -> dict[str, Any]:
        run_id, _ = prepare_run(self.db, self.settings, self.provider_id, scope=scope, mode=mode)
        return await execute_run(self.context(), run_id)

    def stored_ids(self, kind: str) -> set[str]:
        from iptvsync.store.models import ITEM_TABLES

        table = ITEM_TABLES[kind]
        with self.db.connect() as conn:
            return {
                r[0]
                for r in conn.execute(
                    sa.select(table.c.provider_item_id).where(
                        table.c.provider_id == self.provider_id, table.c.deleted_at.is_(None)
                    )
                )
            }

    def expected_ids(self, kind: str) -> set[str]:
        items = {"movie": self.catalogue.movies, "series": self.catalogue.series}.get(kind)
        if items is None:
            items = self.catalogue.channels
        return {str(i.id) for i in items}


@pytest.fixture(params=["stock", "reseller"])
def family(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def harness(db: sa.Engine, settings: Settings, family: str) -> AsyncIterator[Harness]:
    catalogue = generate(seed=7, **SIZES)
    app = create_app(catalogue, StalkerFakeConfig(family=family))
    http = ServedHttp(app)
    with db.begin() as conn:
        provider_id = provider_store.create_provider(
            conn,
            {"name": "fake", "kind": "stalker", "url": "http://portal.test/c/", "mac": DEFAULT_MAC},
        )
    yield Harness(db, settings, http, app.state.portal, catalogue, provider_id)
    await http.aclose()

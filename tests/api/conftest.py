"""A small generated catalogue written through the sync engine's own write path, and the app.

``seeded`` writes version 1 of a provider's catalogue (``bench._seed.write_catalogue``:
``record_to_row`` → ``upsert_categories`` / ``upsert_items``); ``client`` is the real app
(lifespan included) on the same database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from bench._seed import write_catalogue
from fastapi.testclient import TestClient

from iptvsync.app import create_app
from iptvsync.fakes.catalogue import Catalogue, generate
from iptvsync.settings import Settings
from iptvsync.store import catalogue as store
from iptvsync.store.models import ITEM_TABLES
from iptvsync.store.providers import create_provider

SIZES = {"movies": 60, "series": 20, "channels": 30}
MAC = "00:1A:79:12:34:56"


@dataclass
class Seeded:
    db: sa.Engine
    provider_id: int
    catalogue: Catalogue
    version: int = 1

    def ours(self, kind: str, provider_item_id: int | str) -> int:
        """Our id of a generated item."""
        table = ITEM_TABLES[kind]
        with self.db.connect() as conn:
            return int(
                conn.execute(
                    sa.select(table.c.id).where(
                        table.c.provider_id == self.provider_id,
                        table.c.provider_item_id == str(provider_item_id),
                    )
                ).scalar_one()
            )

    def category(self, kind: str, provider_category_id: int | str) -> int:
        with self.db.connect() as conn:
            return store.category_map(conn, self.provider_id, kind)[str(provider_category_id)]

    def resync(self, *, removals: bool = True) -> None:
        """Write the (changed) catalogue as the next version, sweeping what it lost."""
        self.version += 1
        write_catalogue(
            self.db, self.provider_id, self.catalogue, version=self.version, run_id=self.version
        )
        if removals:
            with self.db.begin() as conn:
                for kind in ("channel", "movie", "series"):
                    store.sweep_unseen(
                        conn,
                        kind,
                        self.provider_id,
                        run_id=self.version,
                        version=self.version,
                        now=datetime.now(UTC),
                        guard_ratio=1.0,
                        guard_min_items=10**9,
                    )


def seed_provider(db: sa.Engine, *, seed: int = 7, name: str = "fake", **sizes: Any) -> Seeded:
    catalogue = generate(seed, **{**SIZES, **sizes})
    with db.begin() as conn:
        provider_id = create_provider(
            conn, {"name": name, "kind": "stalker", "url": "http://portal.test/c/", "mac": MAC}
        )
    write_catalogue(db, provider_id, catalogue, version=1)
    return Seeded(db, provider_id, catalogue)


@pytest.fixture
def seeded(db: sa.Engine) -> Seeded:
    return seed_provider(db)


@pytest.fixture
def client(settings: Settings, seeded: Seeded) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The documented status and the error envelope."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return dict(body["error"])

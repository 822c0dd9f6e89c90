"""Migration 0007: provider names become unique; duplicates already stored are renamed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from iptvsync.errors import ProviderNameTaken
from iptvsync.store.migrate import alembic_config, upgrade
from iptvsync.store.models import providers
from iptvsync.store.providers import create_provider, update_provider


def _raw_insert(conn: sa.Connection, name: str) -> int:
    now = datetime.now(UTC)
    result = conn.execute(
        providers.insert().values(
            name=name, kind="m3u", url="http://h.test/a.m3u", options={},
            snapshot_version=0, created_at=now, updated_at=now,
        )
    )  # fmt: skip
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def test_upgrade_renames_duplicates_and_keeps_the_oldest_name(db: sa.Engine) -> None:
    command.downgrade(alembic_config(db), "0003")
    with db.begin() as conn:
        a = _raw_insert(conn, "home")
        b = _raw_insert(conn, "home")
        taken = _raw_insert(conn, f"home ({b + 1})")
        c = _raw_insert(conn, "home")
        other = _raw_insert(conn, "work")
    upgrade(db, "head")
    with db.connect() as conn:
        names = dict(conn.execute(sa.select(providers.c.id, providers.c.name)).all())
    assert names[a] == "home" and names[other] == "work"
    assert names[b] == f"home ({b})"
    assert names[taken] == f"home ({b + 1})"
    assert names[c] not in (f"home ({b + 1})", "home") and names[c].startswith("home (")
    assert len(set(names.values())) == len(names)
    with db.begin() as conn, pytest.raises(sa.exc.IntegrityError):
        _raw_insert(conn, "home")


def test_store_refuses_a_taken_name(db: sa.Engine) -> None:
    with db.begin() as conn:
        first = create_provider(conn, {"name": "x", "kind": "m3u", "url": "http://h.test/a"})
        second = create_provider(conn, {"name": "y", "kind": "m3u", "url": "http://h.test/b"})
    with db.begin() as conn, pytest.raises(ProviderNameTaken) as caught:
        create_provider(conn, {"name": "x", "kind": "m3u", "url": "http://h.test/c"})
    assert caught.value.status == 409 and caught.value.detail == {"provider_id": first}
    with db.begin() as conn, pytest.raises(ProviderNameTaken):
        update_provider(conn, second, {"name": "x"})

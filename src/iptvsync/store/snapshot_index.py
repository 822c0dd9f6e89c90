"""The ``snapshots`` table as the API reads it: which versions of a provider's snapshot exist.
(The builder, ``snapshot/build.py``, writes them.)"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from iptvsync.store.models import providers, snapshots


def latest(conn: sa.Connection, provider_id: int) -> Any:
    """The provider's newest snapshot row, or None."""
    return conn.execute(
        sa.select(snapshots)
        .where(snapshots.c.provider_id == provider_id)
        .order_by(snapshots.c.version.desc())
        .limit(1)
    ).first()


def is_kept(conn: sa.Connection, provider_id: int, version: int) -> bool:
    return (
        conn.execute(
            sa.select(snapshots.c.id).where(
                snapshots.c.provider_id == provider_id, snapshots.c.version == version
            )
        ).first()
        is not None
    )


def synced_providers(conn: sa.Connection, provider_id: int | None = None) -> list[int]:
    """Providers synced at least once (a snapshot version), by id; only ``provider_id`` if given."""
    query = sa.select(providers.c.id).where(providers.c.snapshot_version > 0)
    if provider_id is not None:
        query = query.where(providers.c.id == provider_id)
    return [int(i) for i in conn.execute(query.order_by(providers.c.id)).scalars()]

"""The ``snapshots`` table: which versions of a provider's snapshot exist (read by the API),
and the row the builder (``snapshot/build.py``) records for each build."""

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


def snapshot_version(conn: sa.Connection, provider_id: int) -> int | None:
    """The provider's current catalogue version (0 or None before its first sync)."""
    value = conn.execute(
        sa.select(providers.c.snapshot_version).where(providers.c.id == provider_id)
    ).scalar()
    return int(value) if value is not None else None


def record(conn: sa.Connection, row: dict[str, Any], keep: int) -> list[int]:
    """Store a built snapshot's row (replacing one of the same version) and drop rows past the
    ``keep`` newest; returns the provider's versions, newest first, as they were before the
    drop."""
    provider_id, version = row["provider_id"], row["version"]
    conn.execute(
        snapshots.delete().where(
            snapshots.c.provider_id == provider_id, snapshots.c.version == version
        )
    )
    conn.execute(snapshots.insert().values(**row))
    versions = list(
        conn.execute(
            sa.select(snapshots.c.version)
            .where(snapshots.c.provider_id == provider_id)
            .order_by(snapshots.c.version.desc())
        ).scalars()
    )
    if len(versions) > keep:
        conn.execute(
            snapshots.delete().where(
                snapshots.c.provider_id == provider_id,
                snapshots.c.version.in_(versions[keep:]),
            )
        )
    return versions

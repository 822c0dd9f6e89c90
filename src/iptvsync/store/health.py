"""What ``/healthz`` and ``/metrics`` read: is the database there, and how much is stored."""

from __future__ import annotations

import sqlalchemy as sa

from iptvsync.store.models import ITEM_TABLES, providers, sync_runs


def database_answers(db: sa.Engine) -> bool:
    try:
        with db.connect() as conn:
            conn.execute(sa.select(1))
    except sa.exc.SQLAlchemyError:
        return False
    return True


def live_items(conn: sa.Connection) -> list[tuple[str, int, int]]:
    """(kind, provider id, live items) for every provider and kind that has some."""
    out: list[tuple[str, int, int]] = []
    for kind, table in ITEM_TABLES.items():
        for provider_id, count in conn.execute(
            sa.select(table.c.provider_id, sa.func.count())
            .where(table.c.deleted_at.is_(None))
            .group_by(table.c.provider_id)
        ):
            out.append((kind, int(provider_id), int(count)))
    return out


def runs_by_status(conn: sa.Connection) -> list[tuple[str, int]]:
    return [
        (str(status), int(count))
        for status, count in conn.execute(
            sa.select(sync_runs.c.status, sa.func.count()).group_by(sync_runs.c.status)
        )
    ]


def provider_count(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(providers)).scalar_one())

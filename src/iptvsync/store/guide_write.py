"""Writing a guide's programmes: the one row path of every guide (XMLTV for M3U and Xtream, the
Stalker portal's own).

A guide is hundreds of thousands of programmes, so the rows stay tuples from the parser to the
driver: a ``ProgrammeRecord`` is a named tuple whose fields are the ``programmes`` columns after
``provider_id``, in order. On SQLite the driver's ``executemany`` gets them with the two times
as SQLAlchemy's DATETIME text (so they read back as rows written through SQLAlchemy do); on
PostgreSQL they go through SQLAlchemy Core. ``tests/store/test_guide_write.py`` checks that
rows written here read back as rows written by the general ``catalogue.insert_rows``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

from iptvsync.store import bulk
from iptvsync.store.catalogue import sqlite_connection
from iptvsync.store.models import programmes

#: The columns a programme row holds after ``provider_id``, in ``ProgrammeRecord``'s order.
COLUMNS = bulk.PROGRAMME_COLUMNS

Programme = bulk.Programme


def insert_programmes(conn: sa.Connection, provider_id: int, rows: Sequence[Programme]) -> None:
    """Insert ``rows`` (``ProgrammeRecord``s or tuples in ``COLUMNS`` order) for a provider:
    ``bulk.insert_programmes`` on SQLite (the write process's code too), Core elsewhere."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(
            programmes.insert(),
            [{"provider_id": provider_id, **dict(zip(COLUMNS, r, strict=True))} for r in rows],
        )
        return
    bulk.insert_programmes(sqlite_connection(conn), provider_id, rows)


def high_water(conn: sa.Connection) -> int:
    """The newest programme row id: a new guide's rows come after it (the swap's cut)."""
    return int(
        conn.execute(sa.select(sa.func.coalesce(sa.func.max(programmes.c.id), 0))).scalar_one()
    )


def drop_newer(conn: sa.Connection, provider_id: int, cutoff: int) -> None:
    """A guide that failed half-way: its rows go, the previous guide stays."""
    conn.execute(
        programmes.delete().where(programmes.c.provider_id == provider_id, programmes.c.id > cutoff)
    )


def drop_older(
    conn: sa.Connection,
    provider_id: int,
    cutoff: int,
    window_start: datetime,
    now: datetime,
    earliest: dict[str, datetime],
) -> None:
    """The previous guide goes, except its programmes that ended (within the window) before
    the new guide's first programme of their channel (what a Stalker portal's catch-up plays,
    docs/stalker.md, *Catch-up*)."""
    old = sa.and_(programmes.c.provider_id == provider_id, programmes.c.id <= cutoff)
    # Ended after every channel's new first programme: covered whatever its channel (one
    # statement, which is all of it for a guide that lists the past, such as XMLTV).
    covered = min(now, max(earliest.values(), default=now))
    conn.execute(
        programmes.delete().where(
            old, sa.or_(programmes.c.stop <= window_start, programmes.c.stop > covered)
        )
    )
    # What is left is a few hours of ended programmes per channel: kept unless the new guide
    # covers their time.
    drop = [
        row.id
        for row in conn.execute(
            sa.select(programmes.c.id, programmes.c.channel_key, programmes.c.stop).where(old)
        )
        if _aware(row.stop) > earliest.get(row.channel_key, now)
    ]
    for i in range(0, len(drop), 500):
        conn.execute(programmes.delete().where(programmes.c.id.in_(drop[i : i + 500])))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)

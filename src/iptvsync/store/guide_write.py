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
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from iptvsync.store.catalogue import driver_cursor, sqlite_datetime
from iptvsync.store.models import programmes

#: The columns a programme row holds after ``provider_id``, in ``ProgrammeRecord``'s order.
COLUMNS = (
    "channel_key",
    "start",
    "stop",
    "title",
    "subtitle",
    "description",
    "category",
    "episode",
)
_SQLITE_INSERT = (
    f"INSERT INTO programmes (provider_id, {', '.join(COLUMNS)}) "
    f"VALUES ({', '.join('?' * (len(COLUMNS) + 1))})"
)

Programme = tuple[str, datetime, datetime, str, Any, Any, Any, Any]


def insert_programmes(conn: sa.Connection, provider_id: int, rows: Sequence[Programme]) -> None:
    """Insert ``rows`` (``ProgrammeRecord``s or tuples in ``COLUMNS`` order) for a provider."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(
            programmes.insert(),
            [{"provider_id": provider_id, **dict(zip(COLUMNS, r, strict=True))} for r in rows],
        )
        return
    when = sqlite_datetime
    with driver_cursor(conn) as cursor:
        cursor.executemany(
            _SQLITE_INSERT,
            [
                (provider_id, key, when(start), when(stop), title, sub, desc, cat, ep)
                for key, start, stop, title, sub, desc, cat, ep in rows
            ],
        )

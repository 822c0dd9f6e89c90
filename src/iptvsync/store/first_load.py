"""A first load's read indexes, built once after the walk instead of row by row (docs/sync.md,
"A first sync's indexes").

A first sync inserts a whole catalogue (and guide) into empty tables, and every read index of
an item table (migration 0002: eight on each VOD table) takes each new row at a random place:
~1.5 s of the write process's CPU for 88k items, where building the same indexes over the
loaded rows takes ~0.5 s (docs/benchmarks.md, issue 21). So a sync that finds one of these
tables with no rows at all drops that table's read indexes before it writes and builds them
again when its writes are over.

- Only a table with no rows, whatever the provider: another provider's reads keep their
  indexes. The unique key (what the upsert looks rows up by) and the search index are kept:
  search stays as current as the rows, and its per-batch insert costs less than a rebuild.
  So are the partial indexes, which a load's rows hardly enter (``_READ_INDEXES``).
- The dropped statements are kept in ``deferred_indexes`` in the same transaction as the drop,
  so a sync that dies leaves what to build; whoever comes next (the next sync, or any process
  opening the database) builds it. Building is idempotent: an index that exists is skipped.
- Plain ``sqlite3``, no SQLAlchemy, like ``store/bulk.py``: the statements are SQLite's own
  (``sqlite_master.sql``), so no index is defined twice.
- Built by ``store/index_build.py`` (``restore``, ``build``), which needs nothing but the
  standard library. In two steps where the load had a write process (``sync/indexes.py``):
  ``SNAPSHOT_ORDER`` first, in that process, then the rest in a bare interpreter running that
  file while the sync's own process builds the snapshot, whose reads need only those.
"""

from __future__ import annotations

import sqlite3

#: The tables a sync loads in bulk: the catalogue's, and the guide's (255k programmes for
#: 5,000 channels over 3 days: 1.06 s to insert under ``ix_programmes_channel``, 0.65 s
#: without it and 0.19 s to build it after). A guide's swap finds the rows it replaces by id,
#: not by that index (``store/guide_write.py``).
TABLES = ("channels", "movies", "series", "programmes")

#: The indexes a table's reads use and a load drops: every one written in the schema (SQLite's
#: own for a UNIQUE constraint have no SQL) that is neither unique nor partial. A partial index
#: (``WHERE deleted_version IS NOT NULL``, ``WHERE category_ids <> 'null'``) takes next to none
#: of a load's rows, so keeping it costs the writes one test of its condition a row, where
#: building it after is one more scan of the loaded table: ~0.04 s of the ~0.45 s of CPU the
#: 88k-item catalogue's indexes took at a sync's end (docs/benchmarks.md, session 21).
_READ_INDEXES = (
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
    "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE %' "
    "AND instr(upper(sql), ' WHERE ') = 0 ORDER BY name"
)


def defer(conn: sqlite3.Connection) -> list[str]:
    """Drop the read indexes of every empty table of ``TABLES``, keeping their statements; the
    tables whose indexes now wait to be built: these, and any a sync that died left (the run
    that resumes its load builds them at its end). Inside the caller's write transaction."""
    for table in TABLES:
        if conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None:
            continue
        found = conn.execute(_READ_INDEXES, (table,)).fetchall()
        if not found:
            continue
        conn.executemany(
            "INSERT OR REPLACE INTO deferred_indexes (name, table_name, sql) VALUES (?, ?, ?)",
            [(name, table, sql) for name, sql in found],
        )
        for name, _sql in found:
            conn.execute(f'DROP INDEX "{name}"')
    waiting = {r[0] for r in conn.execute("SELECT DISTINCT table_name FROM deferred_indexes")}
    return [t for t in TABLES if t in waiting] + sorted(waiting - set(TABLES))


#: The read indexes a snapshot's reads walk: each item kind's live rows in its default order
#: (``items.DEFAULT_SORT``: channels by number, movies and series newest first), which the
#: featured titles read too. With these, the snapshot needs no sort of its own and can be built
#: beside the rest (``tests/sync/test_first_load.py`` asks SQLite's query plans).
SNAPSHOT_ORDER = ("ix_channels_live_number", "ix_movies_live_added", "ix_series_live_added")

#: The guide's read index: built by the write process once the guide's programmes are all
#: written, which is most often well before the walk's end, instead of at the sync's end beside
#: the snapshot (~0.2 s of a 255k-programme guide; ``sync/indexes.py``).
GUIDE_ORDER = ("ix_programmes_channel",)


def pending(conn: sqlite3.Connection) -> int:
    """How many dropped indexes wait to be built."""
    return int(conn.execute("SELECT count(*) FROM deferred_indexes").fetchone()[0])

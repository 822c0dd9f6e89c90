"""cheaper writes: no per-row FTS trigger on insert, no indexes 0002 made redundant

Revision ID: 0003
Revises: 0002

A sync writes tens of thousands of rows a minute; every index and trigger is paid per row.

- The FTS5 insert trigger cost ~25 µs per row (FTS5 through a row trigger); one
  ``INSERT INTO x_fts SELECT … WHERE id > :last`` per batch costs ~2.5 µs per row. The catalogue
  writer (``store.catalogue.upsert_items``, the only code that inserts items) indexes each
  batch's new rows that way, in the batch's transaction, so search is exactly as current as
  before.
- The update trigger fires only when the name really changes (it fired on every rewrite of a
  changed row, deleting and re-adding the same words).
- ``ix_*_added``, ``ix_*_category`` and ``ix_channels_order`` (0001) are served by 0002's
  ``ix_*_live_*`` indexes, which every read uses: two fewer B-trees per insert.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SEARCHABLE = ("movies", "series", "channels")
REDUNDANT = {
    "ix_movies_added": "movies (provider_id, added_at, id)",
    "ix_movies_category": "movies (provider_id, category_id, added_at)",
    "ix_series_added": "series (provider_id, added_at, id)",
    "ix_series_category": "series (provider_id, category_id, added_at)",
    "ix_channels_order": "channels (provider_id, number, id)",
    "ix_channels_category": "channels (provider_id, category_id, number)",
}


def _update_trigger(table: str, when: str) -> str:
    return (
        f"CREATE TRIGGER {table}_fts_au AFTER UPDATE OF name ON {table} {when}BEGIN "
        f"INSERT INTO {table}_fts({table}_fts, rowid, name) VALUES ('delete', old.id, old.name); "
        f"INSERT INTO {table}_fts(rowid, name) VALUES (new.id, new.name); END"
    )


def upgrade() -> None:
    for name in REDUNDANT:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in SEARCHABLE:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_ai")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_au")
        op.execute(_update_trigger(table, "WHEN old.name IS NOT new.name "))


def downgrade() -> None:
    for name, on in REDUNDANT.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {on}")
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in SEARCHABLE:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_au")
        op.execute(_update_trigger(table, ""))
        op.execute(
            f"CREATE TRIGGER {table}_fts_ai AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {table}_fts(rowid, name) VALUES (new.id, new.name); END"
        )
        # Rows inserted while the trigger was gone are indexed already (by the writer).

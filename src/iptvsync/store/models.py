"""Database tables (SQLAlchemy 2 Core), shared by SQLite and PostgreSQL.

Identity (docs/sync.md §1): every catalogue row has a compact integer ``id`` assigned once per
(provider, provider's own id) and never reused; removed items are soft-deleted
(``deleted_at``), so a title that comes back keeps its id. ``hash`` decides whether a row needs
rewriting; unchanged rows only get ``last_seen_run`` touched.

Snapshot versions: ``providers.snapshot_version`` counts snapshot builds and never resets (not
even on clean), so a version names one catalogue state for ever. Rows carry the version in which
they were created, last changed and removed: a delta ``since=v`` is a query, not a change log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp that is UTC and aware on the way in and on the way out, on every backend.

    SQLite has no time zones: it hands back naive datetimes. Everything we store is UTC, so
    a naive value read is UTC; an aware value written is converted to UTC first. Code above
    the store never sees a naive timestamp (no per-module "naive means UTC" fixes).
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


TS = UtcDateTime()

providers = sa.Table(
    "providers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    # Secrets: stored encrypted (``store.secrets``) so syncs can run, never returned by the
    # API, never logged. Text: a Fernet token is ~2x the plain value and more.
    sa.Column("mac", sa.Text),
    sa.Column("username", sa.Text),
    sa.Column("password", sa.Text),
    sa.Column("epg_url", sa.Text),
    sa.Column("options", sa.JSON, nullable=False, default=dict),
    # Stalker: the API endpoint a session found ({"url", "token_free", "family_hint"}), so the
    # next one skips discovery (migration 0011). Learned, not set: NULL when the URL moves.
    sa.Column("endpoint", sa.JSON),
    sa.Column("snapshot_version", sa.Integer, nullable=False, default=0),
    sa.Column("last_channel_sync_at", TS),
    sa.Column("last_vod_sync_at", TS),
    sa.Column("last_epg_sync_at", TS),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    # Commands find a provider by name, so a name names one provider (migration 0007).
    sa.Index("uq_providers_name", "name", unique=True),
)

categories = sa.Table(
    "categories",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "provider_id", sa.Integer, sa.ForeignKey("providers.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("provider_category_id", sa.String(200), nullable=False),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("censored", sa.Boolean, nullable=False, default=False),
    sa.Column("position", sa.Integer, nullable=False, default=0),
    sa.Column("created_version", sa.Integer, nullable=False, default=0),
    sa.Column("changed_version", sa.Integer, nullable=False, default=0),
    sa.Column("deleted_at", TS),
    sa.UniqueConstraint("provider_id", "kind", "provider_category_id", name="uq_categories_key"),
)


def _item_columns() -> list[sa.Column[object]]:
    """Columns every catalogue item table has."""
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "provider_id",
            sa.Integer,
            sa.ForeignKey("providers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("provider_item_id", sa.String(500), nullable=False),
        sa.Column("name", sa.String(1000), nullable=False),
        sa.Column("category_id", sa.Integer),
        # Our ids of every category the provider lists the item under, when more than one.
        sa.Column("category_ids", sa.JSON),
        sa.Column("censored", sa.Boolean, nullable=False, default=False),
        sa.Column("cmd", sa.Text),
        # Detail shown by id only: description, director, actors, genres, duration...
        sa.Column("detail", sa.JSON),
        sa.Column("hash", sa.String(32), nullable=False),
        sa.Column("added_at", TS),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("last_seen_run", sa.Integer),
        sa.Column("created_version", sa.Integer, nullable=False, default=0),
        sa.Column("changed_version", sa.Integer, nullable=False, default=0),
        sa.Column("deleted_at", TS),
        sa.Column("deleted_version", sa.Integer),
    ]


channels = sa.Table(
    "channels",
    metadata,
    *_item_columns(),
    sa.Column("number", sa.Integer),
    sa.Column("logo", sa.Text),
    sa.Column("epg_id", sa.String(500)),
    sa.Column("archive", sa.Boolean, nullable=False, default=False),
    sa.Column("archive_days", sa.Integer),
    sa.Column("radio", sa.Boolean, nullable=False, default=False),
    sa.UniqueConstraint("provider_id", "provider_item_id", name="uq_channels_key"),
)

movies = sa.Table(
    "movies",
    metadata,
    *_item_columns(),
    sa.Column("year", sa.Integer),
    sa.Column("rating", sa.Float),
    sa.Column("poster", sa.Text),
    sa.Column("extension", sa.String(16)),
    sa.UniqueConstraint("provider_id", "provider_item_id", name="uq_movies_key"),
)

series = sa.Table(
    "series",
    metadata,
    *_item_columns(),
    sa.Column("year", sa.Integer),
    sa.Column("rating", sa.Float),
    sa.Column("poster", sa.Text),
    sa.Column("episodes_fetched_at", TS),
    sa.UniqueConstraint("provider_id", "provider_item_id", name="uq_series_key"),
)

episodes = sa.Table(
    "episodes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "series_id", sa.Integer, sa.ForeignKey("series.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column(
        "provider_id", sa.Integer, sa.ForeignKey("providers.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("provider_item_id", sa.String(500), nullable=False),
    sa.Column("season", sa.Integer, nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("name", sa.String(1000), nullable=False),
    sa.Column("season_name", sa.String(500)),
    sa.Column("cmd", sa.Text),
    sa.Column("extension", sa.String(16)),
    sa.UniqueConstraint("series_id", "provider_item_id", name="uq_episodes_key"),
)

ITEM_TABLES: dict[str, sa.Table] = {"channel": channels, "movie": movies, "series": series}

sync_runs = sa.Table(
    "sync_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "provider_id", sa.Integer, sa.ForeignKey("providers.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("plan", sa.JSON, nullable=False),
    # queued -> running -> succeeded | failed | cancelled | guarded
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("phase", sa.String(32), nullable=False, default="queued"),
    sa.Column("progress", sa.JSON, nullable=False),
    sa.Column("counts", sa.JSON, nullable=False),
    sa.Column("requests", sa.Integer, nullable=False, default=0),
    sa.Column("incomplete", sa.Boolean, nullable=False, default=False),
    sa.Column("warnings", sa.JSON, nullable=False),
    sa.Column("error", sa.JSON),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, default=False),
    sa.Column("worker", sa.String(200)),
    sa.Column("heartbeat_at", TS),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("started_at", TS),
    sa.Column("finished_at", TS),
    # One queued-or-running run per provider, enforced by the database itself. Migration
    # 0001 writes the index's condition for both backends; here only SQLite's: naming a
    # ``postgresql_*`` option makes SQLAlchemy import its PostgreSQL dialect to check it,
    # ~30 ms of every command's start on SQLite (docs/benchmarks.md, session 16).
    sa.Index(
        "uq_sync_runs_active",
        "provider_id",
        unique=True,
        sqlite_where=sa.text("status IN ('queued', 'running')"),
    ),
    sa.Index("ix_sync_runs_provider", "provider_id", "id"),
)

snapshots = sa.Table(
    "snapshots",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "provider_id", sa.Integer, sa.ForeignKey("providers.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("generated_at", TS, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("sizes", sa.JSON, nullable=False),
    sa.Column("stats", sa.JSON, nullable=False),
    sa.UniqueConstraint("provider_id", "version", name="uq_snapshots_version"),
)

# A Stalker provider's MAC pool (migration 0004): each MAC with its own box identity and the
# state the portal last gave it. The MAC is a secret like ``providers.mac``: never returned
# whole by the API, never logged. State lives here, not in memory, so every worker (and the
# play-time connection limits to come) draws from the same pool.
provider_macs = sa.Table(
    "provider_macs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "provider_id", sa.Integer, sa.ForeignKey("providers.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("mac", sa.Text, nullable=False),  # encrypted at rest (store.secrets)
    sa.Column("identity", sa.JSON, nullable=False, default=dict),  # sn, device_id, device_id2
    sa.Column("state", sa.String(20), nullable=False, default="unknown"),
    sa.Column("reason", sa.String(500)),
    sa.Column("expires_at", TS),
    sa.Column("checked_at", TS),
)

#: The read indexes a first load dropped, until they are built again (``store/first_load.py``).
deferred_indexes = sa.Table(
    "deferred_indexes",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("table_name", sa.String(200), nullable=False),
    sa.Column("sql", sa.Text, nullable=False),
)

programmes = sa.Table(
    "programmes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "provider_id", sa.Integer, sa.ForeignKey("providers.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("channel_key", sa.String(500), nullable=False),
    sa.Column("start", TS, nullable=False),
    sa.Column("stop", TS, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("subtitle", sa.Text),
    sa.Column("description", sa.Text),
    sa.Column("category", sa.Text),
    sa.Column("episode", sa.String(100)),
    sa.Index("ix_programmes_channel", "provider_id", "channel_key", "start"),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(200), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(300), nullable=False),
    sa.Column("token_hash", sa.String(128)),
    sa.Column("all_providers", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("max_streams", sa.Integer),  # streams at once; NULL: the server's default
)

user_providers = sa.Table(
    "user_providers",
    metadata,
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "provider_id",
        sa.Integer,
        sa.ForeignKey("providers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)

#: Connection slots held by running streams (``store.streams``; migration 0006).
stream_slots = sa.Table(
    "stream_slots",
    metadata,
    sa.Column("scope", sa.String(200), primary_key=True),
    sa.Column("slot_no", sa.Integer, primary_key=True),
    sa.Column("holder", sa.String(64), nullable=False, index=True),
    sa.Column("stream_id", sa.String(64), nullable=False, index=True),
    sa.Column("replica", sa.String(64), nullable=False),
    sa.Column("info", sa.JSON, nullable=False),
    sa.Column("since", sa.Float, nullable=False),
    sa.Column("lease_until", sa.Float, nullable=False),
)


# Per viewer (an output user, or the admin: user_id NULL): favourites and resume positions
# (store/library.py; migration 0008). One row per (viewer, provider, kind, item); the unique
# indexes use coalesce(user_id, 0) because NULLs are never equal in a unique constraint.
def _viewer_table(name: str, *columns: sa.Column[Any]) -> sa.Table:
    """A per-viewer table keyed by (viewer, provider, kind, item)."""
    table = sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE")),
        sa.Column(
            "provider_id",
            sa.Integer,
            sa.ForeignKey("providers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("item_id", sa.Integer, nullable=False),
        *columns,
    )
    sa.Index(
        f"uq_{name}_key",
        sa.func.coalesce(table.c.user_id, 0),
        table.c.provider_id,
        table.c.kind,
        table.c.item_id,
        unique=True,
    )
    return table


# kind: channel | movie | series
favourites = _viewer_table("favourites", sa.Column("created_at", TS, nullable=False))
# kind: movie | episode
resume_positions = _viewer_table(
    "resume_positions",
    sa.Column("position_s", sa.Float, nullable=False),
    sa.Column("duration_s", sa.Float),
    sa.Column("updated_at", TS, nullable=False),
)

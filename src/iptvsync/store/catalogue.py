"""Writing the catalogue: batch upserts with stable ids, touch-only for unchanged rows, sweeps.

Every function takes an open connection inside the caller's transaction: one batch is one
transaction, so a crash loses at most the batch in flight and never leaves half a batch.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from iptvsync.store import bulk, first_load, index_build
from iptvsync.store.bulk import UNCATEGORISED, UpsertResult, sqlite_datetime
from iptvsync.store.models import (
    ITEM_TABLES,
    UtcDateTime,
    categories,
    episodes,
    programmes,
    provider_macs,
    snapshots,
    sync_runs,
)

UNCATEGORISED_TITLE = "Uncategorised"


def upsert_items(
    conn: sa.Connection,
    kind: str,
    provider_id: int,
    rows: list[dict[str, Any]],
    *,
    run_id: int,
    version: int,
    now: datetime,
) -> UpsertResult:
    """Insert new rows, rewrite changed ones (or ones that come back), touch the rest
    (``bulk.upsert``): with the driver's ``executemany`` on SQLite (``bulk.SqliteItemWriter``,
    the write process's code too), through SQLAlchemy Core elsewhere."""
    writer = item_writer(conn, kind)
    return bulk.upsert(writer, provider_id, rows, run_id=run_id, version=version, now=now)


def item_writer(conn: sa.Connection, kind: str) -> bulk.ItemWriter:
    """The kind's ``bulk.ItemWriter`` on ``conn``, inside its transaction."""
    table = ITEM_TABLES[kind]
    if conn.dialect.name == "sqlite":
        return bulk.SqliteItemWriter(sqlite_connection(conn), row_shape(table))
    return _CoreWriter(conn, table)


class _CoreWriter:
    """``bulk.ItemWriter`` through SQLAlchemy Core (PostgreSQL)."""

    def __init__(self, conn: sa.Connection, table: sa.Table) -> None:
        self.conn = conn
        self.table = table

    def existing(self, provider_id: int, keys: list[str]) -> bulk.Existing:
        t = self.table
        query = sa.select(t.c.provider_item_id, t.c.id, t.c.hash, t.c.deleted_at).where(
            t.c.provider_id == provider_id, t.c.provider_item_id.in_(keys)
        )
        return {r[0]: (r[1], r[2], r[3] is not None) for r in self.conn.execute(query)}

    def insert(
        self, rows: list[dict[str, Any]], constant: dict[str, Any], fallback: dict[str, Any]
    ) -> None:
        completed = [
            {**row, **constant, **{k: row.get(k) or v for k, v in fallback.items()}} for row in rows
        ]
        self.conn.execute(self.table.insert(), completed)

    def update(self, columns: list[str], rows: list[dict[str, Any]]) -> None:
        t = self.table
        stmt = (
            t.update()
            .where(t.c.id == sa.bindparam("_id"))
            .values({c: sa.bindparam(c) for c in columns})
        )
        self.conn.execute(stmt, rows)

    def touch(self, ids: list[int], run_id: int) -> None:
        t = self.table
        self.conn.execute(t.update().where(t.c.id.in_(ids)).values(last_seen_run=run_id))


class EngineTarget:
    """``bulk.BulkTarget`` on an engine: the sync's own process (any database)."""

    def __init__(self, db: sa.Engine) -> None:
        self.db = db

    @contextlib.contextmanager
    def begin(self) -> Iterator[bulk.BulkTx]:
        from iptvsync.store import guide_write  # it imports this module

        with self.db.begin() as conn:
            yield bulk.BulkTx(
                functools.partial(item_writer, conn),
                functools.partial(guide_write.insert_programmes, conn),
            )

    def build_deferred_indexes(self, only: Collection[str] | None = None) -> int:
        return build_deferred_indexes_apart(self.db, only)


def bulk_shapes() -> dict[str, bulk.RowShape]:
    """Each item kind's table shape, for the write process (which has no SQLAlchemy)."""
    return {kind: row_shape(table) for kind, table in ITEM_TABLES.items()}


def sqlite_connection(conn: sa.Connection) -> sqlite3.Connection:
    """The ``sqlite3`` connection under ``conn`` (same transaction)."""
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    return driver


@contextlib.contextmanager
def driver_cursor(conn: sa.Connection) -> Iterator[Any]:
    """A cursor of the ``sqlite3`` connection under ``conn`` (same transaction), closed after
    use."""
    cursor = sqlite_connection(conn).cursor()
    try:
        yield cursor
    finally:
        cursor.close()


def defer_read_indexes(conn: sa.Connection) -> list[str]:
    """The empty tables (catalogue, guide) whose read indexes wait for the end of the load
    (``store/first_load.py``); none on PostgreSQL, whose bulk path is another."""
    if conn.dialect.name != "sqlite":
        return []
    return first_load.defer(sqlite_connection(conn))


def build_deferred_indexes(conn: sa.Connection, only: Collection[str] | None = None) -> int:
    """Build the read indexes a load dropped (``store/first_load.py``), or ``only`` those of
    them named; how many."""
    if conn.dialect.name != "sqlite":
        return 0
    driver = sqlite_connection(conn)
    if not _has_table(driver, "deferred_indexes") or not first_load.pending(driver):
        return 0
    return index_build.restore(driver, only)


def build_deferred_indexes_apart(db: sa.Engine, only: Collection[str] | None = None) -> int:
    """``build_deferred_indexes`` on a connection of its own (``index_build.build``)."""
    if db.dialect.name != "sqlite" or db.url.database in (None, "", ":memory:"):
        with db.begin() as conn:
            return build_deferred_indexes(conn, only)
    return index_build.build(db.url.database, only)


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return found.fetchone() is not None


def insert_rows(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """``INSERT`` many rows: with the driver's ``executemany`` on SQLite (values stored as
    SQLAlchemy stores them, see ``store/bulk.py``), through SQLAlchemy Core elsewhere."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(table.insert(), rows)
        return
    shape = row_shape(table)
    with driver_cursor(conn) as cursor:
        cursor.executemany(shape.sql, map(shape.values, rows))


@functools.cache
def row_shape(table: sa.Table) -> bulk.RowShape:
    """The table's ``bulk.RowShape``: every column but ``id``, how each is stored on SQLite,
    and what SQLAlchemy would insert for a key a row does not have."""
    columns = [c for c in table.columns if c.name != "id"]
    return bulk.RowShape(
        table.name,
        [c.name for c in columns],
        [_sqlite_converter(c) for c in columns],
        [_default(c) for c in columns],
    )


def _sqlite_converter(column: sa.Column[Any]) -> Callable[[Any], Any]:
    if isinstance(column.type, sa.DateTime | UtcDateTime):
        return sqlite_datetime
    if isinstance(column.type, sa.JSON):
        return bulk.sqlite_json
    if isinstance(column.type, sa.Boolean):
        return bulk.sqlite_bool
    return bulk.same


def _default(column: sa.Column[Any]) -> Any:
    """The Python value SQLAlchemy would insert for a key a row does not have."""
    default = column.default
    if default is None or not getattr(default, "is_scalar", False):
        return bulk.ABSENT if isinstance(column.type, sa.JSON) else None
    return default.arg  # type: ignore[attr-defined]


def upsert_categories(
    conn: sa.Connection,
    provider_id: int,
    kind: str,
    records: list[tuple[str, str, bool, int]],
    *,
    version: int,
) -> dict[str, int]:
    """Store (provider_category_id, title, censored, position) rows; return key → our id.

    The "Uncategorised" category of the kind always exists, for items with no or an unknown
    provider category (docs/api.md, "Catalogue").
    """
    records = [*records, (UNCATEGORISED, UNCATEGORISED_TITLE, False, 1_000_000)]
    existing = {
        r.provider_category_id: r
        for r in conn.execute(
            sa.select(categories).where(
                categories.c.provider_id == provider_id, categories.c.kind == kind
            )
        )
    }
    new: list[dict[str, Any]] = []
    for key, title, censored, position in records:
        row = existing.get(key)
        if row is None:
            new.append(
                {
                    "provider_id": provider_id,
                    "kind": kind,
                    "provider_category_id": key,
                    "title": title,
                    "censored": censored,
                    "position": position,
                    "created_version": version,
                    "changed_version": version,
                }
            )
        elif (row.title, row.censored, row.position, row.deleted_at) != (
            title,
            censored,
            position,
            None,
        ):
            conn.execute(
                categories.update()
                .where(categories.c.id == row.id)
                .values(
                    title=title,
                    censored=censored,
                    position=position,
                    deleted_at=None,
                    changed_version=version,
                )
            )
    if new:
        # One statement for a first sync's whole list: row by row, a portal's ~150 VOD
        # categories took ~40 ms, in the thread the walk's first writes wait on (issue 21).
        conn.execute(categories.insert(), new)
    return category_map(conn, provider_id, kind)


def category_map(conn: sa.Connection, provider_id: int, kind: str) -> dict[str, int]:
    return {
        r[0]: r[1]
        for r in conn.execute(
            sa.select(categories.c.provider_category_id, categories.c.id).where(
                categories.c.provider_id == provider_id, categories.c.kind == kind
            )
        )
    }


def retire_categories(
    conn: sa.Connection, provider_id: int, kind: str, seen: set[str], now: datetime, version: int
) -> None:
    """Soft-delete categories the provider no longer lists and that hold no live item."""
    table = ITEM_TABLES[kind]
    in_use = sa.select(table.c.category_id).where(
        table.c.provider_id == provider_id, table.c.deleted_at.is_(None)
    )
    conn.execute(
        categories.update()
        .where(
            categories.c.provider_id == provider_id,
            categories.c.kind == kind,
            categories.c.deleted_at.is_(None),
            categories.c.provider_category_id.not_in([*seen, UNCATEGORISED]),
            categories.c.id.not_in(in_use.where(table.c.category_id.is_not(None))),
        )
        .values(deleted_at=now, changed_version=version)
    )


def kinds_without_live_items(conn: sa.Connection, provider_id: int) -> set[str]:
    """The kinds of which the provider has no live item: a run that starts so writes every
    live row of them itself, and its sweep has nothing to look for there."""
    empty: set[str] = set()
    for kind, table in ITEM_TABLES.items():
        live = sa.select(table.c.id).where(
            table.c.provider_id == provider_id, table.c.deleted_at.is_(None)
        )
        if conn.execute(live.limit(1)).first() is None:
            empty.add(kind)
    return empty


@dataclass(slots=True)
class SweepResult:
    alive: int
    stale: int
    removed: int
    guarded: bool


def sweep_unseen(
    conn: sa.Connection,
    kind: str,
    provider_id: int,
    *,
    run_id: int,
    version: int,
    now: datetime,
    guard_ratio: float,
    guard_min_items: int,
) -> SweepResult:
    """Soft-delete rows a COMPLETE walk did not see, unless that is a mass removal.

    The guard: when the walk would remove more than ``guard_ratio`` of the live rows (and at
    least ``guard_min_items``), nothing is removed and the caller marks the run ``guarded``.
    A provider answering an empty list by mistake must not wipe a catalogue.
    """
    table = ITEM_TABLES[kind]
    live = sa.and_(table.c.provider_id == provider_id, table.c.deleted_at.is_(None))
    unseen = sa.or_(table.c.last_seen_run.is_(None), table.c.last_seen_run != run_id)
    # One pass for both counts (a first sync's sweep scanned its 64k movies twice).
    counted = conn.execute(
        sa.select(sa.func.count(), sa.func.count(sa.case((unseen, 1)))).where(live)
    ).one()
    alive, stale = int(counted[0]), int(counted[1])
    if stale == 0:
        return SweepResult(alive, 0, 0, False)
    if stale >= guard_min_items and stale > guard_ratio * alive:
        return SweepResult(alive, stale, 0, True)
    conn.execute(table.update().where(live, unseen).values(deleted_at=now, deleted_version=version))
    return SweepResult(alive, stale, stale, False)


def live_counts(conn: sa.Connection, provider_id: int) -> dict[str, int]:
    """Counts always read from the database (the stats of docs/api.md, "Sync")."""
    out: dict[str, int] = {}
    for name, kind in (("channels", "channel"), ("movies", "movie"), ("series", "series")):
        table = ITEM_TABLES[kind]
        out[name] = conn.execute(
            sa.select(sa.func.count()).where(
                table.c.provider_id == provider_id, table.c.deleted_at.is_(None)
            )
        ).scalar_one()
    # What ``/categories`` lists: our "Uncategorised" category of a kind only while it holds
    # a live item (docs/api.md, "Sync status").
    holds = sa.or_(
        *(
            sa.and_(
                categories.c.kind == kind,
                sa.exists().where(
                    ITEM_TABLES[kind].c.provider_id == provider_id,
                    ITEM_TABLES[kind].c.category_id == categories.c.id,
                    ITEM_TABLES[kind].c.deleted_at.is_(None),
                ),
            )
            for kind in ("channel", "movie", "series")
        )
    )
    out["categories"] = conn.execute(
        sa.select(sa.func.count()).where(
            categories.c.provider_id == provider_id,
            categories.c.deleted_at.is_(None),
            sa.or_(categories.c.provider_category_id != UNCATEGORISED, holds),
        )
    ).scalar_one()
    out["episodes"] = conn.execute(
        sa.select(sa.func.count()).where(episodes.c.provider_id == provider_id)
    ).scalar_one()
    return out


def delete_provider_data(
    conn: sa.Connection, provider_id: int, *, include_runs: bool = False
) -> dict[str, int]:
    """Hard-delete a provider's catalogue (``clean``); settings and run history stay."""
    deleted: dict[str, int] = {}
    deleted["episodes"] = conn.execute(
        episodes.delete().where(episodes.c.provider_id == provider_id)
    ).rowcount
    for name, kind in (("movies", "movie"), ("series", "series"), ("channels", "channel")):
        table = ITEM_TABLES[kind]
        deleted[name] = conn.execute(
            table.delete().where(table.c.provider_id == provider_id)
        ).rowcount
    deleted["categories"] = conn.execute(
        categories.delete().where(categories.c.provider_id == provider_id)
    ).rowcount
    conn.execute(programmes.delete().where(programmes.c.provider_id == provider_id))
    conn.execute(snapshots.delete().where(snapshots.c.provider_id == provider_id))
    if include_runs:
        conn.execute(sync_runs.delete().where(sync_runs.c.provider_id == provider_id))
        conn.execute(provider_macs.delete().where(provider_macs.c.provider_id == provider_id))
    return deleted

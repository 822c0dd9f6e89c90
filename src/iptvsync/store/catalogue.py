"""Writing the catalogue: batch upserts with stable ids, touch-only for unchanged rows, sweeps.

Every function takes an open connection inside the caller's transaction: one batch is one
transaction, so a crash loses at most the batch in flight and never leaves half a batch.
"""

from __future__ import annotations

import contextlib
import functools
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
import sqlalchemy as sa

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

UNCATEGORISED = "__uncategorised__"
UNCATEGORISED_TITLE = "Uncategorised"


@dataclass(slots=True)
class UpsertResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    new_keys: list[str] = field(default_factory=list)


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
    """Insert new rows, rewrite changed ones (or ones that come back), touch the rest.

    ``rows`` are column dicts with at least ``provider_item_id``, ``name`` and ``hash``; they
    must be unique by ``provider_item_id`` (the engine de-duplicates).
    """
    table = ITEM_TABLES[kind]
    result = UpsertResult()
    if not rows:
        return result
    writer: _Writer = _SqliteWriter(table) if conn.dialect.name == "sqlite" else _CoreWriter(table)
    existing = writer.existing(conn, provider_id, [r["provider_item_id"] for r in rows])

    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    touches: list[int] = []
    for r in rows:
        found = existing.get(r["provider_item_id"])
        if found is None:
            inserts.append(r)
            result.new_keys.append(r["provider_item_id"])
        elif found[1] != r["hash"] or found[2]:
            values = {k: v for k, v in r.items() if k != "provider_item_id"}
            if values.get("added_at") is None:
                values.pop("added_at", None)
            values.update(
                _id=found[0],
                updated_at=now,
                last_seen_run=run_id,
                changed_version=version,
                deleted_at=None,
                deleted_version=None,
            )
            updates.append(values)
            if found[2]:  # a title that comes back counts as new for early termination
                result.new_keys.append(r["provider_item_id"])
        else:
            touches.append(found[0])

    if inserts:
        # The same for every new row of the batch; ``added_at`` is the row's when it has one.
        same = {
            "provider_id": provider_id,
            "first_seen_at": now,
            "updated_at": now,
            "last_seen_run": run_id,
            "created_version": version,
            "changed_version": version,
        }
        writer.insert(conn, inserts, same, {"added_at": now})
    if updates:
        # executemany needs the same keys in every row: group by key set.
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for u in updates:
            groups.setdefault(tuple(sorted(u)), []).append(u)
        for cols, group in groups.items():
            writer.update(conn, [c for c in cols if c != "_id"], group)
    if touches:
        writer.touch(conn, touches, run_id)
    result.added = len(inserts)
    result.updated = len(updates)
    result.unchanged = len(touches)
    return result


Existing = dict[str, tuple[int, str, bool]]


class _Writer(Protocol):
    def existing(self, conn: sa.Connection, provider_id: int, keys: list[str]) -> Existing: ...
    def insert(
        self,
        conn: sa.Connection,
        rows: list[dict[str, Any]],
        same: dict[str, Any],
        fallback: dict[str, Any],
    ) -> None:
        """Insert ``rows`` completed with ``same`` (every row's value) and ``fallback`` (the
        value of a key a row lacks or holds None for)."""

    def update(
        self, conn: sa.Connection, columns: list[str], rows: list[dict[str, Any]]
    ) -> None: ...
    def touch(self, conn: sa.Connection, ids: list[int], run_id: int) -> None: ...


class _CoreWriter:
    """Writes through SQLAlchemy Core (PostgreSQL)."""

    def __init__(self, table: sa.Table) -> None:
        self.table = table

    def existing(self, conn: sa.Connection, provider_id: int, keys: list[str]) -> Existing:
        t = self.table
        query = sa.select(t.c.provider_item_id, t.c.id, t.c.hash, t.c.deleted_at).where(
            t.c.provider_id == provider_id, t.c.provider_item_id.in_(keys)
        )
        return {r[0]: (r[1], r[2], r[3] is not None) for r in conn.execute(query)}

    def insert(
        self,
        conn: sa.Connection,
        rows: list[dict[str, Any]],
        same: dict[str, Any],
        fallback: dict[str, Any],
    ) -> None:
        completed = [
            {**row, **same, **{k: row.get(k) or v for k, v in fallback.items()}} for row in rows
        ]
        conn.execute(self.table.insert(), completed)

    def update(self, conn: sa.Connection, columns: list[str], rows: list[dict[str, Any]]) -> None:
        t = self.table
        stmt = (
            t.update()
            .where(t.c.id == sa.bindparam("_id"))
            .values({c: sa.bindparam(c) for c in columns})
        )
        conn.execute(stmt, rows)

    def touch(self, conn: sa.Connection, ids: list[int], run_id: int) -> None:
        t = self.table
        conn.execute(t.update().where(t.c.id.in_(ids)).values(last_seen_run=run_id))


class _SqliteWriter:
    """Writes with the driver's own ``executemany`` (SQLite).

    A sync writes tens of thousands of rows; SQLAlchemy's per-row parameter processing cost
    ~60 µs a row, three times SQLite's own work. Values are stored exactly as SQLAlchemy stores
    them (its datetime text format, JSON text with None as ``null``, booleans as 0/1), so rows
    written here and rows written through SQLAlchemy read back the same. Key lists travel as
    one JSON parameter (``json_each``) instead of thousands of placeholders.

    New rows are added to the FTS5 index by one statement per batch (migration 0003: ~2.5 µs
    a row instead of ~25 through a row trigger). The batch holds the write lock (``BEGIN
    IMMEDIATE``), so the rows with an id above the largest one before the insert are exactly
    the batch's.
    """

    def __init__(self, table: sa.Table) -> None:
        self.table = table

    def existing(self, conn: sa.Connection, provider_id: int, keys: list[str]) -> Existing:
        sql = (
            f"SELECT provider_item_id, id, hash, deleted_at IS NOT NULL FROM {self.table.name} "
            "WHERE provider_id = ? AND provider_item_id IN (SELECT value FROM json_each(?))"
        )
        with driver_cursor(conn) as cursor:
            found = cursor.execute(sql, (provider_id, orjson.dumps(keys).decode())).fetchall()
        return {r[0]: (r[1], r[2], bool(r[3])) for r in found}

    def insert(
        self,
        conn: sa.Connection,
        rows: list[dict[str, Any]],
        same: dict[str, Any],
        fallback: dict[str, Any],
    ) -> None:
        name = self.table.name
        last = conn.exec_driver_sql(f"SELECT max(id) FROM {name}").scalar() or 0
        shape = _shape(self.table)
        with driver_cursor(conn) as cursor:
            cursor.executemany(shape.sql, map(shape.compile(same, fallback), rows))
        conn.exec_driver_sql(
            f"INSERT INTO {name}_fts(rowid, name) SELECT id, name FROM {name} WHERE id > ?",
            (last,),
        )

    def update(self, conn: sa.Connection, columns: list[str], rows: list[dict[str, Any]]) -> None:
        convert = [(c, _sqlite_converter(self.table.c[c])) for c in columns]
        params = [(*(f(row[c]) for c, f in convert), row["_id"]) for row in rows]
        assignments = ", ".join(f"{c} = ?" for c in columns)
        with driver_cursor(conn) as cursor:
            cursor.executemany(f"UPDATE {self.table.name} SET {assignments} WHERE id = ?", params)

    def touch(self, conn: sa.Connection, ids: list[int], run_id: int) -> None:
        conn.exec_driver_sql(
            f"UPDATE {self.table.name} SET last_seen_run = ? "
            "WHERE id IN (SELECT value FROM json_each(?))",
            (run_id, orjson.dumps(ids).decode()),
        )


@contextlib.contextmanager
def driver_cursor(conn: sa.Connection) -> Iterator[Any]:
    """A cursor of the DBAPI connection under ``conn`` (same transaction), closed after use."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        yield cursor
    finally:
        cursor.close()


def insert_rows(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """``INSERT`` many rows: with the driver's ``executemany`` on SQLite (values stored as
    SQLAlchemy stores them, see ``_SqliteWriter``), through SQLAlchemy Core elsewhere."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(table.insert(), rows)
        return
    shape = _shape(table)
    with driver_cursor(conn) as cursor:
        cursor.executemany(shape.sql, map(shape.values, rows))


class _RowShape:
    """How a table's rows become driver parameters on SQLite (every column but ``id``)."""

    def __init__(self, table: sa.Table) -> None:
        self.columns = [c for c in table.columns if c.name != "id"]
        names = [c.name for c in self.columns]
        marks = ", ".join("?" * len(self.columns))
        self.sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"
        self.values = self.compile({}, {})

    def compile(
        self, same: dict[str, Any], fallback: dict[str, Any]
    ) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
        """``row → parameters``: each column's value converted as SQLAlchemy stores it; a key
        the row lacks gets what SQLAlchemy would insert; ``same`` and ``fallback`` as for
        ``_Writer.insert``, converted once here.

        Per row: one dict merge (the defaults, the row, then ``same``), the few columns whose
        stored form differs from the Python value converted, and ``itemgetter`` for the
        tuple, ~1.6 µs a row where a loop over the 21 columns cost ~3 (an ``exec``-generated
        function was dropped for ~1.5 µs, docs/benchmarks.md, issue 18)."""
        defaults: dict[str, Any] = {}
        constants: dict[str, Any] = {}
        converted: list[tuple[str, Callable[[Any], Any], Any]] = []  # per row: name, f, fallback
        for column in self.columns:
            name, convert = column.name, _sqlite_converter(column)
            if name in same:
                constants[name] = convert(same[name])
                continue
            defaults[name] = _default(column)
            if name in fallback:
                converted.append((name, convert, convert(fallback[name])))
            elif convert is not _same:
                converted.append((name, convert, _NO_FALLBACK))
        getter = operator.itemgetter(*(c.name for c in self.columns))

        def values(row: dict[str, Any]) -> tuple[Any, ...]:
            merged = {**defaults, **row, **constants}
            for name, convert, value in converted:
                given = merged[name]
                if value is _NO_FALLBACK:
                    merged[name] = convert(given)
                else:  # a fallback stands in for a missing or empty value
                    merged[name] = convert(given) if given else value
            return getter(merged)

        return values


#: ``compile``'s mark for a converted column without a fallback.
_NO_FALLBACK = object()


@functools.cache
def _shape(table: sa.Table) -> _RowShape:
    return _RowShape(table)


def sqlite_datetime(value: Any) -> Any:
    """SQLAlchemy's SQLite DATETIME text, ``YYYY-MM-DD HH:MM:SS.ffffff``, of the value in UTC
    (as ``UtcDateTime`` binds it: an aware value is converted, a naive one taken as it is):
    ``isoformat`` pads the year to four digits and, asked for microseconds, always writes six;
    the offset it appends is cut off."""
    if value is None:
        return None
    if value.tzinfo is not None and value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def _sqlite_json(value: Any) -> str | None:
    if value is _ABSENT:  # a key the row does not have: SQLAlchemy inserts SQL NULL
        return None
    return orjson.dumps(value).decode()  # None → 'null', as SQLAlchemy's JSON type stores it


def _sqlite_bool(value: Any) -> Any:
    return None if value is None else int(bool(value))


def _same(value: Any) -> Any:
    return value


def _sqlite_converter(column: sa.Column[Any]) -> Callable[[Any], Any]:
    if isinstance(column.type, sa.DateTime | UtcDateTime):
        return sqlite_datetime
    if isinstance(column.type, sa.JSON):
        return _sqlite_json
    if isinstance(column.type, sa.Boolean):
        return _sqlite_bool
    return _same


#: A JSON column's value for a key the row does not have (a None given is JSON ``null``).
_ABSENT = object()


def _default(column: sa.Column[Any]) -> Any:
    """The Python value SQLAlchemy would insert for a key a row does not have."""
    default = column.default
    if default is None or not getattr(default, "is_scalar", False):
        return _ABSENT if isinstance(column.type, sa.JSON) else None
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
    for key, title, censored, position in records:
        row = existing.get(key)
        if row is None:
            conn.execute(
                categories.insert().values(
                    provider_id=provider_id,
                    kind=kind,
                    provider_category_id=key,
                    title=title,
                    censored=censored,
                    position=position,
                    created_version=version,
                    changed_version=version,
                )
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

"""A sync's bulk writes on a SQLite file, without SQLAlchemy (docs/sync.md, "The write
process").

A sync writes tens of thousands of items and hundreds of thousands of programmes; on SQLite
they go through the driver's own ``executemany`` (SQLAlchemy's per-row parameter processing
cost ~60 µs a row, three times SQLite's own work). This module is that path, and it imports
no SQLAlchemy: the write process runs it on its own ``sqlite3`` connection, and SQLAlchemy
would be ~20 MB of that process's memory (docs/benchmarks.md, issue 21). The sync's own
process runs the same code on its engine's driver connection (``store/catalogue.py``), so
both write the same rows.

Values are stored exactly as SQLAlchemy stores them (its datetime text format, JSON text with
None as ``null``, booleans as 0/1), so rows written here and rows written through SQLAlchemy
read back the same (``tests/store/test_catalogue_writer.py``). A table's shape (its columns,
their conversions and defaults) comes from the SQLAlchemy models, through
``catalogue.row_shape``, and travels to the write process as plain data.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import operator
import sqlite3
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import orjson

from iptvsync.store import index_build

#: Our "Uncategorised" category's key, for items with no or an unknown provider category.
UNCATEGORISED = "__uncategorised__"

# ``sqlite3`` binds int, float and str at once, and looks every other value up as something to
# adapt, None included: a search of its adapters, then ``__adapt__`` asked of its protocol,
# which raises and formats an AttributeError, then ``__conform__`` of the value. An item row
# holds four or five Nones: ~0.45 µs each, 3.4 % of the write process's instructions. With an
# adapter of its own, None is found at the first step. ``{}.get`` is that adapter because it
# is C: None for None, without a Python frame per value (docs/benchmarks.md, session 24).
# Process-wide, and the same NULL as before: ``tests/store/test_bulk.py`` holds both ways of
# binding to the same rows.
sqlite3.register_adapter(type(None), cast("Callable[[None], None]", {}.get))


class _Mark(enum.Enum):
    """Markers that must stay themselves through pickling (an enum member does)."""

    ABSENT = "absent"  # a key the row does not have: SQLAlchemy inserts SQL NULL for JSON


ABSENT = _Mark.ABSENT


def sqlite_datetime(value: Any) -> Any:
    """SQLAlchemy's SQLite DATETIME text, ``YYYY-MM-DD HH:MM:SS.ffffff``, of the value in UTC
    (as ``UtcDateTime`` binds it: an aware value is converted, a naive one taken as it is):
    ``isoformat`` pads the year to four digits and, asked for microseconds, always writes six;
    the offset it appends is cut off."""
    if value is None:
        return None
    if value.tzinfo is not None and value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # orjson writes ``isoformat``'s text (``2026-03-01T12:00:00[.ffffff][+00:00]``) in half
    # its time: ``isoformat`` formats through C's printf (docs/benchmarks.md, session 24).
    text = orjson.dumps(value).decode()
    return f"{text[1:11]} {text[12:20]}{text[20:27] if text[20] == '.' else '.000000'}"


def sqlite_json(value: Any) -> str | None:
    if value is ABSENT:
        return None
    return orjson.dumps(value).decode()  # None → 'null', as SQLAlchemy's JSON type stores it


def sqlite_bool(value: Any) -> Any:
    return None if value is None else int(bool(value))


def same(value: Any) -> Any:
    return value


class RowShape:
    """How a table's rows become driver parameters (every column but ``id``): plain data,
    pickled to the write process as its columns, their converters and their defaults."""

    def __init__(
        self,
        table: str,
        columns: Sequence[str],
        converters: Sequence[Callable[[Any], Any]],
        defaults: Sequence[Any],
    ) -> None:
        # Plain ``str``: SQLAlchemy's names are a subclass of its own, which would make
        # unpickling a shape import SQLAlchemy in the write process.
        self.table = str(table)
        self.columns = tuple(str(c) for c in columns)
        self.converters = tuple(converters)
        self.defaults = tuple(defaults)
        self.by_name = dict(zip(self.columns, self.converters, strict=True))
        marks = ", ".join("?" * len(self.columns))
        self.sql = f"INSERT INTO {table} ({', '.join(self.columns)}) VALUES ({marks})"
        self.values = self.compile({}, {})

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        return RowShape, (self.table, self.columns, self.converters, self.defaults)

    def compile(
        self, constant: dict[str, Any], fallback: dict[str, Any]
    ) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
        """``row → parameters``: each column's value converted as SQLAlchemy stores it; a key
        the row lacks gets what SQLAlchemy would insert; ``constant`` (every row's value) and
        ``fallback`` (the value of a key a row lacks or holds None for) converted once here.

        Per row: one dict merge (the defaults, the row, then the constants), the few columns
        whose stored form differs from the Python value converted, and ``itemgetter`` for the
        tuple, ~1.6 µs a row where a loop over the 21 columns cost ~3 (an ``exec``-generated
        function was dropped for ~1.5 µs, docs/benchmarks.md, issue 18). A converted column
        holding None, as most rows' ``category_ids`` and ``deleted_at`` do, takes its stored
        form converted once here, not per row (a movie: 4.5 → 3.7 µs, issue 21)."""
        defaults: dict[str, Any] = {}
        constants: dict[str, Any] = {}
        # Per row: the name, its converter, and what a missing or empty value (a fallback) or
        # a None (no fallback) is stored as.
        with_fallback: list[tuple[str, Callable[[Any], Any], Any]] = []
        without: list[tuple[str, Callable[[Any], Any], Any]] = []
        for name, convert, default in zip(
            self.columns, self.converters, self.defaults, strict=True
        ):
            if name in constant:
                constants[name] = convert(constant[name])
                continue
            defaults[name] = default
            if name in fallback:
                with_fallback.append((name, convert, convert(fallback[name])))
            elif convert is not same:
                without.append((name, convert, convert(None)))
        getter = operator.itemgetter(*self.columns)

        def values(row: dict[str, Any]) -> tuple[Any, ...]:
            merged = {**defaults, **row, **constants}
            for name, convert, stored in with_fallback:
                given = merged[name]
                merged[name] = convert(given) if given else stored
            for name, convert, stored in without:
                given = merged[name]
                merged[name] = stored if given is None else convert(given)
            return getter(merged)

        return values


@dataclass(slots=True)
class UpsertResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    new_keys: list[str] = field(default_factory=list)


#: provider_item_id → (id, hash, deleted)
Existing = dict[str, tuple[int, str, bool]]


class ItemWriter(Protocol):
    """The four statements of an upsert, on one connection inside the caller's transaction."""

    def existing(self, provider_id: int, keys: list[str]) -> Existing: ...

    def insert(
        self, rows: list[dict[str, Any]], constant: dict[str, Any], fallback: dict[str, Any]
    ) -> None:
        """Insert ``rows`` completed with ``constant`` (every row's value) and ``fallback``
        (the value of a key a row lacks or holds None for)."""

    def update(self, columns: list[str], rows: list[dict[str, Any]]) -> None: ...

    def touch(self, ids: list[int], run_id: int) -> None: ...


def upsert(
    writer: ItemWriter,
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
    result = UpsertResult()
    if not rows:
        return result
    existing = writer.existing(provider_id, [r["provider_item_id"] for r in rows])

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
        constant = {
            "provider_id": provider_id,
            "first_seen_at": now,
            "updated_at": now,
            "last_seen_run": run_id,
            "created_version": version,
            "changed_version": version,
        }
        writer.insert(inserts, constant, {"added_at": now})
    if updates:
        # executemany needs the same keys in every row: group by key set.
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for u in updates:
            groups.setdefault(tuple(sorted(u)), []).append(u)
        for cols, group in groups.items():
            writer.update([c for c in cols if c != "_id"], group)
    if touches:
        writer.touch(touches, run_id)
    result.added = len(inserts)
    result.updated = len(updates)
    result.unchanged = len(touches)
    return result


class SqliteItemWriter:
    """``ItemWriter`` with the driver's own ``executemany`` on a ``sqlite3`` connection.

    New rows are added to the FTS5 index by one statement per batch (migration 0003: ~2.5 µs
    a row instead of ~25 through a row trigger). The batch holds the write lock (``BEGIN
    IMMEDIATE``), so the rows with an id above the largest one before the insert are exactly
    the batch's. Key lists travel as one JSON parameter (``json_each``) instead of thousands
    of placeholders.
    """

    def __init__(self, conn: sqlite3.Connection, shape: RowShape) -> None:
        self.conn = conn
        self.shape = shape

    def existing(self, provider_id: int, keys: list[str]) -> Existing:
        sql = (
            f"SELECT provider_item_id, id, hash, deleted_at IS NOT NULL FROM {self.shape.table} "
            "WHERE provider_id = ? AND provider_item_id IN (SELECT value FROM json_each(?))"
        )
        found = self.conn.execute(sql, (provider_id, orjson.dumps(keys).decode())).fetchall()
        return {r[0]: (r[1], r[2], bool(r[3])) for r in found}

    def insert(
        self, rows: list[dict[str, Any]], constant: dict[str, Any], fallback: dict[str, Any]
    ) -> None:
        name = self.shape.table
        last = self.conn.execute(f"SELECT max(id) FROM {name}").fetchone()[0] or 0
        self.conn.executemany(self.shape.sql, map(self.shape.compile(constant, fallback), rows))
        self.conn.execute(
            f"INSERT INTO {name}_fts(rowid, name) SELECT id, name FROM {name} WHERE id > ?",
            (last,),
        )

    def update(self, columns: list[str], rows: list[dict[str, Any]]) -> None:
        convert = [(c, self.shape.by_name[c]) for c in columns]
        params = [(*(f(row[c]) for c, f in convert), row["_id"]) for row in rows]
        assignments = ", ".join(f"{c} = ?" for c in columns)
        self.conn.executemany(f"UPDATE {self.shape.table} SET {assignments} WHERE id = ?", params)

    def touch(self, ids: list[int], run_id: int) -> None:
        self.conn.execute(
            f"UPDATE {self.shape.table} SET last_seen_run = ? "
            "WHERE id IN (SELECT value FROM json_each(?))",
            (run_id, orjson.dumps(ids).decode()),
        )


#: The columns a programme row holds after ``provider_id``, in ``ProgrammeRecord``'s order.
PROGRAMME_COLUMNS = (
    "channel_key",
    "start",
    "stop",
    "title",
    "subtitle",
    "description",
    "category",
    "episode",
)
_PROGRAMME_WIDTH = len(PROGRAMME_COLUMNS) + 1


def _programmes_insert(rows: int) -> str:
    """The INSERT of ``rows`` programmes in one statement."""
    one = f"({', '.join('?' * _PROGRAMME_WIDTH)})"
    columns = ", ".join(PROGRAMME_COLUMNS)
    return f"INSERT INTO programmes (provider_id, {columns}) VALUES {', '.join([one] * rows)}"


#: Programmes one statement inserts: one execution for 50 rows instead of 50 took 22 % of the
#: insert's CPU off (2.16-2.17 against 2.76-2.80 µs a programme into a fresh table, three
#: alternated pairs; docs/benchmarks.md, session 26). 450 parameters, far under SQLite's
#: limit (32,766).
PROGRAMMES_A_STATEMENT = 50
_PROGRAMMES_INSERT_MANY = _programmes_insert(PROGRAMMES_A_STATEMENT)

Programme = tuple[str, datetime, datetime, str, Any, Any, Any, Any]


def insert_programmes(
    conn: sqlite3.Connection, provider_id: int, rows: Sequence[Programme]
) -> None:
    """Insert ``rows`` (``ProgrammeRecord``s or tuples in ``PROGRAMME_COLUMNS`` order).

    A guide is hundreds of thousands of programmes, so the rows stay tuples from the parser to
    the driver. Each time's text is remembered (``_TIME_TEXTS``, across batches: a batch holds
    a few channels, and each channel's schedule its own marks): a guide's programmes start and
    end on the same few times on every channel (a 3-day guide of 5,000 channels: 510k times,
    under a thousand distinct), and the text costs ~0.4 µs where a lookup inlined here costs
    ~0.05 (docs/benchmarks.md). Equal datetimes are the same instant, and ``sqlite_datetime``
    writes an instant's UTC text, so a hit is exact."""
    if not rows:
        return
    texts = _TIME_TEXTS
    if len(texts) > _TIME_TEXTS_MAX:  # a guide of odd times: start again rather than grow
        texts.clear()
    known = texts.get
    # Every row's values in one flat list, cut into statements of ``PROGRAMMES_A_STATEMENT``
    # rows; the rest in one statement of its own. Rows keep their order, and so their ids.
    values = [
        value
        for key, start, stop, title, sub, desc, cat, ep in rows
        for value in (
            provider_id,
            key,
            known(start) or _remember(texts, start),
            known(stop) or _remember(texts, stop),
            title,
            sub,
            desc,
            cat,
            ep,
        )
    ]
    step = PROGRAMMES_A_STATEMENT * _PROGRAMME_WIDTH
    whole = len(rows) // PROGRAMMES_A_STATEMENT * step
    if whole:
        conn.executemany(
            _PROGRAMMES_INSERT_MANY, [values[i : i + step] for i in range(0, whole, step)]
        )
    if whole < len(values):
        conn.execute(_programmes_insert(len(rows) % PROGRAMMES_A_STATEMENT), values[whole:])


#: ``insert_programmes``' remembered time texts, and how many it keeps at most (~100 B each).
_TIME_TEXTS: dict[datetime, str] = {}
_TIME_TEXTS_MAX = 50_000


def _remember(texts: dict[datetime, str], value: datetime) -> str:
    text = texts[value] = sqlite_datetime(value)
    return text


#: Every connection's settings (``store/db.py`` applies them to the engine's connections).
PRAGMAS = (
    # WAL: readers never block the writer and the writer never blocks readers.
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
    # 8 MiB of page cache per connection: enough for the hot index pages; a pool of
    # connections at 64 MiB each was most of a sync's peak memory.
    "PRAGMA cache_size=-8192",
    "PRAGMA temp_store=MEMORY",
    # Checkpoint every 40 MB of WAL instead of 4 MB: a sync batch dirties a few thousand
    # pages, and checkpointing after every commit copied each of them to the database again
    # (with an fsync) — half of the write cost. Readers are unaffected.
    "PRAGMA wal_autocheckpoint=10000",
    "PRAGMA journal_size_limit=67108864",
)


def apply_pragmas(conn: sqlite3.Connection, *extra: str) -> None:
    cursor = conn.cursor()
    for pragma in (*PRAGMAS, *extra):
        cursor.execute(pragma)
    cursor.close()


def open_file(path: str, *pragmas: str) -> sqlite3.Connection:
    """A connection of its own to the database file ``path``, with the usual settings and
    ``pragmas``; autocommit (the caller says BEGIN)."""
    return index_build.connect(path, (*PRAGMAS, *pragmas))


class BulkTx:
    """The bulk writes of one transaction, whichever connection holds it: ``writer(kind)``
    gives the kind's ``ItemWriter`` and ``programmes`` inserts a guide's rows."""

    def __init__(
        self,
        writer: Callable[[str], ItemWriter],
        programmes: Callable[[int, Sequence[Programme]], None],
    ) -> None:
        self.writer = writer
        self.insert_programmes = programmes


class BulkTarget(Protocol):
    """Where bulk writes go: ``begin()`` is one transaction (BEGIN IMMEDIATE on SQLite)."""

    def begin(self) -> contextlib.AbstractContextManager[BulkTx]: ...

    def build_deferred_indexes(self, only: Collection[str] | None = None) -> int:
        """Build the read indexes a first load dropped (``store/first_load.py``), or ``only``
        those of them named; how many."""


class SqliteFile:
    """A SQLite database file as the write process holds it: one connection with the usual
    settings (and its own page cache size), one transaction at a time."""

    def __init__(self, path: str, shapes: dict[str, RowShape], *, cache_kib: int) -> None:
        """``shapes``: each item kind's table shape (``catalogue.bulk_shapes``)."""
        self.path = path
        self.shapes = shapes
        self.conn = open_file(path, f"PRAGMA cache_size=-{cache_kib}")

    @contextlib.contextmanager
    def begin(self) -> Iterator[BulkTx]:
        conn, shapes = self.conn, self.shapes
        conn.execute("BEGIN IMMEDIATE")  # queue for the write lock (store/db.py says why)
        try:
            yield BulkTx(
                lambda kind: SqliteItemWriter(conn, shapes[kind]),
                functools.partial(insert_programmes, conn),
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def build_deferred_indexes(self, only: Collection[str] | None = None) -> int:
        return index_build.build(self.path, only)

    def close(self) -> None:
        self.conn.close()

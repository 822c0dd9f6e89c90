"""A first load's read indexes (``store/first_load.py``): a sync that finds an item table empty
loads it without its read indexes and builds them when its writes are over. A fast path: these
tests hold it to the plain one (the same rows, the same schema after), and to what a sync owes
its user when it fails or dies half-way (every index back, nothing lost)."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from iptvsync.fakes.stalker import StalkerFakeConfig
from iptvsync.providers.registry import make_client
from iptvsync.records import Kind
from iptvsync.settings import Settings
from iptvsync.snapshot.build import build_snapshot
from iptvsync.store import first_load, index_build
from iptvsync.store import providers as provider_store
from iptvsync.store.bulk import PRAGMAS
from iptvsync.store.catalogue import defer_read_indexes, upsert_items
from iptvsync.store.db import create_db_engine
from iptvsync.store.models import ITEM_TABLES, programmes
from iptvsync.store.open import open_database
from iptvsync.store.providers import utcnow
from iptvsync.sync import engine, indexes
from iptvsync.sync.engine import SyncContext, execute_run
from iptvsync.sync.service import prepare_run
from iptvsync.sync.write_process import WriteProcess
from tests.sync.test_write_process import Calls, Site

READ_INDEXES = (
    "SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
    "ORDER BY name"
)


def _settings(tmp_path: Path, name: str, *, defer: bool, process: bool = False) -> Settings:
    return Settings(
        data_dir=tmp_path / name,
        database_url=f"sqlite:///{(tmp_path / name / 'iptvsync.db').as_posix()}",
        batch_size=200,
        write_process=process,
        defer_first_load_indexes=defer,
    )


def _indexes(site: Site) -> list[tuple[Any, ...]]:
    with site.db.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(READ_INDEXES)]


def _new_database(tmp_path: Path) -> tuple[Settings, list[tuple[Any, ...]], str]:
    """A migrated database with no rows: its settings, its read indexes (the schema's) and its
    file's path."""
    settings = _settings(tmp_path, "db", defer=True)
    db = open_database(settings)
    with db.connect() as conn:
        schema = [tuple(r) for r in conn.exec_driver_sql(READ_INDEXES)]
    db.dispose()
    return settings, schema, str(tmp_path / "db" / "iptvsync.db")


def _item_indexes(conn: sa.Connection | sqlite3.Connection, table: str) -> set[str]:
    sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL"
    if isinstance(conn, sqlite3.Connection):
        return {r[0] for r in conn.execute(sql, (table,))}
    return {r[0] for r in conn.exec_driver_sql(sql, (table,))}


def _watch_defer(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """What each run's ``defer_indexes`` returned: the tables it loads without indexes."""
    returned: list[list[str]] = []
    defer = indexes.defer_indexes

    def watched(db: Any) -> list[str]:
        returned.append(defer(db))
        return returned[-1]

    monkeypatch.setattr(indexes, "defer_indexes", watched)
    return returned


@pytest.fixture
async def sites(tmp_path: Path) -> AsyncIterator[dict[str, Site]]:
    made = {
        name: Site(_settings(tmp_path, name, defer=name == "deferred"), StalkerFakeConfig())
        for name in ("plain", "deferred")
    }
    yield made
    for site in made.values():
        await site.aclose()


async def test_a_first_sync_loads_without_read_indexes_and_ends_with_all_of_them(
    sites: dict[str, Site], monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = _indexes(sites["plain"])  # a migrated database's, before any sync
    assert {t for t, _n, _s in schema} >= {"movies", "series", "channels"}
    # What each site's movie table had while its walk stored the rows (at the VOD sweep).
    during: dict[str, set[str]] = {}
    sweep = engine._sweep

    def watched(ctx: Any, state: Any, kinds: Any, *args: Any) -> Any:
        with ctx.db.connect() as conn:
            name = "deferred" if ctx.settings.defer_first_load_indexes else "plain"
            during.setdefault(name, _item_indexes(conn, "movies"))
        return sweep(ctx, state, kinds, *args)

    monkeypatch.setattr(engine, "_sweep", watched)
    runs = {name: await site.full_sync() for name, site in sites.items()}
    for run in runs.values():
        assert run["status"] == "succeeded", run
    assert runs["deferred"]["counts"] == runs["plain"]["counts"]
    assert runs["deferred"]["counts"]["movies"]["added"] > 0

    # The deferred load really wrote without them; the plain one with every one.
    assert during["plain"] == {n for t, n, _s in schema if t == "movies"}
    # Only the partial indexes stay: a load's rows hardly enter them (``first_load``).
    partial = {n for t, n, sql in schema if t == "movies" and " WHERE " in sql.upper()}
    assert partial == {"ix_movies_deleted_version", "ix_movies_multi_category"}
    assert {n for n in during["deferred"] if n.startswith("ix_")} == partial
    # Both end with the same rows and the migrated schema's indexes, statement for statement.
    for table in (*ITEM_TABLES.values(), programmes):
        assert sites["deferred"].rows(table), table.name
        assert sites["deferred"].rows(table) == sites["plain"].rows(table), table.name
    for site in sites.values():
        assert _indexes(site) == schema
        with site.db.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM deferred_indexes").scalar() == 0
    # Search was kept current by the batches themselves (it is not deferred): FTS5's own
    # check of its index against the rows, and the same answers as the plain load's.
    found = {}
    for name, site in sites.items():
        with site.db.begin() as conn:
            for table in ("movies", "series", "channels"):
                conn.exec_driver_sql(
                    f"INSERT INTO {table}_fts({table}_fts) VALUES ('integrity-check')"
                )
            found[name] = sorted(
                r[0]
                for r in conn.exec_driver_sql(
                    "SELECT m.provider_item_id FROM movies_fts "
                    "JOIN movies m ON m.id = movies_fts.rowid WHERE movies_fts MATCH 'the'"
                )
            )
    assert found["deferred"] and found["deferred"] == found["plain"]


async def test_an_incremental_sync_keeps_its_indexes(
    sites: dict[str, Site], monkeypatch: pytest.MonkeyPatch
) -> None:
    site = sites["deferred"]
    assert (await site.full_sync())["status"] == "succeeded"
    schema = _indexes(site)
    deferred = _watch_defer(monkeypatch)
    assert (await site.sync())["status"] == "succeeded"
    assert deferred == [[]]  # no table was empty: nothing dropped
    assert _indexes(site) == schema


async def test_a_failed_first_load_still_ends_with_every_index(
    sites: dict[str, Site], monkeypatch: pytest.MonkeyPatch
) -> None:
    site = sites["deferred"]
    schema = _indexes(sites["plain"])

    sweep = engine._sweep

    def broken(ctx: Any, state: Any, kinds: list[Kind], *args: Any) -> Any:
        if Kind.MOVIE in kinds:  # the run fails after its VOD rows are written
            raise RuntimeError("a bug in the sweep")
        return sweep(ctx, state, kinds, *args)

    monkeypatch.setattr(engine, "_sweep", broken)
    run = await site.full_sync()
    assert run["status"] == "failed", run
    assert run["error"]["code"] == "internal_error"
    assert site.rows(ITEM_TABLES["movie"])  # what it wrote is kept
    assert _indexes(site) == schema
    with site.db.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM deferred_indexes").scalar() == 0


def test_a_table_with_rows_keeps_its_indexes(tmp_path: Path) -> None:
    """Another provider's rows: that table is not loaded "first", and its reads keep their
    indexes; the empty ones are deferred."""
    settings = _settings(tmp_path, "db", defer=True)
    db = open_database(settings)
    try:
        with db.begin() as conn:
            provider = provider_store.create_provider(
                conn, {"name": "x", "kind": "m3u", "url": "http://playlist.test/x.m3u"}
            )
            row = {"provider_item_id": "m1", "name": "A", "hash": "h"}
            upsert_items(conn, "movie", provider, [row], run_id=1, version=1, now=utcnow())
            before = _item_indexes(conn, "movies")
            deferred = defer_read_indexes(conn)
        assert deferred == ["channels", "series", "programmes"]
        with db.connect() as conn:
            assert _item_indexes(conn, "movies") == before
            left = {n for n in _item_indexes(conn, "series") if n.startswith("ix_")}
            assert left == {"ix_series_deleted_version", "ix_series_multi_category"}  # partial
            unique = [r[1] for r in conn.exec_driver_sql("PRAGMA index_list('series')") if r[2]]
            assert unique  # the unique key (what the upsert looks rows up by) stays
            kept = conn.exec_driver_sql("SELECT DISTINCT table_name FROM deferred_indexes")
            assert sorted(r[0] for r in kept) == ["channels", "programmes", "series"]
    finally:
        db.dispose()


def test_indexes_a_dead_sync_left_unbuilt_are_built_when_the_database_opens(
    tmp_path: Path,
) -> None:
    settings, schema, path = _new_database(tmp_path)
    # A sync dropped them and died (nothing else ran: the process is gone).
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    assert first_load.defer(conn) == ["channels", "movies", "series", "programmes"]
    conn.execute("COMMIT")
    # One of them was built by hand meanwhile: building again skips it.
    one = next(sql for _t, name, sql in schema if name == "ix_movies_live_name")
    conn.execute(one)
    conn.close()

    db = open_database(settings)
    try:
        with db.connect() as conn:
            assert [tuple(r) for r in conn.exec_driver_sql(READ_INDEXES)] == schema
            assert conn.exec_driver_sql("SELECT count(*) FROM deferred_indexes").scalar() == 0
    finally:
        db.dispose()


@pytest.mark.postgresql_only
def test_postgresql_defers_nothing(db: sa.Engine) -> None:
    with db.begin() as conn:
        assert defer_read_indexes(conn) == []


async def test_a_large_load_builds_the_snapshots_indexes_first_and_the_rest_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a write process stored the rows, it builds the indexes the snapshot's reads walk
    after its last batch (its memory, not this process's, holds the sorts), and goes; a
    process of their own builds the rest while the snapshot is built. The run ends with the
    schema's indexes and a plain load's rows."""
    plain = Site(_settings(tmp_path, "plain", defer=False), StalkerFakeConfig())
    site = Site(_settings(tmp_path, "child", defer=True, process=True), StalkerFakeConfig())
    commands: list[list[str]] = []
    run_apart = indexes._run

    def watched(command: list[str]) -> Any:
        commands.append(command)
        return run_apart(command)

    monkeypatch.setattr(indexes, "_run", watched)
    at_snapshot: dict[str, Any] = {}

    async def on_changed(provider_id: int) -> None:
        with site.db.connect() as conn:
            at_snapshot["indexes"] = set().union(
                *(_item_indexes(conn, t.name) for t in ITEM_TABLES.values())
            )
            at_snapshot["guide"] = _item_indexes(conn, "programmes")
        # The rest are built while the snapshot's step runs, not after it.
        for _ in range(500):
            with site.db.connect() as conn:
                left = conn.exec_driver_sql("SELECT count(*) FROM deferred_indexes").scalar()
            if not left:
                break
            await asyncio.sleep(0.01)
        at_snapshot["left"] = left

    try:
        schema = _indexes(plain)
        calls = Calls(monkeypatch)
        run = await _full_sync(site, on_changed)
        assert run["status"] == "succeeded", run
        assert calls.names.count("write_items") >= 3
        # Two steps in the write process: the snapshot's three near the walk's end, and the
        # guide's index once its programmes are all written (the guide goes beside the walk).
        steps = [calls.args[i] for i, n in enumerate(calls.names) if n == "build_indexes"]
        assert sorted(steps) == sorted([(first_load.GUIDE_ORDER,), (first_load.SNAPSHOT_ORDER,)])
        assert set(first_load.GUIDE_ORDER) <= at_snapshot["guide"]  # not left for the end
        built = calls.args.index((first_load.SNAPSHOT_ORDER,))
        # This small load is within ``EARLY_PAGES`` of its end as soon as its write process
        # is up: the three were built before its last batches, which went into them.
        assert "write_items" in calls.names[built + 1 :]
        assert set(first_load.SNAPSHOT_ORDER) <= at_snapshot["indexes"]
        assert not at_snapshot["indexes"] >= {n for _t, n, _s in schema if n.startswith("ix_")}
        path = str(tmp_path / "child" / "iptvsync.db")
        assert commands == [[sys.executable, "-I", "-S", index_build.__file__, path]]
        assert at_snapshot["left"] == 0
        assert _indexes(site) == schema
        assert (await plain.full_sync())["counts"] == run["counts"]
        for table in ITEM_TABLES.values():
            assert site.rows(table) == plain.rows(table), table.name
    finally:
        await site.aclose()
        await plain.aclose()


async def _full_sync(site: Site, on_changed: Any) -> dict[str, Any]:
    """A full sync of ``site`` whose runner builds a snapshot (``on_changed``) at its end."""
    run_id, _ = prepare_run(site.db, site.settings, site.provider_id, mode="full")
    ctx = SyncContext(
        db=site.db,
        settings=site.settings,
        http=site.http,
        make_client=make_client,
        on_changed=on_changed,
    )
    return await execute_run(ctx, run_id)


async def _no_snapshot(provider_id: int) -> None:
    """A runner's snapshot hook that builds nothing."""


async def test_without_a_snapshot_the_write_process_builds_them_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A runner that builds no snapshot at the end (no ``on_changed``): nothing to build the
    indexes beside, so the write process builds them all after its last batch, and no other
    process starts."""
    site = Site(_settings(tmp_path, "child", defer=True, process=True), StalkerFakeConfig())
    commands: list[list[str]] = []
    monkeypatch.setattr(indexes, "_run", commands.append)
    try:
        calls = Calls(monkeypatch)
        run = await site.full_sync()
        assert run["status"] == "succeeded", run
        built = calls.names.index("build_indexes")
        assert calls.names.count("build_indexes") == 1
        assert calls.args[built] == ()
        assert built > max(i for i, name in enumerate(calls.names) if name == "write_items")
        assert commands == []
        with site.db.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM deferred_indexes").scalar() == 0
    finally:
        await site.aclose()


class _Writer:
    started = True


def test_the_snapshots_indexes_are_due_once_near_a_large_loads_end() -> None:
    """``LoadIndexes.early``: due when the streams' pages left (by their totals and the pages
    delivered; a finished stream leaves none) are ``early_pages`` or fewer but some, once;
    never for a load without a write process, nor for a run that deferred nothing."""
    # A share of the walk's pages, so that the build, which grows with the rows, is over
    # before the walk is; at least ``EARLY_PAGES`` for a small one.
    assert indexes.early_pages({"vod": (21_000, 294_000), "series": (1_000, 14_000)}) == 1_100
    assert indexes.early_pages({"vod": (4_000, 56_000)}) == 200
    assert indexes.early_pages({"vod": (400, 5_600)}) == indexes.EARLY_PAGES
    assert indexes.early_pages({"live": (None, None)}) == indexes.EARLY_PAGES
    load = indexes.LoadIndexes(1, _Writer())  # type: ignore[arg-type]
    load.tables = ["channels", "movies", "series"]
    totals = {"itv": (1, 5000), "vod": (4000, 56000), "vod:category:9": (3, 40)}
    left = indexes.early_pages(totals) + 1
    assert left == 201
    assert load.early(totals, {"itv": 1, "vod": 4000 - left, "vod:category:9": 3}) is None
    first = load.early(totals, {"itv": 1, "vod": 4000 - left + 1, "vod:category:9": 3})
    assert first is not None
    first.close()  # the build itself is the large load's test above
    assert load.early(totals, {"itv": 1, "vod": 3999, "vod:category:9": 3}) is None  # once

    # No stream with pages left by its total: an Xtream panel's lists tell theirs with their
    # last page, so the rows still to come are not known to be few.
    whole = indexes.LoadIndexes(3, _Writer())  # type: ignore[arg-type]
    whole.tables = ["channels", "movies", "series"]
    assert whole.early({"live": (12, 5600)}, {"live": 12, "vod": 30}) is None
    assert whole.early({}, {"live": 5}) is None

    small = indexes.LoadIndexes(2, _Writer())  # type: ignore[arg-type]
    assert small.early(totals, {"vod": 4000}) is None  # nothing deferred
    small.tables = ["movies"]
    _Writer.started = False
    try:
        assert small.early(totals, {"vod": 4000}) is None  # no write process
    finally:
        _Writer.started = True


async def test_a_failed_index_process_leaves_the_run_to_build_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The process building the rest could not (here: said so and exited 1): the run builds
    them itself before it ends, and says why in the log."""
    plain = Site(_settings(tmp_path, "plain", defer=False), StalkerFakeConfig())
    site = Site(_settings(tmp_path, "child", defer=True, process=True), StalkerFakeConfig())

    def failed(command: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "", "OperationalError: disk I/O error\n")

    monkeypatch.setattr(indexes, "_run", failed)
    try:
        Calls(monkeypatch)  # the write process is up before the run writes its batches
        run = await _full_sync(site, _no_snapshot)
        assert run["status"] == "succeeded", run
        assert "building read indexes apart failed (OperationalError: disk I/O error)" in (
            caplog.text
        )
        _has_every_index(site, plain)
    finally:
        await site.aclose()
        await plain.aclose()


def _has_every_index(site: Site, plain: Site) -> None:
    """``site`` ends with the read indexes a load that deferred none has, none left waiting."""
    assert _indexes(site) == _indexes(plain)
    with site.db.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM deferred_indexes").scalar() == 0


async def test_a_failed_early_guide_index_waits_for_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The write process could not build the guide's index when the guide was in: the sync
    goes on, says why in the log, and the index is built at the end with the rest."""
    plain = Site(_settings(tmp_path, "plain", defer=False), StalkerFakeConfig())
    site = Site(_settings(tmp_path, "child", defer=True, process=True), StalkerFakeConfig())
    calls = Calls(monkeypatch)
    counted = WriteProcess.call

    def refusing(process: WriteProcess, fn: Any, *args: Any) -> Any:
        if fn.__name__ == "build_indexes" and args == (first_load.GUIDE_ORDER,):
            raise RuntimeError("the write process is busy elsewhere")
        return counted(process, fn, *args)

    monkeypatch.setattr(WriteProcess, "call", refusing)
    try:
        run = await _full_sync(site, _no_snapshot)
        assert run["status"] == "succeeded", run
        assert calls.args.count((first_load.GUIDE_ORDER,)) == 0  # refused before it was sent
        assert "building the guide's index early failed (the write process is busy" in caplog.text
        _has_every_index(site, plain)
    finally:
        await site.aclose()
        await plain.aclose()


def test_the_index_process_builds_what_waits_and_says_how_many(tmp_path: Path) -> None:
    """``store/index_build.py`` run as a sync starts it, in a bare interpreter (isolated, no
    ``site``: the standard library only): the indexes still waiting, built and counted; a
    database it cannot open, one line on stderr and exit 1."""
    _, schema, path = _new_database(tmp_path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    first_load.defer(conn)
    waiting = first_load.pending(conn)
    assert index_build.restore(conn, first_load.SNAPSHOT_ORDER) == 3
    conn.execute("COMMIT")
    assert first_load.pending(conn) == waiting - 3
    conn.close()

    bare = [sys.executable, "-I", "-S", index_build.__file__]
    done = subprocess.run([*bare, path], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{waiting - 3}\n", "")
    conn = sqlite3.connect(path)
    assert [tuple(r) for r in conn.execute(READ_INDEXES)] == schema
    assert first_load.pending(conn) == 0
    conn.close()

    missing = str(tmp_path / "nowhere" / "iptvsync.db")
    failed = subprocess.run([*bare, missing], capture_output=True, text=True)
    assert failed.returncode == 1
    assert failed.stderr.startswith("OperationalError: unable to open database file")
    assert "Traceback" not in failed.stderr


def test_the_index_builds_settings_are_the_databases() -> None:
    """``index_build`` cannot import ``store/bulk.py`` (it runs with the standard library
    only): its settings are the same as every connection's but for its small cache and sorts
    spilled to a file."""
    own = ("PRAGMA cache_size", "PRAGMA temp_store")
    assert [p for p in index_build.PRAGMAS if not p.startswith(own)] == [
        p for p in PRAGMAS if not p.startswith(own)
    ]
    assert "PRAGMA cache_size=-2048" in index_build.PRAGMAS
    assert "PRAGMA temp_store=FILE" in index_build.PRAGMAS


def _sorts_of_a_snapshot(settings: Settings) -> list[str]:
    """Every step of the snapshot's SELECTs that sorts an item table's rows itself (SQLite's
    plans), on ``settings``' database as it stands. A GROUP BY's count per category keeps one
    entry per category in its temporary tree, not a row per item: not a sort of the rows."""
    db = create_db_engine(settings.resolved_database_url())
    statements: list[str] = []
    sa.event.listen(db, "connect", lambda conn, _record: conn.set_trace_callback(statements.append))
    try:
        assert build_snapshot(db, settings, 1) is not None
    finally:
        db.dispose()
    conn = sqlite3.connect(settings.resolved_database_url().removeprefix("sqlite:///"))
    try:
        selects = [" ".join(s.split()) for s in statements if s.lstrip().startswith("SELECT")]
        items = [s for s in selects if re.search(r"FROM (movies|series|channels)\b", s)]
        assert len(items) >= 6  # three kinds' counts and rows, the featured titles
        return [
            f"{plan[3]}: {sql[:150]}"
            for sql in items
            for plan in conn.execute(f"EXPLAIN QUERY PLAN {sql}")
            if "TEMP B-TREE FOR ORDER BY" in plan[3]
        ]
    finally:
        conn.close()


def test_the_snapshot_reads_need_only_the_indexes_built_first(tmp_path: Path) -> None:
    """``first_load.SNAPSHOT_ORDER`` is what the snapshot's reads walk: with only these of a
    first load's read indexes, none of its SELECTs sorts rows itself (so it can be built
    while the rest are); without one of them, one does."""
    settings = _settings(tmp_path, "db", defer=True)
    db = open_database(settings)
    with db.begin() as conn:
        provider = provider_store.create_provider(
            conn, {"name": "x", "kind": "m3u", "url": "http://playlist.test/x.m3u"}
        )
        row = {"provider_item_id": "m1", "name": "A", "hash": "h", "poster": "http://p/1.jpg"}
        upsert_items(conn, "movie", provider, [row], run_id=1, version=1, now=utcnow())
        provider_store.set_snapshot_version(conn, provider, 1)
    db.dispose()
    conn = sqlite3.connect(str(tmp_path / "db" / "iptvsync.db"), isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("DELETE FROM movies")  # empty again: its indexes are deferred too
    first_load.defer(conn)
    index_build.restore(conn, first_load.SNAPSHOT_ORDER)
    conn.execute("COMMIT")
    assert _sorts_of_a_snapshot(settings) == []

    conn.execute("DROP INDEX ix_movies_live_added")
    assert any("movies" in sort for sort in _sorts_of_a_snapshot(settings))
    conn.close()


def test_the_guides_early_step_is_every_read_index_of_the_guide(tmp_path: Path) -> None:
    """``first_load.GUIDE_ORDER`` is all a first load defers of the guide's table: after that
    step nothing of the guide is left for the sync's end."""
    open_database(_settings(tmp_path, "db", defer=True)).dispose()
    conn = sqlite3.connect(str(tmp_path / "db" / "iptvsync.db"), isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    assert "programmes" in first_load.defer(conn)
    assert index_build.restore(conn, first_load.GUIDE_ORDER) == len(first_load.GUIDE_ORDER)
    left = conn.execute("SELECT count(*) FROM deferred_indexes WHERE table_name = 'programmes'")
    assert left.fetchone()[0] == 0
    conn.execute("COMMIT")
    conn.close()


async def test_a_resumed_load_builds_what_a_dead_sync_left(
    sites: dict[str, Site], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync died after its first load's writes, before building (its rows stored, its
    indexes dropped), and nothing opened the database since: the next run, which finds the
    tables holding rows, takes the leftovers on and builds them at its end."""
    site = sites["deferred"]
    schema = _indexes(sites["plain"])
    monkeypatch.setattr(indexes, "build_indexes", lambda target: 0)  # dies before building
    assert (await site.full_sync())["status"] == "succeeded"
    assert _indexes(site) != schema
    monkeypatch.undo()

    taken = _watch_defer(monkeypatch)
    run = await site.full_sync()
    assert run["status"] == "succeeded", run
    assert taken == [["channels", "movies", "series", "programmes"]]  # left over, not new
    assert _indexes(site) == schema
    with site.db.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM deferred_indexes").scalar() == 0


async def test_two_first_loads_at_once_end_with_every_index(tmp_path: Path) -> None:
    """Two providers' first syncs into one new database at the same time: the first to end
    builds what both dropped, the other goes on with the indexes; both end with every row."""
    from iptvsync.fakes.catalogue import generate
    from iptvsync.fakes.server import ServedHttp
    from iptvsync.fakes.stalker import DEFAULT_MAC, create_app
    from iptvsync.providers.registry import make_client
    from iptvsync.sync.engine import SyncContext, execute_run
    from iptvsync.sync.service import prepare_run

    settings = _settings(tmp_path, "both", defer=True)
    db = open_database(settings)
    with db.connect() as conn:
        schema = [tuple(r) for r in conn.exec_driver_sql(READ_INDEXES)]
    sizes = (
        {"movies": 500, "series": 40, "channels": 30},
        {"movies": 150, "series": 10, "channels": 80},
    )
    https, runs = [], []
    try:
        for n, size in enumerate(sizes):
            https.append(ServedHttp(create_app(generate(seed=20 + n, **size), StalkerFakeConfig())))
            with db.begin() as conn:
                pid = provider_store.create_provider(
                    conn,
                    {
                        "name": f"p{n}",
                        "kind": "stalker",
                        "url": "http://portal.test/c/",
                        "mac": DEFAULT_MAC,
                    },
                )
            run_id, _ = prepare_run(db, settings, pid, mode="full")
            ctx = SyncContext(db=db, settings=settings, http=https[-1], make_client=make_client)
            runs.append(execute_run(ctx, run_id))
        done = await asyncio.gather(*runs)
        assert [r["status"] for r in done] == ["succeeded", "succeeded"], done
        assert [r["counts"]["movies"]["added"] for r in done] == [500, 150]
        with db.connect() as conn:
            assert [tuple(r) for r in conn.exec_driver_sql(READ_INDEXES)] == schema
            assert conn.exec_driver_sql("SELECT count(*) FROM deferred_indexes").scalar() == 0
            stored = conn.exec_driver_sql(
                "SELECT provider_id, count(*) FROM movies GROUP BY provider_id ORDER BY 1"
            ).all()
        assert [n for _p, n in stored] == [500, 150]
    finally:
        for http in https:
            await http.aclose()
        db.dispose()

"""The write process (``sync/write_process.py``): a large SQLite sync's batches of items and
programmes written by a child process. It is a fast path: these tests hold it to the general
one (the same rows), and to what a sync owes its user when the child fails (a clear error,
nothing committed lost, a later sync that completes)."""

from __future__ import annotations

import os
import pickle
import signal
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.server import ServedHttp
from iptvsync.fakes.stalker import DEFAULT_MAC, StalkerFakeConfig, create_app
from iptvsync.providers.registry import make_client
from iptvsync.records import ChannelRecord, Kind, MovieRecord, ProgrammeRecord, SeriesRecord
from iptvsync.settings import Settings
from iptvsync.store import providers as provider_store
from iptvsync.store import secrets
from iptvsync.store.db import create_db_engine
from iptvsync.store.migrate import upgrade
from iptvsync.store.models import ITEM_TABLES, programmes
from iptvsync.sync import guide_sink, write_child, write_process
from iptvsync.sync.batch_write import write_items, write_programmes
from iptvsync.sync.engine import SyncContext, execute_run
from iptvsync.sync.service import prepare_run
from iptvsync.sync.write_process import RunWriter, WriteProcess, WriteProcessFailed

SIZES = {"movies": 700, "series": 120, "channels": 60}
#: Columns that differ between two databases for the same catalogue (ids, clocks).
VOLATILE = {"id", "provider_id", "first_seen_at", "updated_at"}


class Calls:
    """Counts the calls the parent sent to a write process, by function name. A run waits
    here for its child to start (a real one goes on writing in its own thread meanwhile): a
    test's catalogue is synced before a child has imported the store."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.names: list[str] = []
        self.args: list[tuple[Any, ...]] = []  # each call's arguments
        self.batch_sizes: list[int] = []  # items of each write_items call
        original = WriteProcess.call

        def ready(process: WriteProcess) -> bool:
            process.wait_ready()
            return True

        monkeypatch.setattr(WriteProcess, "ready", ready)

        def call(process: WriteProcess, fn: Any, *args: Any) -> Any:
            self.names.append(fn.__name__)
            self.args.append(args)
            if fn.__name__ == "write_items":  # (provider, run, version, batches, categories)
                self.batch_sizes.append(sum(len(items) for items in args[3].values()))
            return original(process, fn, *args)

        monkeypatch.setattr(WriteProcess, "call", call)


def _watch_sweeps(
    monkeypatch: pytest.MonkeyPatch, then: Any = None
) -> list[tuple[list[Kind], bool]]:
    """Each sweep of a run, as (its kinds, whether the write process was still up); ``then``
    is called with its kinds, on the sweep's worker thread."""
    from iptvsync.sync import engine

    swept: list[tuple[list[Kind], bool]] = []
    sweep = engine._sweep

    def watched(ctx: Any, state: Any, kinds: list[Kind], *args: Any) -> Any:
        swept.append((kinds, state.writer.started))
        if then is not None:
            then(kinds)
        return sweep(ctx, state, kinds, *args)

    monkeypatch.setattr(engine, "_sweep", watched)
    return swept


def _settings(tmp_path: Path, name: str, *, process: bool) -> Settings:
    return Settings(
        data_dir=tmp_path / name,
        database_url=f"sqlite:///{(tmp_path / name / 'iptvsync.db').as_posix()}",
        batch_size=200,
        write_process=process,
    )


class Site:
    """One database and the fake portal (real HTTP handling, in process) it syncs from."""

    def __init__(self, settings: Settings, portal_config: StalkerFakeConfig) -> None:
        self.settings = settings
        self.db = create_db_engine(settings.resolved_database_url())
        secrets.bind(self.db, secrets.codec_for(settings))
        upgrade(self.db)
        app = create_app(generate(seed=11, **SIZES), portal_config)
        self.portal = app.state.portal
        self.http = ServedHttp(app)
        with self.db.begin() as conn:
            self.provider_id = provider_store.create_provider(
                conn,
                {
                    "name": "p",
                    "kind": "stalker",
                    "url": "http://portal.test/c/",
                    "mac": DEFAULT_MAC,
                },
            )

    async def full_sync(self) -> dict[str, Any]:
        return await self.sync(mode="full")

    async def sync(self, mode: str = "auto") -> dict[str, Any]:
        run_id, _ = prepare_run(self.db, self.settings, self.provider_id, mode=mode)
        ctx = SyncContext(
            db=self.db, settings=self.settings, http=self.http, make_client=make_client
        )
        return await execute_run(ctx, run_id)

    def rows(self, table: sa.Table) -> list[tuple[Any, ...]]:
        # A channel has no date of its own at the portal: its ``added_at`` is the write's.
        volatile = VOLATILE | ({"added_at"} if table.name == "channels" else set())
        columns = [c for c in table.c if c.name not in volatile]
        with self.db.connect() as conn:
            return sorted(tuple(row) for row in conn.execute(sa.select(*columns)).all())

    async def aclose(self) -> None:
        await self.http.aclose()
        self.db.dispose()


@pytest.fixture
async def sites(tmp_path: Path) -> AsyncIterator[dict[str, Site]]:
    made = {
        name: Site(_settings(tmp_path, name, process=name == "process"), StalkerFakeConfig())
        for name in ("thread", "process")
    }
    yield made
    for site in made.values():
        await site.aclose()


async def test_the_write_process_stores_what_this_process_stores(
    sites: dict[str, Site], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The guide of this test's 60 channels goes through the child too (a real one needs 500).
    monkeypatch.setattr(guide_sink, "MIN_CHANNELS", 10)
    monkeypatch.setattr(guide_sink, "CHUNK", 4096)  # many feeds, cut anywhere in a channel
    calls = Calls(monkeypatch)
    runs = {name: await site.sync() for name, site in sites.items()}
    for run in runs.values():
        assert run["status"] == "succeeded", run
    # The child did the bulk of it: the item batches and the guide went through it.
    assert calls.names.count("write_items") >= 3
    assert calls.names.count("sink_feed") >= 2
    assert calls.names.count("sink_open") == calls.names.count("sink_close") == 1
    assert "write_programmes" not in calls.names  # the child decoded the guide itself
    assert runs["process"]["counts"] == runs["thread"]["counts"]
    assert runs["process"]["counts"]["movies"]["added"] == SIZES["movies"]
    for table in (*ITEM_TABLES.values(), programmes):
        thread_rows, process_rows = (sites[n].rows(table) for n in ("thread", "process"))
        assert thread_rows, table.name
        assert process_rows == thread_rows, table.name

    # An unchanged re-sync through the child finds every item unchanged, as it does here.
    again = {name: await site.sync() for name, site in sites.items()}
    assert again["process"]["counts"] == again["thread"]["counts"]


async def test_a_dying_write_process_fails_the_run_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = Site(_settings(tmp_path, "site", process=True), StalkerFakeConfig(epg_info=False))
    try:
        Calls(monkeypatch)  # the child starts before the walk ends
        original = WriteProcess.call
        sent: list[int] = []

        def call(process: WriteProcess, fn: Any, *args: Any) -> Any:
            # The VOD walk's batches only: the channel walk, beside it, hands over its own
            # (channels) whenever it ends, before or after the VOD walk's first.
            if fn is write_items and (Kind.MOVIE in args[3] or Kind.SERIES in args[3]):
                sent.append(1)
                if len(sent) == 2:  # the second: the child is killed while it has it
                    os.kill(process._proc.pid, signal.SIGKILL)
            return original(process, fn, *args)

        monkeypatch.setattr(WriteProcess, "call", call)
        run = await site.sync()
        assert run["status"] == "failed"
        assert run["error"]["code"] == "internal_error"
        assert "write process stopped" in run["error"]["message"]
        kept = len(site.rows(ITEM_TABLES["movie"])) + len(site.rows(ITEM_TABLES["series"]))
        assert kept >= 200  # the batch the child committed (and this process's before it)

        monkeypatch.setattr(WriteProcess, "call", original)
        again = await site.sync()
        assert again["status"] == "succeeded", again
        assert len(site.rows(ITEM_TABLES["movie"])) == SIZES["movies"]
        assert len(site.rows(ITEM_TABLES["series"])) == SIZES["series"]
    finally:
        await site.aclose()


async def test_a_guide_through_the_child_counts_and_refuses_as_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Broken times are counted the same; an answer cut half-way is refused and the previous
    guide kept, with the child's half of the new one removed."""
    monkeypatch.setattr(guide_sink, "MIN_CHANNELS", 10)
    monkeypatch.setattr(guide_sink, "CHUNK", 4096)
    calls = Calls(monkeypatch)
    made = {
        name: Site(
            _settings(tmp_path, name, process=name == "process"),
            StalkerFakeConfig(epg_broken_every=7),
        )
        for name in ("thread", "process")
    }
    try:
        first = {name: await site.sync() for name, site in made.items()}
        notes = {
            n: [w for w in r["warnings"] if w.startswith("epg_bad_times")] for n, r in first.items()
        }
        assert notes["process"] and notes["process"] == notes["thread"]
        before = {name: site.rows(programmes) for name, site in made.items()}
        assert before["process"] == before["thread"] and before["process"]
        assert "sink_close" in calls.names

        for site in made.values():
            site.portal.config.epg_fail = "truncate"
        again = {name: await site.full_sync() for name, site in made.items()}
        for name, run in again.items():
            assert run["status"] == "succeeded", run
            assert any(w.startswith("epg_rejected") for w in run["warnings"]), run["warnings"]
            assert made[name].rows(programmes) == before[name]  # the previous guide, whole
        assert calls.names.count("sink_open") == 2 and "sink_drop" in calls.names
    finally:
        for site in made.values():
            await site.aclose()


def _sqlite(tmp_path: Path) -> sa.Engine:
    settings = _settings(tmp_path, "db", process=True)
    db = create_db_engine(settings.resolved_database_url())
    upgrade(db)
    return db


def _cache_size(target: Any) -> int:
    """The page cache of the connection ``target`` writes with (the child's or ours)."""
    if isinstance(target, sa.Engine):
        with target.connect() as conn:
            return int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
    return int(target.conn.execute("PRAGMA cache_size").fetchone()[0])


async def test_a_vod_walk_that_ends_first_leaves_the_child_to_the_channels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walks run at once: a VOD walk that ends while the channel walk still writes
    through the child must not close it under that walk (its next write would find it gone).
    The channel walk is held, once the child writes its batches, until the VOD walk's sweep:
    the child is still up there, and every channel is stored."""
    import asyncio

    from iptvsync.providers.stalker.client import StalkerClient
    from iptvsync.records import Scope

    monkeypatch.setattr(
        "tests.sync.test_write_process.SIZES", {"movies": 20, "series": 5, "channels": 1500}
    )
    portal = StalkerFakeConfig(epg_info=False, get_all_channels_enabled=False)
    site = Site(_settings(tmp_path, "site", process=True), portal)
    calls = Calls(monkeypatch)
    loop = asyncio.get_running_loop()
    vod_swept = asyncio.Event()

    def after_sweep(kinds: list[Kind]) -> None:
        if kinds == [Kind.MOVIE, Kind.SERIES]:
            loop.call_soon_threadsafe(vod_swept.set)

    swept = _watch_sweeps(monkeypatch, after_sweep)
    walk = StalkerClient.walk

    channels_in_child = asyncio.Event()

    async def held_walk(client: StalkerClient, scope: Scope, on_page: Any, **kwargs: Any) -> Any:
        if scope is not Scope.CHANNELS:
            result = await walk(client, scope, on_page, **kwargs)
            # The VOD walk (two pages) ends first, but only once the channel walk writes
            # through the child: its sweep then meets the child up, whatever the timing.
            await asyncio.wait_for(channels_in_child.wait(), 30)
            return result
        delivered = 0

        async def held(page: Any) -> Any:
            nonlocal delivered
            delivered += len(page.records)
            if delivered >= 600:  # three batches: the child writes them
                channels_in_child.set()
                await asyncio.wait_for(vod_swept.wait(), 30)
            return await on_page(page)

        return await walk(client, scope, held, **kwargs)

    monkeypatch.setattr(StalkerClient, "walk", held_walk)
    try:
        run = await site.full_sync()
        channels = site.rows(ITEM_TABLES["channel"])
    finally:
        await site.aclose()
    assert run["status"] == "succeeded", run
    assert len(channels) == 1500
    assert swept[0] == ([Kind.MOVIE, Kind.SERIES], True)  # the child still up after VOD...
    assert sum(calls.batch_sizes) >= 1000  # ...and the channels went on through it


def test_the_child_and_what_it_runs_import_no_sqlalchemy() -> None:
    """The write process holds the database with ``sqlite3`` alone: SQLAlchemy would be
    ~20 MB of its memory. So do the functions it is sent and what their arguments are, down
    to what unpickling them imports (the tables' shapes once held SQLAlchemy's own ``str``)."""
    import subprocess
    import sys

    from iptvsync.store.catalogue import bulk_shapes
    from iptvsync.sync.batch_write import write_items

    modules = [
        "iptvsync.sync.write_child",
        "iptvsync.sync.batch_write",  # write_items, write_programmes, the guide's sink
        "iptvsync.providers.stalker.guide_split",  # the guide's decoder
        "iptvsync.store.first_load",  # a first load's indexes, built there
    ]
    # What the parent sends: the database and the shapes, then a batch to write.
    items = {
        Kind.MOVIE: [
            MovieRecord("9", "Film", 2001, 7.5, added_at=datetime(2024, 1, 1, tzinfo=UTC))
        ],
        Kind.CHANNEL: [ChannelRecord("1", "One")],
    }
    sent = pickle.dumps(
        [("db.sqlite", bulk_shapes()), (write_items, (1, 1, 1, items, {Kind.MOVIE: {}}))]
    )
    code = (
        f"import pickle, sys; import {', '.join(modules)}; "
        "pickle.loads(sys.stdin.buffer.read()); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'pydantic', 'aiohttp', 'asyncio')))"
    )
    out = subprocess.run([sys.executable, "-c", code], input=sent, capture_output=True, check=True)
    assert out.stdout.decode().strip() == "[]", out.stdout


def test_the_child_writes_with_a_small_page_cache(tmp_path: Path) -> None:
    db = _sqlite(tmp_path)
    process = WriteProcess(str(db.url.database))
    try:
        assert process.call(_cache_size) == -write_child.CACHE_KIB
        assert _cache_size(db) == -8192  # a reading connection here keeps its own
    finally:
        process.close()
        db.dispose()


def test_a_finished_writer_starts_no_other_child(tmp_path: Path) -> None:
    db = _sqlite(tmp_path)
    writer = RunWriter(db, enabled=True)
    writer.expect_more()
    assert writer.started
    writer.finish()
    assert not writer.started
    writer.expect_more()
    assert not writer.started and writer.ensure_process() is False
    assert writer.call(lambda target: target.db is db) is True  # written here
    db.dispose()


async def test_batches_for_the_write_process_are_smaller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A list whose first page announces more than a batch starts the child at once: every
    batch of the walk holds ``write_process_batch_size`` items (less memory in both processes
    at once), the first one too. An unchanged re-sync, which stops at its first page, starts
    no child at all."""
    settings = _settings(tmp_path, "site", process=True).replace(write_process_batch_size=90)
    site = Site(settings, StalkerFakeConfig(epg_info=False))
    calls = Calls(monkeypatch)
    started: list[str] = []
    spawn = WriteProcess.__init__

    def counted(process: WriteProcess, path: str) -> None:
        started.append(path)
        spawn(process, path)

    monkeypatch.setattr(WriteProcess, "__init__", counted)
    try:
        run = await site.full_sync()
        movies = site.rows(ITEM_TABLES["movie"])
        assert len(started) == 1
        again = await site.sync(mode="incremental")
    finally:
        await site.aclose()
    assert run["status"] == "succeeded", run
    assert len(movies) == SIZES["movies"]
    # The VOD walk's batches: the smaller size from the first (a page more at most), the last
    # one whatever was left; before, the first batch was a whole ``batch_size`` (200), written
    # here while the child started. The channel walk beside it writes its own 60 whenever it
    # ends: here or in the child, before, between or after those.
    written = [a[3] for n, a in zip(calls.names, calls.args, strict=True) if n == "write_items"]
    sizes = [sum(len(v) for v in b.values()) for b in written if Kind.CHANNEL not in b]
    assert len(sizes) >= 7, sizes
    assert all(90 <= size <= 90 + 14 for size in sizes[:-1]), sizes
    assert again["status"] == "succeeded", again
    assert len(started) == 1  # the re-sync started none


async def test_the_write_process_is_gone_before_the_vod_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep after the VOD walk reads every row in this process: the child, whose
    writes are over, has gone by then, so the two processes' memory never adds up to it."""

    site = Site(_settings(tmp_path, "site", process=True), StalkerFakeConfig(epg_info=False))
    calls = Calls(monkeypatch)
    swept = _watch_sweeps(monkeypatch)
    try:
        provider_store_options = {"options": {"guide": "none"}}
        with site.db.begin() as conn:
            provider_store.update_provider(conn, site.provider_id, provider_store_options)
        run = await site.full_sync()
    finally:
        await site.aclose()
    assert run["status"] == "succeeded", run
    assert calls.names.count("write_items") >= 3  # the child wrote the batches
    assert ([Kind.MOVIE, Kind.SERIES], False) in swept


def test_an_error_in_the_child_comes_back_with_its_type(tmp_path: Path) -> None:
    db = _sqlite(tmp_path)
    process = WriteProcess(str(db.url.database))
    try:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        orphan = [ProgrammeRecord("c1", start, start.replace(hour=1), "News")]
        with pytest.raises(sqlite3.IntegrityError):  # no provider 999: the foreign key refuses
            process.call(write_programmes, 999, orphan)
        # The child is still serving after an error.
        with pytest.raises(sqlite3.IntegrityError):
            process.call(write_programmes, 999, orphan)
    finally:
        process.close()
        db.dispose()
    assert process._proc.returncode == 0


def test_the_child_exits_when_its_parent_goes(tmp_path: Path) -> None:
    db = _sqlite(tmp_path)
    process = WriteProcess(str(db.url.database))
    assert _wait(process.ready)
    # A parent that dies closes its pipe ends without a word: the child must not linger.
    process._out.close()
    deadline = time.monotonic() + 10
    while process._proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process._proc.returncode == 0
    process._in.close()
    db.dispose()


def test_only_a_sqlite_file_gets_a_write_process(tmp_path: Path) -> None:
    memory = sa.create_engine("sqlite://")
    postgres = create_db_engine("postgresql://postgres@127.0.0.1:5432/test")
    disabled = _sqlite(tmp_path)
    for engine, enabled in ((memory, True), (postgres, True), (disabled, False)):
        writer = RunWriter(engine, enabled=enabled)
        writer.expect_more()
        assert not writer.started
        assert writer.call(lambda target, e=engine: target.db is e) is True  # written here
        writer.close()
        engine.dispose()


def test_a_run_whose_child_cannot_start_writes_in_its_own_process(tmp_path: Path) -> None:
    db = _sqlite(tmp_path)
    writer = RunWriter(db, enabled=True)
    writer.expect_more()
    assert writer._process is not None
    writer._process._proc.kill()  # gone before it said "ready" (its imports take ~0.3 s)
    writer._process._proc.wait()
    assert writer.call(lambda target: target.db is db) is True
    assert not writer.started
    writer.expect_more()  # and it starts no other for this run
    assert not writer.started
    assert writer.ensure_process() is False
    writer.close()
    db.dispose()


def test_one_core_gets_no_write_process(tmp_path: Path) -> None:
    if write_process.usable_cores() < 2:
        pytest.skip("this machine has one core: the other half of the test cannot run")
    db = _sqlite(tmp_path)
    cores = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(cores)})
        assert write_process.usable_cores() == 1
        writer = RunWriter(db, enabled=True)
    finally:
        os.sched_setaffinity(0, cores)
    writer.expect_more()
    assert not writer.started
    two = RunWriter(db, enabled=True)
    two.expect_more()
    assert two.started
    two.close()
    db.dispose()


def test_a_failed_start_is_a_clear_error(tmp_path: Path) -> None:
    db = _sqlite(tmp_path)
    # A child that cannot open the database answers with its error instead of "ready".
    (tmp_path / "a-file").write_text("not a folder")
    process = WriteProcess("sqlite:///" + (tmp_path / "a-file" / "x.db").as_posix())
    try:
        with pytest.raises(WriteProcessFailed, match="did not start"):
            _wait(process.ready)
    finally:
        process.close()
        db.dispose()


@pytest.mark.parametrize(
    "record",
    [
        ChannelRecord("7", "News", 3, extra={"xmltv_id": "news.uk"}, radio=True),
        MovieRecord("9", "Film", 2001, 7.5, added_at=datetime(2024, 1, 1, tzinfo=UTC)),
        SeriesRecord("4", "Show", category_ids=("1", "2"), censored=True),
    ],
)
def test_records_pickle_as_their_values(record: Any) -> None:
    back = pickle.loads(pickle.dumps(record))
    assert back == record and type(back) is type(record)
    assert back.kind is record.kind and record.kind in set(Kind)
    assert record.__reduce__()[1][:2] == (record.provider_item_id, record.name)


def _wait(ready: Any) -> bool:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if ready():
            return True
        time.sleep(0.02)
    return False

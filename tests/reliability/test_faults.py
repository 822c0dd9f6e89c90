"""Faults during a sync: each ends with a clear outcome and loses nothing.

The outcome table is in docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from iptvsync.app import create_app as create_api
from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.server import ServedHttp, ServerThread
from iptvsync.fakes.stalker import DEFAULT_MAC, StalkerFakeConfig, create_app
from iptvsync.providers.http import ProviderHttp, build_http_client
from iptvsync.providers.registry import make_client
from iptvsync.records import MovieRecord
from iptvsync.settings import Settings
from iptvsync.snapshot.build import build_snapshot
from iptvsync.snapshot.files import provider_dir
from iptvsync.store import catalogue as catalogue_store
from iptvsync.store import providers as provider_store
from iptvsync.store.db import create_db_engine
from iptvsync.store.migrate import upgrade
from iptvsync.store.models import movies, providers
from iptvsync.sync.diff import record_to_row
from iptvsync.sync.engine import SyncContext, execute_run
from iptvsync.sync.service import prepare_run


def _provider(db: sa.Engine, url: str) -> int:
    with db.begin() as conn:
        return provider_store.create_provider(
            conn, {"name": "p", "kind": "stalker", "url": url, "mac": DEFAULT_MAC}
        )


async def _run(
    db: sa.Engine, settings: Settings, provider_id: int, http: ProviderHttp, **kw: str
) -> dict[str, Any]:
    run_id, _ = prepare_run(db, settings, provider_id, **kw)
    ctx = SyncContext(db=db, settings=settings, http=http, make_client=make_client)
    return await execute_run(ctx, run_id)


def _counts(db: sa.Engine, provider_id: int) -> dict[str, int]:
    with db.connect() as conn:
        return catalogue_store.live_counts(conn, provider_id)


async def _wait_for_items(db: sa.Engine, at_least: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.connect() as conn:
            n = conn.execute(sa.select(sa.func.count()).select_from(movies)).scalar_one()
        if n >= at_least:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {at_least} movies stored in time")


@pytest.mark.slow
async def test_provider_dies_mid_sync(db: sa.Engine, settings: Settings) -> None:
    catalogue = generate(seed=21, movies=1200, series=60, channels=20)
    # Pages from 20 on are slow, so the walk is still going when the server is stopped (a fast
    # machine finished the whole walk before the stop took effect).
    app = SlowAfter(create_app(catalogue, StalkerFakeConfig(latency_ms=10)), page=20)
    server = ServerThread(app).start()
    port = server.port
    pid = _provider(db, f"{server.url}/c/")
    http = build_http_client(timeout_s=2)
    try:
        task = asyncio.create_task(_run(db, settings, pid, http))
        await _wait_for_items(db, 100)
        await asyncio.to_thread(server.stop)
        run = await asyncio.wait_for(task, 90)
        assert run["status"] == "failed", run
        assert run["error"]["code"] in ("provider_unreachable", "provider_timeout")
        kept = _counts(db, pid)
        assert kept["movies"] >= 100, "what was written is kept"
        # The provider comes back on the same address: the next run completes exactly.
        with ServerThread(app, port=port):
            again = await _run(db, settings, pid, http, scope="all", mode="full")
        assert again["status"] == "succeeded", again
        final = _counts(db, pid)
        assert final["movies"] == len(catalogue.movies)
        assert final["series"] == len(catalogue.series)
        assert final["channels"] == len(catalogue.channels)
    finally:
        await http.aclose()


def _vod_page(scope: Scope) -> int | None:
    query = scope.get("query_string", b"").decode()
    if "get_ordered_list" not in query or "type=vod" not in query:
        return None
    params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
    page = params.get("p", "0")
    return int(page) if page.isdigit() else None


class SlowAfter:
    """Wraps the fake portal: VOD pages from the Nth on take ``delay_s`` more."""

    def __init__(self, app: Any, page: int, delay_s: float = 0.5) -> None:
        self.app = app
        self.page = page
        self.delay_s = delay_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        page = _vod_page(scope)
        if page is not None and page >= self.page:
            await asyncio.sleep(self.delay_s)
        await self.app(scope, receive, send)


class GarbageAfter:
    """Wraps the fake portal: from the Nth VOD page on, answer an HTML error page with 200,
    the way overloaded panels do."""

    def __init__(self, app: Any, page: int) -> None:
        self.app = app
        self.page = page
        self.enabled = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        page = _vod_page(scope)
        if self.enabled and page is not None and page >= self.page:
            body = b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/html")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


async def test_garbage_mid_walk_fails_clearly_and_deletes_nothing(
    db: sa.Engine, settings: Settings
) -> None:
    catalogue = generate(seed=22, movies=300, series=20, channels=20)
    inner = create_app(catalogue, StalkerFakeConfig())
    wrapped = GarbageAfter(inner, page=6)
    http = ServedHttp(wrapped)
    pid = _provider(db, "http://portal.test/c/")
    try:
        wrapped.enabled = False
        first = await _run(db, settings, pid, http)
        assert first["status"] == "succeeded"
        before = _counts(db, pid)
        wrapped.enabled = True
        run = await asyncio.wait_for(_run(db, settings, pid, http, scope="vod", mode="full"), 120)
        assert run["status"] in ("failed", "succeeded"), run
        if run["status"] == "failed":
            assert run["error"]["code"].startswith("provider_")
        else:
            assert run["incomplete"] is True
        assert _counts(db, pid) == before, "an incomplete walk removes nothing"
    finally:
        await http.aclose()


async def test_pages_fetched_before_a_failure_are_written(
    db: sa.Engine, settings: Settings
) -> None:
    """A walk that fails keeps what it fetched: the engine writes its buffer before the run
    ends, even when no batch was full yet."""
    catalogue = generate(seed=24, movies=300, series=20, channels=20)
    wrapped = GarbageAfter(create_app(catalogue, StalkerFakeConfig()), page=6)
    http = ServedHttp(wrapped)
    pid = _provider(db, "http://portal.test/c/")
    never_full = settings.replace(batch_size=1_000_000)
    try:
        run = await asyncio.wait_for(_run(db, never_full, pid, http, scope="vod"), 120)
        assert run["status"] == "failed", run
        kept = _counts(db, pid)
        # Pages 1-5 of the movie walk came before the garbage: 14 movies a page.
        assert kept["movies"] >= 5 * 14, kept
        assert kept["movies"] == run["counts"]["movies"]["added"]
        assert kept["movies"] < len(catalogue.movies)
    finally:
        await http.aclose()


async def test_sqlite_readers_and_a_writer_never_see_busy(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/busy.db")
    db = create_db_engine(settings.resolved_database_url())
    upgrade(db)
    catalogue = generate(seed=23, movies=1500, series=100, channels=100)
    http = ServedHttp(create_app(catalogue))
    pid = _provider(db, "http://portal.test/c/")
    errors: list[BaseException] = []
    reads = 0
    stop = threading.Event()

    def reader() -> None:
        nonlocal reads
        while not stop.is_set():
            try:
                with db.connect() as conn:
                    conn.execute(
                        sa.select(movies.c.id, movies.c.name)
                        .order_by(movies.c.added_at.desc(), movies.c.id)
                        .limit(50)
                    ).all()
                    catalogue_store.live_counts(conn, pid)
                reads += 1
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        run = await _run(db, settings, pid, http)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        await http.aclose()
        db.dispose()
    assert not errors, errors[:3]
    assert reads > 20
    assert run["status"] == "succeeded"


def _pg_restart() -> None:
    cluster = subprocess.run(["ls", "/etc/postgresql"], capture_output=True, text=True)
    version = cluster.stdout.split()[0]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.mark.slow
@pytest.mark.postgresql_only
@pytest.mark.serial  # a restart drops every other test's PostgreSQL connections
async def test_postgresql_restart_during_a_sync_pauses_and_completes(
    settings: Settings, db: sa.Engine
) -> None:
    if db.dialect.name != "postgresql":
        pytest.skip("this fault is PostgreSQL's")
    catalogue = generate(seed=24, movies=1500, series=50, channels=20)
    app = create_app(catalogue, StalkerFakeConfig(latency_ms=4))
    http = ServedHttp(app)
    pid = _provider(db, "http://portal.test/c/")
    restart: Callable[[], Awaitable[None]] = lambda: asyncio.to_thread(_pg_restart)  # noqa: E731
    try:
        task = asyncio.create_task(_run(db, settings, pid, http))
        await _wait_for_items(db, 200)
        await restart()
        run = await asyncio.wait_for(task, 180)
    finally:
        await http.aclose()
    assert run["status"] == "succeeded", run
    counts = _counts(db, pid)
    assert counts["movies"] == len(catalogue.movies)
    assert counts["series"] == len(catalogue.series)


_BUILD = """
import sys
from iptvsync.settings import Settings
from iptvsync.snapshot.build import build_snapshot
from iptvsync.store.db import create_db_engine
settings = Settings()
build_snapshot(create_db_engine(settings.resolved_database_url()), settings, int(sys.argv[1]))
"""


@pytest.mark.slow
def test_killed_snapshot_build_leaves_the_old_snapshot_served(
    db: sa.Engine, settings: Settings
) -> None:
    with db.begin() as conn:
        pid = provider_store.create_provider(
            conn, {"name": "s", "kind": "m3u", "url": "http://127.0.0.1:9/a.m3u"}
        )
        cats = catalogue_store.upsert_categories(
            conn, pid, "movie", [("1", "All", False, 0)], version=1
        )
        records = [
            MovieRecord(str(i), f"Movie number {i} " * 3, category_ids=("1",))
            for i in range(60_000)
        ]
        rows = [record_to_row(r, cats) for r in records]
        catalogue_store.upsert_items(
            conn, "movie", pid, rows, run_id=1, version=1, now=datetime.now(UTC)
        )
        conn.execute(providers.update().where(providers.c.id == pid).values(snapshot_version=1))
    assert build_snapshot(db, settings, pid) is not None
    with db.begin() as conn:
        conn.execute(providers.update().where(providers.c.id == pid).values(snapshot_version=2))
    env = {
        **os.environ,
        "IPTVSYNC_DATA_DIR": str(settings.data_dir),
        "IPTVSYNC_DATABASE_URL": settings.resolved_database_url(),
    }
    proc = subprocess.Popen([sys.executable, "-c", _BUILD, str(pid)], env=env)
    folder = provider_dir(settings, pid)
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".v2") for p in folder.iterdir()):
        assert proc.poll() is None, "the build ended before it could be killed"
        assert time.monotonic() < deadline, "the build never started writing"
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert not (folder / "v2.json").exists(), "no partial version file under its real name"
    with TestClient(create_api(settings)) as client:
        answer = client.get(f"/api/providers/{pid}/snapshot")
        assert answer.status_code == 200
        assert answer.headers["etag"] == 'W/"1"'
        body = answer.json()
        assert body["version"] == 1 and len(body["movies"]) == 60_000

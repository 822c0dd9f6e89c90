"""A sync process killed with SIGKILL mid-walk loses at most its batch in flight: no duplicate
rows, the dead run is closed as interrupted, and the next run completes with exact counts."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.server import ServerThread
from iptvsync.fakes.stalker import DEFAULT_MAC, StalkerFakeConfig, create_app
from iptvsync.providers.http import build_http_client
from iptvsync.providers.registry import make_client
from iptvsync.settings import Settings
from iptvsync.store import providers as provider_store
from iptvsync.store import runs
from iptvsync.store.models import ITEM_TABLES, sync_runs
from iptvsync.sync.engine import SyncContext, execute_run
from iptvsync.sync.service import prepare_run
from tests.run_rows import set_run


def _count(db: sa.Engine, kind: str) -> tuple[int, int]:
    table = ITEM_TABLES[kind]
    with db.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        distinct = conn.execute(
            sa.select(sa.func.count(sa.distinct(table.c.provider_item_id)))
        ).scalar_one()
    return total, distinct


async def _sync(db: sa.Engine, settings: Settings, run_id: int) -> dict[str, object]:
    http = build_http_client()
    try:
        ctx = SyncContext(db=db, settings=settings, http=http, make_client=make_client)
        return await execute_run(ctx, run_id)
    finally:
        await http.aclose()


@pytest.mark.both_backends  # a resume reads what the killed run committed
def test_kill_9_mid_sync_then_resume(db: sa.Engine, settings: Settings) -> None:
    catalogue = generate(seed=3, movies=900, series=100, channels=30)
    portal = create_app(catalogue, StalkerFakeConfig(latency_ms=15))
    with ServerThread(portal) as server:
        with db.begin() as conn:
            provider_id = provider_store.create_provider(
                conn,
                {"name": "p", "kind": "stalker", "url": f"{server.url}/c/", "mac": DEFAULT_MAC},
            )
        env = {
            **os.environ,
            "IPTVSYNC_DATA_DIR": str(settings.data_dir),
            "IPTVSYNC_DATABASE_URL": settings.resolved_database_url(),
            "IPTVSYNC_BATCH_SIZE": "50",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "iptvsync", "sync", str(provider_id), "--full"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and _count(db, "movie")[0] < 150:
                assert proc.poll() is None, "the sync ended before it could be killed"
                time.sleep(0.05)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
        total, distinct = _count(db, "movie")
        assert 0 < total < len(catalogue.movies) + len(catalogue.series)
        assert total == distinct, "no duplicate rows"

        portal.state.portal.configure(latency_ms=0)
        # Smart detection plans what is still missing: no VOD walk finished, so VOD in full.
        run_id, plan = prepare_run(db, settings, provider_id)
        assert plan.vod == "full"
        run = asyncio.run(_sync(db, settings, run_id))
        assert run["status"] == "succeeded", run
        with db.connect() as conn:
            dead = conn.execute(sa.select(sync_runs).where(sync_runs.c.id != run_id)).first()
            assert dead is not None
            assert runs.public_run(dead)["status"] == "failed"
            assert dead.error["code"] == "interrupted"
        for kind, items in (
            ("movie", catalogue.movies),
            ("series", catalogue.series),
            ("channel", catalogue.channels),
        ):
            total, distinct = _count(db, kind)
            assert total == distinct == len(items), kind


def test_every_server_closes_a_dead_workers_run_without_a_new_request(
    db: sa.Engine, settings: Settings
) -> None:
    """A run whose process died (here: a scale-mode worker on another host, its heartbeat an
    hour old) is closed by the server's own sweep, not only when a new sync is asked for."""
    from datetime import timedelta

    from fastapi.testclient import TestClient

    from iptvsync.app import create_app as create_api
    from iptvsync.store.providers import utcnow

    with db.begin() as conn:
        provider_id = provider_store.create_provider(
            conn,
            {"name": "p", "kind": "stalker", "url": "http://portal.test/c/", "mac": DEFAULT_MAC},
        )
    run_id, _ = prepare_run(db, settings, provider_id)
    with db.begin() as conn:
        set_run(
            conn,
            run_id,
            status="running",
            worker="procrastinate:7@elsewhere:1",
            heartbeat_at=utcnow() - timedelta(hours=1),
        )
    app = create_api(settings.replace(run_sweep_s=0.2, scheduler=False))
    with TestClient(app):
        deadline = time.monotonic() + 10
        while True:
            with db.connect() as conn:
                run = runs.public_run(runs.get_run(conn, run_id))
            if run["status"] != "running" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert (run["status"], run["error"]["code"]) == ("failed", "interrupted"), run

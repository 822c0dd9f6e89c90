"""Scale-mode fixtures: PostgreSQL only (Procrastinate lives there), fake portals on sockets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from iptvsync.settings import Settings
from iptvsync.store.db import create_db_engine
from iptvsync.store.migrate import upgrade
from tests.conftest import BACKENDS

if "postgresql" not in BACKENDS:
    pytest.skip("scale mode needs PostgreSQL", allow_module_level=True)


@pytest.fixture
def scale_settings(pg_url: str, tmp_path: Path) -> Settings:
    # Short clocks so that dead workers, aborts and ticks show up within a test.
    return Settings(
        data_dir=tmp_path / "data",
        database_url=pg_url,
        runner="procrastinate",
        batch_size=100,
        whole_list_batch_size=100,
        worker_concurrency=3,
        worker_heartbeat_s=0.5,
        worker_stalled_after_s=2.0,
        worker_poll_s=0.5,
        worker_shutdown_timeout_s=5.0,
        schedule_tick_s=1.0,
    )


@pytest.fixture
def pg_db(scale_settings: Settings) -> Iterator[sa.Engine]:
    engine = create_db_engine(scale_settings.resolved_database_url())
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
async def worker(scale_settings: Settings, pg_db: sa.Engine) -> AsyncIterator[asyncio.Task[None]]:
    """An ``iptvsync worker`` inside the test's event loop."""
    from iptvsync.worker import run_worker_async

    task = asyncio.create_task(
        run_worker_async(scale_settings, install_signal_handlers=False, name="test-worker")
    )
    await asyncio.sleep(0.3)
    yield task
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 15)

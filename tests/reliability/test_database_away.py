"""Background loops outlive a database that is away for a moment (docs/reliability.md): the
embedded scheduler's tick, a worker's maintenance round and the relay's lease renewal each log
the failure and go on. The real restart is in tests/reliability/test_faults.py (PostgreSQL,
a serial test); here the failure is injected, so each handler runs whatever the timing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from iptvsync.relay.slots import Held, SlotBook
from iptvsync.settings import Settings
from iptvsync.sync import procrastinate_runner as pr
from iptvsync.sync import schedule


class FailsOnce:
    """An async stand-in that raises on its first call and notes every later one."""

    def __init__(self) -> None:
        self.calls = 0
        self.again = asyncio.Event()

    async def __call__(self, *args: Any) -> list[int]:
        self.calls += 1
        if self.calls == 1:
            raise OSError("the database is restarting")
        self.again.set()
        return []


async def test_a_failed_scheduler_tick_does_not_end_the_schedule(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tick = FailsOnce()
    monkeypatch.setattr(schedule, "start_due_syncs", tick)
    settings = Settings(data_dir=tmp_path, schedule_tick_s=0.01)
    scheduler = schedule.EmbeddedScheduler(None, settings, None).start()  # type: ignore[arg-type]
    try:
        await asyncio.wait_for(tick.again.wait(), 5)
    finally:
        await scheduler.stop()
    assert "scheduler tick failed" in caplog.text


async def test_a_failed_maintenance_round_does_not_stop_the_worker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reap = FailsOnce()
    monkeypatch.setattr(pr, "reap_stalled_jobs", reap)
    monkeypatch.setattr(pr, "close_lost_runs", lambda db: 0)
    settings = Settings(data_dir=tmp_path, worker_heartbeat_s=0.5, worker_stalled_after_s=1.5)
    task = asyncio.create_task(pr.maintain(None, None, settings))  # type: ignore[arg-type]
    try:
        await asyncio.wait_for(reap.again.wait(), 10)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert "worker maintenance failed" in caplog.text


async def test_a_failed_lease_renewal_is_tried_again(caplog: pytest.LogCaptureFixture) -> None:
    book = SlotBook(None, lease_s=0.03)  # type: ignore[arg-type]
    renew = FailsOnce()
    book.renew_now = renew  # type: ignore[method-assign]
    book._held["h"] = Held("h", "provider:1", {}, lambda: None)
    book._ensure_renewing()
    try:
        await asyncio.wait_for(renew.again.wait(), 5)
    finally:
        book._held.clear()
        assert book._task is not None
        book._task.cancel()
        await asyncio.gather(book._task, return_exceptions=True)
    assert "could not renew stream slot leases" in caplog.text

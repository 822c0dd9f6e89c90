"""Scheduled syncs: parsing a provider's schedule, deciding when it is due, never overlapping."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from iptvsync.app import create_app
from iptvsync.settings import Settings
from iptvsync.store import providers as provider_store
from iptvsync.store import runs
from iptvsync.store.run_state import FINAL
from iptvsync.sync.schedule import (
    Schedule,
    due_syncs,
    is_due,
    next_due,
    parse_duration,
    parse_schedule,
    start_due_syncs,
)
from tests.run_rows import set_run

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("6h", 6 * 3600),
        ("90m", 5400),
        ("1h30m", 5400),
        ("1d", 86400),
        ("2w", 14 * 86400),
        ("45s", 45),
        ("3600", 3600),
        (120, 120),
        (" 2H ", 7200),
    ],
)
def test_parse_duration(text: Any, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "6", "h", "6x", "6h foo", "-1h", "1h-"])
def test_parse_duration_refuses(text: str) -> None:
    if text == "6":  # a bare number is seconds
        assert parse_duration(text) == timedelta(seconds=6)
        return
    with pytest.raises(ValueError):
        parse_duration(text)


def test_parse_schedule_forms() -> None:
    assert parse_schedule({}) is None
    assert parse_schedule({"schedule": None}) is None
    assert parse_schedule({"schedule": {"every": "6h"}}) == Schedule(every=timedelta(hours=6))
    assert parse_schedule({"schedule": "6h"}) == Schedule(every=timedelta(hours=6))
    assert parse_schedule({"schedule": "0 */6 * * *"}) == Schedule(cron="0 */6 * * *")
    assert parse_schedule(
        {"schedule": {"cron": "30 3 * * *", "scope": "vod", "mode": "full"}}
    ) == Schedule(cron="30 3 * * *", scope="vod", mode="full")


@pytest.mark.parametrize(
    "raw",
    [
        {"every": "6h", "cron": "* * * * *"},
        {"scope": "vod"},
        {"every": "1s"},
        {"every": "soon"},
        {"cron": "not a cron"},
        {"every": "6h", "scope": "everything"},
        {"every": "6h", "mode": "fast"},
        {"every": "6h", "when": "now"},
        ["6h"],
    ],
)
def test_parse_schedule_refuses(raw: Any) -> None:
    with pytest.raises(ValueError):
        parse_schedule({"schedule": raw})


def test_every_counts_from_the_end_of_the_last_run() -> None:
    s = Schedule(every=timedelta(hours=6))
    assert next_due(s, last_created_at=None, last_finished_at=None) is None
    # A sync that took 7 h does not start again the moment it ends.
    started, ended = T0, T0 + timedelta(hours=7)
    assert next_due(s, last_created_at=started, last_finished_at=ended) == ended + timedelta(
        hours=6
    )
    assert not is_due(
        s, now=ended + timedelta(hours=5), last_created_at=started, last_finished_at=ended
    )
    assert is_due(
        s, now=ended + timedelta(hours=6), last_created_at=started, last_finished_at=ended
    )


def test_cron_is_due_once_a_fire_time_passed_since_the_last_run() -> None:
    s = Schedule(cron="0 */6 * * *")
    last = T0 + timedelta(minutes=5)  # 12:05
    assert next_due(s, last_created_at=last, last_finished_at=None) == T0 + timedelta(hours=6)
    assert not is_due(s, now=T0 + timedelta(hours=5), last_created_at=last, last_finished_at=None)
    assert is_due(s, now=T0 + timedelta(hours=6), last_created_at=last, last_finished_at=None)
    # Naive datetimes (SQLite) are UTC.
    naive = last.replace(tzinfo=None)
    assert is_due(s, now=T0 + timedelta(hours=6), last_created_at=naive, last_finished_at=None)
    # Never synced: due at once.
    assert is_due(s, now=T0, last_created_at=None, last_finished_at=None)


def _provider(db: sa.Engine, options: dict[str, Any]) -> int:
    with db.begin() as conn:
        name = f"p{len(provider_store.list_providers(conn))}"  # names are unique
        return provider_store.create_provider(
            conn,
            {"name": name, "kind": "m3u", "url": "http://127.0.0.1:9/list.m3u", "options": options},
        )


class RecordingRunner:
    """A runner that only records what it was asked (the engine is not under test here)."""

    def __init__(self) -> None:
        self.enqueued: list[tuple[int, int]] = []

    async def enqueue(self, run_id: int, provider_id: int) -> None:
        self.enqueued.append((run_id, provider_id))

    async def cancel(self, run_id: int) -> None:
        return None


def _finish(db: sa.Engine, run_id: int, at: datetime) -> None:
    with db.begin() as conn:
        set_run(conn, run_id, status="succeeded", phase="done", created_at=at, finished_at=at)


async def test_due_syncs_start_and_never_overlap(db: sa.Engine, settings: Settings) -> None:
    every = _provider(db, {"schedule": {"every": "1h", "scope": "channels"}})
    cron = _provider(db, {"schedule": {"cron": "0 * * * *"}})
    none = _provider(db, {})
    broken = _provider(db, {"schedule": {"every": "whenever"}})
    runner = RecordingRunner()

    # Never synced: both scheduled providers are due at once; the others never.
    started = await start_due_syncs(db, settings, runner)
    assert sorted(p for _, p in runner.enqueued) == sorted([every, cron])
    assert none not in [p for _, p in runner.enqueued] and broken not in started
    with db.connect() as conn:
        scope = runs.get_run(conn, runner.enqueued[0][0]).scope
    assert scope == "channels"

    # Their runs are still queued: the next tick starts nothing (never overlapping).
    assert await start_due_syncs(db, settings, runner) == []

    # Once finished, "every" waits its hour from the end of the run; cron its next hour.
    now = datetime.now(UTC).replace(minute=5, second=0, microsecond=0)
    for run_id, _ in runner.enqueued:
        _finish(db, run_id, now)
    with db.connect() as conn:
        assert due_syncs(conn, now + timedelta(minutes=30)) == []
        later = {d.provider_id for d in due_syncs(conn, now + timedelta(minutes=61))}
    assert later == {every, cron}
    again = await start_due_syncs(db, settings, runner, now=now + timedelta(minutes=61))
    assert len(again) == 2


async def test_embedded_scheduler_runs_in_the_app_lifespan(
    db: sa.Engine, settings: Settings
) -> None:
    """``iptvsync serve`` (inline runner) ticks the schedules itself."""
    provider_id = _provider(db, {"schedule": {"every": "6h", "scope": "channels"}})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        deadline = time.monotonic() + 10
        while True:
            with db.connect() as conn:
                last = runs.last_runs(conn, provider_id)
            if last and last[0].status in FINAL:
                break
            assert time.monotonic() < deadline, "the embedded scheduler did not start a sync"
            await asyncio.sleep(0.05)
    assert len(last) == 1 and last[0].scope == "channels"
    # Nothing listens on port 9: the scheduled run failed cleanly, as a user's would.
    assert last[0].error["code"] == "provider_unreachable"


async def test_scheduler_can_be_switched_off(db: sa.Engine, settings: Settings) -> None:
    provider_id = _provider(db, {"schedule": {"every": "6h"}})
    app = create_app(settings.replace(scheduler=False))
    async with app.router.lifespan_context(app):
        await asyncio.sleep(0.5)  # an enabled scheduler ticks at once
    with db.connect() as conn:
        assert runs.last_runs(conn, provider_id) == []

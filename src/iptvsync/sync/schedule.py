"""Scheduled syncs: a provider's ``options.schedule``, when it is due, and who starts it.

A provider opts in with one of::

    {"schedule": {"every": "6h"}}              # interval: 30s, 15m, 6h, 1d, 1h30m or seconds
    {"schedule": {"cron": "0 */6 * * *"}}      # cron, UTC, 5 fields (a 6th: the second, last)
    {"schedule": {"every": "1d", "scope": "vod", "mode": "auto"}}   # optional scope / mode

When is it due? The schedule counts from the provider's last run, whatever started it (a user,
the CLI, the schedule) and however it ended:

- ``every``: due when the last run *finished* at least ``every`` ago, so a sync that takes
  longer than its interval does not start again the moment it ends;
- ``cron``: due when a fire time has passed since the last run was *created*;
- never synced: due at once.

Never overlapping: a provider with a queued or running run is skipped, and the partial unique
index on ``sync_runs`` refuses a second one anyway (``SyncRunning``), whoever asks.

Who ticks: in the embedded deployment, ``EmbeddedScheduler`` inside ``iptvsync serve`` (started
by the app lifespan); in scale mode a Procrastinate periodic task that exactly one worker
defers per tick (``procrastinate_runner``) calls the same ``start_due_syncs``. The pure part
(``parse_schedule``, ``parse_duration``, ``next_due``) reads no clock and no database.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import croniter  # declared in pyproject.toml; Procrastinate's periodic tasks use it too
import sqlalchemy as sa

from iptvsync.errors import IptvsyncError, SyncRunning
from iptvsync.settings import Settings
from iptvsync.store import runs
from iptvsync.store.providers import utcnow
from iptvsync.store.run_state import ACTIVE
from iptvsync.sync.service import Runner, request_sync

log = logging.getLogger("iptvsync.schedule")

SCOPES = ("auto", "all", "vod", "channels")
MODES = ("auto", "full", "incremental")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
#: Shorter intervals would be a denial of service on the provider, not a schedule.
MIN_EVERY = timedelta(seconds=10)
#: Fire times of a cron looked at to find its shortest interval (from a fixed start, so the
#: answer does not depend on the clock).
_PROBE_FIRES = 200
_PROBE_START = datetime(2026, 1, 1, tzinfo=UTC)
CRON_ORDER = "minute hour day month weekday [second]"


@dataclass(frozen=True)
class Schedule:
    every: timedelta | None = None
    cron: str | None = None
    scope: str = "auto"
    mode: str = "auto"

    def describe(self) -> str:
        if self.every is not None:
            return f"every {self.every.total_seconds():g} s"
        return f"cron {self.cron!r}"


def parse_duration(value: str | int | float) -> timedelta:
    """``"6h"``, ``"90m"``, ``"1h30m"``, ``"1d"``, ``"45s"`` or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration is a string like '6h' or a number of seconds")
    if isinstance(value, int | float):
        return timedelta(seconds=float(value))
    text = value.strip().lower().replace(" ", "")
    if text.replace(".", "", 1).isdigit():
        return timedelta(seconds=float(text))
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {value!r} (use 30s, 15m, 6h, 1d, 1h30m)")
    return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))


def parse_schedule(options: dict[str, Any] | None) -> Schedule | None:
    """The schedule in a provider's options, None when it has none (ValueError when bad)."""
    raw = (options or {}).get("schedule")
    if raw in (None, {}, ""):
        return None
    if isinstance(raw, str):  # shorthand: "6h" or "0 */6 * * *"
        raw = {"cron": raw} if " " in raw.strip() else {"every": raw}
    if not isinstance(raw, dict):
        raise ValueError("schedule must be an object like {'every': '6h'} or {'cron': '...'}")
    unknown = set(raw) - {"every", "cron", "scope", "mode"}
    if unknown:
        raise ValueError(f"unknown schedule fields: {sorted(unknown)}")
    if ("every" in raw) == ("cron" in raw):
        raise ValueError("a schedule has exactly one of 'every' and 'cron'")
    scope, mode = str(raw.get("scope", "auto")), str(raw.get("mode", "auto"))
    if scope not in SCOPES:
        raise ValueError(f"schedule scope must be one of {SCOPES}")
    if mode not in MODES:
        raise ValueError(f"schedule mode must be one of {MODES}")
    if "every" in raw:
        every = parse_duration(raw["every"])
        if every < MIN_EVERY:
            raise ValueError(f"schedule interval must be at least {MIN_EVERY.seconds}s")
        return Schedule(every=every, scope=scope, mode=mode)
    cron = " ".join(str(raw["cron"]).split())
    fields = cron.split(" ")
    if len(fields) == 6 and not fields[5].isdigit():
        # croniter reads a 6th field as the second; a seconds-first form (Quartz, Spring:
        # "0 */5 * * * *") would silently mean "every second of minute 0" (docs/deploy.md).
        raise ValueError(
            f"cron {cron!r} has 6 fields: the 6th is the second ({CRON_ORDER}) and must be "
            "one number 0-59; seconds-first forms are not understood"
        )
    if len(fields) not in (5, 6) or not croniter.croniter.is_valid(cron):
        raise ValueError(f"not a cron expression: {cron!r} (fields: {CRON_ORDER}, UTC)")
    return Schedule(cron=cron, scope=scope, mode=mode)


def shortest_interval(schedule: Schedule) -> timedelta:
    """The shortest time between two runs the schedule asks for."""
    if schedule.every is not None:
        return schedule.every
    assert schedule.cron is not None
    fires = croniter.croniter(schedule.cron, _PROBE_START)
    times = [fires.get_next(datetime) for _ in range(_PROBE_FIRES)]
    return min(later - earlier for earlier, later in itertools.pairwise(times))


def check_tick(options: dict[str, Any] | None, tick_s: float) -> None:
    """Refuse a schedule that asks for runs more often than schedules are checked: it would
    silently run once per tick instead (ValueError, said in words)."""
    schedule = parse_schedule(options)
    if schedule is None:
        return
    shortest = shortest_interval(schedule).total_seconds()
    if shortest < tick_s:
        order = (
            f" (the 6th field of a cron is the second: {CRON_ORDER})"
            if _has_seconds(schedule)
            else ""
        )
        raise ValueError(
            f"the schedule {schedule.describe()} would start a sync every {shortest:g} s, but "
            f"schedules are checked every {tick_s:g} s (IPTVSYNC_SCHEDULE_TICK_S), so it would "
            f"run once per check instead: use at least {tick_s:g} s{order}"
        )


def _has_seconds(schedule: Schedule) -> bool:
    return schedule.cron is not None and len(schedule.cron.split(" ")) == 6


def next_due(
    schedule: Schedule,
    *,
    last_created_at: datetime | None,
    last_finished_at: datetime | None,
) -> datetime | None:
    """When the next scheduled run is due (None: at once, the provider was never synced)."""
    if last_created_at is None:
        return None
    if schedule.every is not None:
        return _aware(last_finished_at or last_created_at) + schedule.every
    assert schedule.cron is not None
    after = croniter.croniter(schedule.cron, _aware(last_created_at))
    return _aware(after.get_next(datetime))


def is_due(
    schedule: Schedule,
    *,
    now: datetime,
    last_created_at: datetime | None,
    last_finished_at: datetime | None,
) -> bool:
    due = next_due(schedule, last_created_at=last_created_at, last_finished_at=last_finished_at)
    return due is None or due <= _aware(now)


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything we store is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class DueSync:
    provider_id: int
    schedule: Schedule


def due_syncs(conn: sa.Connection, now: datetime) -> list[DueSync]:
    """Providers whose schedule is due and that have nothing queued or running."""
    rows = runs.providers_with_last_run(conn)
    due: list[DueSync] = []
    for provider_id, options, status, created_at, finished_at in rows:
        try:
            schedule = parse_schedule(options)
        except ValueError as exc:
            log.warning("provider %s: ignoring its schedule: %s", provider_id, exc)
            continue
        if schedule is None or status in ACTIVE:
            continue
        if is_due(schedule, now=now, last_created_at=created_at, last_finished_at=finished_at):
            due.append(DueSync(int(provider_id), schedule))
    return due


async def start_due_syncs(
    db: sa.Engine, settings: Settings, runner: Runner, *, now: datetime | None = None
) -> list[int]:
    """Queue a sync for every provider whose schedule is due; returns the new run ids."""
    moment = now or utcnow()

    def find() -> list[DueSync]:
        with db.connect() as conn:
            return due_syncs(conn, moment)

    started: list[int] = []
    for item in await asyncio.to_thread(find):
        try:
            run_id, _plan = await request_sync(
                db,
                settings,
                runner,
                item.provider_id,
                scope=item.schedule.scope,
                mode=item.schedule.mode,
            )
        except SyncRunning:
            continue  # someone started one meanwhile: that is the run we wanted
        except IptvsyncError as exc:
            log.warning("scheduled sync of provider %s not started: %s", item.provider_id, exc)
            continue
        log.info(
            "scheduled sync of provider %s (%s): run %s",
            item.provider_id,
            item.schedule.describe(),
            run_id,
        )
        started.append(run_id)
    return started


class EmbeddedScheduler:
    """The embedded deployment's ticker: ``start_due_syncs`` every ``schedule_tick_s``."""

    def __init__(self, db: sa.Engine, settings: Settings, runner: Runner) -> None:
        self.db = db
        self.settings = settings
        self.runner = runner
        self._task: asyncio.Task[None] | None = None

    def start(self) -> EmbeddedScheduler:
        self._task = asyncio.create_task(self._loop(), name="iptvsync-scheduler")
        return self

    async def _loop(self) -> None:
        while True:
            try:
                await start_due_syncs(self.db, self.settings, self.runner)
            except Exception:  # a bad tick (database restarting) must not end the schedule
                log.exception("scheduler tick failed")
            await asyncio.sleep(self.settings.schedule_tick_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def start_embedded_scheduler(services: Any) -> EmbeddedScheduler | None:
    """Called by the app lifespan: the embedded scheduler, unless Procrastinate's periodic
    task does the ticking (scale mode) or schedules are switched off."""
    settings: Settings = services.settings
    if not settings.scheduler or settings.runner == "procrastinate":
        return None
    return EmbeddedScheduler(services.db, settings, services.runner).start()

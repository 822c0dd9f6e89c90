"""Sync runs: creating, reading, recording progress, closing the ones nobody drives.

The state machine (statuses, phases, the one transition function) is ``store.run_state``.
At most one queued-or-running run per provider: a partial unique index enforces it, so two
API replicas asked at the same instant cannot both start one. A run whose process died is
found by its stale heartbeat and closed as ``failed`` with ``error.code = "interrupted"``.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from iptvsync.errors import NotFound, SyncRunning
from iptvsync.store.models import providers, sync_runs
from iptvsync.store.providers import iso, utcnow
from iptvsync.store.run_state import ACTIVE, Phase, RunStatus, StopReason, move

_ACTIVE = [s.value for s in ACTIVE]
#: ``worker`` of runs handed to a job queue (scale mode: "procrastinate:<job id>[@host:pid]").
#: While queued, such a run waits in the queue, not in a process: it is not stale for lack of a
#: heartbeat, and the queue's workers close it if its job is lost (``sync/procrastinate_runner``).
QUEUED_ELSEWHERE_PREFIX = "procrastinate:"
#: The keys of a run's ``counts`` (docs/api.md).
COUNT_KEYS = ("movies", "series", "channels")


def empty_counts() -> dict[str, dict[str, int]]:
    return {k: {"added": 0, "updated": 0, "unchanged": 0, "removed": 0} for k in COUNT_KEYS}


def empty_progress() -> dict[str, Any]:
    return {
        "done_pages": 0,
        "total_pages": 0,
        "done_items": 0,
        "total_items": 0,
        "items_per_s": 0.0,
        "eta_s": None,
    }


def active_run_id(conn: sa.Connection, provider_id: int) -> int | None:
    return conn.execute(
        sa.select(sync_runs.c.id).where(
            sync_runs.c.provider_id == provider_id, sync_runs.c.status.in_(_ACTIVE)
        )
    ).scalar()


def create_run(
    engine: sa.Engine,
    provider_id: int,
    *,
    scope: str,
    mode: str,
    plan: dict[str, str | None],
    worker: str | None = None,
) -> int:
    """Insert a queued run, or raise SyncRunning with the id of the one that exists."""
    try:
        with engine.begin() as conn:
            result = conn.execute(
                sync_runs.insert().values(
                    provider_id=provider_id,
                    scope=scope,
                    mode=mode,
                    plan=plan,
                    status=RunStatus.QUEUED.value,
                    phase=Phase.QUEUED.value,
                    progress=empty_progress(),
                    counts=empty_counts(),
                    requests=0,
                    incomplete=False,
                    warnings=[],
                    cancel_requested=False,
                    worker=worker,
                    created_at=utcnow(),
                    heartbeat_at=utcnow(),
                )
            )
            pk = result.inserted_primary_key
            assert pk is not None
            return int(pk[0])
    except sa.exc.IntegrityError:
        with engine.connect() as conn:
            existing = active_run_id(conn, provider_id)
        if existing is None:  # it finished between our insert and our look-up
            return create_run(engine, provider_id, scope=scope, mode=mode, plan=plan, worker=worker)
        raise SyncRunning(existing) from None


def get_run(conn: sa.Connection, run_id: int) -> Any:
    row = conn.execute(sa.select(sync_runs).where(sync_runs.c.id == run_id)).first()
    if row is None:
        raise NotFound(f"sync run {run_id} not found", detail={"run_id": run_id})
    return row


def last_runs(conn: sa.Connection, provider_id: int, limit: int = 10) -> list[Any]:
    return list(
        conn.execute(
            sa.select(sync_runs)
            .where(sync_runs.c.provider_id == provider_id)
            .order_by(sync_runs.c.id.desc())
            .limit(limit)
        )
    )


def record_progress(
    conn: sa.Connection,
    run_id: int,
    *,
    phase: Phase,
    progress: dict[str, Any],
    counts: dict[str, dict[str, int]],
    warnings: list[str],
    requests: int,
) -> None:
    """A running run's figures and heartbeat (the engine's flush, twice a second)."""
    conn.execute(
        sync_runs.update()
        .where(sync_runs.c.id == run_id)
        .values(
            phase=phase.value,
            progress=progress,
            counts=counts,
            warnings=warnings,
            requests=requests,
            heartbeat_at=utcnow(),
        )
    )


def hand_to_queue(conn: sa.Connection, run_id: int, worker: str) -> None:
    """Say which queue job holds a queued run (scale mode: ``procrastinate:<job id>``)."""
    conn.execute(
        sync_runs.update()
        .where(sync_runs.c.id == run_id, sync_runs.c.status == RunStatus.QUEUED.value)
        .values(worker=worker)
    )


def take_over(
    conn: sa.Connection, run_id: int, heartbeat_seen: datetime | None, worker: str
) -> int:
    """Put a running run whose worker died back in the queue for ``worker`` — only while its
    heartbeat still stands where the taker saw it (a live worker would have moved it)."""
    return move(
        conn,
        run_id,
        RunStatus.QUEUED,
        source=RunStatus.RUNNING,
        where=[sync_runs.c.heartbeat_at == heartbeat_seen],
        worker=worker,
    )


def request_cancel(conn: sa.Connection, provider_id: int) -> int | None:
    run_id = active_run_id(conn, provider_id)
    if run_id is not None:
        conn.execute(
            sync_runs.update().where(sync_runs.c.id == run_id).values(cancel_requested=True)
        )
    return run_id


def queued_elsewhere(conn: sa.Connection) -> list[tuple[int, str, bool]]:
    """Queued runs handed to a job queue: (run id, job id, cancel requested)."""
    rows = conn.execute(
        sa.select(sync_runs.c.id, sync_runs.c.worker, sync_runs.c.cancel_requested).where(
            sync_runs.c.status == RunStatus.QUEUED.value,
            sync_runs.c.worker.startswith(QUEUED_ELSEWHERE_PREFIX),
        )
    )
    return [
        (run_id, worker[len(QUEUED_ELSEWHERE_PREFIX) :].split("@", 1)[0], bool(cancel))
        for run_id, worker, cancel in rows
    ]


def cancel_requested(conn: sa.Connection, run_id: int) -> bool:
    return bool(
        conn.execute(
            sa.select(sync_runs.c.cancel_requested).where(sync_runs.c.id == run_id)
        ).scalar()
    )


def close_stale_runs(
    conn: sa.Connection, *, stale_after_s: float, now: datetime | None = None
) -> int:
    """Close runs whose process died (no heartbeat for ``stale_after_s``) as interrupted."""
    closed = close_dead_local_runs(conn)
    now = now or utcnow()
    cutoff = now - timedelta(seconds=stale_after_s)
    stale = move(
        conn,
        None,
        RunStatus.FAILED,
        error=StopReason.PROCESS_DIED.error(),
        now=now,
        where=[
            sa.or_(sync_runs.c.heartbeat_at.is_(None), sync_runs.c.heartbeat_at < cutoff),
            sa.or_(
                sync_runs.c.status != RunStatus.QUEUED.value,
                ~sa.func.coalesce(sync_runs.c.worker, "").startswith(QUEUED_ELSEWHERE_PREFIX),
            ),
        ],
    )
    return closed + stale


def close_dead_local_runs(conn: sa.Connection) -> int:
    """Close runs held by a process of this host that no longer exists (kill -9, crash).

    Faster than waiting for the heartbeat to go stale: a restarted server can sync at once.
    """
    host = socket.gethostname()
    dead: list[int] = []
    for run_id, worker in conn.execute(
        sa.select(sync_runs.c.id, sync_runs.c.worker).where(
            sync_runs.c.status.in_(_ACTIVE), sync_runs.c.worker.like(f"{host}:%")
        )
    ):
        pid = worker.rsplit(":", 1)[1]
        if pid.isdigit() and not _pid_exists(int(pid)):
            dead.append(run_id)
    if dead:
        move(conn, dead, RunStatus.FAILED, error=StopReason.PROCESS_DIED.error())
    return len(dead)


def _pid_exists(pid: int) -> bool:
    """Whether a process ``pid`` lives on this host (signal 0 checks, sends nothing)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by another user
        return True
    return True


def providers_with_last_run(conn: sa.Connection) -> list[Any]:
    """Every provider with its options and its last run's status, created_at and finished_at
    (None without a run), by id: what schedules decide on."""

    latest = (
        sa.select(sync_runs.c.provider_id, sa.func.max(sync_runs.c.id).label("run_id"))
        .group_by(sync_runs.c.provider_id)
        .subquery()
    )
    last = sync_runs.alias("last")
    return list(
        conn.execute(
            sa.select(
                providers.c.id,
                providers.c.options,
                last.c.status,
                last.c.created_at,
                last.c.finished_at,
            )
            .select_from(providers)
            .outerjoin(latest, latest.c.provider_id == providers.c.id)
            .outerjoin(last, last.c.id == latest.c.run_id)
            .order_by(providers.c.id)
        )
    )


def public_run(row: Any) -> dict[str, Any]:
    m = row._mapping
    counts = empty_counts()
    counts.update(m["counts"] or {})
    return {
        "id": m["id"],
        "provider_id": m["provider_id"],
        "scope": m["scope"],
        "mode": m["mode"],
        "plan": m["plan"],
        "status": m["status"],
        "phase": m["phase"],
        "progress": {**empty_progress(), **(m["progress"] or {})},
        "counts": counts,
        "requests": m["requests"],
        "incomplete": bool(m["incomplete"]),
        "warnings": list(m["warnings"] or []),
        "error": m["error"],
        "created_at": iso(m["created_at"]),
        "started_at": iso(m["started_at"]),
        "finished_at": iso(m["finished_at"]),
    }

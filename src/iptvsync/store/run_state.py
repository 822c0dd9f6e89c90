"""The state machine of a sync run, as code: statuses, phases, why a run was stopped, and the
one function that moves a run from one status to another (docs/architecture.md).

    queued ──► running ──► succeeded | failed | cancelled | guarded
       │          │
       │          └──► queued   (a retried job takes over a run whose worker died)
       └──────────────────► cancelled | failed   (cancelled before it started; job lost)

``move`` is a guarded ``UPDATE ... WHERE status IN (<the statuses that may move there>)``:
two processes racing to close one run cannot both win, and a final run never moves again. A
move the machine does not have (``succeeded → running``) raises ``IllegalRunTransition``
before anything is written. The stored values are the enums' values, unchanged since the
first schema, so no migration was needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from iptvsync.records import Scope
from iptvsync.store.models import sync_runs
from iptvsync.store.providers import utcnow


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    #: Finished, but a removal was held back by the guard (docs/reliability.md).
    GUARDED = "guarded"

    @property
    def active(self) -> bool:
        return self in ACTIVE

    @property
    def final(self) -> bool:
        return self in FINAL


ACTIVE: tuple[RunStatus, ...] = (RunStatus.QUEUED, RunStatus.RUNNING)
FINAL: tuple[RunStatus, ...] = (
    RunStatus.SUCCEEDED,
    RunStatus.FAILED,
    RunStatus.CANCELLED,
    RunStatus.GUARDED,
)
#: Finished with the catalogue written (the CLI's exit code 0).
COMPLETED: tuple[RunStatus, ...] = (RunStatus.SUCCEEDED, RunStatus.GUARDED)

#: Every move the machine has: from a status, the statuses it may go to.
TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.QUEUED: frozenset({RunStatus.RUNNING, RunStatus.CANCELLED, RunStatus.FAILED}),
    RunStatus.RUNNING: frozenset({RunStatus.QUEUED, *FINAL}),
    **{status: frozenset() for status in FINAL},
}


class Phase(StrEnum):
    """What a run is doing now (``sync_runs.phase``, shown in progress bars and the API)."""

    QUEUED = "queued"
    PLANNING = "planning"
    CHANNELS_CATEGORIES = "channels:categories"
    CHANNELS = "channels"
    CHANNELS_SWEEP = "channels:sweep"
    VOD_CATEGORIES = "vod:categories"
    VOD = "vod"
    VOD_SWEEP = "vod:sweep"
    EPG = "epg"
    #: A first load's read indexes being built (``store/first_load.py``).
    INDEXES = "indexes"
    SNAPSHOT = "snapshot"
    DONE = "done"

    @classmethod
    def walking(cls, scope: Scope, step: str = "") -> Phase:
        """The phase of a walk of ``scope``: its categories, its items or its sweep."""
        return cls(f"{scope.value}:{step}" if step else scope.value)


class StopReason(StrEnum):
    """Why a run ended ``failed`` with ``error.code = "interrupted"``: nobody drives it any
    more. The value is the message the API shows."""

    PROCESS_DIED = "the process running this sync died"
    NOT_QUEUED = "the sync job was lost (not queued)"
    WORKER_DIED = "the sync job was lost (worker died)"
    JOB_GONE = "the sync job was lost (job gone)"

    def error(self) -> dict[str, str]:
        return {"code": "interrupted", "message": self.value}


class IllegalRunTransition(RuntimeError):
    """A move the state machine does not have: a bug in the caller, never a user's error."""


def sources_of(to: RunStatus) -> frozenset[RunStatus]:
    """The statuses a run may be in to move to ``to``."""
    return frozenset(s for s, targets in TRANSITIONS.items() if to in targets)


def check_transition(source: RunStatus, to: RunStatus) -> None:
    if to not in TRANSITIONS[source]:
        raise IllegalRunTransition(f"a sync run cannot go from {source} to {to}")


def move(
    conn: sa.Connection,
    run_ids: int | Iterable[int] | None,
    to: RunStatus,
    *,
    source: RunStatus | Iterable[RunStatus] | None = None,
    error: dict[str, str] | None = None,
    now: datetime | None = None,
    where: Iterable[sa.ColumnElement[bool]] = (),
    **recorded: Any,
) -> int:
    """Move runs (one id, some, or None: those ``where`` selects) to ``to`` from ``source``
    (default: every status that may go there); returns how many moved (0: another process
    got there first, or the run had moved on).

    A final status sets ``phase = done``, ``finished_at`` and ``error``; ``recorded`` carries the
    run's last figures (``progress``, ``counts``, ``warnings``, ``requests``, ``incomplete``,
    ``started_at``, ``heartbeat_at``, ``worker``) and nothing else.
    """
    sources = (
        sources_of(to)
        if source is None
        else frozenset([source] if isinstance(source, RunStatus) else source)
    )
    for s in sources:
        check_transition(s, to)
    unknown = set(recorded) - _RECORDED
    if unknown:
        raise TypeError(f"move() does not write {sorted(unknown)}")
    values: dict[str, Any] = {"status": to.value, **recorded}
    if to.final:
        values.update(phase=Phase.DONE.value, finished_at=now or utcnow(), error=error)
    elif to is RunStatus.QUEUED:
        values["phase"] = Phase.QUEUED.value
    elif to is RunStatus.RUNNING:
        values["phase"] = Phase.PLANNING.value
    conditions = [sync_runs.c.status.in_([s.value for s in sources]), *where]
    if run_ids is not None:  # None: every run that ``where`` selects
        ids = [run_ids] if isinstance(run_ids, int) else list(run_ids)
        conditions.append(sync_runs.c.id.in_(ids))
    result = conn.execute(sync_runs.update().where(*conditions).values(**values))
    return int(result.rowcount)


_RECORDED = frozenset(
    {
        "progress",
        "counts",
        "warnings",
        "requests",
        "incomplete",
        "started_at",
        "heartbeat_at",
        "worker",
    }
)

"""Putting a run row into a state a test needs (a dead worker's run, a finished one at a given
time) without the state machine: tests arrange, the code under test moves."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from iptvsync.store.models import sync_runs


def set_run(conn: sa.Connection, run_id: int, **values: Any) -> None:
    conn.execute(sync_runs.update().where(sync_runs.c.id == run_id).values(**values))

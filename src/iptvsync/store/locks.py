"""PostgreSQL advisory locks: one process of many does a job at a time (scale mode)."""

from __future__ import annotations

import sqlalchemy as sa


def try_lock(db: sa.Engine, key: int) -> sa.Connection | None:
    """Take the session-level advisory lock ``key`` without waiting: the connection that holds
    it (give it to ``unlock``), or None when another session holds it."""
    conn = db.connect()
    try:
        got = conn.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar()
        conn.commit()
    except BaseException:
        conn.close()
        raise
    if not got:
        conn.close()
        return None
    return conn


def unlock(conn: sa.Connection, key: int) -> None:
    try:
        conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
        conn.commit()
    finally:
        conn.close()

"""Database engines: a SQLite file in WAL mode by default, PostgreSQL for scale.

The engine is synchronous SQLAlchemy: SQLite is fastest that way, and async callers (the sync
engine, the API) run database work in a thread. One engine per process, built in the app
lifespan or by the CLI, and passed down.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from iptvsync.store import bulk


def create_db_engine(url: str, **kwargs: Any) -> sa.Engine:
    """Build an engine for ``url`` with the settings each backend needs."""
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            _private_sqlite_files(Path(path))
        engine = sa.create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=20,
            max_overflow=20,
            # LIFO: the connection used last (with its warm page cache) is handed out again,
            # instead of rotating through the pool and growing every connection's cache.
            pool_use_lifo=True,
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        # ``engine.begin()`` is how every write starts: make it BEGIN IMMEDIATE. In WAL mode a
        # deferred transaction that reads and then writes fails at once with SQLITE_BUSY when
        # another writer committed in between (busy_timeout cannot help a stale snapshot);
        # an immediate one queues for the write lock instead. Reads (``engine.connect()``)
        # stay deferred, so readers never wait for the writer.
        setattr(engine, "begin", functools.partial(_begin_immediate, engine))  # noqa: B010
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return sa.create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, **kwargs)


def _private_sqlite_files(path: Path) -> None:
    """The database holds provider secrets and users' password hashes: its file (and SQLite's
    ``-wal``/``-shm``, which take the database file's mode) is 0600, a new directory 0700."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if name.stat().st_mode & 0o077:
                name.chmod(0o600)


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None
    bulk.apply_pragmas(dbapi_conn)  # the write process's connection gets the same


def _sqlite_on_begin(conn: sa.Connection) -> None:
    immediate = conn.get_execution_options().get("sqlite_immediate")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextlib.contextmanager
def _begin_immediate(engine: sa.Engine) -> Iterator[sa.Connection]:
    with engine.connect() as conn:
        conn.execution_options(sqlite_immediate=True)
        with conn.begin():
            yield conn


def is_sqlite(engine: sa.Engine | sa.Connection) -> bool:
    return engine.dialect.name == "sqlite"

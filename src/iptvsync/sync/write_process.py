"""A large SQLite sync's bulk writes, in a second process (docs/sync.md, "The write process").

A first sync of a big catalogue is CPU-bound in one interpreter: fetching and parsing pages on
the event loop, turning records into rows and inserting them (nine indexes and the search
index) on the database thread. Threads do not help: the GIL keeps them on one core, and
SQLite's insert gives the GIL back for every row, only to wait for it again. So once a run
proves large (its walk fills a whole batch), its batches of items are written by a child
process on the machine's other core, while this process goes on fetching (docs/benchmarks.md,
issue 21).

It is a fast path with one home: :class:`RunWriter.call` runs ``fn(target, *args)`` here, with
``catalogue.EngineTarget`` on the run's engine, or the same ``fn`` there, with the child's
``bulk.SqliteFile`` on the same database file; on SQLite both run ``store/bulk.py``, so both
write the same rows (``tests/sync/test_write_process.py`` compares them). Only SQLite files
use it: PostgreSQL already writes in its own server processes.

The child is ``python -m iptvsync.sync.write_child`` (that module says how it talks and
ends): it imports no SQLAlchemy, only what the functions it runs need.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

import sqlalchemy as sa

from iptvsync.errors import IptvsyncError
from iptvsync.store import catalogue
from iptvsync.sync import write_child

log = logging.getLogger("iptvsync.sync")

T = TypeVar("T")


class WriteProcessFailed(IptvsyncError):
    """The write process died or could not start; the run fails and can be resumed (every
    batch it committed is kept; the one it was writing is rolled back by SQLite)."""

    code = "internal_error"


class WriteProcess:
    """The child and its two pipes. ``call`` blocks: it runs on the run's database thread."""

    def __init__(self, path: str) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", write_child.__name__, str(to_child_r), str(from_child_w)],
                pass_fds=(to_child_r, from_child_w),
                stdin=subprocess.DEVNULL,
                close_fds=True,
            )
        except BaseException:
            for fd in (to_child_r, to_child_w, from_child_r, from_child_w):
                os.close(fd)
            raise
        os.close(to_child_r)
        os.close(from_child_w)
        self._out = Connection(to_child_w, readable=False)
        self._in = Connection(from_child_r, writable=False)
        self._lock = threading.Lock()
        self._ready = False
        # The child has no SQLAlchemy: the tables' shapes go to it as plain data.
        self._out.send((path, catalogue.bulk_shapes()))

    def ready(self) -> bool:
        """Whether the child has started (never blocks)."""
        with self._lock:
            if not self._ready and self._in.poll(0):
                self._hello()
            return self._ready

    def wait_ready(self) -> None:
        """Block until the child has started (``WriteProcessFailed`` if it cannot)."""
        with self._lock:
            if not self._ready:
                self._hello()

    def _hello(self) -> None:
        try:
            hello = self._in.recv()
        except (EOFError, OSError) as exc:
            raise WriteProcessFailed("the write process did not start") from exc
        if hello != write_child.READY:
            raise WriteProcessFailed(f"the write process did not start: {hello}")
        self._ready = True

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(target, *args)`` in the child, on its ``bulk.SqliteFile`` of the database."""
        self.wait_ready()
        with self._lock:
            try:
                self._out.send((fn, args))
                ok, value = self._in.recv()
            except (EOFError, OSError) as exc:
                raise WriteProcessFailed(
                    f"the write process stopped (exit {self._proc.poll()})"
                ) from exc
        if ok:
            return value
        raise value

    def close(self) -> None:
        """Let the child finish its call and exit; kill it if it will not. Under the lock:
        the last word never lands inside a call another thread is sending."""
        with self._lock, contextlib.suppress(OSError):
            self._out.send(None)
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._out.close()
        self._in.close()


class RunWriter:
    """Where one run's bulk writes go: this process's database thread until the run proves
    large (:meth:`expect_more`), then the write process once it has started."""

    def __init__(self, db: sa.Engine, *, enabled: bool) -> None:
        self.db = db
        self.target = catalogue.EngineTarget(db)
        database = db.url.database if db.dialect.name == "sqlite" else None
        # On one core a child only adds its start-up and the pickling to the same work
        # (`bench/sync_stalker.py --pin`: 7.51 → 8.38 s; docs/benchmarks.md).
        self._eligible = (
            enabled and bool(database) and database != ":memory:" and usable_cores() > 1
        )
        self._process: WriteProcess | None = None
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        return self._process is not None

    def expect_more(self) -> None:
        """The run has a batch's worth and more to come: start the child (once)."""
        with self._lock:
            if self._eligible and self._process is None:
                assert self.db.url.database  # eligible: a database file
                self._process = WriteProcess(self.db.url.database)
                log.debug("write process started")

    def ensure_process(self) -> bool:
        """Start the child if it may run, and wait until it is up (blocking: not on the
        event loop). False when there is none: the caller works here instead."""
        self.expect_more()
        process = self._process
        if process is None:
            return False
        try:
            process.wait_ready()
        except WriteProcessFailed as exc:
            self._give_up(process, exc)
            return False
        return True

    def call_process(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(target, *args)`` in the child, which must be up: for calls that keep state there
        (``sync/guide_sink.py``), which must not land here half-way."""
        process = self._process
        if process is None:
            raise WriteProcessFailed("the write process stopped")
        return process.call(fn, *args)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(target, *args)``: in the child when it is up, else here. Blocking (database
        thread). Calls are serial either way, so switching between two calls keeps order."""
        process = self._process
        if process is not None and self._up(process):
            return process.call(fn, *args)
        return fn(self.target, *args)

    def _up(self, process: WriteProcess) -> bool:
        try:
            return process.ready()
        except WriteProcessFailed as exc:
            self._give_up(process, exc)
            return False

    def _give_up(self, process: WriteProcess, exc: WriteProcessFailed) -> None:
        """A child that could not start costs the run nothing: it writes here, as before,
        and starts no other."""
        log.warning("%s; this sync writes in its own process", exc)
        with self._lock:
            self._process = None
            self._eligible = False
        process.close()

    def close(self) -> None:
        with self._lock:
            process, self._process = self._process, None
        if process is not None:
            process.close()

    def finish(self) -> None:
        """The run has no more bulk writes: the child goes, and no other starts."""
        with self._lock:
            self._eligible = False
        self.close()


def usable_cores() -> int:
    """The cores this process may run on (its affinity, where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1

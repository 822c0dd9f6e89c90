"""The write process itself: ``python -m iptvsync.sync.write_child`` (docs/sync.md, "The write
process"; ``sync/write_process.py`` is the parent's side).

It imports no SQLAlchemy: it holds the run's database file as a ``bulk.SqliteFile`` and runs
the functions the parent sends (``sync/batch_write.py``: a batch of items, of programmes, a
guide's bytes) on it, so it costs the machine ~20 MB less than a process with the store's
engine would (docs/benchmarks.md, issue 21).

It talks over two pipes: first ``(path, shapes)`` in, ``"ready"`` or the error that kept it
from opening the database out; then pickled ``(fn, args)`` calls in, ``(ok, value)`` out. It
ignores Ctrl-C (the parent still writes what it fetched before it stops) and exits when its
pipe closes, whoever closed it: a parent that dies takes it down.
"""

from __future__ import annotations

import contextlib
import pickle
import signal
import sys
from multiprocessing.connection import Connection
from typing import Any

from iptvsync.store.bulk import SqliteFile
from iptvsync.sync.heap import for_bulk_work

#: The child's first answer: it opened the database.
READY = "ready"

#: Its page cache, KiB. It only writes, into the right-hand pages of its tables' indexes:
#: 2 MiB wrote as fast as the 8 a reading connection keeps, with 7 MB less memory
#: (docs/benchmarks.md, issue 21).
CACHE_KIB = 2048


def _portable(exc: BaseException) -> BaseException:
    """The child's error as the parent can unpickle it (the type is kept where it can be)."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def _serve(inbox: Connection, outbox: Connection) -> None:
    path, shapes = inbox.recv()
    try:
        target = SqliteFile(path, shapes, cache_kib=CACHE_KIB)
    except Exception as exc:  # a database it cannot open is said now, as the answer
        outbox.send(f"{type(exc).__name__}: {exc}")
        return
    outbox.send(READY)
    try:
        while True:
            try:
                message = inbox.recv()
            except EOFError:
                return
            if message is None:
                return
            fn, args = message
            try:
                answer: tuple[bool, Any] = (True, fn(target, *args))
            except Exception as exc:
                answer = (False, _portable(exc))
            outbox.send(answer)
    finally:
        target.close()


def main(argv: list[str]) -> None:
    # Ctrl-C reaches the whole process group; the parent handles it and still sends what it
    # had fetched, so the child must outlive it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for_bulk_work()  # the collector runs less (heap.py)
    inbox = Connection(int(argv[0]), writable=False)
    outbox = Connection(int(argv[1]), readable=False)
    with contextlib.suppress(BrokenPipeError):  # the parent is gone
        _serve(inbox, outbox)


if __name__ == "__main__":
    main(sys.argv[1:])

"""Building the read indexes a first load dropped (``store/first_load.py``), with nothing but
the standard library: a sync runs this file as ``python -I -S index_build.py FILE`` beside its
snapshot (``sync/indexes.py``), in a bare interpreter: 16.5 MB at most with SQLite's cache and
sorts, where importing the package's modules made it 19.2 MB, at the sync's peak of memory.
``first_load`` builds through the same functions in the process that asks.

Isolated (``-I``: no environment variables, no user site, not the script's own directory on
the path) and without ``site`` (``-S``): only the standard library can be imported.
"""

from __future__ import annotations

import signal
import sqlite3
import sys
import urllib.parse
from collections.abc import Collection, Sequence

#: The database's settings (``store/bulk.py``'s ``PRAGMAS``, which a test holds these to), with
#: a small page cache, and sorts that spill to a file past it (``temp_store``): an index of
#: 300k names would otherwise sort in ~15 MB.
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
    "PRAGMA wal_autocheckpoint=10000",
    "PRAGMA journal_size_limit=67108864",
    "PRAGMA cache_size=-2048",
    "PRAGMA temp_store=FILE",
)


def connect(path: str, pragmas: Sequence[str] = PRAGMAS) -> sqlite3.Connection:
    """A connection of its own to the database file ``path``, with ``pragmas``; autocommit
    (the caller says BEGIN). Read-write, never create: the file is the run's database, which
    exists. ``bulk.open_file`` opens through here too."""
    uri = f"file:{urllib.parse.quote(path)}?mode=rw"
    conn = sqlite3.connect(uri, timeout=30, isolation_level=None, uri=True)
    try:
        for pragma in pragmas:
            conn.execute(pragma)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except BaseException:
        conn.close()
        raise
    return conn


def restore(conn: sqlite3.Connection, only: Collection[str] | None = None) -> int:
    """Build every index a load dropped (or ``only`` those of them named), skipping any that
    exists; how many were built. Inside the caller's write transaction: the indexes and the
    record go together."""
    found = conn.execute("SELECT name, sql FROM deferred_indexes ORDER BY table_name, name")
    built = 0
    for name, sql in found.fetchall():
        if only is not None and name not in only:
            continue
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (name,)
        ).fetchone()
        if exists is None:
            conn.execute(sql)
            built += 1
        conn.execute("DELETE FROM deferred_indexes WHERE name = ?", (name,))
    return built


def build(path: str, only: Collection[str] | None = None) -> int:
    """``restore`` on a connection of its own, closed after: the pages it wrote and the sort's
    memory go with it, instead of staying in a pooled connection's cache through the
    snapshot's reads (the peak of a sync's memory)."""
    conn = connect(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            built = restore(conn, only)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return built
    finally:
        conn.close()


def main(argv: list[str]) -> None:
    """``build`` every index still waiting in the database file ``argv[0]``, and print how
    many. It finishes what it started whatever the terminal's Ctrl-C (a build cut short is
    rolled back and waits for the next one); an error exits 1 with its text, on one line."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        built = build(argv[0])
    except Exception as exc:
        sys.stderr.write(f"{type(exc).__name__}: {exc}\n")
        raise SystemExit(1) from None
    sys.stdout.write(f"{built}\n")


if __name__ == "__main__":
    main(sys.argv[1:])

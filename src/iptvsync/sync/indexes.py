"""A first load's read indexes over one run (``store/first_load.py``; docs/sync.md, "A first
sync's indexes"): dropped when the run starts on empty tables, built when its writes are over.

Where the run had a write process (a large load on a machine with several cores), they are
built in two steps, so that a sync's end is no longer the whole build and then the snapshot,
each waiting for the other:

1. the write process builds ``first_load.SNAPSHOT_ORDER``, the three the snapshot's reads
   walk (~0.1 s for 88k items), when the walk has ``early_pages`` pages or fewer left (the
   rows after go into them as they are written, at their end or near it), or else after its
   last batch; then it goes;
2. once the run's last write before its snapshot is made (the new version), a process of its
   own, ``python -I -S store/index_build.py FILE``, builds the rest (~0.35 s) while this
   process builds the snapshot. The snapshot's record waits for it (SQLite has one writer),
   and the run ends only when it is done.

On two cores that took ~0.1 s off a sync's end (docs/benchmarks.md, issue 21). The guide's
index goes earlier still: the write process builds it as soon as the guide's programmes are
all written (``guide_written``), mostly while the walk goes on. The process is
a bare interpreter (the standard library only) with SQLite's 2 MiB cache, ~10 MB, not the
write process kept alive (~30 MB), because it runs at the sync's peak of memory, the
snapshot's. Anywhere else (no write process: a small load, one core) everything is built at
once, in one step.

Whatever happens, a run ends with every index: a run that fails first, or a process that
fails, has them built here (``finish``); a sync that dies leaves their statements to whoever
opens the database next.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from collections.abc import Coroutine
from typing import Any

import sqlalchemy as sa

from iptvsync.store import catalogue as store
from iptvsync.store import first_load, index_build
from iptvsync.sync.background import in_db_thread_retrying
from iptvsync.sync.batch_write import build_indexes
from iptvsync.sync.write_process import RunWriter

log = logging.getLogger("iptvsync.sync")

_db = in_db_thread_retrying


def defer_indexes(db: sa.Engine) -> list[str]:
    """The tables loaded without their read indexes (``first_load.defer``)."""
    with db.begin() as conn:
        return store.defer_read_indexes(conn)


#: When the write process builds the snapshot's indexes: with this share of the walk's pages
#: (by its streams' totals) left, and at least ``EARLY_PAGES``. Before the last batches
#: instead of after them, and early enough that the build (~1 µs a row written so far: ~0.1 s
#: for 88k items) is over and the batches that waited on it are written before the walk ends;
#: the rows of the pages left then go into the three as they are written (issue 21). A share,
#: because the build grows with the rows and the time the pages left take with their count:
#: 128 pages at the end (the first rule) was ~0.1 s of a 20 ms walk and the build ended with
#: the walk, its waiting batches written ~0.07 s after; a 300k-item load's build would end
#: ~0.25 s after (docs/benchmarks.md, session 21).
EARLY_SHARE = 0.05
EARLY_PAGES = 128


def early_pages(totals: dict[str, tuple[int | None, int | None]]) -> int:
    """Pages left to walk at which the snapshot's indexes are built (``LoadIndexes.early``)."""
    pages = sum(t[0] or 0 for t in totals.values())
    return max(EARLY_PAGES, round(pages * EARLY_SHARE))


class LoadIndexes:
    """One run's first-load indexes: what waits, and the process building the rest."""

    def __init__(self, run_id: int, writer: RunWriter) -> None:
        self.run_id = run_id
        self.writer = writer
        #: Tables (catalogue, guide) loaded without their read indexes.
        self.tables: list[str] = []
        #: A snapshot is built at the run's end (the runner's ``on_changed``): the rest of the
        #: indexes are built beside it. Without one there is nothing to build them beside, and
        #: the write process builds them all at once, as before.
        self.beside_snapshot = True
        self._rest_apart = False
        self._apart: asyncio.Future[subprocess.CompletedProcess[str]] | None = None
        self._count = 0

    @property
    def waiting(self) -> bool:
        return bool(self.tables)

    async def defer(self, db: sa.Engine) -> None:
        self.tables = await _db(defer_indexes, db)

    def early(
        self, totals: dict[str, tuple[int | None, int | None]], pages: dict[str, int]
    ) -> Coroutine[Any, Any, int] | None:
        """The build of the snapshot's indexes in the write process, to be queued behind the
        batches now (a large first load with at most ``early_pages`` pages left to walk by its
        streams' totals and pages delivered), or None. Never when no stream says it has pages
        left: a stream tells its total with its first page on a portal, with its last on an
        Xtream panel (its lists come whole and unsorted), and the indexes built then would take
        every row after at a random place."""
        if not (self.tables and self.beside_snapshot and self.writer.started) or self._rest_apart:
            return None
        left = sum(max(0, (t[0] or 0) - pages.get(s, 0)) for s, t in totals.items())
        if not 0 < left <= early_pages(totals):
            return None
        self._rest_apart = True
        return self._build_first()

    async def _build_first(self) -> int:
        await self._build_snapshot_order()
        log.debug("run %s built its snapshot's indexes before its last batches", self.run_id)
        return 0

    async def _build_snapshot_order(self) -> None:
        """Step 1, in the write process; the rest is left for ``start_rest``."""
        self._count += await _db(self.writer.call, build_indexes, first_load.SNAPSHOT_ORDER)
        self._rest_apart = True

    async def guide_written(self) -> None:
        """The guide's programmes are all written (a load that defers its indexes, with a write
        process): the write process builds the guide's index now, behind the batches sent
        before, while the walk goes on, not at the sync's end (``first_load.GUIDE_ORDER``)."""
        if not ("programmes" in self.tables and self.beside_snapshot and self.writer.started):
            return
        try:
            self._count += await _db(self.writer.call, build_indexes, first_load.GUIDE_ORDER)
        except Exception as exc:  # still waiting: built at the end with the rest
            log.warning("building the guide's index early failed (%s); it waits for the end", exc)
            return
        log.debug("run %s built its guide's index after its last programmes", self.run_id)

    async def end_writes(self) -> None:
        """The run's bulk writes are over: build what is built where the writes were made (the
        write process, whose memory goes with it), then the write process goes."""
        if self.tables and not self._rest_apart:
            if self.writer.started and self.beside_snapshot:
                await self._build_snapshot_order()
            else:
                self._built(await _db(self.writer.call, build_indexes))
        await asyncio.to_thread(self.writer.finish)

    def start_rest(self) -> None:
        """After the run's last write before its snapshot: the rest, in their own process."""
        if not (self._rest_apart and self.tables) or self._apart is not None:
            return
        path = self.writer.db.url.database
        assert path  # a write process ran: a database file
        command = [sys.executable, "-I", "-S", index_build.__file__, path]
        self._apart = asyncio.ensure_future(asyncio.to_thread(_run, command))

    async def finish(self) -> None:
        """Every index built: by the process (waited for, even by a cancelled run), else here."""
        if self._apart is not None:
            done = await asyncio.shield(self._apart)
            self._apart = None
            if done.returncode == 0:
                self._built(int(done.stdout))
                return
            failed = done.stderr.strip()[-300:]
            log.warning("building read indexes apart failed (%s); building them here", failed)
        if self.tables:
            self._built(await _db(build_indexes, self.writer.target))

    def _built(self, built: int) -> None:
        self._count += built
        log.info("run %s built %s read indexes after its first load", self.run_id, self._count)
        self.tables = []
        self._rest_apart = False


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    except OSError as exc:  # could not start: built here instead
        return subprocess.CompletedProcess(command, 1, "", f"{type(exc).__name__}: {exc}")

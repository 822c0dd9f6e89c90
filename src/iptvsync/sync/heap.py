"""The garbage collector for a process that runs a large sync (docs/benchmarks.md, issue 21).

A walk allocates millions of short-lived objects (JSON rows, records, row dicts) that reference
counting frees at once. With CPython's default thresholds the cyclic collector still runs every
700 allocations — ~470 young collections and three full ones in a sync of 88k items, each full
one walking the ~150,000 objects of the imported modules — 0.3–0.45 s of the CLI's CPU and
~0.1 s of the write process's, on the cores the walk needs.

``for_bulk_work`` moves what is alive at that point (modules, settings) out of the collector's
sight (``gc.freeze``) and collects the young generation every ``YOUNG_THRESHOLD`` allocations:
cyclic garbage is still collected, later. Only where the sync is the process's work: the
write process, and ``iptvsync sync`` (and the demo's sync) for the sync's duration
(``bulk_work``). The server's own start-up freeze is ``app.freeze_startup_heap``.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

#: Allocations between two young collections (CPython's default: 700).
YOUNG_THRESHOLD = 50_000


def for_bulk_work() -> None:
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)


@contextlib.contextmanager
def bulk_work() -> Iterator[None]:
    """``for_bulk_work`` for a block; the thresholds come back after it, for a process that
    goes on to other work (``iptvsync demo`` serves what it synced). The frozen heap stays
    frozen: unfreezing it would only give the collector the start-up heap to walk again."""
    before = gc.get_threshold()
    for_bulk_work()
    try:
        yield
    finally:
        gc.set_threshold(*before)

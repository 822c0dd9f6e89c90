"""The writes a sync repeats most: a batch of walked items, a batch of guide programmes, and
a guide decoded where it is written.

A module of its own, importing neither SQLAlchemy nor the store's models, because the write
process (``sync/write_child.py``) runs these functions and loads no more than they need:
they write through a ``bulk.BulkTarget``, which is ``catalogue.EngineTarget`` in the sync's
own process and ``bulk.SqliteFile`` in the write process (docs/sync.md, "The write process").
"""

from __future__ import annotations

import itertools
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from iptvsync.records import CatalogueRecord, Kind, ProgrammeRecord
from iptvsync.store.bulk import BulkTarget, upsert
from iptvsync.sync.diff import record_to_row

COUNT_KEY = {Kind.CHANNEL: "channels", Kind.MOVIE: "movies", Kind.SERIES: "series"}


def write_items(
    target: BulkTarget,
    provider_id: int,
    run_id: int,
    version: int,
    batches: dict[Kind, list[CatalogueRecord]],
    cat_maps: dict[Kind, dict[str, int]],
) -> tuple[int, dict[str, dict[str, int]]]:
    """One transaction for the buffered pages: how many items were new, and the counts."""
    now = datetime.now(UTC)
    new = 0
    deltas: dict[str, dict[str, int]] = {}
    with target.begin() as tx:
        for kind, records in batches.items():
            cat_map = cat_maps[kind]
            rows = [record_to_row(r, cat_map) for r in records]
            writer = tx.writer(kind.value)
            result = upsert(writer, provider_id, rows, run_id=run_id, version=version, now=now)
            deltas[COUNT_KEY[kind]] = {
                "added": result.added,
                "updated": result.updated,
                "unchanged": result.unchanged,
            }
            new += len(result.new_keys)
    return new, deltas


def build_indexes(target: BulkTarget, only: Collection[str] | None = None) -> int:
    """Build the read indexes a first load dropped (or ``only`` those of them named), where
    the writes were made: in the write process, its memory goes with it (docs/sync.md, "A
    first sync's indexes")."""
    return target.build_deferred_indexes(only)


def write_programmes(target: BulkTarget, provider_id: int, rows: list[ProgrammeRecord]) -> None:
    """One transaction for a batch of guide programmes (``sync/guide.py``)."""
    with target.begin() as tx:
        tx.insert_programmes(provider_id, rows)


#: Programmes a guide transaction holds.
GUIDE_BATCH = 2000


class GuideBatches:
    """A guide's programmes kept for its window, gathered into transactions of
    ``GUIDE_BATCH``, with each channel's first start (what replaces the old guide there).
    One keeper for ``store_guide`` here and for the write process's sink
    (``sync/guide_sink.py``)."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start, self.end = start, end
        self.earliest: dict[str, datetime] = {}
        self.batch: list[ProgrammeRecord] = []
        self.stored = 0  # programmes handed out in batches

    def add(self, p: ProgrammeRecord) -> list[ProgrammeRecord] | None:
        """Keep ``p`` if it is in the window; a full batch to write, when there is one."""
        if p.stop <= self.start or p.start >= self.end:
            return None
        first = self.earliest.get(p.channel_key)
        if first is None or p.start < first:
            self.earliest[p.channel_key] = p.start
        self.batch.append(p)
        return self.take() if len(self.batch) >= GUIDE_BATCH else None

    def take(self) -> list[ProgrammeRecord]:
        """The programmes gathered since the last batch (maybe none)."""
        out, self.batch = self.batch, []
        self.stored += len(out)
        return out

    def merge(self, stored: int, earliest: dict[str, datetime]) -> None:
        """Count in what another keeper stored (the write process's)."""
        self.stored += stored
        for key, first in earliest.items():
            if key not in self.earliest or first < self.earliest[key]:
                self.earliest[key] = first


# -- a guide decoded in the write process (``sync/guide_sink.py`` sends it) ------------------
#
# The ``sink_*`` functions run in the child (``WriteProcess.call``), which keeps each open
# guide's state under its token until ``sink_close`` or ``sink_drop``.

#: Tokens of the guides a process hands to its write process.
sink_tokens = itertools.count(1)


@dataclass
class _Sink:
    decoder: Any
    provider_id: int
    kept: GuideBatches

    def take(self, target: BulkTarget, records: list[ProgrammeRecord]) -> None:
        for p in records:
            full = self.kept.add(p)
            if full:
                write_programmes(target, self.provider_id, full)


_SINKS: dict[int, _Sink] = {}


def sink_open(
    target: BulkTarget,
    token: int,
    decoder: Any,
    provider_id: int,
    start: datetime,
    end: datetime,
) -> None:
    _SINKS[token] = _Sink(decoder, provider_id, GuideBatches(start, end))


def sink_feed(target: BulkTarget, token: int, data: bytes) -> None:
    sink = _SINKS[token]
    sink.take(target, sink.decoder.feed(data))


def sink_close(target: BulkTarget, token: int) -> tuple[int, dict[str, datetime], tuple[int, int]]:
    """Write the rest: ``(stored, first start per channel, (seen, broken))``."""
    sink = _SINKS.pop(token)
    sink.take(target, sink.decoder.close())
    rest = sink.kept.take()
    if rest:
        write_programmes(target, sink.provider_id, rest)
    return sink.kept.stored, sink.kept.earliest, (sink.decoder.seen, sink.decoder.broken)


def sink_drop(target: BulkTarget, token: int) -> None:
    _SINKS.pop(token, None)

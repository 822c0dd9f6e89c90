"""The writes a sync repeats most: a batch of walked items, a batch of guide programmes.

A module of its own, importing only the store and the row builder, because the write process
runs the item batches (``sync/write_process.py``) and loads no more than they need: the
store's provider module alone would bring pydantic and cryptography, ~19 MB of its memory.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from iptvsync.records import CatalogueItem, Kind, ProgrammeRecord, resolve
from iptvsync.store import catalogue as store
from iptvsync.store import guide_write
from iptvsync.sync.diff import record_to_row

COUNT_KEY = {Kind.CHANNEL: "channels", Kind.MOVIE: "movies", Kind.SERIES: "series"}


def write_items(
    db: sa.Engine,
    provider_id: int,
    run_id: int,
    version: int,
    batches: dict[Kind, list[CatalogueItem]],
    cat_maps: dict[Kind, dict[str, int]],
) -> tuple[int, dict[str, dict[str, int]]]:
    """One transaction for the buffered pages: how many items were new, and the counts."""
    now = datetime.now(UTC)
    new = 0
    deltas: dict[str, dict[str, int]] = {}
    with db.begin() as conn:
        for kind, records in batches.items():
            cat_map = cat_maps[kind]
            rows = [record_to_row(resolve(r), cat_map) for r in records]
            result = store.upsert_items(
                conn, kind.value, provider_id, rows, run_id=run_id, version=version, now=now
            )
            deltas[COUNT_KEY[kind]] = {
                "added": result.added,
                "updated": result.updated,
                "unchanged": result.unchanged,
            }
            new += len(result.new_keys)
    return new, deltas


def write_programmes(db: sa.Engine, provider_id: int, rows: list[ProgrammeRecord]) -> None:
    """One transaction for a batch of guide programmes (``sync/guide.py``)."""
    with db.begin() as conn:
        guide_write.insert_programmes(conn, provider_id, rows)


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

"""The writes a sync repeats most: a batch of walked items, a batch of guide programmes.

A module of its own, importing only the store and the row builder, because the write process
runs the item batches (``sync/write_process.py``) and loads no more than they need: the
store's provider module alone would bring pydantic and cryptography, ~19 MB of its memory.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from iptvsync.records import CatalogueRecord, Kind, ProgrammeRecord
from iptvsync.store import catalogue as store
from iptvsync.store import guide_write
from iptvsync.sync.diff import record_to_row

COUNT_KEY = {Kind.CHANNEL: "channels", Kind.MOVIE: "movies", Kind.SERIES: "series"}


def write_items(
    db: sa.Engine,
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
    with db.begin() as conn:
        for kind, records in batches.items():
            cat_map = cat_maps[kind]
            rows = [record_to_row(r, cat_map) for r in records]
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

"""Records → rows, and the content hash that decides whether a stored row needs rewriting.

Pure: no database, no clock.
"""

from __future__ import annotations

import hashlib
from datetime import UTC
from typing import Any

import orjson

from iptvsync.records import CatalogueRecord, ChannelRecord, Kind, MovieRecord, SeriesRecord
from iptvsync.store.bulk import UNCATEGORISED


def content_hash(values: dict[str, Any]) -> str:
    blob = orjson.dumps(values, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.blake2b(blob, digest_size=16).hexdigest()


def record_to_row(record: CatalogueRecord, category_ids: dict[str, int]) -> dict[str, Any]:
    """Column values for ``record``; ``category_ids`` maps provider category ids to ours.

    Runs once per item of every sync (hundreds of thousands): dict literals, no keywords.
    """
    cats = record.category_ids
    if len(cats) == 1:  # nearly every item
        only = category_ids.get(cats[0])
        ours = [only] if only is not None else []
    else:
        ours = list(dict.fromkeys(category_ids[c] for c in cats if c in category_ids))
    primary = ours[0] if ours else category_ids.get(UNCATEGORISED)
    row: dict[str, Any] = {
        "provider_item_id": record.provider_item_id,
        "name": record.name or f"#{record.provider_item_id}",
        "category_id": primary,
        "category_ids": ours if len(ours) > 1 else None,
        "censored": record.censored,
        "cmd": record.cmd,
    }
    if isinstance(record, ChannelRecord):
        row["number"] = record.number
        row["logo"] = record.logo
        row["epg_id"] = record.epg_id
        row["archive"] = record.archive
        row["archive_days"] = record.archive_days
        row["radio"] = record.radio
        row["detail"] = dict(record.extra) or None
    else:
        row["year"] = record.year
        row["rating"] = record.rating
        row["poster"] = record.poster
        row["added_at"] = record.added_at
        row["detail"] = _detail(record)
        if isinstance(record, MovieRecord):
            row["extension"] = record.extension
    hashed = {k: v for k, v in row.items() if v is not None}
    added = hashed.get("added_at")
    if added is not None and added.tzinfo is not UTC and added.tzinfo is not None:
        # The hash reads ``added_at`` as its ``isoformat`` text. orjson writes the same text
        # for a UTC or naive value (every one a parse makes) inside its dumps, where a call
        # of ``isoformat`` took ~1.1 µs; an offset with seconds it would write otherwise
        # (``tests/sync/test_diff.py``).
        hashed["added_at"] = added.isoformat()
    row["hash"] = content_hash(hashed)
    return row


def _detail(record: MovieRecord | SeriesRecord) -> dict[str, Any] | None:
    detail: dict[str, Any] = {}
    if record.description:
        detail["description"] = record.description
    if record.director:
        detail["director"] = record.director
    if record.actors:
        detail["actors"] = record.actors
    if record.genres:
        detail["genres"] = record.genres
    if record.duration_min is not None:
        detail["duration_min"] = record.duration_min
    return detail or None


def record_kind(record: CatalogueRecord) -> Kind:
    if isinstance(record, ChannelRecord):
        return Kind.CHANNEL
    if isinstance(record, SeriesRecord):
        return Kind.SERIES
    return Kind.MOVIE

"""The snapshot's item stream (``store/item_stream.py``): its SQLite fast path gives the same
dicts, in the same order and chunks, as the general path (``queries.iter_items``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from iptvsync.store import catalogue, item_stream, providers, queries
from iptvsync.store.models import ITEM_TABLES
from iptvsync.store.providers import iso

NOW = datetime(2026, 11, 25, 3, 4, 5, tzinfo=UTC)
ADDED = (
    datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
    datetime(2024, 5, 6, 7, 8, 9, 120000, tzinfo=UTC),  # a fraction of a second
    None,
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),  # a tie: ordered by id
)


def _row(kind: str, n: int) -> dict[str, object]:
    row: dict[str, object] = {
        "provider_item_id": str(n),
        "name": f"Item {n} – ü",
        "category_id": n % 3 or None,
        "category_ids": [1, 2] if n % 4 == 0 else None,
        "censored": n % 5 == 0,
        "cmd": f"/media/{n}.mpg",
        "detail": None,
        "hash": f"h{n}",
        "added_at": ADDED[n % len(ADDED)],
    }
    if kind == "channel":
        row |= {
            "number": n if n % 3 else None,
            "logo": None if n % 2 else f"http://x/{n}.png",
            "epg_id": f"e{n}",
            "archive": n % 2 == 0,
            "archive_days": 3,
            "radio": False,
        }
    else:
        row |= {
            "year": 2000 + n if n % 3 else None,
            "rating": (n % 10) + 0.25 if n % 4 else None,
            "poster": None if n % 2 else f"http://x/{n}.jpg",
        }
        if kind == "movie":
            row["extension"] = "mkv"
    return row


@pytest.mark.parametrize("kind", ["movie", "series", "channel"])
def test_fast_path_gives_the_general_paths_dicts(db: sa.Engine, kind: str) -> None:
    with db.begin() as conn:
        pid = providers.create_provider(
            conn, {"name": "p", "kind": "stalker", "url": "http://x/c/", "mac": None}
        )
        rows = [_row(kind, n) for n in range(1, 24)]
        catalogue.upsert_items(conn, kind, pid, rows, run_id=1, version=1, now=NOW)
        table = ITEM_TABLES[kind]
        # A deleted item is in neither stream.
        conn.execute(sa.update(table).where(table.c.provider_item_id == "7").values(deleted_at=NOW))
        # The writer fills a missing added_at in: one without, as another writer may leave it.
        conn.execute(sa.update(table).where(table.c.provider_item_id == "8").values(added_at=None))
    with db.connect() as conn:
        general = list(queries.iter_items(conn, kind, pid, chunk=5))
        fast = list(item_stream.iter_item_dicts(conn, kind, pid, chunk=5))
    assert [len(c) for c in fast] == [5, 5, 5, 5, 2]
    assert fast == general
    flat = [item for chunk in fast for item in chunk]
    assert "7" not in {item["provider_item_id"] for item in flat}
    assert any("category_ids" in item for item in flat)
    if kind != "channel":
        assert {item["added_at"] for item in flat} >= {
            "2024-05-06T07:08:09Z",
            "2024-05-06T07:08:09.120000Z",
            None,
        }


@pytest.mark.parametrize(
    "value",
    [
        datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
        datetime(2024, 5, 6, 7, 8, 9, 1, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=2))),
    ],
)
def test_sqlite_iso_formats_stored_text_as_iso_formats_the_datetime(value: datetime) -> None:
    stored = catalogue.sqlite_datetime(value.astimezone(UTC))
    assert item_stream.sqlite_iso(stored) == iso(value)
    # Text of another form (written by another tool) goes through the datetime it stands for.
    assert item_stream.sqlite_iso(value.astimezone(UTC).isoformat()) == iso(value)
    assert item_stream.sqlite_iso(None) is None

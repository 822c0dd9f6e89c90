"""What an item is, in the API's shapes: the list shape and the detail shape of a movie, a
series or a channel, the kinds and their sort orders, and a page of them. The paged reads
(``store.queries``), search (``store.search``), the streamed reads (``store.batches``) and the
snapshot share these definitions.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa

from iptvsync.store.models import ITEM_TABLES
from iptvsync.store.providers import iso

MAX_LIMIT = 500
#: Ids are 32-bit integer columns: anything larger names nothing (and must not reach
#: PostgreSQL, which refuses it as out of range instead of finding no row).
MAX_ID = 2**31 - 1
DEFAULT_LIMIT = 50
#: The kinds of catalogue item, in the order search lists them.
ITEM_KINDS = ("movie", "series", "channel")
#: A kind's name in paths and messages (``movies``).
PLURAL_OF = {"movie": "movies", "series": "series", "channel": "channels"}
SORTS: dict[str, tuple[str, ...]] = {
    "movie": ("added", "name", "rating", "year", "relevance"),
    "series": ("added", "name", "rating", "year", "relevance"),
    "channel": ("number", "name", "added", "relevance"),
}
DEFAULT_SORT = {"movie": "added", "series": "added", "channel": "number"}


def valid_id(value: int) -> bool:
    return 1 <= value <= MAX_ID


VOD_COLUMNS = (
    "id",
    "provider_item_id",
    "name",
    "year",
    "rating",
    "poster",
    "category_id",
    "added_at",
)
CHANNEL_COLUMNS = (
    "id",
    "provider_item_id",
    "name",
    "number",
    "logo",
    "category_id",
    "epg_id",
    "archive",
)


def list_columns(kind: str) -> list[sa.ColumnElement[Any]]:
    table = ITEM_TABLES[kind]
    names = CHANNEL_COLUMNS if kind == "channel" else VOD_COLUMNS
    # category_ids as text: nearly every row holds JSON null, and decoding it with the JSON
    # type's json.loads costs more than the rest of the row (item_dict parses the rare list).
    raw_ids = sa.type_coerce(table.c.category_ids, sa.Text).label("category_ids")
    return [*(table.c[n] for n in names), raw_ids]


def item_dict(kind: str, row: Any) -> dict[str, Any]:
    """The list shape of an item (docs/api.md, "Catalogue") from a row with ``list_columns``."""
    m = row._mapping
    if kind == "channel":
        out: dict[str, Any] = {
            "id": m["id"],
            "provider_item_id": m["provider_item_id"],
            "name": m["name"],
            "number": m["number"],
            "logo": m["logo"],
            "category_id": m["category_id"],
            "epg_id": m["epg_id"],
            "archive": bool(m["archive"]),
        }
    else:
        rating = m["rating"]
        out = {
            "id": m["id"],
            "provider_item_id": m["provider_item_id"],
            "name": m["name"],
            "year": m["year"],
            "rating": float(rating) if rating is not None else None,
            "poster": m["poster"],
            "category_id": m["category_id"],
            "added_at": iso(m["added_at"]),
        }
    several = m["category_ids"]
    if isinstance(several, str):  # the raw text of list_columns (SQLite)
        several = orjson.loads(several) if several.startswith("[") else None
    if isinstance(several, list) and len(several) > 1:
        out["category_ids"] = several
    return out


def detail_dict(kind: str, row: Any) -> dict[str, Any]:
    """The list shape plus what a detail screen shows (``duration`` is in minutes)."""
    out = item_dict(kind, row)
    extra = row.detail if isinstance(row.detail, dict) else {}
    if kind == "channel":
        # Every detail has the same keys; a channel has none of a title's (docs/api.md).
        out.update(description=None, director=None, actors=None, genres=None, duration=None)
        out["archive_days"] = row.archive_days
        out["radio"] = bool(row.radio)
        return out
    out.update(
        description=extra.get("description"),
        director=extra.get("director"),
        actors=extra.get("actors"),
        genres=extra.get("genres"),
        duration=extra.get("duration_min"),
    )
    return out


def page_dict(total: int, page: int, limit: int, items: list[dict[str, Any]]) -> dict[str, Any]:
    offset = (page - 1) * limit
    return {
        "total": total,
        "page": page,
        "limit": limit,
        "items": items,
        "hasMore": offset + len(items) < total,
    }

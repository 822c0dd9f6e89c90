"""Reading the catalogue a page at a time: lists, categories with counts, detail, series
seasons, featured titles, and the streams the snapshot is built from.

Every function takes an open connection and returns plain dicts in the API's shapes
(``store.items``), so the REST routes, the snapshot builder and the outputs share one
definition of "an item". Soft-deleted rows (``deleted_at`` set) appear nowhere. Arguments are
valid already: the API checks them (``api/listing.py``); what is not found is ``NotFound``.

Orders are total (the last key is always ``id``), so pages never overlap or skip. Pages are read
in two steps, ids first from a covering index and then the rows by id, so a deep page costs an
index walk, not a row lookup per skipped row (indexes in migration 0002). Search is
``store.search``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from iptvsync.errors import NotFound
from iptvsync.store.catalogue import UNCATEGORISED
from iptvsync.store.items import (
    DEFAULT_LIMIT,
    DEFAULT_SORT,
    MAX_LIMIT,
    detail_dict,
    item_dict,
    list_columns,
    page_dict,
    valid_id,
)
from iptvsync.store.models import ITEM_TABLES, categories, episodes, series
from iptvsync.store.providers import get_provider
from iptvsync.store.search import search_words, text_match

# ---------------------------------------------------------------------------------------------
# filters and orders


def _live(table: sa.Table, provider_id: int) -> list[sa.ColumnElement[bool]]:
    return [table.c.provider_id == provider_id, table.c.deleted_at.is_(None)]


def _multi_category(conn: sa.Connection, table: sa.Table) -> sa.TextClause:
    # category_ids holds JSON null (not SQL NULL) for single-category items; the text form
    # matches the partial index of migration 0002 on each backend.
    if conn.dialect.name == "sqlite":
        return sa.text(f"{table.name}.category_ids <> 'null'")
    return sa.text(f"{table.name}.category_ids::text <> 'null'")


def secondary_members(
    conn: sa.Connection, kind: str, provider_id: int, category_id: int | None = None
) -> dict[int, list[int]]:
    """Item id → all its category ids, for the (few) items listed under several categories;
    only those in ``category_id`` when given."""
    table = ITEM_TABLES[kind]
    out: dict[int, list[int]] = {}
    same_provider: sa.ColumnElement[bool] | sa.TextClause = table.c.provider_id == provider_id
    if conn.dialect.name == "sqlite":
        # Unary + keeps SQLite off the (provider_id, ...) indexes, so it walks the small
        # partial index of multi-category rows instead of every row of the provider.
        same_provider = sa.text(f"+{table.name}.provider_id = :multi_pid").bindparams(
            multi_pid=provider_id
        )
    rows = conn.execute(
        sa.select(table.c.id, table.c.category_ids).where(
            same_provider, _multi_category(conn, table)
        )
    )
    for item_id, ids in rows:
        if isinstance(ids, list) and (category_id is None or category_id in ids):
            out[item_id] = ids
    return out


def category_condition(
    conn: sa.Connection, kind: str, provider_id: int, category_id: int
) -> sa.ColumnElement[bool]:
    """Items of a category: its primary items, and items that list it among several."""
    table = ITEM_TABLES[kind]
    extra = list(secondary_members(conn, kind, provider_id, category_id))
    if not extra:
        return table.c.category_id == category_id
    return sa.or_(table.c.category_id == category_id, table.c.id.in_(extra))


def order_by(conn: sa.Connection, kind: str, sort: str) -> list[sa.ColumnElement[Any]]:
    """A total order for ``sort``, written so each backend can walk its index (migration 0002)."""
    table = ITEM_TABLES[kind]
    sqlite = conn.dialect.name == "sqlite"
    c = table.c
    if sort == "added":
        return [c.added_at.desc(), c.id.desc()]
    if sort == "name":
        key = c.name.collate("NOCASE") if sqlite else sa.func.lower(c.name)
        return [key.asc(), c.id.asc()]
    if sort in ("rating", "year"):
        col = c[sort]
        # SQLite sorts NULL first, so DESC puts it last already; PostgreSQL needs telling.
        return [col.desc() if sqlite else col.desc().nulls_last(), c.id.desc()]
    if sort == "number":
        return [c.number.asc().nulls_last(), c.id.asc()]
    raise ValueError(f"unknown sort {sort!r}")  # the API refused it already (api/listing.py)


# ---------------------------------------------------------------------------------------------
# pages


def find_category(
    conn: sa.Connection, provider_id: int, category_id: int, kind: str | None = None
) -> Any:
    """A live category of the provider (of ``kind`` when given), or 404."""
    conds = [
        categories.c.id == category_id,
        categories.c.provider_id == provider_id,
        categories.c.deleted_at.is_(None),
    ]
    if kind is not None:
        conds.append(categories.c.kind == kind)
    row = (
        conn.execute(sa.select(categories).where(*conds)).first() if valid_id(category_id) else None
    )
    if row is None:
        label = f"{kind} category" if kind else "category"
        detail: dict[str, Any] = {"category_id": category_id}
        if kind:
            detail["kind"] = kind
        raise NotFound(f"no {label} {category_id} in provider {provider_id}", detail=detail)
    return row


def check_category(conn: sa.Connection, provider_id: int, kind: str, category_id: int) -> Any:
    return find_category(conn, provider_id, category_id, kind)


def check_provider(conn: sa.Connection, provider_id: int) -> Any:
    """The provider's row, or 404 (also for ids no row can have)."""
    if not valid_id(provider_id):
        raise NotFound(f"provider {provider_id} not found", detail={"provider_id": provider_id})
    return get_provider(conn, provider_id)


def list_items(
    conn: sa.Connection,
    kind: str,
    provider_id: int,
    *,
    page: int = 1,
    limit: int = DEFAULT_LIMIT,
    category: int | None = None,
    q: str | None = None,
    sort: str | None = None,
) -> dict[str, Any]:
    """One page of a provider's movies, series or channels: ``{total, page, limit, items,
    hasMore}``."""
    limit = min(limit, MAX_LIMIT)
    table = ITEM_TABLES[kind]
    q_given = bool(q and q.strip())
    if not sort or (sort == "relevance" and not q_given):
        sort = "relevance" if q_given else DEFAULT_SORT[kind]
    conditions: list[sa.ColumnElement[Any]] = [*_live(table, provider_id)]
    if category is not None:
        check_category(conn, provider_id, kind, category)
        conditions.append(category_condition(conn, kind, provider_id, category))
    source: sa.FromClause = table
    order: list[sa.ColumnElement[Any]] = []
    if q_given:
        words = search_words(q)
        if not words:  # nothing searchable ("!!!"): nothing matches
            return page_dict(0, page, limit, [])
        match = text_match(conn, kind, words)
        source = match.source
        conditions += match.conditions
        if sort == "relevance":
            order = [match.score.asc(), table.c.id.asc()]
    if not order:
        order = order_by(conn, kind, sort)
    total = conn.execute(sa.select(sa.func.count()).select_from(source).where(*conditions))
    total_n = int(total.scalar_one())
    offset = (page - 1) * limit
    if offset >= total_n:
        return page_dict(total_n, page, limit, [])
    ids = [
        r[0]
        for r in conn.execute(
            sa.select(table.c.id)
            .select_from(source)
            .where(*conditions)
            .order_by(*order)
            .limit(limit)
            .offset(offset)
        )
    ]
    return page_dict(total_n, page, limit, rows_by_id(conn, kind, ids))


def rows_by_id(conn: sa.Connection, kind: str, ids: Sequence[int]) -> list[dict[str, Any]]:
    """Items in list shape, in the order of ``ids``."""
    if not ids:
        return []
    table = ITEM_TABLES[kind]
    found = {
        r.id: item_dict(kind, r)
        for r in conn.execute(sa.select(*list_columns(kind)).where(table.c.id.in_(list(ids))))
    }
    return [found[i] for i in ids if i in found]


# ---------------------------------------------------------------------------------------------
# categories


def category_dict(row: Any, count: int) -> dict[str, Any]:
    key = row.provider_category_id
    return {
        "id": row.id,
        "provider_category_id": None if key == UNCATEGORISED else key,
        "kind": row.kind,
        "title": row.title,
        "censored": bool(row.censored),
        "count": count,
    }


def category_counts(conn: sa.Connection, kind: str, provider_id: int) -> dict[int, int]:
    """Live items per category id, counting items listed under several in each of them."""
    table = ITEM_TABLES[kind]
    counts: dict[int, int] = {}
    for category_id, n in conn.execute(
        sa.select(table.c.category_id, sa.func.count())
        .where(*_live(table, provider_id))
        .group_by(table.c.category_id)
    ):
        if category_id is not None:
            counts[category_id] = n
    multi = secondary_members(conn, kind, provider_id)
    if multi:
        primary = conn.execute(
            sa.select(table.c.id, table.c.category_id).where(
                table.c.id.in_(list(multi)), table.c.deleted_at.is_(None)
            )
        )
        for item_id, primary_id in primary:
            for category_id in set(multi[item_id]) - {primary_id}:
                counts[category_id] = counts.get(category_id, 0) + 1
    return counts


def list_categories(
    conn: sa.Connection, provider_id: int, kind: str | None = None
) -> list[dict[str, Any]]:
    """Categories with live item counts, by kind (channel, movie, series) then provider order.

    Our own "Uncategorised" category is listed only when it holds something.
    """
    kinds = [kind] if kind else ["channel", "movie", "series"]
    out: list[dict[str, Any]] = []
    for k in kinds:
        counts = category_counts(conn, k, provider_id)
        rows = conn.execute(
            sa.select(categories)
            .where(
                categories.c.provider_id == provider_id,
                categories.c.kind == k,
                categories.c.deleted_at.is_(None),
            )
            .order_by(categories.c.position, categories.c.id)
        )
        for row in rows:
            n = counts.get(row.id, 0)
            if row.provider_category_id == UNCATEGORISED and n == 0:
                continue
            out.append(category_dict(row, n))
    return out


def get_category(conn: sa.Connection, provider_id: int, category_id: int) -> dict[str, Any]:
    row = find_category(conn, provider_id, category_id)
    return category_dict(row, category_counts(conn, row.kind, provider_id).get(row.id, 0))


# ---------------------------------------------------------------------------------------------
# detail


def item_row(conn: sa.Connection, kind: str, provider_id: int, item_id: int) -> Any:
    """The live row of an item, or 404."""
    table = ITEM_TABLES[kind]
    row = (
        conn.execute(
            sa.select(table).where(table.c.id == item_id, *_live(table, provider_id))
        ).first()
        if valid_id(item_id)
        else None
    )
    if row is None:
        raise NotFound(
            f"no {kind} {item_id} in provider {provider_id}",
            detail={"kind": kind, "id": item_id},
        )
    return row


def get_item(conn: sa.Connection, kind: str, provider_id: int, item_id: int) -> dict[str, Any]:
    return detail_dict(kind, item_row(conn, kind, provider_id, item_id))


# ---------------------------------------------------------------------------------------------
# series: seasons and episodes (fetched from the provider on first request, then cached)


def seasons_of(conn: sa.Connection, series_id: int) -> list[dict[str, Any]]:
    """``[{number, name, episodes: [{id, number, name}]}]`` ordered by season then episode."""
    seasons: dict[int, dict[str, Any]] = {}
    for r in conn.execute(
        sa.select(
            episodes.c.id,
            episodes.c.season,
            episodes.c.number,
            episodes.c.name,
            episodes.c.season_name,
        )
        .where(episodes.c.series_id == series_id)
        .order_by(episodes.c.season, episodes.c.number, episodes.c.id)
    ):
        season = seasons.setdefault(
            r.season,
            {"number": r.season, "name": r.season_name or f"Season {r.season}", "episodes": []},
        )
        season["episodes"].append({"id": r.id, "number": r.number, "name": r.name})
    return list(seasons.values())


def episode_row(conn: sa.Connection, provider_id: int, episode_id: int) -> Any:
    """An episode with its series' provider id, or 404 (also when the series is removed)."""
    row = (
        conn.execute(
            sa.select(episodes, series.c.provider_item_id.label("series_provider_item_id"))
            .join(series, series.c.id == episodes.c.series_id)
            .where(
                episodes.c.id == episode_id,
                episodes.c.provider_id == provider_id,
                series.c.deleted_at.is_(None),
            )
        ).first()
        if valid_id(episode_id)
        else None
    )
    if row is None:
        raise NotFound(
            f"no episode {episode_id} in provider {provider_id}",
            detail={"kind": "episode", "id": episode_id},
        )
    return row


# ---------------------------------------------------------------------------------------------
# featured titles (snapshot essentials)

FEATURED_MIN_RATING = 7.0


def featured(conn: sa.Connection, provider_id: int, count: int) -> list[dict[str, Any]]:
    """The titles a home screen shows first (the rule is documented in docs/api.md).

    Movies and series with a poster, not censored and not in a censored category: first the
    newest with a rating of at least 7.0, then, when fewer than ``count`` qualify, the newest
    others. Newest means latest ``added_at``, then highest id. Items carry ``kind``.
    """
    if count <= 0:
        return []
    censored_ids = list(
        conn.execute(
            sa.select(categories.c.id).where(
                categories.c.provider_id == provider_id, categories.c.censored.is_(True)
            )
        ).scalars()
    )

    def newest(kind: str, rated: bool) -> list[dict[str, Any]]:
        t = ITEM_TABLES[kind]
        conds: list[sa.ColumnElement[Any]] = [
            *_live(t, provider_id),
            t.c.censored.is_(False),
            t.c.poster.is_not(None),
            t.c.poster != "",
        ]
        if censored_ids:
            conds.append(sa.or_(t.c.category_id.is_(None), t.c.category_id.not_in(censored_ids)))
        if rated:
            conds.append(t.c.rating >= FEATURED_MIN_RATING)
        else:
            conds.append(sa.or_(t.c.rating.is_(None), t.c.rating < FEATURED_MIN_RATING))
        rows = conn.execute(
            sa.select(*list_columns(kind))
            .where(*conds)
            .order_by(t.c.added_at.desc(), t.c.id.desc())
            .limit(count)
        )
        return [{"kind": kind, **item_dict(kind, r)} for r in rows]

    def key(item: dict[str, Any]) -> tuple[str, int]:
        return (item["added_at"] or "", item["id"])

    out: list[dict[str, Any]] = []
    for rated in (True, False):
        if len(out) >= count:
            break
        pool = newest("movie", rated) + newest("series", rated)
        pool.sort(key=key, reverse=True)
        out += pool[: count - len(out)]
    return out


# ---------------------------------------------------------------------------------------------
# streams for the snapshot (rows are never held all at once)


def iter_items(
    conn: sa.Connection,
    kind: str,
    provider_id: int,
    *,
    chunk: int = 2_000,
) -> Iterator[list[dict[str, Any]]]:
    """Every live item of a kind in its default order, in chunks of list-shape dicts."""
    table = ITEM_TABLES[kind]
    result = conn.execution_options(stream_results=True, yield_per=chunk).execute(
        sa.select(*list_columns(kind))
        .where(*_live(table, provider_id))
        .order_by(*order_by(conn, kind, DEFAULT_SORT[kind]))
    )
    for rows in result.partitions(chunk):
        yield [item_dict(kind, r) for r in rows]


def category_items(
    conn: sa.Connection, kind: str, provider_id: int, category_id: int
) -> Iterator[dict[str, Any]]:
    """Every live item of one category (primary or listed under several), in the kind's
    default order."""
    table = ITEM_TABLES[kind]
    rows = conn.execute(
        sa.select(*list_columns(kind))
        .where(
            *_live(table, provider_id),
            category_condition(conn, kind, provider_id, category_id),
        )
        .order_by(*order_by(conn, kind, DEFAULT_SORT[kind]))
    )
    for r in rows:
        yield item_dict(kind, r)


def changed_since(
    conn: sa.Connection, kind: str, provider_id: int, since: int, to: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[int]]:
    """(added, changed, removed ids) of a kind between versions ``since`` (exclusive) and
    ``to`` (inclusive).

    Rows written by a sync still running (versions above ``to``) count as they were at ``to``
    as far as we can tell: alive if removed after ``to``. Items added and removed within the
    window are in neither list.
    """
    table = ITEM_TABLES[kind]
    c = table.c
    alive_at_to = sa.or_(c.deleted_at.is_(None), c.deleted_version > to)
    added: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    rows = conn.execute(
        sa.select(*list_columns(kind), c.created_version)
        .where(
            c.provider_id == provider_id,
            c.changed_version > since,
            c.created_version <= to,
            alive_at_to,
        )
        .order_by(*order_by(conn, kind, DEFAULT_SORT[kind]))
    )
    for r in rows:
        (added if r.created_version > since else changed).append(item_dict(kind, r))
    removed = list(
        conn.execute(
            sa.select(c.id)
            .where(
                c.provider_id == provider_id,
                c.deleted_version > since,
                c.deleted_version <= to,
                c.created_version <= since,
            )
            .order_by(c.id)
        ).scalars()
    )
    return added, changed, removed

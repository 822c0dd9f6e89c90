"""Search: word-prefix matching on names, within a list or across providers and kinds.

SQLite uses FTS5 (``"word"*`` per word, diacritics folded by the ``unicode61 remove_diacritics
2`` tokenizer), PostgreSQL the trigram index (``lower(name) ~ '\\mword'``). Both rank by
relevance (bm25 / trigram similarity), then id.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

from iptvsync.store.items import (
    DEFAULT_LIMIT,
    ITEM_KINDS,
    MAX_LIMIT,
    item_dict,
    list_columns,
    page_dict,
)
from iptvsync.store.models import ITEM_TABLES

#: Search words are letters and digits (what FTS5's unicode61 tokenizer keeps); the rest splits.
_WORD_RE = re.compile(r"[^\W_]+")
MAX_QUERY_WORDS = 8
MAX_WORD_CHARS = 64


def search_words(q: str | None) -> list[str]:
    """The words of a search text, lower-cased; ``[]`` when it has no letter or digit."""
    if not q:
        return []
    words = [w.lower()[:MAX_WORD_CHARS] for w in _WORD_RE.findall(q)]
    return list(dict.fromkeys(words))[:MAX_QUERY_WORDS]


def fts_query(words: Sequence[str]) -> str:
    """An FTS5 query: every word as a quoted prefix (``"breaki"*``). Quoting makes any input a
    plain string (no operators, no column filters); quotes inside are doubled."""
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


class OuterLoopJoin(sa.sql.expression.Join):
    """``left JOIN right`` that SQLite must run with ``left`` as the outer loop.

    SQLite may otherwise walk the item table's (provider_id, deleted_at, ...) index and probe
    the FTS table once per row: a minute at 300k titles instead of milliseconds. ``CROSS
    JOIN`` is SQLite's documented way to fix the join order; other backends get a plain join.
    """

    inherit_cache = True


@compiles(OuterLoopJoin, "sqlite")
def _cross_join(element: OuterLoopJoin, compiler: Any, **kw: Any) -> str:
    kw["asfrom"] = True
    left = element.left._compiler_dispatch(compiler, **kw)
    right = element.right._compiler_dispatch(compiler, **kw)
    if element.onclause is None:
        return f"{left} CROSS JOIN {right}"
    on = element.onclause._compiler_dispatch(compiler, **kw)
    return f"{left} CROSS JOIN {right} ON {on}"


@dataclass(frozen=True, slots=True)
class Match:
    """How a search joins into a select: extra FROM, conditions and a relevance key."""

    source: sa.FromClause
    conditions: Sequence[sa.ColumnElement[Any]]
    score: sa.ColumnElement[Any]


def text_match(conn: sa.Connection, kind: str, words: Sequence[str]) -> Match:
    table = ITEM_TABLES[kind]
    if conn.dialect.name == "sqlite":
        fts = sa.table(f"{table.name}_fts", sa.column("rowid"), sa.column("rank"))
        source = OuterLoopJoin(fts, table, fts.c.rowid == table.c.id)
        cond = sa.literal_column(fts.name).op("MATCH")(sa.bindparam(None, fts_query(words)))
        # bm25: lower is better.
        return Match(source, [cond], fts.c.rank)
    name = sa.func.lower(table.c.name)
    conds = [name.op("~")(sa.bindparam(None, r"\m" + re.escape(w))) for w in words]
    score = -sa.func.similarity(name, " ".join(words))
    return Match(table, conds, score)


def search(
    conn: sa.Connection,
    q: str,
    *,
    kinds: Sequence[str] = ITEM_KINDS,
    provider_ids: Sequence[int] | None = None,
    page: int = 1,
    limit: int = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Search names across providers and kinds; items carry ``kind`` and ``provider_id``.

    Ordered by relevance, then kind (movie, series, channel), then id. ``provider_ids`` None
    means every provider.
    """
    limit = min(limit, MAX_LIMIT)  # page and limit were checked by the API
    words = search_words(q)
    if not words or (provider_ids is not None and not provider_ids):
        return page_dict(0, page, limit, [])
    parts = []
    total = 0
    for rank, kind in enumerate(k for k in ITEM_KINDS if k in kinds):
        table = ITEM_TABLES[kind]
        match = text_match(conn, kind, words)
        conds = [table.c.deleted_at.is_(None), *match.conditions]
        if provider_ids is not None:
            conds.append(table.c.provider_id.in_(list(provider_ids)))
        total += int(
            conn.execute(
                sa.select(sa.func.count()).select_from(match.source).where(*conds)
            ).scalar_one()
        )
        parts.append(
            sa.select(
                sa.literal(rank).label("kind_rank"),
                table.c.id.label("id"),
                match.score.label("score"),
            )
            .select_from(match.source)
            .where(*conds)
        )
    offset = (page - 1) * limit
    if offset >= total:
        return page_dict(total, page, limit, [])
    union = sa.union_all(*parts).subquery()
    hits = conn.execute(
        sa.select(union.c.kind_rank, union.c.id)
        .order_by(union.c.score.asc(), union.c.kind_rank.asc(), union.c.id.asc())
        .limit(limit)
        .offset(offset)
    ).all()
    ordered = [k for k in ITEM_KINDS if k in kinds]
    by_kind: dict[str, list[int]] = {}
    for kind_rank, item_id in hits:
        by_kind.setdefault(ordered[kind_rank], []).append(item_id)
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for kind, ids in by_kind.items():
        table = ITEM_TABLES[kind]
        for r in conn.execute(
            sa.select(*list_columns(kind), table.c.provider_id).where(table.c.id.in_(ids))
        ):
            found[(kind, r.id)] = {"kind": kind, "provider_id": r.provider_id, **item_dict(kind, r)}
    items = [found[(ordered[k], i)] for k, i in hits if (ordered[k], i) in found]
    return page_dict(total, page, limit, items)

"""Streamed reads (the outputs' playlists, guides and Xtream lists): what a principal may see,
in batches, with flat memory. The paged reads of the API are ``store.queries``; both share its
definitions of "an item" and "in a category".

Every list is read with keyset pagination: a batch is one short query on its own connection
(``WHERE (order key) > last ORDER BY … LIMIT n``), so a player downloading 100k channels over a
slow link holds no transaction and no cursor open, and memory stays one batch whatever the size.
Soft-deleted rows (``deleted_at`` set) are never read.

Orders are total and served by indexes: channels by number then id (channels without a number
after the numbered ones, by id), movies, series, episodes and programmes by id.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from iptvsync.access import Principal
from iptvsync.store import queries
from iptvsync.store.models import (
    ITEM_TABLES,
    categories,
    channels,
    episodes,
    movies,
    programmes,
    providers,
    series,
)

BATCH = 1000

Row = Any  # sa.Row: attribute access by column name


@dataclass(frozen=True, slots=True)
class ProviderRef:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class CategoryRef:
    id: int
    title: str
    censored: bool


def visible_providers(
    db: sa.Engine, who: Principal, wanted: Sequence[int] | None = None
) -> list[ProviderRef]:
    """Providers ``who`` may see, by id; restricted to ``wanted`` when given.

    Asking for a provider one may not see is the same as asking for one that does not exist.
    """
    with db.connect() as conn:
        rows = conn.execute(sa.select(providers.c.id, providers.c.name).order_by(providers.c.id))
        out = [ProviderRef(r.id, r.name) for r in rows if who.can_see(r.id)]
    if wanted:
        keep = set(wanted)
        out = [p for p in out if p.id in keep]
    return out


def category_refs(db: sa.Engine, provider_id: int, kind: str) -> dict[int, CategoryRef]:
    """Every category of a kind (a few thousand at most), for group titles and adult flags."""
    with db.connect() as conn:
        rows = conn.execute(
            sa.select(categories.c.id, categories.c.title, categories.c.censored).where(
                categories.c.provider_id == provider_id, categories.c.kind == kind
            )
        )
        return {r.id: CategoryRef(r.id, r.title, bool(r.censored)) for r in rows}


def category_provider(db: sa.Engine, category_id: int) -> int | None:
    """The provider a (live) category belongs to."""
    with db.connect() as conn:
        return conn.execute(
            sa.select(categories.c.provider_id).where(
                categories.c.id == category_id, categories.c.deleted_at.is_(None)
            )
        ).scalar()


def listed_categories(db: sa.Engine, provider_id: int, kind: str) -> list[dict[str, Any]]:
    """Categories to list, as the catalogue API lists them (empty ones included, as a panel
    does; our "Uncategorised" only when it holds something)."""
    with db.connect() as conn:
        return queries.list_categories(conn, provider_id, kind)


# ---------------------------------------------------------------------------------------------
# Keyset iteration


def _keyset(
    db: sa.Engine,
    query: sa.Select[Any],
    order: Sequence[sa.ColumnElement[Any]],
    batch: int,
) -> Iterator[list[Row]]:
    """Batches of ``query`` in ``order`` (a unique key), one short query per batch.

    The order columns must also be selected, last, in the same order.
    """
    last: tuple[Any, ...] | None = None
    while True:
        q = query
        if last is not None:
            if len(order) == 1:
                q = q.where(order[0] > last[0])
            else:
                q = q.where(sa.tuple_(*order) > sa.tuple_(*last))
        with db.connect() as conn:
            rows = list(conn.execute(q.order_by(*order).limit(batch)))
        if rows:
            yield rows
        if len(rows) < batch:
            return
        tail = rows[-1]
        last = tuple(tail[len(tail) - len(order) :])


def _category_filter(
    db: sa.Engine, kind: str, provider_id: int, category_id: int | None
) -> list[sa.ColumnElement[bool]]:
    """The catalogue API's definition of "in a category" (primary, or listed under several)."""
    if category_id is None:
        return []
    with db.connect() as conn:
        return [queries.category_condition(conn, kind, provider_id, category_id)]


CHANNEL_COLUMNS = (
    channels.c.provider_id,
    channels.c.provider_item_id,
    channels.c.name,
    channels.c.logo,
    channels.c.epg_id,
    channels.c.category_id,
    channels.c.category_ids,
    channels.c.censored,
    channels.c.archive,
    channels.c.archive_days,
    channels.c.radio,
    channels.c.added_at,
)


def iter_channels(
    db: sa.Engine, provider_id: int, *, category_id: int | None = None, batch: int = BATCH
) -> Iterator[list[Row]]:
    """Live channels by number, then id; numberless channels last, by id."""
    where = [
        channels.c.provider_id == provider_id,
        channels.c.deleted_at.is_(None),
        *_category_filter(db, "channel", provider_id, category_id),
    ]
    numbered = sa.select(*CHANNEL_COLUMNS, channels.c.number, channels.c.id).where(
        *where, channels.c.number.is_not(None)
    )
    yield from _keyset(db, numbered, (channels.c.number, channels.c.id), batch)
    unnumbered = sa.select(*CHANNEL_COLUMNS, sa.literal(None).label("number"), channels.c.id).where(
        *where, channels.c.number.is_(None)
    )
    yield from _keyset(db, unnumbered, (channels.c.id,), batch)


MOVIE_COLUMNS = (
    movies.c.provider_id,
    movies.c.name,
    movies.c.year,
    movies.c.rating,
    movies.c.poster,
    movies.c.extension,
    movies.c.category_id,
    movies.c.category_ids,
    movies.c.censored,
    movies.c.added_at,
    movies.c.id,
)


def iter_movies(
    db: sa.Engine, provider_id: int, *, category_id: int | None = None, batch: int = BATCH
) -> Iterator[list[Row]]:
    query = sa.select(*MOVIE_COLUMNS).where(
        movies.c.provider_id == provider_id,
        movies.c.deleted_at.is_(None),
        *_category_filter(db, "movie", provider_id, category_id),
    )
    yield from _keyset(db, query, (movies.c.id,), batch)


SERIES_COLUMNS = (
    series.c.provider_id,
    series.c.name,
    series.c.year,
    series.c.rating,
    series.c.poster,
    series.c.detail,
    series.c.category_id,
    series.c.category_ids,
    series.c.censored,
    series.c.added_at,
    series.c.updated_at,
    series.c.id,
)


def iter_series(
    db: sa.Engine, provider_id: int, *, category_id: int | None = None, batch: int = BATCH
) -> Iterator[list[Row]]:
    query = sa.select(*SERIES_COLUMNS).where(
        series.c.provider_id == provider_id,
        series.c.deleted_at.is_(None),
        *_category_filter(db, "series", provider_id, category_id),
    )
    yield from _keyset(db, query, (series.c.id,), batch)


def iter_episodes(db: sa.Engine, provider_id: int, *, batch: int = BATCH) -> Iterator[list[Row]]:
    """Episodes fetched so far (series detail fetches them on demand) of live series, with
    their series' name, poster and category."""
    query = (
        sa.select(
            episodes.c.series_id,
            episodes.c.season,
            episodes.c.number,
            episodes.c.name,
            episodes.c.extension,
            series.c.name.label("series_name"),
            series.c.poster,
            series.c.category_id,
            series.c.censored,
            episodes.c.id,
        )
        .join(series, series.c.id == episodes.c.series_id)
        .where(episodes.c.provider_id == provider_id, series.c.deleted_at.is_(None))
    )
    yield from _keyset(db, query, (episodes.c.id,), batch)


def iter_programmes(db: sa.Engine, provider_id: int, *, batch: int = 2000) -> Iterator[list[Row]]:
    """The stored guide of a provider, in storage order (by id)."""
    query = sa.select(
        programmes.c.channel_key,
        programmes.c.start,
        programmes.c.stop,
        programmes.c.title,
        programmes.c.subtitle,
        programmes.c.description,
        programmes.c.category,
        programmes.c.episode,
        programmes.c.id,
    ).where(programmes.c.provider_id == provider_id)
    yield from _keyset(db, query, (programmes.c.id,), batch)


# ---------------------------------------------------------------------------------------------
# Single items


def get_item(db: sa.Engine, kind: str, item_id: int) -> Row | None:
    """A live (not removed) channel, movie or series by our id, any provider."""
    table = ITEM_TABLES[kind]
    with db.connect() as conn:
        return conn.execute(
            sa.select(table).where(table.c.id == item_id, table.c.deleted_at.is_(None))
        ).first()


def get_episode(db: sa.Engine, episode_id: int) -> Row | None:
    """An episode of a live series, by our id."""
    with db.connect() as conn:
        return conn.execute(
            sa.select(episodes)
            .join(series, series.c.id == episodes.c.series_id)
            .where(episodes.c.id == episode_id, series.c.deleted_at.is_(None))
        ).first()


def series_episodes(db: sa.Engine, series_id: int) -> list[Row]:
    with db.connect() as conn:
        return list(
            conn.execute(
                sa.select(episodes)
                .where(episodes.c.series_id == series_id)
                .order_by(episodes.c.season, episodes.c.number, episodes.c.id)
            )
        )


def channel_programmes(
    db: sa.Engine,
    provider_id: int,
    channel_key: str,
    *,
    since: Any = None,
    limit: int | None = None,
) -> list[Row]:
    """A channel's stored programmes by start; from the one running at ``since`` when given."""
    query = sa.select(programmes).where(
        programmes.c.provider_id == provider_id, programmes.c.channel_key == channel_key
    )
    if since is not None:
        query = query.where(programmes.c.stop > since)
    query = query.order_by(programmes.c.start, programmes.c.id)
    if limit is not None:
        query = query.limit(limit)
    with db.connect() as conn:
        return list(conn.execute(query))


# ---------------------------------------------------------------------------------------------
# Whole sets, for checks (the hostile-provider rig compares what is stored with what was served)


def live_item_keys(db: sa.Engine, provider_id: int) -> dict[str, set[str]]:
    """The provider's own ids of its live items, per kind."""
    out: dict[str, set[str]] = {}
    with db.connect() as conn:
        for kind, table in ITEM_TABLES.items():
            rows = conn.execute(
                sa.select(table.c.provider_item_id).where(
                    table.c.provider_id == provider_id, table.c.deleted_at.is_(None)
                )
            )
            out[kind] = {r[0] for r in rows}
    return out


def programme_titles(db: sa.Engine) -> list[str]:
    with db.connect() as conn:
        return [r[0] for r in conn.execute(sa.select(programmes.c.title))]

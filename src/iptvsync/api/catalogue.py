"""Catalogue queries: pages of movies, series and channels, detail, categories, search.

Paths and shapes: docs/api.md. A series' seasons come from the provider on the first
request for that series and are cached in ``episodes``; they are fetched again when the series
row changed since, or after ``EPISODES_TTL`` (providers add episodes to running series).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Query

from iptvsync.api import listing
from iptvsync.api.auth import Reader
from iptvsync.api.services import Services, Svc
from iptvsync.errors import ProviderError
from iptvsync.providers.masking import mask_secrets
from iptvsync.store import queries
from iptvsync.store import search as search_store
from iptvsync.store import seasons as seasons_store
from iptvsync.store.items import DEFAULT_LIMIT, ITEM_KINDS, detail_dict
from iptvsync.store.providers import provider_secrets, utcnow

router = APIRouter(tags=["catalogue"])

EPISODES_TTL = timedelta(hours=24)

Page = Query(1, ge=1, description="1-based page number")
Limit = Query(DEFAULT_LIMIT, ge=1, description="items per page; above 500 means 500")
SearchText = Query(None, max_length=200, description="words matched as name prefixes")


def _list(
    svc: Services,
    kind: str,
    provider_id: int,
    page: int,
    limit: int,
    category: int | None,
    q: str | None,
    sort: str | None,
) -> dict[str, Any]:
    with svc.db.connect() as conn:
        queries.check_provider(conn, provider_id)
        limit = listing.check_page(page, limit)
        sort = listing.check_sort(kind, sort, bool(q and q.strip()))
        return queries.list_items(
            conn,
            kind,
            provider_id,
            page=page,
            limit=limit,
            category=category,
            q=q,
            sort=sort,
        )


@router.get("/api/providers/{provider_id}/movies")
def list_movies(
    provider_id: int,
    svc: Svc,
    who: Reader,
    page: int = Page,
    limit: int = Limit,
    category: int | None = None,
    q: str | None = SearchText,
    sort: str | None = Query(None, description="added (default), name, rating, year, relevance"),
) -> dict[str, Any]:
    who.check(provider_id)
    return _list(svc, "movie", provider_id, page, limit, category, q, sort)


@router.get("/api/providers/{provider_id}/series")
def list_series(
    provider_id: int,
    svc: Svc,
    who: Reader,
    page: int = Page,
    limit: int = Limit,
    category: int | None = None,
    q: str | None = SearchText,
    sort: str | None = Query(None, description="added (default), name, rating, year, relevance"),
) -> dict[str, Any]:
    who.check(provider_id)
    return _list(svc, "series", provider_id, page, limit, category, q, sort)


@router.get("/api/providers/{provider_id}/channels")
def list_channels(
    provider_id: int,
    svc: Svc,
    who: Reader,
    page: int = Page,
    limit: int = Limit,
    category: int | None = None,
    q: str | None = SearchText,
    sort: str | None = Query(None, description="number (default), name, added, relevance"),
) -> dict[str, Any]:
    who.check(provider_id)
    return _list(svc, "channel", provider_id, page, limit, category, q, sort)


@router.get("/api/providers/{provider_id}/categories")
def list_categories(
    provider_id: int,
    svc: Svc,
    who: Reader,
    kind: str | None = Query(None, description="movie, series or channel; all when omitted"),
) -> dict[str, Any]:
    who.check(provider_id)
    k = listing.parse_kind(kind) if kind else None
    with svc.db.connect() as conn:
        queries.check_provider(conn, provider_id)
        return {"items": queries.list_categories(conn, provider_id, k)}


@router.get("/api/providers/{provider_id}/movies/{item_id}")
def get_movie(provider_id: int, item_id: int, svc: Svc, who: Reader) -> dict[str, Any]:
    who.check(provider_id)
    with svc.db.connect() as conn:
        queries.check_provider(conn, provider_id)
        return queries.get_item(conn, "movie", provider_id, item_id)


@router.get("/api/providers/{provider_id}/channels/{item_id}")
def get_channel(provider_id: int, item_id: int, svc: Svc, who: Reader) -> dict[str, Any]:
    who.check(provider_id)
    with svc.db.connect() as conn:
        queries.check_provider(conn, provider_id)
        return queries.get_item(conn, "channel", provider_id, item_id)


@router.get("/api/providers/{provider_id}/series/{series_id}")
async def get_series(provider_id: int, series_id: int, svc: Svc, who: Reader) -> dict[str, Any]:
    """The series (detail shape) with ``seasons``, fetched from the provider when needed."""
    who.check(provider_id)
    row = await ensure_episodes(svc, provider_id, series_id)
    seasons = await asyncio.to_thread(_seasons, svc, series_id)
    return {**detail_dict("series", row), "seasons": seasons}


async def ensure_episodes(svc: Services, provider_id: int, series_id: int) -> Any:
    """Make sure a series' episodes are stored (fetching them from the provider on first
    request, or when stale) and return the series row. 404 for an unknown or removed series;
    a provider failure raises (502) only when nothing is cached yet."""
    row, provider = await asyncio.to_thread(_series_and_provider, svc, provider_id, series_id)
    if not _stale(row):
        return row
    # One fetch per series at a time (the locks live with the app, so with its event loop).
    locks = svc.series_locks
    async with locks[series_id % len(locks)]:
        # Another request may have fetched while this one waited.
        row, provider = await asyncio.to_thread(_series_and_provider, svc, provider_id, series_id)
        if _stale(row):
            await _fetch_seasons(svc, provider, row)
            row, provider = await asyncio.to_thread(
                _series_and_provider, svc, provider_id, series_id
            )
    return row


def _series_and_provider(svc: Services, provider_id: int, series_id: int) -> tuple[Any, Any]:
    with svc.db.connect() as conn:
        provider = queries.check_provider(conn, provider_id)
        return queries.item_row(conn, "series", provider_id, series_id), provider


def _seasons(svc: Services, series_id: int) -> list[dict[str, Any]]:
    with svc.db.connect() as conn:
        return queries.seasons_of(conn, series_id)


def _stale(row: Any) -> bool:
    fetched = row.episodes_fetched_at
    if fetched is None:
        return True
    return bool(row.updated_at > fetched) or utcnow() - fetched > EPISODES_TTL


async def _fetch_seasons(svc: Services, provider: Any, row: Any) -> None:
    client = await svc.clients.get(provider)
    try:
        seasons = await client.series_detail(row.provider_item_id)
    except ProviderError as exc:
        if row.episodes_fetched_at is not None:
            return  # a refresh failed: the cached seasons still serve
        raise scrubbed(exc, provider) from None

    def store() -> None:
        with svc.db.begin() as conn:
            seasons_store.store_seasons(
                conn,
                provider_id=provider.id,
                series_id=row.id,
                seasons=seasons,
                now=utcnow(),
            )

    await asyncio.to_thread(store)


def scrubbed(exc: ProviderError, provider: Any) -> ProviderError:
    """The same provider error with every secret of ``provider`` masked in its message."""
    return type(exc)(mask_secrets(exc.message, provider_secrets(provider)), detail=exc.detail)


@router.get("/api/search")
def search(
    svc: Svc,
    who: Reader,
    q: str = Query(..., min_length=1, max_length=200),
    kind: str | None = Query(None, description="movie, series or channel; all when omitted"),
    provider: int | None = Query(None, description="one provider id; all visible when omitted"),
    page: int = Page,
    limit: int = Limit,
) -> dict[str, Any]:
    kinds = [listing.parse_kind(kind)] if kind else list(ITEM_KINDS)
    limit = listing.check_page(page, limit)
    with svc.db.connect() as conn:
        if provider is not None:
            who.check(provider)
            queries.check_provider(conn, provider)
            provider_ids: list[int] | None = [provider]
        elif who.admin or who.all_providers:
            provider_ids = None
        else:
            provider_ids = sorted(who.provider_ids)
        return search_store.search(
            conn, q, kinds=kinds, provider_ids=provider_ids, page=page, limit=limit
        )

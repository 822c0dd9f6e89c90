"""``/api/providers/{id}/snapshot``: the whole catalogue for apps that load it once.

The full document and its essentials are precomputed files (``snapshot.build``), streamed from
disk in the encoding the client prefers; they are never read into memory here. A category's
items and deltas (``?since=``) are read from the database, compressed once per snapshot
version and encoding, and cached (``snapshot.serve.BODIES``).

Every answer about a version carries ``ETag: W/"<version>"``, ``Vary: Accept-Encoding`` and
``Cache-Control: public, max-age=<snapshot_max_age_s>`` (``private`` and ``Vary: Authorization``
too with an admin token set: the answer depends on who asked); ``If-None-Match`` with the
current ETag is answered 304 before any file or query is touched.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response

from iptvsync.api import listing
from iptvsync.api.auth import Reader
from iptvsync.api.responses import JSONResponse
from iptvsync.api.services import Services, Svc
from iptvsync.errors import NoSnapshot, SnapshotTooOld, ValidationFailed
from iptvsync.snapshot import files, serve
from iptvsync.snapshot.build import build_snapshot
from iptvsync.store import queries, snapshot_index
from iptvsync.store.items import DEFAULT_LIMIT

router = APIRouter(tags=["snapshot"])
BASE = "/api/providers/{provider_id}/snapshot"
JSON = "application/json"


def _latest(svc: Services, provider_id: int) -> Any:
    """The provider's newest snapshot row; 404 ``not_found`` / ``no_snapshot``."""
    with svc.db.connect() as conn:
        queries.check_provider(conn, provider_id)
        row = snapshot_index.latest(conn, provider_id)
    if row is None:
        raise NoSnapshot(
            f"provider {provider_id} has no snapshot yet: run a sync first",
            detail={"provider_id": provider_id},
        )
    return row


def _headers(svc: Services, version: int, encoding: str | None = None) -> dict[str, str]:
    # Behind an admin token the answer depends on who asked: never in a shared cache
    # (docs/security.md); open mode's snapshots are public by configuration.
    locked = svc.settings.admin_token is not None
    headers = {
        "ETag": serve.etag_for(version),
        "Vary": "Accept-Encoding, Authorization" if locked else "Accept-Encoding",
        "Cache-Control": f"{'private' if locked else 'public'}, "
        f"max-age={svc.settings.snapshot_max_age_s}",
    }
    if encoding and encoding != "identity":
        headers["Content-Encoding"] = encoding
    return headers


def _not_modified(request: Request, svc: Services, version: int) -> Response | None:
    if serve.etag_matches(request.headers.get("if-none-match"), serve.etag_for(version)):
        return Response(status_code=304, headers=_headers(svc, version))
    return None


async def _file(
    request: Request, svc: Services, provider_id: int, part: str
) -> tuple[Any, Response]:
    """The newest snapshot row and a response streaming its ``part`` file."""
    row = await asyncio.to_thread(_latest, svc, provider_id)
    cached = _not_modified(request, svc, row.version)
    if cached is not None:
        return row, cached
    sizes = (row.sizes or {}).get(part, {}) if part else (row.sizes or {})
    encoding = serve.negotiate(
        request.headers.get("accept-encoding"), size_of=lambda enc: _size(sizes, enc)
    )
    path = files.version_path(svc.settings, provider_id, row.version, part, encoding)
    try:
        stat = await asyncio.to_thread(os.stat, path)
    except FileNotFoundError:
        # The files went (a wiped directory, another replica's disk): build them again.
        await asyncio.to_thread(build_snapshot, svc.db, svc.settings, provider_id)
        row = await asyncio.to_thread(_latest, svc, provider_id)
        path = files.version_path(svc.settings, provider_id, row.version, part, encoding)
        try:
            stat = await asyncio.to_thread(os.stat, path)
        except FileNotFoundError:
            raise NoSnapshot(
                f"the snapshot files of provider {provider_id} are missing",
                detail={"provider_id": provider_id},
            ) from None
    response = FileResponse(
        path,
        media_type=JSON,
        headers=_headers(svc, row.version, encoding),
        stat_result=stat,
    )
    return row, response


def _size(sizes: Any, encoding: str) -> int | None:
    value = sizes.get(encoding) if isinstance(sizes, dict) else None
    return value if isinstance(value, int) else None


def _cached_json(
    request: Request,
    svc: Services,
    row: Any,
    key: tuple[Any, ...],
    build: Any,
) -> Response:
    """A JSON body built by ``build()``, compressed for the client, cached per version."""
    stamp = (row.provider_id, row.version, str(row.generated_at), *key)
    raw = serve.BODIES.get_or_build((*stamp, "identity"), lambda: orjson.dumps(build()))

    def body_of(enc: str) -> bytes:
        return serve.BODIES.get_or_build((*stamp, enc), lambda: serve.compress(raw, enc))

    if len(raw) < serve.MIN_COMPRESS_BYTES:
        encoding = "identity"
    else:  # equal weights: compress in each (once per version, cached) and send the smaller
        encoding = serve.negotiate(
            request.headers.get("accept-encoding"), size_of=lambda enc: len(body_of(enc))
        )
    body = body_of(encoding)
    return Response(body, media_type=JSON, headers=_headers(svc, row.version, encoding))


@router.api_route(BASE, methods=["GET", "HEAD"])
async def get_snapshot(
    provider_id: int,
    request: Request,
    svc: Svc,
    who: Reader,
    kind: str | None = Query(None, description="movies, series or channels: page mode"),
    page: int | None = Query(None, ge=1),
    limit: int | None = Query(None, ge=1, description="above 500 means 500"),
    since: str | None = Query(None, description="a version the app holds: answer a delta"),
) -> Response:
    """The whole snapshot; or one page of a kind (``?kind=&page=&limit=``); or what changed
    since a version (``?since=``)."""
    who.check(provider_id)
    if since is not None:
        if kind is not None or page is not None or limit is not None:
            raise ValidationFailed("since cannot be combined with kind, page or limit")
        return await asyncio.to_thread(_delta, request, svc, provider_id, since)
    if kind is not None or page is not None or limit is not None:
        if kind is None:
            raise ValidationFailed("page and limit need kind=movies|series|channels")
        return await asyncio.to_thread(
            _page, svc, provider_id, kind, page or 1, limit or DEFAULT_LIMIT
        )
    _, response = await _file(request, svc, provider_id, "")
    return response


def _page(svc: Services, provider_id: int, kind: str, page: int, limit: int) -> Response:
    k = listing.parse_kind(kind)
    row = _latest(svc, provider_id)
    limit = listing.check_page(page, limit)
    with svc.db.connect() as conn:
        body = queries.list_items(conn, k, provider_id, page=page, limit=limit)
    return JSONResponse(body, headers={"X-Snapshot-Version": str(row.version)})


def _delta(request: Request, svc: Services, provider_id: int, asked: str) -> Response:
    row = _latest(svc, provider_id)
    to = row.version
    cached = _not_modified(request, svc, to)
    if cached is not None:
        return cached
    # Any version that is not one of ours (not a number, a stranger's ETag, out of range) is
    # unknown: 410, and the app reloads in full (docs/api.md).
    since = int(asked) if asked.isascii() and asked.isdigit() and len(asked) <= 10 else -1
    if since != to:
        known = False
        if 1 <= since < to:
            with svc.db.connect() as conn:
                known = snapshot_index.is_kept(conn, provider_id, since)
        if not known:
            raise SnapshotTooOld(
                f"version {asked[:40]} is unknown or no longer kept (current {to}): "
                "load the whole snapshot",
                detail={"since": since if since >= 0 else asked[:40], "current": to},
            )

    def build() -> dict[str, Any]:
        body: dict[str, Any] = {
            "from": since,
            "to": to,
            "added": {},
            "changed": {},
            "removed": {},
        }
        with svc.db.connect() as conn:
            for key, kind in (("movies", "movie"), ("series", "series"), ("channels", "channel")):
                added: list[dict[str, Any]] = []
                changed: list[dict[str, Any]] = []
                removed: list[int] = []
                if since != to:
                    added, changed, removed = queries.changed_since(
                        conn, kind, provider_id, since, to
                    )
                body["added"][key] = added
                body["changed"][key] = changed
                body["removed"][key] = removed
        return body

    return _cached_json(request, svc, row, ("since", since), build)


@router.api_route(BASE + "/essentials", methods=["GET", "HEAD"])
async def get_essentials(provider_id: int, request: Request, svc: Svc, who: Reader) -> Response:
    """``{version, stats, categories, featured}`` for an app's first paint."""
    who.check(provider_id)
    _, response = await _file(request, svc, provider_id, "essentials")
    return response


@router.api_route(BASE + "/categories/{category_id}", methods=["GET", "HEAD"])
def get_category(
    provider_id: int, category_id: int, request: Request, svc: Svc, who: Reader
) -> Response:
    """``{version, category, items}``: every item of one category, in the kind's order."""
    who.check(provider_id)
    row = _latest(svc, provider_id)
    cached = _not_modified(request, svc, row.version)
    if cached is not None:
        return cached
    with svc.db.connect() as conn:
        category = queries.get_category(conn, provider_id, category_id)

    def build() -> dict[str, Any]:
        with svc.db.connect() as conn:
            items = list(queries.category_items(conn, category["kind"], provider_id, category_id))
        return {"version": row.version, "category": category, "items": items}

    return _cached_json(request, svc, row, ("category", category_id), build)

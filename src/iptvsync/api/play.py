"""Play: resolve a stream link at play time and redirect to it.

Provider links expire in seconds (Stalker ``create_link`` tokens), so nothing is stored: every
play asks the provider. The target URL can carry the provider account's credentials (Xtream
puts them in the path), so the answer goes only to an authenticated caller: the admin, an
output user allowed to see the provider, or a request with a valid signed ``sig``
(``api.signing``). The ``Location`` header is the only place a provider credential appears.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse

from iptvsync.api.auth import principal_from_request
from iptvsync.api.catalogue import scrubbed
from iptvsync.api.services import Services, Svc
from iptvsync.api.signing import verify
from iptvsync.errors import Forbidden, ProviderBadResponse, ProviderError, ValidationFailed
from iptvsync.providers.base import PlayTarget
from iptvsync.providers.catchup import catchup_url
from iptvsync.store import queries

router = APIRouter(tags=["play"])


@router.api_route(
    "/api/providers/{provider_id}/play/{kind}/{item_id}",
    methods=["GET", "HEAD"],
    response_class=RedirectResponse,
    status_code=302,
)
async def play(
    provider_id: int,
    kind: Literal["channel", "movie", "episode"],
    item_id: int,
    request: Request,
    svc: Svc,
    sig: str | None = Query(None, max_length=64, description="a signed play link's signature"),
    start: int | None = Query(None, description="catch-up: Unix start of a past programme"),
    duration: int | None = Query(None, ge=60, le=86400, description="catch-up: seconds"),
) -> RedirectResponse:
    """302 to a freshly resolved stream URL; 502 with the provider's error code otherwise.
    With ``start`` (a channel with catch-up): the archive from then (docs/api.md)."""
    _authorise(request, svc, provider_id, kind, item_id, sig)
    provider, target = await asyncio.to_thread(_target, svc, provider_id, kind, item_id)
    window = None
    if start is not None:
        archive = await asyncio.to_thread(_archive, svc, provider_id, kind, item_id)
        window = catchup_window(archive, start, duration)
    client = await svc.clients.get(provider)
    try:
        url = await client.resolve_play(target)
    except ProviderError as exc:
        raise scrubbed(exc, provider) from None
    if not url or not isinstance(url, str):
        raise ProviderBadResponse(
            "the provider returned no stream link", detail={"kind": kind, "id": item_id}
        )
    if window is not None:
        url = catchup_url(provider.kind, url, target.extra, *window)
    return RedirectResponse(
        url,
        status_code=302,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _authorise(
    request: Request, svc: Services, provider_id: int, kind: str, item_id: int, sig: str | None
) -> None:
    if sig is not None and verify(svc.settings, provider_id, kind, item_id, sig):
        return
    anonymous = not request.headers.get("authorization")
    if sig is not None and svc.settings.admin_token is not None and anonymous:
        raise Forbidden("this play link's signature is not valid or has expired")
    principal_from_request(request).check(provider_id)


def _archive(svc: Services, provider_id: int, kind: str, item_id: int) -> int | None:
    """Days of archive of a channel (1 when it has one of unknown length), else None."""
    if kind != "channel":
        return None
    with svc.db.connect() as conn:
        row = queries.item_row(conn, kind, provider_id, item_id)
    return (row.archive_days or 1) if row.archive else None


def catchup_window(
    archive_days: int | None, start: int, duration: int | None
) -> tuple[datetime, int]:
    """(start, seconds) of a catch-up request, checked against the channel's archive."""
    if not archive_days:
        raise ValidationFailed(
            "catch-up (start=) is for channels with an archive", detail={"start": start}
        )
    now = datetime.now(UTC)
    try:
        begin = datetime.fromtimestamp(start, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValidationFailed("start is not a time", detail={"start": start}) from None
    if begin >= now:
        raise ValidationFailed("start must be in the past", detail={"start": start})
    if begin < now - timedelta(days=archive_days):
        raise ValidationFailed(f"the archive keeps {archive_days} day(s)", detail={"start": start})
    return begin, duration or 3600


def _target(svc: Services, provider_id: int, kind: str, item_id: int) -> tuple[Any, PlayTarget]:
    with svc.db.connect() as conn:
        provider = queries.check_provider(conn, provider_id)
        if kind == "episode":
            ep = queries.episode_row(conn, provider_id, item_id)
            return provider, PlayTarget(
                kind="episode",
                provider_item_id=ep.provider_item_id,
                cmd=ep.cmd,
                extension=ep.extension,
                series_provider_id=ep.series_provider_item_id,
                season=ep.season,
                episode=ep.number,
            )
        row = queries.item_row(conn, kind, provider_id, item_id)
        extra = dict(row.detail) if isinstance(row.detail, dict) else {}
        target = PlayTarget(
            kind=kind,
            provider_item_id=row.provider_item_id,
            cmd=row.cmd,
            extension=row.extension if kind == "movie" else None,
            extra=extra,
        )
        return provider, target

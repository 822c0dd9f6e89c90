"""The caller's own library: favourites and resume positions (docs/api.md, "Favourites and
resume"). Stored per viewer: an output user, or the admin (also everyone when no admin token
is set), so they follow the viewer from one device to the next."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import Response

from iptvsync.api.auth import Principal, Reader
from iptvsync.api.services import Svc
from iptvsync.store import library

router = APIRouter(tags=["library"])


def _visible(who: Principal, provider: int | None) -> list[int] | None:
    """Provider ids to list (None: every one): one asked for, or what a user may see."""
    if provider is not None:
        who.check(provider)
        return [provider]
    if who.admin or who.all_providers:
        return None
    return sorted(who.provider_ids)


def _viewer(who: Principal) -> int | None:
    return None if who.admin else who.user_id


@router.get("/api/me/favourites")
def list_favourites(
    svc: Svc,
    who: Reader,
    provider: int | None = None,
    kind: str | None = Query(None, description="channel, movie or series"),
) -> dict[str, Any]:
    """The caller's favourites, newest first; items since removed are left out."""
    with svc.db.connect() as conn:
        items = library.list_favourites(conn, _viewer(who), _visible(who, provider), kind)
    return {"items": items}


@router.put("/api/me/favourites/{kind}/{provider_id}/{item_id}", status_code=204)
def add_favourite(kind: str, provider_id: int, item_id: int, svc: Svc, who: Reader) -> Response:
    """Idempotent; 404 for an item that is not (or no longer) in the catalogue."""
    who.check(provider_id)
    with svc.db.begin() as conn:
        library.add_favourite(conn, _viewer(who), provider_id, kind, item_id)
    return Response(status_code=204)


@router.delete("/api/me/favourites/{kind}/{provider_id}/{item_id}", status_code=204)
def remove_favourite(kind: str, provider_id: int, item_id: int, svc: Svc, who: Reader) -> Response:
    """Idempotent: removing what is not a favourite is 204 too."""
    who.check(provider_id)
    with svc.db.begin() as conn:
        library.remove_favourite(conn, _viewer(who), provider_id, kind, item_id)
    return Response(status_code=204)


@router.get("/api/me/continue")
def list_resume(
    svc: Svc,
    who: Reader,
    provider: int | None = None,
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    """ "Continue watching": where the caller stopped, most recent first."""
    with svc.db.connect() as conn:
        items = library.list_resume(conn, _viewer(who), _visible(who, provider), limit=limit)
    return {"items": items}


@router.get("/api/me/progress/{kind}/{provider_id}/{item_id}")
def get_resume(kind: str, provider_id: int, item_id: int, svc: Svc, who: Reader) -> dict[str, Any]:
    """``{position}``: seconds, or null when there is nothing to resume."""
    who.check(provider_id)
    with svc.db.connect() as conn:
        position = library.resume_of(conn, _viewer(who), provider_id, kind, item_id)
    return {"position": position}


@router.put("/api/me/progress/{kind}/{provider_id}/{item_id}")
def save_resume(
    kind: str,
    provider_id: int,
    item_id: int,
    svc: Svc,
    who: Reader,
    body: dict[str, Any] = Body(..., examples=[{"position_s": 1234.5, "duration_s": 5400}]),
) -> dict[str, Any]:
    """``{position_s, duration_s?}`` in seconds (``position``/``duration`` accepted too) →
    ``{kept}``: false when the position counts as
    the end (its last 30 s, or last 5 % of a short title), which drops the title from the list."""
    who.check(provider_id)
    with svc.db.begin() as conn:
        kept = library.save_resume(
            conn,
            _viewer(who),
            provider_id,
            kind,
            item_id,
            body.get("position_s", body.get("position")),
            body.get("duration_s", body.get("duration")),
        )
    return {"kept": kept}


@router.delete("/api/me/progress/{kind}/{provider_id}/{item_id}", status_code=204)
def remove_resume(kind: str, provider_id: int, item_id: int, svc: Svc, who: Reader) -> Response:
    who.check(provider_id)
    with svc.db.begin() as conn:
        library.remove_resume(conn, _viewer(who), provider_id, kind, item_id)
    return Response(status_code=204)

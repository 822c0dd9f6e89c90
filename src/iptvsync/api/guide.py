"""The guide as the web page reads it: programmes of up to 500 channels in a window (the grid)
and now/next for a set of channels (Live TV rows). docs/api.md, "Guide for the page"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query

from iptvsync.api.auth import Reader
from iptvsync.api.epg import parse_when
from iptvsync.api.services import Svc
from iptvsync.errors import ValidationFailed
from iptvsync.store import guide, queries
from iptvsync.store.items import valid_id

router = APIRouter(tags=["guide"])
MAX_CHANNELS = 500
MAX_WINDOW = timedelta(days=4)


def channel_ids(value: str) -> list[int]:
    """``1,2,3`` → ids (at most 500, each a valid id); 422 otherwise."""
    try:
        ids = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise ValidationFailed(
            "channels must be comma-separated ids", detail={"channels": value[:100]}
        ) from None
    if not ids or len(ids) > MAX_CHANNELS:
        raise ValidationFailed(f"give 1 to {MAX_CHANNELS} channel ids", detail={"count": len(ids)})
    if not all(valid_id(i) for i in ids):
        raise ValidationFailed("a channel id is out of range", detail={"channels": value[:100]})
    return list(dict.fromkeys(ids))


@router.get("/api/providers/{provider_id}/guide")
def guide_window(
    provider_id: int,
    svc: Svc,
    who: Reader,
    channels: str = Query(..., max_length=6000, description="comma-separated channel ids"),
    from_: str | None = Query(None, alias="from"),
    to: str | None = None,
) -> dict[str, Any]:
    """Programmes overlapping [from, to) (default: now to 24 h later, at most 4 days) of the
    given channels: ``{from, to, items: [{channel_id, archive_days, programmes}]}``."""
    who.check(provider_id)
    ids = channel_ids(channels)
    start = parse_when(from_, datetime.now(UTC), "from")
    end = parse_when(to, start + timedelta(hours=24), "to")
    if end <= start:
        raise ValidationFailed("to must be after from", detail={"from": from_, "to": to})
    if end - start > MAX_WINDOW:
        raise ValidationFailed("at most 4 days at a time", detail={"from": from_, "to": to})
    with svc.db.connect() as conn:
        queries.check_provider(conn, provider_id)
        items = guide.programmes_of(conn, provider_id, ids, start, end)
    return {"from": start.isoformat(), "to": end.isoformat(), "items": items}


@router.get("/api/providers/{provider_id}/guide/now")
def guide_now(
    provider_id: int,
    svc: Svc,
    who: Reader,
    channels: str = Query(..., max_length=6000, description="comma-separated channel ids"),
) -> dict[str, Any]:
    """``{items: [{channel_id, now, next}]}`` for the given channels, in their order."""
    who.check(provider_id)
    ids = channel_ids(channels)
    with svc.db.connect() as conn:
        queries.check_provider(conn, provider_id)
        items = guide.now_next(conn, provider_id, ids, datetime.now(UTC))
    return {"items": items}

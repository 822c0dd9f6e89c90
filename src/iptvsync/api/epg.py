"""The guide (EPG): now/next per channel, and a channel's programmes in a time range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query

from iptvsync.api.auth import Reader
from iptvsync.api.listing import check_page
from iptvsync.api.services import Svc
from iptvsync.errors import NotFound, ValidationFailed
from iptvsync.store import guide
from iptvsync.store.items import page_dict
from iptvsync.store.providers import get_provider, iso

router = APIRouter(tags=["guide"])
MAX_RANGE = timedelta(days=31)


def parse_when(value: str | None, default: datetime, name: str) -> datetime:
    """ISO 8601 (a naive time is UTC) or Unix seconds."""
    if value is None or value == "":
        return default
    text = value.strip()
    try:
        if text.lstrip("-").replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(text), UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise ValidationFailed(
            f"{name} must be ISO 8601 or Unix seconds", detail={name: value}
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def programme_dict(row: Any) -> dict[str, Any]:
    return {
        "start": iso(row.start),
        "stop": iso(row.stop),
        "title": row.title,
        "subtitle": row.subtitle,
        "description": row.description,
        "category": row.category,
        "episode": row.episode,
    }


@router.get("/api/providers/{provider_id}/epg/now")
def epg_now(
    provider_id: int,
    svc: Svc,
    who: Reader,
    category: int | None = None,
    page: int = Query(1),
    limit: int = Query(50),
) -> dict[str, Any]:
    """Every live channel with the programme on now and the next one (null without a guide)."""
    who.check(provider_id)
    limit = check_page(page, limit)
    now = datetime.now(UTC)
    with svc.db.connect() as conn:
        get_provider(conn, provider_id)
        total, rows = guide.channels_page(conn, provider_id, category, (page - 1) * limit, limit)
        keys = {r.epg_id for r in rows if r.epg_id}
        upcoming = guide.upcoming(conn, provider_id, keys, now, per_channel=2)
    items = []
    for r in rows:
        current = nxt = None
        for p in upcoming.get(r.epg_id or "", []):
            if p.start <= now and current is None:
                current = programme_dict(p)
            elif nxt is None:
                nxt = programme_dict(p)
        items.append({"channel_id": r.id, "now": current, "next": nxt})
    return page_dict(total, page, limit, items)


@router.get("/api/providers/{provider_id}/channels/{channel_id}/epg")
def channel_epg(
    provider_id: int,
    channel_id: int,
    svc: Svc,
    who: Reader,
    from_: str | None = Query(None, alias="from"),
    to: str | None = None,
) -> dict[str, Any]:
    """Every programme overlapping [from, to), the one running at ``from`` included."""
    who.check(provider_id)
    now = datetime.now(UTC)
    start = parse_when(from_, now, "from")
    end = parse_when(to, start + timedelta(hours=24), "to")
    if end <= start:
        raise ValidationFailed("to must be after from", detail={"from": from_, "to": to})
    if end - start > MAX_RANGE:
        raise ValidationFailed("at most 31 days at a time", detail={"from": from_, "to": to})
    with svc.db.connect() as conn:
        get_provider(conn, provider_id)
        channel = guide.channel_guide_key(conn, provider_id, channel_id)
        if channel is None:
            raise NotFound(f"channel {channel_id} not found", detail={"channel_id": channel_id})
        if not channel.epg_id:
            return {"items": []}
        rows = guide.programmes_between(conn, provider_id, channel.epg_id, start, end)
    return {"items": [programme_dict(r) for r in rows]}

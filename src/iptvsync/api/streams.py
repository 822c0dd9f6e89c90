"""Active streams: ``GET /api/streams`` and ``DELETE /api/streams/{id}``.

One entry per viewer, from the slot rows every replica keeps leased (``store.streams``): who
watches what, through which provider account (MAC masked), since when, bytes sent, and how
many viewers share its upstream. The admin sees and stops every stream; an output user only
its own (another user's stream answers 404, as if it did not exist).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter

from iptvsync.api.auth import Reader
from iptvsync.api.play import get_relay
from iptvsync.api.services import Svc
from iptvsync.errors import NotFound
from iptvsync.store import streams

router = APIRouter(tags=["streams"])


def _entry(row: streams.SlotRow) -> dict[str, Any]:
    info = row.info
    return {
        "id": row.holder,
        "user": info.get("username"),
        "user_id": info.get("user_id"),
        "provider_id": info.get("provider_id"),
        "kind": info.get("kind"),
        "item_id": info.get("item_id"),
        "account": info.get("account"),
        "since": row.since,
        "bytes": int(info.get("bytes") or 0),
        "viewers": int(info.get("viewers") or 1),
    }


def _viewer_rows(db: Any) -> list[streams.SlotRow]:
    now = time.time()
    return [r for r in streams.held(db, "", now=now) if not r.scope.startswith("provider:")]


@router.get("/api/streams")
async def list_streams(svc: Svc, who: Reader) -> dict[str, Any]:
    relay = svc.relay
    if relay is not None:
        await relay.slots.renew_now()  # fresh byte counts for this replica's streams
    rows = await asyncio.to_thread(_viewer_rows, svc.db)
    if not who.admin:
        rows = [r for r in rows if r.info.get("user_id") == who.user_id]
    return {"items": [_entry(r) for r in rows]}


@router.delete("/api/streams/{stream_id}", status_code=204)
async def stop_stream(stream_id: str, svc: Svc, who: Reader) -> None:
    row = await asyncio.to_thread(streams.get, svc.db, stream_id, now=time.time())
    if row is None or row.scope.startswith("provider:"):
        raise NotFound("no such stream", detail={"id": stream_id})
    if not who.admin and row.info.get("user_id") != who.user_id:
        raise NotFound("no such stream", detail={"id": stream_id})
    await get_relay(svc).stop_viewer(stream_id)

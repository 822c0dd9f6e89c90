"""Sync control and progress: the endpoints of docs/api.md, "Sync"."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter, Body, Request
from fastapi.responses import StreamingResponse

from iptvsync.api.auth import Admin, Reader
from iptvsync.api.responses import JSONResponse
from iptvsync.api.schemas import SyncChannelsIn, SyncIn
from iptvsync.api.services import Svc
from iptvsync.errors import NotFound, SyncRunning
from iptvsync.store import catalogue, runs
from iptvsync.store.providers import get_provider
from iptvsync.sync.service import request_cancel, request_sync

router = APIRouter(tags=["sync"])
SSE_POLL_S = 0.5
SSE_KEEPALIVE_S = 15.0


@router.post("/api/providers/{provider_id}/sync", status_code=202)
async def start_sync(
    provider_id: int, svc: Svc, _: Admin, body: SyncIn | None = Body(default=None)
) -> JSONResponse:
    body = body or SyncIn()
    run_id, plan = await request_sync(
        svc.db, svc.settings, svc.runner, provider_id, scope=body.scope, mode=body.mode
    )
    return JSONResponse({"run_id": run_id, "plan": plan.as_dict()}, status_code=202)


@router.post("/api/providers/{provider_id}/sync-channels", status_code=202)
async def start_channel_sync(
    provider_id: int, svc: Svc, _: Admin, body: SyncChannelsIn | None = Body(default=None)
) -> JSONResponse:
    body = body or SyncChannelsIn()
    run_id, plan = await request_sync(
        svc.db, svc.settings, svc.runner, provider_id, scope="channels", mode=body.mode
    )
    return JSONResponse({"run_id": run_id, "plan": plan.as_dict()}, status_code=202)


@router.post("/api/providers/{provider_id}/sync/cancel", status_code=202)
async def cancel_sync(provider_id: int, svc: Svc, _: Admin) -> JSONResponse:
    run_id = await request_cancel(svc.db, svc.runner, provider_id)
    return JSONResponse({"run_id": run_id, "status": "cancelling"}, status_code=202)


@router.get("/api/providers/{provider_id}/sync")
def sync_status(provider_id: int, svc: Svc, who: Reader) -> dict[str, Any]:
    who.check(provider_id)
    with svc.db.connect() as conn:
        get_provider(conn, provider_id)
        stats = catalogue.live_counts(conn, provider_id)
        history = [runs.public_run(r) for r in runs.last_runs(conn, provider_id, 20)]
    running = next((r for r in history if r["status"] in runs.ACTIVE), None)
    return {"stats": stats, "running": running, "last_runs": history}


@router.get("/api/sync-runs/{run_id}")
def get_run(run_id: int, svc: Svc, who: Reader) -> dict[str, Any]:
    with svc.db.connect() as conn:
        run = runs.public_run(runs.get_run(conn, run_id))
    who.check(run["provider_id"])
    return run


@router.get("/api/providers/{provider_id}/sync/events")
async def sync_events(
    provider_id: int, request: Request, svc: Svc, who: Reader, run_id: int | None = None
) -> StreamingResponse:
    """Server-Sent Events: ``event: progress`` with the run while it changes, ``event: end``
    when it has ended (docs/api.md, "Progress events").

    Without ``run_id`` the stream follows the provider's queued or running run; with none, it
    waits for the provider's next run (comment keep-alives meanwhile) and follows that one: an
    operator opens the stream, then starts a sync. With ``run_id`` it follows that run and
    never waits: a run that has already ended is sent once. Read from the run's row, so it
    works whichever replica or worker runs the sync.
    """
    who.check(provider_id)

    def load(wanted: int | None) -> dict[str, Any] | None:
        with svc.db.connect() as conn:
            get_provider(conn, provider_id)
            if wanted is not None:
                row = runs.get_run(conn, wanted)
                if row.provider_id != provider_id:
                    raise NotFound(
                        f"sync run {wanted} is not a run of provider {provider_id}",
                        detail={"run_id": wanted},
                    )
                return runs.public_run(row)
            rows = runs.last_runs(conn, provider_id, 1)
        return runs.public_run(rows[0]) if rows else None

    first = await asyncio.to_thread(load, run_id)
    # The run to follow; while None, wait for a run newer than ``seen`` to appear.
    following = run_id if run_id is not None else None
    if following is None and first is not None and first["status"] in runs.ACTIVE:
        following = first["id"]
    seen = first["id"] if first is not None else 0

    async def stream() -> AsyncIterator[bytes]:
        nonlocal following
        yield b"retry: 2000\n\n"
        run = first if following is not None else None
        if following is None:
            yield b": no sync is running; waiting for the next run of this provider\n\n"
        sent: bytes | None = None
        idle = 0.0
        while True:
            if run is not None:
                data = orjson.dumps(run)
                if data != sent:
                    yield b"event: progress\ndata: " + data + b"\n\n"
                    sent, idle = data, 0.0
                if run["status"] not in runs.ACTIVE:
                    yield b"event: end\ndata: " + data + b"\n\n"
                    return
            if await request.is_disconnected():
                return
            await asyncio.sleep(SSE_POLL_S)
            idle += SSE_POLL_S
            if idle >= SSE_KEEPALIVE_S:
                yield b": keep-alive\n\n"
                idle = 0.0
            if following is None:
                latest = await asyncio.to_thread(load, None)
                if latest is not None and latest["id"] > seen:
                    following, run = latest["id"], latest
            else:
                run = await asyncio.to_thread(load, following)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.delete("/api/providers/{provider_id}/clean")
def clean_provider(provider_id: int, svc: Svc, _: Admin) -> dict[str, Any]:
    with svc.db.begin() as conn:
        get_provider(conn, provider_id)
        running = runs.active_run_id(conn, provider_id)
        if running is not None:
            raise SyncRunning(running, "cancel the running sync before cleaning this provider")
        visible = catalogue.live_counts(conn, provider_id)
        removed = catalogue.delete_provider_data(conn, provider_id)
    from iptvsync.snapshot.files import remove_snapshot_files

    remove_snapshot_files(svc.settings, provider_id)
    # ``deleted``: what the API listed (the stats); ``purged``: the rest that went with it,
    # items removed by earlier syncs (kept for deltas) and empty categories (docs/api.md).
    deleted = {key: visible[key] for key in removed}
    purged = {key: max(removed[key] - visible[key], 0) for key in removed}
    return {"deleted": deleted, "purged": purged}

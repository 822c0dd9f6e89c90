"""``/api/providers``: register, read, change and remove providers; probe one."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from iptvsync.api.auth import Admin, Reader
from iptvsync.api.provider_changes import edit_provider
from iptvsync.api.responses import JSONResponse
from iptvsync.api.schemas import ProviderIn, ProviderPatch
from iptvsync.api.services import Svc
from iptvsync.errors import SyncRunning
from iptvsync.providers.registry import make_client
from iptvsync.records import ProbeResult
from iptvsync.store import macs, runs
from iptvsync.store import providers as store

router = APIRouter(prefix="/api/providers", tags=["providers"])


@router.post("", status_code=201)
def create_provider(body: ProviderIn, svc: Svc, _: Admin) -> JSONResponse:
    data = body.model_dump(exclude={"macs"})
    with svc.db.begin() as conn:
        provider_id = store.create_provider(conn, data)
        if body.macs:
            macs.set_pool(conn, provider_id, [m.model_dump(by_alias=True) for m in body.macs])
        public = _public(conn, store.get_provider(conn, provider_id))
    return JSONResponse(public, status_code=201)


def _public(conn: Any, row: Any) -> dict[str, Any]:
    """A provider as the API shows it; a Stalker provider with its MAC pool, masked, each MAC
    with its state (docs/api.md, "Stalker MAC pool")."""
    public = store.public_provider(row)
    if row.kind == "stalker":
        public["macs"] = macs.public_pool(macs.pool(conn, row.id))
    return public


@router.get("")
def list_providers(svc: Svc, who: Reader) -> dict[str, Any]:
    with svc.db.connect() as conn:
        rows = store.list_providers(conn)
    return {"items": [store.public_provider(r) for r in rows if who.can_see(r.id)]}


@router.get("/{provider_id}")
def get_provider(provider_id: int, svc: Svc, who: Reader) -> dict[str, Any]:
    who.check(provider_id)
    with svc.db.connect() as conn:
        return _public(conn, store.get_provider(conn, provider_id))


@router.patch("/{provider_id}")
def patch_provider(provider_id: int, body: ProviderPatch, svc: Svc, _: Admin) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    public, _rebased = edit_provider(svc.db, svc.settings, provider_id, changes)
    if public["kind"] == "stalker":  # the same shape as GET /api/providers/{id}
        with svc.db.connect() as conn:
            public["macs"] = macs.public_pool(macs.pool(conn, provider_id))
    return public


@router.delete("/{provider_id}", status_code=204)
def delete_provider(provider_id: int, svc: Svc, _: Admin) -> None:
    with svc.db.begin() as conn:
        store.get_provider(conn, provider_id)
        running = runs.active_run_id(conn, provider_id)
        if running is not None:
            raise SyncRunning(running, "cancel the running sync before deleting this provider")
        store.delete_provider(conn, provider_id)


@router.post("/{provider_id}/probe")
async def probe_provider(provider_id: int, svc: Svc, _: Admin) -> dict[str, Any]:
    def load() -> tuple[Any, list[dict[str, Any]]]:
        with svc.db.connect() as conn:
            row = store.get_provider(conn, provider_id)
            return row, macs.pool(conn, provider_id) if row.kind == "stalker" else []

    row, pool = await asyncio.to_thread(load)
    config = store.provider_config(row)
    if pool:
        config.options["mac_pool"] = pool  # probe reports every MAC of the pool
    client = make_client(config, svc.http, svc.settings)
    try:
        result = await client.probe()
    finally:
        await client.aclose()
    return probe_dict(result)


def probe_dict(result: ProbeResult) -> dict[str, Any]:
    expires = result.account.expires_at
    return {
        "family": result.family,
        "endpoint": store.mask_url(result.endpoint),
        "page_size": result.page_size,
        "version": result.version,
        "account": {
            "status": result.account.status,
            "expires_at": store.iso(expires) if expires else None,
        },
        "counts": {k: result.counts.get(k) for k in ("channels", "movies", "series")},
        # Each module the portal answered, with the portal's own total (Stalker).
        "modules": dict(result.modules),
        # Each MAC of a Stalker pool: masked MAC, state, reason, expiry.
        "macs": [{**m, "state": macs.public_state(str(m["state"]))} for m in result.macs],
    }

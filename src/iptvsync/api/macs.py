"""``/api/providers/{id}/macs``: a Stalker provider's MAC pool and each MAC's state.

``GET`` lists the pool (the provider's own MAC first) with each MAC masked, the state the
portal last gave it (``unknown``, ``ok``, ``expired``, ``disabled``, ``refused``), the reason
and the expiry. ``PUT`` replaces the pool's other MACs, each with its own box identity where
given (``serial`` or ``sn``, ``device_id``, ``device_id2``, ``signature``); MACs that stay keep
their state.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from iptvsync.api.auth import Admin, Reader
from iptvsync.api.schemas import PoolMac
from iptvsync.api.services import Svc
from iptvsync.errors import ValidationFailed
from iptvsync.relay.lookups import lookups
from iptvsync.store import macs as store
from iptvsync.store.providers import get_provider

router = APIRouter(prefix="/api/providers", tags=["providers"])


class PoolIn(BaseModel):
    macs: list[PoolMac] = Field(..., max_length=100)


def _stalker(conn: Any, provider_id: int) -> None:
    if get_provider(conn, provider_id).kind != "stalker":
        raise ValidationFailed("only a Stalker provider has MACs", detail={"field": "kind"})


@router.get("/{provider_id}/macs")
def list_macs(provider_id: int, svc: Svc, who: Reader) -> dict[str, Any]:
    who.check(provider_id)
    with svc.db.connect() as conn:
        _stalker(conn, provider_id)
        return {"items": store.public_pool(store.pool(conn, provider_id))}


@router.put("/{provider_id}/macs")
def put_macs(provider_id: int, body: PoolIn, svc: Svc, _: Admin) -> dict[str, Any]:
    with svc.db.begin() as conn:
        _stalker(conn, provider_id)
        store.set_pool(conn, provider_id, [m.model_dump(by_alias=True) for m in body.macs])
        items = store.public_pool(store.pool(conn, provider_id))
    # Plays read the pool from a cache kept per provider version; set_pool moved that version
    # on (every replica sees it), and this replica forgets its copy at once.
    lookups(svc).forget(provider_id)
    return {"items": items}

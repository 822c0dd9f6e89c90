"""A Stalker provider's MAC pool and each MAC's state (table ``provider_macs``, migration 0004).

``providers.mac`` is always the pool's first MAC; ``set_pool`` stores the others (each with
its own ``sn`` / ``device_id`` / ``device_id2`` where given) and keeps the state of MACs that
stay. A sync records what the portal said of each MAC it tried (``record_states``); the next
sync tries the MACs the portal did not refuse first (``pool_for_sync``). MACs are secrets: the
API shows them masked (``public_pool``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from iptvsync.providers.http import mask_mac
from iptvsync.store.models import provider_macs, providers

#: Identity fields a pool entry may carry besides the MAC.
IDENTITY_KEYS = ("sn", "device_id", "device_id2", "signature")
#: States the portal gives a MAC; "unknown" until a sync or probe tried it.
STATES = ("unknown", "active", "expired", "disabled", "refused")


def set_pool(conn: sa.Connection, provider_id: int, entries: Iterable[Mapping[str, Any]]) -> None:
    """Replace the pool's extra MACs (``providers.mac`` stays first). Known MACs keep their
    state; MACs no longer listed are removed."""
    primary = conn.execute(
        sa.select(providers.c.mac).where(providers.c.id == provider_id)
    ).scalar_one()
    known = {
        r.mac: r
        for r in conn.execute(
            sa.select(provider_macs).where(provider_macs.c.provider_id == provider_id)
        )
    }
    wanted: dict[str, dict[str, str]] = {}
    for entry in entries:
        mac = str(entry["mac"])
        if mac != primary and mac not in wanted:
            wanted[mac] = {k: str(entry[k]) for k in IDENTITY_KEYS if entry.get(k)}
    gone = set(known) - set(wanted)
    if gone:
        conn.execute(
            provider_macs.delete().where(
                provider_macs.c.provider_id == provider_id, provider_macs.c.mac.in_(gone)
            )
        )
    # A changed pool is a changed provider: clients built from the old one are dropped.
    conn.execute(providers.update().where(providers.c.id == provider_id).values(updated_at=_now()))
    for position, (mac, identity) in enumerate(wanted.items(), start=1):
        if mac in known:
            conn.execute(
                provider_macs.update()
                .where(provider_macs.c.id == known[mac].id)
                .values(position=position, identity=identity)
            )
        else:
            conn.execute(
                provider_macs.insert().values(
                    provider_id=provider_id,
                    position=position,
                    mac=mac,
                    identity=identity,
                    state="unknown",
                )
            )


def pool(conn: sa.Connection, provider_id: int) -> list[dict[str, Any]]:
    """Every MAC of the pool in order, ``providers.mac`` first, with its identity and state."""
    row = conn.execute(
        sa.select(providers.c.mac, providers.c.options).where(providers.c.id == provider_id)
    ).one()
    rows = {
        r.mac: r
        for r in conn.execute(
            sa.select(provider_macs)
            .where(provider_macs.c.provider_id == provider_id)
            .order_by(provider_macs.c.position)
        )
    }
    out: list[dict[str, Any]] = []
    if row.mac:
        primary = rows.pop(row.mac, None)
        out.append(_entry(row.mac, {}, primary))
    out += [_entry(mac, dict(r.identity or {}), r) for mac, r in rows.items()]
    return out


def _entry(mac: str, identity: dict[str, str], row: Any) -> dict[str, Any]:
    return {
        "mac": mac,
        "identity": identity,
        "state": row.state if row is not None else "unknown",
        "reason": row.reason if row is not None else None,
        "expires_at": row.expires_at if row is not None else None,
        "checked_at": row.checked_at if row is not None else None,
    }


def pool_for_sync(conn: sa.Connection, provider_id: int) -> list[dict[str, Any]]:
    """The pool in the order a sync tries it: MACs the portal did not refuse first."""
    entries = pool(conn, provider_id)
    healthy = [e for e in entries if e["state"] in ("unknown", "active")]
    return healthy + [e for e in entries if e not in healthy]


def record_states(
    conn: sa.Connection, provider_id: int, states: Iterable[Mapping[str, Any]], now: datetime
) -> None:
    """What the portal said of each MAC tried (``mac``, ``state``, ``reason``, ``expires_at``).
    The primary MAC's state is kept in the pool table too, at position 0."""
    for state in states:
        values = {
            "state": state["state"],
            "reason": (state.get("reason") or None) and str(state["reason"])[:500],
            "expires_at": state.get("expires_at"),
            "checked_at": now,
        }
        updated = conn.execute(
            provider_macs.update()
            .where(provider_macs.c.provider_id == provider_id, provider_macs.c.mac == state["mac"])
            .values(**values)
        ).rowcount
        if not updated:
            conn.execute(
                provider_macs.insert().values(
                    provider_id=provider_id, position=0, mac=state["mac"], identity={}, **values
                )
            )


def public_pool(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The pool as the API shows it: masked MACs, no device ids."""
    return [
        {
            "mac": mask_mac(e["mac"]),
            "state": e["state"],
            "reason": e["reason"],
            "expires_at": _iso(e["expires_at"]),
            "checked_at": _iso(e["checked_at"]),
        }
        for e in entries
    ]


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _now() -> datetime:
    return datetime.now(UTC)

"""A Stalker provider's MAC pool and each MAC's state (table ``provider_macs``, migration 0004).

``providers.mac`` is always the pool's first MAC; ``set_pool`` stores the others (each with
its own ``sn`` / ``device_id`` / ``device_id2`` where given) and keeps the state of MACs that
stay. A sync records what the portal said of each MAC it tried (``record_states``); the next
sync tries the MACs the portal did not refuse first (``pool_for_sync``). MACs are secrets: the
API shows them masked (``public_pool``), and at rest they are encrypted like the provider's own
(``store.secrets``): rows are matched by their decrypted MAC, never by the stored text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from iptvsync.providers.http import mask_mac
from iptvsync.store.models import provider_macs, providers
from iptvsync.store.secrets import reveal, reveal_json, seal_json, seal_text

#: Identity fields a pool entry may carry besides the MAC.
IDENTITY_KEYS = ("sn", "device_id", "device_id2", "signature")
#: States the portal gives a MAC; "unknown" until a sync or probe tried it.
STATES = ("unknown", "active", "expired", "disabled", "refused")
#: The API names a working MAC "ok" (docs/api.md, "Stalker MAC pool"); the store keeps the
#: account status the portal gave ("active").
_PUBLIC_STATE = {"active": "ok"}


def public_state(state: str) -> str:
    return _PUBLIC_STATE.get(state, state)


def set_pool(conn: sa.Connection, provider_id: int, entries: Iterable[Mapping[str, Any]]) -> None:
    """Replace the pool's extra MACs (``providers.mac`` stays first). Known MACs keep their
    state; MACs no longer listed are removed."""
    primary = reveal(
        conn.execute(sa.select(providers.c.mac).where(providers.c.id == provider_id)).scalar_one()
    )
    known = _rows_by_mac(conn, provider_id)
    wanted: dict[str, dict[str, str]] = {}
    for entry in entries:
        mac = str(entry["mac"])
        if mac != primary and mac not in wanted:
            wanted[mac] = {k: str(entry[k]) for k in IDENTITY_KEYS if entry.get(k)}
    gone = set(known) - set(wanted)
    if gone:
        conn.execute(
            provider_macs.delete().where(provider_macs.c.id.in_([known[m].id for m in gone]))
        )
    # A changed pool is a changed provider: clients built from the old one are dropped.
    conn.execute(providers.update().where(providers.c.id == provider_id).values(updated_at=_now()))
    for position, (mac, identity) in enumerate(wanted.items(), start=1):
        if mac in known:
            conn.execute(
                provider_macs.update()
                .where(provider_macs.c.id == known[mac].id)
                .values(position=position, identity=seal_json(conn, identity))
            )
        else:
            conn.execute(
                provider_macs.insert().values(
                    provider_id=provider_id,
                    position=position,
                    mac=seal_text(conn, mac),
                    identity=seal_json(conn, identity),
                    state="unknown",
                )
            )


def pool(conn: sa.Connection, provider_id: int) -> list[dict[str, Any]]:
    """Every MAC of the pool in order, ``providers.mac`` first, with its identity and state."""
    stored = conn.execute(sa.select(providers.c.mac).where(providers.c.id == provider_id)).one()
    primary_mac = reveal(stored.mac)
    rows = _rows_by_mac(conn, provider_id)
    out: list[dict[str, Any]] = []
    if primary_mac:
        primary = rows.pop(primary_mac, None)
        out.append(_entry(primary_mac, {}, primary))
    out += [_entry(mac, dict(reveal_json(r.identity) or {}), r) for mac, r in rows.items()]
    return out


def _rows_by_mac(conn: sa.Connection, provider_id: int) -> dict[str, Any]:
    """The pool's rows in order, keyed by their plain MAC."""
    rows = conn.execute(
        sa.select(provider_macs)
        .where(provider_macs.c.provider_id == provider_id)
        .order_by(provider_macs.c.position)
    )
    return {str(reveal(r.mac)): r for r in rows}


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
    rows = _rows_by_mac(conn, provider_id)
    for state in states:
        values = {
            "state": state["state"],
            "reason": (state.get("reason") or None) and str(state["reason"])[:500],
            "expires_at": state.get("expires_at"),
            "checked_at": now,
        }
        row = rows.get(str(state["mac"]))
        if row is not None:
            update = provider_macs.update().where(provider_macs.c.id == row.id)
            conn.execute(update.values(**values))
        else:
            conn.execute(
                provider_macs.insert().values(
                    provider_id=provider_id,
                    position=0,
                    mac=seal_text(conn, str(state["mac"])),
                    identity={},
                    **values,
                )
            )


def public_pool(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The pool as the API shows it: masked MACs, no device ids."""
    return [
        {
            "mac": mask_mac(e["mac"]),
            "state": public_state(e["state"]),
            "reason": e["reason"],
            "expires_at": _iso(e["expires_at"]),
            "checked_at": _iso(e["checked_at"]),
        }
        for e in entries
    ]


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _now() -> datetime:
    return datetime.now(UTC)

"""A Stalker provider's MAC pool, as one client uses it (docs/stalker.md §3, §9).

A provider may hold several MACs, each a box of its own (``sn``, ``device_id``, ``device_id2``
where given, derived from the MAC otherwise). A sync uses ONE healthy MAC at a time (most
portals allow one session per MAC): the client tries them in the pool's order (the store puts
the MACs the portal did not refuse first) and keeps the first the portal accepts. A MAC the
portal refuses is recorded with its reason (expired, disabled, refused) and skipped; when every
MAC is refused the error names how many were tried. ``states`` is what the engine writes back
to the store (``store/macs.py``), so the next sync, every worker and the provider API see it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from iptvsync.errors import (
    ProviderAccountDisabled,
    ProviderAccountExpired,
    ProviderAuthFailed,
    ProviderError,
)
from iptvsync.providers.stalker.identity import StalkerIdentity

#: Refusals that belong to the MAC (another MAC may work); anything else is the portal's.
REFUSALS = (ProviderAuthFailed, ProviderAccountExpired, ProviderAccountDisabled)
_DEVICE_KEYS = frozenset({"sn", "device_id", "device_id2", "signature"})


def state_of(error: ProviderError) -> str:
    if isinstance(error, ProviderAccountExpired):
        return "expired"
    if isinstance(error, ProviderAccountDisabled):
        return "disabled"
    return "refused"


@dataclass
class MacPool:
    identities: list[StalkerIdentity]
    states: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def build(cls, primary: StalkerIdentity, entries: Any, shared: Mapping[str, Any]) -> MacPool:
        """``entries``: the ``mac_pool`` option (``[{"mac":..,"identity":{..}}]``, the
        provider's own MAC among them or not). Device ids of the provider's options belong to
        its own MAC only; the other options (``timezone``, ``stb_type``...) apply to all."""
        identities = [primary]
        common = {k: v for k, v in shared.items() if k not in _DEVICE_KEYS}
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, Mapping) or not entry.get("mac"):
                continue
            own = dict(entry.get("identity") or {})
            identity = StalkerIdentity.from_mac(str(entry["mac"]), **{**common, **own})
            if identity.mac == primary.mac:
                identities.remove(primary)
                identities.append(primary)  # the store's order decides, primary included
            elif all(i.mac != identity.mac for i in identities):
                identities.append(identity)
        return cls(identities)

    def __len__(self) -> int:
        return len(self.identities)

    def accepted(self, identity: StalkerIdentity, expires_at: datetime | None) -> None:
        self.states[identity.mac] = {
            "mac": identity.mac,
            "state": "active",
            "reason": None,
            "expires_at": expires_at,
        }

    def refused(self, identity: StalkerIdentity, error: ProviderError) -> None:
        raw = error.detail.get("expires_at") if error.detail else None
        expires = raw if isinstance(raw, datetime) else None
        if isinstance(raw, str):
            with contextlib.suppress(ValueError):
                expires = datetime.fromisoformat(raw)
        self.states[identity.mac] = {
            "mac": identity.mac,
            "state": state_of(error),
            "reason": f"{error.code}: {error.message}",
            "expires_at": expires,
        }

    def exhausted(self) -> ProviderAuthFailed:
        return ProviderAuthFailed(
            f"the portal refused every MAC of this provider ({len(self)} tried)",
            detail={"reason": "mac_pool", "tried": len(self)},
        )

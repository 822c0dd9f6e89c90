"""Who may read what: the principal of a request, the admin or a user with their providers.

Plain data, so every layer can pass it on: ``store.users`` builds it from a user's row,
``api.auth`` from a request (docs/security.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from iptvsync.errors import NotFound


@dataclass(frozen=True, slots=True)
class Principal:
    """``admin`` may do everything; a user may read the providers it is allowed to see."""

    admin: bool
    user_id: int | None = None
    username: str | None = None
    all_providers: bool = False
    provider_ids: frozenset[int] = frozenset()

    def can_see(self, provider_id: int) -> bool:
        return self.admin or self.all_providers or provider_id in self.provider_ids

    def check(self, provider_id: int) -> None:
        # 404, not 403: a user must not learn which other providers exist.
        if not self.can_see(provider_id):
            raise NotFound(f"provider {provider_id} not found", detail={"provider_id": provider_id})


#: Open mode (no admin token): every caller may do everything (loopback only).
OPEN = Principal(admin=True)

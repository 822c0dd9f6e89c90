"""Where a provider may send us: address and scheme rules of the provider HTTP layer.

A URL the operator configured (a provider's URL, its ``--epg-url``) may point anywhere,
a LAN host or loopback included. A URL that comes from provider content (a redirect, a
playlist's ``x-tvg-url``) may only lead from a public provider to public addresses: the
connector of the "public only" pool checks every resolved address at connect time
(``connector.GuardedConnector`` for aiohttp, ``lean.LeanPool`` for the page fast path), so a
name that resolves to a public address for a check and to 127.0.0.1 a moment later cannot
slip through. docs/reliability.md, "Hostile providers".
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from contextvars import ContextVar

from iptvsync.errors import ProviderBadResponse

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = frozenset({"http", "https"})


class AddressRefused(ProviderBadResponse):
    """A provider tried to send us into private, loopback or link-local address space."""


class AddressPolicy:
    """Which addresses count as private. ``public`` lists networks that count as public
    anyway (tests stand a "public" provider on a loopback address that way)."""

    def __init__(self, public: Iterable[str] = ()) -> None:
        self._public: tuple[IpNetwork, ...] = tuple(
            ipaddress.ip_network(n, strict=False) for n in public
        )
        self._cache: dict[str, bool] = {}  # checked on every connection: parse each once

    def is_private(self, host: str) -> bool:
        """True for a private, loopback, link-local, reserved or unspecified address (an
        IPv4-mapped IPv6 address is judged as its IPv4 form). Not an address: False."""
        known = self._cache.get(host)
        if known is None:
            known = self._cache[host] = self._judge(host)
            if len(self._cache) > 4096:
                self._cache.clear()
        return known

    def _judge(self, host: str) -> bool:
        try:
            addr: IpAddress = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        if any(addr in net for net in self._public):
            return False
        return not addr.is_global or addr.is_multicast


Pins = Mapping[str, tuple[str, int]]

REFUSED = "the provider pointed at a private, loopback or link-local address; refused"


def pinned(pins: Pins, host: str, port: int) -> tuple[str, int]:
    """Where ``host`` is reached: its pin (``"*"`` pins every name), else itself."""
    return pins.get(host) or pins.get("*") or (host, port)


def allowed(policy: AddressPolicy | None, addresses: list[str]) -> list[str]:
    """The resolved addresses a connection may try (all without a policy); none is refused."""
    if policy is None:
        return addresses
    found = [a for a in addresses if not policy.is_private(a)]
    if not found:
        raise AddressRefused(REFUSED)
    return found


def peer_private(policy: AddressPolicy | None, any_policy: AddressPolicy, address: str) -> bool:
    """Whether a connection's peer is private; with a policy (the public-only pool) a private
    peer is refused, after the fact, as a DNS answer may have changed since the check."""
    private = bool(address) and (policy or any_policy).is_private(address)
    if private and policy is not None:
        raise AddressRefused(REFUSED)
    return private


_LAST_PEER_PRIVATE: ContextVar[bool] = ContextVar("iptvsync_last_peer_private", default=False)


def set_last_peer_private(private: bool) -> None:
    """Remember, for this task, whether the connection it just took leads to a private peer."""
    _LAST_PEER_PRIVATE.set(private)


def last_peer_private() -> bool:
    """Whether the last connection this task took was to a private address."""
    return _LAST_PEER_PRIVATE.get()


def check_scheme(scheme: str) -> None:
    if scheme.lower() not in ALLOWED_SCHEMES:
        raise ProviderBadResponse("the provider pointed at a URL that is not http(s); refused")

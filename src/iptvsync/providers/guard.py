"""Where a provider may send us: address and scheme rules of the provider HTTP layer.

A URL the operator configured (a provider's URL, its ``--epg-url``) may point anywhere,
a LAN host or loopback included. A URL that comes from provider content (a redirect, a
playlist's ``x-tvg-url``) may only lead from a public provider to public addresses: the
connector of the "public only" pool checks every resolved address at connect time
(``GuardedConnector``), so a name that resolves to a public address for a check and to
127.0.0.1 a moment later cannot slip through. docs/reliability.md, "Hostile providers".
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

import aiohttp
from aiohttp.abc import ResolveResult

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


class GuardedConnector(aiohttp.TCPConnector):
    """A connector that, given a policy, refuses to connect to any address it calls private.

    The check runs on the resolved addresses of every connection, names and literal IPs
    alike, right before the socket connects. ``pins`` maps host names to a fixed address and
    port, as ``curl --resolve`` does (tests serve ``http://portal.test/`` from a local port;
    ``"*"`` pins every name)."""

    def __init__(
        self,
        policy: AddressPolicy | None,
        pins: Pins | None = None,
        public_networks: Iterable[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._policy = policy
        self._any_policy = AddressPolicy(public_networks)
        self._pins = dict(pins or {})

    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Any] | None = None
    ) -> list[ResolveResult]:
        pinned = self._pins.get(host) or self._pins.get("*")
        if pinned is not None:
            host, port = pinned
        results = await super()._resolve_host(host, port, traces)
        if self._policy is None:
            return results
        policy = self._policy
        allowed = [r for r in results if not policy.is_private(r["host"])]
        if not allowed:
            raise AddressRefused(
                "the provider pointed at a private, loopback or link-local address; refused"
            )
        return allowed

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
        """A connection (new or from the pool), its peer checked and remembered for
        ``last_peer_private`` (the caller learns where the answer really came from)."""
        conn = await super().connect(req, traces, timeout)
        transport = conn.transport
        peer: Any = transport.get_extra_info("peername") if transport is not None else None
        address = str(peer[0]) if peer else ""
        private = bool(address) and (self._policy or self._any_policy).is_private(address)
        if private and self._policy is not None:
            conn.close()
            raise AddressRefused(
                "the provider pointed at a private, loopback or link-local address; refused"
            )
        _LAST_PEER_PRIVATE.set(private)
        return conn


_LAST_PEER_PRIVATE: ContextVar[bool] = ContextVar("iptvsync_last_peer_private", default=False)


def last_peer_private() -> bool:
    """Whether the last connection this task took was to a private address."""
    return _LAST_PEER_PRIVATE.get()


def check_scheme(scheme: str) -> None:
    if scheme.lower() not in ALLOWED_SCHEMES:
        raise ProviderBadResponse("the provider pointed at a URL that is not http(s); refused")

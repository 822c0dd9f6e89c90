"""The aiohttp connector of the provider HTTP layer's pools: the guard's address rules
(``guard.py``) at connect time, for every connection aiohttp opens or reuses.

A module of its own so that aiohttp is imported only when a request needs it: a Stalker
sync's pages all go on the page fast path (``lean.py``), and importing aiohttp cost ~0.1 s of
a CLI sync's start (docs/benchmarks.md, "The page fast path").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import aiohttp
from aiohttp.abc import ResolveResult

from iptvsync.providers.guard import (
    AddressPolicy,
    AddressRefused,
    Pins,
    allowed,
    peer_private,
    pinned,
    set_last_peer_private,
)


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
        host, port = pinned(self._pins, host, port)
        results = await super()._resolve_host(host, port, traces)
        kept = allowed(self._policy, [r["host"] for r in results])
        return [r for r in results if r["host"] in kept]

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
        """A connection (new or from the pool), its peer checked and remembered for
        ``last_peer_private`` (the caller learns where the answer really came from)."""
        conn = await super().connect(req, traces, timeout)
        transport = conn.transport
        peer: Any = transport.get_extra_info("peername") if transport is not None else None
        try:
            private = peer_private(self._policy, self._any_policy, str(peer[0]) if peer else "")
        except AddressRefused:
            conn.close()
            raise
        set_last_peer_private(private)
        return conn

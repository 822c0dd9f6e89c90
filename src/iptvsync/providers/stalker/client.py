"""The Stalker / Ministra portal client, ``StalkerClient``, assembled from its jobs:

- ``options.py``: ``StalkerSettings``, the knobs;
- ``transport.py``: one polite, retried API call (budget, back-off, MAG headers);
- ``session.py``: discovery, handshake, MAC pool, re-authentication (docs/stalker.md §4, §9);
- ``walks.py``: channels, radio, VOD and series walks (``paging.py``), series detail;
- ``probe.py``: the portal's own totals and category lists;
- ``play.py``: play links (``create_link``);
- ``guide.py``: the portal's guide (``guide()`` below).

I/O lives in these; every payload goes through the pure functions of ``parse/``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from iptvsync.providers.base import GuideOffload
from iptvsync.providers.budget import PolitenessBudget
from iptvsync.providers.http import ProviderHttp, safe_url
from iptvsync.providers.stalker.guide import guide_stream
from iptvsync.providers.stalker.identity import StalkerIdentity
from iptvsync.providers.stalker.options import StalkerSettings
from iptvsync.providers.stalker.play import StalkerPlay
from iptvsync.providers.stalker.probe import StalkerProbe
from iptvsync.providers.stalker.transport import with_query
from iptvsync.providers.stalker.walks import StalkerWalks
from iptvsync.records import (
    Page,
    ProgrammeRecord,
    Scope,
)

__all__ = ["StalkerClient", "StalkerSettings"]


class StalkerClient(StalkerWalks, StalkerProbe, StalkerPlay):
    """``ProviderClient`` for Stalker / Ministra MAC portals (stock and reseller families)."""

    whole_lists = False

    concurrent_scopes = True

    # -- ProviderClient ----------------------------------------------------------------------

    @property
    def requests(self) -> int:
        return self._requests

    @property
    def budget(self) -> PolitenessBudget:
        return self._budget

    @property
    def handshakes(self) -> int:
        """Handshakes done so far (the first connect included)."""
        return self._handshakes

    @property
    def family(self) -> str | None:
        return self._family

    def __repr__(self) -> str:
        return (
            f"StalkerClient(url={safe_url(self._config.url)!r}, mac={self._identity.masked_mac!r})"
        )

    async def aclose(self) -> None:
        # The http client is injected: its owner closes it.
        self._closed = True

    def guide(self, offload: GuideOffload | None = None) -> AsyncIterator[ProgrammeRecord] | None:
        """The portal's own guide (``guide.py``); ``options.guide = "none"`` turns it off."""
        if self._guide_mode == "none":
            return None
        self._guide_notes = []
        return guide_stream(self, self._guide_channels, self._guide_notes, offload)

    @property
    def guide_warnings(self) -> list[str]:
        """Warnings of the last guide read (programmes with broken times dropped)."""
        return list(self._guide_notes)

    async def _guide_channels(self) -> dict[str, str]:
        """Channel id → guide key, from this client's channel walk (walked now if none ran)."""
        if not self._channel_keys:

            async def ignore(page: Page) -> bool:
                return True

            await self.walk(Scope.CHANNELS, ignore)
        return dict(self._channel_keys)

    # -- what guide.py uses -------------------------------------------------------------------

    @property
    def identity(self) -> StalkerIdentity:
        return self._identity

    @property
    def settings(self) -> StalkerSettings:
        return self._settings

    @property
    def http(self) -> ProviderHttp:
        return self._http

    async def connect(self) -> None:
        await self._ensure_session()

    def count_request(self) -> None:
        self._requests += 1

    def request_parts(self, params: Mapping[str, str]) -> tuple[str, dict[str, str], float]:
        """URL, headers and timeout of one API call with the current session."""
        url = with_query(self._require_endpoint().url, {**params, "JsHttpRequest": "1-xml"})
        return url, self._headers(self._token), self._settings.request_timeout_s

    async def call(self, params: Mapping[str, str]) -> Any:
        """One API call with the usual retries and re-authentication."""
        return await self._call(params)

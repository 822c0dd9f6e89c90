"""Building the right client for a provider kind."""

from __future__ import annotations

from iptvsync.errors import ValidationFailed
from iptvsync.providers.base import ProviderClient, ProviderConfig
from iptvsync.providers.http import ProviderHttp
from iptvsync.settings import Settings

#: The provider protocols iptvsync speaks (``providers.kind``).
PROVIDER_KINDS = ("stalker", "xtream", "m3u")


def make_client(config: ProviderConfig, http: ProviderHttp, settings: Settings) -> ProviderClient:
    """A client for ``config.kind`` on the shared ``http`` client.

    Imports are local so that a deployment syncing one kind never loads the others.
    """
    if config.kind == "stalker":
        from iptvsync.providers.stalker.client import StalkerClient

        return StalkerClient(config, http, settings=settings)
    if config.kind == "xtream":
        from iptvsync.providers.xtream.client import XtreamClient

        return XtreamClient(config, http, settings=settings)
    if config.kind == "m3u":
        from iptvsync.providers.m3u.client import M3uClient

        return M3uClient(config, http, settings=settings)
    raise ValidationFailed(f"unknown provider kind {config.kind!r}", detail={"kind": config.kind})

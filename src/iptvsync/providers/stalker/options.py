"""The Stalker client's knobs, read from a provider's ``options``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from iptvsync.errors import ValidationFailed
from iptvsync.providers.stalker.identity import StalkerIdentity
from iptvsync.settings import Settings

_IDENTITY_KEYS = frozenset(f.name for f in fields(StalkerIdentity)) - {"mac"}


@dataclass(frozen=True, slots=True)
class StalkerSettings:
    """Client knobs; ``from_options`` reads them from a provider's ``options``."""

    request_timeout_s: float = 15.0
    #: create_link can be slow (IPTVnator uses 30 s).
    link_timeout_s: float = 30.0
    #: Attempts per request for 429 / 5xx / timeouts / busy pages (1 = no retry).
    max_attempts: int = 5
    #: Attempts for a malformed body (a hostile payload stays malformed).
    bad_body_attempts: int = 2
    #: get_all_channels answers everything at once; hand it to the engine in slices.
    channel_chunk: int = 1000
    max_ahead_pages: int = 256
    #: Pages sampled to estimate the series share of a stock VOD list in ``probe``.
    probe_sample_pages: int = 4
    #: Pages of seasons / episodes read per series before giving up.
    detail_page_cap: int = 50
    #: Hours of the portal's all-channels guide asked (``get_epg_info&period=``).
    guide_period_h: int = 72
    #: Programmes asked per channel from the short EPG (portals without the bulk guide).
    guide_short_size: int = 10
    #: Channels whose short EPG is asked at once (within the politeness budget).
    guide_workers: int = 4
    #: The all-channels guide is one large answer a portal builds before sending it.
    guide_timeout_s: float = 120.0

    @classmethod
    def from_options(
        cls, options: Mapping[str, Any], app: Settings | None = None
    ) -> StalkerSettings:
        """Defaults, then the app settings (``request_timeout_s``), then provider options."""
        values: dict[str, Any] = {}
        if app is not None:
            values["request_timeout_s"] = float(app.request_timeout_s)
        defaults = cls()
        for f in fields(cls):
            if options.get(f.name) is not None:
                default = getattr(defaults, f.name)
                try:
                    values[f.name] = type(default)(options[f.name])
                except (TypeError, ValueError) as exc:
                    raise ValidationFailed(
                        f"bad provider option {f.name!r}", detail={"field": f.name}
                    ) from exc
        return cls(**values)

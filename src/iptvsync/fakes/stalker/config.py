"""The fake portal's behaviour switches (``StalkerFakeConfig``) and its fixed constants:
the default MAC, the load.php paths of each family, the stock link-id offset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

DEFAULT_MAC = "00:1A:79:12:34:56"
STOCK_PATHS = ("/stalker_portal/server/load.php", "/server/load.php")
RESELLER_PATHS = (
    "/portal.php",
    "/c/portal.php",
    "/stalker_portal/portal.php",
    "/stalker_portal/server/load.php",
)
LINK_OFFSET = 200  # stock channel cmds carry a link id (ch_id + 200), not the channel id (§5.5)


@dataclass
class StalkerFakeConfig:
    """Behaviour switches. Every field may be changed while the app runs."""

    family: str = "stock"  # "stock" | "reseller"
    page_size: int | None = None  # None: 14 (both families); XC_VM "modern" theme uses 10
    mac_allowed: tuple[str, ...] | None = (DEFAULT_MAC,)  # registered MACs; None: any MAC
    account_status: int = 0  # get_profile status: 0 ok, 1 disabled, 2 needs do_auth
    login: str = "user"  # do_auth credentials when account_status == 2
    password: str = "pass"
    expires_at: datetime | None = datetime(2027, 3, 5, tzinfo=UTC)  # None: "Unlimited"
    token_free: bool = False  # no token checks at all (some panels)
    latency_ms: float = 0.0  # added to every portal request
    # Capacity model: above `capacity` requests in flight latency scales with
    # in_flight / capacity; above `hard_limit` (default 2 x capacity) the answer is HTTP 429.
    capacity: int | None = None
    hard_limit: int | None = None
    rate_limit_per_s: float | None = None  # token bucket (burst = rate); over it: HTTP 429
    html_429: bool = False  # nginx HTML body on 429 instead of an empty one
    html_403: bool = False  # Cloudflare-style HTML 403 on every portal request
    error_rate: float = 0.0  # share of portal requests answered 5xx (seeded RNG)
    kick_after: int | None = None  # "another device" takes the session after N content calls
    p0_returns_page1: bool = True  # p=0/absent is page 1 (real); False: p=0 gives no data
    repeat_page1_after: int | None = None  # bug mode: any p past this page returns page 1
    hide_adult_from_all: bool = True  # censored categories missing from "*" and get_all_channels
    get_all_channels_enabled: bool = True  # False: empty data (XC_VM without "load all")
    ad_playlist: bool = False  # create_link answers a list: advert(s) first, real link last
    empty_stream_bug: bool = False  # reseller live create_link returns "stream=" empty
    debug_text: bool | None = None  # the "text" key; None: stock yes, reseller no
    validate_mac_format: bool | None = None  # None: stock yes (00:1A:79 OUI), reseller no
    pin_device_id: bool = False  # stock: first device_id/device_id2 pinned to the MAC
    ban_without_sn: bool = False  # XC_VM: get_profile without sn bans the IP (HTTP 404)
    gated_streams: bool = False  # streams answer 403 without the MAG User-Agent and MAC cookie
    link_ttl_s: float = 5.0  # lifetime of create_link temporary URLs
    image_origin: str | None = None  # absolute image URLs' origin; None: the request's
    xc_username: str = "fakeuser"  # appear in reseller VOD links, as real panels put them
    xc_password: str = "fakepass"
    version: str = "5.3.1"
    seed: int = 0  # tokens, links and error injection

    @property
    def stock(self) -> bool:
        return self.family == "stock"

    @property
    def effective_page_size(self) -> int:
        return self.page_size or 14

    @property
    def effective_hard_limit(self) -> int | None:
        if self.hard_limit is not None:
            return self.hard_limit
        return None if self.capacity is None else 2 * self.capacity

    @property
    def with_text(self) -> bool:
        return self.stock if self.debug_text is None else self.debug_text

    @property
    def check_mac_format(self) -> bool:
        return self.stock if self.validate_mac_format is None else self.validate_mac_format

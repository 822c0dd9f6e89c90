"""The fake portal's behaviour switches (``StalkerFakeConfig``) and its fixed constants:
the default MAC, the load.php paths of each family, the stock link-id offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    handshake_refused: bool = False  # the handshake answered as an auth failure (token-free panels)
    latency_ms: float = 0.0  # added to every portal request
    # More latency for some actions ("itv.get_genres": 300.0): a portal whose list of one
    # module is slow to build (its answer comes after others asked later).
    action_latency_ms: dict[str, float] = field(default_factory=dict)
    # HTTP statuses for some actions ("vod.get_categories": 500): one module of the portal
    # broken while the rest answers.
    action_status: dict[str, int] = field(default_factory=dict)
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
    # -- quirks of independent portals (issue 16; each one seen in the field) ---------------
    cookie_decode: bool = True  # False: the mac cookie is read raw (no URL-decoding)
    mac_from_query: bool | None = None  # ?mac= accepted; None: reseller yes, stock no
    # Which parameter a list filters by; the other is ignored ("both": either one works).
    # A box sends genre= for ITV and category= (with genre=*) for VOD (docs/stalker.md §5.3, §6.2).
    itv_filter: str = "genre"  # "genre" | "category" | "both"
    vod_filter: str | None = None  # None: stock "category", reseller "both"
    series_module: bool | None = None  # the type=series module; None: reseller yes, stock no
    # Season rows of the series module: "reseller" ({"id":"55:2",...}) or "dash"
    # ({"id":"20111-s1","name":"Season 1","cmd":..,"series":[1..6]}, no is_season) or
    # "broken" (rows nothing can be read from).
    season_shape: str = "reseller"
    # The vod movie_id drill-down answers with the series module's season rows (a stock
    # portal fronted by a panel): no is_season, no season_number.
    drill_down_as_series: bool = False
    empty_page: str = "object"  # an empty page: "object" (data []), "false" (js false), "list" ([])
    claimed_page_size: int | None = None  # max_page_items the portal claims (pages hold another)
    portrait_covers: bool = False  # VOD rows carry a portrait `pic` and a landscape screenshot
    expired_refused: bool = True  # expires_at in the past: get_profile refuses (status 1)
    # Per-MAC account states: {"00:1A:79:..": "expired" | "disabled"} (a MAC pool's members)
    mac_states: dict[str, str] = field(default_factory=dict)
    # The radio module (type=radio): radio channels leave the ITV lists for their own module,
    # as on real portals (ids of another table). False: they stay in ITV with a "radio" key.
    radio_module: bool = False
    # -- the programme guide (fakes/stalker/epg.py) ---------------------------------------------
    epg_info: bool = True  # get_epg_info answers (False: unknown action, short EPG only)
    #: "500": guide actions answer HTTP 500; "timeout": slow; "truncate": the all-channels
    #: answer ends half-way through its channels
    epg_fail: str | None = None
    #: Render the all-channels guide (72 h, UTC: the client's defaults) when the portal
    #: starts and serve it from memory: the guide's CPU is then the portal's machine's, as a
    #: real portal's is, not the client's (``bench/sync_stalker.py --guide-prerendered``).
    epg_prerendered: bool = False
    epg_delay_s: float = 30.0  # how slow get_epg_info is with epg_fail="timeout"
    epg_timestamps: bool = True  # False: only the local time strings, no Unix timestamps
    epg_broken_every: int | None = None  # every Nth programme has broken times
    # -- the TV archive (catch-up; fakes/stalker/archive.py) -------------------------------------
    archive_link: str = "storage"  # create_link's form: "storage" | "flussonic" | "position"
    archive_error: str | None = None  # create_link answers this error ("limit", "link_fault")
    archive_link_ttl_s: float = 8 * 3600.0  # storage tokens (stock keeps them 8 hours)
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
    def query_mac(self) -> bool:
        return (not self.stock) if self.mac_from_query is None else self.mac_from_query

    @property
    def effective_vod_filter(self) -> str:
        return self.vod_filter or ("category" if self.stock else "both")

    @property
    def has_series_module(self) -> bool:
        return (not self.stock) if self.series_module is None else self.series_module

    @property
    def with_text(self) -> bool:
        return self.stock if self.debug_text is None else self.debug_text

    @property
    def check_mac_format(self) -> bool:
        return self.stock if self.validate_mac_format is None else self.validate_mac_format

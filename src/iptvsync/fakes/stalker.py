"""A fake Stalker / Ministra "MAC portal" (a Starlette app) over a fake ``Catalogue``.

It speaks both server families of ``shared/reference/stalker-portal-api.md`` (§0):

- ``family="stock"`` (Infomir Ministra): ``/stalker_portal/server/load.php`` and
  ``/server/load.php``; plain-text ``Unauthorized request.`` / ``Access denied.`` /
  ``Authorization failed.``; the token is bound to the MAC by ``get_profile`` and a handshake
  that presents the bound token gets it back (§4.1-4.2); numbers as strings (``total_items``
  too) and the ``text`` debug key; bare logo file names served under
  ``/stalker_portal/misc/logos/<size>/``; series are VOD items with ``is_series="1"`` walked by
  ``movie_id``/``season_id``/``episode_id`` (§7.B); relative ``screenshot_uri``; ``cmd``
  ``/media/<id>.mpg`` resolved by ``create_link``.
- ``family="reseller"`` (Xtream-Codes / XUI / XC_VM panels): ``/portal.php`` (also ``/c/`` and
  ``/stalker_portal/`` paths); an EMPTY body on any auth failure; every handshake issues a new
  token and kills the old ones; ints; absolute logo and poster URLs; base64 JSON ``cmd``s; the
  ``type=series`` module (§7.C); ``create_link`` for live channels with keys outside ``js``.

Quirk switches live in ``StalkerFakeConfig`` and can be flipped at run time (tests flip them
between calls) through ``app.state.portal`` or the JSON control API under ``/_control/``.

Everything stays fast: ordered lists are built once per catalogue revision and config and
sliced per page; pages are serialised with orjson. The fake reads the clock only for latency,
rate limits, link expiry and the EPG; ids, tokens and error injection come from seeded RNGs.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import heapq
import html
import math
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from iptvsync.fakes.catalogue import (
    Catalogue,
    FakeChannel,
    FakeMovie,
    FakeSeries,
    episode_owner,
    seasons,
)

DEFAULT_MAC = "00:1A:79:12:34:56"
STOCK_PATHS = ("/stalker_portal/server/load.php", "/server/load.php")
RESELLER_PATHS = (
    "/portal.php",
    "/c/portal.php",
    "/stalker_portal/portal.php",
    "/stalker_portal/server/load.php",
)
LINK_OFFSET = 200  # stock channel cmds carry a link id (ch_id + 200), not the channel id (§5.5)
_MAC_FORMAT = re.compile(r"^00:1A:79:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2}$")
_TEXT = (
    "generated in: 0.011s; query counter: 8; cache hits: 0; cache miss: 0; "
    "php errors: 0; sql errors: 0;"
)
# Exempt from the token check on stock servers (§2); Access denied. has a wider exemption.
_TOKEN_EXEMPT = {"handshake", "get_profile", "get_localization", "do_auth"}
_DENIED_EXEMPT = _TOKEN_EXEMPT | {"get_events", "get_modules", "get_main_info"}
_CLOUDFLARE_HTML = (
    b"<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head>"
    b"<body><h1>Sorry, you have been blocked</h1></body></html>"
)
_HTML_429 = b"<html><head><title>429 Too Many Requests</title></head><body><center><h1>429 Too Many Requests</h1></center><hr><center>nginx</center></body></html>"  # noqa: E501
_HTML_5XX = b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"  # noqa: E501
_PROGRAMMES = (
    "News",
    "World Report",
    "Morning Show",
    "Live: Football",
    "Movie: The Quiet Harbor",
    "Documentary: Oceans",
    "Cartoons",
    "Talk Tonight",
    "Weather",
    "Cooking with Amélie",
    "Series: Crossroads",
    "Music Hits",
)


def _fields(spec: str) -> dict[str, Any]:
    """Constant row fields from "key=value" words (``#n`` is an int, else a string)."""
    out: dict[str, Any] = {}
    for word in spec.split():
        key, _, value = word.partition("=")
        out[key] = int(value[1:]) if value.startswith("#") else value
    return out


# The many constant columns of real rows (§5.4, §6.3), kept so pages weigh what real ones do.
_CHANNEL_STATIC = _fields(
    "cost=0 count=0 base_ch=1 service_id= bonus_ch=0 volume_correction=0 mc_cmd= "
    "wowza_tmp_link=0 wowza_dvr=0 use_http_tmp_link=1 monitoring_status=1 enable_monitoring=0 "
    "enable_wowza_load_balancing=0 cmd_1= cmd_2= cmd_3= correct_time=0 allow_pvr= "
    "allow_local_pvr=1 allow_remote_pvr=0 allow_local_timeshift=1 nginx_secure_link=0 locked=0 "
    "lock=#0 fav=#0 genres_str= open=#1 pvr=#1 use_load_balancing=#0"
)
_CMD_STATIC = _fields(
    "priority=0 status=1 use_http_tmp_link=1 wowza_tmp_link=0 user_agent_filter= "
    "use_load_balancing=0 nginx_secure_link=0 flussonic_tmp_link=0"
)
_VOD_STATIC = _fields(
    "owner= old_name= fname= pic= cost=0 file= protocol= rtsp_url= hd=#1 volume_correction=0 "
    "genre_id=0 cat_genre_id_1=0 accessed=1 status=1 count=0 rating_count_imdb=0 rating_mpaa= "
    "country= year_end=0 lock=#0 fav=#0 for_rent=#0 position=#0 low_quality=#0"
)


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


@dataclass
class _Session:
    """What the portal stores per MAC."""

    token: str = ""  # stock: bound by get_profile; reseller: the last handshake's
    calls: int = 0  # content calls since the token was bound (kick_after)
    authed: bool = False  # do_auth passed (account_status 2)
    device_ids: tuple[str, str] | None = None


@dataclass
class FakeStats:
    requests: int = 0
    by_action: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    sent_429: int = 0
    sent_5xx: int = 0
    auth_failures: int = 0
    handshakes: int = 0
    profiles: int = 0
    kicks: int = 0
    items_served: int = 0
    in_flight: int = 0
    max_in_flight: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "by_action": dict(self.by_action),
            "by_status": {str(k): v for k, v in self.by_status.items()},
            "sent_429": self.sent_429,
            "sent_5xx": self.sent_5xx,
            "auth_failures": self.auth_failures,
            "handshakes": self.handshakes,
            "profiles": self.profiles,
            "kicks": self.kicks,
            "items_served": self.items_served,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
        }


class _AuthFailure(Exception):
    """Raised inside a handler; answered with the family's auth-failure body."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class FakeStalkerPortal:
    """The portal's state and behaviour; ``app.state.portal`` for in-process tests."""

    def __init__(self, catalogue: Catalogue, config: StalkerFakeConfig | None = None) -> None:
        self.catalogue = catalogue
        self.config = config or StalkerFakeConfig()
        self.stats = FakeStats()
        self.sessions: dict[str, _Session] = {}
        self.banned: set[str] = set()
        self._rng = random.Random(self.config.seed)
        self._error_rng = random.Random(self.config.seed + 1)
        self._links: dict[str, tuple[float, str, int]] = {}
        self._lists: dict[tuple[Any, ...], Any] = {}
        self._lists_revision = -1
        self._bucket = (0.0, 0.0)  # (tokens, last refill)

    # -- control (Python API; the /_control routes call these) ---------------------------------

    def add(self, kind: str, count: int) -> list[int]:
        return [item.id for item in self.catalogue.add(kind, count)]

    def remove(self, kind: str, ids: Iterable[int]) -> int:
        return self.catalogue.remove(kind, ids)

    def truncate(self, kind: str, keep: int) -> int:
        return self.catalogue.truncate(kind, keep)

    def configure(self, **changes: Any) -> StalkerFakeConfig:
        names = {f.name for f in dataclasses.fields(StalkerFakeConfig)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        for key, value in changes.items():
            if key == "mac_allowed" and value is not None:
                value = tuple(str(v).upper() for v in value)
            if key == "expires_at" and isinstance(value, str):
                value = datetime.fromisoformat(value)
            setattr(self.config, key, value)
        return self.config

    def stats_dict(self) -> dict[str, Any]:
        return self.stats.to_dict()

    def reset_stats(self) -> None:
        in_flight = self.stats.in_flight
        self.stats = FakeStats(in_flight=in_flight, max_in_flight=in_flight)

    def kick(self, mac: str | None = None) -> int:
        """Simulate another device taking the session of ``mac`` (all MACs when None)."""
        targets = [mac.upper()] if mac else list(self.sessions)
        for key in targets:
            self.sessions.setdefault(key, _Session()).token = self._token()
            self.stats.kicks += 1
        return len(targets)

    # -- request entry ---------------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        cfg = self.config
        paths = STOCK_PATHS if cfg.stock else RESELLER_PATHS
        if request.url.path not in paths:
            return Response(b"<h1>404 Not Found</h1>", 404, media_type="text/html")
        stats = self.stats
        stats.requests += 1
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            response = await self._guarded(request)
        finally:
            self.stats.in_flight -= 1
        self.stats.by_status[response.status_code] += 1
        return response

    async def _guarded(self, request: Request) -> Response:
        cfg, stats = self.config, self.stats
        client = request.client.host if request.client else ""
        if client in self.banned:
            return Response(b"", 404)
        if cfg.html_403:
            return Response(_CLOUDFLARE_HTML, 403, media_type="text/html")
        hard_limit = cfg.effective_hard_limit
        if (hard_limit is not None and stats.in_flight > hard_limit) or not self._take_rate():
            stats.sent_429 += 1
            body = _HTML_429 if cfg.html_429 else b""
            return Response(body, 429, media_type="text/html")
        delay = cfg.latency_ms
        if cfg.capacity:
            delay *= max(1.0, stats.in_flight / cfg.capacity)
        if delay > 0:
            await asyncio.sleep(delay / 1000)
        if cfg.error_rate > 0 and self._error_rng.random() < cfg.error_rate:
            stats.sent_5xx += 1
            status = self._error_rng.choice((500, 502, 503))
            return Response(_HTML_5XX, status, media_type="text/html")
        params: dict[str, str] = dict(request.query_params)
        if request.method == "POST":
            # Stock PHP reads $_REQUEST, so form-encoded POSTs work too (§2). Parsed by hand:
            # Starlette's form() needs python-multipart.
            raw = (await request.body()).decode("utf-8", "replace")
            params.update(parse_qsl(raw, keep_blank_values=True))
        module, action = params.get("type", ""), params.get("action", "")
        stats.by_action[f"{module}.{action}"] += 1
        try:
            return self._dispatch(request, params, module, action)
        except _AuthFailure as failure:
            stats.auth_failures += 1
            return self._auth_failure_response(failure.text)

    def _take_rate(self) -> bool:
        rate = self.config.rate_limit_per_s
        if not rate:
            return True
        now = time.monotonic()
        tokens, last = self._bucket
        tokens = min(rate, tokens + (now - last) * rate) if last else rate
        if tokens < 1.0:
            self._bucket = (tokens, now)
            return False
        self._bucket = (tokens - 1.0, now)
        return True

    # -- auth --------------------------------------------------------------------------------

    def _auth_failure_response(self, text: str) -> Response:
        # Reseller panels answer every auth problem with an empty 200 (§0, §2 step 2).
        body = text.encode() if self.config.stock else b""
        return Response(body, 200, media_type="text/html")

    def _mac_of(self, request: Request, params: dict[str, str]) -> str:
        mac = request.cookies.get("mac", "")
        if not mac and not self.config.stock:
            mac = params.get("mac", "")  # XC panels also take ?mac= (§3)
        return unquote(mac).strip().upper()

    def _registered(self, mac: str) -> bool:
        allowed = self.config.mac_allowed
        if not mac:
            return False
        if self.config.check_mac_format and not _MAC_FORMAT.match(mac):
            return False
        return allowed is None or mac in allowed

    def _authorize(self, request: Request, mac: str, module: str, action: str) -> _Session:
        """Check MAC and token for a non-handshake call; return the MAC's session."""
        cfg = self.config
        session = self.sessions.setdefault(mac, _Session()) if mac else _Session()
        if cfg.stock:
            if not mac and module != "stb":
                raise _AuthFailure("Unauthorized request.")
            denied = not self._registered(mac) or cfg.account_status == 1
            if cfg.account_status == 2 and not session.authed and action not in _DENIED_EXEMPT:
                denied = True
            if denied and action not in _DENIED_EXEMPT:
                raise _AuthFailure("Access denied.")
            if cfg.token_free or action in _TOKEN_EXEMPT:
                return session
            if session.token and _bearer(request) != session.token:
                raise _AuthFailure("Authorization failed.")
            return session
        if action == "get_profile" and not self._registered(mac):
            return session  # answered with the template profile, status 1 (§4.2)
        if not self._registered(mac) or (cfg.account_status == 1 and action != "get_profile"):
            raise _AuthFailure("")
        if cfg.account_status == 2 and not session.authed and action not in _TOKEN_EXEMPT:
            raise _AuthFailure("")
        if cfg.token_free or action == "do_auth":
            return session
        if not session.token or _bearer(request) != session.token:
            raise _AuthFailure("")  # no handshake yet, or a rotated-away token
        return session

    def _count_call(self, session: _Session) -> None:
        limit = self.config.kick_after
        session.calls += 1
        if limit is not None and session.calls >= limit:
            # Another box with this MAC logged in: our token is dead from the next call on.
            session.token = self._token()
            session.calls = 0
            self.stats.kicks += 1

    def _token(self) -> str:
        return f"{self._rng.getrandbits(128):032X}"

    # -- dispatch ----------------------------------------------------------------------------

    def _dispatch(
        self, request: Request, params: dict[str, str], module: str, action: str
    ) -> Response:
        mac = self._mac_of(request, params)
        if module == "stb" and action == "handshake":
            return self._handshake(request, params, mac)
        session = self._authorize(request, mac, module, action)
        ctx = _Ctx(self, request, params, mac)
        if module == "stb":
            return self._stb(ctx, session, action)
        handler = _HANDLERS.get((module, action))
        if module == "series" and self.config.stock:
            handler = None  # stock Ministra has no type=series module (§7.B)
        if handler is None:
            # Unknown actions: stock answers an empty js (or PHP noise), panels the same.
            return ctx.reply([])
        if action not in ("get_events", "get_main_info"):
            self._count_call(session)
        return handler(ctx)

    def _handshake(self, request: Request, params: dict[str, str], mac: str) -> Response:
        cfg = self.config
        self.stats.handshakes += 1
        ctx = _Ctx(self, request, params, mac)
        if not cfg.stock and not self._registered(mac):
            return ctx.reply({"token": None})  # XC_VM, unregistered MAC (§4.1)
        session = self.sessions.setdefault(mac, _Session()) if mac else _Session()
        presented = params.get("token", "")
        if cfg.stock and presented and presented == session.token:
            token = session.token  # stock handshake is idempotent for the bound token
        else:
            token = self._token()
            if not cfg.stock:
                session.token = token  # reseller: every handshake rotates, old tokens die
                session.calls = 0
        random_hex = f"{self._rng.getrandbits(160):040x}"
        return ctx.reply({"token": token, "random": random_hex})

    def _stb(self, ctx: _Ctx, session: _Session, action: str) -> Response:
        cfg = self.config
        if action == "get_profile":
            return self._get_profile(ctx, session)
        if action == "do_auth":
            ok = ctx.params.get("login") == cfg.login and ctx.params.get("password") == cfg.password
            session.authed = session.authed or ok
            return ctx.reply(ok)
        if action == "get_localization":
            return ctx.reply({"lang": "en", "time_format": "H:i", "date_format": "d.m.Y"})
        if action == "get_modules":
            return ctx.reply(
                {"all_modules": ["tv", "vclub", "sclub", "radio"], "template": "default"}
            )
        if action == "get_preload_images":
            return ctx.reply([])
        if action == "log":
            return ctx.reply(1)
        return ctx.reply([])

    def _get_profile(self, ctx: _Ctx, session: _Session) -> Response:
        cfg, params, mac = self.config, ctx.params, ctx.mac
        self.stats.profiles += 1
        if cfg.ban_without_sn and not params.get("sn"):
            # XC_VM: get_profile without sn puts the IP in blocked_ips; 404 from now on (§3).
            if ctx.request.client:
                self.banned.add(ctx.request.client.host)
            return Response(b"", 404)
        if cfg.stock and cfg.check_mac_format and not _MAC_FORMAT.match(mac):
            return ctx.reply({"status": 1})
        if not self._registered(mac):
            if cfg.stock:
                return ctx.reply(
                    {"status": 1, "msg": "access denied", "block_msg": "STB is not registered."}
                )
            return ctx.reply(self._profile(mac, status=1))
        if cfg.pin_device_id:
            ids = (params.get("device_id", ""), params.get("device_id2", ""))
            if session.device_ids is None and any(ids):
                session.device_ids = ids
            elif session.device_ids is not None and ids != session.device_ids:
                return ctx.reply(
                    {
                        "status": 1,
                        "msg": "device conflict - device_id mismatch",
                        "block_msg": "Your STB is damaged.<br/> Call the provider.",
                    }
                )
        if cfg.stock and not cfg.token_free:
            # get_profile binds the presented token to the MAC (§4.2): another device's
            # session dies here.
            session.token = _bearer(ctx.request)
            session.calls = 0
        if cfg.account_status == 1:
            profile = self._profile(mac, status=1)
            profile["msg"] = "account disabled"
            profile["block_msg"] = "Your account is disabled.<br/> Call the provider."
            return ctx.reply(profile)
        if cfg.account_status == 2 and not session.authed:
            return ctx.reply(
                {
                    "status": 2,
                    "template": "default",
                    "info": "Use your username and password to log in.",
                }
            )
        return ctx.reply(self._profile(mac, status=0))

    def _profile(self, mac: str, status: int) -> dict[str, Any]:
        cfg = self.config
        expiry = "0000-00-00 00:00:00"
        phone = ""
        if cfg.expires_at is not None:
            expiry = cfg.expires_at.strftime("%Y-%m-%d %H:%M:%S")
            if not cfg.stock:
                phone = _xc_date(cfg.expires_at)
        elif not cfg.stock:
            phone = "Unlimited"
        return {
            "id": "122342" if cfg.stock else 122342,
            "name": "122342",
            "mac": mac,
            "status": status,
            "blocked": "0",
            "login": "",
            "fname": "",
            "phone": phone,  # XC puts the expiry here
            "ls": "",
            "stb_type": "MAG250",
            "locale": "en_GB.utf8",
            "stb_lang": "en",
            "watchdog_timeout": 120 if cfg.stock else 97,
            "timeslot": 40,
            "last_itv_id": 0,
            "tariff_plan_id": "0",
            "expire_billing_date": expiry,
            "storages": [],
            "force_ch_link_check": False,
            "update_url": "",
            "allowed_stb_types": ["mag200", "mag250", "mag254", "mag322"],
        }

    # -- ordered lists, built once per catalogue revision ---------------------------------------

    def _cached(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        if self._lists_revision != self.catalogue.revision:
            self._lists.clear()
            self._lists_revision = self.catalogue.revision
        value = self._lists.get(key)
        if value is None:
            value = self._lists[key] = build()
        return value

    def adult_ids(self) -> frozenset[int]:
        return self._cached(
            ("adult",),
            lambda: frozenset(c.id for c in self.catalogue.categories if c.censored),
        )

    def channel_list(self, genre: str, sortby: str, hide_adult: bool) -> list[FakeChannel]:
        def build_all() -> list[FakeChannel]:
            key = _channel_name_key if sortby == "name" else _channel_number_key
            return sorted(self.catalogue.channels, key=key)

        ordered: list[FakeChannel] = self._cached(("itv", sortby), build_all)
        if genre == "*":
            if not hide_adult:
                return ordered
            adult = self.adult_ids()
            return self._cached(
                ("itv", sortby, "*"), lambda: [c for c in ordered if c.category_id not in adult]
            )
        groups = self._cached(("itv-groups", sortby), lambda: _group(ordered))
        return groups.get(_int_or_none(genre), [])

    def vod_list(
        self, kinds: str, category: str, sortby: str, hide_adult: bool
    ) -> list[FakeMovie | FakeSeries]:
        """Movies and/or series (``kinds`` "movie", "series" or "both") in portal order."""

        def build_all() -> list[FakeMovie | FakeSeries]:
            parts: list[list[Any]] = []
            if kinds in ("movie", "both"):
                parts.append(self._sorted("movie", sortby))
            if kinds in ("series", "both"):
                parts.append(self._sorted("series", sortby))
            if len(parts) == 1:
                return parts[0]
            key = _SORT_KEYS.get(sortby, _added_desc)
            return list(heapq.merge(*parts, key=key))

        ordered: list[Any] = self._cached(("vod", kinds, sortby), build_all)
        if category == "*":
            if not hide_adult:
                return ordered
            adult = self.adult_ids()
            return self._cached(
                ("vod", kinds, sortby, "*"),
                lambda: [i for i in ordered if i.category_id not in adult],
            )
        groups = self._cached(("vod-groups", kinds, sortby), lambda: _group(ordered))
        return groups.get(_int_or_none(category), [])

    def _sorted(self, kind: str, sortby: str) -> list[Any]:
        if sortby == "added":
            return self.catalogue.newest_first(kind)
        return sorted(self.catalogue.items(kind), key=_SORT_KEYS.get(sortby, _name_key))

    def newest_added(self) -> datetime:
        """The portal's "now" for the today/yesterday labels: its newest title."""

        def build() -> datetime:
            stamps = [i.added for i in self.catalogue.newest_first("movie")[:1]]
            stamps += [i.added for i in self.catalogue.newest_first("series")[:1]]
            return max(stamps, default=datetime(2026, 1, 1, tzinfo=UTC))

        return self._cached(("newest",), build)

    # -- temporary links ---------------------------------------------------------------------

    def new_link(self, kind: str, item_id: int) -> str:
        now = time.monotonic()
        if len(self._links) > 50_000:
            self._links = {k: v for k, v in self._links.items() if v[0] > now}
        key = f"{self._rng.getrandbits(128):032x}"
        self._links[key] = (now + self.config.link_ttl_s, kind, item_id)
        return key

    def link_valid(self, key: str) -> bool:
        entry = self._links.get(key)
        return entry is not None and entry[0] > time.monotonic()


# ---------------------------------------------------------------------------------------------
# per-request context and payload builders


class _Ctx:
    __slots__ = ("cfg", "mac", "origin", "params", "portal", "request")

    def __init__(
        self, portal: FakeStalkerPortal, request: Request, params: dict[str, str], mac: str
    ) -> None:
        self.portal = portal
        self.cfg = portal.config
        self.request = request
        self.params = params
        self.mac = mac
        self.origin = f"{request.url.scheme}://{request.url.netloc}"

    @property
    def image_origin(self) -> str:
        return self.cfg.image_origin or self.origin

    def num(self, value: int) -> int | str:
        """Stock servers return numbers as strings; panels mostly as ints (§0)."""
        return str(value) if self.cfg.stock else value

    def reply(
        self, js: Any, *, text: str | None = None, extra: dict[str, Any] | None = None
    ) -> Response:
        body: dict[str, Any] = {"js": js}
        if extra:
            body.update(extra)
        if self.cfg.with_text:
            body["text"] = (text or "") + _TEXT
        media = "application/json" if self.cfg.stock else "text/javascript;charset=UTF-8"
        return Response(orjson.dumps(body), 200, media_type=media)

    def page(
        self, items: list[Any], build: Callable[[Any], dict[str, Any]], total: int | None = None
    ) -> Response:
        cfg = self.cfg
        size = cfg.effective_page_size
        p = _int_or_none(self.params.get("p", "")) or 0
        cur_page = selected = 0
        if p <= 0:
            # "Default page" mode (§8): page 1 on VOD and XC; cur_page/selected_item filled.
            if cfg.p0_returns_page1:
                p, cur_page, selected = 1, 1, 1
            else:
                p = -1
        if cfg.repeat_page1_after is not None and p > cfg.repeat_page1_after:
            p = 1  # the "ignores p, repeats page 1" bug (§8)
        chunk = items[(p - 1) * size : p * size] if p >= 1 else []
        self.portal.stats.items_served += len(chunk)
        count = len(items) if total is None else total
        return self.reply(
            {
                "total_items": self.num(count),
                "max_page_items": size,
                "selected_item": selected,
                "cur_page": cur_page,
                "data": [build(item) for item in chunk],
            }
        )

    def category_param(self, name: str) -> str | None:
        value = self.params.get(name)
        if value is None or value == "":
            # Stock treats a missing filter as "all"; some panels answer an empty list (§5.3).
            return "*" if self.cfg.stock else None
        return value

    # -- channels --------------------------------------------------------------------------------

    def channel(self, ch: FakeChannel) -> dict[str, Any]:
        stock = self.cfg.stock
        censored = ch.category_id in self.portal.adult_ids()
        added = _stamp(ch.added)
        if stock:
            link = ch.id + LINK_OFFSET
            cmd = f"ffrt http://localhost/ch/{link}"
            logo = ch.logo
        else:
            link = ch.id
            cmd = f"ffmpeg http://localhost/ch/{ch.id}_"
            logo = f"{self.image_origin}/images/{ch.logo}" if ch.logo else ""
        return {
            **_CHANNEL_STATIC,
            "id": self.num(ch.id),
            "name": ch.name,
            "number": str(ch.number),
            "censored": ("1" if censored else "0") if stock else (1 if censored else ""),
            "cmd": cmd,
            "hd": "1" if "HD" in ch.name or "ᴴᴰ" in ch.name else "0",
            "xmltv_id": ch.xmltv_id or "",
            "enable_tv_archive": self.num(1 if ch.archive else 0),
            "logo": logo,
            "modified": added,
            "tv_archive_duration": self.num(ch.archive_days * 24),
            "archive": 1 if ch.archive else 0,
            "cur_playing": "[No channel info]",
            "epg": [],
            "tv_genre_id": self.num(ch.category_id),
            "added": added,
            "radio": self.num(1 if ch.radio else 0),  # not in the reference: a fake-ism
            "cmds": [{**_CMD_STATIC, "id": str(link), "ch_id": str(ch.id), "url": cmd}],
        }

    # -- VOD ---------------------------------------------------------------------------------

    def vod_item(self, item: FakeMovie | FakeSeries) -> dict[str, Any]:
        stock = self.cfg.stock
        movie = item if isinstance(item, FakeMovie) else None
        rating = f"{item.rating:.5f}" if item.rating is not None else ("" if stock else "N/A")
        shot: str | bool
        if stock:
            cmd = f"/media/{item.id}.mpg"
            bucket = math.ceil(item.id / 100)
            shot = f"/stalker_portal/screenshots/{bucket}/{item.id}.jpg" if item.poster else False
        else:
            cmd = ""  # shows have no cmd; their seasons do (§7.C)
            if movie is not None:
                target = {"type": "movie", "stream_id": item.id, "stream_source": None}
                cmd = _b64({**target, "target_container": movie.extension})
            shot = f"{self.image_origin}{item.poster}" if item.poster else ""
        row: dict[str, Any] = {
            **_VOD_STATIC,
            "id": self.num(item.id),
            "name": item.name,
            "o_name": item.name,
            "description": item.description,
            "time": self.num(movie.duration_min if movie else 0),
            "path": _path_slug(item.name, item.year),
            "censored": self.num(1 if item.category_id in self.portal.adult_ids() else 0),
            "series": [],
            "category_id": self.num(item.category_id),
            "director": movie.director if movie else "",
            "actors": movie.actors if movie else "",
            "year": str(item.year),
            "added": _stamp(item.added),
            "rating_kinopoisk": rating,
            "rating_imdb": rating,
            "age": "" if stock else "12+",
            "is_series": self.num(0 if movie else 1),
            "screenshots": str(item.id),
            "is_movie": movie is not None,
            "screenshot_uri": shot,
            "genres_str": item.genres,
            "cmd": cmd,
            "has_files": 1 if movie is None and not stock else 0,
        }
        if self.params.get("sortby") == "added":
            label = self._age_label(item.added)
            row[label] = label  # stock adds today / yesterday / week_and_more (§6.3)
        return row

    def _age_label(self, added: datetime) -> str:
        age = self.portal.newest_added() - added
        if age < timedelta(days=1):
            return "today"
        if age < timedelta(days=2):
            return "yesterday"
        return "week_and_more"


# ---------------------------------------------------------------------------------------------
# handlers: (type, action) -> function(ctx) -> Response


def _itv_genres(ctx: _Ctx) -> Response:
    stock = ctx.cfg.stock
    rows: list[dict[str, Any]] = [
        {"id": "*", "title": "All", "alias": "all" if stock else "All", "censored": 0}
    ]
    if not stock:
        rows[0]["active_sub"] = True
    for number, cat in enumerate(ctx.portal.catalogue.categories_of("channel"), start=1):
        row: dict[str, Any] = {
            "id": str(cat.id) if stock else cat.id,
            "title": cat.title,
            "alias": cat.title.lower() if stock else cat.title,
            "censored": 1 if cat.censored else 0,
        }
        if stock:
            row["number"] = str(number)
            row["modified"] = ""
        else:
            row["active_sub"] = True
        rows.append(row)
    return ctx.reply(rows)


def _itv_all_channels(ctx: _Ctx) -> Response:
    cfg, portal = ctx.cfg, ctx.portal
    if not cfg.get_all_channels_enabled:
        return ctx.reply(
            {
                "total_items": ctx.num(0),
                "max_page_items": cfg.effective_page_size,
                "selected_item": 0,
                "cur_page": 0,
                "data": [],
            }
        )
    everything = portal.channel_list("*", "number", hide_adult=False)
    shown = portal.channel_list("*", "number", hide_adult=cfg.hide_adult_from_all)
    # Stock drops adult/locked channels from data but still counts them (§5.2).
    total = len(everything) if cfg.stock else len(shown)
    portal.stats.items_served += len(shown)
    return ctx.reply(
        {
            "total_items": ctx.num(total),
            "max_page_items": cfg.effective_page_size,
            "selected_item": 0,
            "cur_page": 0,
            "data": [ctx.channel(ch) for ch in shown],
        }
    )


def _itv_ordered_list(ctx: _Ctx) -> Response:
    genre = ctx.category_param("genre")
    if genre is None or ctx.params.get("fav") == "1":
        return ctx.page([], ctx.channel)
    sortby = "name" if ctx.params.get("sortby") == "name" else "number"
    items = ctx.portal.channel_list(genre, sortby, ctx.cfg.hide_adult_from_all)
    return ctx.page(items, ctx.channel)


def _itv_create_link(ctx: _Ctx) -> Response:
    cmd = ctx.params.get("cmd", "")
    match = re.search(r"/ch/(\d+)", cmd)
    channel = None
    if match:
        number = int(match.group(1)) - (LINK_OFFSET if ctx.cfg.stock else 0)
        channel = ctx.portal.catalogue.get("channel", number)
    if channel is None:
        missing = {"id": "", "cmd": "", "streamer_id": 0, "link_id": 0, "load": 0}
        return ctx.reply({**missing, "error": "nothing_to_play"})
    key = ctx.portal.new_link("channel", channel.id)
    js: dict[str, Any]
    if ctx.cfg.stock:
        js = {
            "id": str(channel.id),
            "cmd": f"ffrt {ctx.origin}/stream/live/{key}",
            "streamer_id": 0,
            "link_id": channel.id + LINK_OFFSET,
            "load": 0,
            "error": "",
        }
        return _maybe_ads(ctx, js, text="array(6) {...}\n")
    stream = "" if ctx.cfg.empty_stream_bug else str(channel.id)
    url = f"{ctx.origin}/play/live.php?mac={ctx.mac}&stream={stream}&extension=ts&play_token={key}"
    js = {"id": str(channel.id), "cmd": f"ffmpeg {url}"}
    # XC answers streamer_id/link_id/load/error outside js (§5.5).
    if ctx.cfg.ad_playlist:
        return _maybe_ads(ctx, js)
    return ctx.reply(js, extra={"streamer_id": 0, "link_id": 0, "load": 0, "error": ""})


def _itv_short_epg(ctx: _Ctx) -> Response:
    ch_id = _int_or_none(ctx.params.get("ch_id", ""))
    channel = ctx.portal.catalogue.get("channel", ch_id) if ch_id is not None else None
    if channel is None or not channel.xmltv_id:
        return ctx.reply([])
    size = _int_or_none(ctx.params.get("size", "")) or (5 if ctx.cfg.stock else 4)
    return ctx.reply(_programmes(channel, min(size, 50), time.time()))


def _vod_categories(ctx: _Ctx) -> Response:
    kinds = ("movie", "series") if ctx.cfg.stock else ("movie",)
    return ctx.reply(_category_rows(ctx, kinds))


def _series_categories(ctx: _Ctx) -> Response:
    return ctx.reply(_category_rows(ctx, ("series",)))


def _category_rows(ctx: _Ctx, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    stock = ctx.cfg.stock
    rows: list[dict[str, Any]] = [{"id": "*", "title": "All", "alias": "*", "censored": 0}]
    for kind in kinds:
        for cat in ctx.portal.catalogue.categories_of(kind):
            rows.append(
                {
                    "id": str(cat.id) if stock else cat.id,
                    "title": cat.title,
                    "alias": _alias(cat.title) if stock else cat.title,
                    "censored": 1 if cat.censored else 0,
                }
            )
    return rows


def _vod_ordered_list(ctx: _Ctx) -> Response:
    cfg, params = ctx.cfg, ctx.params
    if cfg.stock and params.get("movie_id"):
        return _stock_drill_down(ctx)
    if cfg.stock:
        category = ctx.category_param("category")
        # On stock `genre` is a cat_genre id, not a category (§6.2): we have none.
        if params.get("genre") not in (None, "", "*"):
            return ctx.page([], ctx.vod_item)
    else:
        # Panels treat genre= as the category (stalker-to-m3u relies on it, §6.2).
        category = params.get("category") or params.get("genre") or None
    if category is None:
        return ctx.page([], ctx.vod_item)
    sortby = params.get("sortby") or ("name" if cfg.stock else "added")
    kinds = "both" if cfg.stock else "movie"
    items: list[Any] = ctx.portal.vod_list(kinds, category, sortby, cfg.hide_adult_from_all)
    search = params.get("search", "").strip().casefold()
    if search:
        items = [i for i in items if search in i.name.casefold()]
    return ctx.page(items, ctx.vod_item)


def _stock_drill_down(ctx: _Ctx) -> Response:
    """Ministra ``is_series=1`` model (§7.B): seasons, then episodes, then files."""
    catalogue, params = ctx.portal.catalogue, ctx.params
    item_id = _int_or_none(params.get("movie_id", ""))
    season_id = _int_or_none(params.get("season_id", "")) or 0
    episode_id = _int_or_none(params.get("episode_id", "")) or 0
    series = catalogue.get("series", item_id) if item_id is not None else None
    if series is None:
        movie = catalogue.get("movie", item_id) if item_id is not None else None
        if movie is None:
            return ctx.page([], dict)
        return ctx.page([movie], lambda m: _file_row(m.id, m.id, None, m.extension))
    show_seasons = seasons(series)
    if not season_id:
        added = _stamp(series.added)

        def season_row(season: Any) -> dict[str, Any]:
            return {
                "id": str(series.id * 100 + season.number),
                "video_id": str(series.id),
                "season_number": str(season.number),
                "season_name": "",
                "season_original_name": "",
                "season_series": str(len(season.episodes)),
                "date_add": added,
                "date_modify": added,
                "name": season.name,
                "is_season": True,
            }

        return ctx.page(show_seasons, season_row)
    owner, number = divmod(season_id, 100)
    season = next((s for s in show_seasons if s.number == number), None)
    if owner != series.id or season is None:
        return ctx.page([], dict)
    if not episode_id:
        numbers = [str(e.number) for e in season.episodes]

        def episode_row(ep: Any) -> dict[str, Any]:
            return {
                "id": str(ep.id),
                "season_id": str(season_id),
                "series_number": str(ep.number),
                "series_name": ep.name,
                "series_original_name": ep.name,
                "name": f"Episode {ep.number}. {ep.name}",
                "date_add": _stamp(series.added),
                "is_episode": True,
                "series": numbers,
            }

        return ctx.page(season.episodes, episode_row)
    episode = next((e for e in season.episodes if e.id == episode_id), None)
    if episode is None:
        return ctx.page([], dict)
    return ctx.page([episode], lambda e: _file_row(e.id, series.id, e.id, e.extension))


def _file_row(owner_id: int, video_id: int, episode_id: int | None, ext: str) -> dict[str, Any]:
    file_id = owner_id * 10 + 1
    return {
        "id": str(file_id),
        "video_id": str(video_id),
        "series_id": str(episode_id or 0),
        "file_type": "video",
        "protocol": "http",
        "url": "",
        "languages": 'a:1:{i:0;s:2:"en";}',
        "quality": "5",
        "volume_level": "0",
        "accessed": "1",
        "status": "1",
        "name": f"English / HD (720p) .{ext}",
        "is_file": True,
        "cmd": f"/media/file_{file_id}.mpg",
    }


def _vod_create_link(ctx: _Ctx) -> Response:
    cmd = ctx.params.get("cmd", "").strip()
    cmd = cmd.split(" ", 1)[1] if " " in cmd else cmd  # "ffmpeg /media/..." also seen
    if ctx.cfg.stock:
        return _stock_vod_link(ctx, cmd)
    return _reseller_vod_link(ctx, cmd)


def _stock_vod_link(ctx: _Ctx, cmd: str) -> Response:
    catalogue = ctx.portal.catalogue
    target: tuple[str, int, str] | None = None
    if match := re.fullmatch(r"/media/file_(\d+)\.mpg", cmd):
        owner = int(match.group(1)) // 10
        found = _episode(catalogue, owner)
        if found is not None:
            target = ("episode", owner, found.extension)
        elif (movie := catalogue.get("movie", owner)) is not None:
            target = ("movie", owner, movie.extension)
    elif match := re.fullmatch(r"/media/(\d+)\.mpg", cmd):
        movie = catalogue.get("movie", int(match.group(1)))
        if movie is not None:
            target = ("movie", movie.id, movie.extension)
    if target is None:
        js = {
            "id": 0,
            "cmd": "",
            "storage_id": "",
            "load": "",
            "error": "nothing_to_play",
            "subtitles": [],
        }
        return ctx.reply(js)
    kind, item_id, ext = target
    key = ctx.portal.new_link(kind, item_id)
    js = {
        "id": item_id,
        "cmd": f"ffmpeg {ctx.origin}/stream/vod/{key}.{ext}",
        "storage_id": "1",
        "load": "",
        "error": "",
        "subtitles": [],
    }
    return _maybe_ads(ctx, js, text="array(6) {...}\n")


def _reseller_vod_link(ctx: _Ctx, cmd: str) -> Response:
    catalogue, cfg = ctx.portal.catalogue, ctx.cfg
    decoded = _unb64(cmd)
    k = _int_or_none(ctx.params.get("series", "")) or 0
    show_id = season_num = None
    if decoded and decoded.get("type") == "movie":
        movie = catalogue.get("movie", _int_or_none(str(decoded.get("stream_id"))) or -1)
        if movie is None:
            return ctx.reply(
                {"id": "", "cmd": "", "load": "", "subtitles": [], "error": "nothing_to_play"}
            )
        key = ctx.portal.new_link("movie", movie.id)
        url = (
            f"{ctx.origin}/movie/{cfg.xc_username}/{cfg.xc_password}/{movie.id}."
            f"{movie.extension}?play_token={key}"
        )
        js = {"id": movie.id, "cmd": f"ffmpeg {url}", "load": "", "subtitles": [], "error": ""}
        return _maybe_ads(ctx, js)
    if decoded and decoded.get("type") == "series":
        show_id = _int_or_none(str(decoded.get("series_id")))
        season_num = _int_or_none(str(decoded.get("season_num")))
    elif match := re.fullmatch(r"/media/(\d+):(\d+)\.mpg", cmd):
        show_id, season_num = int(match.group(1)), int(match.group(2))
    show = catalogue.get("series", show_id) if show_id is not None else None
    season = next((s for s in seasons(show) if s.number == season_num), None) if show else None
    if season is None or not 1 <= k <= len(season.episodes):
        # the panel picks the k-th episode; none there -> player_file_missing (§7.C)
        return ctx.reply(
            {"id": "", "cmd": "", "load": "", "subtitles": [], "error": "player_file_missing"}
        )
    episode = season.episodes[k - 1]
    key = ctx.portal.new_link("episode", episode.id)
    url = (
        f"{ctx.origin}/series/{cfg.xc_username}/{cfg.xc_password}/{episode.id}."
        f"{episode.extension}?play_token={key}"
    )
    js = {"id": episode.id, "cmd": f"ffmpeg {url}", "load": "", "subtitles": [], "error": ""}
    return _maybe_ads(ctx, js)


def _series_ordered_list(ctx: _Ctx) -> Response:
    cfg, params, portal = ctx.cfg, ctx.params, ctx.portal
    movie_id = params.get("movie_id")
    if movie_id:
        show = portal.catalogue.get("series", _int_or_none(movie_id) or -1)
        if show is None:
            return ctx.page([], dict)
        shot = f"{ctx.image_origin}{show.poster}" if show.poster else ""
        newest_first = list(reversed(seasons(show)))  # season_num DESC (§7.C)

        def season_row(season: Any) -> dict[str, Any]:
            count = len(season.episodes)
            return {
                "id": f"{show.id}:{season.number}",
                "name": season.name,
                "o_name": season.name,
                "series": list(range(1, count + 1)),
                "is_series": 1,
                "category_id": str(show.category_id),
                "cmd": _b64({"series_id": show.id, "season_num": season.number, "type": "series"}),
                "screenshot_uri": shot,
                "has_files": 0,
                "added": _stamp(show.added),
            }

        return ctx.page(newest_first, season_row)
    category = params.get("category") or params.get("genre") or None
    if category is None:
        return ctx.page([], ctx.vod_item)
    sortby = params.get("sortby") or "added"
    items: list[Any] = portal.vod_list("series", category, sortby, cfg.hide_adult_from_all)
    search = params.get("search", "").strip().casefold()
    if search:
        items = [i for i in items if search in i.name.casefold()]
    return ctx.page(items, ctx.vod_item)


def _watchdog(ctx: _Ctx) -> Response:
    return ctx.reply({"data": {"msgs": 0, "additional_services_on": "1"}})


def _main_info(ctx: _Ctx) -> Response:
    cfg = ctx.cfg
    if cfg.stock:
        end = cfg.expires_at.strftime("%d.%m.%Y") if cfg.expires_at else ""
        return ctx.reply(
            {
                "fname": "",
                "phone": "",
                "ls": "",
                "mac": ctx.mac,
                "end_date": end,
                "tariff_plan": "Full",
            }
        )
    phone = _xc_date(cfg.expires_at) if cfg.expires_at else "Unlimited"
    return ctx.reply({"mac": ctx.mac, "phone": phone})


_HANDLERS: dict[tuple[str, str], Callable[[_Ctx], Response]] = {
    ("itv", "get_genres"): _itv_genres,
    ("itv", "get_all_channels"): _itv_all_channels,
    ("itv", "get_ordered_list"): _itv_ordered_list,
    ("itv", "create_link"): _itv_create_link,
    ("itv", "get_short_epg"): _itv_short_epg,
    ("vod", "get_categories"): _vod_categories,
    ("vod", "get_ordered_list"): _vod_ordered_list,
    ("vod", "create_link"): _vod_create_link,
    ("series", "get_categories"): _series_categories,
    ("series", "get_ordered_list"): _series_ordered_list,
    ("series", "create_link"): _vod_create_link,
    ("watchdog", "get_events"): _watchdog,
    ("account_info", "get_main_info"): _main_info,
}


def _maybe_ads(ctx: _Ctx, js: dict[str, Any], text: str | None = None) -> Response:
    if not ctx.cfg.ad_playlist:
        return ctx.reply(js, text=text)
    # Ad playlist (§5.5): adverts first, the real link is the last element.
    advert = {
        "id": "1",
        "cmd": f"ffmpeg {ctx.origin}/ads/1.mp4",
        "is_advert": True,
        "media_type": "advert",
        "ad_tracking": [],
    }
    return ctx.reply([advert, js], text=text)


def _programmes(channel: FakeChannel, size: int, now: float) -> list[dict[str, Any]]:
    length = (30, 60, 90, 120)[channel.id % 4] * 60
    offset = (channel.id * 7919) % length
    first = int((now - offset) // length)
    out = []
    for k in range(first, first + size):
        start = offset + k * length
        stop = start + length
        rng = random.Random(channel.id * 1_000_003 + k)
        start_dt = datetime.fromtimestamp(start, UTC)
        stop_dt = datetime.fromtimestamp(stop, UTC)
        out.append(
            {
                "id": str(k),
                "ch_id": str(channel.id),
                "time": start_dt.strftime("%Y-%m-%d %H:%M:%S"),
                "time_to": stop_dt.strftime("%Y-%m-%d %H:%M:%S"),
                "duration": length,
                "name": rng.choice(_PROGRAMMES),
                "descr": "",
                "real_id": f"{channel.id}_{start}",
                "category": "",
                "director": "",
                "actor": "",
                "start_timestamp": start,
                "stop_timestamp": stop,
                "t_time": start_dt.strftime("%H:%M"),
                "t_time_to": stop_dt.strftime("%H:%M"),
                "mark_memo": 0,
                "mark_archive": 1 if channel.archive else 0,
            }
        )
    return out


# ---------------------------------------------------------------------------------------------
# small helpers


def _bearer(request: Request) -> str:
    value = request.headers.get("authorization", "")
    return value[7:].strip() if value[:7].lower() == "bearer " else ""


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _xc_date(value: datetime) -> str:
    # "March 5, 2027, 12:00 am", the way XC writes the expiry into `phone` (§4.2)
    hour = value.strftime("%I").lstrip("0") or "12"
    return f"{value.strftime('%B')} {value.day}, {value.year}, {hour}:{value.strftime('%M')} " + (
        "am" if value.hour < 12 else "pm"
    )


def _alias(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")


def _path_slug(name: str, year: int) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_") + f"_{year}"


def _b64(value: dict[str, Any]) -> str:
    return base64.b64encode(orjson.dumps(value)).decode()


def _unb64(value: str) -> dict[str, Any] | None:
    try:
        decoded = orjson.loads(base64.b64decode(value, validate=True))
    except (ValueError, orjson.JSONDecodeError):
        return None
    return decoded if isinstance(decoded, dict) else None


def _episode(catalogue: Catalogue, episode_id: int) -> Any:
    owner = episode_owner(episode_id)
    if owner is None:
        return None
    show = catalogue.get("series", owner[0])
    if show is None:
        return None
    for season in seasons(show):
        for episode in season.episodes:
            if episode.id == episode_id:
                return episode
    return None


def _group(items: list[Any]) -> dict[int, list[Any]]:
    groups: dict[int, list[Any]] = {}
    for item in items:
        groups.setdefault(item.category_id, []).append(item)
    return groups


def _channel_number_key(ch: FakeChannel) -> tuple[int, int]:
    return (ch.number, ch.id)


def _channel_name_key(ch: FakeChannel) -> tuple[str, int]:
    return (ch.name.casefold(), ch.id)


def _added_desc(item: Any) -> tuple[float, int]:
    return (-item.added.timestamp(), -item.id)


def _name_key(item: Any) -> tuple[str, int]:
    return (item.name.casefold(), item.id)


def _rating_key(item: Any) -> tuple[float, int]:
    return (-(item.rating or 0.0), item.id)


_SORT_KEYS: dict[str, Callable[[Any], Any]] = {
    "added": _added_desc,
    "name": _name_key,
    "rating": _rating_key,
    "top": _rating_key,
}


# ---------------------------------------------------------------------------------------------
# the app


def placeholder_svg(name: str) -> bytes:
    """A 2:3 card with a colour and a label derived from ``name``."""
    stem = name.rsplit(".", 1)[0][-6:] or "?"
    hue = int(hashlib.md5(name.encode()).hexdigest()[:4], 16) % 360
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="300" viewBox="0 0 200 300">'
        f'<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="hsl({hue},55%,42%)"/>'
        f'<stop offset="1" stop-color="hsl({(hue + 40) % 360},60%,18%)"/></linearGradient></defs>'
        '<rect width="200" height="300" fill="url(#g)"/>'
        '<text x="100" y="160" font-family="sans-serif" font-size="34" fill="rgba(255,255,255,.8)" '
        f'text-anchor="middle">{html.escape(stem)}</text></svg>'
    ).encode()


def create_app(catalogue: Catalogue, config: StalkerFakeConfig | None = None) -> Starlette:
    """The fake portal. ``app.state.portal`` is the ``FakeStalkerPortal`` behind it."""
    portal = FakeStalkerPortal(catalogue, config)

    async def load_php(request: Request) -> Response:
        return await portal.handle(request)

    async def version_js(request: Request) -> Response:
        body = f"var ver = '{portal.config.version}';\n".encode()
        return Response(body, media_type="application/javascript")

    async def index_html(request: Request) -> Response:
        return Response(
            b"<html><head><title>stalker_portal</title></head></html>", media_type="text/html"
        )

    async def image(request: Request) -> Response:
        # A coloured placeholder per file, so posters and logos in the demo tell apart
        # (SVG whatever the extension: browsers go by the Content-Type).
        name = request.url.path.rsplit("/", 1)[-1]
        return Response(
            placeholder_svg(name),
            media_type="image/svg+xml",
            headers={"Cache-Control": "max-age=86400"},
        )

    async def stream(request: Request) -> Response:
        key = request.query_params.get("play_token") or request.path_params.get("key", "")
        key = key.split(".", 1)[0]
        if not portal.link_valid(key):
            return Response(b"", 403)  # expired temporary link
        return Response(b"\x47" + b"\xff" * 187, media_type="video/mp2t")

    routes = [
        Route(path, load_php, methods=["GET", "POST"])
        for path in dict.fromkeys(STOCK_PATHS + RESELLER_PATHS)
    ]
    routes += [
        Route("/c/version.js", version_js),
        Route("/stalker_portal/c/version.js", version_js),
        Route("/c/", index_html),
        Route("/stalker_portal/c/", index_html),
        Route("/stalker_portal/misc/logos/{size}/{name}", image),
        Route("/misc/logos/{size}/{name}", image),
        Route("/stalker_portal/screenshots/{bucket}/{name}", image),
        Route("/images/{name}", image),
        Route("/t/p/{size}/{name}", image),
        Route("/stream/{kind}/{key}", stream),
        Route("/play/live.php", stream),
        Route("/movie/{user}/{password}/{name}", stream),
        Route("/series/{user}/{password}/{name}", stream),
        Route("/ads/{name}", stream),
    ]
    routes += _control_routes(portal)
    app = Starlette(routes=routes)
    app.state.portal = portal
    return app


def _control_routes(portal: FakeStalkerPortal) -> list[Route]:
    """JSON control API under /_control/ (not counted in stats, no latency, no 429)."""

    def ok(value: Any, status: int = 200) -> Response:
        return Response(orjson.dumps(value), status, media_type="application/json")

    async def body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        data = orjson.loads(raw) if raw else {}
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        return data

    async def add(request: Request) -> Response:
        data = await body(request)
        return ok({"ids": portal.add(data["kind"], int(data.get("count", 1)))})

    async def remove(request: Request) -> Response:
        data = await body(request)
        return ok({"removed": portal.remove(data["kind"], [int(i) for i in data["ids"]])})

    async def truncate(request: Request) -> Response:
        data = await body(request)
        return ok({"removed": portal.truncate(data["kind"], int(data["keep"]))})

    async def config(request: Request) -> Response:
        if request.method == "POST":
            data = await body(request)
            if "mac_allowed" in data and data["mac_allowed"] is not None:
                data["mac_allowed"] = tuple(data["mac_allowed"])
            try:
                portal.configure(**data)
            except ValueError as exc:
                return ok({"error": str(exc)}, 422)
        return ok(dataclasses.asdict(portal.config))

    async def stats(request: Request) -> Response:
        return ok(portal.stats_dict())

    async def reset_stats(request: Request) -> Response:
        portal.reset_stats()
        return ok(portal.stats_dict())

    async def kick(request: Request) -> Response:
        data = await body(request)
        return ok({"kicked": portal.kick(data.get("mac"))})

    async def counts(request: Request) -> Response:
        return ok(portal.catalogue.counts())

    return [
        Route("/_control/add", add, methods=["POST"]),
        Route("/_control/remove", remove, methods=["POST"]),
        Route("/_control/truncate", truncate, methods=["POST"]),
        Route("/_control/config", config, methods=["GET", "POST"]),
        Route("/_control/stats", stats),
        Route("/_control/reset-stats", reset_stats, methods=["POST"]),
        Route("/_control/kick", kick, methods=["POST"]),
        Route("/_control/counts", counts),
    ]

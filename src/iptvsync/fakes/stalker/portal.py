"""The fake portal's state and request handling (``FakeStalkerPortal``, ``app.state.portal``).

Per request: the ban list, Cloudflare 403s, the capacity model and rate limit (HTTP 429),
latency, injected 5xx, then the MAC/token checks of the family (§2) and dispatch to the
``stb`` session actions here or to the content handlers. Also the per-MAC sessions
(handshake, ``get_profile``, ``do_auth``, kicks), temporary play links and the stats.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import random
import re
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.responses import Response

from iptvsync.fakes.catalogue import Catalogue, CatalogueControls
from iptvsync.fakes.stalker.config import RESELLER_PATHS, STOCK_PATHS, StalkerFakeConfig
from iptvsync.fakes.stalker.handlers import _HANDLERS
from iptvsync.fakes.stalker.lists import OrderedLists
from iptvsync.fakes.stalker.payloads import _Ctx
from iptvsync.fakes.stalker.values import _xc_date

_MAC_FORMAT = re.compile(r"^00:1A:79:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2}$")
# Exempt from the token check on stock servers (§2); Access denied. has a wider exemption.
_TOKEN_EXEMPT = {"handshake", "get_profile", "get_localization", "do_auth"}
_DENIED_EXEMPT = _TOKEN_EXEMPT | {"get_events", "get_modules", "get_main_info"}
_CLOUDFLARE_HTML = (
    b"<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head>"
    b"<body><h1>Sorry, you have been blocked</h1></body></html>"
)
_HTML_429 = b"<html><head><title>429 Too Many Requests</title></head><body><center><h1>429 Too Many Requests</h1></center><hr><center>nginx</center></body></html>"  # noqa: E501
_HTML_5XX = b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"  # noqa: E501


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
    #: Wall-clock times (Unix seconds) of the first and the last request since the reset:
    #: what a benchmark splits a client's run into start, walk and end by.
    first_at: float | None = None
    last_at: float | None = None

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
            "first_at": self.first_at,
            "last_at": self.last_at,
        }


class _AuthFailure(Exception):
    """Raised inside a handler; answered with the family's auth-failure body."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class FakeStalkerPortal(OrderedLists, CatalogueControls):
    """The portal's state and behaviour; ``app.state.portal`` for in-process tests."""

    def __init__(self, catalogue: Catalogue, config: StalkerFakeConfig | None = None) -> None:
        self.catalogue = catalogue
        self.config = config or StalkerFakeConfig()
        self.stats = FakeStats()
        #: ``epg_prerendered``: all-channels guide answers rendered ahead (``epg.py``).
        self.guide_renders: dict[tuple[Any, ...], tuple[list[bytes], int]] = {}
        self.sessions: dict[str, _Session] = {}
        self.banned: set[str] = set()
        self._rng = random.Random(self.config.seed)
        self._error_rng = random.Random(self.config.seed + 1)
        self._links: dict[str, tuple[float, str, int]] = {}
        self.archive_links = 0  # tv_archive create_link answers that gave a link
        self._lists: dict[tuple[Any, ...], Any] = {}
        self._lists_revision = -1
        self._bucket = (0.0, 0.0)  # (tokens, last refill)

    # -- control (Python API; the /_control routes call these) ---------------------------------


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

    def clock(self) -> float:
        """The portal's "now" (Unix seconds) for the guide."""
        return time.time()

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
        stats.last_at = time.time()
        if stats.first_at is None:
            stats.first_at = stats.last_at
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
        query = request.query_params  # what a box sends (a POST's form is read below)
        asked = f"{query.get('type', '')}.{query.get('action', '')}"
        delay = cfg.latency_ms + cfg.action_latency_ms.get(asked, 0.0)
        if cfg.capacity:
            delay *= max(1.0, stats.in_flight / cfg.capacity)
        if delay > 0:
            await asyncio.sleep(delay / 1000)
        if asked in cfg.action_status:
            return Response(_HTML_5XX, cfg.action_status[asked], media_type="text/html")
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
            response = self._dispatch(request, params, module, action)
            if inspect.isawaitable(response):
                response = await response
            return response
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
        if not mac and self.config.query_mac:
            return unquote(params.get("mac", "")).strip().upper()  # XC panels take ?mac= (§3)
        if self.config.cookie_decode:
            mac = unquote(mac)
        # A portal that reads the cookie raw sees "00%3A1A%3A79..." as another, unknown MAC.
        return mac.strip().upper()

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
    ) -> Response | Awaitable[Response]:
        mac = self._mac_of(request, params)
        if module == "stb" and action == "handshake":
            return self._handshake(request, params, mac)
        session = self._authorize(request, mac, module, action)
        ctx = _Ctx(self, request, params, mac)
        if module == "stb":
            return self._stb(ctx, session, action)
        handler = _HANDLERS.get((module, action))
        if module == "series" and not self.config.has_series_module:
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
        if cfg.handshake_refused:
            raise _AuthFailure("")
        if not cfg.stock and not self._registered(mac):
            return ctx.reply({"token": None})  # XC_VM, unregistered MAC (docs/stalker.md §4.1)
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
        own = cfg.mac_states.get(mac)
        if own == "disabled":
            profile = self._profile(mac, status=1)
            profile["msg"] = "account disabled"
            profile["block_msg"] = "Your account is disabled.<br/> Call the provider."
            return ctx.reply(profile)
        if own == "expired":
            profile = self._profile(mac, status=1)
            profile["msg"] = "account expired"
            profile["block_msg"] = "Your subscription ended on 2020-01-01.<br/> Please renew it."
            return ctx.reply(profile)
        expired = cfg.expires_at is not None and cfg.expires_at < datetime.now(UTC)
        if cfg.expired_refused and expired and cfg.expires_at is not None:
            profile = self._profile(mac, status=1)
            day = cfg.expires_at.strftime("%Y-%m-%d")
            profile["msg"] = "account expired"
            profile["block_msg"] = f"Your subscription ended on {day}.<br/> Please renew it."
            return ctx.reply(profile)
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

    # -- temporary links ---------------------------------------------------------------------

    def new_link(self, kind: str, item_id: int, *, ttl_s: float | None = None) -> str:
        now = time.monotonic()
        if len(self._links) > 50_000:
            self._links = {k: v for k, v in self._links.items() if v[0] > now}
        key = f"{self._rng.getrandbits(128):032x}"
        self._links[key] = (now + (ttl_s or self.config.link_ttl_s), kind, item_id)
        return key

    def link_valid(self, key: str) -> bool:
        entry = self._links.get(key)
        return entry is not None and entry[0] > time.monotonic()


def _bearer(request: Request) -> str:
    value = request.headers.get("authorization", "")
    return value[7:].strip() if value[:7].lower() == "bearer " else ""

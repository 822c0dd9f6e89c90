"""From what a user pastes to the portal's API endpoint (docs/stalker.md §1).

Users paste ``http://host:8080/c/``, ``http://host/stalker_portal/c/``, a bare host or a ``.php``
URL. ``/c/`` is only the box's HTML app; the API lives at ``<base>/portal.php`` (reseller
panels), ``<base>/server/load.php`` or ``<base>/stalker_portal/server/load.php`` (stock).
Candidates are tried in IPTVnator's tested order and classified with a token-less
``type=itv&action=get_genres``. The I/O is one injected ``fetch`` coroutine, so the rules here
stay testable and the client decides headers, budget and counting.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from iptvsync.errors import (
    NotAPortal,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderBanned,
    ProviderTimeout,
    ProviderUnreachable,
    ValidationFailed,
)
from iptvsync.providers.http import safe_url
from iptvsync.providers.stalker.parse import PortalBusy, PortalUrls, decode_envelope


@dataclass(frozen=True, slots=True)
class FetchResult:
    status: int
    body: bytes
    url: str  # after redirects


#: GET ``url`` with ``params``; raises ProviderUnreachable (refused, DNS) or ProviderTimeout.
Fetch = Callable[[str, dict[str, str]], Awaitable[FetchResult]]


class Verdict(StrEnum):
    OPEN = "open"  # answered the content call without a token
    AUTH = "auth"  # a portal that wants a handshake (plain-text refusal, js.error)
    MAYBE = "maybe"  # an empty 200 body: reseller-style refusal, or nothing at all
    NOT_PORTAL = "not_portal"  # 404, HTML, some other JSON
    RETRY = "retry"  # 5xx, "Too many connections": cannot tell, try the next
    BLOCKED = "blocked"  # 403 / 429: something there refuses us (Cloudflare, a ban)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The API endpoint found. ``family_hint``: "stock" (plain-text refusals or the ``text``
    debug key), "reseller" (empty-body refusals), or None when the answer did not say. The path
    is no hint: many panels answer at every path, and fakes do too."""

    url: str
    #: The content call answered without a token. Stock servers do that until a token is
    #: bound to the MAC; only a panel that then refuses the handshake is treated as token-free.
    token_free: bool = False
    family_hint: str | None = None

    @property
    def urls(self) -> PortalUrls:
        return PortalUrls.from_endpoint(self.url)

    def stored(self) -> dict[str, Any]:
        """What ``providers.endpoint`` keeps of it (``from_stored`` reads it back)."""
        return {"url": self.url, "token_free": self.token_free, "family_hint": self.family_hint}

    @classmethod
    def from_stored(cls, value: Any) -> Endpoint | None:
        """An endpoint kept by an earlier session, or None for anything else (a row written
        by hand, another version): discovery then finds it again."""
        if not isinstance(value, dict):
            return None
        url, token_free, hint = value.get("url"), value.get("token_free"), value.get("family_hint")
        if not (isinstance(url, str) and urlsplit(url).scheme in ("http", "https")):
            return None
        if not isinstance(token_free, bool) or hint not in (None, "stock", "reseller"):
            return None
        return cls(url=url, token_free=token_free, family_hint=hint)


GENRES_PARAMS = {"type": "itv", "action": "get_genres", "JsHttpRequest": "1-xml"}
HANDSHAKE_PARAMS = {
    "type": "stb",
    "action": "handshake",
    "token": "",
    "prehash": "0",
    "JsHttpRequest": "1-xml",
}


def parse_portal_url(pasted: str) -> tuple[str, str, str | None]:
    """(origin, base path, pasted .php path or None). Raises ValidationFailed."""
    text = (pasted or "").strip()
    if not text:
        raise ValidationFailed("the portal URL is empty", detail={"field": "url"})
    if not re.match(r"(?i)^[a-z][a-z0-9+.-]*://", text):
        text = "http://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(
            "the portal URL must be http(s)://host[...]", detail={"field": "url"}
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise ValidationFailed("the portal URL has a bad port", detail={"field": "url"}) from exc
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    origin = f"{scheme}://{host}" + (f":{port}" if port else "")
    path = re.sub(r"/{2,}", "/", parts.path or "")
    php: str | None = None
    if path.lower().endswith(".php"):
        php = path
        base = path[: -len("/server/load.php")] if path.endswith("/server/load.php") else ""
        if not base:
            base = path.rsplit("/", 1)[0]
    else:
        base = path.rstrip("/")
        if re.search(r"(?i)\.html?$", base):  # ".../c/index.html"
            base = base.rsplit("/", 1)[0]
        if base.endswith("/c"):
            base = base[:-2]
    return origin, base.rstrip("/"), php


def candidate_endpoints(pasted: str) -> list[str]:
    """Endpoints to try, best first, without duplicates (docs/stalker.md §1 order)."""
    origin, base, php = parse_portal_url(pasted)
    out: list[str] = []
    if php:
        out.append(origin + php)
    root = origin + base
    if base.endswith("/stalker_portal"):  # never double stalker_portal
        out += [f"{root}/server/load.php", f"{root}/portal.php"]
    else:
        out += [
            f"{root}/portal.php",
            f"{root}/server/load.php",
            f"{root}/stalker_portal/server/load.php",
        ]
    return list(dict.fromkeys(out))


def classify(status: int, body: bytes) -> tuple[Verdict, str | None]:
    """(verdict, family hint) of a token-less ``get_genres`` answer."""
    if status >= 500:
        return Verdict.RETRY, None
    if status in (403, 429):
        return Verdict.BLOCKED, None
    if status != 200:
        return Verdict.NOT_PORTAL, None
    try:
        envelope = decode_envelope(body)
    except PortalBusy:
        return Verdict.RETRY, None
    except ProviderAuthFailed as exc:
        if exc.detail.get("reason") == "empty":
            return Verdict.MAYBE, "reseller"
        return Verdict.AUTH, "stock"  # plain-text refusals are stock Ministra's
    except ProviderBadResponse:
        return Verdict.NOT_PORTAL, None
    js = envelope.js
    hint = "stock" if envelope.has_text else None
    if isinstance(js, list):
        return Verdict.OPEN, hint
    if isinstance(js, dict) and ("error" in js or "msg" in js):
        return Verdict.AUTH, hint
    # {"js": {"data": [...]}} wrappers exist too; anything else is some other JSON API.
    if isinstance(js, dict) and isinstance(js.get("data"), list):
        return Verdict.OPEN, hint
    return Verdict.NOT_PORTAL, None


def confirms_handshake(status: int, body: bytes) -> bool:
    """An answer to ``type=stb&action=handshake`` that only a portal gives: ``{"js":{"token"}}``
    (XC_VM says ``{"token": null}`` for an unknown MAC: still a portal)."""
    if status != 200:
        return False
    try:
        envelope = decode_envelope(body)
    except ProviderAuthFailed as exc:
        return exc.detail.get("reason") != "empty"
    except ProviderBadResponse:
        return False
    return isinstance(envelope.js, dict) and "token" in envelope.js


async def discover(pasted: str, fetch: Fetch) -> Endpoint:
    """Try the candidates in order; the first that answers like a portal wins.

    Raises ProviderUnreachable at once when the host refuses connections (no point trying other
    paths on it), NotAPortal when every candidate answered but none like a portal,
    ProviderBanned when they only answered 403/429, and ProviderTimeout / ProviderUnreachable
    when they only failed transiently.
    """
    candidates = candidate_endpoints(pasted)
    transient: list[Exception] = []
    definitive = 0
    blocked = 0
    for candidate in candidates:
        try:
            result = await fetch(candidate, dict(GENRES_PARAMS))
        except ProviderTimeout as exc:
            transient.append(exc)
            continue
        verdict, hint = classify(result.status, result.body)
        # Adopt the URL after redirects (http → https, port change) so later requests, which
        # carry the token, go straight there (IPTVnator #1158 lost headers on redirects).
        endpoint_url = _strip_query(result.url) or candidate
        if verdict in (Verdict.OPEN, Verdict.AUTH):
            return Endpoint(url=endpoint_url, token_free=verdict is Verdict.OPEN, family_hint=hint)
        if verdict is Verdict.MAYBE:
            try:
                confirm = await fetch(endpoint_url, dict(HANDSHAKE_PARAMS))
            except ProviderTimeout as exc:
                transient.append(exc)
                continue
            if confirms_handshake(confirm.status, confirm.body):
                return Endpoint(url=endpoint_url, token_free=False, family_hint=hint)
            definitive += 1
            continue
        if verdict is Verdict.BLOCKED:
            blocked += 1
            continue
        if verdict is Verdict.RETRY:
            transient.append(
                ProviderUnreachable(f"the portal answered HTTP {result.status} (server error)")
            )
            continue
        definitive += 1
    if blocked:  # a WAF or a ban in front of the portal hides what answers behind it
        raise ProviderBanned(
            f"the server at {safe_url(_origin(pasted))} refuses us (HTTP 403/429): "
            "blocked or rate limited"
        )
    if transient and not definitive:
        if all(isinstance(e, ProviderTimeout) for e in transient):
            raise ProviderTimeout(f"no portal endpoint answered in time at {safe_url(pasted)}")
        raise ProviderUnreachable(
            f"the server at {safe_url(_origin(pasted))} only answered with errors"
        )
    raise NotAPortal(
        f"no Stalker/Ministra portal found at {safe_url(pasted)} "
        f"(tried {len(candidates)} endpoint(s))",
        detail={"tried": [safe_url(c) for c in candidates]},
    )


def _strip_query(url: str) -> str:
    return url.split("?", 1)[0].split("#", 1)[0]


def _origin(pasted: str) -> str:
    try:
        return parse_portal_url(pasted)[0]
    except ValidationFailed:
        return pasted


_VERSION_JS = re.compile(r"""var\s+ver\s*=\s*['"]([0-9][0-9A-Za-z.\-]{0,20})['"]""")


def parse_version_js(text: str) -> str | None:
    """``var ver = '5.3.1';`` from ``<base>/c/version.js`` (MacAttack's layout check)."""
    match = _VERSION_JS.search(text[:10_000])
    return match.group(1) if match else None

"""Requests refused before any route sees them (docs/security.md).

- **Open mode answers loopback Host names only.** With no admin token anyone who reaches the
  server controls it, which is safe only on loopback; but a web page can make the browser send
  requests to 127.0.0.1 under its own name (DNS rebinding: ``attacker.example`` resolving to
  127.0.0.1), so the Host header must name loopback (``localhost``, ``*.localhost``,
  ``127.x.x.x``, ``[::1]``) or one of ``IPTVSYNC_ALLOWED_HOSTS`` (a LAN name the operator chose).
- **Malformed paths are 404**: a decoded path with a NUL or another control character.
- **Every mode refuses cross-site state changes.** A POST, PUT, PATCH or DELETE whose
  ``Sec-Fetch-Site`` is not ``same-origin`` / ``none``, or, without that header, whose ``Origin``
  is not this server's, is refused unless that origin is in ``IPTVSYNC_CORS_ORIGINS``: a page
  elsewhere cannot make a visitor's browser start syncs or change providers (browsers send Basic
  credentials they remember on their own). Requests without either header (curl, players, the
  CLI) are not browsers' cross-site requests and pass.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from iptvsync.api.errors import envelope
from iptvsync.settings import Settings

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SAFE_FETCH_SITES = frozenset({"same-origin", "none"})


def host_name(host_header: str) -> str:
    """``Host`` without its port, lower-case, brackets kept off IPv6 literals."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback_name(name: str) -> bool:
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class RequestGuard:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.open_mode = settings.admin_token is None
        self.allowed_hosts = {h.strip().lower() for h in settings.allowed_hosts if h.strip()}
        self.trusted_origins = {o.rstrip("/").lower() for o in settings.cors_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not _clean_path(scope.get("path", "")):
            await envelope(404, "not_found", "not found")(scope, receive, send)
            return
        headers = {k: v for k, v in scope.get("headers") or [] if k in _WANTED}
        host = headers.get(b"host", b"").decode("latin-1")
        problem = None
        if self.open_mode and not self._host_allowed(host):
            problem = (
                "without IPTVSYNC_ADMIN_TOKEN this server answers only loopback host names; "
                "add this name to IPTVSYNC_ALLOWED_HOSTS to reach it so"
            )
        elif scope["method"] in UNSAFE_METHODS and self._cross_site(headers, host):
            problem = "a cross-site request may not change anything here"
        if problem is None:
            await self.app(scope, receive, send)
            return
        await envelope(403, "forbidden", problem)(scope, receive, send)

    def _host_allowed(self, host: str) -> bool:
        name = host_name(host)
        return is_loopback_name(name) or name in self.allowed_hosts

    def _cross_site(self, headers: dict[bytes, bytes], host: str) -> bool:
        origin = headers.get(b"origin", b"").decode("latin-1").rstrip("/").lower()
        if origin and origin in self.trusted_origins:
            return False
        site = headers.get(b"sec-fetch-site")
        if site is not None:
            return site.decode("latin-1").lower() not in SAFE_FETCH_SITES
        if not origin:
            return False
        if origin == "null":
            return True
        return urlsplit(origin).netloc != host.strip().lower()


_WANTED = frozenset({b"host", b"origin", b"sec-fetch-site"})


def _clean_path(path: str) -> bool:
    """No route has a NUL or another control character in its path (``%00`` decoded): such a
    request is a 404 here, not an error deep in a file-system call."""
    return path.isprintable()

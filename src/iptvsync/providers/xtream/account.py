"""Xtream answers about the line itself → typed results. Pure: no I/O, no clock.

Bodies that are not the JSON asked for (HTML error pages, WAF challenges, "too many
connections"), the login payload (account state, expiry, family), and the panel's base URL.
Scalars are coerced by ``values.py``; list payloads are ``parse.py``'s job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from iptvsync.errors import (
    ProviderAccountExpired,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderBanned,
    ProviderError,
    ProviderUnreachable,
)
from iptvsync.providers.xtream.values import as_object, epoch_to_datetime, to_bool, to_int, to_str
from iptvsync.records import AccountInfo

BOM = b"\xef\xbb\xbf"

# ---------------------------------------------------------------------------------------------
# Bodies that are not the JSON we asked for (docs/providers.md §1.2 failure shapes)


def strip_bom(raw: bytes) -> bytes:
    """Drop a UTF-8 BOM and leading whitespace (seen before the JSON on real panels)."""
    raw = raw.lstrip()
    while raw.startswith(BOM):
        raw = raw[len(BOM) :].lstrip()
    return raw


_BANNED_WORDS = ("banned", "blocked", "forbidden", "access denied", "cloudflare", "captcha")
_EXPIRED_WORDS = ("expired",)
_AUTH_WORDS = ("unauthorized", "invalid", "credentials", "disabled", "not found")
_TRANSIENT_WORDS = ("too many connections", "try again", "server busy", "flood")


def classify_failure(status: int, body: bytes) -> ProviderError:
    """The error that an HTTP status plus a non-JSON (or empty) body stands for.

    XC_VM answers 404 with an HTML page for invalid, banned, disabled and expired lines; WAFs and
    UA blocks answer 401/403 or a challenge page; a 200 page may say "Too many connections".
    The caller decides what is transient (see ``is_transient``).
    """
    text = body[:32_768].decode("utf-8", errors="replace").lower()
    if status == 401:
        return ProviderAuthFailed("provider refused the credentials (HTTP 401)")
    if status == 403:
        return ProviderBanned("provider refused access (HTTP 403); check the User-Agent or IP")
    if status == 429:
        return ProviderBanned("provider rate limit (HTTP 429)")
    if 500 <= status < 600:
        return ProviderUnreachable(f"provider server error (HTTP {status})")
    if any(word in text for word in _EXPIRED_WORDS):
        return ProviderAccountExpired("provider says the account has expired")
    if any(word in text for word in _TRANSIENT_WORDS):
        return ProviderBadResponse("provider is busy (too many connections)")
    if any(word in text for word in _BANNED_WORDS):
        return ProviderBanned("provider blocked the request")
    if status == 404:
        return ProviderAuthFailed(
            "provider refused the credentials (HTTP 404)", detail={"http_status": 404}
        )
    if any(word in text for word in _AUTH_WORDS):
        return ProviderAuthFailed("provider refused the credentials")
    if not text.strip():
        return ProviderBadResponse(f"empty response (HTTP {status})")
    if status >= 400:
        return ProviderBadResponse(f"unexpected HTTP {status}")
    return ProviderBadResponse("response is not JSON")


def is_transient(error: ProviderError, status: int) -> bool:
    """Worth a retry with back-off: 429, 5xx, empty bodies, "too many connections"."""
    if status == 429 or 500 <= status < 600:
        return True
    return isinstance(error, ProviderBadResponse)


# ---------------------------------------------------------------------------------------------
# Login (§1.2)


@dataclass(frozen=True, slots=True)
class XtreamLogin:
    """What the login payload says. No credentials are kept here."""

    family: str  # "xtream" (XC 2.x, strings) | "xui" (XUI.one / XC_VM)
    account: AccountInfo
    max_connections: int | None = None
    active_connections: int | None = None
    is_trial: bool = False
    allowed_formats: tuple[str, ...] = ()
    timezone: str | None = None
    version: str | None = None

    @property
    def live_extension(self) -> str:
        """``m3u8`` when the line allows it, else ``ts`` (IPTVnator's rule, §1.2)."""
        if "m3u8" in self.allowed_formats:
            return "m3u8"
        return "ts"


def check_auth_object(payload: Any) -> None:
    """Raise when a list action answered with the login object ``{"user_info":{"auth":0}}``.

    The same object can come back for any action (§1.2 failure 1); a list with it is not a list.
    """
    if isinstance(payload, dict) and isinstance(payload.get("user_info"), dict):
        info = payload["user_info"]
        if not to_bool(info.get("auth")):
            raise _refusal(info)


def _refusal(info: Mapping[str, Any]) -> ProviderError:
    status = (to_str(info.get("status")) or "").lower()
    if status == "expired":
        return ProviderAccountExpired("provider says the account has expired")
    if status == "banned":
        return ProviderBanned("provider says the account is banned")
    if status == "disabled":
        # auth 0 with "Disabled" is also what panels answer to a wrong password (reference
        # xtream §1.2): a credentials problem first.
        return ProviderAuthFailed("provider says the account is disabled")
    return ProviderAuthFailed("provider refused the credentials")


def expiry_of(value: Any) -> datetime | None:
    """``exp_date``: null, "", "0" or a negative number mean "never expires" (§1.2)."""
    return epoch_to_datetime(value)


def parse_login(payload: Any, *, now: datetime) -> XtreamLogin:
    """The login payload (``player_api.php`` with no action) → XtreamLogin, or a typed error.

    A past ``exp_date`` means expired even when ``status`` still says Active.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("user_info"), dict):
        raise ProviderBadResponse("login answer has no user_info object")
    info = payload["user_info"]
    server = as_object(payload.get("server_info"))
    if not to_bool(info.get("auth")):
        raise _refusal(info)
    status = (to_str(info.get("status")) or "active").lower()
    expires_at = expiry_of(info.get("exp_date"))
    if status == "expired" or (expires_at is not None and expires_at <= now):
        raise ProviderAccountExpired(
            "provider account expired"
            + (f" on {expires_at.date().isoformat()}" if expires_at else ""),
            detail={"expires_at": expires_at.isoformat()} if expires_at else None,
        )
    if status == "banned":
        raise ProviderBanned("provider says the account is banned")
    if status == "disabled":
        raise ProviderAuthFailed("provider says the account is disabled")
    formats = info.get("allowed_output_formats")
    allowed = tuple(
        str(f).strip().lower() for f in (formats if isinstance(formats, list) else []) if f
    )
    xui = to_bool(server.get("xui")) or to_str(server.get("version")) is not None
    return XtreamLogin(
        family="xui" if xui else "xtream",
        account=AccountInfo(
            status="active" if status == "active" else "unknown",
            expires_at=expires_at,
            message=to_str(info.get("message")),
        ),
        max_connections=to_int(info.get("max_connections")),
        active_connections=to_int(info.get("active_cons")),
        is_trial=to_bool(info.get("is_trial")),
        allowed_formats=allowed,
        timezone=to_str(server.get("timezone")),
        version=to_str(server.get("version")),
    )


# ---------------------------------------------------------------------------------------------
# URLs (§1.1, §1.7)


def normalise_base_url(url: str) -> str:
    """The panel base, ``scheme://host[:port][/sub-path]``: a pasted endpoint and query go."""
    base = url.strip().split("#", 1)[0].split("?", 1)[0].rstrip("/")
    for suffix in ("/player_api.php", "/get.php", "/xmltv.php", "/panel_api.php"):
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)]
    if "://" not in base:
        base = "http://" + base
    return base.rstrip("/")


STREAM_PREFIX = {"channel": "live", "movie": "movie", "episode": "series"}

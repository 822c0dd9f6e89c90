"""Session answers: handshake, profile, ``do_auth`` and account info (docs/stalker.md §4)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from iptvsync.errors import (
    ProviderAccountDisabled,
    ProviderAccountExpired,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderUnreachable,
)
from iptvsync.providers.stalker.parse.coerce import _text, parse_when, to_bool, to_int, to_str
from iptvsync.records import AccountInfo


@dataclass(frozen=True, slots=True)
class Handshake:
    token: str
    random: str | None = None


def parse_handshake(js: Any) -> Handshake:
    if not isinstance(js, dict):
        raise ProviderBadResponse("the handshake answer is not an object")
    token = to_str(js.get("token"))
    if token is None:
        # XC_VM answers {"token": null} for an unregistered MAC.
        raise ProviderAuthFailed(
            "the portal refused the handshake (MAC not registered?)",
            detail={"reason": "handshake"},
        )
    if len(token) > 4096 or any(c.isspace() for c in token):
        raise ProviderBadResponse("the handshake token is not a usable token")
    return Handshake(token=token, random=to_str(js.get("random")))


@dataclass(frozen=True, slots=True)
class Profile:
    status: int
    message: str | None = None
    blocked: bool = False
    portal_disabled: bool = False
    watchdog_timeout: int | None = None
    expires_at: datetime | None = None
    expiry_text: str | None = None  # XC puts the expiry (or "Unlimited") in ``phone``

    @property
    def needs_login(self) -> bool:
        return self.status == 2


_EXPIRED_WORDS = re.compile(
    r"(?i)expir|ended|end of (?:your )?subscription|tariff|payment|pay |renew|balance"
)
_DISABLED_WORDS = re.compile(r"(?i)suspend|blocked|disabled|deactivat|not active|inactive|banned")


def parse_profile(js: Any) -> Profile:
    """Read ``get_profile``; raise when the portal refuses this box.

    status 0 → OK; 2 → login required (``needs_login``); 1 → refused: expiry wording →
    ProviderAccountExpired, blocking wording (or ``blocked``) → ProviderAccountDisabled,
    maintenance (``portal_disabled``) → ProviderUnreachable,
    anything else (bare ``{"status":1}`` = invalid MAC, "device conflict", "old firmware") →
    ProviderAuthFailed with the portal's message.
    """
    if not isinstance(js, dict):
        raise ProviderBadResponse("the profile answer is not an object")
    status = to_int(js.get("status"))
    message = _text(js.get("block_msg")) or _text(js.get("msg")) or _text(js.get("info"))
    msg = _text(js.get("msg"))
    if msg and message and msg not in message:
        message = f"{msg}: {message}"
    phone = to_str(js.get("phone"))
    expires = parse_when(js.get("expire_billing_date")) or parse_when(phone)
    profile = Profile(
        status=0 if status is None else status,
        message=message,
        blocked=to_bool(js.get("blocked")),
        portal_disabled=to_bool(js.get("portal_disabled")),
        watchdog_timeout=to_int(js.get("watchdog_timeout")),
        expires_at=expires,
        expiry_text=phone if phone and (expires or phone.lower() == "unlimited") else None,
    )
    if profile.status == 1:
        if profile.portal_disabled:
            raise ProviderUnreachable(
                f"the portal is in maintenance: {message or 'temporarily unavailable'}"
            )
        if message and _EXPIRED_WORDS.search(message):
            raise ProviderAccountExpired(
                f"the provider account has expired: {message}",
                detail={"expires_at": expires.isoformat()} if expires else None,
            )
        if message and _DISABLED_WORDS.search(message):
            raise ProviderAccountDisabled(f"the provider account is disabled: {message}")
        raise ProviderAuthFailed(
            f"the portal refused this MAC: {message or 'not registered or wrong format'}",
            detail={"reason": "profile"},
        )
    if profile.status == 0 and profile.blocked:
        raise ProviderAccountDisabled(
            f"the account is blocked: {message}" if message else "the account is blocked"
        )
    return profile


def parse_do_auth(js: Any) -> None:
    """``do_auth`` answers ``true``/``false`` (sometimes ``1``/``0`` or ``"1"``)."""
    if not to_bool(js):
        raise ProviderAuthFailed(
            "the portal refused the login and password", detail={"reason": "login"}
        )


def parse_account_info(
    js: Any, profile: Profile | None = None, *, now: datetime | None = None
) -> AccountInfo:
    """``account_info/get_main_info`` (stock ``end_date``, XC expiry in ``phone``) plus what
    the profile said, as an AccountInfo. ``now`` decides "expired"."""
    info = js if isinstance(js, dict) else {}
    expires: datetime | None = None
    unlimited = False
    for key in ("end_date", "expire_date", "expire_billing_date", "phone", "exp_date"):
        value = info.get(key)
        if isinstance(value, str) and value.strip().lower() == "unlimited":
            unlimited = True
            continue
        expires = expires or parse_when(value)
    if expires is None and profile is not None:
        expires = profile.expires_at
        unlimited = unlimited or (profile.expiry_text or "").lower() == "unlimited"
    status = "active"
    message = _text(info.get("tariff_plan"), 120)
    if profile is not None and profile.blocked:
        status = "disabled"
    elif expires is not None and now is not None and expires < now:
        status = "expired"
    if unlimited and expires is None:
        message = message or "Unlimited"
    return AccountInfo(status=status, expires_at=expires, message=message)

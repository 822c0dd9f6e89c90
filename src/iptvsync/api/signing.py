"""Signed, expiring play URLs: what iptvsync puts in its playlists so players need no headers.

A signature covers (provider id, kind, item id, expiry) and travels as one query parameter,
``sig=<expires>.<mac>``: the Unix time it expires at and an HMAC-SHA256 of the rest (first 16
bytes, base64url). Changing any part of the path, or the expiry, breaks it.

The key is derived from the server's secret key (``iptvsync.secret_key``: ``IPTVSYNC_SECRET_KEY``
or ``<data_dir>/secret.key``), never from the admin token: a playlist URL must not let anyone
test admin-token guesses offline. ``iptvsync rotate-key`` replaces the key, and every URL handed
out before stops working. Replicas that hand out URLs for one another share
``IPTVSYNC_SECRET_KEY``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import urlencode

from iptvsync.numbers import ascii_int
from iptvsync.secret_key import key_ring
from iptvsync.settings import Settings

#: How long a signed play URL stays valid: long enough for a player that caches its playlist
#: for a few days (TiviMate and Kodi refresh daily by default).
DEFAULT_TTL_S = 7 * 24 * 3600
PLAY_KINDS = ("channel", "movie", "episode")


def signing_key(settings: Settings) -> bytes:
    """The HMAC key for play URLs (cached by ``key_ring``: a playlist signs thousands)."""
    return key_ring(settings).subkey("play-url key")


def _mac(key: bytes, provider_id: int, kind: str, item_id: int, expires: int) -> str:
    message = f"play:{provider_id}:{kind}:{item_id}:{expires}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(
    settings: Settings,
    provider_id: int,
    kind: str,
    item_id: int,
    *,
    ttl_s: int = DEFAULT_TTL_S,
    now: float | None = None,
) -> str:
    """The ``sig`` value for one play URL, valid for ``ttl_s`` seconds."""
    expires = int((time.time() if now is None else now) + ttl_s)
    return f"{expires}.{_mac(signing_key(settings), provider_id, kind, item_id, expires)}"


def verify(
    settings: Settings,
    provider_id: int,
    kind: str,
    item_id: int,
    sig: str | None,
    *,
    now: float | None = None,
) -> bool:
    """True when ``sig`` was made by ``sign`` for exactly this item and has not expired."""
    if not sig or len(sig) > 64:
        return False
    expires_text, _, mac = sig.partition(".")
    expires = ascii_int(expires_text)
    if expires is None or not mac:
        return False
    if expires < (time.time() if now is None else now):
        return False
    expected = _mac(signing_key(settings), provider_id, kind, item_id, expires)
    return hmac.compare_digest(expected.encode(), mac.encode())


def play_path(provider_id: int, kind: str, item_id: int) -> str:
    return f"/api/providers/{provider_id}/play/{kind}/{item_id}"


def play_query(
    settings: Settings,
    provider_id: int,
    kind: str,
    item_id: int,
    *,
    ttl_s: int = DEFAULT_TTL_S,
    now: float | None = None,
) -> str:
    """``sig=...``: the query string of a signed play URL."""
    return urlencode({"sig": sign(settings, provider_id, kind, item_id, ttl_s=ttl_s, now=now)})


def sign_play_url(
    settings: Settings,
    provider_id: int,
    kind: str,
    item_id: int,
    *,
    base_url: str = "",
    ttl_s: int = DEFAULT_TTL_S,
    now: float | None = None,
) -> str:
    """A complete signed play URL: ``{base_url}/api/providers/{id}/play/{kind}/{item}?sig=``.

    ``base_url`` is how players reach this server (``http://host:8000``); empty gives a path.
    """
    query = play_query(settings, provider_id, kind, item_id, ttl_s=ttl_s, now=now)
    return f"{base_url.rstrip('/')}{play_path(provider_id, kind, item_id)}?{query}"

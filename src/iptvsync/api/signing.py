"""Signed, expiring play URLs: what iptvsync puts in its playlists so players need no headers.

A signature covers (provider id, kind, item id, expiry) and travels as one query parameter,
``sig=<expires>.<mac>``: the Unix time it expires at and an HMAC-SHA256 of the rest (first 16
bytes, base64url). Changing any part of the path, or the expiry, breaks it.

The key, in order of preference: ``settings.secret_key``; else derived from the admin token
(rotating the token then revokes every URL handed out); else a random key kept in
``<data_dir>/play-url.key`` (created once, mode 0600). Replicas that hand out URLs for one
another must share ``IPTVSYNC_SECRET_KEY`` (or the admin token).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from iptvsync.settings import Settings

#: How long a signed play URL stays valid: long enough for a player that caches its playlist
#: for a few days (TiviMate and Kodi refresh daily by default).
DEFAULT_TTL_S = 7 * 24 * 3600
KEY_FILE = "play-url.key"
PLAY_KINDS = ("channel", "movie", "episode")

_keys: dict[tuple[str, ...], bytes] = {}
_lock = threading.Lock()


def signing_key(settings: Settings) -> bytes:
    """The HMAC key for play URLs (see the module docstring for where it comes from)."""
    if settings.secret_key is not None:
        material = settings.secret_key.get_secret_value()
        return hashlib.sha256(b"iptvsync play-url key:" + material.encode()).digest()
    if settings.admin_token is not None:
        token = settings.admin_token.get_secret_value().encode()
        return hmac.new(token, b"iptvsync play-url key", hashlib.sha256).digest()
    # Cached by the data_dir as given: a playlist signs thousands of URLs, and resolving the
    # path (file system calls) on each would cost more than the HMAC.
    cache_key = ("file", str(settings.data_dir))
    key = _keys.get(cache_key)
    if key is None:
        with _lock:
            key = _keys.get(cache_key)
            if key is None:
                key = _load_or_create_key(Path(settings.data_dir) / KEY_FILE)
                _keys[cache_key] = key
    return key


def _load_or_create_key(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        return bytes.fromhex(path.read_text().strip())
    fresh = secrets.token_bytes(32)
    try:
        # O_EXCL: two processes starting at once agree on whichever key was written first.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as f:
        f.write(fresh.hex())
    return fresh


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
    if not expires_text.isdigit() or not mac:
        return False
    expires = int(expires_text)
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

"""The server's secret key: what play URLs are signed with and provider secrets are encrypted
with (docs/security.md). Never derived from the admin token.

Where it comes from: ``IPTVSYNC_SECRET_KEY`` (24+ characters; replicas that hand out URLs for
one another, or share a PostgreSQL database, must share it), else a random key created once in
``<data_dir>/secret.key`` (mode 0600, in a 0700 data dir). Each use derives its own sub-key
(``subkey``), so a play-URL signature says nothing about the encryption key.

Rotation (``iptvsync rotate-key``, ``rotate_file_key``): a new random key is written to
``secret.key.next``, provider secrets are re-encrypted with it, then it becomes ``secret.key``
and the old one ``secret.key.previous``; every play URL signed before stops working. Until the
move is complete, decryption also accepts the ``.next`` and ``.previous`` keys (and
``IPTVSYNC_PREVIOUS_SECRET_KEY``), so a crash half-way loses nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from iptvsync.settings import Settings

KEY_FILE = "secret.key"
NEXT_SUFFIX = ".next"
PREVIOUS_SUFFIX = ".previous"
MIN_SECRET_CHARS = 24
KEY_BYTES = 32

_cache: dict[tuple[str, ...], KeyRing] = {}
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The current key, and older ones still accepted for decryption (never for signing)."""

    current: bytes
    older: tuple[bytes, ...] = ()

    def subkey(self, purpose: str) -> bytes:
        return derive(self.current, purpose)

    def all_subkeys(self, purpose: str) -> list[bytes]:
        return [derive(k, purpose) for k in (self.current, *self.older)]


def derive(master: bytes, purpose: str) -> bytes:
    return hmac.new(master, b"iptvsync " + purpose.encode(), hashlib.sha256).digest()


def security_problems(settings: Settings) -> list[str]:
    """What makes these settings unsafe to start with; empty when they are fine."""
    problems = []
    token = settings.admin_token
    if token is not None:
        value = token.get_secret_value()
        if not value.strip():
            problems.append(
                "IPTVSYNC_ADMIN_TOKEN is set but empty: unset it for open mode (loopback only) "
                f"or set a random token of at least {MIN_SECRET_CHARS} characters"
            )
        elif len(value) < MIN_SECRET_CHARS:
            problems.append(
                f"IPTVSYNC_ADMIN_TOKEN is shorter than {MIN_SECRET_CHARS} characters: use a "
                "random one, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
    for name, key in (
        ("IPTVSYNC_SECRET_KEY", settings.secret_key),
        ("IPTVSYNC_PREVIOUS_SECRET_KEY", settings.previous_secret_key),
    ):
        if key is not None and len(key.get_secret_value().strip()) < MIN_SECRET_CHARS:
            problems.append(f"{name} must be at least {MIN_SECRET_CHARS} characters (or unset)")
    return problems


def key_ring(settings: Settings) -> KeyRing:
    """The keys for these settings (cached: signing a playlist asks thousands of times)."""
    env = settings.secret_key.get_secret_value() if settings.secret_key else ""
    prev = settings.previous_secret_key.get_secret_value() if settings.previous_secret_key else ""
    cache_key = (env, prev, str(settings.data_dir))
    ring = _cache.get(cache_key)
    if ring is None:
        with _lock:
            ring = _cache.get(cache_key)
            if ring is None:
                ring = _cache[cache_key] = _load(settings, env, prev)
    return ring


def forget_cached_keys() -> None:
    """After a rotation in this process: read the keys again."""
    with _lock:
        _cache.clear()


def _load(settings: Settings, env: str, prev: str) -> KeyRing:
    path = Path(settings.data_dir) / KEY_FILE
    older = [hashlib.sha256(prev.encode()).digest()] if prev else []
    if env:
        current = hashlib.sha256(env.encode()).digest()
        with contextlib.suppress(OSError, ValueError):
            older.append(_read(path))  # a file key used before IPTVSYNC_SECRET_KEY was set
    else:
        current = _load_or_create(path)
    for suffix in (NEXT_SUFFIX, PREVIOUS_SUFFIX):
        with contextlib.suppress(OSError, ValueError):
            older.append(_read(path.with_name(KEY_FILE + suffix)))
    return KeyRing(current, tuple(k for k in dict.fromkeys(older) if k != current))


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (0700); an existing data dir is tightened to 0700 as well."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):
        if path.stat().st_mode & 0o077:
            path.chmod(0o700)


def _read(path: Path) -> bytes:
    key = bytes.fromhex(path.read_text().strip())
    if len(key) != KEY_BYTES:  # never an empty or cut key: it would seal secrets readably
        raise ValueError(
            f"{path} does not hold a {KEY_BYTES}-byte key ({2 * KEY_BYTES} hex digits)"
        )
    return key


def _write_new(path: Path, key: bytes) -> None:
    """Create ``path`` holding ``key``, or raise FileExistsError: two processes starting at once
    agree on whichever key was linked first. The key is written to a file of this process's own
    and linked into place whole: created empty and written after (O_EXCL), the file could be
    read in between, and that process used an empty key."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(key.hex())
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, path)
    finally:
        tmp.unlink()


def _load_or_create(path: Path) -> bytes:
    ensure_private_dir(path.parent)
    with contextlib.suppress(FileNotFoundError):
        return _read(path)
    fresh = secrets.token_bytes(KEY_BYTES)
    try:
        _write_new(path, fresh)
    except FileExistsError:
        return _read(path)
    return fresh


def start_file_rotation(settings: Settings) -> tuple[KeyRing, KeyRing]:
    """Step 1 of ``rotate_file_key``: write ``secret.key.next``; (old ring, new ring)."""
    if settings.secret_key is not None:
        raise ValueError(
            "the key comes from IPTVSYNC_SECRET_KEY: set the new key there and the old one in "
            "IPTVSYNC_PREVIOUS_SECRET_KEY, then run `iptvsync rotate-key` (docs/security.md)"
        )
    old = key_ring(settings)
    path = Path(settings.data_dir) / (KEY_FILE + NEXT_SUFFIX)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # left by a rotation that stopped before re-encrypting: start over
    fresh = secrets.token_bytes(KEY_BYTES)
    _write_new(path, fresh)
    return old, KeyRing(fresh, (old.current, *old.older))


def finish_file_rotation(settings: Settings) -> None:
    """Step 3: ``secret.key`` → ``.previous``, ``.next`` → ``secret.key``."""
    path = Path(settings.data_dir) / KEY_FILE
    previous = path.with_name(KEY_FILE + PREVIOUS_SUFFIX)
    with contextlib.suppress(FileNotFoundError):
        previous.unlink()
    os.link(path, previous)  # secret.key exists at every moment: no process makes a new one
    os.replace(path.with_name(KEY_FILE + NEXT_SUFFIX), path)
    forget_cached_keys()

"""Serving snapshots: content negotiation, validators, and a small cache of compressed bodies.

Pure helpers (``negotiate``, ``etag_matches``) plus ``BodyCache``: parts computed per request
(a category's items, a delta) are compressed once per (version, encoding) and kept in a
byte-bounded LRU, so a thousand apps asking for the same delta cost one query.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import brotli
import zstandard

from iptvsync import deflate
from iptvsync.snapshot.files import ENCODINGS

#: Levels for bodies compressed per request: fast, since they are built while a client waits.
DYNAMIC_LEVELS = {"gzip": 5, "br": 4, "zstd": 3}
#: Bodies smaller than this go out uncompressed: the headers would cost more than the saving.
MIN_COMPRESS_BYTES = 512


def parse_accept_encoding(header: str | None) -> dict[str, float]:
    """``"br;q=1.0, gzip;q=0.5, *;q=0"`` → ``{"br": 1.0, "gzip": 0.5, "*": 0.0}``."""
    out: dict[str, float] = {}
    if not header:
        return out
    for part in header.split(","):
        token, *params = (p.strip() for p in part.split(";"))
        if not token:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(1.0, max(0.0, float(value.strip())))
                except ValueError:
                    q = 0.0  # a malformed weight is no consent
        out[token.lower()] = q
    return out


def acceptable(header: str | None, available: tuple[str, ...] = tuple(ENCODINGS)) -> list[str]:
    """The encodings the client accepts at its highest weight (RFC 9110 section 12.5.3), in
    our order of preference (br, zstd, gzip, identity).

    ``*`` stands for every encoding not named; identity is acceptable unless refused by name or
    by ``*;q=0``, and is the answer when nothing else is.
    """
    weights = parse_accept_encoding(header)
    star = weights.get("*")
    best: list[str] = []
    best_q = 0.0
    for enc in available:
        if enc in weights:
            q = weights[enc]
        elif enc == "identity":
            q = star if star is not None else 0.001  # acceptable, least preferred
        else:
            q = star if star is not None else 0.0
        if q <= 0:
            continue
        if q > best_q:
            best, best_q = [enc], q
        elif q == best_q:
            best.append(enc)
    return best or ["identity"]


def negotiate(
    header: str | None,
    available: tuple[str, ...] = tuple(ENCODINGS),
    size_of: Callable[[str], int | None] | None = None,
) -> str:
    """The encoding to send: the highest q wins; among equal weights the smallest body
    (``size_of(encoding)``, bytes, None when unknown), else br, zstd, gzip, identity in order.
    """
    tied = acceptable(header, available)
    if len(tied) == 1 or size_of is None:
        return tied[0]
    sizes = {enc: size_of(enc) for enc in tied}
    known = [enc for enc in tied if sizes[enc] is not None]
    if not known:
        return tied[0]
    return min(known, key=lambda enc: sizes[enc] or 0)  # min keeps the first of equal sizes


def etag_for(version: int, suffix: str = "") -> str:
    return f'W/"{version}{suffix}"'


def etag_matches(header: str | None, etag: str) -> bool:
    """Weak comparison of ``If-None-Match`` against our ETag (``*`` matches anything)."""
    if not header:
        return False
    wanted = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


def compress(data: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return deflate.gzip_bytes(data, DYNAMIC_LEVELS["gzip"])
    if encoding == "br":
        return bytes(brotli.compress(data, mode=brotli.MODE_TEXT, quality=DYNAMIC_LEVELS["br"]))
    if encoding == "zstd":
        return zstandard.ZstdCompressor(level=DYNAMIC_LEVELS["zstd"]).compress(data)
    return data


class BodyCache:
    """A thread-safe LRU of response bodies, bounded by total bytes."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: bytes) -> None:
        if len(value) > self.max_bytes // 4:
            return  # one huge body must not flush everything else
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._items[key] = value
            self._bytes += len(value)
            while self._bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped)

    def get_or_build(self, key: Hashable, build: Callable[[], bytes]) -> bytes:
        value = self.get(key)
        if value is None:
            value = build()
            self.put(key, value)
        return value

    def forget(self, match: Callable[[Hashable], bool]) -> None:
        with self._lock:
            for key in [k for k in self._items if match(k)]:
                self._bytes -= len(self._items.pop(key))


#: One per process: keys start with the provider id and the snapshot version.
BODIES = BodyCache()


def forget_provider(provider_id: int) -> None:
    """Drop every cached body of a provider (after ``clean``)."""
    BODIES.forget(lambda k: isinstance(k, tuple) and bool(k) and k[0] == provider_id)

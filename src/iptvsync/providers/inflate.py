"""A provider body's Content-Encoding, decoded and counted against its limit (the provider
HTTP layer's, for both paths: aiohttp's responses and the page fast path's).

The count is of decoded bytes, in steps of at most the remaining limit, so a gzip bomb ends as
"response too large" after at most the limit was inflated (docs/providers.md §5).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

from iptvsync.errors import ProviderBadResponse
from iptvsync.providers.redact import safe_url

CHUNK = 64 * 1024


def too_large(where: str = "") -> ProviderBadResponse:
    return ProviderBadResponse(f"response too large{where}")


class Inflater:
    """Decodes Content-Encoding and counts decoded bytes against ``limit``."""

    def __init__(self, encoding: str | None, limit: int | None, url: str) -> None:
        encoding = (encoding or "").strip().lower()
        if encoding in ("", "identity"):
            self._zlib: Any = None
        elif encoding in ("gzip", "x-gzip", "deflate"):
            self._zlib = zlib.decompressobj(47)  # gzip or zlib, told apart by the header
        else:
            raise ProviderBadResponse(f"unexpected Content-Encoding ({safe_url(url)})")
        self._deflate = encoding == "deflate"
        self._started = False
        self._limit = limit
        self._seen = 0
        self._url = url

    def _count(self, n: int) -> None:
        self._seen += n
        if self._limit is not None and self._seen > self._limit:
            raise too_large(f" ({safe_url(self._url)}: over {self._limit} bytes)")

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._zlib is None:
            self._count(len(data))
            if data:
                yield data
            return
        step = CHUNK * 4 if self._limit is None else min(CHUNK * 4, self._limit + 1)
        try:
            if not self._started and self._deflate and data:
                self._started = True
                try:  # zlib-wrapped deflate, else raw deflate as some servers send it
                    zlib.decompressobj(47).decompress(data[:64])
                except zlib.error:
                    self._zlib = zlib.decompressobj(-15)
            self._started = True
            out = self._zlib.decompress(data, step)
            while True:
                self._count(len(out))
                if out:
                    yield out
                tail = self._zlib.unconsumed_tail
                if not tail:
                    break
                out = self._zlib.decompress(tail, step)
        except zlib.error as exc:
            raise ProviderBadResponse(f"the provider sent an undecodable body ({exc})") from exc

    def flush(self) -> bytes:
        if self._zlib is None:
            return b""
        try:
            rest: bytes = self._zlib.flush()
        except zlib.error as exc:
            raise ProviderBadResponse("the provider sent an undecodable body") from exc
        self._count(len(rest))
        return rest

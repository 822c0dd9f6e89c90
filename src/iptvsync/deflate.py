"""Gzip for what iptvsync writes: the snapshot's ``.gz`` files, the XMLTV output's ``.gz`` and
the gzip answers made on the fly (``snapshot/serve.py``).

zlib-ng where it is installed (``pyproject.toml`` asks for it on the machines it has wheels
for: x86-64 and 64-bit ARM), the standard library's zlib anywhere else: both write the same
format, which any gzip reader takes. On the 20 MB snapshot of the default catalogue, level 5,
zlib-ng takes 0.10 s of CPU where zlib takes 0.16 s, and its file is 2.6 % smaller (2,518,970
against 2,586,282 bytes): both the sync's end and every download of a client that takes gzip
and not brotli (Android's OkHttp, most HTTP libraries) gain (docs/benchmarks.md, session 21).
``tests/test_deflate.py`` holds both engines to the same bytes once decompressed.
"""

from __future__ import annotations

import zlib
from types import ModuleType
from typing import Protocol


class Compressor(Protocol):
    def compress(self, data: bytes, /) -> bytes: ...

    def flush(self, mode: int = ..., /) -> bytes: ...


def _engine() -> tuple[str, ModuleType]:
    try:
        from zlib_ng import zlib_ng
    except ImportError:  # a machine zlib-ng has no wheels for (32-bit ARM): the same format
        return "zlib", zlib
    return "zlib-ng", zlib_ng


#: Which engine writes gzip here: "zlib-ng" or "zlib".
ENGINE, _zlib = _engine()
#: gzip's header and trailer around a deflate stream (window bits 16 + 15).
_GZIP_WBITS = 16 + zlib.MAX_WBITS


def gzip_compressor(level: int, engine: ModuleType | None = None) -> Compressor:
    """A streaming gzip compressor at ``level`` (``compress`` chunks, then ``flush``)."""
    module = engine or _zlib
    compressor: Compressor = module.compressobj(level, module.DEFLATED, _GZIP_WBITS)
    return compressor


def gzip_bytes(data: bytes, level: int, engine: ModuleType | None = None) -> bytes:
    """``data`` as one gzip member at ``level`` (header time 0: the same input, the same
    bytes)."""
    compressor = gzip_compressor(level, engine)
    return compressor.compress(data) + compressor.flush()

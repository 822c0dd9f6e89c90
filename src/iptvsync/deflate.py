"""Gzip for what iptvsync writes: the snapshot's ``.gz`` files, the XMLTV output's ``.gz`` and
the gzip answers made on the fly (``snapshot/serve.py``).

zlib-ng where it is installed (``pyproject.toml`` asks for it on the machines it has wheels
for: x86-64 and 64-bit ARM), the standard library's zlib anywhere else: both write the same
format, which any gzip reader takes. On the 20 MB snapshot of the default catalogue, zlib's
level 5 (zlib-ng's 6: ``_NG_LEVEL``) takes 0.13 s of CPU where zlib takes 0.16 s, and the file
is 3.0 % smaller (2,507,886 against 2,586,282 bytes): both the sync's end and every download of
a client that takes gzip and not brotli (Android's OkHttp, most HTTP libraries) gain
(docs/benchmarks.md, session 21).
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
#: zlib's level → the zlib-ng level used for it: one up. zlib-ng's levels are its own, and at
#: the same level its output was up to 5 % (level 5) and 21 % (level 6) larger than zlib's on
#: XMLTV whose programmes share one description (the outputs benchmark's guide), though smaller
#: on the snapshot's JSON. One level up it was smaller than zlib's on every sample measured at
#: the two levels iptvsync uses, 5 and 6 (that guide, the fake Xtream guide, the snapshot's
#: JSON, Python's source, Debian's documentation), in 47–81 % of zlib's CPU
#: (docs/benchmarks.md, session 21). Other levels are passed as they are.
_NG_LEVEL = {5: 6, 6: 7}


def gzip_compressor(level: int, engine: ModuleType | None = None) -> Compressor:
    """A streaming gzip compressor at zlib's ``level`` (``compress`` chunks, then ``flush``)."""
    module = engine or _zlib
    if module is not zlib:
        level = _NG_LEVEL.get(level, level)
    compressor: Compressor = module.compressobj(level, module.DEFLATED, _GZIP_WBITS)
    return compressor


def gzip_bytes(data: bytes, level: int, engine: ModuleType | None = None) -> bytes:
    """``data`` as one gzip member at ``level`` (header time 0: the same input, the same
    bytes)."""
    compressor = gzip_compressor(level, engine)
    return compressor.compress(data) + compressor.flush()

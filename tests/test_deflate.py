"""``iptvsync/deflate.py``: gzip written by zlib-ng where it is installed, by the standard
library's zlib elsewhere; both must be gzip any reader takes, of the same bytes."""

from __future__ import annotations

import gzip
import sys
import zlib
from types import ModuleType

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iptvsync import deflate
from iptvsync.fakes.catalogue import generate

zlib_ng = pytest.importorskip("zlib_ng.zlib_ng")


def _document() -> bytes:
    """A snapshot-like JSON document: the fake catalogue's movies as list rows."""
    catalogue = generate(movies=3_000, series=0, channels=0, seed=7)
    rows = [
        {"id": m.id, "name": m.name, "year": m.year, "rating": m.rating, "poster": m.poster}
        for m in catalogue.items("movie")
    ]
    return orjson.dumps({"movies": rows})


def test_zlib_ng_is_the_engine_here() -> None:
    # pyproject.toml asks for it on this machine kind (x86-64): a wheel that failed to install
    # would quietly cost every sync its gain.
    assert deflate.ENGINE == "zlib-ng"


def test_without_zlib_ng_the_standard_library_writes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine zlib-ng has no wheels for (32-bit ARM): the import fails, zlib writes, at
    zlib's own level."""
    monkeypatch.setitem(sys.modules, "zlib_ng", None)  # ``import zlib_ng`` now raises
    engine, module = deflate._engine()
    assert (engine, module) == ("zlib", zlib)
    data = _document()
    assert deflate.gzip_bytes(data, 5, module) == zlib.compress(data, 5, wbits=31)


@pytest.mark.parametrize("engine", [zlib_ng, zlib], ids=["zlib-ng", "zlib"])
def test_both_engines_write_gzip_of_the_same_bytes(engine: ModuleType) -> None:
    data = _document()
    whole = deflate.gzip_bytes(data, 5, engine)
    assert whole[:2] == b"\x1f\x8b"
    assert gzip.decompress(whole) == data
    streamed = deflate.gzip_compressor(5, engine)
    parts = [streamed.compress(data[i : i + 4096]) for i in range(0, len(data), 4096)]
    assert gzip.decompress(b"".join(parts) + streamed.flush()) == data


def _repetitive_guide() -> bytes:
    """XMLTV whose programmes share one description, as the outputs benchmark's guide: where
    zlib-ng's own levels write more than zlib's same ones."""
    desc = "An evening of news, weather and sport, with live reports and tomorrow's papers."
    return "".join(
        f'<programme start="202612{d:02d}{h:02d}0000 +0000" channel="c{k}.tv">'
        f"<title>Programme {h} on c{k}.tv</title><desc>{desc}</desc></programme>\n"
        for k in range(60)
        for d in range(1, 8)
        for h in range(24)
    ).encode()


@pytest.mark.parametrize("level", [5, 6])
@pytest.mark.parametrize("sample", ["snapshot json", "repetitive guide"])
def test_zlib_ng_writes_no_more_than_zlib_at_zlibs_level(sample: str, level: int) -> None:
    """What pays for the dependency besides its CPU (docs/benchmarks.md, session 21): at the
    levels iptvsync uses (5: the snapshot and answers made on the fly; 6: the XMLTV ``.gz``),
    each written at zlib-ng's level one up (``_NG_LEVEL``)."""
    data = _document() if sample == "snapshot json" else _repetitive_guide()
    fast = deflate.gzip_bytes(data, level, zlib_ng)
    plain = deflate.gzip_bytes(data, level, zlib)
    assert len(fast) < len(plain)
    # At zlib-ng's own level, the repetitive guide comes out larger than zlib's.
    same = zlib_ng.compressobj(level, zlib_ng.DEFLATED, 31)
    if sample == "repetitive guide" and level == 5:
        assert len(same.compress(data) + same.flush()) > len(plain)


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=20_000), st.integers(min_value=1, max_value=9))
def test_any_bytes_round_trip_through_either_engine(data: bytes, level: int) -> None:
    for engine in (zlib_ng, zlib):
        assert gzip.decompress(deflate.gzip_bytes(data, level, engine)) == data

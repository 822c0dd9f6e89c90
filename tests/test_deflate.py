"""``iptvsync/deflate.py``: gzip written by zlib-ng where it is installed, by the standard
library's zlib elsewhere; both must be gzip any reader takes, of the same bytes."""

from __future__ import annotations

import gzip
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


@pytest.mark.parametrize("engine", [zlib_ng, zlib], ids=["zlib-ng", "zlib"])
def test_both_engines_write_gzip_of_the_same_bytes(engine: ModuleType) -> None:
    data = _document()
    whole = deflate.gzip_bytes(data, 5, engine)
    assert whole[:2] == b"\x1f\x8b"
    assert gzip.decompress(whole) == data
    streamed = deflate.gzip_compressor(5, engine)
    parts = [streamed.compress(data[i : i + 4096]) for i in range(0, len(data), 4096)]
    assert gzip.decompress(b"".join(parts) + streamed.flush()) == data


def test_zlib_ng_is_no_larger_than_zlib_at_the_same_level() -> None:
    """What pays for the dependency besides its CPU (docs/benchmarks.md, session 21)."""
    data = _document()
    fast = deflate.gzip_bytes(data, 5, zlib_ng)
    plain = deflate.gzip_bytes(data, 5, zlib)
    assert len(fast) <= len(plain)
    assert fast != plain  # really another encoder, not zlib under another name


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=20_000), st.integers(min_value=1, max_value=9))
def test_any_bytes_round_trip_through_either_engine(data: bytes, level: int) -> None:
    for engine in (zlib_ng, zlib):
        assert gzip.decompress(deflate.gzip_bytes(data, level, engine)) == data

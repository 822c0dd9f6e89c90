"""Content negotiation and validators (pure)."""

from __future__ import annotations

import pytest

from iptvsync.snapshot.serve import BodyCache, etag_for, etag_matches, negotiate


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "identity"),
        ("", "identity"),
        ("br", "br"),
        ("gzip", "gzip"),
        ("zstd", "zstd"),
        ("GZIP", "gzip"),
        ("gzip, deflate, br, zstd", "br"),  # equal weights: the smallest encoding
        ("gzip, deflate", "gzip"),
        ("gzip;q=1.0, br;q=0.5", "gzip"),
        ("br;q=0.2, zstd;q=0.8, gzip;q=0.5", "zstd"),
        ("*", "br"),
        ("*;q=0.5, br;q=0", "zstd"),
        ("br;q=0, gzip;q=0, zstd;q=0", "identity"),
        ("identity", "identity"),
        ("identity;q=1, gzip;q=0.5", "identity"),
        ("deflate", "identity"),
        ("br;q=abc, gzip", "gzip"),  # a malformed weight is no consent
        ("br ; q=0.9 , gzip ; q=0.1", "br"),
        ("compress, x-gzip", "identity"),
    ],
)
def test_negotiate(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


def test_etags() -> None:
    etag = etag_for(7)
    assert etag == 'W/"7"'
    assert etag_matches('W/"7"', etag)
    assert etag_matches('"7"', etag), "weak comparison"
    assert etag_matches('W/"6", W/"7"', etag)
    assert etag_matches("*", etag)
    assert not etag_matches('W/"70"', etag)
    assert not etag_matches(None, etag)
    assert not etag_matches("", etag)


def test_body_cache_is_bounded() -> None:
    cache = BodyCache(max_bytes=100)
    for i in range(10):
        cache.put(("p", i), b"x" * 20)
    assert cache.get(("p", 0)) is None and cache.get(("p", 9)) == b"x" * 20
    cache.put(("big",), b"y" * 60)  # over a quarter of the budget: not kept
    assert cache.get(("big",)) is None
    calls: list[int] = []
    assert cache.get_or_build(("k",), lambda: calls.append(1) or b"v") == b"v"
    assert cache.get_or_build(("k",), lambda: calls.append(1) or b"v") == b"v"
    assert calls == [1]

"""Equal weights for br and zstd: the smaller body goes out (docs/api.md, "Snapshot")."""

from __future__ import annotations

import brotli
import pytest
import sqlalchemy as sa
import zstandard
from fastapi.testclient import TestClient

from iptvsync.settings import Settings
from iptvsync.snapshot import serve
from iptvsync.snapshot.build import build_snapshot
from iptvsync.snapshot.serve import acceptable, negotiate
from iptvsync.store.models import snapshots
from tests.api.conftest import Seeded

URL = "/api/providers/1/snapshot"


def test_ties_go_to_the_smaller_size() -> None:
    sizes = {"br": 900, "zstd": 800, "gzip": 1200, "identity": 5000}
    assert acceptable("br, zstd") == ["br", "zstd"]
    assert negotiate("br, zstd", size_of=sizes.get) == "zstd"
    assert negotiate("br, zstd, gzip", size_of={**sizes, "zstd": 901}.get) == "br"
    assert negotiate("br;q=1, zstd;q=0.9", size_of=sizes.get) == "br"  # q still decides first
    assert negotiate("*", size_of=sizes.get) == "zstd"
    assert negotiate("br, zstd", size_of={"br": 5, "zstd": 5}.get) == "br"  # equal: our order
    assert negotiate("br, zstd", size_of=lambda _: None) == "br"  # unknown sizes: our order
    assert negotiate("br, zstd") == "br"


def test_the_snapshot_file_and_a_delta_go_out_in_the_smaller_encoding(
    client: TestClient,
    db: sa.Engine,
    settings: Settings,
    seeded: Seeded,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    build_snapshot(db, settings, seeded.provider_id)
    with db.connect() as conn:
        sizes = conn.execute(sa.select(snapshots.c.sizes)).scalar_one()
    smaller = "zstd" if sizes["zstd"] < sizes["br"] else "br"
    for header in ("br, zstd", "zstd, br", "gzip, br, zstd", "br;q=0.8, zstd;q=0.8, gzip;q=0.5"):
        r = client.get(URL, headers={"Accept-Encoding": header})
        assert r.headers["content-encoding"] == smaller, header
        assert int(r.headers["content-length"]) == sizes[smaller]
    assert (
        client.get(URL, headers={"Accept-Encoding": "br;q=1, zstd;q=0.5"}).headers[
            "content-encoding"
        ]
        == "br"
    )

    # Bodies compressed per request: make zstd the smaller one (br at its fastest, zstd hard).
    monkeypatch.setitem(serve.DYNAMIC_LEVELS, "br", 0)
    monkeypatch.setitem(serve.DYNAMIC_LEVELS, "zstd", 19)
    seeded.catalogue.add_movies(40)
    seeded.resync()
    build_snapshot(db, settings, seeded.provider_id)
    raw = client.get(URL, params={"since": 1}, headers={"Accept-Encoding": "identity"}).content
    made = {
        "br": len(brotli.compress(raw, mode=brotli.MODE_TEXT, quality=0)),
        "zstd": len(zstandard.ZstdCompressor(level=19).compress(raw)),
    }
    assert made["zstd"] < made["br"], made
    expected = "zstd"
    r = client.get(URL, params={"since": 1}, headers={"Accept-Encoding": "br, zstd"})
    assert r.headers["content-encoding"] == expected, made
    # TestClient (httpx) decodes br and zstd itself; the bytes it saw are the smaller ones.
    assert r.content == raw

"""The fake M3U + XMLTV provider serves docs/providers.md §2.7's quirks and its hostile switches."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator

import httpx
import pytest

from iptvsync.fakes.catalogue import Catalogue, generate
from iptvsync.fakes.m3u import BILLION_LAUGHS, M3uFakeConfig, create_app


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return generate(seed=9, movies=40, series=4, channels=60)


@pytest.fixture
async def http(catalogue: Catalogue) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(catalogue, M3uFakeConfig())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://m3u"
    ) as client:
        yield client


async def test_playlist_quirks(http: httpx.AsyncClient) -> None:
    body = (await http.get("/playlist.m3u")).content
    assert body.startswith(b'\xef\xbb\xbf#EXTM3U url-tvg="http://m3u/epg.xml.gz"')
    assert b"#EXT-X-SESSION-DATA" in body
    for marker in (
        b"\r\n",
        b"tvg-chno=",  # unquoted value
        b"group-title='",  # single quotes
        b"tvg-ID=",
        b"#EXTGRP:",
        b"#EXTVLCOPT:http-user-agent=",
        b"#KODIPROP:",
        b'" ,',  # space before the name's comma
        b",x.png",  # comma inside a logo URL
        b"#EXTINF:-1 ,Orphan",
        b'radio="true"',
        b"?token=",
        b"/movie/u/p/",
        b"/files/",
        b"/series/u/p/",
    ):
        assert marker in body, marker
    text = body.decode()
    assert any(s in text for s in (" S01E01", " 1x01", " Season 1 Episode 1"))


async def test_tokens_rotate_and_gzip_variant(http: httpx.AsyncClient) -> None:
    first = (await http.get("/playlist.m3u")).content
    second = (await http.get("/playlist.m3u")).content
    assert first != second and len(first) == len(second)
    gz = (await http.get("/playlist.m3u.gz")).content
    assert gz[:2] == b"\x1f\x8b" and gzip.decompress(gz).startswith(b"\xef\xbb\xbf#EXTM3U")


async def test_playlist_switches(http: httpx.AsyncClient) -> None:
    await http.post("/_control/config", json={"playlist": "html"})
    page = await http.get("/playlist.m3u")
    assert page.status_code == 200 and page.text.startswith("<!DOCTYPE html>")
    await http.post("/_control/config", json={"playlist": "status:403"})
    assert (await http.get("/playlist.m3u")).status_code == 403
    await http.post("/_control/config", json={"playlist": "binary"})
    assert b"\x00" in (await http.get("/playlist.m3u")).content[:10]
    await http.post("/_control/config", json={"playlist": "junk"})
    assert b"\x00" in (await http.get("/playlist.m3u")).content


async def test_guide_modes(http: httpx.AsyncClient) -> None:
    plain = (await http.get("/epg.xml")).content
    assert plain.startswith(b"<?xml") and plain.rstrip().endswith(b"</tv>")
    assert gzip.decompress((await http.get("/epg.xml.gz")).content) == plain
    await http.post("/_control/config", json={"xmltv": "billion_laughs"})
    assert (await http.get("/epg.xml")).content == BILLION_LAUGHS
    await http.post("/_control/config", json={"xmltv": "truncated"})
    cut = (await http.get("/epg.xml")).content
    assert plain.startswith(cut) and len(cut) < len(plain)


async def test_stream_routes_and_control(http: httpx.AsyncClient) -> None:
    response = await http.get("/u/p/1.ts")
    assert response.status_code == 302
    ids = (await http.post("/_control/add", json={"kind": "channel", "n": 1})).json()["ids"]
    body = (await http.get("/playlist.m3u")).content
    assert f"/{ids[0]}.".encode() in body
    stats = (await http.get("/_control/stats")).json()
    assert stats["downloads"] == 1 and stats["stats"]["stream"] == 1

"""The M3U client's shortcuts for big playlists give the same answers as the plain way.

- ``url_path`` skips ``urlsplit`` for plain URLs: same path as ``urlsplit`` for any string;
- ``categories`` reads the groups of every kind in one pass and keeps them for the same file;
- ``walk`` classifies entries first and builds records (or only the series) for its scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import aclosing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.m3u import FakeM3uProvider, M3uFakeConfig, playlist_lines
from iptvsync.providers.base import ProviderConfig
from iptvsync.providers.http import build_http_client
from iptvsync.providers.m3u.client import M3uClient
from iptvsync.providers.m3u.entries import EpisodeEntry
from iptvsync.providers.m3u.parse import url_path
from iptvsync.providers.pages import looks_adult
from iptvsync.records import CategoryRecord, ChannelRecord, Kind, MovieRecord, Page, Scope

PIECES = [
    "http://", "https://", "HTTP://", "rtmp://", "udp://@", "a+b.c-d://", "1x://", "file:///",
    "//", "/", "?", "#", "[::1]", "[", "]", ":8080", ":x", "host", "a.b", "%20", " ", "\t",
    "\n", "\x00", "é", "|User-Agent=x", ".m3u8", ".mkv", "series", "movie", "=", "&",
]  # fmt: skip


def _reference_path(url: str) -> str:
    try:
        return urlsplit(url.split("|", 1)[0]).path
    except ValueError:
        return ""


@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=3), max_size=10).map("".join))
def test_path_is_urlsplits_path(url: str) -> None:
    url_path.cache_clear()
    assert url_path(url) == _reference_path(url)


@pytest.fixture(scope="module")
def playlist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fake's quirky playlist with binary junk between entries, as a local file."""
    catalogue = generate(seed=31, movies=300, series=15, channels=200)
    provider = FakeM3uProvider(catalogue, M3uFakeConfig(playlist="junk"))
    path = tmp_path_factory.mktemp("m3u") / "list.m3u"
    path.write_bytes(b"".join(playlist_lines(provider, "http://m3u.test")))
    return path


def _client(path: Path) -> M3uClient:
    return M3uClient(ProviderConfig(kind="m3u", url=str(path)), build_http_client())


async def _records(client: M3uClient) -> list[Any]:
    async with aclosing(client.records()) as records:
        return [record async for record in records]


def _kind(record: Any) -> Kind:
    return Kind.SERIES if isinstance(record, EpisodeEntry) else Kind(record.kind)


def _groups_by_kind(records: Iterable[Any]) -> dict[Kind, list[CategoryRecord]]:
    """What ``categories`` answered when it filtered ``records()`` once per kind."""
    out: dict[Kind, dict[str, CategoryRecord]] = {k: {} for k in Kind}
    for record in records:
        kind = _kind(record)
        groups = (
            record.series.category_ids if isinstance(record, EpisodeEntry) else record.category_ids
        )
        seen = out[kind]
        for title in groups:
            if title not in seen:
                seen[title] = CategoryRecord(kind, title, title, looks_adult(title), len(seen))
    return {k: list(v.values()) for k, v in out.items()}


async def test_one_pass_categories_match_a_pass_per_kind(playlist: Path) -> None:
    client = _client(playlist)
    expected = _groups_by_kind(await _records(client))
    for kind in Kind:
        assert await client.categories(kind) == expected[kind], kind
    assert all(expected[k] for k in Kind)


async def test_categories_are_read_again_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "list.m3u"
    path.write_text('#EXTM3U\n#EXTINF:-1 group-title="News",A\nhttp://h/live/1.ts\n')
    client = _client(path)
    assert [c.title for c in await client.categories(Kind.CHANNEL)] == ["News"]
    path.write_text(
        '#EXTM3U\n#EXTINF:-1 group-title="Sport",A\nhttp://h/live/1.ts\n'
        '#EXTINF:-1 group-title="Films",B (2001)\nhttp://h/movie/u/p/2.mkv\n'
    )
    assert [c.title for c in await client.categories(Kind.CHANNEL)] == ["Sport"]
    assert [c.title for c in await client.categories(Kind.MOVIE)] == ["Films"]


async def test_walks_give_the_records_of_their_scope(playlist: Path) -> None:
    client = _client(playlist)
    records = await _records(client)
    expected: dict[str, dict[str, Any]] = {"live": {}, "vod": {}, "series": {}}
    for record in records:
        if isinstance(record, EpisodeEntry):
            expected["series"].setdefault(record.series.provider_item_id, record.series)
        elif isinstance(record, ChannelRecord):
            expected["live"].setdefault(record.provider_item_id, record)
        else:
            assert isinstance(record, MovieRecord)
            expected["vod"].setdefault(record.provider_item_id, record)
    got: dict[str, dict[str, Any]] = {"live": {}, "vod": {}, "series": {}}

    async def on_page(page: Page) -> bool:
        for record in page.records:
            got[page.stream].setdefault(record.provider_item_id, record)
        return True

    for scope in (Scope.CHANNELS, Scope.VOD):
        result = await client.walk(scope, on_page)
        assert result.complete
    for stream in expected:
        assert got[stream].keys() == expected[stream].keys(), stream
        # First copies are equal (later duplicates only add categories).
        assert list(got[stream].values()) == list(expected[stream].values()), stream
    assert all(expected.values())

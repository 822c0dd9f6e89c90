"""M3uClient against the fake M3U + XMLTV provider, in-process: exact counts, stable identity
across downloads, series grouped from the playlist, guide from the header, hostile switches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from iptvsync.errors import (
    ProviderAccountExpired,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderBanned,
    ProviderError,
    ProviderUnreachable,
)
from iptvsync.fakes.catalogue import Catalogue, generate
from iptvsync.fakes.items import seasons
from iptvsync.fakes.m3u import M3uFakeConfig, create_app
from iptvsync.fakes.server import ServedHttp
from iptvsync.fakes.xtream import guide_anchor, guided_channels, schedule
from iptvsync.providers.base import PlayTarget, ProviderConfig
from iptvsync.providers.budget import BudgetConfig, PolitenessBudget
from iptvsync.providers.http import ProviderHttp, build_http_client
from iptvsync.providers.m3u import client as m3u_client
from iptvsync.providers.m3u.client import M3uClient
from iptvsync.providers.m3u.entries import series_key
from iptvsync.records import ChannelRecord, Kind, Page, Scope


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return generate(seed=5, movies=1_100, series=12, channels=150)


@pytest.fixture
async def fake(catalogue: Catalogue) -> AsyncIterator[tuple[Any, ProviderHttp]]:
    app = create_app(catalogue, M3uFakeConfig())
    async with ServedHttp(app) as http:
        yield app.state.provider, http


def make_client(http: ProviderHttp, path: str = "/playlist.m3u", **config: Any) -> M3uClient:
    fast = PolitenessBudget(BudgetConfig(backoff_base_s=0.001, backoff_cap_s=0.01))
    return M3uClient(
        ProviderConfig(kind="m3u", url=f"http://m3u{path}", options={"retries": 1}, **config),
        http,
        budget=fast,
    )


async def walk(client: M3uClient, scope: Scope) -> tuple[dict[str, dict[str, Any]], Any]:
    out: dict[str, dict[str, Any]] = {}

    async def on_page(page: Page) -> bool:
        for record in page.records:
            out.setdefault(page.stream, {})[record.provider_item_id] = record
        return True

    result = await client.walk(scope, on_page)
    return out, result


def series_titles(catalogue: Catalogue) -> set[str]:
    return {" ".join(s.name.casefold().split()) for s in catalogue.series}


@pytest.mark.parametrize("path", ["/playlist.m3u", "/playlist.m3u.gz"])
async def test_counts_match_the_catalogue(
    fake: tuple[Any, ProviderHttp], catalogue: Catalogue, path: str
) -> None:
    provider, http = fake
    client = make_client(http, path)
    probe = await client.probe()
    assert probe.family == "m3u"
    assert probe.counts == {
        "channels": len(catalogue.channels),
        "movies": len(catalogue.movies),
        "series": len(series_titles(catalogue)),
    }
    channels, result = await walk(client, Scope.CHANNELS)
    assert result.complete
    assert any("without a URL" in w for w in result.warnings)  # the orphans of the fake
    live: dict[str, ChannelRecord] = channels["live"]
    assert len(live) == len(catalogue.channels)
    assert sorted(c.number or 0 for c in live.values()) == sorted(
        c.number if not c.radio else 0 for c in catalogue.channels
    )
    assert sum(c.radio for c in live.values()) == sum(c.radio for c in catalogue.channels)
    by_number = {c.number: c for c in live.values() if c.number}
    for ch in catalogue.channels:
        if ch.radio:
            continue
        got = by_number[ch.number]
        assert got.name == ch.name
        assert got.epg_id == ch.xmltv_id
        assert got.archive_days == (ch.archive_days if ch.archive else None)
        title = catalogue.get_category(ch.category_id).title  # type: ignore[union-attr]
        assert got.category_ids == (title,)

    vod, result = await walk(client, Scope.VOD)
    assert result.complete
    assert len(vod["vod"]) == len(catalogue.movies)
    assert {m.name for m in vod["vod"].values()} == {m.name for m in catalogue.movies}
    assert {s.name.casefold() for s in vod["series"].values()} == series_titles(catalogue)
    # One download served probe and both walks (the playlist is spooled to disk).
    assert provider.downloads == 1
    await client.aclose()


async def test_identity_is_stable_across_downloads(fake: tuple[Any, ProviderHttp]) -> None:
    provider, http = fake
    first, _ = await walk(make_client(http), Scope.CHANNELS)
    second, _ = await walk(make_client(http), Scope.CHANNELS)
    assert provider.downloads == 2
    tokenised = [c for c in first["live"].values() if c.cmd and "token=" in c.cmd]
    assert tokenised, "the fake puts rotating tokens in some URLs"
    assert set(first["live"]) == set(second["live"])
    key = tokenised[0].provider_item_id
    assert first["live"][key].cmd != second["live"][key].cmd  # same entry, new token


async def test_categories(fake: tuple[Any, ProviderHttp], catalogue: Catalogue) -> None:
    _, http = fake
    client = make_client(http)
    for kind, fake_kind in ((Kind.CHANNEL, "channel"), (Kind.MOVIE, "movie")):
        cats = await client.categories(kind)
        used = {
            catalogue.get_category(i.category_id).title  # type: ignore[union-attr]
            for i in catalogue.items(fake_kind)
        }
        assert {c.provider_category_id for c in cats} == used
        assert all(c.provider_category_id == c.title and c.kind is kind for c in cats)
    series_cats = await client.categories(Kind.SERIES)
    assert any(c.censored for c in series_cats) == any(
        catalogue.get_category(s.category_id).censored  # type: ignore[union-attr]
        for s in catalogue.series
    )


async def test_series_detail_groups_episodes(
    fake: tuple[Any, ProviderHttp], catalogue: Catalogue
) -> None:
    _, http = fake
    client = make_client(http)
    names = [s.name for s in catalogue.series]
    for show in catalogue.series[:3]:  # three spellings of the episode marker
        if names.count(show.name) > 1:
            continue
        got = await client.series_detail(series_key(show.name))
        want = seasons(show)
        assert [(s.number, [e.number for e in s.episodes]) for s in got] == [
            (s.number, [e.number for e in s.episodes]) for s in want
        ]
        episode = got[0].episodes[0]
        first = want[0].episodes[0]
        assert episode.cmd == f"http://m3u/series/u/p/{first.id}.{first.extension}"
        assert episode.extension == first.extension
        play = await client.resolve_play(
            PlayTarget("episode", episode.provider_item_id, cmd=episode.cmd)
        )
        assert play == episode.cmd
    assert await client.series_detail("s-unknown") == []


async def test_resolve_play_finds_the_entry_without_cmd(
    fake: tuple[Any, ProviderHttp],
) -> None:
    _, http = fake
    client = make_client(http)
    channels, _ = await walk(client, Scope.CHANNELS)
    with_headers = next(c for c in channels["live"].values() if c.cmd)
    assert await client.resolve_play(PlayTarget("channel", with_headers.provider_item_id)) == (
        with_headers.cmd
    )
    assert await client.resolve_play(
        PlayTarget("channel", "x", cmd="http://h/1.ts|User-Agent=VLC")
    ) == ("http://h/1.ts")
    with pytest.raises(ProviderBadResponse):
        await client.resolve_play(PlayTarget("channel", "u-not-there"))


async def test_guide_from_the_playlist_header(
    fake: tuple[Any, ProviderHttp], catalogue: Catalogue
) -> None:
    provider, http = fake
    provider.config.epg_channels = 4
    anchor = guide_anchor(provider.config)
    want = sum(
        len(list(schedule(c, anchor, provider.config.epg_hours)))
        for c in guided_channels(catalogue, 4)
    )
    client = make_client(http)
    guide = client.guide()
    assert guide is not None  # header not read yet: the guide reads it first
    assert len([p async for p in guide]) == want
    assert client.header is not None and client.header.guide_urls == ["http://m3u/epg.xml.gz"]
    explicit = make_client(http, epg_url="http://m3u/epg.xml")
    assert len([p async for p in explicit.guide()]) == want  # type: ignore[union-attr]


async def test_no_guide_when_the_playlist_names_none(tmp_path: Path) -> None:
    playlist = tmp_path / "list.m3u"
    playlist.write_text("#EXTM3U\n#EXTINF:-1,A\nhttp://h/a.ts\n")
    async with build_http_client() as http:
        client = M3uClient(ProviderConfig(kind="m3u", url=playlist.as_uri()), http)
        channels, result = await walk(client, Scope.CHANNELS)
        assert len(channels["live"]) == 1 and result.complete
        assert client.guide() is None
        assert client.requests == 0


@pytest.mark.parametrize(
    ("switches", "error"),
    [
        ({"playlist": "binary"}, ProviderBadResponse),
        ({"playlist": "html"}, ProviderBadResponse),
        ({"playlist": "expired"}, ProviderAccountExpired),
        ({"playlist": "status:401"}, ProviderAuthFailed),
        ({"playlist": "status:403"}, ProviderBanned),
        ({"playlist": "status:404"}, ProviderBadResponse),
        ({"playlist": "status:503"}, ProviderUnreachable),
    ],
)
async def test_hostile_playlists(
    fake: tuple[Any, ProviderHttp], switches: dict[str, str], error: type
) -> None:
    provider, http = fake
    provider.set(**switches)
    client = make_client(http)
    with pytest.raises(error):
        await walk(client, Scope.CHANNELS)
    assert client._spool is None  # nothing half-downloaded is kept


async def test_junk_lines_are_skipped(fake: tuple[Any, ProviderHttp], catalogue: Catalogue) -> None:
    provider, http = fake
    provider.config.playlist = "junk"
    channels, result = await walk(make_client(http), Scope.CHANNELS)
    assert len(channels["live"]) == len(catalogue.channels)
    assert any("unreadable" in w for w in result.warnings)


@pytest.mark.parametrize("mode", ["billion_laughs", "external_entity", "truncated", "html"])
async def test_hostile_guides_are_refused_with_a_typed_error(
    fake: tuple[Any, ProviderHttp], mode: str
) -> None:
    provider, http = fake
    provider.config.xmltv = mode
    guide = make_client(http, epg_url="http://m3u/epg.xml.gz").guide()
    assert guide is not None
    with pytest.raises(ProviderError) as info:
        async for _ in guide:
            pass
    assert isinstance(info.value, ProviderBadResponse)


async def test_a_client_nobody_closed_leaves_no_download_behind(
    fake: tuple[Any, ProviderHttp],
) -> None:
    import gc

    _, http = fake
    client = make_client(http)
    await client.categories(Kind.CHANNEL)
    spool = client._spool
    assert spool is not None and spool.exists()
    del client
    gc.collect()
    assert not spool.exists()
    closed = make_client(http)
    await closed.categories(Kind.CHANNEL)
    kept = closed._spool
    assert kept is not None and kept.exists()
    await closed.aclose()
    assert not kept.exists()


async def test_one_pass_serves_the_categories_and_both_walks(
    fake: tuple[Any, ProviderHttp], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, http = fake
    client = make_client(http)
    passes = 0
    build = m3u_client.build_index

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal passes
        passes += 1
        return build(*args, **kwargs)

    monkeypatch.setattr(m3u_client, "build_index", counted)
    pages: dict[str, list[Page]] = {}

    async def on_page(page: Page) -> bool:
        pages.setdefault(page.stream, []).append(page)
        return True

    live_cats = await client.categories(Kind.CHANNEL)
    await client.walk(Scope.CHANNELS, on_page)
    movie_cats = await client.categories(Kind.MOVIE)
    await client.walk(Scope.VOD, on_page)
    assert passes == 1
    assert live_cats and movie_cats
    assert set(pages) == {"live", "vod", "series"}
    # The replayed walk gives what a pass over the entries gives: every movie once.
    movies = [r for p in pages["vod"] for r in p.records]
    assert len(movies) == len({r.provider_item_id for r in movies}) > 0
    assert client._index is not None
    index_files = client._index.files()
    assert len(index_files) == 3  # a small file: one part, a file per stream
    assert all(f.exists() for f in index_files)
    # A new download (the cache expired) is a new file: indexed again.
    client._cache_s = 0
    await client.categories(Kind.CHANNEL)
    assert passes == 2
    assert not any(f.exists() for f in index_files), "the old index was deleted"
    await client.aclose()
    assert client._index is None

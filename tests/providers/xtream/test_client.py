"""XtreamClient against the fake panel, served on a loopback port: counts, failures,
series info on demand, play URLs, guide."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from iptvsync.errors import (
    ProviderAccountExpired,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderBanned,
)
from iptvsync.fakes.catalogue import Catalogue, generate
from iptvsync.fakes.items import seasons
from iptvsync.fakes.server import ServedHttp
from iptvsync.fakes.xtream import XtreamFakeConfig, create_app, guided_channels, schedule
from iptvsync.providers.base import PlayTarget, ProviderConfig
from iptvsync.providers.budget import BudgetConfig, PolitenessBudget
from iptvsync.providers.http import ProviderHttp
from iptvsync.providers.xtream.client import PAGE_SIZE, XtreamClient
from iptvsync.records import ChannelRecord, Kind, Page, Scope


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return generate(seed=5, movies=1_200, series=40, channels=150)


class Panel:
    def __init__(self, catalogue: Catalogue, **switches: Any) -> None:
        self.app = create_app(catalogue, XtreamFakeConfig(**switches))
        self.config: XtreamFakeConfig = self.app.state.provider.config
        self.stats = self.app.state.provider.stats


@pytest.fixture
async def panel_http(catalogue: Catalogue) -> AsyncIterator[tuple[Panel, ProviderHttp]]:
    panel = Panel(catalogue)
    async with ServedHttp(panel.app) as http:
        yield panel, http


def make_client(
    http: ProviderHttp, username: str = "user", password: str = "pass", **options: Any
) -> XtreamClient:
    config = ProviderConfig(
        kind="xtream",
        url="http://panel/player_api.php?username=x",
        username=username,
        password=password,
        options={"retries": 2, **options},
    )
    fast = PolitenessBudget(BudgetConfig(backoff_base_s=0.001, backoff_cap_s=0.01))
    return XtreamClient(config, http, budget=fast)


async def collect(client: XtreamClient, scope: Scope) -> tuple[list[Page], Any]:
    pages: list[Page] = []

    async def on_page(page: Page) -> bool:
        pages.append(page)
        return True

    result = await client.walk(scope, on_page)
    return pages, result


def by_id(pages: list[Page], stream: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for page in pages:
        if page.stream == stream:
            for record in page.records:
                out[record.provider_item_id] = record  # later copies win, as on upsert
    return out


@pytest.mark.parametrize("family", ["xtream", "xui"])
async def test_probe_and_walk_counts_match_the_catalogue(
    panel_http: tuple[Panel, ProviderHttp], catalogue: Catalogue, family: str
) -> None:
    panel, http = panel_http
    panel.config.family = family
    client = make_client(http)
    probe = await client.probe()
    assert probe.family == family
    assert probe.account.status == "active" and probe.account.expires_at is not None
    assert probe.counts == {"channels": 150, "movies": 1_200, "series": 40}
    assert probe.endpoint == "http://panel"

    pages, result = await collect(client, Scope.VOD)
    assert result.complete and not result.warnings
    movies, series = by_id(pages, "vod"), by_id(pages, "series")
    assert set(movies) == {str(m.id) for m in catalogue.movies}
    assert set(series) == {str(s.id) for s in catalogue.series}
    assert all(len(p.records) <= PAGE_SIZE for p in pages)
    assert [p.number for p in pages if p.stream == "vod"] == [1, 2]
    last = [p for p in pages if p.stream == "vod"][-1]
    assert (last.total_pages, last.total_items) == (2, 1_200)
    movie = catalogue.movies[10]
    got = movies[str(movie.id)]
    assert (got.name, got.extension) == (movie.name, movie.extension)
    # XC 2.x rows carry no year (only a "(2019)" suffix in some names); XUI rows do.
    assert got.year == (movie.year if family == "xui" else None) or movie.name.endswith(")")
    assert got.category_ids[0] == str(movie.category_id)
    if movie.rating is not None:
        assert got.rating == pytest.approx(movie.rating)

    pages, result = await collect(client, Scope.CHANNELS)
    channels = by_id(pages, "live")
    assert set(channels) == {str(c.id) for c in catalogue.channels}
    radio = {k for k, v in channels.items() if v.radio}
    assert radio == {str(c.id) for c in catalogue.channels if c.radio}
    archived = next(c for c in catalogue.channels if c.archive)
    assert channels[str(archived.id)].archive_days == archived.archive_days

    cats = await client.categories(Kind.MOVIE)
    assert {c.provider_category_id for c in cats} == {
        str(c.id) for c in catalogue.categories_of("movie")
    }
    assert any(c.censored for c in cats)


@pytest.mark.parametrize("family", ["xtream", "xui"])
async def test_quirky_panel_duplicates_nulls_bom_latin1(
    panel_http: tuple[Panel, ProviderHttp], catalogue: Catalogue, family: str
) -> None:
    panel, http = panel_http
    for key, value in dict(
        family=family, duplicates=True, nulls=True, bom=True, latin1=True
    ).items():
        setattr(panel.config, key, value)
    client = make_client(http)
    pages, result = await collect(client, Scope.CHANNELS)
    assert result.complete
    assert any("without an id" in w for w in result.warnings)
    channels: dict[str, ChannelRecord] = by_id(pages, "live")
    assert set(channels) == {str(c.id) for c in catalogue.channels}
    doubled = next(c for c in catalogue.channels if c.id % 5 == 0)
    assert len(channels[str(doubled.id)].category_ids) == 2
    assert channels[str(doubled.id)].category_ids[0] == str(doubled.category_id)
    nameless = next(c for c in catalogue.channels if c.id % 97 == 0)
    assert channels[str(nameless.id)].name == f"Channel {nameless.id}"

    pages, _ = await collect(client, Scope.VOD)
    movies = by_id(pages, "vod")
    assert len(movies) == len(catalogue.movies)
    accented = next(m for m in catalogue.movies if "é" in m.name and m.id % 97)
    # The Latin-1 byte becomes U+FFFD; the row (and the list) survive.
    assert movies[str(accented.id)].name == accented.name.replace("é", "\ufffd")


@pytest.mark.parametrize(
    ("family", "account", "error"),
    [
        ("xtream", "auth0", ProviderAuthFailed),
        ("xtream", "expired", ProviderAccountExpired),
        ("xui", "expired", ProviderAccountExpired),
        ("xtream", "expired_status", ProviderAccountExpired),
        ("xtream", "banned", ProviderBanned),
        ("xtream", "disabled", ProviderAuthFailed),
        ("xui", "html404", ProviderAuthFailed),
    ],
)
async def test_account_refusals(
    panel_http: tuple[Panel, ProviderHttp], family: str, account: str, error: type
) -> None:
    panel, http = panel_http
    panel.config.family, panel.config.account = family, account
    with pytest.raises(error):
        await make_client(http).probe()


@pytest.mark.parametrize("family", ["xtream", "xui"])
async def test_bad_credentials_are_not_retried(
    panel_http: tuple[Panel, ProviderHttp], family: str
) -> None:
    panel, http = panel_http
    panel.config.family = family
    client = make_client(http, password="wrong")
    with pytest.raises(ProviderAuthFailed) as info:
        await client.probe()
    assert client.requests == 1
    assert "wrong" not in str(info.value)


async def test_never_expiring_account(panel_http: tuple[Panel, ProviderHttp]) -> None:
    panel, http = panel_http
    panel.config.account = "never_expires"
    probe = await make_client(http, probe_counts=False).probe()
    assert probe.account.expires_at is None
    assert probe.counts == {"channels": None, "movies": None, "series": None}


async def test_blocked_user_agent(panel_http: tuple[Panel, ProviderHttp]) -> None:
    panel, http = panel_http
    panel.config.blocked_user_agents = ["python-httpx", "python-requests"]
    assert (await make_client(http, probe_counts=False).probe()).family == "xtream"
    with pytest.raises(ProviderBanned):
        await make_client(http, user_agent="python-requests/2.31").probe()


async def test_transient_failures_are_retried(panel_http: tuple[Panel, ProviderHttp]) -> None:
    panel, http = panel_http
    panel.config.fail_next = 1
    panel.config.busy_next = 1
    client = make_client(http, probe_counts=False)
    assert (await client.probe()).family == "xtream"
    assert client.requests == 3


async def test_empty_body_gives_up_as_bad_response(
    panel_http: tuple[Panel, ProviderHttp],
) -> None:
    panel, http = panel_http
    panel.config.empty_body = True
    client = make_client(http)
    with pytest.raises(ProviderBadResponse):
        await client.probe()
    assert client.requests == 3  # one try and two retries


async def test_truncated_list_is_a_bad_response(
    panel_http: tuple[Panel, ProviderHttp],
) -> None:
    panel, http = panel_http
    panel.config.truncate_lists = True
    with pytest.raises(ProviderBadResponse, match="truncated"):
        await collect(make_client(http), Scope.VOD)


async def test_list_answered_with_auth0(panel_http: tuple[Panel, ProviderHttp]) -> None:
    panel, http = panel_http
    client = make_client(http)
    await client.authenticate()
    panel.config.lists_auth0 = True
    with pytest.raises(ProviderAuthFailed):
        await collect(client, Scope.CHANNELS)


async def test_handler_stop_makes_the_walk_incomplete(
    panel_http: tuple[Panel, ProviderHttp],
) -> None:
    _, http = panel_http
    seen: list[str] = []

    async def on_page(page: Page) -> bool:
        seen.append(page.stream)
        return False

    result = await make_client(http).walk(Scope.VOD, on_page)
    assert seen == ["vod", "series"]
    assert not result.complete and result.stop_reason == "early_termination"


async def test_series_detail_every_shape(
    panel_http: tuple[Panel, ProviderHttp], catalogue: Catalogue
) -> None:
    _, http = panel_http
    client = make_client(http)
    for show in catalogue.series[:4]:  # ids % 4 cover all four shapes of the fake
        got = await client.series_detail(str(show.id))
        want = seasons(show)
        assert [s.number for s in got] == [s.number for s in want]
        for got_season, want_season in zip(got, want, strict=True):
            assert [
                (e.provider_item_id, e.number, e.name, e.extension) for e in got_season.episodes
            ] == [(str(e.id), e.number, e.name, e.extension) for e in want_season.episodes]
    assert await client.series_detail("123") == []


async def test_movie_detail(panel_http: tuple[Panel, ProviderHttp], catalogue: Catalogue) -> None:
    panel, http = panel_http
    client = make_client(http)
    movie = catalogue.movies[3]
    got = await client.movie_detail(str(movie.id))
    assert got is not None
    assert (got.description, got.director, got.duration_min) == (
        movie.description,
        movie.director,
        movie.duration_min,
    )
    panel.config.vod_info_empty = True
    bare = await client.movie_detail(str(movie.id))
    assert bare is not None and bare.name == movie.name and bare.description is None


async def test_play_urls(panel_http: tuple[Panel, ProviderHttp]) -> None:
    _, http = panel_http
    client = make_client(http, username="my@account.xc", password="p/ss w")
    assert await client.resolve_play(PlayTarget("movie", "12", extension="mkv")) == (
        "http://panel/movie/my@account.xc/p%2Fss%20w/12.mkv"
    )
    assert await client.resolve_play(PlayTarget("episode", "20000001", extension="mp4")) == (
        "http://panel/series/my@account.xc/p%2Fss%20w/20000001.mp4"
    )
    assert (await client.resolve_play(PlayTarget("channel", "7"))).endswith(
        "/live/my@account.xc/p%2Fss%20w/7.ts"
    )
    with pytest.raises(ProviderBadResponse):
        await client.resolve_play(PlayTarget("channel", "../x"))
    assert "p/ss" not in repr(client)


async def test_play_url_answers_302_and_uses_m3u8_when_allowed(
    panel_http: tuple[Panel, ProviderHttp],
) -> None:
    _, http = panel_http
    client = make_client(http, probe_counts=False)
    await client.probe()
    url = await client.resolve_play(PlayTarget("channel", "7"))
    assert url.endswith("/live/user/pass/7.m3u8")
    assert isinstance(http, ServedHttp)
    async with httpx.AsyncClient() as plain:  # the redirect itself, not followed
        response = await plain.get(url.replace("http://panel", http.server.url))
    assert response.status_code == 302 and response.headers["location"] == "/_asset/stream.m3u8"


async def test_guide_from_xmltv_php(
    panel_http: tuple[Panel, ProviderHttp], catalogue: Catalogue
) -> None:
    panel, http = panel_http
    panel.config.epg_channels = 5
    from iptvsync.fakes.xtream import guide_anchor

    anchor = guide_anchor(panel.config)
    want = sum(
        len(list(schedule(ch, anchor, panel.config.epg_hours)))
        for ch in guided_channels(catalogue, 5)
    )
    guide = make_client(http).guide()
    assert guide is not None
    programmes = [p async for p in guide]
    assert len(programmes) == want
    assert all(p.stop > p.start and p.start.utcoffset() is not None for p in programmes)
    first = next(iter(guided_channels(catalogue, 1)))
    mine = sorted((p for p in programmes if p.channel_key == first.xmltv_id), key=lambda p: p.start)
    assert mine[0].start == anchor  # offsets in the file, UTC after parsing
    assert make_client(http, guide="none").guide() is None


async def test_short_epg(panel_http: tuple[Panel, ProviderHttp], catalogue: Catalogue) -> None:
    _, http = panel_http
    channel = next(c for c in catalogue.channels if c.xmltv_id)
    programmes = await make_client(http).short_epg(str(channel.id))
    assert len(programmes) == 4
    assert programmes[0].channel_key == channel.xmltv_id
    assert programmes[0].title and programmes[0].title.isprintable()

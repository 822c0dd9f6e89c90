"""StalkerClient against portal quirks seen on an independent portal (issue 16), over real
sockets, on both families of the fake: the raw MAC cookie, hidden categories filtered by a
parameter the portal may ignore, a series module on a stock path, season rows in another
shape, portrait covers, expired vs disabled accounts, empty pages as ``js: false`` / ``[]``
and a ``max_page_items`` that differs from what pages hold.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.requests import Request

from iptvsync.errors import ProviderAccountDisabled, ProviderAccountExpired, ProviderBadResponse
from iptvsync.fakes.catalogue import Catalogue
from iptvsync.fakes.items import seasons
from iptvsync.fakes.server import ServerThread
from iptvsync.fakes.stalker import FakeStalkerPortal, StalkerFakeConfig, create_app
from iptvsync.providers.base import PlayTarget, ProviderConfig
from iptvsync.providers.http import build_http_client
from iptvsync.providers.stalker.client import StalkerClient
from iptvsync.records import MovieRecord, Scope, SeriesRecord
from tests.providers.stalker.test_client import (
    FAMILIES,
    FAST,
    MAC,
    catalogue,
    fast_budget,
    keys,
    vod_keys,
    walk,
)


@dataclass
class Live:
    catalogue: Catalogue
    portal: FakeStalkerPortal
    client: StalkerClient
    url: str


@asynccontextmanager
async def live(family: str, **fake: Any) -> AsyncIterator[Live]:
    cat = catalogue()
    app = create_app(cat, StalkerFakeConfig(family=family, **fake))
    path = "/stalker_portal/c/" if family == "stock" else "/c/"
    with ServerThread(app) as server:
        async with build_http_client(timeout_s=10) as http:
            config = ProviderConfig(kind="stalker", url=f"{server.url}{path}", mac=MAC)
            client = StalkerClient(config, http, budget=fast_budget(), settings=FAST)
            yield Live(cat, app.state.portal, client, server.url)
            await client.aclose()


def channel_keys(cat: Catalogue) -> set[tuple[str, str]]:
    return {("channel", str(c.id)) for c in cat.channels}


# -- 1. the MAC cookie -------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
async def test_mac_cookie_is_sent_raw_to_a_portal_that_does_not_decode(family: str) -> None:
    seen: list[str] = []
    async with live(family, cookie_decode=False, mac_from_query=False) as lv:
        original = lv.portal._mac_of

        def spy(request: Request, params: dict[str, str]) -> str:
            seen.append(request.cookies.get("mac", ""))
            return original(request, params)

        lv.portal._mac_of = spy  # type: ignore[method-assign]
        probe = await lv.client.probe()
        assert probe.account.status == "active"
        result, pages = await walk(lv.client, Scope.CHANNELS)
    assert result.complete and set(keys(pages)) == channel_keys(lv.catalogue)
    assert seen and set(seen) == {MAC}, "the box's raw 00:1A:79:... form, never %3A"


# -- 2. hidden categories ----------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("reads", ["genre", "category", "both"])
async def test_hidden_genres_whatever_parameter_the_portal_reads(family: str, reads: str) -> None:
    async with live(family, itv_filter=reads) as lv:
        result, pages = await walk(lv.client, Scope.CHANNELS)
        assert result.complete, result
        got = keys(pages)
        assert len(got) == len(set(got))
        assert set(got) == channel_keys(lv.catalogue), "adult channels come from their genre"
        assert not [w for w in result.warnings if w.startswith("hidden_category")]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("reads", ["genre", "category", "both"])
async def test_hidden_vod_categories_whatever_parameter_the_portal_reads(
    family: str, reads: str
) -> None:
    async with live(family, vod_filter=reads) as lv:
        result, pages = await walk(lv.client, Scope.VOD)
        assert result.complete, result
        assert set(keys(pages)) == vod_keys(lv.catalogue)
        adult = lv.portal.adult_ids()
        hidden = [r for p in pages if ":category:" in p.stream for r in p.records]
        assert hidden and all(r.censored for r in hidden)
        assert {int(c) for r in hidden for c in r.category_ids} <= set(adult)


@pytest.mark.parametrize("family", FAMILIES)
async def test_a_filter_the_portal_ignores_is_never_merged_silently(family: str) -> None:
    async with live(family, itv_filter="none") as lv:
        result, pages = await walk(lv.client, Scope.CHANNELS)
        adult = lv.portal.adult_ids()
        visible = {
            ("channel", str(c.id)) for c in lv.catalogue.channels if c.category_id not in adult
        }
        assert set(keys(pages)) == visible
        warned = [w for w in result.warnings if w.startswith("hidden_category_unfiltered")]
        assert warned and "genre=" in warned[0] and "category=" in warned[0]


# -- 3, 4. a series module on every path, every season shape -----------------------------------


@pytest.mark.parametrize(("family", "shape"), [("stock", "dash"), ("stock", "reseller"),
                                               ("reseller", "dash")])  # fmt: skip
async def test_the_series_module_is_asked_on_every_portal(family: str, shape: str) -> None:
    async with live(family, series_module=True, season_shape=shape) as lv:
        probe = await lv.client.probe()
        adult = lv.portal.adult_ids()
        visible = sum(1 for s in lv.catalogue.series if s.category_id not in adult)
        assert probe.modules["series"] == visible  # the portal's own total ("All" hides adult)
        assert probe.counts["series"] == visible
        result, pages = await walk(lv.client, Scope.VOD)
        assert result.complete
        assert set(keys(pages)) == vod_keys(lv.catalogue)
        show = next(s for s in lv.catalogue.series if seasons(s))
        got = await lv.client.series_detail(str(show.id))
        assert [s.number for s in got] == [s.number for s in seasons(show)]
        assert [len(s.episodes) for s in got] == [len(s.episodes) for s in seasons(show)]
        episode = got[0].episodes[0]
        target = PlayTarget(
            "episode",
            episode.provider_item_id,
            cmd=episode.cmd,
            series_provider_id=str(show.id),
            season=episode.season,
            episode=episode.number,
        )
        url = await lv.client.resolve_play(target)
        expected = seasons(show)[0].episodes[0]
        assert f"/{expected.id}." in url


async def test_season_rows_of_the_series_shape_on_the_stock_vod_path() -> None:
    async with live("stock", drill_down_as_series=True, season_shape="dash") as lv:
        show = next(s for s in lv.catalogue.series if seasons(s))
        got = await lv.client.series_detail(str(show.id))
        assert [len(s.episodes) for s in got] == [len(s.episodes) for s in seasons(show)]


@pytest.mark.parametrize("family", FAMILIES)
async def test_unreadable_season_rows_are_an_error_not_an_empty_series(family: str) -> None:
    async with live(family, series_module=True, drill_down_as_series=True,
                    season_shape="broken") as lv:  # fmt: skip
        show = next(s for s in lv.catalogue.series if seasons(s))
        with pytest.raises(ProviderBadResponse) as info:
            await lv.client.series_detail(str(show.id))
        assert "none could be read" in info.value.message


# -- 5. posters --------------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
async def test_the_portrait_cover_is_the_poster(family: str) -> None:
    async with live(family, portrait_covers=True) as lv:
        _, pages = await walk(lv.client, Scope.VOD)
        records = [r for p in pages for r in p.records if isinstance(r, MovieRecord | SeriesRecord)]
        by_id = {str(m.id): m for m in [*lv.catalogue.movies, *lv.catalogue.series]}
        with_cover = [r for r in records if by_id[r.provider_item_id].poster]
        assert with_cover
        for record in with_cover:
            assert record.poster and record.poster.endswith(by_id[record.provider_item_id].poster)
            assert "backdrop" not in record.poster


# -- 6. account states -------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
async def test_expired_and_disabled_accounts_are_different_codes(family: str) -> None:
    async with live(family, expires_at=datetime(2020, 1, 1, tzinfo=UTC)) as lv:
        with pytest.raises(ProviderAccountExpired) as expired:
            await lv.client.probe()
    assert expired.value.code == "provider_account_expired"
    assert "2020-01-01" in expired.value.message
    async with live(family, account_status=1) as lv:
        with pytest.raises(ProviderAccountDisabled) as disabled:
            await lv.client.probe()
    assert disabled.value.code == "provider_account_disabled"


# -- 11. empty pages and a claimed page size ---------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("empty", ["false", "list"])
async def test_empty_pages_as_false_or_a_bare_list(family: str, empty: str) -> None:
    async with live(family, empty_page=empty, get_all_channels_enabled=False) as lv:
        result, pages = await walk(lv.client, Scope.CHANNELS)
        assert result.complete and set(keys(pages)) == channel_keys(lv.catalogue)
        result, pages = await walk(lv.client, Scope.VOD)
        assert result.complete and set(keys(pages)) == vod_keys(lv.catalogue)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("claimed", [20, 10])
async def test_max_page_items_that_pages_do_not_hold(family: str, claimed: int) -> None:
    async with live(family, claimed_page_size=claimed, get_all_channels_enabled=False) as lv:
        result, pages = await walk(lv.client, Scope.VOD)
        assert result.complete and set(keys(pages)) == vod_keys(lv.catalogue)
        result, pages = await walk(lv.client, Scope.CHANNELS)
        assert result.complete and set(keys(pages)) == channel_keys(lv.catalogue)

"""StalkerClient against the fake portal (fakes/stalker.py), in-process and over a socket.

Every quirk switch of the fake is exercised: both families, a session kicked mid-walk, 429
storms, 5xx rates, a portal that repeats page 1, p=0, adult content hidden from "All",
get_all_channels disabled, wrong MAC, unreachable host, a URL that is not a portal.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from iptvsync.errors import (
    NotAPortal,
    ProviderAccountDisabled,
    ProviderAccountExpired,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderBanned,
    ProviderUnreachable,
)
from iptvsync.fakes.catalogue import Catalogue, generate
from iptvsync.fakes.items import KINDS, seasons
from iptvsync.fakes.server import ServedHttp, ServerThread, free_port
from iptvsync.fakes.stalker import DEFAULT_MAC, FakeStalkerPortal, StalkerFakeConfig, create_app
from iptvsync.providers.base import PlayTarget, ProviderConfig
from iptvsync.providers.budget import BudgetConfig, Outcome, PolitenessBudget
from iptvsync.providers.http import ProviderHttp, build_http_client
from iptvsync.providers.stalker import parse as stalker_parse
from iptvsync.providers.stalker.client import StalkerClient, StalkerSettings
from iptvsync.providers.stalker.transport import StalkerTransport
from iptvsync.records import (
    ChannelRecord,
    Kind,
    MovieRecord,
    Page,
    Scope,
    SeriesRecord,
    WalkResult,
)
from iptvsync.settings import Settings

MAC = DEFAULT_MAC
FAMILIES = ["stock", "reseller"]
FAST = StalkerSettings(max_attempts=8, request_timeout_s=5)


def catalogue() -> Catalogue:
    """Small, with a few items of every kind moved into the censored categories."""
    cat = generate(7, movies=150, series=40, channels=120)
    adult = {k: next(c.id for c in cat.categories_of(k) if c.censored) for k in KINDS}
    for item in cat.movies[:3]:
        item.category_id = adult["movie"]
    for show in cat.series[:2]:
        show.category_id = adult["series"]
    for ch in cat.channels[:3]:
        ch.category_id = adult["channel"]
    return cat


def fast_budget(**config: Any) -> PolitenessBudget:
    return PolitenessBudget(BudgetConfig(backoff_base_s=0.002, backoff_cap_s=0.02, **config))


def portal_url(family: str) -> str:
    return "http://portal.test/stalker_portal/c/" if family == "stock" else "http://portal.test/c/"


@dataclass
class Rig:
    catalogue: Catalogue
    portal: FakeStalkerPortal
    client: StalkerClient
    http: ProviderHttp
    urls: list[str] = field(default_factory=list)


@asynccontextmanager
async def rig(
    family: str = "stock",
    *,
    url: str | None = None,
    mac: str = MAC,
    username: str | None = None,
    password: str | None = None,
    options: dict[str, Any] | None = None,
    budget: PolitenessBudget | None = None,
    **fake: Any,
) -> AsyncIterator[Rig]:
    cat = catalogue()
    app = create_app(cat, StalkerFakeConfig(family=family, **fake))
    app.state.media.end_after_bytes = 188 * 10  # live streams never end; ASGI reads bodies whole
    urls: list[str] = []

    async def remember(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            urls.append(f"http://portal{scope['path']}?{scope['query_string'].decode()}")
        await app(scope, receive, send)

    async with ServedHttp(remember) as http:
        config = ProviderConfig(
            kind="stalker",
            url=url or portal_url(family),
            mac=mac,
            username=username,
            password=password,
            options=options or {},
        )
        client = StalkerClient(config, http, budget=budget or fast_budget(), settings=FAST)
        yield Rig(cat, app.state.portal, client, http, urls)
        await client.aclose()


async def walk(client: StalkerClient, scope: Scope, **kwargs: Any) -> tuple[WalkResult, list[Page]]:
    pages: list[Page] = []
    stop_after = kwargs.pop("stop_after", None)

    async def on_page(page: Page) -> bool:
        pages.append(page)
        return stop_after is None or len(pages) < stop_after

    result = await client.walk(scope, on_page, **kwargs)
    return result, pages


def keys(pages: list[Page]) -> list[tuple[str, str]]:
    return [(str(r.kind), r.provider_item_id) for p in pages for r in p.records]


def vod_keys(cat: Catalogue) -> set[tuple[str, str]]:
    return {("movie", str(m.id)) for m in cat.movies} | {("series", str(s.id)) for s in cat.series}


def assert_in_order(pages: list[Page]) -> None:
    by_stream: dict[str, list[int]] = {}
    for page in pages:
        by_stream.setdefault(page.stream, []).append(page.number)
    for numbers in by_stream.values():
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


def content_pages(rig: Rig) -> list[int]:
    out = []
    for url in rig.urls:
        query = parse_qs(urlsplit(url).query)
        if query.get("action") == ["get_ordered_list"] and "p" in query:
            out.append(int(query["p"][0]))
    return out


# ---------------------------------------------------------------------------------------------
# probe, categories


@pytest.mark.parametrize("family", FAMILIES)
async def test_probe(family: str) -> None:
    async with rig(family) as r:
        result = await r.client.probe()
        assert result.family == family
        assert result.endpoint.startswith("http://portal.test/")
        assert result.page_size == 14
        assert result.account.status == "active" and result.account.expires_at is not None
        assert result.version == "5.3.1"
        counts = result.counts
        visible_movies = sum(
            1 for m in r.catalogue.movies if m.category_id not in r.portal.adult_ids()
        )
        visible_series = sum(
            1 for s in r.catalogue.series if s.category_id not in r.portal.adult_ids()
        )
        if family == "reseller":
            assert (counts["movies"], counts["series"]) == (visible_movies, visible_series)
        else:  # stock mixes them: the split is estimated from sampled pages
            assert counts["movies"] + counts["series"] == visible_movies + visible_series  # type: ignore[operator]
            assert 0 < counts["series"] < counts["movies"]  # type: ignore[operator]
        assert 0 < counts["channels"] <= len(r.catalogue.channels)  # type: ignore[operator]
        assert r.client.requests > 0


@pytest.mark.parametrize("family", FAMILIES)
async def test_categories(family: str) -> None:
    async with rig(family) as r:
        channels = await r.client.categories(Kind.CHANNEL)
        assert [c.provider_category_id for c in channels] == [
            str(c.id) for c in r.catalogue.categories_of("channel")
        ]
        assert any(c.censored for c in channels) and all(c.kind is Kind.CHANNEL for c in channels)
        series = await r.client.categories(Kind.SERIES)
        series_ids = {str(c.id) for c in r.catalogue.categories_of("series")}
        assert series_ids <= {
            c.provider_category_id for c in series
        }  # stock: VOD categories hold them
        assert all(c.kind is Kind.SERIES for c in series)


async def test_settings_from_the_app_and_options() -> None:
    cat = generate(1, movies=5, series=1, channels=5)
    app = create_app(cat, StalkerFakeConfig())
    async with ServedHttp(app) as http:
        config = ProviderConfig(
            kind="stalker",
            url="http://portal.test/stalker_portal/c/",
            mac=MAC,
            options={"max_concurrency": 6, "request_timeout_s": 9, "sn": "0A1B2C3D4E5F6"},
        )
        client = StalkerClient(config, http, settings=Settings(start_concurrency=3))
        assert client.budget.config.cap == 6 and client.budget.limit == 3
        assert client._settings.request_timeout_s == 9
        await client.probe()
    assert "12:34" not in repr(client) and "00:1A:79:XX:XX:56" in repr(client)


# ---------------------------------------------------------------------------------------------
# walks


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("hide_adult", [True, False])
async def test_walk_vod_gets_everything_once(family: str, hide_adult: bool) -> None:
    async with rig(family, hide_adult_from_all=hide_adult, latency_ms=1) as r:
        result, pages = await walk(r.client, Scope.VOD)
        got = keys(pages)
        assert len(got) == len(set(got))  # deduplicated across streams
        assert set(got) == vod_keys(r.catalogue)  # adult items included
        assert result.complete and result.stop_reason is None and not result.warnings
        assert result.items == len(got)
        assert_in_order(pages)
        streams = {p.stream for p in pages}
        assert ("series" in streams) is (family == "reseller")
        assert any(s.startswith("vod:category:") for s in streams)  # censored fetched apart
        records = [rec for p in pages for rec in p.records]
        adult_ids = r.portal.adult_ids()
        adult = [i for i in r.catalogue.movies + r.catalogue.series if i.category_id in adult_ids]  # type: ignore[operator]
        assert sum(rec.censored for rec in records) == len(adult) >= 5
        movie = next(rec for rec in records if isinstance(rec, MovieRecord))
        assert movie.added_at is not None and movie.cmd
        assert all(
            isinstance(rec, SeriesRecord)
            for rec in records
            if rec.provider_item_id.startswith("100000")
        )
        assert min(content_pages(r)) == 1
        # Every request of the walk was sent on the page fast path (providers/lean.py), and
        # none through aiohttp (its session is made on first use).
        assert r.http.lean_pool(True).requests >= len(r.urls)
        assert r.http._any is None and r.http._public is None


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("all_channels", [True, False])
async def test_walk_channels(family: str, all_channels: bool) -> None:
    async with rig(family, get_all_channels_enabled=all_channels) as r:
        result, pages = await walk(r.client, Scope.CHANNELS)
        got = keys(pages)
        assert len(got) == len(set(got))
        assert {k[1] for k in got} == {str(c.id) for c in r.catalogue.channels}
        assert result.complete
        records = [rec for p in pages for rec in p.records]
        assert all(isinstance(rec, ChannelRecord) for rec in records)
        adult_ids = r.portal.adult_ids()
        adult = [c for c in r.catalogue.channels if c.category_id in adult_ids]
        assert sum(rec.censored for rec in records) == len(adult) >= 3
        first = next(
            rec for rec in records if rec.provider_item_id == str(r.catalogue.channels[5].id)
        )
        assert first.number == r.catalogue.channels[5].number and first.cmd
        itv_pages = [p for p in pages if p.stream == "itv"]
        visible = len(r.catalogue.channels) - len(adult)
        assert len(itv_pages) == (1 if all_channels else -(-visible // 14))
        assert_in_order(pages)
        listed = r.portal.stats.by_action["itv.get_ordered_list"]
        assert listed >= (1 if all_channels else 9)


async def test_the_next_page_is_asked_before_an_answer_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One request allowed at the portal at a time: once a page's answer is in, the next
    page's request goes out before that answer is decoded and parsed, so the portal works
    while the event loop reads. Held until the read was over, the next request waited for
    it, and on a busy loop for the reads of every answer of the same round."""
    events: list[str] = []
    get_small = ProviderHttp.get_small
    parse_page = stalker_parse.parse_page

    async def sending(self: ProviderHttp, url: str, **kwargs: Any) -> Any:
        if "get_ordered_list" in url:
            events.append("sent")
        return await get_small(self, url, **kwargs)

    def reading(js: Any) -> Any:
        events.append("read")
        return parse_page(js)

    monkeypatch.setattr(ProviderHttp, "get_small", sending)
    monkeypatch.setattr(stalker_parse, "parse_page", reading)
    async with rig(budget=fast_budget(start=1, cap=1)) as r:
        result, pages = await walk(r.client, Scope.VOD)
    assert result.complete, result
    reads = events.count("read")
    assert reads == events.count("sent") == len(pages) > 10
    # At each read, how many pages were asked and not yet read, that one included: 2 when
    # the next page was asked first. Only the walk's last page has none after it.
    outstanding = []
    asked = 0
    for event in events:
        asked += event == "sent"
        if event == "read":
            outstanding.append(asked)
            asked -= 1
    assert outstanding[:-1] == [2] * (reads - 1), events
    assert outstanding[-1] == 1, events


async def test_the_channel_list_is_no_latency_sample_and_is_decoded_in_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``get_all_channels`` is thousands of rows to render, send and decode: its time says
    nothing of the portal's queue, and decoding it whole (on the event loop, or in a thread
    holding the interpreter) stalled every page in flight: a walk's slow start read both as a
    queue and ended at 4 in flight. It is decoded on the loop in steps, and the loop runs
    other work between them."""
    outcomes: list[tuple[str, Outcome]] = []  # (the request's action, what it recorded)

    class Watched:
        def __init__(self, slot: Any, url: str) -> None:
            self.slot, self.action = slot, parse_qs(urlsplit(url).query)["action"][0]

        def answered(self) -> bool:
            return bool(self.slot.answered())

        def record(self, outcome: Outcome, latency: float | None = None) -> None:
            outcomes.append((self.action, outcome))
            self.slot.record(outcome, latency)

    attempt = StalkerTransport._attempt

    async def watched_attempt(self: Any, slot: Any, url: str, **kwargs: Any) -> Any:
        return await attempt(self, cast(Any, Watched(slot, url)), url, **kwargs)

    steps = stalker_parse.channel_stream_steps
    ticks = 0  # a task of the loop's own, counting its turns
    between: list[int] = []  # its count at each step of the decode

    def watched(*args: Any, **kwargs: Any) -> Any:
        assert threading.get_ident() == loop_thread  # on the loop, no thread
        decoded = steps(*args, **kwargs)
        try:
            while True:
                next(decoded)
                between.append(ticks)
                yield
        except StopIteration as done:
            return done.value

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    loop_thread = threading.get_ident()
    ticking = asyncio.create_task(ticker())

    monkeypatch.setattr(StalkerTransport, "_attempt", watched_attempt)
    monkeypatch.setattr(stalker_parse, "channel_stream_steps", watched)
    async with rig("reseller", get_all_channels_enabled=True) as r:
        result, pages = await walk(r.client, Scope.CHANNELS)
    assert result.complete and len(pages) > 1
    # The channel list is the one answer that is no sample; every page and list is one.
    assert [o for a, o in outcomes if a == "get_all_channels"] == [Outcome.NEUTRAL]
    others = [o for a, o in outcomes if a != "get_all_channels"]
    assert len(others) >= 3 and set(others) == {Outcome.OK}, outcomes
    ticking.cancel()
    # The list is decoded a step at a time, and the loop turned between the steps.
    assert len(between) >= 3 and between == sorted(between) and between[-1] > between[0]


async def test_page_size_ten_and_p0_modes() -> None:
    for p0 in (True, False):
        async with rig("reseller", page_size=10, p0_returns_page1=p0) as r:
            result, pages = await walk(r.client, Scope.VOD)
            assert result.complete and set(keys(pages)) == vod_keys(r.catalogue)
            assert max(len(p.records) for p in pages) == 10
            assert 0 not in content_pages(r)  # p=0 is page 1 again: not asked (docs/stalker.md §8)


@pytest.mark.parametrize("family", FAMILIES)
async def test_repeated_page_one_makes_the_walk_incomplete(family: str) -> None:
    async with rig(family, repeat_page1_after=2) as r:
        result, pages = await walk(r.client, Scope.VOD)
        assert not result.complete and result.stop_reason == "repeated_page"
        assert result.warnings and "repeats" in result.warnings[0]
        assert len(set(keys(pages))) == len(keys(pages))


async def test_early_termination_and_page_cap() -> None:
    async with rig("stock") as r:
        result, pages = await walk(r.client, Scope.VOD, stop_after=1)
        assert not result.complete and result.stop_reason == "early_termination"
        result, pages = await walk(r.client, Scope.VOD, page_cap=2, newest_first=True)
        assert not result.complete and result.stop_reason == "page_cap"
        assert max(p.number for p in pages if p.stream == "vod") == 2
        # newest first: the first page holds the most recently added titles
        first = [rec for p in pages if p.stream == "vod" and p.number == 1 for rec in p.records]
        newest = max(r.catalogue.movies + r.catalogue.series, key=lambda i: (i.added, i.id))  # type: ignore[operator]
        assert first[0].provider_item_id == str(newest.id)


# ---------------------------------------------------------------------------------------------
# sessions


@pytest.mark.parametrize("family", FAMILIES)
async def test_kicked_session_reauthenticates_and_completes(family: str) -> None:
    async with rig(family, kick_after=6) as r:
        result, pages = await walk(r.client, Scope.VOD)
        assert result.complete and set(keys(pages)) == vod_keys(r.catalogue)
        assert r.portal.stats.kicks >= 2
        # A real socket: the last kick may land on a request cancelled as the walk ended.
        assert 3 <= r.client.handshakes <= 1 + r.portal.stats.kicks


@pytest.mark.parametrize("family", FAMILIES)
async def test_concurrent_failures_share_one_handshake(family: str) -> None:
    async with rig(family, latency_ms=5, options={"start_concurrency": 8}) as r:
        await r.client.categories(Kind.CHANNEL)
        assert r.client.handshakes == 1
        r.portal.kick()  # another box took the session
        handshakes = r.portal.stats.handshakes
        results = await asyncio.gather(*(r.client.categories(Kind.MOVIE) for _ in range(8)))
        assert all(results)
        assert r.client.handshakes == 2
        assert r.portal.stats.handshakes == handshakes + 1  # reseller: parallel ones would kill


async def test_category_lists_asked_at_once_share_one_request() -> None:
    """The engine asks every kind's categories at once, and movies and a stock portal's
    series both read the VOD list: askers of one list at the same time share one request."""
    async with rig("stock", latency_ms=20, options={"start_concurrency": 4}) as r:
        await r.client.categories(Kind.CHANNEL)  # the session
        before = r.portal.stats.by_action["vod.get_categories"]
        lists = await asyncio.gather(*(r.client.categories(Kind.MOVIE) for _ in range(3)))
        assert lists[0] and lists[0] == lists[1] == lists[2]
        assert r.portal.stats.by_action["vod.get_categories"] == before + 1
        assert await r.client.categories(Kind.SERIES)
        assert r.portal.stats.by_action["vod.get_categories"] == before + 1


async def test_a_failed_category_list_is_asked_again() -> None:
    cat = catalogue()
    fake = create_app(cat, StalkerFakeConfig())
    failing = True

    async def app(scope: Any, receive: Any, send: Any) -> None:
        query = scope.get("query_string", b"").decode()
        if scope["type"] == "http" and "action=get_categories" in query and failing:
            await HTMLResponse("<h1>Internal error</h1>", 500)(scope, receive, send)
            return
        await fake(scope, receive, send)

    async with ServedHttp(app) as http:
        config = ProviderConfig(kind="stalker", url=portal_url("stock"), mac=MAC)
        client = StalkerClient(config, http, budget=fast_budget(), settings=FAST)
        with pytest.raises(ProviderBadResponse):
            await client.categories(Kind.MOVIE)
        failing = False
        asked_again = {c.provider_category_id for c in await client.categories(Kind.MOVIE)}
        assert {str(c.id) for c in cat.categories_of("movie")} <= asked_again
        await client.aclose()


@pytest.mark.parametrize("family", FAMILIES)
async def test_wrong_mac(family: str) -> None:
    async with rig(family, mac="00:1A:79:AB:CD:EF") as r:
        with pytest.raises(ProviderAuthFailed) as info:
            await r.client.probe()
        assert "AB:CD" not in str(info.value) and "ab:cd" not in str(info.value).lower()


@pytest.mark.parametrize("family", FAMILIES)
async def test_session_stolen_for_good(family: str) -> None:
    """Another box grabs the session before every content call: one re-auth, then a clear
    error instead of a handshake loop."""
    fake = create_app(catalogue(), StalkerFakeConfig(family=family))
    portal: FakeStalkerPortal = fake.state.portal

    async def thief(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and b"action=get_ordered_list" in scope["query_string"]:
            portal.kick()
        await fake(scope, receive, send)

    async with ServedHttp(thief) as http:
        config = ProviderConfig(kind="stalker", url=portal_url(family), mac=MAC)
        # One request at a time: with several in flight, a page asked for during the renewal
        # kicks the new session before its own get_profile, and which error wins is a race.
        budget = fast_budget(start=1, cap=1)
        client = StalkerClient(config, http, budget=budget, settings=FAST)
        with pytest.raises(ProviderAuthFailed) as info:
            await walk(client, Scope.VOD)
        assert "again" in info.value.message
        # one re-auth per request at most: bounded by the requests in flight, no loop
        assert client.handshakes <= 1 + client.budget.stats.peak_limit * 4


@pytest.mark.parametrize("family", FAMILIES)
async def test_account_states(family: str) -> None:
    async with rig(family, account_status=1) as r:
        with pytest.raises(ProviderAccountDisabled) as disabled:
            await r.client.probe()
        assert disabled.value.code == "provider_account_disabled"
    async with rig(family, expires_at=datetime(2020, 1, 1, tzinfo=UTC)) as r:
        with pytest.raises(ProviderAccountExpired) as expired:
            await r.client.probe()
        assert expired.value.code == "provider_account_expired"
        assert "2020-01-01" in expired.value.message
    async with rig(family, account_status=2) as r:
        with pytest.raises(ProviderAuthFailed) as info:
            await r.client.probe()
        assert info.value.detail["reason"] == "login_required"
    async with rig(family, account_status=2, username="user", password="wrong") as r:
        with pytest.raises(ProviderAuthFailed):
            await r.client.probe()
    async with rig(family, account_status=2, username="user", password="pass") as r:
        result = await r.client.probe()
        assert result.counts["channels"]


async def test_token_free_panel_and_device_pinning() -> None:
    async with rig("reseller", token_free=True) as r:
        result, pages = await walk(r.client, Scope.VOD)
        assert result.complete and set(keys(pages)) == vod_keys(r.catalogue)
    async with rig("stock", pin_device_id=True, ban_without_sn=True) as r:
        await r.client.probe()
        second = StalkerClient(
            ProviderConfig(kind="stalker", url=portal_url("stock"), mac=MAC), r.http, settings=FAST
        )
        await second.categories(Kind.MOVIE)  # same derived device ids: no "device conflict"
        with pytest.raises(ProviderAuthFailed):  # the first client's token was re-bound
            await r.client._call(
                {"type": "vod", "action": "get_categories"}, auth=False, send_token=True
            )


# ---------------------------------------------------------------------------------------------
# politeness and failures


async def test_429_storm_backs_off_and_completes() -> None:
    async with rig("reseller", latency_ms=3, capacity=1, hard_limit=1) as r:
        result, pages = await walk(r.client, Scope.VOD)
        assert result.complete and set(keys(pages)) == vod_keys(r.catalogue)
        assert r.portal.stats.sent_429 > 0
        assert 0 < r.client.budget.stats.throttled <= r.portal.stats.sent_429  # real socket
        # Settled at the hard limit; over a real socket the walk may end one probe above it.
        assert r.client.budget.limit <= 2


async def test_rate_limited_portal_completes() -> None:
    async with rig("stock", rate_limit_per_s=400.0, html_429=True) as r:
        result, _ = await walk(r.client, Scope.CHANNELS)
        assert result.complete


async def test_persistent_429_is_a_ban() -> None:
    async with rig("stock") as r:
        await r.client.probe()
        r.portal.configure(rate_limit_per_s=0.0001)
        with pytest.raises(ProviderBanned):
            await walk(r.client, Scope.VOD)
        assert r.client.budget.stats.throttled >= FAST.max_attempts


async def test_cloudflare_403_is_a_ban() -> None:
    async with rig("reseller", html_403=True) as r:
        with pytest.raises(ProviderBanned):
            await r.client.probe()


@pytest.mark.parametrize("family", FAMILIES)
async def test_server_errors_are_retried(family: str) -> None:
    async with rig(family, error_rate=0.3, seed=5) as r:
        result, pages = await walk(r.client, Scope.VOD)
        assert result.complete and set(keys(pages)) == vod_keys(r.catalogue)
        assert r.portal.stats.sent_5xx > 0
        # A real socket: a request cancelled when the walk ends may still have been answered.
        assert 0 < r.client.budget.stats.server_errors <= r.portal.stats.sent_5xx


async def test_not_a_portal() -> None:
    async def page(request: object) -> Response:
        return HTMLResponse("<html><body>Welcome to my blog</body></html>")

    blog = Starlette(routes=[Route("/{path:path}", page)])
    async with ServedHttp(blog) as http:
        config = ProviderConfig(kind="stalker", url="http://blog.test/c/", mac=MAC)
        with pytest.raises(NotAPortal):
            await StalkerClient(config, http, settings=FAST).probe()


async def test_unreachable_host() -> None:
    port = free_port()  # nothing listens there
    async with build_http_client(timeout_s=2) as http:
        config = ProviderConfig(kind="stalker", url=f"http://127.0.0.1:{port}/c/", mac=MAC)
        client = StalkerClient(config, http, settings=FAST)
        with pytest.raises(ProviderUnreachable):
            await client.probe()
        assert client.requests == 1  # refused: the other candidates are not tried


# ---------------------------------------------------------------------------------------------
# series and play


@pytest.mark.parametrize("family", FAMILIES)
async def test_series_detail(family: str) -> None:
    async with rig(family) as r:
        show = r.catalogue.series[5]
        detail = await r.client.series_detail(str(show.id))
        expected = seasons(show)
        assert [s.number for s in detail] == [s.number for s in expected]
        assert [len(s.episodes) for s in detail] == [len(s.episodes) for s in expected]
        assert all(e.season == s.number for s in detail for e in s.episodes)
        assert [e.number for e in detail[0].episodes] == list(
            range(1, len(expected[0].episodes) + 1)
        )
        if family == "stock":
            assert detail[0].episodes[0].name == expected[0].episodes[0].name


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("quirk", [{}, {"ad_playlist": True}, {"empty_stream_bug": True}])
async def test_resolve_play(family: str, quirk: dict[str, Any]) -> None:
    async with rig(family, **quirk) as r:
        _, pages = await walk(r.client, Scope.CHANNELS)
        channel = next(rec for p in pages for rec in p.records if isinstance(rec, ChannelRecord))
        _, pages = await walk(r.client, Scope.VOD)
        movie = next(rec for p in pages for rec in p.records if isinstance(rec, MovieRecord))
        show = next(rec for p in pages for rec in p.records if isinstance(rec, SeriesRecord))
        episode = (await r.client.series_detail(show.provider_item_id))[0].episodes[1]
        targets = [
            PlayTarget(
                "channel", channel.provider_item_id, cmd=channel.cmd, extra=dict(channel.extra)
            ),
            PlayTarget("movie", movie.provider_item_id, cmd=movie.cmd, extension=movie.extension),
            PlayTarget(
                "episode",
                episode.provider_item_id,
                cmd=episode.cmd,
                series_provider_id=show.provider_item_id,
                season=episode.season,
                episode=episode.number,
            ),
        ]
        for target in targets:
            url = await r.client.resolve_play(target)
            assert url.startswith("http://portal.test/") and "/ads/" not in url
            assert "stream=&" not in url
            stream = await r.http.get_small(url)
            assert stream.status_code == 200, (target.kind, url)


async def test_play_refusal_is_a_clear_error() -> None:
    async with rig("stock") as r:
        with pytest.raises(ProviderBadResponse) as info:
            await r.client.resolve_play(PlayTarget("movie", "999999", cmd="/media/999999.mpg"))
        assert "nothing to play" in info.value.message


# ---------------------------------------------------------------------------------------------
# secrets, and a real socket


async def test_no_secret_in_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with rig("reseller", kick_after=8) as r:
        await walk(r.client, Scope.VOD)
        token = r.client._token
        assert token
        r.portal.configure(mac_allowed=())
        r.portal.kick()
        with pytest.raises(ProviderAuthFailed) as info:
            await walk(r.client, Scope.VOD)
    text = caplog.text + str(info.value) + repr(info.value.detail)
    assert "re-authenticating" in caplog.text
    assert "12:34" not in text and "12%3A34" not in text
    assert token not in text


async def test_the_portal_never_sees_more_requests_than_the_budget_allows() -> None:
    """The pager keeps twice the budget's limit of pages going; the budget alone decides how
    many requests are on the wire."""
    async with rig("stock", latency_ms=10, budget=fast_budget(cap=3, start=3)) as r:
        result, pages = await walk(r.client, Scope.VOD)
        assert result.complete and set(keys(pages)) == vod_keys(r.catalogue)
        # Each stream keeps 2 × 3 + 1 pages going (several streams: the lists and the hidden
        # categories), so without the budget the fake would see 7 and more at once. It can
        # see one or two over 3: a hidden category's filter is found by trying variants at
        # once, and the client lets go of the losers' slots while the fake still sleeps on them.
        assert 3 <= r.portal.stats.max_in_flight <= 5


async def test_over_a_real_socket() -> None:
    cat = catalogue()
    app = create_app(cat, StalkerFakeConfig(family="reseller", latency_ms=15))
    with ServerThread(app) as server:
        async with build_http_client(timeout_s=10) as http:
            config = ProviderConfig(kind="stalker", url=f"{server.url}/c/", mac=MAC)
            client = StalkerClient(config, http, settings=Settings())
            probe = await client.probe()
            assert probe.family == "reseller" and probe.endpoint == f"{server.url}/portal.php"
            result, pages = await walk(client, Scope.VOD)
            assert result.complete and set(keys(pages)) == vod_keys(cat)
            assert client.budget.limit >= 2
            stats = orjson.loads((await http.get_small(f"{server.url}/_control/stats")).content)
            assert stats["max_in_flight"] >= 2  # pages were fetched concurrently
            movie = next(rec for p in pages for rec in p.records if isinstance(rec, MovieRecord))
            url = await client.resolve_play(
                PlayTarget("movie", movie.provider_item_id, cmd=movie.cmd)
            )
            assert (await http.get_small(url)).status_code == 200


# ---------------------------------------------------------------------------------------------
# hostile and flaky answers (wrappers around the fake)


def flaky(fake: Any, answer: Any) -> Any:
    """An ASGI app that lets ``answer(n, query)`` replace the n-th content-page answer."""
    count = 0

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal count
        query = scope.get("query_string", b"").decode()
        if scope["type"] == "http" and "action=get_ordered_list" in query:
            count += 1
            replacement = answer(count, query)
            if replacement is not None:
                await replacement(scope, receive, send)
                return
        await fake(scope, receive, send)

    return app


async def walk_app(app: Any, family: str = "stock", **settings: Any) -> tuple[Any, ...]:
    async with ServedHttp(app) as http:
        config = ProviderConfig(kind="stalker", url=portal_url(family), mac=MAC)
        client = StalkerClient(
            config, http, budget=fast_budget(), settings=StalkerSettings(**settings)
        )
        result, pages = await walk(client, Scope.VOD)
        return client, result, pages


async def test_too_many_connections_page_is_retried() -> None:
    cat = catalogue()
    busy = HTMLResponse("<html><body><h1>Too many connections</h1></body></html>")
    refused: set[str] = set()

    def once_per_page(n: int, query: str) -> HTMLResponse | None:
        # Every page is refused once, then served: deterministic whatever the interleaving.
        if "get_ordered_list" in query and query not in refused:
            refused.add(query)
            return busy
        return None

    app = flaky(create_app(cat, StalkerFakeConfig()), once_per_page)
    client, result, pages = await walk_app(app)
    assert result.complete and set(keys(pages)) == vod_keys(cat)
    assert client.budget.stats.server_errors > 0


async def test_truncated_json_once_is_retried_always_is_an_error() -> None:
    cat = catalogue()
    cut = Response(b'{"js":{"total_items":"190","max_page_items":14,"data":[{"id":', 200)
    once = flaky(create_app(cat, StalkerFakeConfig()), lambda n, q: cut if n == 3 else None)
    _, result, pages = await walk_app(once)
    assert result.complete and set(keys(pages)) == vod_keys(cat)
    always = flaky(create_app(cat, StalkerFakeConfig()), lambda n, q: cut if "&p=4&" in q else None)
    with pytest.raises(ProviderBadResponse) as info:
        await walk_app(always)
    assert "truncated" in info.value.message


async def test_wrong_types_are_a_bad_response() -> None:
    cat = catalogue()
    odd = Response(b'{"js":{"total_items":"190","data":"nope"}}', 200)
    app = flaky(create_app(cat, StalkerFakeConfig()), lambda n, q: odd if n == 2 else None)
    with pytest.raises(ProviderBadResponse):
        await walk_app(app)


async def test_timeouts_are_retried_over_a_socket() -> None:
    cat = catalogue()
    slow_pages: set[str] = set()

    async def stall(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(1.0)
        await HTMLResponse("late")(scope, receive, send)

    def first_time_slow(n: int, query: str) -> Any:
        page = parse_qs(query).get("p", [""])[0]
        if page in ("2", "5") and page not in slow_pages:
            slow_pages.add(page)
            return stall
        return None

    app = flaky(create_app(cat, StalkerFakeConfig(family="reseller")), first_time_slow)
    with ServerThread(app) as server:
        async with build_http_client(timeout_s=5) as http:
            config = ProviderConfig(kind="stalker", url=f"{server.url}/c/", mac=MAC)
            settings = StalkerSettings(request_timeout_s=0.3)
            client = StalkerClient(config, http, budget=fast_budget(), settings=settings)
            result, pages = await walk(client, Scope.VOD)
    assert result.complete and set(keys(pages)) == vod_keys(cat)
    assert client.budget.stats.timeouts >= 2

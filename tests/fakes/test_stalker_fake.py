"""The fake Stalker portal answers as docs/stalker.md says both server families do.

Protocol: docs/stalker.md (section numbers cited per test).
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from iptvsync.fakes.catalogue import Catalogue, generate
from iptvsync.fakes.items import FakeMovie, seasons
from iptvsync.fakes.server import ServerProcess, ServerThread
from iptvsync.fakes.stalker import DEFAULT_MAC, FakeStalkerPortal, StalkerFakeConfig, create_app

STOCK = "/stalker_portal/server/load.php"
RESELLER = "/portal.php"
OTHER_MAC = "00:1A:79:AB:CD:EF"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return generate(seed=5, movies=400, series=60, channels=120)


class Box:
    """A minimal MAG box: cookies, headers, token; talks to the app in-process."""

    def __init__(
        self,
        app: Any,
        family: str = "stock",
        mac: str | None = DEFAULT_MAC,
        base_url: str = "http://portal.test",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.endpoint = STOCK if family == "stock" else RESELLER
        headers = {
            "User-Agent": "Mozilla/5.0 (QtEmbedded; U; Linux; C) MAG200 stbapp ver: 2 rev: 250",
            "X-User-Agent": "Model: MAG250; Link: WiFi",
        }
        if mac is not None:
            headers["Cookie"] = f"mac={quote(mac)}; stb_lang=en; timezone=Europe%2FLondon"
        self.client = httpx.AsyncClient(
            transport=transport or httpx.ASGITransport(app), base_url=base_url, headers=headers
        )
        self.token = ""

    async def call(self, **params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        query = {k: str(v) for k, v in params.items()}
        query["JsHttpRequest"] = "1-xml"
        return await self.client.get(self.endpoint, params=query, headers=headers)

    async def js(self, **params: Any) -> Any:
        response = await self.call(**params)
        assert response.status_code == 200, response.text
        return response.json()["js"]

    async def handshake(self, token: str = "") -> str:
        js = await self.js(type="stb", action="handshake", token=token, prehash=0)
        return js["token"]

    async def login(self, **profile: Any) -> dict[str, Any]:
        self.token = await self.handshake()
        params = {"sn": "0A1B2C3D4E5F6", "device_id": "A" * 64, "device_id2": "B" * 64}
        params.update(profile)
        return await self.js(type="stb", action="get_profile", hd=1, **params)

    async def aclose(self) -> None:
        await self.client.aclose()


def portal_of(app: Any) -> FakeStalkerPortal:
    portal: FakeStalkerPortal = app.state.portal
    return portal


# -- stock family ---------------------------------------------------------------------------


async def test_stock_session_and_pages(catalogue: Catalogue) -> None:
    app = create_app(catalogue, StalkerFakeConfig(family="stock"))
    box = Box(app)
    raw = await box.call(type="stb", action="handshake", token="", prehash=0)
    body = raw.json()
    assert raw.headers["content-type"].startswith("application/json")
    assert "generated in" in body["text"]  # the stock debug key (§2)
    token = body["js"]["token"]
    assert len(token) == 32 and token == token.upper()
    assert len(body["js"]["random"]) == 40
    box.token = token
    profile = await box.js(type="stb", action="get_profile", sn="0A1B2C3D4E5F6")
    assert profile["status"] == 0 and profile["mac"] == DEFAULT_MAC
    assert profile["watchdog_timeout"] == 120

    categories = await box.js(type="vod", action="get_categories")
    assert categories[0] == {"id": "*", "title": "All", "alias": "*", "censored": 0}
    # series are VOD items on stock, so their categories are VOD categories too (§7.B)
    assert len(categories) == 1 + 80 + 40
    assert all(isinstance(c["id"], str) for c in categories)

    page1 = await box.js(type="vod", action="get_ordered_list", category="*", sortby="added", p=1)
    page0 = await box.js(type="vod", action="get_ordered_list", category="*", sortby="added", p=0)
    adult = {c.id for c in catalogue.categories if c.censored}
    visible = [i for i in catalogue.movies + catalogue.series if i.category_id not in adult]
    assert page1["total_items"] == str(len(visible))  # a string on stock (§0)
    assert page1["max_page_items"] == 14
    assert len(page1["data"]) == 14
    assert [r["id"] for r in page0["data"]] == [r["id"] for r in page1["data"]]  # p=0 is page 1
    assert page1["cur_page"] == 0 and page1["selected_item"] == 0
    newest = sorted(visible, key=lambda i: (i.added, i.id), reverse=True)
    assert [r["id"] for r in page1["data"]] == [str(i.id) for i in newest[:14]]
    row = page1["data"][0]
    assert row["is_series"] in ("0", "1") and row["cmd"] == f"/media/{row['id']}.mpg"
    assert row["screenshot_uri"] is False or row["screenshot_uri"].startswith(
        "/stalker_portal/screenshots/"
    )

    pages = math.ceil(len(visible) / 14)
    last = await box.js(
        type="vod", action="get_ordered_list", category="*", sortby="added", p=pages
    )
    assert len(last["data"]) == len(visible) - 14 * (pages - 1)
    past = await box.js(
        type="vod", action="get_ordered_list", category="*", sortby="added", p=pages + 1
    )
    assert past["data"] == [] and past["total_items"] == str(len(visible))

    by_name = await box.js(type="vod", action="get_ordered_list", category="*", p=1)
    names = [r["name"].casefold() for r in by_name["data"]]
    assert names == sorted(names)  # stock default sortby is name (§6.2)
    await box.aclose()


async def test_stock_auth_failures_are_plain_text(catalogue: Catalogue) -> None:
    app = create_app(catalogue, StalkerFakeConfig(family="stock"))
    anonymous = Box(app, mac=None)
    response = await anonymous.call(type="itv", action="get_genres")
    assert response.status_code == 200 and response.text == "Unauthorized request."

    stranger = Box(app, mac=OTHER_MAC)
    stranger.token = await stranger.handshake()
    assert (await stranger.call(type="itv", action="get_genres")).text == "Access denied."
    refused = await stranger.js(type="stb", action="get_profile", sn="X")
    assert refused["status"] == 1

    malformed = Box(app, mac="11:22:33:44:55:66")  # wrong OUI, stock validates (§3)
    malformed.token = await malformed.handshake()
    assert await malformed.js(type="stb", action="get_profile") == {"status": 1}

    box = Box(app)
    await box.login()
    good = box.token
    box.token = "0" * 32
    assert (await box.call(type="itv", action="get_genres")).text == "Authorization failed."
    box.token = good
    genres = await box.js(type="itv", action="get_genres")
    assert genres[0]["id"] == "*" and genres[0]["title"] == "All"
    assert sum(g["censored"] for g in genres) == 1
    assert portal_of(app).stats.auth_failures == 3


async def test_stock_token_binding_and_idempotent_handshake(catalogue: Catalogue) -> None:
    app = create_app(catalogue, StalkerFakeConfig(family="stock"))
    box = Box(app)
    await box.login()
    first = box.token
    # presenting the bound token returns it unchanged (§4.1)
    assert await box.handshake(first) == first
    # a new handshake alone does not kill the bound token: get_profile binds (§4.2)
    other = Box(app)
    other.token = await other.handshake()
    assert other.token != first
    assert await box.js(type="itv", action="get_genres")
    await other.js(type="stb", action="get_profile", sn="0A1B2C3D4E5F6")
    assert (await box.call(type="itv", action="get_genres")).text == "Authorization failed."
    assert await other.js(type="itv", action="get_genres")


async def test_stock_series_drill_down_and_links(catalogue: Catalogue) -> None:
    app = create_app(catalogue, StalkerFakeConfig(family="stock", link_ttl_s=0.2))
    box = Box(app)
    await box.login()
    show = catalogue.series[3]
    expected = seasons(show)
    got = await box.js(type="vod", action="get_ordered_list", movie_id=show.id, p=1)
    assert got["total_items"] == str(len(expected))
    assert all(r["is_season"] is True for r in got["data"])
    first = got["data"][0]
    assert first["video_id"] == str(show.id) and first["season_number"] == "1"
    episodes = await box.js(
        type="vod", action="get_ordered_list", movie_id=show.id, season_id=first["id"], p=1
    )
    assert episodes["total_items"] == str(len(expected[0].episodes))
    ep = episodes["data"][0]
    assert ep["is_episode"] is True and ep["id"] == str(expected[0].episodes[0].id)
    files = await box.js(
        type="vod",
        action="get_ordered_list",
        movie_id=show.id,
        season_id=first["id"],
        episode_id=ep["id"],
    )
    file_row = files["data"][0]
    assert file_row["is_file"] is True and file_row["cmd"].startswith("/media/file_")

    link = await box.js(type="vod", action="create_link", cmd=file_row["cmd"], series="")
    assert link["error"] == "" and link["cmd"].startswith("ffmpeg http://portal.test/stream/")
    url = link["cmd"].split(" ", 1)[1]
    assert (await box.client.get(url)).status_code == 200
    await asyncio.sleep(0.25)
    assert (await box.client.get(url)).status_code == 403  # temporary links expire (§5.5)

    movie = catalogue.movies[0]
    movie_link = await box.js(type="vod", action="create_link", cmd=f"/media/{movie.id}.mpg")
    assert movie_link["id"] == movie.id and movie_link["cmd"].startswith("ffmpeg http://")
    missing = await box.js(type="vod", action="create_link", cmd="/media/99999999.mpg")
    assert missing["error"] == "nothing_to_play"
    # stock has no type=series module (§7.B)
    assert await box.js(type="series", action="get_ordered_list", category="*") == []


async def test_stock_channels(catalogue: Catalogue) -> None:
    app = create_app(catalogue, StalkerFakeConfig(family="stock"))
    box = Box(app)
    await box.login()
    adult_genre = next(c for c in catalogue.categories_of("channel") if c.censored)
    adult_channels = catalogue.by_category("channel", adult_genre.id)
    assert adult_channels, "the test catalogue needs adult channels"

    everything = await box.js(type="itv", action="get_all_channels")
    # stock hides adult channels from data but still counts them (§5.2)
    assert everything["total_items"] == str(len(catalogue.channels))
    assert len(everything["data"]) == len(catalogue.channels) - len(adult_channels)
    ch = everything["data"][0]
    assert ch["logo"] in ("", f"{ch['id']}.png")  # bare file names (§5.4)
    assert ch["cmd"] == f"ffrt http://localhost/ch/{int(ch['id']) + 200}"

    all_list = await box.js(type="itv", action="get_ordered_list", genre="*", p=1)
    assert int(all_list["total_items"]) == len(catalogue.channels) - len(adult_channels)
    adult = await box.js(type="itv", action="get_ordered_list", genre=adult_genre.id, p=1)
    assert adult["total_items"] == str(len(adult_channels))
    assert {r["censored"] for r in adult["data"]} == {"1"}

    link = await box.js(type="itv", action="create_link", cmd=ch["cmd"])
    assert link["id"] == ch["id"] and link["link_id"] == int(ch["id"]) + 200
    logo = await box.client.get("/stalker_portal/misc/logos/320/1.png")
    assert logo.status_code == 200 and logo.headers["content-type"] == "image/svg+xml"
    assert logo.content.startswith(b"<svg")

    with_epg = next(c for c in catalogue.channels if c.xmltv_id)
    epg = await box.js(type="itv", action="get_short_epg", ch_id=with_epg.id, size=3)
    assert len(epg) == 3
    assert epg[0]["stop_timestamp"] == epg[1]["start_timestamp"]
    without = next(c for c in catalogue.channels if not c.xmltv_id)
    assert await box.js(type="itv", action="get_short_epg", ch_id=without.id) == []

    version = await box.client.get("/c/version.js")
    assert version.text.strip() == "var ver = '5.3.1';"
    assert (await box.client.get("/portal.php")).status_code == 404  # not a stock endpoint

    portal_of(app).configure(get_all_channels_enabled=False)
    assert (await box.js(type="itv", action="get_all_channels"))["data"] == []


async def test_account_status_profiles(catalogue: Catalogue) -> None:
    app = create_app(catalogue, StalkerFakeConfig(family="stock", account_status=2))
    box = Box(app)
    profile = await box.login()
    assert profile["status"] == 2 and "info" in profile
    assert (await box.call(type="vod", action="get_categories")).text == "Access denied."
    assert await box.js(type="stb", action="do_auth", login="user", password="wrong") is False
    assert await box.js(type="stb", action="do_auth", login="user", password="pass") is True
    profile = await box.js(type="stb", action="get_profile", auth_second_step=1)
    assert profile["status"] == 0
    assert await box.js(type="vod", action="get_categories")

    portal_of(app).configure(account_status=1)
    profile = await box.js(type="stb", action="get_profile")
    assert profile["status"] == 1 and "block_msg" in profile
    assert (await box.call(type="vod", action="get_categories")).text == "Access denied."
    info = await box.js(type="account_info", action="get_main_info")
    assert info["end_date"] == "05.03.2027"


# -- reseller family --------------------------------------------------------------------------


async def test_reseller_session_and_pages(catalogue: Catalogue) -> None:
    app = create_app(catalogue, StalkerFakeConfig(family="reseller", page_size=10))
    box = Box(app, family="reseller")
    assert (await box.call(type="itv", action="get_genres")).content == b""  # no token yet
    profile = await box.login()
    assert profile["status"] == 0 and profile["phone"] == "March 5, 2027, 12:00 am"
    first = box.token

    raw = await box.call(type="vod", action="get_ordered_list", category="*", sortby="added", p=1)
    body = raw.json()
    assert "text" not in body
    page = body["js"]
    adult = {c.id for c in catalogue.categories if c.censored}
    visible = [m for m in catalogue.movies if m.category_id not in adult]
    assert page["total_items"] == len(visible)  # ints on panels
    assert page["max_page_items"] == 10 and len(page["data"]) == 10
    row = page["data"][0]
    assert row["id"] == catalogue.newest_first("movie")[0].id
    cmd = json.loads(base64.b64decode(row["cmd"]))
    assert cmd["type"] == "movie" and cmd["stream_id"] == row["id"]
    assert row["screenshot_uri"] == "" or row["screenshot_uri"].startswith("http://portal.test/")

    # every handshake rotates the token: the old one dies at once (§4.1)
    second = await box.handshake()
    assert second != first
    box.token = first
    assert (await box.call(type="vod", action="get_categories")).content == b""
    box.token = second
    categories = await box.js(type="vod", action="get_categories")
    assert categories[0]["id"] == "*" and isinstance(categories[1]["id"], int)
    assert len(categories) == 1 + 80  # series live in their own module on panels

    link = await box.js(type="vod", action="create_link", cmd=row["cmd"])
    assert link["error"] == "" and "/movie/fakeuser/fakepass/" in link["cmd"]

    # the MAC as a query parameter works on panels (§3)
    by_query = Box(app, family="reseller", mac=None)
    by_query.token = second
    assert await by_query.js(type="vod", action="get_categories", mac=DEFAULT_MAC)

    # an unknown MAC gets empty bodies and a null token
    stranger = Box(app, family="reseller", mac=OTHER_MAC)
    assert await stranger.handshake() is None
    assert (await stranger.call(type="itv", action="get_genres")).content == b""


async def test_reseller_series_module_and_live_links(catalogue: Catalogue) -> None:
    app = create_app(catalogue, StalkerFakeConfig(family="reseller"))
    box = Box(app, family="reseller")
    await box.login()
    series_categories = await box.js(type="series", action="get_categories")
    assert len(series_categories) == 1 + 40
    shows = await box.js(type="series", action="get_ordered_list", category="*", p=1)
    assert shows["max_page_items"] == 14
    show_row = shows["data"][0]
    assert show_row["is_series"] == 1 and show_row["cmd"] == ""
    show = catalogue.get("series", show_row["id"])
    expected = seasons(show)
    got = await box.js(
        type="series", action="get_ordered_list", movie_id=show.id, season_id=0, episode_id=0
    )
    numbers = [int(r["id"].split(":")[1]) for r in got["data"]]
    assert numbers == sorted((s.number for s in expected), reverse=True)[:14]  # newest first
    season_row = got["data"][-1]
    season = next(s for s in expected if s.number == int(season_row["id"].split(":")[1]))
    assert season_row["series"] == list(range(1, len(season.episodes) + 1))
    link = await box.js(type="vod", action="create_link", cmd=season_row["cmd"], series=2)
    assert f"/series/fakeuser/fakepass/{season.episodes[1].id}." in link["cmd"]
    missing = await box.js(type="vod", action="create_link", cmd=season_row["cmd"], series=99)
    assert missing["error"] == "player_file_missing"

    channels = await box.js(type="itv", action="get_ordered_list", genre="*", p=1)
    ch = channels["data"][0]
    assert isinstance(ch["id"], int) and ch["cmd"] == f"ffmpeg http://localhost/ch/{ch['id']}_"
    assert ch["logo"] == "" or ch["logo"].startswith("http://portal.test/images/")
    raw = (await box.call(type="itv", action="create_link", cmd=ch["cmd"])).json()
    assert set(raw) >= {"js", "streamer_id", "link_id", "load", "error"}  # keys outside js
    assert f"stream={ch['id']}&" in raw["js"]["cmd"]
    portal_of(app).configure(empty_stream_bug=True)
    raw = (await box.call(type="itv", action="create_link", cmd=ch["cmd"])).json()
    assert "stream=&" in raw["js"]["cmd"]
    # panels want the filter sent even when "all" (§5.3)
    assert (await box.js(type="itv", action="get_ordered_list", p=1))["data"] == []
    all_channels = await box.js(type="itv", action="get_all_channels")
    assert all_channels["total_items"] == len(all_channels["data"])  # adult excluded from both


# -- quirk switches ---------------------------------------------------------------------------


async def test_paging_quirks(catalogue: Catalogue) -> None:
    app = create_app(catalogue, StalkerFakeConfig(family="stock", repeat_page1_after=2))
    box = Box(app)
    await box.login()

    async def ids(p: int) -> list[str]:
        js = await box.js(type="vod", action="get_ordered_list", category="*", sortby="added", p=p)
        return [r["id"] for r in js["data"]]

    one, two, three = await ids(1), await ids(2), await ids(3)
    assert one != two and three == one
    portal_of(app).configure(repeat_page1_after=None, p0_returns_page1=False)
    assert await ids(0) == [] and await ids(3) != one


async def test_hide_adult_switch(catalogue: Catalogue) -> None:
    app = create_app(catalogue, StalkerFakeConfig(family="stock", hide_adult_from_all=False))
    box = Box(app)
    await box.login()
    full = await box.js(type="vod", action="get_ordered_list", category="*", p=1)
    assert full["total_items"] == str(len(catalogue.movies) + len(catalogue.series))
    adult = next(c for c in catalogue.categories_of("movie") if c.censored)
    got = await box.js(type="vod", action="get_ordered_list", category=adult.id, p=1)
    assert got["total_items"] == str(len(catalogue.by_category("movie", adult.id)))


async def test_capacity_answers_429(catalogue: Catalogue) -> None:
    config = StalkerFakeConfig(family="stock", token_free=True, latency_ms=50, capacity=2)
    app = create_app(catalogue, config)
    box = Box(app)
    responses = await asyncio.gather(
        *(box.call(type="itv", action="get_genres") for _ in range(12))
    )
    codes = [r.status_code for r in responses]
    assert codes.count(200) == 4 and codes.count(429) == 8  # hard limit defaults to 2 x 2
    stats = portal_of(app).stats_dict()
    assert stats["sent_429"] == 8 and stats["max_in_flight"] >= 5
    assert all(r.content == b"" for r in responses if r.status_code == 429)


async def test_rate_limit_errors_and_bans(catalogue: Catalogue) -> None:
    app = create_app(catalogue, StalkerFakeConfig(family="reseller", rate_limit_per_s=3))
    portal = portal_of(app)
    box = Box(app, family="reseller")
    codes = [(await box.call(type="stb", action="handshake")).status_code for _ in range(6)]
    assert codes[:3] == [200, 200, 200] and 429 in codes[3:]

    portal.configure(rate_limit_per_s=None, error_rate=1.0)
    assert (await box.call(type="stb", action="handshake")).status_code in (500, 502, 503)
    portal.configure(error_rate=0.0, html_403=True)
    blocked = await box.call(type="stb", action="handshake")
    assert blocked.status_code == 403 and b"Cloudflare" in blocked.content

    portal.configure(html_403=False, ban_without_sn=True)
    box.token = await box.handshake()
    assert (await box.call(type="stb", action="get_profile")).status_code == 404
    assert (await box.call(type="stb", action="handshake")).status_code == 404  # IP banned


async def test_kick_after_n_requests(catalogue: Catalogue) -> None:
    for family in ("stock", "reseller"):
        app = create_app(catalogue, StalkerFakeConfig(family=family, kick_after=3))
        box = Box(app, family=family)
        await box.login()
        for _ in range(3):
            assert (await box.call(type="itv", action="get_genres")).json()["js"]
        kicked = await box.call(type="itv", action="get_genres")
        assert kicked.content == (b"Authorization failed." if family == "stock" else b"")
        await box.login()  # re-handshake + get_profile recovers the session
        assert (await box.call(type="itv", action="get_genres")).json()["js"]
        assert portal_of(app).stats.kicks == 1


async def test_ad_playlist_and_device_pinning(catalogue: Catalogue) -> None:
    app = create_app(catalogue, StalkerFakeConfig(family="stock", ad_playlist=True))
    box = Box(app)
    await box.login()
    movie = catalogue.movies[1]
    links = await box.js(type="vod", action="create_link", cmd=f"/media/{movie.id}.mpg")
    assert isinstance(links, list) and links[0]["is_advert"] is True
    assert links[-1]["id"] == movie.id

    portal_of(app).configure(pin_device_id=True)
    assert (await box.login())["status"] == 0
    conflict = await box.login(device_id="C" * 64)
    assert conflict["status"] == 1 and "device_id mismatch" in conflict["msg"]


async def test_control_api(catalogue: Catalogue) -> None:
    local = generate(seed=9, movies=50, series=10, channels=20)
    app = create_app(local, StalkerFakeConfig(family="stock"))
    box = Box(app)
    await box.login()
    control = box.client

    added = (await control.post("/_control/add", json={"kind": "movie", "count": 3})).json()
    assert added["ids"] == [51, 52, 53]
    top = await box.js(type="vod", action="get_ordered_list", category="*", sortby="added", p=1)
    assert [r["id"] for r in top["data"][:3]] == ["53", "52", "51"]  # newest first

    removed = await control.post("/_control/remove", json={"kind": "movie", "ids": [52, 1]})
    assert removed.json() == {"removed": 2}
    truncated = await control.post("/_control/truncate", json={"kind": "series", "keep": 4})
    assert truncated.json() == {"removed": 6}
    assert (await control.get("/_control/counts")).json()["series"] == 4

    config = await control.post("/_control/config", json={"page_size": 10, "family": "stock"})
    assert config.json()["page_size"] == 10
    bad = await control.post("/_control/config", json={"no_such_switch": 1})
    assert bad.status_code == 422
    page = await box.js(type="vod", action="get_ordered_list", category="*", p=1)
    assert len(page["data"]) == 10

    stats = (await control.get("/_control/stats")).json()
    assert stats["handshakes"] == 1 and stats["by_action"]["vod.get_ordered_list"] == 2
    assert stats["requests"] == 4  # control calls are not counted
    await control.post("/_control/reset-stats")
    assert (await control.get("/_control/stats")).json()["requests"] == 0
    kicked = await control.post("/_control/kick", json={"mac": DEFAULT_MAC})
    assert kicked.json() == {"kicked": 1}
    assert (await box.call(type="itv", action="get_genres")).text == "Authorization failed."


# -- real sockets -----------------------------------------------------------------------------


async def test_over_a_real_socket(catalogue: Catalogue) -> None:
    app = create_app(catalogue, StalkerFakeConfig(family="reseller"))
    with ServerThread(app) as server:
        transport = httpx.AsyncHTTPTransport()
        box = Box(app, family="reseller", base_url=server.url, transport=transport)
        profile = await box.login()
        assert profile["status"] == 0
        page = await box.js(type="vod", action="get_ordered_list", category="*", p=2)
        assert len(page["data"]) == 14
        await box.aclose()
    assert portal_of(app).stats.requests == 3


def test_fake_in_a_child_process() -> None:
    with ServerProcess("stalker", movies=100, series=10, channels=10) as server:
        headers = {"Cookie": f"mac={quote(OTHER_MAC)}"}  # any well-formed MAC is registered
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as client:
            js = client.get(STOCK, params={"type": "stb", "action": "handshake"}).json()["js"]
            client.headers["Authorization"] = f"Bearer {js['token']}"
            profile = client.get(STOCK, params={"type": "stb", "action": "get_profile"}).json()
            assert profile["js"]["status"] == 0
            counts = client.get("/_control/counts").json()
            assert counts["movies"] == 100


async def test_a_prerendered_guide_is_the_guide_it_would_render(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``epg_prerendered`` (the bench's ``--guide-prerendered``): the answer rendered when the
    portal starts is byte for byte the one it renders per request, served without rendering."""
    from iptvsync.fakes.stalker import epg

    monkeypatch.setattr(FakeStalkerPortal, "clock", lambda self: 1_800_000_000.0)
    bodies = {}
    for prerendered in (False, True):
        app = create_app(catalogue, StalkerFakeConfig(epg_prerendered=prerendered))
        if prerendered:
            assert portal_of(app).guide_renders  # rendered at start
            # A request must not render it again.
            monkeypatch.setattr(epg, "guide_parts", lambda *a: pytest.fail("rendered again"))
        box = Box(app)
        box.client.headers["Cookie"] = f"mac={quote(DEFAULT_MAC)}; stb_lang=en; timezone=UTC"
        await box.login()
        response = await box.call(type="itv", action="get_epg_info", period=72)
        assert response.status_code == 200
        bodies[prerendered] = response.content
        served = portal_of(app).stats.items_served
        await box.aclose()
        assert served > 0
    assert bodies[True] == bodies[False]
    data = json.loads(bodies[True])["js"]["data"]
    assert len(data) == sum(1 for c in catalogue.channels if c.xmltv_id)


def test_the_guides_local_times_are_each_programmes_own_across_a_clock_change(
    catalogue: Catalogue,
) -> None:
    """The all-channels answer makes each local time text once and shares it among its
    channels (``epg._local_times``): every row's ``time`` / ``t_time`` (and their ``_to``) must
    still be its own Unix time's in the asked zone, across a daylight-saving change, and a
    second zone's answer must not take the first one's texts."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from iptvsync.fakes.stalker import epg

    portal = FakeStalkerPortal(catalogue, StalkerFakeConfig())
    # 2026-03-28 12:00 UTC: Europe/Berlin moves its clocks on the 29th, within the 72 hours.
    portal.clock = lambda: 1_774_699_200.0  # type: ignore[method-assign]
    checked = 0
    for name in ("Europe/Berlin", "America/New_York"):
        zone = ZoneInfo(name)
        body = b"".join(p for p, _ in epg.guide_parts(portal, portal.config, 72, zone))
        offsets = set()
        for rows in json.loads(body)["js"]["data"].values():
            for row in rows:
                start = datetime.fromtimestamp(row["start_timestamp"], zone)
                stop = datetime.fromtimestamp(row["stop_timestamp"], zone)
                assert row["time"] == start.strftime("%Y-%m-%d %H:%M:%S")
                assert row["time_to"] == stop.strftime("%Y-%m-%d %H:%M:%S")
                assert (row["t_time"], row["t_time_to"]) == (
                    start.strftime("%H:%M"),
                    stop.strftime("%H:%M"),
                )
                offsets.add(start.utcoffset())
                checked += 1
        if name == "Europe/Berlin":
            assert len(offsets) == 2  # the change is inside the answer
    assert checked > 1000


@dataclass
class Warmed:
    """A fake portal warmed through ``/_control/warm``, a box logged in to it, and a client
    of its control routes."""

    portal: Any
    box: Box
    control: httpx.AsyncClient
    answer: dict[str, Any]

    def fresh(self, params: dict[str, str]) -> Any:
        """A request context that renders rows anew (the memo is not asked)."""
        from iptvsync.fakes.stalker.payloads import _Ctx

        class _Req:
            class url:  # the shape of starlette's request.url
                scheme, netloc = "http", "portal.test"

        return _Ctx(self.portal, _Req(), params, mac="")  # type: ignore[arg-type]

    async def aclose(self) -> None:
        await self.control.aclose()
        await self.box.aclose()


async def warmed(catalogue: Any, family: str, **warm: Any) -> Warmed:
    app = create_app(catalogue, StalkerFakeConfig(family=family))
    box = Box(app, family=family)
    await box.login()
    control = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://portal.test")
    answer = (await control.post("/_control/warm", json=warm)).json()
    return Warmed(portal_of(app), box, control, answer)


@pytest.mark.parametrize("family", ["stock", "reseller"])
async def test_remembered_vod_rows_are_the_rendered_ones(family: str) -> None:
    """The fake remembers rendered VOD rows (and ``/_control/warm`` renders them ahead, for
    benchmarks): pages are the same as rendering each row anew, for both sortby modes, and a
    catalogue change (here: a new movie, newest first) shows on the next page."""
    catalogue = generate(seed=9, movies=60, series=10, channels=5)
    fake = await warmed(catalogue, family, sortby="added")
    portal, box, control = fake.portal, fake.box, fake.control
    assert fake.answer == {"rows": 70}
    remembered = [key for key in portal._lists if key[0] == "vod-rows"]
    assert len(remembered) == 1 and len(portal._lists[remembered[0]]) == 70
    # The lists a walk's first pages read are in portal order already (not sorted then).
    assert {("vod", "both", "added"), ("vod-groups", "both", "added"), ("newest",)} <= set(
        portal._lists
    )
    listed = portal._lists[("vod", "both", "added")]
    assert portal.vod_list("both", "*", "added", hide_adult=False) is listed

    async def page(sortby: str) -> list[dict[str, Any]]:
        js = await box.js(type="vod", action="get_ordered_list", category="*", sortby=sortby, p=1)
        return list(js["data"])

    def plain(rows: list[dict[str, Any]], sortby: str) -> list[dict[str, Any]]:
        ctx = fake.fresh({"sortby": sortby})
        by_id = {(isinstance(i, FakeMovie), i.id): i for i in catalogue.movies + catalogue.series}
        out = []
        for row in rows:
            is_movie = row.get("is_movie", True) is True
            out.append(through_json(ctx.vod_item(by_id[(is_movie, int(row["id"]))])))
        return out

    for sortby in ("added", "name"):
        first = await page(sortby)
        again = await page(sortby)
        assert first == again == plain(first, sortby)
    assert "today" in (await page("added"))[0]  # the sortby=added label is in the row
    assert "today" not in (await page("name"))[0]

    [new_id] = (await control.post("/_control/add", json={"kind": "movie"})).json()["ids"]
    newest = await page("added")
    assert int(newest[0]["id"]) == new_id
    assert newest == plain(newest, "added")
    await fake.aclose()


@pytest.mark.parametrize("family", ["stock", "reseller"])
async def test_remembered_channel_rows_are_the_rendered_ones(family: str) -> None:
    """Channel rows are remembered as VOD rows are (and warmed): ``get_all_channels`` and the
    ITV pages are the same as rendering each row anew, and a new channel shows at once."""
    catalogue = generate(seed=9, movies=10, series=2, channels=30)
    fake = await warmed(catalogue, family)
    portal, box, control = fake.portal, fake.box, fake.control
    remembered = [key for key in portal._lists if key[0] == "itv-rows"]
    assert len(remembered) == 1 and len(portal._lists[remembered[0]]) == 30

    def plain(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ctx = fake.fresh({})
        by_id = {c.id: c for c in catalogue.channels}
        return [through_json(ctx.channel(by_id[int(row["id"])])) for row in rows]

    async def everything() -> list[dict[str, Any]]:
        js = await box.js(type="itv", action="get_all_channels")
        return list(js["data"])

    first = await everything()
    assert first and first == await everything() == plain(first)
    page = list((await box.js(type="itv", action="get_ordered_list", genre="*", p=1))["data"])
    assert page and page == plain(page)
    [new_id] = (await control.post("/_control/add", json={"kind": "channel"})).json()["ids"]
    after = await everything()
    assert new_id in {int(row["id"]) for row in after} and after == plain(after)
    await fake.aclose()


def through_json(row: dict[str, Any]) -> dict[str, Any]:
    """A row as a client reads it: through JSON."""
    return dict(json.loads(json.dumps(row)))

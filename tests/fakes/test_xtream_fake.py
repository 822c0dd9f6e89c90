"""The fake Xtream panel speaks both families and every failure shape of docs/providers.md §1.2."""

from __future__ import annotations

import base64
import gzip
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest

from iptvsync.fakes.catalogue import Catalogue, generate
from iptvsync.fakes.items import seasons
from iptvsync.fakes.xtream import LARGE_ACCOUNT, XtreamFakeConfig, create_app

AUTH = {"username": "user", "password": "pass"}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return generate(seed=9, movies=300, series=8, channels=60)


@pytest.fixture
async def http(catalogue: Catalogue) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(catalogue, XtreamFakeConfig())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://panel"
    ) as client:
        yield client


async def api(http: httpx.AsyncClient, **params: str) -> httpx.Response:
    return await http.get("/player_api.php", params={**AUTH, **params})


async def configure(http: httpx.AsyncClient, **switches: object) -> None:
    response = await http.post("/_control/config", json=switches)
    assert response.status_code == 200, response.text


async def test_families_differ_in_number_types(http: httpx.AsyncClient) -> None:
    row = (await api(http, action="get_live_streams")).json()[0]
    assert isinstance(row["stream_id"], str) and "category_ids" not in row
    login = (await api(http)).json()
    assert login["user_info"]["auth"] == 1 and login["server_info"]["process"] is True
    await configure(http, family="xui")
    row = (await api(http, action="get_live_streams")).json()[0]
    assert isinstance(row["stream_id"], int) and isinstance(row["category_ids"], list)
    assert isinstance(row["category_id"], str)
    assert (await api(http)).json()["server_info"]["xui"] is True


async def test_bad_login_shapes(http: httpx.AsyncClient) -> None:
    bad = await http.get("/player_api.php", params={"username": "user", "password": "x"})
    assert bad.status_code == 200 and bad.json()["user_info"]["auth"] == 0
    await configure(http, family="xui")
    bad = await http.get("/player_api.php", params={"username": "user", "password": "x"})
    assert bad.status_code == 404 and "<html>" in bad.text


@pytest.mark.parametrize(
    ("account", "check"),
    [
        ("auth0", lambda r: r.json() == {"user_info": {"auth": 0}}),
        ("expired", lambda r: r.json()["user_info"]["exp_date"] == "1577836800"),
        ("never_expires", lambda r: r.json()["user_info"]["exp_date"] is None),
        ("expired_status", lambda r: r.json()["user_info"]["status"] == "Expired"),
        ("html404", lambda r: r.status_code == 404),
    ],
)
async def test_account_scenarios(http: httpx.AsyncClient, account: str, check: object) -> None:
    await configure(http, account=account)
    assert check(await api(http))  # type: ignore[operator]


async def test_transport_failures(http: httpx.AsyncClient) -> None:
    await configure(http, blocked_user_agents=["python-httpx"])
    blocked = await api(http)
    assert blocked.status_code == 403 and "text/html" in blocked.headers["content-type"]
    await configure(http, blocked_user_agents=[], empty_body=True)
    assert (await api(http)).content == b""
    await configure(http, empty_body=False, bom=True, latin1=True, fail_next=1, busy_next=1)
    assert (await api(http)).status_code == 503
    assert "Too many connections" in (await api(http)).text
    body = (await api(http, action="get_vod_streams")).content
    assert body.startswith(b"\xef\xbb\xbf")
    assert b"\xe9" in body  # a raw Latin-1 byte inside JSON strings
    await configure(http, tarpit_s=0.05, bom=False, latin1=False)
    assert (await api(http)).status_code == 200


async def test_lists_quirks(http: httpx.AsyncClient, catalogue: Catalogue) -> None:
    rows = (await api(http, action="get_vod_streams")).json()
    assert len(rows) == len(catalogue.movies)
    one_cat = catalogue.movies[0].category_id
    filtered = (await api(http, action="get_vod_streams", category_id=str(one_cat))).json()
    assert {r["category_id"] for r in filtered} == {str(one_cat)}
    await configure(http, nulls=True, duplicates=True)
    rows = (await api(http, action="get_live_streams")).json()
    assert any("stream_id" not in r for r in rows)
    movies = (await api(http, action="get_vod_streams")).json()
    assert any(r.get("name") is None and r.get("stream_icon") is None for r in movies)
    doubled = [r for r in rows if r.get("stream_id") == "5"]
    assert len(doubled) == 2 and doubled[0]["num"] != doubled[1]["num"]
    await configure(http, truncate_lists=True)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads((await api(http, action="get_vod_streams")).content)
    await configure(http, truncate_lists=False, lists_auth0=True)
    assert (await api(http, action="get_series")).json() == {"user_info": {"auth": 0}}


async def test_info_actions(http: httpx.AsyncClient, catalogue: Catalogue) -> None:
    info = (await api(http, action="get_vod_info", vod_id="3")).json()
    assert info["movie_data"]["stream_id"] == "3" and info["info"]["plot"]
    await configure(http, vod_info_empty=True)
    assert (await api(http, action="get_vod_info", vod_id="3")).json()["info"] == []
    shows = catalogue.series[:4]  # ids 10_000_000.. → the four shapes, in order of id % 4
    shapes = [
        (await api(http, action="get_series_info", series_id=str(s.id))).json() for s in shows
    ]
    assert isinstance(shapes[0]["episodes"], dict)
    assert isinstance(shapes[1]["episodes"], list) and shapes[1]["episodes"][0] == []
    assert shapes[2]["episodes"]["1"][0]["info"] == []
    assert "seasons" not in shapes[3]
    total = sum(len(s.episodes) for s in seasons(shows[0]))
    assert sum(len(v) for v in shapes[0]["episodes"].values()) == total
    assert (await api(http, action="get_series_info", series_id="1")).json()["episodes"] == []


async def test_epg_actions(http: httpx.AsyncClient, catalogue: Catalogue) -> None:
    channel = next(c for c in catalogue.channels if c.xmltv_id)
    short = (await api(http, action="get_short_epg", stream_id=str(channel.id))).json()
    assert len(short["epg_listings"]) == 4
    first = short["epg_listings"][0]
    assert base64.b64decode(first["title"]).decode()
    assert int(first["stop_timestamp"]) > int(first["start_timestamp"])
    table = (await api(http, action="get_simple_date_table", stream_id=str(channel.id))).json()
    assert len(table["epg_listings"]) >= 4
    assert (await api(http, action="no_such_action")).json()["user_info"]["auth"] == 1


async def test_get_php_m3u_plus(http: httpx.AsyncClient, catalogue: Catalogue) -> None:
    response = await http.get("/get.php", params={**AUTH, "type": "m3u_plus", "output": "ts"})
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    body = response.content
    assert body.startswith(b'#EXTM3U\n#EXT-X-SESSION-DATA:DATA-ID="com.fake-xtream.1_0"\n')
    assert b"\r\n" in body
    lines = body.decode().split("\r\n")
    movie_at = next(i for i, line in enumerate(lines) if "/movie/" in line)
    assert lines[movie_at - 1].startswith("#EXTINF") and "tvg-id" not in lines[movie_at - 1]
    assert any(line.startswith("#EXTINF:-1 timeshift=") for line in lines)
    episodes = sum(len(s.episodes) for show in catalogue.series for s in seasons(show))
    assert body.count(b"#EXTINF") == len(catalogue.channels) + len(catalogue.movies) + episodes
    bad = await http.get("/get.php", params={"username": "user", "password": "no"})
    assert bad.status_code in (401, 404)


async def test_xmltv_interleaved_and_gzip(http: httpx.AsyncClient) -> None:
    await configure(http, epg_channels=3, epg_hours=2)
    plain = (await http.get("/xmltv.php", params=AUTH)).content
    assert plain.startswith(b"<?xml")
    first_programme = plain.index(b"<programme")
    assert plain.index(b"<channel", first_programme) > first_programme  # interleaved
    assert b'" >' in plain  # XC_VM's space before ">"
    gz = (await http.get("/xmltv.php", params={**AUTH, "gzip": "1"})).content
    assert gz[:2] == b"\x1f\x8b" and gzip.decompress(gz) == plain


async def test_stream_routes_redirect(http: httpx.AsyncClient) -> None:
    # Live streams never end, and httpx's ASGI transport reads a body whole: end it early.
    await http.post("/_media/config", json={"end_after_bytes": 188 * 10})
    for path in (
        "/user/pass/7.ts",
        "/live/user/pass/7.m3u8",
        "/movie/user/pass/3.mkv",
        "/series/user/pass/20000001.mp4",
        "/timeshift/user/pass/60/2024-01-01:12-00/7.ts",
    ):
        response = await http.get(path)
        assert response.status_code == 302, path
        location = response.headers["location"]
        async with http.stream("GET", location, follow_redirects=True) as media:
            first = await anext(media.aiter_raw())
        # HLS opens with its playlist.
        assert first[:1] == b"\x47" or first.startswith(b"#EXTM3U"), path
    assert (await http.get("/movie/user/wrong/3.mkv")).status_code == 403
    stats = (await http.get("/_control/stats")).json()
    assert stats["streams_open"] == 5 and stats["stats"]["stream:movie"] == 2


async def test_control_endpoints(http: httpx.AsyncClient, catalogue: Catalogue) -> None:
    counts = (await http.get("/_control/stats")).json()["counts"]
    added = (await http.post("/_control/add", json={"kind": "movie", "n": 2})).json()["ids"]
    assert len(added) == 2
    assert len((await api(http, action="get_vod_streams")).json()) == counts["movies"] + 2
    assert (await http.post("/_control/remove", json={"kind": "movie", "ids": added})).json() == {
        "removed": 2
    }
    assert (await http.post("/_control/config", json={"nope": 1})).status_code == 422
    assert (await http.get("/_control/config")).json()["family"] == "xtream"


def test_large_account_sizes() -> None:
    assert LARGE_ACCOUNT == {"channels": 56_713, "movies": 178_007, "series": 47_568}

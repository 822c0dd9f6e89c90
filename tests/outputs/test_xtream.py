"""The Xtream player API, used by a real Xtream client library (pyxtream) on a real socket."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pyxtream import XTream
from pyxtream.schemaValidator import SchemaType, schemaValidator

from iptvsync.fakes.items import seasons as fake_seasons
from iptvsync.outputs import xtream_api as xt
from iptvsync.store.models import categories, series
from iptvsync.store.users import create_user

from .conftest import ALPHA_CHANNELS, BRAVO_PASS, BRAVO_USER, AppServer, Seeded


def _client(server: AppServer, tmp_path: Path, user: str, password: str) -> XTream:
    cache = tmp_path / "pyxtream"
    cache.mkdir(exist_ok=True)
    return XTream("iptvsync", user, password, server.url, cache_path=str(cache), reload_time_sec=-1)


def _category_ids(db: sa.Engine, provider_ids: list[int], kind: str) -> set[int]:
    with db.connect() as conn:
        return set(
            conn.execute(
                sa.select(categories.c.id).where(
                    categories.c.provider_id.in_(provider_ids),
                    categories.c.kind == kind,
                    categories.c.deleted_at.is_(None),
                    categories.c.provider_category_id != "__uncategorised__",
                )
            ).scalars()
        )


def test_pyxtream_lists_every_category_channel_movie_and_series(
    open_server: AppServer, seeded: Seeded, db: sa.Engine, tmp_path: Path
) -> None:
    # Open mode (no admin token): any credentials are accepted.
    x = _client(open_server, tmp_path, "anyone", "whatever")
    assert x.state["authenticated"]
    assert x.auth_data["user_info"]["auth"] == 1
    assert x.load_iptv()
    providers = [seeded.alpha, seeded.bravo]

    assert {c.id for c in x.channels} == (
        seeded.ids(db, "channel", seeded.alpha) | seeded.ids(db, "channel", seeded.bravo)
    )
    assert {m.id for m in x.movies} == {
        xt.movie_stream_id(i) for p in providers for i in seeded.ids(db, "movie", p)
    }
    assert {s.series_id for s in x.series} == (
        seeded.ids(db, "series", seeded.alpha) | seeded.ids(db, "series", seeded.bravo)
    )
    group_ids = {g.group_id for g in x.groups} - {9999}  # pyxtream's own catch-all groups
    expected = set()
    for kind in ("channel", "movie", "series"):
        expected |= _category_ids(db, providers, kind)
    assert expected <= group_ids
    # Every item landed in one of our groups, none in pyxtream's catch-all.
    assert all(c.group_title != "xEverythingElse" for c in x.channels + x.movies)
    # Stream URLs are built from what the login payload said.
    first = x.channels[0]
    assert first.url == f"{open_server.url}/live/anyone/whatever/{first.id}.ts"


def test_rows_match_pyxtream_schemas(open_server: AppServer, seeded: Seeded) -> None:
    base = f"{open_server.url}/player_api.php"
    auth = {"username": "u", "password": "p"}
    for action, schema in (
        ("get_live_streams", SchemaType.LIVE),
        ("get_vod_streams", SchemaType.VOD),
        ("get_series", SchemaType.SERIES_INFO),
        ("get_live_categories", SchemaType.GROUP),
        ("get_vod_categories", SchemaType.GROUP),
        ("get_series_categories", SchemaType.GROUP),
    ):
        rows = httpx.get(base, params={**auth, "action": action}).json()
        assert rows, action
        assert all(schemaValidator(row, schema) for row in rows), action


def test_series_info_fetches_episodes_on_demand(
    open_server: AppServer, seeded: Seeded, db: sa.Engine, tmp_path: Path
) -> None:
    x = _client(open_server, tmp_path, "u", "p")
    x.load_iptv()
    with db.connect() as conn:
        keys = dict(
            conn.execute(
                sa.select(series.c.id, series.c.provider_item_id).where(
                    series.c.provider_id == seeded.bravo
                )
            ).all()
        )
    fakes = {str(s.id): s for s in seeded.bravo_catalogue.series}
    checked = 0
    for show in x.series:
        if show.series_id not in keys:
            continue
        x.get_series_info_by_id(show)  # the panel is asked now, through the catalogue API
        expected = fake_seasons(fakes[keys[show.series_id]])
        got = sum(len(season.episodes) for season in show.seasons.values())
        assert got == sum(len(s.episodes) for s in expected), show.name
        for season in show.seasons.values():
            for ep in season.episodes.values():
                assert f"/series/u/p/{ep.id}." in ep.url
                assert int(ep.id) > xt.EPISODE_BASE
        checked += 1
    assert checked == len(keys)
    raw = httpx.get(
        f"{open_server.url}/player_api.php",
        params={"username": "u", "password": "p", "action": "get_series_info",
                "series_id": next(iter(keys))},
    ).json()  # fmt: skip
    assert schemaValidator(raw, SchemaType.SERIES)
    assert isinstance(raw["episodes"], dict)


def test_stream_routes_redirect_to_a_fresh_provider_link(
    open_server: AppServer, seeded: Seeded, db: sa.Engine
) -> None:
    alpha = seeded.row(db, "channel", seeded.alpha, "c1")
    answer = httpx.get(f"{open_server.url}/live/u/p/{alpha.id}.ts")
    assert answer.status_code == 302
    assert answer.headers["location"] == ALPHA_CHANNELS[0].cmd
    # The playlist form without /live/ and the bare form without an extension.
    assert httpx.get(f"{open_server.url}/u/p/{alpha.id}.m3u8").headers["location"] == alpha.cmd
    assert httpx.get(f"{open_server.url}/live/u/p/{alpha.id}").status_code == 302

    bravo = next(iter(sorted(seeded.ids(db, "channel", seeded.bravo))))
    key = _key(db, "channel", bravo)
    answer = httpx.get(f"{open_server.url}/live/u/p/{bravo}.ts")
    location = answer.headers["location"]
    # The provider's credentials appear in Location only, never in the body.
    assert location == f"{seeded.panel_url}/live/{BRAVO_USER}/{BRAVO_PASS}/{key}.ts"
    assert BRAVO_PASS not in answer.text
    # A player follows it to the panel, which serves the stream.
    # (A live stream never ends: look at the answer, not the whole body.)
    live = f"{open_server.url}/live/u/p/{bravo}.ts"
    with httpx.stream("GET", live, follow_redirects=True) as played:
        assert played.is_success

    movie = next(iter(seeded.ids(db, "movie", seeded.bravo)))
    answer = httpx.get(f"{open_server.url}/movie/u/p/{xt.movie_stream_id(movie)}.mp4")
    assert answer.status_code == 302
    assert (
        f"/movie/{BRAVO_USER}/{BRAVO_PASS}/{_key(db, 'movie', movie)}."
        in answer.headers["location"]
    )

    episode = next(iter(seeded.episode_ids(db, seeded.alpha)))
    answer = httpx.get(f"{open_server.url}/series/u/p/{xt.episode_stream_id(episode)}.mp4")
    assert answer.status_code == 302
    assert answer.headers["location"].startswith("http://cdn.alpha.test/e")

    # Removed items and ids of the wrong kind are not found.
    gone = seeded.row(db, "channel", seeded.alpha, "c6")
    assert httpx.get(f"{open_server.url}/live/u/p/{gone.id}.ts").status_code == 404
    assert httpx.get(f"{open_server.url}/movie/u/p/{movie}.mp4").status_code == 404


def _key(db: sa.Engine, kind: str, item_id: int) -> str:
    from iptvsync.store.models import ITEM_TABLES

    table = ITEM_TABLES[kind]
    with db.connect() as conn:
        return str(
            conn.execute(sa.select(table.c.provider_item_id).where(table.c.id == item_id)).scalar()
        )


def test_details_and_guide_actions(open_server: AppServer, seeded: Seeded, db: sa.Engine) -> None:
    base = f"{open_server.url}/player_api.php"

    def call(**params: Any) -> Any:
        return httpx.get(base, params={"username": "u", "password": "p", **params}).json()

    movie = seeded.row(db, "movie", seeded.alpha, "m1")
    info = call(action="get_vod_info", vod_id=xt.movie_stream_id(movie.id))
    assert info["movie_data"]["stream_id"] == xt.movie_stream_id(movie.id)
    assert info["movie_data"]["container_extension"] == "mkv"
    assert info["info"]["plot"] == "Plot of film 1"
    assert info["info"]["duration"] == "01:35:00"
    assert call(action="get_vod_info", vod_id=movie.id) == {"info": {}, "movie_data": {}}

    news = seeded.row(db, "channel", seeded.alpha, "c1")
    short = call(action="get_short_epg", stream_id=news.id, limit=2)["epg_listings"]
    assert len(short) == 2
    assert base64.b64decode(short[0]["title"]).decode().startswith("news.alpha show")
    assert short[0]["now_playing"] == 1  # the first one runs now
    assert int(short[0]["start_timestamp"]) < int(short[0]["stop_timestamp"])
    table = call(action="get_simple_data_table", stream_id=news.id)["epg_listings"]
    assert len(table) == 4
    assert call(action="get_simple_date_table", stream_id=news.id)["epg_listings"] == table
    nothing = seeded.row(db, "channel", seeded.alpha, "c5")  # no guide id
    assert call(action="get_short_epg", stream_id=nothing.id) == {"epg_listings": []}

    # Category filter: the channel listed under two categories appears in both.
    sport = seeded.row(db, "channel", seeded.alpha, "c2")
    for category_id in sport.category_ids:
        rows = call(action="get_live_streams", category_id=category_id)
        assert sport.id in {r["stream_id"] for r in rows}
    adult = next(r for r in call(action="get_live_streams") if r["name"] == "Late Night")
    assert adult["is_adult"] == "1"
    # Unknown actions and get_account_info give the login payload.
    for action in ("get_account_info", "nonsense", ""):
        payload = call(action=action)
        assert payload["user_info"]["auth"] == 1
        assert payload["server_info"]["port"] == open_server.url.rsplit(":", 1)[1]


def test_locked_api_uses_output_users(
    locked_server: AppServer, seeded: Seeded, db: sa.Engine, tmp_path: Path
) -> None:
    with db.begin() as conn:
        create_user(conn, "bob", "bob-secret", provider_ids=[seeded.bravo])
    base = f"{locked_server.url}/player_api.php"
    # Wrong credentials: 200 with auth 0, as a panel answers, for every action.
    for params in ({}, {"action": "get_live_streams"}):
        wrong = httpx.get(base, params={"username": "bob", "password": "nope", **params})
        assert wrong.status_code == 200
        assert wrong.json() == {"user_info": {"auth": 0}}
    x = _client(locked_server, tmp_path, "bob", "bob-secret")
    assert x.load_iptv()
    assert {c.id for c in x.channels} == seeded.ids(db, "channel", seeded.bravo)
    assert {s.series_id for s in x.series} == seeded.ids(db, "series", seeded.bravo)
    # Form POST works like GET (panels accept both).
    posted = httpx.post(
        base, data={"username": "bob", "password": "bob-secret", "action": "get_vod_streams"}
    ).json()
    assert {r["stream_id"] for r in posted} == {m.id for m in x.movies}
    # Another provider's items do not exist for bob.
    alpha = seeded.row(db, "channel", seeded.alpha, "c1")
    assert httpx.get(f"{locked_server.url}/live/bob/bob-secret/{alpha.id}.ts").status_code == 404
    assert httpx.get(f"{locked_server.url}/live/bob/wrong/{alpha.id}.ts").status_code == 403
    bravo = min(seeded.ids(db, "channel", seeded.bravo))
    assert httpx.get(f"{locked_server.url}/live/bob/bob-secret/{bravo}.ts").status_code == 302
    news = httpx.get(base, params={"username": "bob", "password": "bob-secret",
                                   "action": "get_short_epg", "stream_id": alpha.id})  # fmt: skip
    assert news.json() == {"epg_listings": []}


@pytest.mark.parametrize(
    ("stream_id", "channel", "movie", "episode"),
    [
        (1, 1, None, None),
        (xt.VOD_BASE - 1, xt.VOD_BASE - 1, None, None),
        (xt.VOD_BASE + 7, None, 7, None),
        (xt.EPISODE_BASE + 7, None, None, 7),
        (xt.ID_LIMIT, None, None, xt.ID_LIMIT - xt.EPISODE_BASE),
        (0, None, None, None),
        (xt.VOD_BASE, None, None, None),
    ],
)
def test_id_ranges(
    stream_id: int, channel: int | None, movie: int | None, episode: int | None
) -> None:
    assert xt.channel_id_of(stream_id) == channel
    assert xt.movie_id_of(stream_id) == movie
    assert xt.episode_id_of(stream_id) == episode


def test_get_php_playlist(open_server: AppServer, seeded: Seeded, db: sa.Engine) -> None:
    from ipytv import playlist as ipytv_playlist

    url = f"{open_server.url}/get.php"
    answer = httpx.get(url, params={"username": "u", "password": "p", "output": "hls"})
    assert answer.status_code == 200
    assert 'filename="tv_channels_u_plus.m3u"' in answer.headers["content-disposition"]
    pl = ipytv_playlist.loads(answer.text)
    assert pl.get_attribute("url-tvg") == f"{open_server.url}/xmltv.php?username=u&password=p"
    providers = [seeded.alpha, seeded.bravo]
    movies = {i for p in providers for i in seeded.ids(db, "movie", p)}
    expected = {
        *(f"/live/u/p/{i}.m3u8" for p in providers for i in seeded.ids(db, "channel", p)),
        *(f"/movie/u/p/{xt.movie_stream_id(i)}." for i in movies),
        *(f"/series/u/p/{xt.episode_stream_id(i)}." for i in seeded.episode_ids(db, seeded.alpha)),
    }
    got = set()
    for ch in pl.get_channels():
        path = ch.url.removeprefix(open_server.url)
        got.add(path if path.startswith("/live/") else path.rsplit(".", 1)[0] + ".")
    assert got == expected
    first = pl.get_channel(0)
    assert first.attributes["tvg-id"] == "news.alpha"
    assert httpx.get(first.url).status_code == 302
    plain = httpx.get(url, params={"username": "u", "password": "p", "type": "m3u"}).text
    bare = ipytv_playlist.loads(plain)
    assert bare.length() == pl.length()
    assert all(ch.attributes == {} for ch in bare.get_channels())
    assert bare.get_channel(0).name == 'News, "Live" HD'

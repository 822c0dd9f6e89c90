"""Xtream payload parsing: tables of the shapes in docs/providers.md §1 (both server families)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from iptvsync.errors import (
    ProviderAccountExpired,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderBanned,
    ProviderUnreachable,
)
from iptvsync.providers.pages import Deduper, PageBuilder, _compact_key
from iptvsync.providers.xtream.account import (
    classify_failure,
    normalise_base_url,
    parse_login,
    strip_bom,
)
from iptvsync.providers.xtream.parse import (
    parse_categories,
    parse_live_row,
    parse_series_info,
    parse_series_row,
    parse_short_epg,
    parse_vod_info,
    parse_vod_row,
)
from iptvsync.providers.xtream.values import minutes_of, to_bool, to_float, to_int
from iptvsync.records import Kind, MovieRecord

NOW = datetime(2024, 10, 19, 12, 0, tzinfo=UTC)

# Real login payloads, anonymised (iptv-proxy #160: XC 2.x; Jellyfin.Xtream #139: XUI).
XC_LOGIN = {
    "user_info": {
        "username": "U",
        "password": "P",
        "message": "Enjoy The Show !!!",
        "auth": 1,
        "status": "Active",
        "exp_date": "1746833038",
        "is_trial": "0",
        "active_cons": "0",
        "created_at": "1715275438",
        "max_connections": "1",
        "allowed_output_formats": ["ts"],
    },
    "server_info": {
        "url": "example.com",
        "port": "80",
        "https_port": "",
        "server_protocol": "http",
        "rtmp_port": "8009",
        "timezone": "Europe/London",
        "timestamp_now": 1729335877,
        "time_now": "2024-10-19 12:04:37",
        "process": True,
    },
}
XUI_LOGIN = {
    "user_info": {**XC_LOGIN["user_info"], "active_cons": 0, "exp_date": 1746833038},
    "server_info": {
        "xui": True,
        "version": "1.5.12",
        "revision": 2,
        "url": "192.168.20.103",
        "port": "8001",
        "https_port": "80011",
        "server_protocol": "http",
        "rtmp_port": "8003",
        "timestamp_now": 1734564440,
        "time_now": "2024-12-18 23:27:20",
        "timezone": "UTC",
    },
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, 1), ("1", 1), (" 22 ", 22), ("12.0", 12), ("", None), (None, None), ("abc", None),
     (True, None), ([], None), (7.9, 7)],
)  # fmt: skip
def test_to_int(value: object, expected: int | None) -> None:
    assert to_int(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7,5", 7.5), ("7.2", 7.2), (3.6, 3.6), (0, 0.0), ("", None), (None, None), ("x", None),
     ("nan", None)],
)  # fmt: skip
def test_to_float(value: object, expected: float | None) -> None:
    assert to_float(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, True), ("1", True), (True, True), ("true", True), (0, False), ("0", False),
     (False, False), (None, False), ("", False)],
)  # fmt: skip
def test_to_bool(value: object, expected: bool) -> None:
    assert to_bool(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("01:42:00", 102), ("00:45:00", 45), ("102", 102), ("45:00", 45), ("", None), (None, None),
     ("0", None), ("aa:bb", None)],
)  # fmt: skip
def test_minutes_of(value: object, expected: int | None) -> None:
    assert minutes_of(value) == expected


def test_login_both_families() -> None:
    xc = parse_login(XC_LOGIN, now=NOW)
    assert xc.family == "xtream"
    assert xc.account.status == "active"
    assert xc.account.expires_at == datetime.fromtimestamp(1746833038, UTC)
    assert xc.max_connections == 1 and xc.active_connections == 0
    assert xc.live_extension == "ts"
    xui = parse_login(XUI_LOGIN, now=NOW)
    assert xui.family == "xui" and xui.version == "1.5.12"
    assert xui.active_connections == 0


@pytest.mark.parametrize("exp", [None, "", "0", 0, "-1", -5])
def test_login_never_expires(exp: object) -> None:
    payload = {"user_info": {**XC_LOGIN["user_info"], "exp_date": exp}}
    assert parse_login(payload, now=NOW).account.expires_at is None


def test_past_exp_date_is_expired_even_when_active() -> None:
    payload = {"user_info": {**XC_LOGIN["user_info"], "exp_date": "1577836800"}}
    with pytest.raises(ProviderAccountExpired):
        parse_login(payload, now=NOW)


@pytest.mark.parametrize(
    ("user_info", "error"),
    [
        ({"auth": 0}, ProviderAuthFailed),
        ({"auth": "0"}, ProviderAuthFailed),
        ({"auth": False}, ProviderAuthFailed),
        ({"auth": 0, "status": "Expired"}, ProviderAccountExpired),
        ({"auth": 0, "status": "Banned"}, ProviderBanned),
        ({"auth": 0, "status": "Disabled"}, ProviderAuthFailed),
        ({**XC_LOGIN["user_info"], "status": "expired"}, ProviderAccountExpired),
        ({**XC_LOGIN["user_info"], "status": "BANNED"}, ProviderBanned),
    ],
)
def test_login_refusals(user_info: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_login({"user_info": user_info}, now=NOW)


@pytest.mark.parametrize("payload", [[], "x", None, {"server_info": {}}, {"user_info": []}])
def test_login_garbage(payload: object) -> None:
    with pytest.raises(ProviderBadResponse):
        parse_login(payload, now=NOW)


def test_login_auth_variants_and_m3u8_preference() -> None:
    info = {**XC_LOGIN["user_info"], "auth": "1", "allowed_output_formats": ["ts", "m3u8"]}
    assert parse_login({"user_info": info, "server_info": []}, now=NOW).live_extension == "m3u8"


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (404, b"<html><body><h1>404 Not Found</h1></body></html>", ProviderAuthFailed),
        (404, b"<html>Your line has expired</html>", ProviderAccountExpired),
        (403, b"<html>Attention Required! | Cloudflare</html>", ProviderBanned),
        (401, b"", ProviderAuthFailed),
        (429, b"", ProviderBanned),
        (503, b"", ProviderUnreachable),
        (520, b"", ProviderUnreachable),
        (884, b"", ProviderBadResponse),
        (200, b"", ProviderBadResponse),
        (200, b"blocked", ProviderBanned),
        (200, b"access denied", ProviderBanned),
        (200, b"unauthorized", ProviderAuthFailed),
        (200, b"<html>Too many connections</html>", ProviderBadResponse),
    ],
)
def test_classify_failure(status: int, body: bytes, error: type[Exception]) -> None:
    assert type(classify_failure(status, body)) is error


def test_strip_bom() -> None:
    assert strip_bom(b"\xef\xbb\xbf \n [1]") == b"[1]"
    assert strip_bom(b"  {}") == b"{}"


def test_categories() -> None:
    rows = [
        {"category_id": "22", "category_name": "Sports", "parent_id": 0},
        {"category_id": 4, "category_name": "News", "parent_id": 0},
        {"category_id": "022", "category_name": "dup"},
        {"category_id": None, "category_name": "no id"},
        {"category_id": "9", "category_name": "XXX | Adults"},
        "junk",
    ]
    cats = parse_categories(rows, Kind.CHANNEL)
    assert [(c.provider_category_id, c.title, c.censored) for c in cats] == [
        ("22", "Sports", False),
        ("4", "News", False),
        ("9", "XXX | Adults", True),
    ]
    with pytest.raises(ProviderAuthFailed):
        parse_categories({"user_info": {"auth": 0}}, Kind.MOVIE)
    with pytest.raises(ProviderBadResponse):
        parse_categories("nope", Kind.MOVIE)


LIVE_XC = {
    "num": "1",
    "name": "UK: BBC One HD",
    "stream_type": "live",
    "stream_id": "1001",
    "stream_icon": "http://logos.example/bbc1.png",
    "epg_channel_id": "bbc1.uk",
    "added": "1500000000",
    "is_adult": "0",
    "category_id": "22",
    "custom_sid": "",
    "tv_archive": "1",
    "direct_source": "",
    "tv_archive_duration": "7",
}
LIVE_XUI = {
    **LIVE_XC,
    "num": 1,
    "stream_id": 1001,
    "category_ids": [22, 5],
    "tv_archive": 1,
    "tv_archive_duration": 7,
    "is_adult": 0,
    "thumbnail": "",
}


@pytest.mark.parametrize("row", [LIVE_XC, LIVE_XUI])
def test_live_row_both_families(row: dict[str, object]) -> None:
    ch = parse_live_row(row)
    assert ch is not None
    assert (ch.provider_item_id, ch.name, ch.number, ch.epg_id) == (
        "1001",
        "UK: BBC One HD",
        1,
        "bbc1.uk",
    )
    assert ch.archive and ch.archive_days == 7 and not ch.radio
    assert ch.category_ids[0] == "22"
    if "category_ids" in row:
        assert ch.category_ids == ("22", "5")


def test_live_row_nulls_and_radio() -> None:
    row = {
        "stream_id": 7,
        "name": None,
        "stream_icon": None,
        "epg_channel_id": "",
        "category_id": None,
        "stream_type": "radio_streams",
        "tv_archive": 0,
        "tv_archive_duration": "3",
    }
    ch = parse_live_row(row)
    assert ch is not None
    assert ch.name == "Channel 7" and ch.logo is None and ch.epg_id is None
    assert ch.category_ids == () and ch.radio and not ch.archive and ch.archive_days is None


@pytest.mark.parametrize(
    "row", [{}, {"stream_id": None}, {"stream_id": ""}, {"stream_id": "x"}, [], None]
)
def test_rows_without_id_are_skipped(row: object) -> None:
    assert parse_live_row(row) is None
    assert parse_vod_row(row) is None
    assert parse_series_row(row) is None


def test_vod_row() -> None:
    row = {
        "num": 1,
        "name": "Some Film (2020)",
        "stream_type": "movie",
        "stream_id": 2001,
        "stream_icon": "http://img.example/p.jpg",
        "rating": "7,5",
        "rating_5based": 3.6,
        "added": "1600000000",
        "is_adult": "0",
        "category_id": "5",
        "container_extension": "MKV",
        "custom_sid": None,
        "direct_source": "",
    }
    m = parse_vod_row(row)
    assert m is not None
    assert (m.provider_item_id, m.year, m.rating, m.extension) == ("2001", 2020, 7.5, "mkv")
    assert m.added_at == datetime.fromtimestamp(1600000000, UTC)
    assert parse_vod_row({**row, "rating": ""}).rating is None  # type: ignore[union-attr]
    assert parse_vod_row({**row, "rating": 0}).rating is None  # type: ignore[union-attr]
    xui = parse_vod_row({**row, "year": "2019", "plot": "p", "cast": "A, B", "genre": "Drama"})
    assert xui is not None and xui.year == 2019 and xui.actors == "A, B"


def test_series_row() -> None:
    row = {
        "num": 1,
        "name": "Some Show (2019)",
        "series_id": 3001,
        "cover": "http://img/s.jpg",
        "releaseDate": "2019-01-10",
        "last_modified": "1700000000",
        "rating": "8",
        "episode_run_time": "45",
        "category_id": 770,
        "category_ids": [770, 7],
    }
    s = parse_series_row(row)
    assert s is not None
    assert (s.provider_item_id, s.poster, s.year, s.rating, s.duration_min) == (
        "3001",
        "http://img/s.jpg",
        2019,
        8.0,
        45,
    )
    assert s.category_ids == ("770", "7")
    assert s.added_at == datetime.fromtimestamp(1700000000, UTC)


def test_deduper_keeps_every_category() -> None:
    dedupe = Deduper()
    first = parse_live_row({**LIVE_XC, "category_id": "1"})
    again = parse_live_row({**LIVE_XC, "category_id": "1", "num": "9"})
    other = parse_live_row({**LIVE_XC, "category_id": "2", "num": "12"})
    assert first and again and other
    assert dedupe.accept(first) is first
    assert dedupe.accept(again) is None
    merged = dedupe.accept(other)
    assert merged is not None and merged.category_ids == ("1", "2") and merged.number == 1
    assert dedupe.accept(other) is None
    assert len(dedupe) == 1


def _ep(eid: object, num: object, season: object, **extra: object) -> dict[str, object]:
    return {
        "id": eid,
        "episode_num": num,
        "title": f"Show - S01E0{num} - Title {num}",
        "container_extension": "mp4",
        "info": {},
        "season": season,
        **extra,
    }


SERIES_SHAPES = {
    "object keyed by season": {
        "seasons": [{"season_number": 1, "name": "Season One"}],
        "info": {"name": "Show"},
        "episodes": {"1": [_ep("40001", 1, 1), _ep("40002", 2, 1)], "2": [_ep(40003, 1, 2)]},
    },
    "list of lists with season 0": {
        "seasons": [],
        "info": [],
        "episodes": [[], [_ep(40001, 1, 1), _ep(40002, "2", "1")], [_ep(40003, 1, 2)]],
    },
    "string numbers, info [] and no seasons key": {
        "info": {},
        "episodes": {
            "1": [_ep("40001", "1", "1", info=[]), _ep("40002", "2", "1")],
            "2": {"0": _ep("40003", "1", "2")},
        },
    },
    "flat list of episodes": {
        "episodes": [_ep(40001, 1, 1), _ep(40002, 2, 1), _ep(40003, 1, 2), {"episode_num": 9}]
    },
}


@pytest.mark.parametrize("shape", SERIES_SHAPES)
def test_series_info_shapes(shape: str) -> None:
    seasons = parse_series_info(SERIES_SHAPES[shape])
    assert [(s.number, [e.provider_item_id for e in s.episodes]) for s in seasons] == [
        (1, ["40001", "40002"]),
        (2, ["40003"]),
    ]
    first = seasons[0].episodes[0]
    assert (first.season, first.number, first.name, first.extension) == (1, 1, "Title 1", "mp4")


def test_series_info_season_names_and_empty() -> None:
    seasons = parse_series_info(SERIES_SHAPES["object keyed by season"])
    assert [s.name for s in seasons] == ["Season One", "Season 2"]
    assert parse_series_info({"seasons": [], "info": [], "episodes": []}) == []
    assert parse_series_info([]) == []
    with pytest.raises(ProviderAuthFailed):
        parse_series_info({"user_info": {"auth": 0}})
    with pytest.raises(ProviderBadResponse):
        parse_series_info("<html>")


def test_series_info_episodes_without_season_or_number() -> None:
    # A flat list of episodes: season 1, numbered in order, named from the title or the number.
    (season,) = parse_series_info({"episodes": [{"id": "5", "title": "Pilot"}, {"id": "6"}]})
    assert season.number == 1 and season.name == "Season 1"
    assert [(e.provider_item_id, e.season, e.number, e.name) for e in season.episodes] == [
        ("5", 1, 1, "Pilot"),
        ("6", 1, 2, "Episode 2"),
    ]


def test_vod_info_shapes() -> None:
    payload = {
        "info": {
            "movie_image": "http://img/p.jpg",
            "plot": "A plot",
            "cast": "A, B",
            "director": "C",
            "genre": "Drama",
            "releasedate": "2020-05-01",
            "rating": 7.2,
            "duration_secs": 6120,
            "duration": "01:42:00",
            "backdrop_path": "http://img/b.jpg",
            "video": [],
        },
        "movie_data": {"stream_id": 2001, "name": "Some Film", "container_extension": "mkv"},
    }
    movie = parse_vod_info(payload)
    assert movie is not None
    assert (movie.description, movie.director, movie.duration_min, movie.year) == (
        "A plot",
        "C",
        102,
        2020,
    )
    fallback = MovieRecord(provider_item_id="2001", name="From list", extension="mp4")
    bare = parse_vod_info({"info": [], "movie_data": []}, fallback)
    assert bare == fallback


def test_short_epg_base64_and_epochs() -> None:
    payload = {
        "epg_listings": [
            {
                "title": base64.b64encode("Nöws".encode()).decode(),
                "description": base64.b64encode(b"Daily news").decode(),
                "start": "2024-01-01 13:00:00",  # panel-local: ignored
                "end": 1704112200,
                "start_timestamp": "1704110400",
                "stop_timestamp": 1704112200,
                "channel_id": "bbc1.uk",
            },
            {"title": "bad", "start_timestamp": "x"},
        ]
    }
    (prog,) = parse_short_epg(payload, "1001")
    assert prog.title == "Nöws" and prog.description == "Daily news"
    assert prog.start == datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert prog.stop == datetime(2024, 1, 1, 12, 30, tzinfo=UTC)
    assert prog.channel_key == "bbc1.uk"
    assert parse_short_epg({"epg_listings": []}, "1") == []


@pytest.mark.parametrize(
    ("pasted", "base"),
    [
        ("http://host:8080/player_api.php?username=u&password=p", "http://host:8080"),
        ("https://host/panel/get.php?username=u", "https://host/panel"),
        ("host:8080/", "http://host:8080"),
        ("http://host/panel/", "http://host/panel"),
    ],
)
def test_normalise_base_url(pasted: str, base: str) -> None:
    assert normalise_base_url(pasted) == base


@pytest.mark.parametrize(
    ("count", "sizes"), [(0, [0]), (1, [1]), (3, [2, 1]), (4, [2, 2]), (5, [2, 2, 1])]
)
def test_page_builder_last_page_carries_totals(count: int, sizes: list[int]) -> None:
    builder = PageBuilder("vod", size=2)
    pages = []
    for i in range(count):
        for _ in range(2):  # every row twice: de-duplicated
            page = builder.add(MovieRecord(provider_item_id=str(i), name="m", category_ids=("1",)))
            if page is not None:
                pages.append(page)
    pages += builder.finish()
    assert [len(p.records) for p in pages] == sizes
    assert [p.number for p in pages] == list(range(1, len(sizes) + 1))
    assert (pages[-1].total_pages, pages[-1].total_items) == (len(sizes), count)
    assert all(p.total_items is None for p in pages[:-1])


def test_dedupe_keys_of_ids_that_only_look_numeric() -> None:
    """A dedupe key is an int only for ASCII digits: "²" is a digit to str.isdigit() that
    int() refuses (it crashed the walk), and "٣" is 3 to int() but is not the id "3"."""
    assert _compact_key("3") == 3
    assert _compact_key("\u00b2") == "\u00b2"
    assert _compact_key("\u0663") == "\u0663"

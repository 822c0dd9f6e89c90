"""Stalker payload parsing: captured shapes from both server families (docs/stalker.md §2-§8).

Stock payloads follow the Ministra fixtures of real portals (string ids, ``text`` key,
relative screenshot paths); reseller payloads follow the XC / XUI / XC_VM panels (ints, base64
cmds, "N/A", keys outside ``js``). Malformed input must only ever raise the typed errors.
"""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from iptvsync.errors import (
    ProviderAccountDisabled,
    ProviderAccountExpired,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderError,
    ProviderUnreachable,
)
from iptvsync.providers.stalker import parse
from iptvsync.providers.stalker.parse import (
    PortalBusy,
    PortalUrls,
    decode_envelope,
    needs_create_link,
    parse_account_info,
    parse_categories,
    parse_channel,
    parse_create_link,
    parse_handshake,
    parse_page,
    parse_profile,
    parse_reseller_seasons,
    parse_stock_episodes,
    parse_stock_files,
    parse_stock_seasons,
    parse_vod_item,
    parse_when,
    stream_id_from_cmd,
    strip_solution,
    vod,
)
from iptvsync.providers.stalker.parse.coerce import to_bool, to_float
from iptvsync.records import ChannelRecord, Kind, MovieRecord, SeriesRecord

STOCK = PortalUrls.from_endpoint("http://portal.example.com/stalker_portal/server/load.php")
RESELLER = PortalUrls.from_endpoint("http://panel.example.com:8080/portal.php")
TEXT = "generated in: 0.012s; query counter: 8; cache hits: 0; cache miss: 0; php errors: 0;"


def body(js: Any, **top: Any) -> bytes:
    return orjson.dumps({"js": js, **top})


def b64(value: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


# ---------------------------------------------------------------------------------------------
# the envelope decision tree (§2)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"   \r\n", "empty"),
        (b"Authorization failed.", "token"),
        (b"Authorization failed. 75", "token"),
        (b"  authorization failed\n", "token"),
        (b"Access denied.", "access_denied"),
        (b"Unauthorized request.", "unauthorized"),
        (body({"error": "Authorization failed"}), "token"),
        (body({"msg": "Invalid token"}), "token"),
    ],
)
def test_auth_failures(raw: bytes, reason: str) -> None:
    with pytest.raises(ProviderAuthFailed) as info:
        decode_envelope(raw)
    assert info.value.detail["reason"] == reason


@pytest.mark.parametrize(
    "raw",
    [
        b"<html><body><h1>Too many connections</h1></body></html>",
        b"Too many connections",
        b"<html><title>Service Unavailable</title>try again later</html>",
        b"mysqli_connect(): (08004/1040): Too many connections",
    ],
)
def test_transient_pages_are_portal_busy(raw: bytes) -> None:
    with pytest.raises(PortalBusy) as info:
        decode_envelope(raw)
    assert isinstance(info.value, ProviderBadResponse)  # still the bad-response code
    assert info.value.transient


@pytest.mark.parametrize(
    "raw",
    [
        b"<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head></html>",
        b'{"js": {"total_items": 3, "data": [',  # truncated
        b'{"js"',
        b"[1, 2, 3]",  # JSON, but no envelope
        b'{"data": []}',
        b'"just a string"',
        b"\xff\xfe\x00garbage",
        b"Fatal error: Uncaught Exception in /var/www/stb.class.php",
        b"[" * 100_000,  # nesting bomb
    ],
)
def test_malformed_bodies_raise_bad_response(raw: bytes) -> None:
    with pytest.raises(ProviderBadResponse):
        decode_envelope(raw)


def test_envelope_shapes() -> None:
    stock = decode_envelope(body([{"id": "1"}], text=TEXT))
    assert stock.js == [{"id": "1"}] and stock.has_text
    xc = decode_envelope(body({"id": "1", "cmd": "x"}, error="", link_id=0))
    assert not xc.has_text and xc.top == {"error": "", "link_id": 0}
    for js in (True, False, 1, "", None, {}):
        assert decode_envelope(body(js)).js == js
    # A UTF-8 BOM and PHP notices printed before the JSON are tolerated.
    assert decode_envelope(b"\xef\xbb\xbf" + body([1])).js == [1]
    noisy = b"<br />\n<b>Notice</b>:  Undefined index: x in <b>/x.php</b><br />\n" + body([2])
    assert decode_envelope(noisy).js == [2]


# ---------------------------------------------------------------------------------------------
# session (§4)


def test_handshake() -> None:
    hs = parse_handshake({"token": "3F2A9C0D7E1B4A5C8D6E0F1A2B3C4D5E", "random": "b8c4ef93"})
    assert hs.token == "3F2A9C0D7E1B4A5C8D6E0F1A2B3C4D5E" and hs.random == "b8c4ef93"
    assert parse_handshake({"token": "opaque.blob=="}).random is None
    with pytest.raises(ProviderAuthFailed):
        parse_handshake({"token": None})  # XC_VM, unregistered MAC
    with pytest.raises(ProviderAuthFailed):
        parse_handshake({"Token": "x"})  # stalkerhek #16: the key is lowercase
    with pytest.raises(ProviderBadResponse):
        parse_handshake([])
    with pytest.raises(ProviderBadResponse):
        parse_handshake({"token": "has spaces in it"})


@pytest.mark.parametrize(
    ("js", "error"),
    [
        ({"status": 1}, ProviderAuthFailed),  # bare: invalid MAC (stock)
        ({"status": "1", "msg": "device conflict - device_id mismatch",
          "block_msg": "Your STB is damaged.<br/> Call the provider."}, ProviderAuthFailed),
        ({"status": 1, "msg": "old firmware",
          "block_msg": "Firmware of your STB is outdated"}, ProviderAuthFailed),
        ({"status": 1, "msg": "account disabled",
          "block_msg": "Your account is disabled.<br/> Call the provider."},
         ProviderAccountDisabled),
        ({"status": 1, "block_msg": "Your subscription has expired"}, ProviderAccountExpired),
        ({"status": 1, "block_msg": "The portal is temporarily unavailable",
          "portal_disabled": True}, ProviderUnreachable),
        ({"status": 0, "blocked": "1"}, ProviderAccountDisabled),
        ([], ProviderBadResponse),
        ("nope", ProviderBadResponse),
    ],
)  # fmt: skip
def test_profile_refusals(js: Any, error: type[ProviderError]) -> None:
    with pytest.raises(error) as info:
        parse_profile(js)
    assert "<br" not in info.value.message


def test_profile_ok_and_login() -> None:
    stock = parse_profile(
        {"id": "122342", "mac": "00:1A:79:12:34:56", "status": 0, "blocked": "0",
         "watchdog_timeout": 120, "expire_billing_date": "2027-03-05 00:00:00"}
    )  # fmt: skip
    assert stock.status == 0 and not stock.needs_login
    assert stock.expires_at == datetime(2027, 3, 5, tzinfo=UTC)
    assert stock.watchdog_timeout == 120
    xc = parse_profile({"status": "0", "phone": "March 5, 2026, 12:00 am", "blocked": 0})
    assert xc.expires_at == datetime(2026, 3, 5, tzinfo=UTC)
    assert parse_profile({"status": 2, "info": "Use your username and password"}).needs_login
    assert parse_profile({"id": 5}).status == 0  # a full profile without status


def test_account_info() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    stock = parse_account_info({"end_date": "05.03.2027", "tariff_plan": "Full"}, now=now)
    assert stock.status == "active" and stock.expires_at == datetime(2027, 3, 5, tzinfo=UTC)
    assert stock.message == "Full"
    xc = parse_account_info({"mac": "00:1A:79:12:34:56", "phone": "March 5, 2026, 12:00 am"},
                            now=now)  # fmt: skip
    assert xc.status == "expired" and xc.expires_at == datetime(2026, 3, 5, tzinfo=UTC)
    unlimited = parse_account_info({"phone": "Unlimited"}, now=now)
    assert unlimited.status == "active" and unlimited.expires_at is None
    assert unlimited.message == "Unlimited"
    # get_main_info failed: the profile's expiry is used.
    profile = parse_profile({"status": 0, "expire_billing_date": "2027-01-01 00:00:00"})
    assert parse_account_info(None, profile, now=now).expires_at == datetime(2027, 1, 1, tzinfo=UTC)
    zero = parse_account_info({"end_date": "0000-00-00 00:00:00"}, now=now)
    assert zero.expires_at is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-07-14 17:39:14", datetime(2023, 7, 14, 17, 39, 14, tzinfo=UTC)),
        ("2023-07-14", datetime(2023, 7, 14, tzinfo=UTC)),
        (1767297600, datetime(2026, 1, 1, 20, 0, tzinfo=UTC)),
        ("1767297600", datetime(2026, 1, 1, 20, 0, tzinfo=UTC)),
        ("March 5, 2026, 12:00 am", datetime(2026, 3, 5, tzinfo=UTC)),
        ("March 5, 2026, 2:30 pm", datetime(2026, 3, 5, 14, 30, tzinfo=UTC)),
        ("05.03.2027", datetime(2027, 3, 5, tzinfo=UTC)),
        ("2023-07-14T17:39:14+02:00", datetime(2023, 7, 14, 15, 39, 14, tzinfo=UTC)),
        # As long as the common form, with an offset of its own: converted, not replaced.
        ("2023-07-14 17:39+02", datetime(2023, 7, 14, 15, 39, tzinfo=UTC)),
        ("2023-07-14T17:39:14", datetime(2023, 7, 14, 17, 39, 14, tzinfo=UTC)),
        ("0000-00-00 00:00:00", None),
        ("Unlimited", None),
        ("N/A", None),
        ("", None),
        (None, None),
        (True, None),
        ("2023-13-45 99:99:99", None),
        (12, None),
    ],
)
def test_parse_when(value: Any, expected: datetime | None) -> None:
    when = parse_when(value)
    assert when == expected
    assert when is None or when.tzinfo is UTC


# ---------------------------------------------------------------------------------------------
# categories and pages (§5.1, §6.1, §8)


def test_a_category_without_a_name_is_named_by_its_id() -> None:
    (only,) = parse.parse_categories([{"id": "7"}, {"id": "*", "title": "All"}], Kind.MOVIE)
    assert (only.provider_category_id, only.title) == ("7", "Category 7")


def test_categories_drop_all_and_keep_censored() -> None:
    stock = [
        {"id": "*", "title": "All", "alias": "all", "censored": 0},
        {"id": "1", "title": "News", "number": "1", "censored": 0, "alias": "news"},
        {"id": "19", "title": "For Adults", "number": "9", "censored": "1"},
        {"id": "dvb", "title": "DVB"},
        {"id": "20", "title": "", "alias": "sport", "censored": ""},
        "garbage",
        {"title": "no id"},
        {"id": "1", "title": "News again"},
    ]
    cats = parse_categories(stock, Kind.CHANNEL)
    assert [(c.provider_category_id, c.title, c.censored, c.position) for c in cats] == [
        ("1", "News", False, 0),
        ("19", "For Adults", True, 1),
        ("20", "sport", False, 2),
    ]
    reseller = [{"id": "*", "title": "All", "alias": "All", "active_sub": True, "censored": 0},
                {"id": 12, "title": "ENGLISH MOVIES | LATEST", "censored": 1}]  # fmt: skip
    (cat,) = parse_categories(reseller, Kind.MOVIE)
    assert cat.provider_category_id == "12" and cat.censored and cat.kind is Kind.MOVIE
    assert parse_categories({"data": reseller}, Kind.SERIES)[0].kind is Kind.SERIES
    assert parse_categories([], Kind.MOVIE) == []
    assert parse_categories(None, Kind.MOVIE) == []
    with pytest.raises(ProviderBadResponse):
        parse_categories("nope", Kind.MOVIE)


@pytest.mark.parametrize(
    ("js", "rows", "total", "size", "pages"),
    [
        ({"total_items": "1234", "max_page_items": 14, "data": [{"id": "1"}]}, 1, 1234, 14, 89),
        ({"total_items": 20, "max_page_items": "10", "data": [{"id": 1}, {"id": 2}]}, 2, 20,
         10, 2),
        ({"total_items": "0", "max_page_items": 14, "data": []}, 0, 0, 14, 0),
        ({"data": [{"id": 1}]}, 1, None, None, None),
        ({"total_items": "N/A", "max_page_items": 0, "data": []}, 0, None, None, None),
        ({"total_items": 2, "data": {"0": {"id": 1}, "1": {"id": 2}}}, 2, 2, None, None),
        ([{"id": 1}, {"id": 2}], 2, None, None, None),
        (None, 0, None, None, None),
        (False, 0, None, None, None),
    ],
)  # fmt: skip
def test_pages(js: Any, rows: int, total: int | None, size: int | None, pages: int | None) -> None:
    page = parse_page(js)
    assert len(page.rows) == rows
    assert page.total_items == total and page.page_size == size and page.total_pages == pages


@pytest.mark.parametrize("js", ["text", 12, {"data": "x"}, {"data": 5}])
def test_pages_of_the_wrong_type(js: Any) -> None:
    with pytest.raises(ProviderBadResponse):
        parse_page(js)


# ---------------------------------------------------------------------------------------------
# channels (§5.4)

STOCK_CHANNEL = {
    "id": "153", "name": "USA NETWORK", "number": "105", "censored": "0",
    "cmd": "ffrt http://localhost/ch/353", "tv_genre_id": "1", "xmltv_id":
    "I105.58452.schedulesdirect.org", "logo": "153.png", "use_http_tmp_link": "1",
    "use_load_balancing": 0, "enable_tv_archive": "1", "tv_archive_duration": "168",
    "archive": 1, "status": "1", "cmds": [{"id": "353", "url": "ffrt http://localhost/ch/353"}],
}  # fmt: skip
XC_CHANNEL = {
    "id": 2838, "name": "UK: BBC ONE HD", "number": "7", "censored": "", "cmd":
    "ffmpeg http://localhost/ch/2838_", "tv_genre_id": 4, "xmltv_id": "", "logo":
    "http://cdn.example.com/logos/bbc1.png", "use_http_tmp_link": "1", "archive": 0,
    "tv_archive_duration": 3,
}  # fmt: skip


@pytest.mark.parametrize(
    ("row", "urls", "expected"),
    [
        (STOCK_CHANNEL, STOCK, ChannelRecord(
            provider_item_id="153", name="USA NETWORK", number=105,
            logo="http://portal.example.com/stalker_portal/misc/logos/320/153.png",
            category_ids=("1",), cmd="ffrt http://localhost/ch/353",
            epg_id="I105.58452.schedulesdirect.org", archive=True, archive_days=7)),
        (XC_CHANNEL, RESELLER, ChannelRecord(
            provider_item_id="2838", name="UK: BBC ONE HD", number=7,
            logo="http://cdn.example.com/logos/bbc1.png", category_ids=("4",),
            cmd="ffmpeg http://localhost/ch/2838_")),
        ({**STOCK_CHANNEL, "logo": "/stalker_portal/misc/logos/120/153.png", "number": "N/A",
          "cmd": "", "censored": "1", "tv_genre_id": "0"}, STOCK, ChannelRecord(
            provider_item_id="153", name="USA NETWORK", number=None,
            logo="http://portal.example.com/stalker_portal/misc/logos/120/153.png",
            cmd="ffrt http://localhost/ch/353", epg_id="I105.58452.schedulesdirect.org",
            archive=True, archive_days=7, censored=True)),
        ({"id": 1, "name": "", "logo": "", "radio": "1"}, RESELLER, ChannelRecord(
            provider_item_id="1", name="Channel 1", radio=True)),
        ({"id": 2, "name": "X", "logo": "//img.example.com/x.png"}, RESELLER, ChannelRecord(
            provider_item_id="2", name="X", logo="http://img.example.com/x.png")),
        ({"id": 3, "name": "Y", "logo": "javascript:alert(1)"}, RESELLER, ChannelRecord(
            provider_item_id="3", name="Y")),
    ],
)  # fmt: skip
def test_channels(row: dict[str, Any], urls: PortalUrls, expected: ChannelRecord) -> None:
    record = parse_channel(row, urls)
    assert record == expected
    assert parse_channel({"name": "no id"}, urls) is None


def test_channel_censored_by_genre_and_extras() -> None:
    record = parse_channel({**XC_CHANNEL, "tv_genre_id": "19"}, RESELLER, censored_genres={"19"})
    assert record is not None and record.censored
    assert record.extra == {"use_http_tmp_link": "1"}
    stock = parse_channel(STOCK_CHANNEL, STOCK)
    assert stock is not None and stock.extra["use_load_balancing"] == "0"


def test_portal_urls() -> None:
    assert STOCK.origin == "http://portal.example.com"
    assert STOCK.base == "http://portal.example.com/stalker_portal"
    assert RESELLER.base == "http://panel.example.com:8080"
    root = PortalUrls.from_endpoint("https://h/server/load.php")
    assert (root.origin, root.base) == ("https://h", "https://h")
    assert STOCK.absolute("screenshots/1.jpg") == (
        "http://portal.example.com/stalker_portal/screenshots/1.jpg"
    )


# ---------------------------------------------------------------------------------------------
# VOD items (§6.3, §7)

STOCK_MOVIE = {
    "id": "49831", "name": "The Blacklist", "o_name": "The Blacklist", "description": "Spy &amp; "
    "crime.", "time": "45", "censored": "0", "series": [], "category_id": "15", "director": "",
    "actors": "James Spader, Diego Klattenhoff", "year": "2023", "added": "2023-07-14 17:39:14",
    "rating_kinopoisk": "7.58400", "rating_imdb": "0.00000", "is_series": "0",
    "screenshot_uri": "/stalker_portal/screenshots/507/50628.jpg", "genres_str": "Drama, Crime",
    "cmd": "/media/49831.mpg", "yesterday": "yesterday",
}  # fmt: skip
XC_MOVIE = {
    "id": 1234, "name": "EN - Heat (1995)", "o_name": "Heat", "description": "N/A",
    "director": "N/A", "actors": "N/A", "year": "N/A", "time": "01:50:12", "censored": 0,
    "category_id": "12", "rating_imdb": "N/A", "rating_kinopoisk": "N/A", "rating_im": "8.3",
    "age": "12+", "is_series": 0, "has_files": 0, "added": 1700000000,
    "screenshot_uri": "https://image.tmdb.org/t/p/w600/heat.jpg",
    "cmd": b64({"type": "movie", "stream_id": 1234, "stream_source": None,
                "target_container": "mkv"}),
}  # fmt: skip


def test_stock_movie() -> None:
    record = parse_vod_item(STOCK_MOVIE, STOCK)
    assert record == MovieRecord(
        provider_item_id="49831",
        name="The Blacklist",
        year=2023,
        rating=7.58,
        poster="http://portal.example.com/stalker_portal/screenshots/507/50628.jpg",
        category_ids=("15",),
        added_at=datetime(2023, 7, 14, 17, 39, 14, tzinfo=UTC),
        cmd="/media/49831.mpg",
        description="Spy & crime.",
        actors="James Spader, Diego Klattenhoff",
        genres="Drama, Crime",
        duration_min=45,
    )


def test_reseller_movie() -> None:
    record = parse_vod_item(XC_MOVIE, RESELLER)
    assert isinstance(record, MovieRecord)
    assert record.provider_item_id == "1234" and record.name == "EN - Heat (1995)"
    assert record.year is None and record.description is None and record.director is None
    assert record.rating == 8.3  # XC_VM misspells rating_im
    assert record.duration_min == 110
    assert record.extension == "mkv"
    assert record.cmd == XC_MOVIE["cmd"]  # base64 kept verbatim
    assert record.added_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert record.poster == "https://image.tmdb.org/t/p/w600/heat.jpg"


@pytest.mark.parametrize(
    ("row", "force", "kind"),
    [
        ({**STOCK_MOVIE, "is_series": "1"}, False, SeriesRecord),  # model B
        ({**STOCK_MOVIE, "series": [1, 2, 3]}, False, SeriesRecord),  # model A
        ({**XC_MOVIE, "is_series": 1, "cmd": ""}, False, SeriesRecord),
        (XC_MOVIE, True, SeriesRecord),  # a row of the type=series module
        (STOCK_MOVIE, False, MovieRecord),
    ],
)
def test_movie_or_series(row: dict[str, Any], force: bool, kind: type) -> None:
    assert type(parse_vod_item(row, STOCK, force_series=force)) is kind


@pytest.mark.parametrize(
    ("changes", "field", "value"),
    [
        ({"screenshot_uri": False}, "poster", None),
        ({"screenshot_uri": "", "pic": "covers/x.jpg"}, "poster",
         "http://portal.example.com/stalker_portal/covers/x.jpg"),
        ({"year": "2019-05-01"}, "year", 2019),
        ({"year": 1999}, "year", 1999),
        ({"year": "0"}, "year", None),
        ({"rating_kinopoisk": "7,5"}, "rating", 7.5),
        ({"rating_kinopoisk": "0", "rating_imdb": "N/A"}, "rating", None),
        ({"rating_imdb": "nan"}, "rating", 7.58),
        ({"time": "105 min"}, "duration_min", 105),
        ({"time": 0}, "duration_min", None),
        ({"added": "0000-00-00 00:00:00"}, "added_at", None),
        ({"category_id": "0"}, "category_ids", ()),
        ({"censored": 1}, "censored", True),
        ({"name": "", "o_name": "Original"}, "name", "Original"),
        ({"name": None, "o_name": None}, "name", "Untitled 49831"),
        ({"description": "a\n\n  <b>bold</b>   b"}, "description", "a bold b"),
    ],
)  # fmt: skip
def test_vod_field_quirks(changes: dict[str, Any], field: str, value: Any) -> None:
    record = parse_vod_item({**STOCK_MOVIE, **changes}, STOCK)
    assert getattr(record, field) == value


def test_vod_censored_by_category_and_garbage_rows() -> None:
    record = parse_vod_item(STOCK_MOVIE, STOCK, censored_categories={"15"})
    assert record is not None and record.censored
    assert parse_vod_item({"name": "no id"}, STOCK) is None
    weird = {"id": ["x"], "name": {"a": 1}}
    assert parse_vod_item(weird, STOCK) is None
    odd = parse_vod_item({"id": 7, "name": 12345, "year": [], "time": {}, "added": []}, STOCK)
    assert odd is not None and odd.name == "12345" and odd.year is None


# ---------------------------------------------------------------------------------------------
# seasons and episodes (§7.B, §7.C)


def test_reseller_seasons() -> None:
    season_cmd = b64({"series_id": 55, "season_num": 2, "type": "series"})
    rows = [
        {"id": "55:2", "name": "Season 2", "series": [1, 2, 3], "cmd": season_cmd},
        {"id": "55:1", "name": "Season 1", "series": ["1", "2"], "cmd": "c1"},
        {"id": "55:0", "name": "Specials", "series": [1], "cmd": "c0"},
    ]
    seasons = parse_reseller_seasons(rows, "55")
    assert [(s.number, s.name, len(s.episodes)) for s in seasons] == [
        (0, "Specials", 1),
        (1, "Season 1", 2),
        (2, "Season 2", 3),
    ]
    ep = seasons[2].episodes[2]
    assert (ep.provider_item_id, ep.season, ep.number, ep.cmd) == ("55:2:3", 2, 3, season_cmd)


@pytest.mark.parametrize(
    ("row", "number"),
    [
        ({"id": "season3", "name": "x"}, 3),
        ({"id": "55", "name": "Season 4"}, 4),  # XC_VM: the plain show id
        ({"id": "55", "name": "Specials"}, 0),
        ({"id": "55", "name": "Staffel"}, 9),  # the fallback
        ({"id": "77", "season_number": "5"}, 5),
    ],
)
def test_season_numbers(row: dict[str, Any], number: int) -> None:
    assert parse.season_number(row, fallback=9) == number


def test_stock_seasons_episodes_files() -> None:
    seasons = parse_stock_seasons(
        [
            {"id": "78", "video_id": "49831", "season_number": "2", "name": "Season 2",
             "is_season": True},
            {"id": "77", "video_id": "49831", "season_number": "1", "season_name": "",
             "name": "Season 1", "is_season": True},
            {"id": "5551", "is_file": True, "cmd": "/media/file_5551.mpg"},
        ]
    )  # fmt: skip
    assert [(s.id, s.number, s.name) for s in seasons] == [
        ("77", 1, "Season 1"),
        ("78", 2, "Season 2"),
    ]
    episodes = parse_stock_episodes(
        [
            {"id": "902", "season_id": "77", "series_number": "2", "series_name": "Two",
             "name": "Episode 2. Two", "is_episode": True},
            {"id": "901", "season_id": "77", "series_number": "1", "series_name": "",
             "name": "Episode 1. One", "is_episode": True},
            {"id": "903", "season_id": "77", "name": "Episode 3"},
        ],
        movie_id="49831",
        season=seasons[0],
    )  # fmt: skip
    assert [(e.provider_item_id, e.season, e.number, e.name) for e in episodes] == [
        ("49831:77:901", 1, 1, "Episode 1. One"),
        ("49831:77:902", 1, 2, "Two"),
        ("49831:77:903", 1, 3, "Episode 3"),
    ]
    files = parse_stock_files(
        [{"id": "1", "file_type": "sub", "cmd": "/media/file_1.mpg"},
         {"id": "2", "file_type": "video", "cmd": "/media/file_2.mpg"},
         {"id": "3", "file_type": "video", "url": "http://cdn/x.mp4"}]
    )  # fmt: skip
    assert files == ["/media/file_2.mpg", "http://cdn/x.mp4", "/media/file_1.mpg"]


# ---------------------------------------------------------------------------------------------
# play links (§5.5, §6.4)

ORIGIN = "http://portal.example.com"


@pytest.mark.parametrize(
    ("js", "top", "original", "url"),
    [
        ({"id": "153", "cmd": "ffrt http://stream.example.com/ch/5f2b6c", "error": ""}, {},
         "ffrt http://localhost/ch/353", "http://stream.example.com/ch/5f2b6c"),
        ({"id": 49831, "cmd": "ffmpeg http://storage1/get/key", "storage_id": "1", "error": ""},
         {}, "/media/49831.mpg", "http://storage1/get/key"),
        ({"id": "2838", "cmd": "ffmpeg http://host:8080/play/live.php?mac=00:1A:79:12:34:56"
          "&stream=&extension=ts&play_token=zZ2"}, {"error": ""},
         "ffmpeg http://localhost/ch/2838_",
         "http://host:8080/play/live.php?mac=00:1A:79:12:34:56&stream=2838&extension=ts"
         "&play_token=zZ2"),
        ([{"id": "1", "cmd": "ffmpeg http://ads/1.mp4", "is_advert": True},
          {"id": "2", "cmd": "ffmpeg http://real/2.mp4"}], {}, "x", "http://real/2.mp4"),
        ({"cmd": "/media/get/abc.mp4", "error": ""}, {}, "/media/1.mpg",
         "http://portal.example.com/media/get/abc.mp4"),
        ({"cmd": "?token=abc"}, {}, "x", "http://portal.example.com/?token=abc"),
        ({"cmd": "http://h/live/%mac%/1.ts"}, {}, "x", "http://h/live/00:1A:79:12:34:56/1.ts"),
        ({"cmd": "auto http://h/1.m3u8 position:120"}, {}, "x", "http://h/1.m3u8"),
    ],
)  # fmt: skip
def test_create_link(js: Any, top: dict[str, Any], original: str, url: str) -> None:
    assert (
        parse_create_link(js, top, origin=ORIGIN, original_cmd=original, mac="00:1A:79:12:34:56")
        == url
    )


@pytest.mark.parametrize(
    ("js", "top", "reason"),
    [
        ({"id": 0, "cmd": "", "error": "nothing_to_play"}, {}, "nothing to play"),
        ({"id": "1", "cmd": "udp://wtf?", "error": "limit"}, {}, "too many streams"),
        ({"id": "1", "cmd": ""}, {"error": "link_fault"}, "could not build"),  # XC: outside js
        ({"id": "", "cmd": "", "error": "player_file_missing"}, {}, "episode file is missing"),
        ({"id": "1", "cmd": "", "error": ""}, {}, "no link"),
        ({"id": "1", "cmd": "udp://239.0.0.1:1234"}, {}, "not playable"),
        ([], {}, "empty play list"),
        ("x", {}, "not an object"),
    ],
)  # fmt: skip
def test_create_link_refusals(js: Any, top: dict[str, Any], reason: str) -> None:
    with pytest.raises(ProviderBadResponse) as info:
        parse_create_link(js, top, origin=ORIGIN, original_cmd="ffrt http://localhost/ch/1")
    assert reason in info.value.message


@pytest.mark.parametrize(
    ("cmd", "needed"),
    [
        ("ffrt http://localhost/ch/353", True),
        ("ffmpeg http://host:8080/live/u/p/1.ts", False),
        ("ffmpeg http://localhost/ch/1_", True),
        ("ffmpeg http://cdn.example.com/ch/1_", True),
        ("rtp rtp://239.1.1.1:1234", True),
        ("", True),
        (None, True),
    ],
)
def test_needs_create_link(cmd: str | None, needed: bool) -> None:
    assert needs_create_link(cmd) is needed
    assert needs_create_link("http://cdn/x.ts", tmp_link=True)


def test_cmd_helpers() -> None:
    assert strip_solution("ffrt2 http://x/ch/1") == "http://x/ch/1"
    assert strip_solution("http://x/ch/1") == "http://x/ch/1"
    assert stream_id_from_cmd("ffmpeg http://localhost/ch/2838_") == "2838"
    assert stream_id_from_cmd(b64({"type": "movie", "stream_id": 1234})) == "1234"
    assert stream_id_from_cmd("http://h/play/live.php?stream=77&x=1") == "77"
    assert stream_id_from_cmd("nothing here") is None
    assert parse.decode_b64_cmd("/media/1.mpg") is None
    assert parse.decode_b64_cmd("bm90IGpzb24=") is None  # base64, but not JSON


def test_portal_messages_never_echo_a_mac() -> None:
    with pytest.raises(ProviderAuthFailed) as info:
        parse_profile({"status": 1, "msg": "MAC 00:1A:79:12:34:56 is not registered"})
    assert "12:34" not in info.value.message and "00:1A:79:XX:XX:56" in info.value.message


# ---------------------------------------------------------------------------------------------
# anything at all in → records or typed errors out

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["N/A", "0000-00-00 00:00:00", "*", "1", "ffrt http://localhost/ch/1_"]),
    # Digits to str.isdigit() that int() refuses (superscripts), and ones it takes (Arabic).
    st.sampled_from(["\u00b2", "\u00b9\u00b2\u00b3\u2074", "\u0663\u0660", "1\u00b2"]),
)
_KEYS = st.sampled_from(
    ["id", "name", "o_name", "number", "logo", "cmd", "data", "total_items", "max_page_items",
     "is_series", "series", "year", "added", "time", "rating_imdb", "screenshot_uri", "token",
     "status", "error", "censored", "tv_genre_id", "category_id", "season_number", "js", "msg"]
)  # fmt: skip
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_KEYS, inner, max_size=8),
    max_leaves=30,
)


@given(_JSON)
def test_every_parser_raises_only_typed_errors(js: Any) -> None:
    calls = [
        lambda: parse_handshake(js),
        lambda: parse_profile(js),
        lambda: parse_account_info(js, now=datetime(2026, 1, 1, tzinfo=UTC)),
        lambda: parse_categories(js, Kind.MOVIE),
        lambda: parse_page(js),
        lambda: parse_create_link(js, {}, origin=ORIGIN, original_cmd="x"),
        lambda: parse_reseller_seasons(parse._rows(js), "1"),
        lambda: parse_stock_seasons(parse._rows(js)),
        lambda: parse.parse_channels(parse._rows(js), STOCK),
        lambda: parse.parse_vod_items(parse._rows(js), RESELLER),
        lambda: parse_stock_files(parse._rows(js)),
        lambda: decode_envelope(orjson.dumps({"js": js}, option=orjson.OPT_NON_STR_KEYS)),
    ]
    for call in calls:
        try:
            call()
        except ProviderError:
            pass
        except orjson.JSONEncodeError:
            pass  # the payload itself cannot be serialised (NaN keys, huge ints): not our input


@given(st.binary(max_size=300))
def test_any_bytes_decode_or_raise_typed(raw: bytes) -> None:
    with contextlib.suppress(ProviderError):
        decode_envelope(raw)


# ---------------------------------------------------------------------------------------------
# The fast paths of the per-row coercions answer as the general ones do


def _rating_by_to_float(raw: Any) -> float | None:
    value = to_float(raw)
    return None if value is None or value <= 0 else round(min(10.0, value), 2)


_NUMBER_TEXTS = [
    "7.70000", " 7.7 ", "7,7", "1_0", "nan", "-inf", "1e1", "0", "-1", "", "  ", "x", "11",
    "\u0667.\u0665", "7.7\u2003", "9" * 40, " " * 30 + "5.5" + " " * 5, "0x10", "5.",
    "1\x1f", "\x1c7.5",
]  # fmt: skip


@pytest.mark.parametrize("raw", _NUMBER_TEXTS)
def test_a_rating_text_reads_as_to_float_reads_it(raw: str) -> None:
    assert vod._rating({"rating_imdb": raw}) == _rating_by_to_float(raw)


@given(st.text(max_size=40))
def test_any_rating_text_reads_as_to_float_reads_it(raw: str) -> None:
    assert vod._rating({"rating_imdb": raw}) == _rating_by_to_float(raw)


@given(st.text(alphabet=" 01TRUEtrueyesnoOnf\t", max_size=8))
def test_a_flag_text_reads_the_same_on_the_fast_path(raw: str) -> None:
    assert to_bool(raw) is (raw.strip().lower() in ("1", "true", "yes", "on"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/stalker_portal/screenshots/1.jpg", "http://portal.example.com/stalker_portal/screenshots/1.jpg"),
        ("//cdn.example.net/p.jpg", "http://cdn.example.net/p.jpg"),
        ("HTTPS://cdn.example.net/p.jpg", "HTTPS://cdn.example.net/p.jpg"),
        ("javascript:alert(1)", None),
        ("p.jpg", "http://portal.example.com/stalker_portal/p.jpg"),
        ("  /x.png ", "http://portal.example.com/x.png"),
    ],
)  # fmt: skip
def test_absolute_urls_of_every_form(value: str, expected: str | None) -> None:
    assert STOCK.absolute(value) == expected


@pytest.mark.parametrize(
    ("text", "year", "minutes"),
    [
        ("\u00b2", None, None),
        ("\u00b9\u00b2\u00b3\u2074", None, None),  # "¹²³⁴": digits to isdigit(), not to int()
        ("12\u00b3", None, 12),  # a leading number, as in "120 min"
        ("\u0662\u0660\u0661\u0668", 2018, 2018),  # Arabic-Indic digits int() reads
    ],
)
def test_digits_int_refuses_are_no_year_and_no_duration(
    text: str, year: int | None, minutes: int | None
) -> None:
    record = parse_vod_item({"id": "1", "name": "x", "year": text, "time": text}, STOCK)
    assert record is not None
    assert (record.year, record.duration_min) == (year, minutes)


# Texts the year's and the duration's shortcut take (decimal digits of any script), and some it
# leaves to the general reading (signs, spaces, "missing" words, other digits).
_NUMBERISH = st.text(alphabet="0123456789\u0660\u0662\u0668\u09e6\u00b2 +-.:Nn/a\t", max_size=10)


@given(_NUMBERISH)
def test_the_year_and_duration_shortcuts_answer_as_the_general_reading(text: str) -> None:
    assert vod._year(text) == vod._year_of(text)
    assert vod._duration_min(text) == vod._duration_of(text)

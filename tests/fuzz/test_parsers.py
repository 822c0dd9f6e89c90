"""Property tests: every parser, fed anything, returns records or raises one of OUR typed
errors (``IptvsyncError``) — never another exception.

Inputs are built to look like the real thing and then broken: JSON-ish trees with every scalar
type where a string is expected, bytes with BOMs, junk and truncation, XML fragments with
entities and DOCTYPEs.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iptvsync.errors import IptvsyncError
from iptvsync.providers.m3u import entries as m3u_entries
from iptvsync.providers.m3u import parse as m3u
from iptvsync.providers.stalker import parse as stalker
from iptvsync.providers.xmltv import parse_guide, parse_xmltv_time
from iptvsync.providers.xtream import account as xtream_account
from iptvsync.providers.xtream import parse as xtream
from iptvsync.records import Kind

# The number of examples is the Hypothesis profile's (tests/conftest.py).
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["", "N/A", "0", "1", "*", "null", "1,5", "7.2", "2024-01-01 10:00:00"]),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=25,
)
STALKER_KEYS = [
    "id", "name", "o_name", "number", "logo", "cmd", "tv_genre_id", "xmltv_id", "censored",
    "category_id", "is_series", "series", "year", "added", "rating_imdb", "rating_kinopoisk",
    "screenshot_uri", "time", "enable_tv_archive", "tv_archive_duration", "total_items",
    "max_page_items", "data", "title", "token", "status", "js", "error",
]  # fmt: skip
XTREAM_KEYS = [
    "stream_id", "series_id", "num", "name", "title", "stream_icon", "cover", "epg_channel_id",
    "category_id", "category_ids", "added", "last_modified", "rating", "container_extension",
    "tv_archive", "tv_archive_duration", "stream_type", "is_adult", "user_info", "auth",
    "status", "exp_date", "seasons", "episodes", "info", "movie_data", "epg_listings",
]  # fmt: skip


def rows(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(keys), json_values, max_size=len(keys))


URLS = stalker.PortalUrls.from_endpoint("http://portal.test/stalker_portal/server/load.php")


def only_typed_errors(call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except IptvsyncError:
        return None


# --- Stalker --------------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=300))
def test_stalker_envelope_bytes(body: bytes) -> None:
    only_typed_errors(stalker.decode_envelope, body)
    only_typed_errors(stalker.parse_channel_stream, body, URLS)


@FUZZ
@given(st.lists(rows(STALKER_KEYS), max_size=5), st.integers(min_value=0, max_value=400))
def test_stalker_channel_stream(items: list[dict[str, Any]], cut: int) -> None:
    body = json.dumps({"js": {"total_items": len(items), "data": items}}, allow_nan=True)
    only_typed_errors(stalker.parse_channel_stream, body.encode(), URLS)
    only_typed_errors(stalker.parse_channel_stream, body[:cut].encode(), URLS)


@FUZZ
@given(json_values)
def test_stalker_envelope_json(value: Any) -> None:
    body = json.dumps({"js": value}, allow_nan=True)
    only_typed_errors(stalker.decode_envelope, body.encode())
    only_typed_errors(stalker.decode_envelope, body[: len(body) // 2].encode())


@FUZZ
@given(json_values)
def test_stalker_session_payloads(js: Any) -> None:
    only_typed_errors(stalker.parse_handshake, js)
    only_typed_errors(stalker.parse_profile, js)
    only_typed_errors(stalker.parse_page, js)
    for kind in Kind:
        only_typed_errors(stalker.parse_categories, js, kind)
    only_typed_errors(stalker.parse_create_link, js, origin="http://portal.test")


@FUZZ
@given(st.lists(rows(STALKER_KEYS), max_size=6))
def test_stalker_rows(items: list[dict[str, Any]]) -> None:
    for row in items:
        only_typed_errors(stalker.parse_channel, row, URLS)
        only_typed_errors(stalker.parse_vod_item, row, URLS)
        only_typed_errors(stalker.parse_vod_item, row, URLS, force_series=True)
    only_typed_errors(stalker.parse_reseller_seasons, items, "55")
    only_typed_errors(stalker.parse_stock_seasons, items)
    only_typed_errors(stalker.parse_stock_files, items)


# --- Xtream ---------------------------------------------------------------------------------


@FUZZ
@given(json_values)
def test_xtream_payloads(payload: Any) -> None:
    from datetime import UTC, datetime

    only_typed_errors(xtream_account.parse_login, payload, now=datetime(2026, 1, 1, tzinfo=UTC))
    only_typed_errors(xtream_account.check_auth_object, payload)
    for kind in Kind:
        only_typed_errors(xtream.parse_categories, payload, kind)
    only_typed_errors(xtream.parse_vod_info, payload)
    only_typed_errors(xtream.parse_series_info, payload)
    only_typed_errors(xtream.parse_short_epg, payload, "ch")


@FUZZ
@given(rows(XTREAM_KEYS))
def test_xtream_rows(row: dict[str, Any]) -> None:
    only_typed_errors(xtream.parse_live_row, row)
    only_typed_errors(xtream.parse_vod_row, row)
    only_typed_errors(xtream.parse_series_row, row)
    only_typed_errors(xtream.parse_series_info, {"seasons": [row], "episodes": {"1": [row]}})


@FUZZ
@given(st.integers(min_value=100, max_value=599), st.binary(max_size=200))
def test_xtream_failures(status: int, body: bytes) -> None:
    error = xtream_account.classify_failure(status, body)
    assert isinstance(error, IptvsyncError)


# --- M3U ------------------------------------------------------------------------------------

m3u_lines = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "#EXTM3U",
                '#EXTM3U url-tvg="http://x/g.xml"',
                '#EXTINF:-1 tvg-id="a" tvg-name="A, B" group-title="News",A, B',
                "#EXTINF:-1 ,Orphan",
                '#EXTINF:0 radio="true",Radio',
                "#EXTINF:-1 tvg-chno=5 tvg-logo='http://l/a,b.png',Five",
                "#EXTGRP:Group",
                "#EXTVLCOPT:http-user-agent=UA",
                "#KODIPROP:inputstream=x=y",
                "http://h/live/u/p/1.ts",
                "http://h/movie/u/p/2.mkv",
                "http://h/series/u/p/3.mp4",
                "Show S01E02",
                '#EXTINF:-1 tvg-name="broken',
            ]
        ),
        st.text(max_size=40),
    ),
    max_size=25,
)


@FUZZ
@given(m3u_lines, st.sampled_from(["\n", "\r\n", "\r"]), st.booleans())
def test_m3u_playlists(lines: list[str], eol: str, bom: bool) -> None:
    data = (b"\xef\xbb\xbf" if bom else b"") + eol.join(lines).encode("utf-8", "replace")
    result = only_typed_errors(m3u.parse_playlist, data)
    if result is None:
        return
    _header, entries = result
    for entry in entries:
        only_typed_errors(m3u_entries.to_record, entry)
        only_typed_errors(m3u_entries.identity_key, entry)


@FUZZ
@given(st.binary(max_size=400))
def test_m3u_binary_junk(data: bytes) -> None:
    only_typed_errors(m3u.parse_playlist, data)
    only_typed_errors(m3u.sniff_error, data)


@FUZZ
@given(st.text(max_size=200))
def test_m3u_extinf_and_urls(text: str) -> None:
    only_typed_errors(m3u.parse_extinf, "#EXTINF:-1 " + text)
    only_typed_errors(m3u_entries.normalise_url, text)
    only_typed_errors(m3u_entries.episode_marker, text)


# --- XMLTV ----------------------------------------------------------------------------------

xml_parts = st.lists(
    st.sampled_from(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<!DOCTYPE tv [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>',
            '<!DOCTYPE tv SYSTEM "xmltv.dtd">',
            '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
            "<tv>",
            "</tv>",
            '<channel id="c1"><display-name>One</display-name></channel>',
            '<programme start="20260101120000 +0100" stop="20260101130000 +0100" channel="c1">',
            "<title>News &amp; more</title>",
            "<title>&b;</title>",
            "<title>&eacute;</title>",
            "<desc>\x01control</desc>",
            '<episode-num system="xmltv_ns">0.4.</episode-num>',
            "</programme>",
            '<programme start="garbage" channel="c1"><title>x</title></programme>',
            "<programme",
            "&e;",
        ]
    ),
    max_size=14,
)


@FUZZ
@given(xml_parts)
def test_xmltv_documents(parts: list[str]) -> None:
    only_typed_errors(parse_guide, "".join(parts).encode())


@FUZZ
@given(st.binary(max_size=300))
def test_xmltv_bytes(data: bytes) -> None:
    only_typed_errors(parse_guide, data)


@FUZZ
@given(st.text(max_size=40))
def test_xmltv_times(text: str) -> None:
    only_typed_errors(parse_xmltv_time, text)


@pytest.mark.parametrize(
    "doc",
    [
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        b"<tv><programme start='20260101000000' channel='a'><title>&lol3;</title>"
        b"</programme></tv>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b"<tv><channel id='a'><display-name>&e;</display-name></channel></tv>",
    ],
)
def test_hostile_xml_is_a_typed_error(doc: bytes) -> None:
    with pytest.raises(IptvsyncError):
        parse_guide(doc)


_attr_key = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_\-:.]{0,12}", fullmatch=True)
_attr_value = st.text(alphabet=st.characters(blacklist_characters='"\n\r'), max_size=20)


@FUZZ
@given(
    st.lists(st.tuples(_attr_key, _attr_value), max_size=6),
    st.text(max_size=30),
    st.sampled_from(["-1", "0", "3600", "-1.5", "12"]),
    st.sampled_from(["#EXTINF:", "#extinf:", "#EXTINF: "]),
)
def test_m3u_extinf_fast_path_agrees_with_the_general_parser(
    attrs: list[tuple[str, str]], name: str, duration: str, prefix: str
) -> None:
    line = prefix + duration + "".join(f' {k}="{v}"' for k, v in attrs) + "," + name
    assert m3u.parse_extinf(line) == m3u.parse_extinf_general(line)


@FUZZ
@given(
    st.lists(
        st.sampled_from(
            [
                b"#EXTM3U\n",
                b"#EXTINF:-1,Caf\xc3\xa9\n",
                b"http://h/1.ts\r\n",
                b"\r",
                b"\n",
                b"  \n",
                b"\xef\xbb\xbf",
                b"caf\xe9\n",
                b"x" * 40,
                b"#EXTGRP:A\n",
                b"\xc2\xa0\n",
                b"\xc3",
            ]
        ),
        max_size=25,
    ),
    st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=8),
)
def test_m3u_line_decoder_fast_path_agrees_with_the_line_by_line_path(
    pieces: list[bytes], cuts: list[int]
) -> None:
    data = b"".join(pieces)

    def decode(fast: bool) -> tuple[list[str], int]:
        decoder = m3u.LineDecoder(max_line=32)
        if not fast:
            decoder._split_fast = lambda body, out: False  # type: ignore[method-assign]
        lines: list[str] = []
        position, i = 0, 0
        while position < len(data):
            step = cuts[i % len(cuts)]
            lines += decoder.feed(data[position : position + step])
            position, i = position + step, i + 1
        lines += decoder.close()
        return lines, decoder.junk_lines

    assert decode(fast=True) == decode(fast=False)

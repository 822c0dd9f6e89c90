"""XMLTV parsing: times with offsets, episode numbers, interleaved order, compression, chunked
feeding, and hostile or broken guides (typed errors only)."""

from __future__ import annotations

import contextlib
import gzip
import lzma
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iptvsync.errors import ProviderBadResponse
from iptvsync.fakes.m3u import BILLION_LAUGHS
from iptvsync.providers.xmltv import (
    XmltvChannel,
    XmltvParser,
    episode_from_xmltv_ns,
    iter_programmes,
    parse_guide,
    parse_xmltv_time,
)
from iptvsync.records import ProgrammeRecord


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20240101120000 +0000", datetime(2024, 1, 1, 12, 0, tzinfo=UTC)),
        ("20240101120000 +0100", datetime(2024, 1, 1, 11, 0, tzinfo=UTC)),
        ("20240101120000 -0530", datetime(2024, 1, 1, 17, 30, tzinfo=UTC)),
        ("20240101120000+02:00", datetime(2024, 1, 1, 10, 0, tzinfo=UTC)),
        ("20240101120000", datetime(2024, 1, 1, 12, 0, tzinfo=UTC)),
        ("202401011200", datetime(2024, 1, 1, 12, 0, tzinfo=UTC)),
        ("202401", datetime(2024, 1, 1, 0, 0, tzinfo=UTC)),
        ("20240601120000 BST", datetime(2024, 6, 1, 11, 0, tzinfo=UTC)),
        ("20240101000000 +0100", datetime(2023, 12, 31, 23, 0, tzinfo=UTC)),
        ("", None),
        (None, None),
        ("tomorrow", None),
        ("20241399000000", None),
    ],
)
def test_times(text: str | None, expected: datetime | None) -> None:
    assert parse_xmltv_time(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.4.", "S01E05"),
        ("0 . 12/13 . 0/3", "S01E13"),
        (".4.", "E05"),
        ("2..", "S03"),
        ("..", None),
        ("", None),
        ("S01E05", None),
    ],
)
def test_xmltv_ns(text: str, expected: str | None) -> None:
    assert episode_from_xmltv_ns(text) == expected


GUIDE = b"""\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE tv SYSTEM "xmltv.dtd">
<tv generator-info-name="fake/1.0">
  <channel id="news.fake">
    <display-name lang="en">News Live</display-name>
    <display-name>7</display-name>
    <icon src="http://127.0.0.1/l/news.png"/>
  </channel>
  <programme start="20240101120000 +0100" stop="20240101123000 +0100" channel="news.fake" >
    <title lang="en">Midday News</title>
    <sub-title>Episode title</sub-title>
    <desc lang="en">Headlines &amp; weather, caf&eacute;.</desc>
    <category lang="en">News</category>
    <episode-num system="xmltv_ns">0.4.</episode-num>
    <episode-num system="onscreen">S01E05</episode-num>
    <rating system="MPAA"><value>PG</value></rating>
  </programme>
  <programme start="20240101113000" channel="news.fake"><title>No stop</title>
    <episode-num system="onscreen">Ep. 7</episode-num></programme>
  <channel id="sport.fake"><display-name>Sport</display-name></channel>
  <programme start="20240101120000 +0000" stop="20240101140000 +0000"
    channel="sport.fake"><title>Match</title></programme>
  <programme start="20240101120000 +0000" channel="news.fake"><title>After</title>
  </programme>
  <programme start="garbage" stop="20240101140000" channel="sport.fake"><title>Bad</title>
  </programme>
  <programme start="20240101150000" stop="20240101140000" channel="sport.fake">
    <title>Back</title></programme>
</tv>
"""


def _programmes(items: list[object]) -> list[ProgrammeRecord]:
    return [i for i in items if isinstance(i, ProgrammeRecord)]


def test_interleaved_guide() -> None:
    items = parse_guide(GUIDE)
    channels = [i for i in items if isinstance(i, XmltvChannel)]
    assert channels == [
        XmltvChannel("news.fake", ("News Live", "7"), "http://127.0.0.1/l/news.png"),
        XmltvChannel("sport.fake", ("Sport",), None),
    ]
    progs = {p.title: p for p in _programmes(items)}
    assert set(progs) == {"Midday News", "No stop", "Match"}  # "After" has no stop and no next
    midday = progs["Midday News"]
    assert midday.start == datetime(2024, 1, 1, 11, 0, tzinfo=UTC)
    assert midday.stop == datetime(2024, 1, 1, 11, 30, tzinfo=UTC)
    assert (midday.subtitle, midday.category, midday.episode) == ("Episode title", "News", "S01E05")
    assert midday.description == "Headlines & weather, café."
    # A programme without stop ends where the channel's next one starts (DTD rule).
    assert progs["No stop"].stop == datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert progs["No stop"].episode == "Ep. 7"


@pytest.mark.parametrize("compress", [gzip.compress, lzma.compress, lambda b: b])
def test_compression_by_magic_and_chunked_feeding(compress: object) -> None:
    data = compress(GUIDE)  # type: ignore[operator]
    whole = parse_guide(data)
    parser = XmltvParser()
    pieces: list[object] = []
    for i in range(0, len(data), 7):  # awkward chunk boundaries everywhere
        pieces.extend(parser.feed(data[i : i + 7]))
    pieces.extend(parser.close())
    assert pieces == whole
    assert len(_programmes(whole)) == 3


async def test_async_stream() -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for i in range(0, len(GUIDE), 100):
            yield GUIDE[i : i + 100]

    titles = [p.title async for p in iter_programmes(chunks())]
    assert sorted(titles) == ["Match", "Midday News", "No stop"]


HOSTILE = {
    "billion laughs": BILLION_LAUGHS,
    "external entity": b'<?xml version="1.0"?><!DOCTYPE tv [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<tv><channel id='a'><display-name>&x;</display-name></channel></tv>",
    "parameter entity": b'<!DOCTYPE tv [<!ENTITY % p SYSTEM "http://127.0.0.1/x.dtd"> %p;]><tv/>',
    "truncated": GUIDE[: len(GUIDE) // 2],
    "truncated gzip": gzip.compress(GUIDE)[:200],
    "html page": b"<!DOCTYPE html><html><body>404 Not Found</body></html>",
    "empty": b"",
    "not xml": b"Too many connections",
    "zip": b"PK\x03\x04" + b"\x00" * 40,
    "unescaped ampersand": b"<tv><channel id='a'><display-name>A & B</display-name></channel></tv>",
    "bad gzip": b"\x1f\x8b\x08\x00garbage-garbage-garbage",
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_guides_raise_bad_response(name: str) -> None:
    with pytest.raises(ProviderBadResponse):
        parse_guide(HOSTILE[name])


def test_no_network_and_no_dtd_loading() -> None:
    # A SYSTEM DTD (the standard xmltv.dtd reference) is fine: it is never fetched.
    items = parse_guide(b'<!DOCTYPE tv SYSTEM "http://127.0.0.1:1/xmltv.dtd"><tv></tv>')
    assert items == []


@given(st.binary(max_size=400))
def test_random_bytes_only_raise_bad_response(data: bytes) -> None:
    with contextlib.suppress(ProviderBadResponse):
        parse_guide(data)


@given(st.integers(min_value=1, max_value=len(GUIDE) - 1), st.binary(max_size=20))
def test_corrupted_guides_only_raise_bad_response(cut: int, junk: bytes) -> None:
    with contextlib.suppress(ProviderBadResponse):
        parse_guide(GUIDE[:cut] + junk + GUIDE[cut:])

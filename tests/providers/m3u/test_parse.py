"""M3U parsing: the quirk playlist of docs/providers.md §2.7, attribute tokenising, live/VOD rules,
identity keys, line decoding and hostile input (typed errors only)."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iptvsync.errors import (
    ProviderAccountExpired,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderError,
)
from iptvsync.providers.m3u.entries import (
    EntryKind,
    EpisodeEntry,
    classify,
    episode_marker,
    identity_key,
    normalise_url,
    to_record,
)
from iptvsync.providers.m3u.parse import (
    LineDecoder,
    M3uEntry,
    parse_extinf,
    parse_playlist,
    sniff_error,
)
from iptvsync.records import ChannelRecord, MovieRecord

# docs/providers.md §2.7 with real bytes: BOM, CRLF on some lines only, session data, an orphan.
QUIRKS = (
    b'\xef\xbb\xbf#EXTM3U url-tvg="http://127.0.0.1:9/xmltv.php?username=u&password=p"\n'
    b'#EXT-X-SESSION-DATA:DATA-ID="com.fake.1_0"\n'
    b'#EXTINF:-1 tvg-id="news.fake" tvg-name="News, Live" tvg-logo="http://127.0.0.1:9/l/a,b.png"'
    b' tvg-chno=7 group-title="News",News, Live HD\r\n'
    b"http://127.0.0.1:9/u/p/1001.ts\r\n"
    b'#EXTINF:-1 tvg-ID="sport.fake" group-title="Sports" timeshift="3",Sport 1\n'
    b"#EXTVLCOPT:http-user-agent=FakeUA/1.0\n"
    b"#KODIPROP:inputstream.adaptive.license_key=https://lic.example/?a=b\n"
    b"http://127.0.0.1:9/live/u/p/1002.m3u8\n"
    b'#EXTINF:-1 tvg-name="Film (2020)" tvg-logo="" group-title="Movies",Film (2020)\n'
    b"http://127.0.0.1:9/movie/u/p/2001.mkv\n"
    b'#EXTINF:-1 tvg-name="Show S01E02" group-title="Series",Show S01E02\n'
    b"http://127.0.0.1:9/series/u/p/40002.mp4\n"
    b"#EXTINF:-1 ,Orphan with no URL\n"
    b'#EXTINF:0 radio="true",Radio One\n'
    b"#EXTGRP:Radio\n"
    b"http://127.0.0.1:9/radio1.aac\n"
)


def test_quirk_playlist() -> None:
    header, entries = parse_playlist(QUIRKS)
    assert header is not None
    assert header.guide_urls == ["http://127.0.0.1:9/xmltv.php?username=u&password=p"]
    assert [e.name for e in entries] == [
        "News, Live HD",
        "Sport 1",
        "Film (2020)",
        "Show S01E02",
        "Radio One",
    ]
    news, sport, _film, _show, radio = entries
    assert news.attrs == {
        "tvg-id": "news.fake",
        "tvg-name": "News, Live",
        "tvg-logo": "http://127.0.0.1:9/l/a,b.png",
        "tvg-chno": "7",
        "group-title": "News",
    }
    assert sport.attrs["tvg-id"] == "sport.fake" and sport.attrs["timeshift"] == "3"
    assert sport.options == {"http-user-agent": "FakeUA/1.0"}
    assert sport.kodi_props == {"inputstream.adaptive.license_key": "https://lic.example/?a=b"}
    assert radio.group == "Radio"
    assert [classify(e) for e in entries] == [
        EntryKind.CHANNEL,
        EntryKind.CHANNEL,
        EntryKind.MOVIE,
        EntryKind.EPISODE,
        EntryKind.RADIO,
    ]
    records = [to_record(e, ["u", "p"]) for e in entries]
    ch = records[0]
    assert isinstance(ch, ChannelRecord)
    assert (ch.number, ch.logo, ch.epg_id, ch.category_ids) == (
        7,
        "http://127.0.0.1:9/l/a,b.png",
        "news.fake",
        ("News",),
    )
    sport_rec = records[1]
    assert isinstance(sport_rec, ChannelRecord)
    assert sport_rec.archive and sport_rec.archive_days == 3
    assert sport_rec.extra["user-agent"] == "FakeUA/1.0"
    movie = records[2]
    assert isinstance(movie, MovieRecord)
    assert (movie.year, movie.extension, movie.poster) == (2020, "mkv", None)
    episode = records[3]
    assert isinstance(episode, EpisodeEntry)
    assert episode.series.name == "Show" and episode.series.category_ids == ("Series",)
    assert (episode.episode.season, episode.episode.number) == (1, 2)
    radio_rec = records[4]
    assert isinstance(radio_rec, ChannelRecord) and radio_rec.radio


@pytest.mark.parametrize(
    ("line", "attrs", "name"),
    [
        ('#EXTINF:-1 tvg-id="a" group-title="A, B",N', {"tvg-id": "a", "group-title": "A, B"}, "N"),
        ("#EXTINF:-1 tvg-chno=5 tvg-shift=-10.5,Five", {"tvg-chno": "5", "tvg-shift": "-10.5"}, "Five"),  # noqa: E501
        ("#EXTINF:-1 group-title='Single',One", {"group-title": "Single"}, "One"),
        ('#EXTINF:-1 tvg-id="x" ,Space before comma', {"tvg-id": "x"}, "Space before comma"),
        ("#EXTINF:-1,Plain, with comma", {}, "Plain, with comma"),
        ('#EXTINF:-1 TVG-ID="U" GROUP-TITLE="G",Up', {"tvg-id": "U", "group-title": "G"}, "Up"),
        ('#EXTINF:-1 timeshift=3,Name=with equals', {"timeshift": "3"}, "Name=with equals"),
        ('#EXTINF:-1 stray tvg-id="s",After stray', {"tvg-id": "s"}, "After stray"),
        ("#EXTINF:-1 tvg-id=\"nocomma\"", {"tvg-id": "nocomma"}, ""),
        ("#EXTINF: -1 tvg-logo=\"http://x/a==.png\",B64", {"tvg-logo": "http://x/a==.png"}, "B64"),
    ],
)  # fmt: skip
def test_extinf_tokens(line: str, attrs: dict[str, str], name: str) -> None:
    assert parse_extinf(line) == (attrs, name)


def test_directive_semantics() -> None:
    text = (
        "#EXTM3U\n"
        '#EXTINF:-1 group-title="Wins",A\n#EXTGRP:Loses\nhttp://h/a.ts\n'
        "#EXTINF:-1,B\n#EXT-X-UNKNOWN:1\n# a comment\nhttp://h/b.ts\n"  # unknown lines ignored
        "#EXTINF:-1,C\n#EXT-X-PLAYLIST-TYPE:VOD\nhttp://h/c\n"
        '#EXTINF:-1 tvg-name="broken\n"  group-title="Joined",D\nhttp://h/d.ts\n'
        "http://h/e.ts\n"  # a URL with no #EXTINF: kept, named after the URL
        "#EXTINF:-1,Orphan at the end\n"
    )
    _, entries = parse_playlist(text)
    a, b, c, d, e = entries
    assert a.group == "Wins" and b.group is None  # EXTGRP is per entry
    assert classify(c) is EntryKind.MOVIE and c.vod_flag
    assert d.group == "Joined"
    assert e.name == "e.ts"


def test_missing_header_is_accepted_but_garbage_is_not() -> None:
    _, entries = parse_playlist("#EXTINF:-1,Only\nhttp://h/1.ts\n")
    assert len(entries) == 1
    with pytest.raises(ProviderBadResponse):
        parse_playlist("hello\nworld\n")


@pytest.mark.parametrize(
    ("url", "name", "attrs", "kind"),
    [
        ("http://h/u/p/1.ts", "Live", {}, EntryKind.CHANNEL),
        ("http://h/u/p/1", "Live no ext", {}, EntryKind.CHANNEL),
        ("http://h/hls/1/index.m3u8", "Friends S01E01 24/7", {}, EntryKind.CHANNEL),
        ("udp://@239.0.0.1:1234", "Multicast", {}, EntryKind.CHANNEL),
        ("http://h/movie/u/p/2.mkv", "Film", {}, EntryKind.MOVIE),
        ("http://h/movies/2.ts", "Film ts", {}, EntryKind.MOVIE),
        ("http://h/vod/abc", "Vod", {}, EntryKind.MOVIE),
        ("http://h/files/film.mp4", "Bare file", {}, EntryKind.MOVIE),
        ("http://h/files/show.mkv", "Show 1x02", {}, EntryKind.EPISODE),
        ("http://h/x/show.avi", "Show Season 2 Episode 3", {}, EntryKind.EPISODE),
        ("http://h/series/u/p/3.mp4", "No marker", {}, EntryKind.EPISODE),
        ("http://h/stream/9", "Media", {"media": "true"}, EntryKind.MOVIE),
        ("http://h/radio/1.mp3", "Radio", {}, EntryKind.RADIO),
        ("http://h/r/1.m3u8", "Radio", {"radio": "true"}, EntryKind.RADIO),
    ],
)
def test_classify(url: str, name: str, attrs: dict[str, str], kind: EntryKind) -> None:
    assert classify(M3uEntry(url=url, name=name, attrs=attrs)) is kind


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("Show S01E02", ("Show", 1, 2, None)),
        ("Show - S2E10 - The Title", ("Show", 2, 10, "The Title")),
        ("EN - Show (2019) S01E02", ("EN - Show (2019)", 1, 2, None)),
        ("Show 3x04", ("Show", 3, 4, None)),
        ("Show - Season 1 Episode 5", ("Show", 1, 5, None)),
        ("Serie Staffel 2 Folge 7", ("Serie", 2, 7, None)),
        ("Just a film", None),
    ],
)
def test_episode_markers(name: str, parts: tuple[object, ...] | None) -> None:
    marker = episode_marker(name)
    if parts is None:
        assert marker is None
    else:
        assert marker is not None
        assert (marker.series_title, marker.season, marker.episode, marker.title) == parts


def test_identity_ignores_volatile_tokens_and_credentials() -> None:
    def key(url: str, secrets: tuple[str, ...] = ()) -> str:
        return identity_key(M3uEntry(url=url, name="N"), secrets)

    assert key("http://h/1.m3u8?token=abc&expires=1") == key("http://h/1.m3u8?expires=2&token=z")
    assert key("http://H:80/1.ts|User-Agent=x") == key("http://h:80/1.ts")
    assert key("http://h/1.ts?quality=hd") != key("http://h/1.ts?quality=sd")
    assert key("http://h/1.ts") != key("http://h/2.ts")
    # XC playlists carry credentials in the path: a password change must not re-key entries.
    assert key("http://h/u/old/1.ts", ("u", "old")) == key("http://h/u/new/1.ts", ("u", "new"))
    # Token-like path segments before the stream's name are volatile too.
    assert key("http://h/live/a1b2c3d4e5f6a7b8c9d0e1f2a3b4/7.ts") == key(
        "http://h/live/ffeeddccbbaa99887766554433221100/7.ts"
    )
    for k in (key("http://h/u/p/1.ts", ("u", "p")), key("http://h/1.ts?password=secret")):
        assert k.startswith("u") and "secret" not in k and len(k) == 21


def test_identity_falls_back_to_tvg_id_and_name() -> None:
    rotating = "http://h/play/3f9a7c2e1b4d8a6f0c5e9b7a2d4f6e8c"
    a = M3uEntry(url=rotating, name="News", attrs={"tvg-id": "news.uk"})
    b = M3uEntry(url=rotating.replace("3f9a", "0000"), name="News", attrs={"tvg-id": "news.uk"})
    c = M3uEntry(url=rotating, name="Other", attrs={"tvg-id": "news.uk"})
    assert identity_key(a) == identity_key(b) != identity_key(c)
    assert identity_key(a).startswith("t")
    assert normalise_url("not a url") is None


def test_line_decoder_endings_bom_latin1_gzip_and_long_lines() -> None:
    raw = b"\xef\xbb\xbf#EXTM3U\r\na\rb\r\n\nc\xe9\nd" + b"x" * 100 + b"\ne"
    decoder = LineDecoder(max_line=50)
    lines = []
    for i in range(0, len(raw), 3):
        lines += decoder.feed(raw[i : i + 3])
    lines += decoder.close()
    assert lines == ["#EXTM3U", "a", "b", "cé", "e"]
    assert decoder.junk_lines == 1
    gz = LineDecoder()
    assert gz.feed(gzip.compress(b"#EXTM3U\nhttp://h/1.ts\n")) + gz.close() == [
        "#EXTM3U",
        "http://h/1.ts",
    ]


@pytest.mark.parametrize(
    ("head", "error"),
    [
        (b"<html><body>Your account has expired</body></html>", ProviderAccountExpired),
        (b'{"user_info":{"auth":0}}', ProviderAuthFailed),
        (b"<!DOCTYPE html><html>Server busy</html>", ProviderBadResponse),
        (b"\x00\x01\x02\x03binary", ProviderBadResponse),
        (b"#EXTM3U\n", None),
        (b"\x1f\x8b\x08compressed", None),
        (b"", None),
    ],
)
def test_sniff_error(head: bytes, error: type[Exception] | None) -> None:
    found = sniff_error(head)
    assert (type(found) if found else None) is error


def test_binary_junk_lines_inside_a_playlist_are_skipped() -> None:
    junk = bytes(range(256)) * 3
    data = (
        b"#EXTM3U\n#EXTINF:-1,A\n"
        + junk
        + b"\nhttp://h/a.ts\n"
        + junk
        + b"\n#EXTINF:-1,B\nhttp://h/b.ts\n"
    )
    _, entries = parse_playlist(data)
    assert [e.name for e in entries] == ["A", "B"]


@given(st.binary(max_size=600))
def test_random_bytes_only_raise_bad_response(data: bytes) -> None:
    try:
        _, entries = parse_playlist(data)
    except ProviderError:
        return
    for entry in entries:
        to_record(entry)


@given(st.integers(min_value=0, max_value=len(QUIRKS)), st.binary(max_size=30))
def test_corrupted_playlists_still_parse_or_fail_typed(cut: int, junk: bytes) -> None:
    try:
        _, entries = parse_playlist(QUIRKS[:cut] + junk + QUIRKS[cut:])
    except ProviderError:  # junk in front can make it look like an error page: still typed
        return
    for entry in entries:
        to_record(entry)

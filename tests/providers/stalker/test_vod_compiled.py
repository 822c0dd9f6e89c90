"""The VOD parse's compiled twin (``parse/vod_compiled.pyx``, ``iptvsync/speedups.py``) gives
the plain parse's answers: for rows of the fake portal's two families, and for any row
Hypothesis makes of the fields the parse reads, common values and odd ones alike."""

from __future__ import annotations

import base64
import importlib.util
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from iptvsync import speedups
from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.stalker import DEFAULT_MAC, StalkerFakeConfig, create_app
from iptvsync.providers.stalker import parse
from iptvsync.providers.stalker.parse import vod
from iptvsync.providers.stalker.parse.urls import PortalUrls

compiled = pytest.importorskip(
    "iptvsync.providers.stalker.parse.vod_compiled",
    reason="the compiled twin is not built here (no C compiler?): scripts/install.sh",
)

URLS = PortalUrls.from_endpoint("http://portal.example.com/stalker_portal/server/load.php")
SOURCE = Path(vod.__file__).with_name("vod_compiled.pyx")


def both(rows: list[Any], **options: Any) -> tuple[list[Any], list[Any]]:
    return (
        compiled.parse_vod_items(rows, URLS, **options),
        vod.plain_parse_vod_items(rows, URLS, **options),
    )


def test_the_twin_is_the_parse_in_use_and_built_from_its_source() -> None:
    if not speedups.enabled():
        pytest.skip("IPTVSYNC_COMPILED=0: the plain path runs")
    assert vod.parse_vod_items is compiled.parse_vod_items
    assert parse.parse_vod_items is compiled.parse_vod_items
    spec = importlib.util.find_spec("iptvsync.providers.stalker.parse.vod_compiled")
    assert spec is not None and spec.origin is not None
    built = Path(spec.origin)
    assert built.suffix != ".pyx"
    assert built.stat().st_mtime >= SOURCE.stat().st_mtime, (
        f"{built.name} is older than {SOURCE.name}: rebuild it (scripts/install.sh)"
    )


def test_switched_off_the_plain_parse_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPTVSYNC_COMPILED", "0")
    assert speedups.compiled_twin(compiled.__name__, "parse_vod_items", len) is len
    monkeypatch.setenv("IPTVSYNC_COMPILED", "1")
    twin = speedups.compiled_twin(compiled.__name__, "parse_vod_items", len)
    assert twin is compiled.parse_vod_items
    assert speedups.compiled_twin("iptvsync.no_such_twin", "f", len) is len


async def _fake_rows(family: str) -> list[dict[str, Any]]:
    """Every VOD row of a small fake catalogue, as the portal's pages send them."""
    app = create_app(
        generate(seed=7, movies=300, series=120, channels=5), StalkerFakeConfig(family=family)
    )
    endpoint = "/stalker_portal/server/load.php" if family == "stock" else "/portal.php"
    headers = {"Cookie": f"mac={DEFAULT_MAC}; stb_lang=en; timezone=UTC", "User-Agent": "MAG200"}
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://p.test", headers=headers
    ) as http:
        base = {"JsHttpRequest": "1-xml"}
        hello = await http.get(endpoint, params={**base, "type": "stb", "action": "handshake"})
        http.headers["Authorization"] = f"Bearer {hello.json()['js']['token']}"
        await http.get(endpoint, params={**base, "type": "stb", "action": "get_profile"})
        rows: list[dict[str, Any]] = []
        for module in ("vod", "series"):
            query = {**base, "type": module, "action": "get_ordered_list", "category": "*"}
            number = 1
            while True:
                answer = await http.get(endpoint, params={**query, "p": str(number)})
                page = parse.parse_page(parse.decode_envelope(answer.content).js)
                if not page.rows:
                    break
                rows.extend(page.rows)
                number += 1
    return rows


@pytest.mark.parametrize("family", ["stock", "reseller"])
async def test_the_fake_portals_rows_parse_the_same(family: str) -> None:
    rows = await _fake_rows(family)
    assert len(rows) >= 300
    fast, plain = both(rows)
    assert fast == plain
    assert [type(r) for r in fast] == [type(r) for r in plain]
    assert {type(r).__name__ for r in fast} == {"MovieRecord", "SeriesRecord"}
    fast, plain = both(rows, force_series=True, censored_categories={"1", "2", "3"})
    assert fast == plain


# Values as portals send them, and the odd ones each field's shortcut must leave to the plain
# path: padding of every kind, "missing" words, entities and tags, other digits, containers.
_B64 = base64.b64encode(orjson.dumps({"type": "movie", "stream_id": 5, "target_container": "MKV"}))
_SAMPLES = [
    "", " ", "0", "1", "2", "N/A", "null", "none", "-", "false", "true", "yes", "On", "2013",
    "1879", "2101", "0042", " 2013", "\u0662\u0660\u0661\u0668", "\u00b2\u00b3", "81", "0",
    "01:45:00", "1:45", "120 min", "10000", "999999999", "1234567890", "7.40000", "7,4", "1_0",
    "inf", "nan", "-3", "11.5", "4.5", "1e1", " 8.1 ", "\x1c7.5", "2026-03-01 12:00:00",
    "0000-00-00 00:00:00", "2026-13-01 12:00:00", "2026-03-01", "1700000000", "March 5, 2026",
    "2026-03-01T12:00:00Z", "/media/1.mpg", "/media/2.mkv", "/play/movie.php?stream=1",
    "/media/1.PHP", "/m/5.MPG", "/media/3.MP4?token=x#frag", "/m/4.", "/m/.hidden",
    "http://cdn.example.com/a/b.avi", "ffmpeg http://x/movie.mkv", "auto /m/5.ts position:30",
    _B64.decode(), "bm90IGpzb24", "//cdn.example.com/p.jpg", "/stalker_portal/s/1.jpg",
    "https://img.example.com/c.png", "data:image/png;base64,xx", "cover.jpg", "/x", "A &amp; B",
    "<b>bold</b> text", "two  spaces", "line\nbreak", "tab\there", "\u00a0nbsp\u00a0",
    "\u2028sep", "  padded  ", "Ünïcödé", "x" * 5000,
]  # fmt: skip
_TEXTS = st.sampled_from(_SAMPLES)
_ODD = [None, True, False, 0, 1, 2013, -1, 10**10, 7.5, float("nan"), float("inf"), [], [1], {}]
_VALUES = st.one_of(
    _TEXTS,
    st.text(alphabet=" \t\n\u00a0\x1c/.:-_,&<>0123456789abcXYZ\u0660", max_size=14),
    st.none(),
    st.booleans(),
    st.integers(min_value=-10, max_value=3000),
    st.integers(min_value=10**8, max_value=10**11),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.integers(min_value=0, max_value=3), max_size=2),
    st.dictionaries(st.sampled_from(["a", "target_container"]), st.just("mp4"), max_size=1),
)
_KEYS = [
    "id", "name", "o_name", "category_id", "cmd", "censored", "year", "releasedate",
    "rating_imdb", "rating_im", "rating_kinopoisk", "rating", "rating_5based", "cover_big",
    "cover", "pic", "poster", "stream_icon", "screenshot_uri", "added", "description",
    "director", "actors", "genres_str", "time", "is_series", "series", "container_extension",
]  # fmt: skip
_ROWS = st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=len(_KEYS)).map(
    lambda row: {"id": "1", **row} if "id" not in row else row
)


@pytest.mark.parametrize("key", _KEYS)
def test_each_field_reads_every_sample_value_the_same(key: str) -> None:
    # Every sample value in every field, alone and after a common row's values (a poster or a
    # rating read first): what a random search can miss, at a few thousand rows.
    common = {"cmd": "/media/1.mpg", "cover_big": "", "rating_imdb": "", "is_series": "0"}
    for value in [*_SAMPLES, *_ODD]:
        rows = [{"id": "1", key: value}, {"id": "2", **common, key: value}]
        fast, plain = both(rows)
        assert fast == plain, (key, value)
        assert [type(r) for r in fast] == [type(r) for r in plain], (key, value)


@given(st.lists(_ROWS, max_size=4), st.booleans(), st.sampled_from([(), ("1",), ("0", "7.40000")]))
def test_any_row_parses_the_same(rows: list[dict[str, Any]], series: bool, censored: Any) -> None:
    fast, plain = both(rows, force_series=series, censored_categories=censored)
    assert fast == plain
    assert [type(r) for r in fast] == [type(r) for r in plain]


def test_a_row_that_is_no_dict_takes_the_plain_path() -> None:
    class Row(dict[str, Any]):
        pass

    row = Row(id="9", name="Nine", year="2001", cmd="/media/9.mkv")
    fast, plain = both([row, {"id": "10", "name": "Ten"}])
    assert fast == plain
    assert fast[0].year == 2001 and fast[0].extension == "mkv"

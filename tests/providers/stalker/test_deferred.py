"""VOD pages delivered unparsed (``parse.defer_vod_items``) and parsed where they are written
(``records.resolve_records``): a fast path, held here to the general one, ``parse_vod_items``
on the same rows (docs/sync.md, "Pages parsed where they are written")."""

from __future__ import annotations

import pickle
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iptvsync.errors import ProviderBadResponse
from iptvsync.providers.stalker.parse import PortalUrls, defer_vod_items, parse_vod_items
from iptvsync.records import DeferredRecord, Kind, resolve_records
from tests.providers.stalker.test_parse import STOCK_MOVIE, XC_MOVIE

URLS = PortalUrls.from_endpoint("http://portal.example.com/stalker_portal/server/load.php")

#: Rows a portal sends, kept or dropped by the parse: no id, an empty or "N/A" id, an int id,
#: both series models, a censored category, and garbage.
ROWS: list[Any] = [
    STOCK_MOVIE,
    XC_MOVIE,
    {"name": "no id"},
    {**STOCK_MOVIE, "id": ""},
    {**STOCK_MOVIE, "id": "N/A"},
    {**STOCK_MOVIE, "id": 77, "is_series": "1"},
    {**STOCK_MOVIE, "id": "78", "series": [1, 2]},
    {**XC_MOVIE, "id": 79, "is_series": 1, "cmd": ""},
    {**STOCK_MOVIE, "id": "80", "category_id": "666"},
    {"id": ["x"], "name": {"a": 1}},
    {"id": 81, "name": 12345, "year": [], "time": {}, "added": []},
]


def _page(rows: list[Any], *, prefix: bytes = b"") -> tuple[list[Any], bytes]:
    """A page's rows as the walk has them (decoded) and the bytes they came from."""
    data = prefix + orjson.dumps({"js": {"total_items": len(rows), "data": rows}})
    return orjson.loads(data[len(prefix) :])["js"]["data"], data


def _through_the_pipe(items: list[DeferredRecord]) -> list[DeferredRecord]:
    back = pickle.loads(pickle.dumps(items))
    assert all(type(item) is DeferredRecord for item in back)
    return back


@pytest.mark.parametrize("force_series", [False, True])
def test_a_deferred_page_resolves_to_what_the_parse_reads(force_series: bool) -> None:
    rows, body = _page(ROWS)
    censored = frozenset({"666"})
    deferred = defer_vod_items(
        rows, body, URLS, force_series=force_series, censored_categories=censored
    )
    parsed = parse_vod_items(rows, URLS, force_series=force_series, censored_categories=censored)
    # The walk's quick read keeps the rows the parse keeps, with their kinds and ids.
    assert [(d.kind, d.provider_item_id) for d in deferred] == [
        (p.kind, p.provider_item_id) for p in parsed
    ]
    assert len(parsed) == 7 and {p.kind for p in parsed} == (
        {Kind.SERIES} if force_series else {Kind.MOVIE, Kind.SERIES}
    )
    assert resolve_records(_through_the_pipe(deferred)) == parsed  # type: ignore[arg-type]


def test_a_page_is_parsed_once_and_records_pass_through() -> None:
    rows, body = _page(ROWS[:2])
    deferred = _through_the_pipe(defer_vod_items(rows, body, URLS))
    plain = parse_vod_items([ROWS[5]], URLS)
    calls: list[bytes] = []
    page = deferred[0].page
    assert deferred[1].page is page  # one page object for a page's items, after the pipe too
    parse = page.parse

    def counted(data: bytes, *args: Any) -> Any:
        calls.append(data)
        return parse(data, *args)

    page.parse = counted
    # Items of a page, a record of a parsed page between them, in the order given.
    out = resolve_records([deferred[1], *plain, deferred[0]])
    assert [r.provider_item_id for r in out] == ["1234", "77", "49831"]
    assert calls == [body]


def test_the_body_of_a_page_with_a_php_notice_before_it() -> None:
    # The bytes kept are the answer's own, notice and all: the envelope's decoder skips it.
    rows, body = _page(ROWS[:2], prefix=b"<b>Notice</b>: undefined index<br>\n")
    deferred = defer_vod_items(rows, body, URLS)
    assert resolve_records(deferred) == parse_vod_items(rows, URLS)  # type: ignore[arg-type]


def test_a_page_that_parses_differently_fails_its_batch() -> None:
    rows, body = _page(ROWS[:2])
    deferred = defer_vod_items(rows, body, URLS)
    other_rows, other_body = _page([ROWS[1], ROWS[0]])  # the same items, in another order
    deferred[0].page.body = other_body
    with pytest.raises(ValueError, match="parsed differently"):
        resolve_records(deferred)  # type: ignore[arg-type]
    deferred[0].page.body = _page(ROWS[:1])[1]  # fewer items than the walk read
    with pytest.raises(ValueError, match="parsed differently"):
        resolve_records(deferred[1:])  # type: ignore[arg-type]
    deferred[0].page.body = b"<html>gone</html>"  # not an answer at all: the parse's error
    with pytest.raises(ProviderBadResponse):
        resolve_records(deferred)  # type: ignore[arg-type]
    assert other_rows


_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 3000),
    st.sampled_from(["", "0", "1", "N/A", "null", " 42 ", "2021", "7.5", "a&amp;b", "<i>x</i>"]),
    st.text(max_size=8),
)
_row = st.dictionaries(
    st.sampled_from(
        ["id", "name", "o_name", "is_series", "series", "category_id", "censored", "year",
         "time", "added", "cmd", "rating_imdb", "screenshot_uri", "description"]
    ),
    st.one_of(_scalar, st.lists(st.integers(0, 3), max_size=3)),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(_row, max_size=12), force_series=st.booleans())
def test_any_rows_resolve_to_what_the_parse_reads(rows: list[Any], force_series: bool) -> None:
    rows, body = _page(rows)
    deferred = _through_the_pipe(defer_vod_items(rows, body, URLS, force_series=force_series))
    parsed = parse_vod_items(rows, URLS, force_series=force_series)
    assert resolve_records(deferred) == parsed  # type: ignore[arg-type]

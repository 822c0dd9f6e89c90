"""``data_rows``, the fast path of a whole channel list, held to ijson's reading (the plain path):
the same rows wherever it gives rows, and ``Unproven`` wherever it cannot show them to be the
answer's ``js.data`` (docs/benchmarks.md, session 24)."""

from __future__ import annotations

import json
from typing import Any

import ijson
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from iptvsync.errors import ProviderBadResponse
from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.stalker import DEFAULT_MAC, StalkerFakeConfig, create_app
from iptvsync.providers.stalker.parse import channels
from iptvsync.providers.stalker.parse.data_rows import Unproven, data_rows
from iptvsync.providers.stalker.parse.urls import PortalUrls
from iptvsync.providers.steps import run_steps

URLS = PortalUrls("http://portal.test", "http://portal.test/stalker_portal/")


def plain(body: bytes) -> list[Any] | None:
    """ijson's rows, or None where it refuses the answer."""
    try:
        return list(ijson.items(body.strip(), "js.data.item", use_float=True))
    except (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError):
        return None


def fast(body: bytes) -> list[dict[str, Any]] | None:
    try:
        return list(data_rows(body.strip()))
    except Unproven:
        return None


def all_channels(family: str) -> bytes:
    """The fake portal's ``get_all_channels`` answer, as its HTTP body."""
    app = create_app(generate(3, movies=5, series=2, channels=60), StalkerFakeConfig(family=family))
    path = "/stalker_portal/server/load.php" if family == "stock" else "/portal.php"
    box = {"Cookie": f"mac={DEFAULT_MAC}; stb_lang=en; timezone=UTC", "User-Agent": "MAG200"}
    with TestClient(app) as http:

        def get(query: str, headers: dict[str, str]) -> bytes:
            return http.get(f"{path}?JsHttpRequest=1-xml&{query}", headers=headers).content

        token = orjson.loads(get("type=stb&action=handshake&token=&prehash=0", box))["js"]["token"]
        headers = {**box, "Authorization": f"Bearer {token}"}
        get("type=stb&action=get_profile", headers)
        return get("type=itv&action=get_all_channels", headers)


@pytest.mark.parametrize("family", ["stock", "reseller"])
def test_the_fake_portals_list_takes_the_fast_path_and_reads_the_same(family: str) -> None:
    body = all_channels(family)
    rows = fast(body)
    assert rows is not None  # proven: the fast path is taken for a portal's own list
    assert len(rows) > 50 and rows == plain(body)
    records = {}
    for on in (True, False):
        channels.FAST_ROWS = on
        try:
            records[on] = run_steps(channels.channel_stream_steps(body, URLS))
        finally:
            channels.FAST_ROWS = True
    assert records[True] == records[False] and len(records[True]) > 50


def envelope(rows: list[Any], *, before: dict[str, Any], after: dict[str, Any]) -> bytes:
    """A compact answer, as PHP's ``json_encode`` writes one (integers of any size)."""
    doc = {"js": {**before, "data": rows, **after}, "text": "generated in: 0.01s"}
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def test_what_it_cannot_prove_goes_to_ijson() -> None:
    row = {"id": "1", "name": "One", "cmds": [{"id": "9", "url": "x"}, {"id": "8", "url": "y"}]}
    good = envelope([row, row], before={"total_items": 2}, after={})
    assert fast(good) == plain(good) == [row, row]
    unproven = [
        good.replace(b"},{", b"}, {"),  # whitespace between rows
        envelope([row, [1, 2]], before={}, after={}),  # an element that is no object
        envelope([{"id": 12345678901234567890123}], before={}, after={}),  # past 64 bits
        envelope([row], before={"data2": 1, "x": "data"}, after={}).replace(b'"x"', b'"data"'),
        envelope([row], before={}, after={"more": {"data": []}}),  # another "data" after
        orjson.dumps({"js": {"meta": {"data": [row]}, "data": []}}),  # js.data is the other one
        orjson.dumps({"js": {'x"data': [row], "data": []}}),  # the key is x"data, escaped
        orjson.dumps({"nojs": {"data": [row]}}),
        b'{"js":{"data":[{"id":"1"},{"id":"2"}]}',  # cut short
    ]
    for body in unproven:
        assert fast(body) is None, body


def test_a_row_with_more_candidates_than_allowed_goes_to_ijson() -> None:
    """A row whose nested objects open as the rows do is tried at each of their ends; past
    ``_MAX_TRIES`` of them the list is ijson's, read the same."""
    from iptvsync.providers.stalker.parse import data_rows as module

    nested = [{"id": str(n)} for n in range(module._MAX_TRIES + 2)]
    few = [{"id": "1", "cmds": nested[:3]}, {"id": "2"}]
    many = [{"id": "1", "cmds": nested}, {"id": "2"}]
    assert fast(envelope(few, before={}, after={})) == few
    body = envelope(many, before={}, after={})
    assert fast(body) is None and plain(body) == many


def test_a_separator_inside_a_row_is_passed_over() -> None:
    rows = [
        {"id": "1", "name": '},{"id":', "cmds": [{"id": "2"}, {"id": "3"}]},
        {"id": "4", "name": "}]", "tags": [{"a": [{"id": "5"}]}, {"id": "6"}]},
        {"id": "7", "logo": "http:\\/\\/x\\/y.png"},
    ]
    body = envelope(rows, before={"total_items": 3}, after={"max_page_items": 14})
    assert fast(body) == plain(body) == rows
    # PHP's escaped slashes read the same both ways.
    php = b'{"js":{"data":[{"id":"1","logo":"http:\\/\\/x\\/1.png"},{"id":"2"}]}}'
    assert fast(php) == plain(php) == [{"id": "1", "logo": "http://x/1.png"}, {"id": "2"}]


def test_an_empty_list_and_a_broken_one_read_as_before() -> None:
    empty = envelope([], before={"total_items": 0}, after={})
    assert fast(empty) == plain(empty) == []
    broken = b'{"js":{"data":[{"id":"1"},{"id":'
    assert fast(broken) is None
    for on in (True, False):
        channels.FAST_ROWS = on
        try:
            with pytest.raises(ProviderBadResponse):
                run_steps(channels.channel_stream_steps(broken, URLS))
        finally:
            channels.FAST_ROWS = True


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.sampled_from('ab"\\{}[],:/é\u2028 0123456789data'), max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)
ROW = st.dictionaries(
    st.sampled_from(["id", "name", "cmds", "data", "number", "x"]), JSON, min_size=1, max_size=5
)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(ROW, max_size=6),
    before=st.dictionaries(st.sampled_from(["total_items", "cur_page", "data_", "t"]), JSON),
    after=st.dictionaries(st.sampled_from(["max_page_items", "selected_item", "z"]), JSON),
    spaced=st.booleans(),
)
def test_rows_are_ijsons_wherever_it_gives_them(
    rows: list[dict[str, Any]], before: dict[str, Any], after: dict[str, Any], spaced: bool
) -> None:
    body = envelope(rows, before=before, after=after)
    if spaced:  # another writer's spacing
        body = json.dumps(json.loads(body), separators=(", ", ": ")).encode()
    got, expected = fast(body), plain(body)
    if got is not None:
        assert got == expected
    assert expected is not None or got is None  # what ijson refuses is never taken

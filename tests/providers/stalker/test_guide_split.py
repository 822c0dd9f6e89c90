"""The guide's fast path (``guide_split.py``, orjson on runs of whole channels) against the plain
one (ijson over the whole answer): the same channels and rows, in the same order, whatever the
chunk sizes, strings holding the cut marker, pretty-printed or unusual answers."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import ijson
import orjson
import pytest

from iptvsync.errors import ProviderBadResponse
from iptvsync.providers.stalker import guide_split
from iptvsync.providers.stalker.guide_split import GuideSplitter, guide_channels


def _rows(ch: int, n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": str(k),
            "ch_id": str(ch),
            "name": f"Show {ch}.{k}",
            "descr": "",
            "start_timestamp": 1_700_000_000 + k * 1800,
            "stop_timestamp": 1_700_000_000 + (k + 1) * 1800,
            "duration": 1800,
            "mark_archive": 1,
        }
        for k in range(n)
    ]


def _compact(data: dict[str, Any]) -> bytes:
    return orjson.dumps({"js": {"data": data}})


async def _chunks(body: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(body), size):
        yield body[i : i + size]


async def _fast(body: bytes, size: int) -> list[tuple[str, Any]]:
    chunks = _chunks(body, size)
    head = await anext(chunks, b"")
    return [pair async for pair in guide_channels(head, chunks)]


def _plain(body: bytes) -> list[tuple[str, Any]]:
    return [
        (str(k), v if isinstance(v, list) else [])
        for k, v in ijson.kvitems(io.BytesIO(body), "js.data")
    ]


BODIES = {
    "compact": _compact({str(c): _rows(c, 1 + c % 5) for c in range(1, 60)}),
    "cut_marker_in_strings": _compact(
        {
            "1": [{"name": 'a],"b', "descr": '"],"x":[', "start_timestamp": 1}],
            "2": [{"name": '],"', "nested": {"k": [1, 2], "z": 'q],"'}}],
            "3": [],
            "4": [{"name": "tail ]"}],
        }
    ),
    "empty_lists_and_non_lists": _compact({"1": [], "2": {"x": 1}, "3": None, "4": _rows(4, 2)}),
    "pretty_printed": orjson.dumps(
        {"js": {"data": {str(c): _rows(c, 3) for c in range(1, 8)}}}, option=orjson.OPT_INDENT_2
    ),
    "more_keys_after_data": b'{"js":{"data":{"1":'
    + orjson.dumps(_rows(1, 2))
    + b',"2":'
    + orjson.dumps(_rows(2, 2))
    + b'},"total":2},"text":"ok"}',
    "bom_and_space": b"\xef\xbb\xbf \n" + _compact({"7": _rows(7, 3), "8": _rows(8, 1)}),
    "unicode": _compact({"1": [{"name": "Café – ñandú 日本", "descr": "\\u00e9"}], "2": []}),
    "no_channels": b'{"js":{"data":{}}}',
}


@pytest.mark.parametrize("size", [1, 7, 64, 4096, 1 << 20])
@pytest.mark.parametrize("name", sorted(BODIES))
async def test_fast_path_reads_what_ijson_reads(name: str, size: int) -> None:
    body = BODIES[name]
    assert await _fast(body, size) == _plain(body.lstrip(b"\xef\xbb\xbf \n"))


async def test_no_cut_in_megabytes_goes_on_through_ijson(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GuideSplitter, "MAX_PENDING", 200)
    body = _compact({"1": _rows(1, 3), "2": _rows(2, 40), "3": _rows(3, 2)})
    assert await _fast(body, 50) == _plain(body)


def test_the_cut_is_taken_only_between_channels() -> None:
    splitter = GuideSplitter()
    body = _compact({"1": [{"name": 'x],"y'}], "2": [{"name": "z"}]})
    run = splitter.feed(body[len(guide_split.PREFIX) :])
    assert run == {"1": [{"name": 'x],"y'}]}
    assert splitter.pending.startswith(b'"2":[')
    assert splitter.close() == {"2": [{"name": "z"}]}


async def test_a_truncated_guide_is_refused() -> None:
    body = _compact({"1": _rows(1, 3), "2": _rows(2, 3)})[:-20]
    with pytest.raises((ProviderBadResponse, ijson.JSONError)):
        await _fast(body, 64)

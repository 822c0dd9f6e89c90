"""``_array_items``: a streamed JSON array cut into runs for orjson, or handed to ijson, gives
exactly the elements of the whole document, and refuses a truncated one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from iptvsync.errors import ProviderBadResponse
from iptvsync.providers.xtream import client as xtream_client

# Strings full of the cut marker and of brackets, nested lists of objects, numbers of both kinds.
tricky = st.sampled_from(["},{", '"},{"', "]", "[{", "\\", "é", "}", "{", ",", "x"])
texts = st.lists(tricky, max_size=6).map("".join)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    texts,
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)),
    max_leaves=8,
)
rows = st.dictionaries(texts, values, max_size=5)


def _chunks(data: bytes, sizes: list[int]) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        position, i = 0, 0
        while position < len(data):
            step = sizes[i % len(sizes)]
            yield data[position : position + step]
            position, i = position + step, i + 1

    return gen()


async def _collect(data: bytes, head: int, sizes: list[int]) -> list[Any]:
    out = []
    async for item in xtream_client._array_items(
        "get_vod_streams", data[:head], _chunks(data[head:], sizes)
    ):
        out.append(item)
    return out


@given(
    st.lists(rows, max_size=12),
    st.integers(min_value=1, max_value=40),
    st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=6),
    st.booleans(),
)
def test_elements_are_those_of_the_whole_document(
    elements: list[dict[str, Any]], head: int, sizes: list[int], tiny_pending: bool
) -> None:
    data = orjson.dumps(elements)
    limit = xtream_client._ArraySplitter.MAX_PENDING
    try:
        if tiny_pending:  # give up on cutting almost at once: the ijson hand-over path
            xtream_client._ArraySplitter.MAX_PENDING = 8
        got = asyncio.run(_collect(data, min(head, len(data)), sizes))
    finally:
        xtream_client._ArraySplitter.MAX_PENDING = limit
    assert got == elements


@pytest.mark.parametrize("cut", [1, 10, -1, -2, -30])
def test_a_truncated_array_is_a_bad_response(cut: int) -> None:
    data = orjson.dumps([{"stream_id": i, "name": f"Movie {i}"} for i in range(50)])[:cut]
    with pytest.raises(ProviderBadResponse, match="truncated or malformed"):
        asyncio.run(_collect(data, 1, [7, 64]))


def test_latin1_bytes_inside_strings_are_repaired() -> None:
    data = b'[{"name":"Caf\xe9"},{"name":"Na\xefve"}]'
    assert asyncio.run(_collect(data, 3, [5])) == [{"name": "Caf\ufffd"}, {"name": "Na\ufffdve"}]

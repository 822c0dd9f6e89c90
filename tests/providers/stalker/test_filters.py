"""``filters.py``: the parameter set a hidden category is paged with is found by trying, rows of
other categories are never merged (the walks over real sockets are in test_fidelity.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from iptvsync.providers.stalker.filters import CategoryStream, filter_variants, rows_belong
from iptvsync.providers.stalker.parse import PagePayload


def test_rows_belong() -> None:
    assert rows_belong([{"tv_genre_id": "7"}, {"tv_genre_id": 7}], "itv", "7") is True
    assert rows_belong([{"tv_genre_id": "7"}, {"tv_genre_id": "8"}], "itv", "7") is False
    assert rows_belong([{"name": "x"}], "itv", "7") is None
    assert rows_belong([{"category_id": "3"}], "vod", "3") is True
    assert filter_variants("itv", "7")[0] == {"genre": "7"}
    assert filter_variants("vod", "3")[0] == {"category": "3", "genre": "*"}


async def test_stray_rows_are_dropped_and_counted() -> None:
    asked: list[dict[str, str]] = []
    notes: list[str] = []

    async def get_page(params: Mapping[str, str]) -> PagePayload:
        asked.append(dict(params))
        if "category" not in params:  # genre= alone is ignored: the ordinary list
            return PagePayload([{"id": "1", "tv_genre_id": "2"}], 30, 14)
        if params["p"] == "1":
            return PagePayload([{"id": "5", "tv_genre_id": "7"}], 30, 14)
        return PagePayload(
            [{"id": "6", "tv_genre_id": "7"}, {"id": "1", "tv_genre_id": "2"}], 30, 14
        )

    def to_records(rows: list[dict[str, Any]]) -> list[Any]:
        return [r["id"] for r in rows]

    stream = CategoryStream(
        "itv",
        "7",
        params=lambda variant, n: {**variant, "p": str(n)},
        get_page=get_page,
        to_records=to_records,
        warn=notes.append,
    )
    first = await stream.fetch(1)
    second = await stream.fetch(2)
    stream.finish()
    assert first.records == ["5"] and second.records == ["6"]
    assert [a.get("category") for a in asked] == [None, "7", "7"]
    assert notes == [
        "hidden_category_stray_rows: itv category 7: 1 rows of other categories were dropped"
    ]

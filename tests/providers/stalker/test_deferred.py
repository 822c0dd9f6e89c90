"""VOD rows parsed where they are written (``parse/deferred.py``): a walk of the fake portal,
over real sockets, delivers deferred items whose records are exactly what the eager parser
makes of the same bodies, here and after the trip to the write process (pickle)."""

from __future__ import annotations

import pickle

import pytest

from iptvsync.providers.stalker import parse
from iptvsync.providers.stalker.parse.deferred import DeferredVod, VodPage, defer_vod_items
from iptvsync.providers.stalker.parse.urls import PortalUrls
from iptvsync.records import DeferredRecord, Kind, MovieRecord, Scope, SeriesRecord, resolve
from tests.providers.stalker.test_client import FAMILIES, rig, walk_raw


def eager(page: VodPage) -> list[MovieRecord | SeriesRecord]:
    """The general path: the same body parsed as the walk parsed pages before."""
    rows = parse.parse_page(parse.decode_envelope(page.body).js).rows
    return parse.parse_vod_items(
        rows, page.urls, force_series=page.force_series, censored_categories=page.censored
    )


@pytest.mark.parametrize("family", FAMILIES)
async def test_vod_walk_defers_and_resolves_as_the_eager_parser(family: str) -> None:
    async with rig(family, latency_ms=1) as r:
        _, pages = await walk_raw(r.client, Scope.VOD)
    main = [p for p in pages if ":category:" not in p.stream]
    items = [item for p in main for item in p.records]
    assert items and all(isinstance(i, DeferredVod) for i in items)
    by_page: dict[int, tuple[VodPage, list[DeferredVod]]] = {}
    for item in items:
        assert isinstance(item, DeferredVod)
        by_page.setdefault(id(item.page), (item.page, []))[1].append(item)
    kinds = set()
    for page, deferred in by_page.values():
        expected = {rec.provider_item_id: rec for rec in eager(page)}
        for item in deferred:  # the walk drops rows seen in another stream: a subset
            record = resolve(item)
            assert record == expected[item.provider_item_id]
            assert record.kind == item.kind
            kinds.add(item.kind)
    assert kinds == {Kind.MOVIE, Kind.SERIES}  # both families mix shows into "vod"

    # The write process's copy: one body per page, the same records.
    shipped = pickle.loads(pickle.dumps(items))
    assert [resolve(i) for i in shipped] == [resolve(i) for i in items]
    one_page = next(iter(by_page.values()))[1]
    size = len(pickle.dumps(one_page))
    assert len(one_page[0].page.body) < size < 2 * len(one_page[0].page.body)


def test_rows_without_an_id_are_skipped_as_the_eager_parser_does() -> None:
    body = (
        b'{"js": {"total_items": 3, "max_page_items": 14, "data": ['
        b'{"id": "7", "name": "A", "is_series": "1"}, {"name": "no id"}, '
        b'{"id": 9, "name": "B", "category_id": "4"}]}}'
    )
    urls = PortalUrls.from_endpoint("http://portal.example/c/server/load.php")
    rows = parse.parse_page(parse.decode_envelope(body).js).rows
    items = defer_vod_items(body, rows, urls, censored_categories=frozenset({"4"}))
    assert [(i.kind, i.provider_item_id, i.index) for i in items] == [
        (Kind.SERIES, "7", 0),
        (Kind.MOVIE, "9", 2),
    ]
    records = [resolve(i) for i in items]
    assert records == parse.parse_vod_items(rows, urls, censored_categories={"4"})
    assert isinstance(records[0], SeriesRecord) and records[1].censored
    assert all(isinstance(i, DeferredRecord) for i in items)
    assert resolve(records[0]) is records[0]  # a record is its own


def test_a_page_holds_its_decoded_rows_only_until_its_last_item() -> None:
    body = b'{"js": {"data": [{"id": "1"}, {"id": "2"}, {"id": "3"}, {"name": "no id"}]}}'
    urls = PortalUrls.from_endpoint("http://portal.example/c/server/load.php")
    rows = parse.parse_page(parse.decode_envelope(body).js).rows
    items = defer_vod_items(body, rows, urls)
    page = items[0].page
    assert page.last == 2
    assert [resolve(i).provider_item_id for i in items[:2]] == ["1", "2"]
    assert page._rows is not None  # decoded once, kept for the rest
    assert resolve(items[2]).provider_item_id == "3"
    assert page._rows is None  # let go after the last item
    assert resolve(items[0]).provider_item_id == "1"  # out of order: decoded again

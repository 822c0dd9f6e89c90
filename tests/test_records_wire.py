"""A batch of records crosses to the write process as one orjson array (``records.RecordBatch``)
and comes back as the same records, field for field and type for type; a batch JSON cannot
carry exactly is pickled record by record and comes back the same too."""

from __future__ import annotations

import math
import pickle
from datetime import UTC, datetime, timedelta, timezone
from multiprocessing.reduction import ForkingPickler
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from iptvsync.records import ChannelRecord, MovieRecord, RecordBatch, SeriesRecord, _unwire

texts = st.text(max_size=12) | st.sampled_from(["", "N/A", "Ünïcödé", "a\u2028b", "\ud800x"])
ints = st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.integers(min_value=2**64)
floats = st.floats(allow_nan=True, allow_infinity=True)
when = st.none() | st.datetimes(
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]) | st.none()
)
optional_text = st.none() | texts
categories = st.lists(texts, max_size=3).map(tuple)


def _vod(cls: Any, **extra: Any) -> st.SearchStrategy[Any]:
    return st.builds(
        cls,
        provider_item_id=texts,
        name=texts,
        year=st.none() | ints,
        rating=st.none() | floats,
        poster=optional_text,
        category_ids=categories,
        added_at=when,
        cmd=optional_text,
        description=optional_text,
        duration_min=st.none() | ints,
        censored=st.booleans(),
        **extra,
    )


movies = _vod(MovieRecord, extension=optional_text)
series = _vod(SeriesRecord)
channels = st.builds(
    ChannelRecord,
    provider_item_id=texts,
    name=texts,
    number=st.none() | ints,
    logo=optional_text,
    category_ids=categories,
    archive=st.booleans(),
    archive_days=st.none() | ints,
    radio=st.booleans(),
    extra=st.dictionaries(texts, texts, max_size=2),
)


def crossed(records: list[Any]) -> list[Any]:
    """What the write process unpickles from what this process sends."""
    return pickle.loads(ForkingPickler.dumps(RecordBatch(records)))  # type: ignore[no-any-return]


def same(a: Any, b: Any) -> bool:
    """Field for field, NaN equal to NaN, the types and each datetime's offset too."""
    if type(a) is not type(b):
        return False
    for name in a.__slots__:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
            continue
        if type(x) is not type(y) or x != y:
            return False
        if isinstance(x, datetime) and x.utcoffset() != y.utcoffset():
            return False
    return True


@given(st.lists(movies, max_size=4) | st.lists(series, max_size=4) | st.lists(channels, max_size=4))
def test_a_batch_of_one_kind_comes_back_the_same(records: list[Any]) -> None:
    back = crossed(records)
    assert len(back) == len(records)
    assert all(same(a, b) for a, b in zip(records, back, strict=True))


@given(st.lists(movies | series | channels, max_size=5))
def test_a_batch_of_mixed_kinds_comes_back_the_same(records: list[Any]) -> None:
    back = crossed(records)
    assert all(same(a, b) for a, b in zip(records, back, strict=True))


def test_a_plain_batch_goes_as_one_json_array_and_an_odd_one_record_by_record() -> None:
    added = datetime(2026, 3, 1, 12, 0, 0, 250, tzinfo=UTC)
    plain = [MovieRecord("1", "One", 2001, 7.4, None, ("5",), added, "/m/1.mkv", extension="mkv")]
    reduced = RecordBatch(plain).__reduce__()
    assert reduced[0] is _unwire
    back = crossed(plain)
    assert back == plain and back[0].added_at.tzinfo is UTC
    assert type(back[0].category_ids) is tuple
    for odd in (
        [MovieRecord("1", "One", rating=math.nan)],
        [MovieRecord("1", "One", year=2**70)],
        [MovieRecord("1", "\ud800")],
        [MovieRecord("1", "One"), SeriesRecord("2", "Two")],
    ):
        assert RecordBatch(odd).__reduce__()[0] is list
        assert all(same(a, b) for a, b in zip(odd, crossed(odd), strict=True))
    assert crossed([]) == []
    # A value of another type than its field's (no parser makes one) crosses as it is.
    (odd_rating,) = crossed([MovieRecord("1", "One", rating="7.5")])  # type: ignore[arg-type]
    assert odd_rating.rating == "7.5"


def test_a_channels_extra_crosses_too() -> None:
    channel = ChannelRecord("9", "Nine", 9, extra={"tv_archive_duration": "3"})
    (back,) = crossed([channel])
    assert back.extra == {"tv_archive_duration": "3"}

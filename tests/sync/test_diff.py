"""Records → rows: the content hash is stored, so it must not drift between versions.

A change to what ``record_to_row`` hashes (or how) makes the next sync of every existing
database rewrite every row and report it "updated": these hashes were taken from the first
release's rows and must stay as they are.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iptvsync.records import CatalogueRecord, ChannelRecord, MovieRecord, SeriesRecord
from iptvsync.sync.diff import content_hash, record_to_row

CATEGORIES = {"10": 1, "11": 2, "__uncategorised__": 99}

CASES: list[tuple[CatalogueRecord, str, dict[str, object]]] = [
    (
        ChannelRecord(
            provider_item_id="c1",
            name="News 24",
            number=7,
            logo="http://l/1.png",
            category_ids=("10", "11", "10", "zz"),
            cmd="ffrt http://s/1",
            epg_id="news.uk",
            archive=True,
            archive_days=3,
            radio=False,
            censored=False,
            extra={"tvg-shift": "1"},
        ),
        "160697b069e0f86b529a4c50a3171437",
        {"category_id": 1, "category_ids": [1, 2], "detail": {"tvg-shift": "1"}},
    ),
    (
        ChannelRecord(provider_item_id="c2", name="", category_ids=(), cmd=None),
        "ac1168c5a5ed6d422f41da9842b46014",
        {"name": "#c2", "category_id": 99, "category_ids": None, "detail": None},
    ),
    (
        MovieRecord(
            provider_item_id="m1",
            name="Film (2001)",
            year=2001,
            rating=7.5,
            poster="http://p/1.jpg",
            category_ids=("11",),
            added_at=datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone(timedelta(hours=2))),
            cmd="/m/1.mkv",
            description="Plot",
            director="",
            actors=None,
            genres="Drama",
            duration_min=0,
            censored=True,
            extension="mkv",
        ),
        "6a9977d58ba0a46f4445901a223f9517",
        {
            "category_id": 2,
            "category_ids": None,
            "extension": "mkv",
            # Empty and None details are left out; a zero is a value.
            "detail": {"description": "Plot", "genres": "Drama", "duration_min": 0},
        },
    ),
    (
        SeriesRecord(
            provider_item_id="s1",
            name="Show",
            category_ids=("unknown",),
            added_at=datetime(2020, 1, 1, tzinfo=UTC),
            description="x",
        ),
        "5170c3b6fb0302693ad01d15c3fd2923",
        {"category_id": 99, "detail": {"description": "x"}},
    ),
]


@pytest.mark.parametrize(
    ("record", "digest", "values"), CASES, ids=lambda c: getattr(c, "provider_item_id", "")
)
def test_rows_and_their_hashes_are_stable(
    record: CatalogueRecord, digest: str, values: dict[str, object]
) -> None:
    row = record_to_row(record, CATEGORIES)
    assert row["hash"] == digest
    assert row["provider_item_id"] == record.provider_item_id
    for key, value in values.items():
        assert row[key] == value, key
    assert ("extension" in row) is isinstance(record, MovieRecord)


def test_any_stored_field_changes_the_hash() -> None:
    record = CASES[2][0]
    assert isinstance(record, MovieRecord)
    base = record_to_row(record, CATEGORIES)["hash"]
    changes = [
        {"name": "Other"},
        {"year": 2002},
        {"rating": 7.6},
        {"poster": None},
        {"category_ids": ("10",)},
        {"added_at": None},
        {"cmd": "/m/2.mkv"},
        {"description": "Plot!"},
        {"censored": False},
        {"extension": "mp4"},
    ]
    hashes = {record_to_row(replace(record, **change), CATEGORIES)["hash"] for change in changes}
    assert base not in hashes and len(hashes) == len(changes)


@given(
    st.datetimes(
        min_value=datetime(2, 1, 1),
        max_value=datetime(9998, 12, 31),
        timezones=st.one_of(
            st.none(),
            st.just(UTC),
            st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)).map(
                timezone
            ),
        ),
    )
)
def test_the_hash_reads_added_at_as_its_isoformat_text(added: datetime) -> None:
    """orjson writes a UTC or naive ``added_at`` itself: the hash is the one the value's
    ``isoformat`` text gave, for every offset (one with seconds goes through ``isoformat``)."""
    record = replace(CASES[3][0], added_at=added)
    row = record_to_row(record, CATEGORIES)
    hashed = {k: v for k, v in row.items() if v is not None and k != "hash"}
    hashed["added_at"] = added.isoformat()
    assert row["hash"] == content_hash(hashed)

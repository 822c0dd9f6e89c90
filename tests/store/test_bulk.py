"""The bulk path's two conversions that are cheaper than the obvious ones (docs/benchmarks.md,
session 24), held to the obvious ones: a datetime as SQLAlchemy's SQLite text, and a None bound
through the adapter this module registers."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from iptvsync.store import bulk


def plain_sqlite_datetime(value: datetime) -> str:
    """The text as ``isoformat`` gives it: what the bulk path wrote before session 24."""
    if value.tzinfo is not None and value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


OFFSETS = st.one_of(
    st.none(),
    st.just(UTC),
    st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)).map(timezone),
)


@given(
    st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=OFFSETS)
)
def test_the_datetime_text_is_isoformats(value: datetime) -> None:
    assert bulk.sqlite_datetime(value) == plain_sqlite_datetime(value)


def test_the_datetime_text_of_a_few_known_values() -> None:
    assert bulk.sqlite_datetime(None) is None
    noon = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert bulk.sqlite_datetime(noon) == "2026-03-01 12:00:00.000000"
    at = datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=2)))
    assert bulk.sqlite_datetime(at) == "0999-01-02 01:04:05.000006"
    assert bulk.sqlite_datetime(datetime(2020, 5, 6, 7, 8, 9, 10)) == "2020-05-06 07:08:09.000010"


def test_none_is_bound_as_null_through_its_own_adapter() -> None:
    adapter = sqlite3.adapters.get((type(None), sqlite3.PrepareProtocol))
    assert adapter is not None and adapter(None) is None
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (a, b, c)")
    rows = [(1, None, "x"), (None, None, None), (2.5, "y", None)]
    conn.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
    read = "SELECT a, b, c, typeof(a), typeof(b), typeof(c) FROM t"
    back = conn.execute(read).fetchall()
    assert [r[:3] for r in back] == rows
    assert [r[3:] for r in back] == [
        ("integer", "null", "text"),
        ("null", "null", "null"),
        ("real", "text", "null"),
    ]
    # The same rows bound with SQL's own NULL: the adapter changes nothing stored.
    literal = sqlite3.connect(":memory:")
    literal.execute("CREATE TABLE t (a, b, c)")
    literal.execute("INSERT INTO t VALUES (1, NULL, 'x'), (NULL, NULL, NULL), (2.5, 'y', NULL)")
    assert literal.execute(read).fetchall() == back

"""The programme row path (``store/guide_write.py``) against the general one: the same
programmes written by ``insert_programmes`` and by SQLAlchemy Core (``catalogue.insert_rows``
with column dicts) read back the same, and compare equal in SQL, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from iptvsync.records import ProgrammeRecord
from iptvsync.store import catalogue, providers
from iptvsync.store.guide_write import COLUMNS, insert_programmes
from iptvsync.store.models import programmes

START = datetime(2026, 12, 5, 6, 0, 0, 250_000, tzinfo=UTC)


def _provider(db: sa.Engine) -> int:
    with db.begin() as conn:
        name = f"g{len(providers.list_providers(conn))}"
        return providers.create_provider(conn, {"name": name, "kind": "m3u", "url": "http://x/"})


def _records() -> list[ProgrammeRecord]:
    return [
        ProgrammeRecord("news.one", START, START + timedelta(minutes=30), "Morning – café"),
        ProgrammeRecord(
            "news.one",
            START + timedelta(minutes=30),
            START + timedelta(hours=1),
            "Weather",
            subtitle="Part 2",
            description="Rain <b>later</b>",
            category="News",
            episode="1.2.",
        ),
        ProgrammeRecord("film.two", START, START + timedelta(hours=2), ""),
    ]


def _read(conn: sa.Connection, pid: int) -> list[dict[str, object]]:
    rows = conn.execute(
        sa.select(programmes)
        .where(programmes.c.provider_id == pid)
        .order_by(programmes.c.channel_key, programmes.c.start)
    ).all()
    out = []
    for r in rows:
        values = r._asdict()
        values.pop("id"), values.pop("provider_id")
        out.append(values)
    return out


def test_fast_rows_read_back_as_the_general_path_writes_them(db: sa.Engine) -> None:
    fast, general = _provider(db), _provider(db)
    records = _records()
    with db.begin() as conn:
        insert_programmes(conn, fast, records)
        catalogue.insert_rows(
            conn,
            programmes,
            [{"provider_id": general, **dict(zip(COLUMNS, r, strict=True))} for r in records],
        )
        ours, theirs = _read(conn, fast), _read(conn, general)
        # The stored times are the same text/values: a window query finds both providers' rows.
        both = conn.execute(
            sa.select(sa.func.count()).where(programmes.c.start == START, programmes.c.stop > START)
        ).scalar_one()
    assert ours == theirs
    assert len(ours) == 3
    assert ours[2]["description"] == "Rain <b>later</b>" and ours[2]["episode"] == "1.2."
    assert both == 4


@pytest.mark.parametrize("count", [1, 49, 50, 51, 137])
def test_rows_past_one_statement_are_written_whole_and_in_order(db: sa.Engine, count: int) -> None:
    """On SQLite a statement inserts ``bulk.PROGRAMMES_A_STATEMENT`` rows, the rest one a
    statement: every row is written, as Core writes it, and the ids follow the rows' order."""
    from iptvsync.store import bulk

    assert bulk.PROGRAMMES_A_STATEMENT == 50  # the counts above straddle it
    records = [
        ProgrammeRecord(
            f"ch.{k % 7}",
            START + timedelta(minutes=k),
            START + timedelta(minutes=k + 30),
            f"Show {k}",
            description="d" if k % 3 else None,
        )
        for k in range(count)
    ]
    fast, general = _provider(db), _provider(db)
    with db.begin() as conn:
        insert_programmes(conn, fast, records)
        conn.execute(
            programmes.insert(),
            [{"provider_id": general, **dict(zip(COLUMNS, r, strict=True))} for r in records],
        )
        ours, theirs = _read(conn, fast), _read(conn, general)
        titles = conn.execute(
            sa.select(programmes.c.title)
            .where(programmes.c.provider_id == fast)
            .order_by(programmes.c.id)
        ).scalars()
        assert list(titles) == [r.title for r in records]
    assert ours == theirs and len(ours) == count


def test_record_is_the_row_in_column_order() -> None:
    record = _records()[1]
    assert tuple(record) == tuple(getattr(record, c) for c in COLUMNS)
    assert ProgrammeRecord._fields == COLUMNS


def test_empty_batch_writes_nothing(db: sa.Engine) -> None:
    pid = _provider(db)
    with db.begin() as conn:
        insert_programmes(conn, pid, [])
        assert _read(conn, pid) == []


def test_times_in_other_zones_are_stored_as_sqlalchemy_stores_them(db: sa.Engine) -> None:
    """An aware time in another zone is stored as its UTC instant, as SQLAlchemy Core stores
    it through ``UtcDateTime``; the same instant in two zones is one time (the batch remembers
    each time's text, and must not hand one zone's text to the other)."""
    from datetime import timezone

    plus2, india = timezone(timedelta(hours=2)), timezone(timedelta(hours=5, minutes=30))
    records = [
        ProgrammeRecord("a", START.astimezone(plus2), (START + timedelta(hours=1)), "x"),
        ProgrammeRecord("b", START, (START + timedelta(hours=1)).astimezone(india), "y"),
        ProgrammeRecord("c", START.astimezone(india), START.astimezone(plus2) + timedelta(1), "z"),
    ]
    fast, general = _provider(db), _provider(db)
    with db.begin() as conn:
        insert_programmes(conn, fast, records)
        conn.execute(  # SQLAlchemy Core itself, not the store's SQLite fast path
            programmes.insert(),
            [{"provider_id": general, **dict(zip(COLUMNS, r, strict=True))} for r in records],
        )
        ours, theirs = _read(conn, fast), _read(conn, general)
        same_start = conn.execute(
            sa.select(sa.func.count()).where(programmes.c.start == START)
        ).scalar_one()
    assert ours == theirs
    assert [r["start"] for r in ours] == [START, START, START]
    assert ours[2]["stop"] == START + timedelta(days=1)
    assert same_start == 6


def test_times_remembered_across_batches_stay_exact(
    db: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The times' texts are remembered from one batch to the next (``bulk._TIME_TEXTS``), and
    the memory is bounded: past its size it starts again. Every batch stores what SQLAlchemy
    stores, however many times it meets."""
    from iptvsync.store import bulk

    monkeypatch.setattr(bulk, "_TIME_TEXTS", {})
    monkeypatch.setattr(bulk, "_TIME_TEXTS_MAX", 5)
    fast, general = _provider(db), _provider(db)
    batches = [
        [
            ProgrammeRecord(
                f"ch{n}",
                START + timedelta(minutes=5 * (n + k)),
                START + timedelta(minutes=5 * (n + k + 1)),
                f"p{k}",
            )
            for k in range(4)
        ]
        for n in range(4)
    ]
    with db.begin() as conn:
        for batch in batches:
            insert_programmes(conn, fast, batch)
            assert len(bulk._TIME_TEXTS) <= 5 + 2 * len(batch)  # cleared before it grows past
        conn.execute(
            programmes.insert(),
            [
                {"provider_id": general, **dict(zip(COLUMNS, r, strict=True))}
                for batch in batches
                for r in batch
            ],
        )
        assert _read(conn, fast) == _read(conn, general)
    if db.dialect.name == "sqlite":
        assert bulk._TIME_TEXTS  # the last batch's times, kept for the next

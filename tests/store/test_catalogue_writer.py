"""The catalogue writer on both databases: what it stores reads back as SQLAlchemy would have
stored it, search sees every batch's new rows and renames, and migration 0003 goes both ways."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from iptvsync.store import catalogue, providers
from iptvsync.store.db import is_sqlite
from iptvsync.store.migrate import alembic_config, upgrade
from iptvsync.store.models import channels, movies
from iptvsync.store.search import search

NOW = datetime(2026, 11, 25, 3, 4, 5, 678901, tzinfo=UTC)


def _provider(db: sa.Engine) -> int:
    with db.begin() as conn:
        name = f"p{len(providers.list_providers(conn))}"  # names are unique
        return providers.create_provider(
            conn, {"name": name, "kind": "stalker", "url": "http://x/c/", "mac": None}
        )


def _movie(key: str, name: str, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "provider_item_id": key,
        "name": name,
        "category_id": None,
        "category_ids": None,
        "censored": False,
        "cmd": f"/media/{key}.mpg",
        "year": 2001,
        "rating": 7.5,
        "poster": None,
        "added_at": datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
        "detail": {"description": "Café – naïve", "genres": "Drama"},
        "extension": "mkv",
        "hash": f"h-{key}-{name}",
    }
    row.update(extra)
    return row


def _upsert(db: sa.Engine, pid: int, rows: list[dict[str, object]], run: int) -> object:
    with db.begin() as conn:
        return catalogue.upsert_items(conn, "movie", pid, rows, run_id=run, version=run, now=NOW)


def _core_insert(conn: sa.Connection, pid: int, row: dict[str, object]) -> None:
    """``row`` as upsert_items would insert it at run 1, but through SQLAlchemy Core."""
    conn.execute(
        movies.insert(),
        [
            {
                **row,
                "provider_id": pid,
                "first_seen_at": NOW,
                "updated_at": NOW,
                "last_seen_run": 1,
                "created_version": 1,
                "changed_version": 1,
            }
        ],
    )


def test_rows_read_back_as_written_through_sqlalchemy(db: sa.Engine) -> None:
    pid = _provider(db)
    _upsert(db, pid, [_movie("1", "Alpha", category_ids=[3, 4], censored=True)], run=1)
    # The reference row: the same values through SQLAlchemy Core.
    with db.begin() as conn:
        _core_insert(conn, pid, _movie("2", "Alpha", category_ids=[3, 4], censored=True))
        rows = conn.execute(sa.select(movies).order_by(movies.c.provider_item_id)).all()
        ours, core = (r._asdict() for r in rows)
        # Every column compares equal in SQL too (same stored text for dates and JSON null).
        same_added = conn.execute(
            sa.select(sa.func.count()).where(movies.c.added_at == core["added_at"])
        ).scalar_one()
        null_json = conn.execute(
            sa.select(sa.func.count()).where(movies.c.deleted_version.is_(None))
        ).scalar_one()
    for column in ("id", "provider_item_id", "hash", "cmd"):
        ours.pop(column), core.pop(column)
    assert ours == core
    assert ours["censored"] is True
    assert ours["category_ids"] == [3, 4]
    assert ours["detail"]["description"] == "Café – naïve"
    assert same_added == 2
    assert null_json == 2


def test_unchanged_changed_and_returning_rows(db: sa.Engine) -> None:
    pid = _provider(db)
    first = _upsert(db, pid, [_movie("1", "Alpha"), _movie("2", "Beta")], run=1)
    assert (first.added, first.updated, first.unchanged) == (2, 0, 0)
    with db.begin() as conn:
        conn.execute(movies.update().where(movies.c.provider_item_id == "2").values(deleted_at=NOW))
    again = _upsert(db, pid, [_movie("1", "Alpha"), _movie("2", "Beta")], run=2)
    assert (again.added, again.updated, again.unchanged) == (0, 1, 1)
    assert again.new_keys == ["2"]  # a title that comes back counts as new
    with db.connect() as conn:
        rows = {
            r.provider_item_id: r
            for r in conn.execute(
                sa.select(
                    movies.c.provider_item_id,
                    movies.c.last_seen_run,
                    movies.c.deleted_at,
                    movies.c.changed_version,
                )
            )
        }
    assert rows["1"].last_seen_run == 2 and rows["1"].changed_version == 1
    assert rows["2"].deleted_at is None and rows["2"].changed_version == 2


def test_search_sees_new_rows_of_every_batch_and_renames(db: sa.Engine) -> None:
    pid = _provider(db)
    _upsert(db, pid, [_movie("1", "Amélie"), _movie("2", "Brazil")], run=1)
    _upsert(db, pid, [_movie("3", "Casablanca")], run=2)
    with db.connect() as conn:
        found = {r["name"] for r in search(conn, "casablanca", kinds=("movie",))["items"]}
        assert found == {"Casablanca"}
        assert {r["name"] for r in search(conn, "brazil", kinds=("movie",))["items"]} == {"Brazil"}
    _upsert(db, pid, [_movie("2", "Dune", hash="renamed")], run=3)
    with db.connect() as conn:
        assert search(conn, "brazil", kinds=("movie",))["items"] == []
        assert [r["name"] for r in search(conn, "dune", kinds=("movie",))["items"]] == ["Dune"]


def test_migration_0003_down_and_up(db: sa.Engine) -> None:
    pid = _provider(db)
    _upsert(db, pid, [_movie("1", "Zorro")], run=1)
    command.downgrade(alembic_config(db), "0002")
    with db.connect() as conn:
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("channels")}
    assert "ix_channels_order" in indexes
    if is_sqlite(db):
        # Back at 0002 the insert trigger indexes rows again: one added through Core is found.
        with db.begin() as conn:
            _core_insert(conn, pid, _movie("2", "Yojimbo"))
    upgrade(db, "head")
    with db.connect() as conn:
        if is_sqlite(db):
            assert [r["name"] for r in search(conn, "yojimbo", kinds=("movie",))["items"]] == [
                "Yojimbo"
            ]
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("channels")}
        assert "ix_channels_order" not in indexes
        assert "ix_channels_live_number" in indexes
        assert [r["name"] for r in search(conn, "zorro", kinds=("movie",))["items"]] == ["Zorro"]


@pytest.mark.parametrize("kind", ["channel"])
def test_channel_defaults_match_the_model(db: sa.Engine, kind: str) -> None:
    pid = _provider(db)
    row = {"provider_item_id": "c1", "name": "One", "hash": "h", "number": 1}
    with db.begin() as conn:
        catalogue.upsert_items(conn, kind, pid, [row], run_id=1, version=1, now=NOW)
        stored = conn.execute(sa.select(channels)).one()
    assert stored.archive is False and stored.radio is False and stored.censored is False
    assert stored.created_version == 1 and stored.deleted_at is None


def test_json_keys_absent_or_none_are_stored_as_sqlalchemy_stores_them(db: sa.Engine) -> None:
    if not is_sqlite(db):
        pytest.skip("the driver's path is SQLite's; PostgreSQL writes through Core itself")
    ours, core = _provider(db), _provider(db)
    rows = [
        {"provider_item_id": "c1", "name": "One", "hash": "h"},  # no detail, no category_ids
        {"provider_item_id": "c2", "name": "Two", "hash": "h", "detail": None},
    ]
    extra = {"first_seen_at": NOW, "updated_at": NOW, "created_version": 1, "changed_version": 1}
    detail = sa.cast(channels.c.detail, sa.Text)
    with db.begin() as conn:
        catalogue.upsert_items(conn, "channel", ours, rows, run_id=1, version=1, now=NOW)
        for row in rows:  # one at a time: Core's executemany wants the same keys in every row
            conn.execute(channels.insert(), [{**row, **extra, "provider_id": core}])
        stored = {
            (r[0], r[1]): r[2]
            for r in conn.execute(
                sa.select(channels.c.provider_id, channels.c.provider_item_id, detail)
            )
        }
    assert stored[(ours, "c1")] == stored[(core, "c1")]
    assert stored[(ours, "c2")] == stored[(core, "c2")]
    assert (stored[(ours, "c1")], stored[(ours, "c2")]) == (None, "null")

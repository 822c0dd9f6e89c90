"""Stream slots in the database (store/streams.py), on SQLite and PostgreSQL: a limit holds,
an expired lease is taken over, renewal reports rows that were taken away, 0006 goes both ways."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from iptvsync.store import streams
from iptvsync.store.migrate import alembic_config, upgrade
from iptvsync.store.users import create_user


def take(
    db: sa.Engine, holder: str, *, now: float, limit: int = 2, lease: float = 10
) -> int | None:
    return streams.acquire(
        db, "provider:1:default", limit, holder=holder, stream_id=holder, replica="r",
        info={"item_id": 1}, now=now, lease_s=lease,
    )  # fmt: skip


def test_limit_lease_takeover_and_renewal(db: sa.Engine) -> None:
    assert take(db, "a", now=100) == 0
    assert take(db, "b", now=100) == 1
    assert take(db, "c", now=105) is None  # both held
    assert {r.holder for r in streams.held(db, "provider:1:", now=105)} == {"a", "b"}
    assert streams.renew(db, {"a": {"bytes": 5}}, now=105, lease_s=10) == set()
    # b's lease ran out at 110 (never renewed): c takes its number; a (renewed to 115) stays.
    assert take(db, "c", now=111) == 1
    assert streams.renew(db, {"b": {}}, now=111, lease_s=10) == {"b"}
    assert streams.get(db, "a", now=111).info == {"bytes": 5}  # type: ignore[union-attr]
    assert streams.release(db, ["a", "c"]) == 2
    assert streams.held(db, "", now=111) == []


def test_migration_0006_down_and_up(db: sa.Engine) -> None:
    take(db, "a", now=1)
    command.downgrade(alembic_config(db), "0003")
    assert "stream_slots" not in sa.inspect(db).get_table_names()
    assert "max_streams" not in {c["name"] for c in sa.inspect(db).get_columns("users")}
    upgrade(db, "head")
    assert take(db, "a", now=1) == 0


def test_acquire_many_in_one_transaction_keeps_every_limit(db: sa.Engine) -> None:
    """Viewers gathered into one batch: each scope still gets at most its limit, numbers are
    distinct, a full scope answers None for its extra asks, an expired lease is taken over."""
    ask = streams.Ask
    assert take(db, "old", now=100, limit=1, lease=5) == 0  # expires at 105
    asks = [
        *(ask("user:1", 2, f"u{i}", f"u{i}", {}) for i in range(4)),
        *(ask(f"admin:{i}", 1, f"a{i}", f"a{i}", {}) for i in range(3)),
        ask("provider:1:default", 1, "p", "p", {}),
    ]
    got = [g.number for g in streams.acquire_many(db, asks, replica="r", now=110, lease_s=10)]
    assert got == [0, 1, None, None, 0, 0, 0, 0]
    rows = streams.held(db, "", now=110)
    assert {r.holder for r in rows} == {"u0", "u1", "a0", "a1", "a2", "p"}
    # A second batch meets the rows of the first: nothing over a limit.
    again = [ask("user:1", 2, "u9", "u9", {}), ask("user:1", 3, "u8", "u8", {})]
    granted = streams.acquire_many(db, again, replica="r", now=111, lease_s=10)
    assert [g.number for g in granted] == [None, 2]


def test_a_users_own_limit_and_name_come_with_its_slot(db: sa.Engine) -> None:
    with db.begin() as conn:
        alice = create_user(conn, "alice", "pw-12345678", all_providers=True)
        bob = create_user(conn, "bob", "pw-12345678", all_providers=True)
    assert streams.set_user_limit(db, "alice", 1)
    ask = streams.Ask
    asks = [
        ask(f"user:{alice}", 2, "a1", "a1", {}, user_id=alice),
        ask(f"user:{alice}", 2, "a2", "a2", {}, user_id=alice),  # over her own limit of 1
        ask(f"user:{bob}", 2, "b1", "b1", {}, user_id=bob),
        ask(f"user:{bob}", 2, "b2", "b2", {}, user_id=bob),  # bob has the default, 2
        ask("user:999", 2, "x", "x", {}, user_id=999),  # no such user
    ]
    got = streams.acquire_many(db, asks, replica="r", now=1, lease_s=10)
    assert [(g.number, g.limit, g.username, g.user_missing) for g in got] == [
        (0, 1, "alice", False),
        (None, 1, "alice", False),
        (0, 2, "bob", False),
        (1, 2, "bob", False),
        (None, 0, None, True),
    ]
    assert streams.get(db, "a1", now=1).info["username"] == "alice"  # type: ignore[union-attr]


def test_a_number_taken_by_another_replica_meanwhile_moves_to_the_next(db: sa.Engine) -> None:
    """PostgreSQL (read committed): another replica inserts the number this batch chose
    between its read and its insert; the batch takes the next free number instead."""
    if db.dialect.name != "postgresql":
        pytest.skip("SQLite's BEGIN IMMEDIATE holds the write lock: no one can get in between")
    fired: list[bool] = []

    def meddle(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO STREAM_SLOTS") and not fired:
            fired.append(True)
            with db.connect().execution_options(isolation_level="AUTOCOMMIT") as other:
                other.execute(
                    sa.text(
                        "INSERT INTO stream_slots (scope, slot_no, holder, stream_id, replica,"
                        " info, since, lease_until) VALUES ('user:1', 0, 'other', 'other', 'r2',"
                        " '{}', 1, 100)"
                    )
                )

    sa.event.listen(db, "before_cursor_execute", meddle)
    try:
        asks = [
            streams.Ask("user:1", 3, "mine", "mine", {}),
            streams.Ask("admin:x", 1, "x", "x", {}),
        ]
        got = streams.acquire_many(db, asks, replica="r", now=1, lease_s=10)
    finally:
        sa.event.remove(db, "before_cursor_execute", meddle)
    assert fired and [g.number for g in got] == [1, 0]
    assert {r.holder for r in streams.held(db, "", now=1)} == {"other", "mine", "x"}

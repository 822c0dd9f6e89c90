"""Stream slots in the database (store/streams.py), on SQLite and PostgreSQL: a limit holds,
an expired lease is taken over, renewal reports rows that were taken away, 0006 goes both ways."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from iptvsync.store import streams
from iptvsync.store.migrate import alembic_config, upgrade


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
    got = streams.acquire_many(db, asks, replica="r", now=110, lease_s=10)
    assert got == [0, 1, None, None, 0, 0, 0, 0]
    rows = streams.held(db, "", now=110)
    assert {r.holder for r in rows} == {"u0", "u1", "a0", "a1", "a2", "p"}
    # A second batch meets the rows of the first: nothing over a limit.
    again = [ask("user:1", 2, "u9", "u9", {}), ask("user:1", 3, "u8", "u8", {})]
    assert streams.acquire_many(db, again, replica="r", now=111, lease_s=10) == [None, 2]

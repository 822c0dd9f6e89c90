"""Connection slots in the database: what every replica's relay counts streams against.

A slot is one row of ``stream_slots``: (``scope``, ``slot_no``) is the primary key, ``slot_no``
runs from 0 to the scope's limit - 1. Taking a slot is an INSERT of a free number, so the
database itself refuses a second holder, whichever replica asks (SQLite and PostgreSQL alike,
no advisory locks). A row whose ``lease_until`` has passed belongs to a replica that stopped
renewing (it died): anyone may delete it and take the number. Holders renew their rows while
they stream; a row that disappeared (``DELETE /api/streams/{id}``, another replica's clean-up)
tells its holder to stop.

Times are Unix seconds (floats), compared with the caller's clock: replicas are expected to
run NTP-synchronised clocks, and a lease is many seconds long.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from iptvsync.store.models import stream_slots

t = stream_slots


@dataclass(frozen=True, slots=True)
class SlotRow:
    scope: str
    slot_no: int
    holder: str
    stream_id: str
    replica: str
    info: dict[str, Any]
    since: float
    lease_until: float


def _row(r: Any) -> SlotRow:
    m = r._mapping
    info = m["info"] if isinstance(m["info"], dict) else {}
    return SlotRow(
        m["scope"], m["slot_no"], m["holder"], m["stream_id"], m["replica"], info,
        m["since"], m["lease_until"],
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Ask:
    """One slot wanted: a free number of ``scope`` below ``limit`` for ``holder``. With
    ``user_id``: the limit is that user's own ``max_streams`` (``limit`` when it has none),
    read in the same transaction, and its name goes into the row's ``info``."""

    scope: str
    limit: int
    holder: str
    stream_id: str
    info: Mapping[str, Any]
    user_id: int | None = None


@dataclass(frozen=True, slots=True)
class Grant:
    """What an ask got: its slot number (None: the scope was full, or the user is gone), the
    limit that applied, and the user's name for an ask with ``user_id``."""

    number: int | None
    limit: int
    username: str | None = None
    user_missing: bool = False


def acquire(
    db: sa.Engine,
    scope: str,
    limit: int,
    *,
    holder: str,
    stream_id: str,
    replica: str,
    info: Mapping[str, Any],
    now: float,
    lease_s: float,
) -> int | None:
    """Take a free slot of ``scope`` (numbers ``0..limit-1``); its number, or None when all
    are held by live leases."""
    ask = Ask(scope, limit, holder, stream_id, info)
    return acquire_many(db, [ask], replica=replica, now=now, lease_s=lease_s)[0].number


def acquire_many(
    db: sa.Engine, asks: Sequence[Ask], *, replica: str, now: float, lease_s: float
) -> list[Grant]:
    """Take a slot for each of ``asks`` (in order) in one short transaction: the slot number
    each got, or None where its scope was full. Many viewers arriving at once cost one
    transaction instead of one each (``relay.slots`` gathers them)."""
    if not asks:
        return []
    scopes = sorted({a.scope for a in asks})
    with db.begin() as conn:
        people = _users(conn, {a.user_id for a in asks if a.user_id is not None})
        asks, missing = _with_user_limits(asks, people)
        numbers = _take(conn, asks, scopes, replica, now, lease_s)
    return [
        Grant(n, a.limit, people.get(a.user_id, (None, None))[0] if a.user_id else None, gone)
        for a, n, gone in zip(asks, numbers, missing, strict=True)
    ]


def _users(conn: sa.Connection, ids: set[int]) -> dict[int | None, tuple[str, int | None]]:
    if not ids:
        return {}
    from iptvsync.store.models import users

    query = sa.select(users.c.id, users.c.username, users.c.max_streams)
    rows = conn.execute(query.where(users.c.id.in_(sorted(ids))))
    return {r.id: (r.username, r.max_streams) for r in rows}


def _with_user_limits(
    asks: Sequence[Ask], people: Mapping[int | None, tuple[str, int | None]]
) -> tuple[list[Ask], list[bool]]:
    """Asks with their user's own limit and name; a user that no longer exists gets none."""
    out: list[Ask] = []
    missing: list[bool] = []
    for a in asks:
        if a.user_id is None:
            out.append(a)
            missing.append(False)
            continue
        found = people.get(a.user_id)
        if found is None:
            out.append(replace(a, limit=0))
            missing.append(True)
            continue
        name, own = found
        info = {**a.info, "username": name}
        out.append(replace(a, limit=own if own is not None else a.limit, info=info))
        missing.append(False)
    return out, missing


def _take(
    conn: sa.Connection, asks: Sequence[Ask], scopes: list[str], replica: str, now: float,
    lease_s: float,
) -> list[int | None]:  # fmt: skip
    # An expired lease belongs to a replica that stopped renewing (it died): free for all.
    conn.execute(sa.delete(t).where(t.c.scope.in_(scopes), t.c.lease_until < now))
    taken: dict[str, set[int]] = {scope: set() for scope in scopes}
    for r in conn.execute(sa.select(t.c.scope, t.c.slot_no).where(t.c.scope.in_(scopes))):
        taken[r.scope].add(r.slot_no)
    numbers: list[int | None] = []
    for a in asks:  # two asks of one scope in a batch get two numbers
        numbers.append(_free(taken[a.scope], a.limit))
        if numbers[-1] is not None:
            taken[a.scope].add(numbers[-1])
    rows = [
        _values(a, n, replica, now, lease_s)
        for a, n in zip(asks, numbers, strict=True)
        if n is not None
    ]
    if not rows:
        return numbers
    try:
        with conn.begin_nested():
            conn.execute(sa.insert(t), rows)
        return numbers
    except sa.exc.IntegrityError:
        pass  # another replica took one of these numbers a moment ago: one by one
    for i, ask in enumerate(asks):
        if numbers[i] is not None:
            taken[ask.scope].discard(numbers[i])  # not inserted: the savepoint rolled back
    for i, ask in enumerate(asks):
        numbers[i] = _insert_one(conn, ask, taken, replica, now, lease_s)
    return numbers


def _free(taken: set[int], limit: int, after: int = -1) -> int | None:
    return next((n for n in range(after + 1, limit) if n not in taken), None)


def _values(ask: Ask, number: int, replica: str, now: float, lease_s: float) -> dict[str, Any]:
    return {
        "scope": ask.scope,
        "slot_no": number,
        "holder": ask.holder,
        "stream_id": ask.stream_id,
        "replica": replica,
        "info": dict(ask.info),
        "since": now,
        "lease_until": now + lease_s,
    }


def _insert_one(
    conn: sa.Connection, ask: Ask, taken: dict[str, set[int]], replica: str, now: float,
    lease_s: float,
) -> int | None:  # fmt: skip
    number = _free(taken[ask.scope], ask.limit)
    while number is not None:
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(t).values(**_values(ask, number, replica, now, lease_s)))
            taken[ask.scope].add(number)
            return number
        except sa.exc.IntegrityError:
            taken[ask.scope].add(number)  # taken elsewhere meanwhile: the next number
            number = _free(taken[ask.scope], ask.limit, number)
    return None


def release(db: sa.Engine, holders: Iterable[str]) -> int:
    """Free the slots of ``holders``; how many rows went."""
    wanted = list(holders)
    if not wanted:
        return 0
    with db.begin() as conn:
        return int(conn.execute(sa.delete(t).where(t.c.holder.in_(wanted))).rowcount or 0)


def renew(
    db: sa.Engine, infos: Mapping[str, Mapping[str, Any]], *, now: float, lease_s: float
) -> set[str]:
    """Extend the leases of ``infos``' holders (and store their fresh ``info``); the holders
    whose row is gone (stopped from elsewhere, or expired and taken over)."""
    if not infos:
        return set()
    # Two statements whatever the count (an UPDATE run as one executemany): the write lock
    # is held for a moment, not for one round trip per stream while viewers wait to join.
    with db.begin() as conn:
        query = sa.select(t.c.holder).where(t.c.holder.in_(list(infos)))
        present = {r.holder for r in conn.execute(query)}
        rows = [{"h": h, "i": dict(info)} for h, info in infos.items() if h in present]
        if rows:
            update = (
                sa.update(t)
                .where(t.c.holder == sa.bindparam("h"))
                .values(lease_until=now + lease_s, info=sa.bindparam("i"))
            )
            conn.execute(update, rows)
    return set(infos) - present


def held(db: sa.Engine, scope_prefix: str, *, now: float) -> list[SlotRow]:
    """Live rows whose scope starts with ``scope_prefix`` (empty: all), oldest first."""
    query = sa.select(t).where(t.c.lease_until >= now).order_by(t.c.since, t.c.scope)
    if scope_prefix:
        query = query.where(t.c.scope.startswith(scope_prefix, autoescape=True))
    with db.connect() as conn:
        return [_row(r) for r in conn.execute(query)]


def get(db: sa.Engine, holder: str, *, now: float) -> SlotRow | None:
    with db.connect() as conn:
        r = conn.execute(
            sa.select(t).where(t.c.holder == holder, t.c.lease_until >= now).limit(1)
        ).first()
    return _row(r) if r is not None else None


def set_user_limit(db: sa.Engine, username: str, max_streams: int | None) -> bool:
    """Set a user's ``max_streams`` (None: back to the server default); False: no such user."""
    from iptvsync.store.models import users

    with db.begin() as conn:
        done = conn.execute(
            sa.update(users).where(users.c.username == username).values(max_streams=max_streams)
        )
    return bool(done.rowcount)

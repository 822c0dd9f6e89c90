"""Writing the catalogue: batch upserts with stable ids, touch-only for unchanged rows, sweeps.

Every function takes an open connection inside the caller's transaction: one batch is one
transaction, so a crash loses at most the batch in flight and never leaves half a batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from iptvsync.store.models import (
    ITEM_TABLES,
    categories,
    episodes,
    programmes,
    snapshots,
    sync_runs,
)

UNCATEGORISED = "__uncategorised__"
UNCATEGORISED_TITLE = "Uncategorised"


@dataclass(slots=True)
class UpsertResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    new_keys: list[str] = field(default_factory=list)


def upsert_items(
    conn: sa.Connection,
    kind: str,
    provider_id: int,
    rows: list[dict[str, Any]],
    *,
    run_id: int,
    version: int,
    now: datetime,
) -> UpsertResult:
    """Insert new rows, rewrite changed ones (or ones that come back), touch the rest.

    ``rows`` are column dicts with at least ``provider_item_id``, ``name`` and ``hash``; they
    must be unique by ``provider_item_id`` (the engine de-duplicates).
    """
    table = ITEM_TABLES[kind]
    result = UpsertResult()
    if not rows:
        return result
    keys = [r["provider_item_id"] for r in rows]
    existing: dict[str, tuple[int, str, bool]] = {}
    for row in conn.execute(
        sa.select(table.c.provider_item_id, table.c.id, table.c.hash, table.c.deleted_at).where(
            table.c.provider_id == provider_id, table.c.provider_item_id.in_(keys)
        )
    ):
        existing[row[0]] = (row[1], row[2], row[3] is not None)

    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    touches: list[int] = []
    for r in rows:
        found = existing.get(r["provider_item_id"])
        if found is None:
            inserts.append(
                {
                    **r,
                    "provider_id": provider_id,
                    "added_at": r.get("added_at") or now,
                    "first_seen_at": now,
                    "updated_at": now,
                    "last_seen_run": run_id,
                    "created_version": version,
                    "changed_version": version,
                }
            )
            result.new_keys.append(r["provider_item_id"])
        elif found[1] != r["hash"] or found[2]:
            values = {k: v for k, v in r.items() if k != "provider_item_id"}
            if values.get("added_at") is None:
                values.pop("added_at", None)
            values.update(
                _id=found[0],
                updated_at=now,
                last_seen_run=run_id,
                changed_version=version,
                deleted_at=None,
                deleted_version=None,
            )
            updates.append(values)
            if found[2]:  # a title that comes back counts as new for early termination
                result.new_keys.append(r["provider_item_id"])
        else:
            touches.append(found[0])

    if inserts:
        conn.execute(table.insert(), inserts)
    if updates:
        # executemany needs the same keys in every row: group by key set.
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for u in updates:
            groups.setdefault(tuple(sorted(u)), []).append(u)
        for cols, group in groups.items():
            stmt = (
                table.update()
                .where(table.c.id == sa.bindparam("_id"))
                .values({c: sa.bindparam(c) for c in cols if c != "_id"})
            )
            conn.execute(stmt, group)
    if touches:
        conn.execute(table.update().where(table.c.id.in_(touches)).values(last_seen_run=run_id))
    result.added = len(inserts)
    result.updated = len(updates)
    result.unchanged = len(touches)
    return result


def upsert_categories(
    conn: sa.Connection,
    provider_id: int,
    kind: str,
    records: list[tuple[str, str, bool, int]],
    *,
    version: int,
) -> dict[str, int]:
    """Store (provider_category_id, title, censored, position) rows; return key → our id.

    The "Uncategorised" category of the kind always exists, for items with no or an unknown
    provider category (DESIGN section 3).
    """
    records = [*records, (UNCATEGORISED, UNCATEGORISED_TITLE, False, 1_000_000)]
    existing = {
        r.provider_category_id: r
        for r in conn.execute(
            sa.select(categories).where(
                categories.c.provider_id == provider_id, categories.c.kind == kind
            )
        )
    }
    for key, title, censored, position in records:
        row = existing.get(key)
        if row is None:
            conn.execute(
                categories.insert().values(
                    provider_id=provider_id,
                    kind=kind,
                    provider_category_id=key,
                    title=title,
                    censored=censored,
                    position=position,
                    created_version=version,
                    changed_version=version,
                )
            )
        elif (row.title, row.censored, row.position, row.deleted_at) != (
            title,
            censored,
            position,
            None,
        ):
            conn.execute(
                categories.update()
                .where(categories.c.id == row.id)
                .values(
                    title=title,
                    censored=censored,
                    position=position,
                    deleted_at=None,
                    changed_version=version,
                )
            )
    return category_map(conn, provider_id, kind)


def category_map(conn: sa.Connection, provider_id: int, kind: str) -> dict[str, int]:
    return {
        r[0]: r[1]
        for r in conn.execute(
            sa.select(categories.c.provider_category_id, categories.c.id).where(
                categories.c.provider_id == provider_id, categories.c.kind == kind
            )
        )
    }


def retire_categories(
    conn: sa.Connection, provider_id: int, kind: str, seen: set[str], now: datetime, version: int
) -> None:
    """Soft-delete categories the provider no longer lists and that hold no live item."""
    table = ITEM_TABLES[kind]
    in_use = sa.select(table.c.category_id).where(
        table.c.provider_id == provider_id, table.c.deleted_at.is_(None)
    )
    conn.execute(
        categories.update()
        .where(
            categories.c.provider_id == provider_id,
            categories.c.kind == kind,
            categories.c.deleted_at.is_(None),
            categories.c.provider_category_id.not_in([*seen, UNCATEGORISED]),
            categories.c.id.not_in(in_use.where(table.c.category_id.is_not(None))),
        )
        .values(deleted_at=now, changed_version=version)
    )


@dataclass(slots=True)
class SweepResult:
    alive: int
    stale: int
    removed: int
    guarded: bool


def sweep_unseen(
    conn: sa.Connection,
    kind: str,
    provider_id: int,
    *,
    run_id: int,
    version: int,
    now: datetime,
    guard_ratio: float,
    guard_min_items: int,
) -> SweepResult:
    """Soft-delete rows a COMPLETE walk did not see, unless that is a mass removal.

    The guard: when the walk would remove more than ``guard_ratio`` of the live rows (and at
    least ``guard_min_items``), nothing is removed and the caller marks the run ``guarded``.
    A provider answering an empty list by mistake must not wipe a catalogue.
    """
    table = ITEM_TABLES[kind]
    live = sa.and_(table.c.provider_id == provider_id, table.c.deleted_at.is_(None))
    unseen = sa.or_(table.c.last_seen_run.is_(None), table.c.last_seen_run != run_id)
    alive = conn.execute(sa.select(sa.func.count()).where(live)).scalar_one()
    stale = conn.execute(sa.select(sa.func.count()).where(live, unseen)).scalar_one()
    if stale == 0:
        return SweepResult(alive, 0, 0, False)
    if stale >= guard_min_items and stale > guard_ratio * alive:
        return SweepResult(alive, stale, 0, True)
    conn.execute(table.update().where(live, unseen).values(deleted_at=now, deleted_version=version))
    return SweepResult(alive, stale, stale, False)


def live_counts(conn: sa.Connection, provider_id: int) -> dict[str, int]:
    """Counts always read from the database (the stats of DESIGN section 3)."""
    out: dict[str, int] = {}
    for name, kind in (("channels", "channel"), ("movies", "movie"), ("series", "series")):
        table = ITEM_TABLES[kind]
        out[name] = conn.execute(
            sa.select(sa.func.count()).where(
                table.c.provider_id == provider_id, table.c.deleted_at.is_(None)
            )
        ).scalar_one()
    out["categories"] = conn.execute(
        sa.select(sa.func.count()).where(
            categories.c.provider_id == provider_id, categories.c.deleted_at.is_(None)
        )
    ).scalar_one()
    out["episodes"] = conn.execute(
        sa.select(sa.func.count()).where(episodes.c.provider_id == provider_id)
    ).scalar_one()
    return out


def delete_provider_data(
    conn: sa.Connection, provider_id: int, *, include_runs: bool = False
) -> dict[str, int]:
    """Hard-delete a provider's catalogue (``clean``); settings and run history stay."""
    deleted: dict[str, int] = {}
    deleted["episodes"] = conn.execute(
        episodes.delete().where(episodes.c.provider_id == provider_id)
    ).rowcount
    for name, kind in (("movies", "movie"), ("series", "series"), ("channels", "channel")):
        table = ITEM_TABLES[kind]
        deleted[name] = conn.execute(
            table.delete().where(table.c.provider_id == provider_id)
        ).rowcount
    deleted["categories"] = conn.execute(
        categories.delete().where(categories.c.provider_id == provider_id)
    ).rowcount
    conn.execute(programmes.delete().where(programmes.c.provider_id == provider_id))
    conn.execute(snapshots.delete().where(snapshots.c.provider_id == provider_id))
    if include_runs:
        conn.execute(sync_runs.delete().where(sync_runs.c.provider_id == provider_id))
    return deleted

"""A viewer's library: favourite channels, movies and series, and where they stopped watching
movies and episodes. A viewer is an output user (``user_id``) or the admin (``user_id`` None).

Rows name items by our ids, which never change or get reused (docs/api.md); rows of items
since removed from the catalogue are kept (the item may come back) but left out of the lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from iptvsync.errors import ValidationFailed
from iptvsync.store import queries
from iptvsync.store.items import item_dict, list_columns
from iptvsync.store.models import ITEM_TABLES, episodes, favourites, resume_positions, series
from iptvsync.store.providers import iso, utcnow

FAVOURITE_KINDS = ("channel", "movie", "series")
RESUME_KINDS = ("movie", "episode")
#: A position this close to the end (the last 30 s, or 5 % when that is less) means
#: "watched": the row is dropped.
FINISHED_TAIL_S = 30.0
FINISHED_RATIO = 0.95
MAX_SECONDS = 7 * 24 * 3600.0


def _owner(table: sa.Table, user_id: int | None) -> sa.ColumnElement[bool]:
    column = table.c.user_id
    return column.is_(None) if user_id is None else column == user_id


def _key(
    table: sa.Table, user_id: int | None, provider_id: int, kind: str, item_id: int
) -> list[sa.ColumnElement[bool]]:
    return [
        _owner(table, user_id),
        table.c.provider_id == provider_id,
        table.c.kind == kind,
        table.c.item_id == item_id,
    ]


def check_kind(kind: str, allowed: tuple[str, ...]) -> str:
    if kind not in allowed:
        raise ValidationFailed(f"kind must be one of {', '.join(allowed)}", detail={"kind": kind})
    return kind


def _check_item(conn: sa.Connection, provider_id: int, kind: str, item_id: int) -> None:
    """404 unless the item is live in the provider."""
    queries.check_provider(conn, provider_id)
    if kind == "episode":
        queries.episode_row(conn, provider_id, item_id)
    else:
        queries.item_row(conn, kind, provider_id, item_id)


def _upsert(
    conn: sa.Connection, table: sa.Table, key: list[sa.ColumnElement[bool]], values: dict[str, Any]
) -> None:
    """Update the row of ``key`` or insert it; a racing insert of the same key becomes an
    update (the unique index decides, in a savepoint)."""
    if conn.execute(table.update().where(*key).values(**values)).rowcount:
        return
    try:
        with conn.begin_nested():
            conn.execute(table.insert().values(**values))
    except sa.exc.IntegrityError:
        conn.execute(table.update().where(*key).values(**values))


# --- favourites ----------------------------------------------------------------------------


def add_favourite(
    conn: sa.Connection, user_id: int | None, provider_id: int, kind: str, item_id: int
) -> None:
    """Idempotent: adding a favourite twice keeps its first ``created_at``."""
    check_kind(kind, FAVOURITE_KINDS)
    _check_item(conn, provider_id, kind, item_id)
    key = _key(favourites, user_id, provider_id, kind, item_id)
    if conn.execute(sa.select(favourites.c.id).where(*key)).first() is not None:
        return
    values = {
        "user_id": user_id,
        "provider_id": provider_id,
        "kind": kind,
        "item_id": item_id,
        "created_at": utcnow(),
    }
    try:
        with conn.begin_nested():
            conn.execute(favourites.insert().values(**values))
    except sa.exc.IntegrityError:
        pass  # added at the same moment by another request: the same outcome


def remove_favourite(
    conn: sa.Connection, user_id: int | None, provider_id: int, kind: str, item_id: int
) -> bool:
    check_kind(kind, FAVOURITE_KINDS)
    key = _key(favourites, user_id, provider_id, kind, item_id)
    return bool(conn.execute(favourites.delete().where(*key)).rowcount)


def list_favourites(
    conn: sa.Connection,
    user_id: int | None,
    provider_ids: Iterable[int] | None,
    kind: str | None = None,
) -> list[dict[str, Any]]:
    """Newest first: ``{provider_id, kind, item_id, added_at, item}`` where ``item`` is the
    catalogue's list shape. ``provider_ids`` None means every provider."""
    conds = [_owner(favourites, user_id)]
    if provider_ids is not None:
        conds.append(favourites.c.provider_id.in_(list(provider_ids)))
    if kind is not None:
        conds.append(favourites.c.kind == check_kind(kind, FAVOURITE_KINDS))
    rows = conn.execute(
        sa.select(favourites)
        .where(*conds)
        .order_by(favourites.c.created_at.desc(), favourites.c.id.desc())
    ).all()
    items: dict[tuple[str, int], dict[str, Any]] = {}
    for k in FAVOURITE_KINDS:
        ids = sorted({r.item_id for r in rows if r.kind == k})
        if ids:
            table = ITEM_TABLES[k]
            for r in conn.execute(
                sa.select(*list_columns(k)).where(table.c.id.in_(ids), table.c.deleted_at.is_(None))
            ):
                items[(k, r.id)] = item_dict(k, r)
    out = []
    for r in rows:
        item = items.get((r.kind, r.item_id))
        if item is not None:
            out.append(
                {
                    "provider_id": r.provider_id,
                    "kind": r.kind,
                    "item_id": r.item_id,
                    "added_at": iso(r.created_at),
                    "item": item,
                }
            )
    return out


# --- resume positions ----------------------------------------------------------------------


def _seconds(value: Any, name: str, *, required: bool) -> float | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationFailed(f"{name} must be a number of seconds", detail={name: value})
    seconds = float(value)
    if not 0 <= seconds <= MAX_SECONDS:
        raise ValidationFailed(
            f"{name} must be between 0 and {int(MAX_SECONDS)} seconds", detail={name: value}
        )
    return seconds


def finished(position: float, duration: float | None) -> bool:
    """Watched to the end: in the last 5 % of the duration, or its last 30 s (long titles)."""
    if not duration:
        return False
    return duration - position <= min(FINISHED_TAIL_S, duration * (1 - FINISHED_RATIO))


def save_resume(
    conn: sa.Connection,
    user_id: int | None,
    provider_id: int,
    kind: str,
    item_id: int,
    position: Any,
    duration: Any = None,
) -> bool:
    """Store where the viewer stopped; True if kept, False if that counts as watched to the
    end (the row is then dropped, so the title leaves "continue watching")."""
    check_kind(kind, RESUME_KINDS)
    pos = _seconds(position, "position", required=True)
    dur = _seconds(duration, "duration", required=False)
    assert pos is not None
    _check_item(conn, provider_id, kind, item_id)
    key = _key(resume_positions, user_id, provider_id, kind, item_id)
    if finished(pos, dur):
        conn.execute(resume_positions.delete().where(*key))
        return False
    values = {
        "user_id": user_id,
        "provider_id": provider_id,
        "kind": kind,
        "item_id": item_id,
        "position_s": pos,
        "duration_s": dur,
        "updated_at": utcnow(),
    }
    _upsert(conn, resume_positions, key, values)
    return True


def remove_resume(
    conn: sa.Connection, user_id: int | None, provider_id: int, kind: str, item_id: int
) -> bool:
    check_kind(kind, RESUME_KINDS)
    key = _key(resume_positions, user_id, provider_id, kind, item_id)
    return bool(conn.execute(resume_positions.delete().where(*key)).rowcount)


def list_resume(
    conn: sa.Connection,
    user_id: int | None,
    provider_ids: Iterable[int] | None,
    *,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Most recently watched first: ``{provider_id, kind, item_id, position, duration,
    updated_at, item}``; an episode's ``item`` names its series (``series_id``,
    ``series_name``, ``poster``, ``season``, ``number``)."""
    conds = [_owner(resume_positions, user_id)]
    if provider_ids is not None:
        conds.append(resume_positions.c.provider_id.in_(list(provider_ids)))
    rows = conn.execute(
        sa.select(resume_positions)
        .where(*conds)
        .order_by(resume_positions.c.updated_at.desc(), resume_positions.c.id.desc())
    ).all()
    items: dict[tuple[str, int], dict[str, Any]] = {}
    movie_ids = sorted({r.item_id for r in rows if r.kind == "movie"})
    if movie_ids:
        table = ITEM_TABLES["movie"]
        for r in conn.execute(
            sa.select(*list_columns("movie")).where(
                table.c.id.in_(movie_ids), table.c.deleted_at.is_(None)
            )
        ):
            items[("movie", r.id)] = item_dict("movie", r)
    episode_ids = sorted({r.item_id for r in rows if r.kind == "episode"})
    if episode_ids:
        for r in conn.execute(
            sa.select(
                episodes.c.id,
                episodes.c.name,
                episodes.c.season,
                episodes.c.number,
                series.c.id.label("series_id"),
                series.c.name.label("series_name"),
                series.c.poster,
            )
            .join(series, series.c.id == episodes.c.series_id)
            .where(episodes.c.id.in_(episode_ids), series.c.deleted_at.is_(None))
        ):
            items[("episode", r.id)] = {
                "id": r.id,
                "name": r.name,
                "season": r.season,
                "number": r.number,
                "series_id": r.series_id,
                "series_name": r.series_name,
                "poster": r.poster,
            }
    out = []
    for r in rows:
        item = items.get((r.kind, r.item_id))
        if item is None:
            continue
        out.append(
            {
                "provider_id": r.provider_id,
                "kind": r.kind,
                "item_id": r.item_id,
                "position": r.position_s,
                "duration": r.duration_s,
                "updated_at": iso(r.updated_at),
                "item": item,
            }
        )
        if len(out) >= limit:
            break
    return out


def resume_of(
    conn: sa.Connection, user_id: int | None, provider_id: int, kind: str, item_id: int
) -> float | None:
    """The stored position of one item, or None."""
    check_kind(kind, RESUME_KINDS)
    key = _key(resume_positions, user_id, provider_id, kind, item_id)
    value = conn.execute(sa.select(resume_positions.c.position_s).where(*key)).scalar()
    return float(value) if value is not None else None

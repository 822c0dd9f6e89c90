"""Guide reads for the web page's grid and Live TV rows: the programmes of a set of channels
in a time window, and now/next per channel. Programmes are keyed by the channel's ``epg_id``
(``programmes.channel_key``), for every provider kind whose guide we store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from iptvsync.store.models import channels, programmes
from iptvsync.store.providers import iso

#: How far ahead now/next looks for the next programme.
NEXT_WINDOW = timedelta(hours=12)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _programme(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"start": iso(row.start), "stop": iso(row.stop), "title": row.title}
    if row.subtitle:
        out["subtitle"] = row.subtitle
    if row.description:
        out["description"] = row.description
    if row.category:
        out["category"] = row.category
    return out


def _channel_keys(conn: sa.Connection, provider_id: int, ids: Sequence[int]) -> list[Any]:
    return list(
        conn.execute(
            sa.select(
                channels.c.id, channels.c.epg_id, channels.c.archive, channels.c.archive_days
            ).where(
                channels.c.provider_id == provider_id,
                channels.c.id.in_(list(ids)),
                channels.c.deleted_at.is_(None),
            )
        )
    )


def programmes_of(
    conn: sa.Connection,
    provider_id: int,
    channel_ids: Sequence[int],
    start: datetime,
    end: datetime,
) -> list[dict[str, Any]]:
    """``[{channel_id, archive_days, programmes: [...]}]`` in the order of ``channel_ids``;
    programmes overlapping [start, end), by start. Unknown or removed channels are left out;
    ``archive_days`` is null for channels without catch-up."""
    rows = _channel_keys(conn, provider_id, channel_ids)
    keys = {r.epg_id for r in rows if r.epg_id}
    by_key: dict[str, list[dict[str, Any]]] = {}
    if keys:
        for p in conn.execute(
            sa.select(
                programmes.c.channel_key,
                programmes.c.start,
                programmes.c.stop,
                programmes.c.title,
                programmes.c.subtitle,
                programmes.c.description,
                programmes.c.category,
            )
            .where(
                programmes.c.provider_id == provider_id,
                programmes.c.channel_key.in_(keys),
                programmes.c.stop > start,
                programmes.c.start < end,
            )
            .order_by(programmes.c.channel_key, programmes.c.start)
        ):
            by_key.setdefault(p.channel_key, []).append(_programme(p))
    found = {r.id: r for r in rows}
    out = []
    for cid in channel_ids:
        r = found.get(cid)
        if r is None:
            continue
        out.append(
            {
                "channel_id": r.id,
                "archive_days": archive_days(r),
                "programmes": by_key.get(r.epg_id or "", []),
            }
        )
    return out


def archive_days(row: Any) -> int | None:
    """Days of catch-up a channel keeps, or None without catch-up (``archive`` with no
    duration counts as one day)."""
    if not row.archive:
        return None
    return int(row.archive_days) if row.archive_days else 1


def now_next(
    conn: sa.Connection, provider_id: int, channel_ids: Sequence[int], now: datetime
) -> list[dict[str, Any]]:
    """``[{channel_id, now, next}]``: the programme on at ``now`` and the one after (null
    when the guide has none)."""
    out = []
    for entry in programmes_of(conn, provider_id, channel_ids, now, now + NEXT_WINDOW):
        ps = entry["programmes"]
        on = bool(ps) and _aware(datetime.fromisoformat(ps[0]["start"])) <= now
        current = ps[0] if on else None
        later = ps[1:] if on else ps
        out.append(
            {"channel_id": entry["channel_id"], "now": current, "next": later[0] if later else None}
        )
    return out


# --- the REST guide (``api/epg.py``) -----------------------------------------------------------


def channels_page(
    conn: sa.Connection, provider_id: int, category_id: int | None, offset: int, limit: int
) -> tuple[int, list[Any]]:
    """(how many, one page of) live channels ``(id, epg_id)``, by number (numberless last)."""
    live = sa.and_(channels.c.provider_id == provider_id, channels.c.deleted_at.is_(None))
    if category_id is not None:
        live = sa.and_(live, channels.c.category_id == category_id)
    total = int(conn.execute(sa.select(sa.func.count()).where(live)).scalar_one())
    rows = conn.execute(
        sa.select(channels.c.id, channels.c.epg_id)
        .where(live)
        .order_by(channels.c.number.is_(None), channels.c.number, channels.c.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return total, list(rows)


def upcoming(
    conn: sa.Connection, provider_id: int, keys: set[str], now: datetime, per_channel: int
) -> dict[str, list[Any]]:
    """Per channel key, its first ``per_channel`` programmes not ended at ``now`` (within a day)."""
    found: dict[str, list[Any]] = {}
    if not keys:
        return found
    for p in conn.execute(
        sa.select(programmes)
        .where(
            programmes.c.provider_id == provider_id,
            programmes.c.channel_key.in_(keys),
            programmes.c.stop > now,
            programmes.c.start < now + timedelta(days=1),
        )
        .order_by(programmes.c.channel_key, programmes.c.start)
    ):
        bucket = found.setdefault(p.channel_key, [])
        if len(bucket) < per_channel:
            bucket.append(p)
    return found


def channel_guide_key(conn: sa.Connection, provider_id: int, channel_id: int) -> Any:
    """The live channel's row with its ``epg_id``, or None."""
    return conn.execute(
        sa.select(channels.c.epg_id).where(
            channels.c.id == channel_id,
            channels.c.provider_id == provider_id,
            channels.c.deleted_at.is_(None),
        )
    ).first()


def programmes_between(
    conn: sa.Connection, provider_id: int, channel_key: str, start: datetime, end: datetime
) -> list[Any]:
    """A channel's programmes overlapping [start, end), by start."""
    return list(
        conn.execute(
            sa.select(programmes)
            .where(
                programmes.c.provider_id == provider_id,
                programmes.c.channel_key == channel_key,
                programmes.c.stop > start,
                programmes.c.start < end,
            )
            .order_by(programmes.c.start)
        )
    )

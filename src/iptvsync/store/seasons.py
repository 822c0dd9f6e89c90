"""Storing a series' seasons and episodes as the provider lists them (fetched on the first
request of the series, then cached; ``api/catalogue.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from iptvsync.records import SeasonRecord
from iptvsync.store.models import episodes, series


def store_seasons(
    conn: sa.Connection,
    *,
    provider_id: int,
    series_id: int,
    seasons: Sequence[SeasonRecord],
    now: datetime,
) -> None:
    """Replace a series' episodes with what the provider said, keeping the ids of episodes it
    still lists (play URLs in playlists point at them)."""
    existing = {
        r.provider_item_id: r.id
        for r in conn.execute(
            sa.select(episodes.c.id, episodes.c.provider_item_id).where(
                episodes.c.series_id == series_id
            )
        )
    }
    seen: set[str] = set()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for season in seasons:
        for ep in season.episodes:
            if ep.provider_item_id in seen:
                continue
            seen.add(ep.provider_item_id)
            values = {
                "season": season.number,
                "number": ep.number,
                "name": ep.name or f"Episode {ep.number}",
                "season_name": season.name or None,
                "cmd": ep.cmd,
                "extension": ep.extension,
            }
            if ep.provider_item_id in existing:
                updates.append({"_id": existing[ep.provider_item_id], **values})
            else:
                inserts.append(
                    {
                        "series_id": series_id,
                        "provider_id": provider_id,
                        "provider_item_id": ep.provider_item_id,
                        **values,
                    }
                )
    gone = [i for key, i in existing.items() if key not in seen]
    if gone:
        conn.execute(episodes.delete().where(episodes.c.id.in_(gone)))
    if updates:
        stmt = (
            episodes.update()
            .where(episodes.c.id == sa.bindparam("_id"))
            .values({k: sa.bindparam(k) for k in updates[0] if k != "_id"})
        )
        conn.execute(stmt, updates)
    if inserts:
        conn.execute(episodes.insert(), inserts)
    conn.execute(series.update().where(series.c.id == series_id).values(episodes_fetched_at=now))

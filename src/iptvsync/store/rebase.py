"""When a provider moves (its URL gets a new scheme, host or port), its stored image URLs move
with it.

Portals build logo and poster URLs from their own origin, and an incremental sync refreshes
only the newest items, so without this almost every stored picture would keep pointing at the
old, dead host. The rule (docs/providers.md, "When a provider's URL changes"): every stored
``channels.logo`` / ``movies.poster`` / ``series.poster`` that starts with the old URL's origin
followed by ``/`` gets the new origin instead. Images on any other host (a CDN) are left alone.

Rows that change get a new snapshot version (``changed_version``), so apps holding a snapshot
receive them in the next delta; the caller builds the snapshot of that version.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa

from iptvsync.store.models import channels, movies, providers, series

#: (table, image column) pairs that hold URLs built from the provider's origin.
IMAGE_COLUMNS: tuple[tuple[sa.Table, str], ...] = (
    (channels, "logo"),
    (movies, "poster"),
    (series, "poster"),
)


def origin(url: str | None) -> str | None:
    """``http://host:8080/c/`` → ``http://host:8080``; None when the URL has no host."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    netloc = parts.netloc.rsplit("@", 1)[-1]  # userinfo is not part of where images live
    return f"{parts.scheme.lower()}://{netloc.lower()}"


def rebase_images(conn: sa.Connection, provider_id: int, old_url: str, new_url: str) -> int:
    """Point the provider's stored image URLs at ``new_url``'s origin; the rows changed.

    When something changed and the provider has a snapshot, its ``snapshot_version`` moves on
    by one and the changed rows carry that version; build the snapshot afterwards.
    """
    old, new = origin(old_url), origin(new_url)
    if old is None or new is None or old == new:
        return 0
    version = conn.execute(
        sa.select(providers.c.snapshot_version).where(providers.c.id == provider_id)
    ).scalar_one()
    next_version = int(version) + 1 if version else 0
    prefix = old + "/"
    changed = 0
    for table, name in IMAGE_COLUMNS:
        column = table.c[name]
        values: dict[str, object] = {
            name: sa.literal(new) + sa.func.substr(column, len(old) + 1),
        }
        if next_version:
            values["changed_version"] = next_version
        # LIKE with an escape would do, but a URL may hold % or _; compare the prefix exactly.
        result = conn.execute(
            table.update()
            .where(
                table.c.provider_id == provider_id,
                sa.func.lower(sa.func.substr(column, 1, len(prefix))) == prefix,
            )
            .values(values)
        )
        changed += int(result.rowcount or 0)
    if changed and next_version:
        conn.execute(
            providers.update()
            .where(providers.c.id == provider_id)
            .values(snapshot_version=next_version)
        )
    return changed

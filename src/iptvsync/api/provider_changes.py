"""Changing a provider: the part the API's PATCH and ``iptvsync provider edit`` share.

A new URL moves the stored image URLs with it (``store.rebase``, docs/providers.md); when rows
changed, the snapshot of the new version is built at once, so apps and the web page see the
new URLs without waiting for a sync.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from iptvsync.errors import SyncRunning, ValidationFailed
from iptvsync.providers.options import parse_options
from iptvsync.settings import Settings
from iptvsync.store import providers as store
from iptvsync.store import runs
from iptvsync.sync.schedule import check_tick
from iptvsync.sync.service import STALE_AFTER_S


def check_schedule(options: dict[str, Any] | None, settings: Settings) -> None:
    """A schedule faster than the scheduler's tick is refused (422), not run once a tick."""
    try:
        check_tick(options, settings.schedule_tick_s)
    except ValueError as exc:
        text = str(exc)
        raise ValidationFailed(
            text[:1].upper() + text[1:] + ".", detail={"field": "options.schedule"}
        ) from None


def edit_provider(
    db: sa.Engine, settings: Settings, provider_id: int, changes: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    """Apply ``changes``; the provider's public shape and how many image URLs moved."""
    for key in ("name", "url"):
        if key in changes and not changes[key]:
            raise ValidationFailed(f"A provider's {key} cannot be removed.", detail={"field": key})
    if "options" in changes:
        check_schedule(changes["options"], settings)
    with db.begin() as conn:
        row = store.get_provider(conn, provider_id)
        if changes.get("options") is not None:
            parse_options(row.kind, changes["options"])  # 422 naming a bad option
        if changes.get("url") and changes["url"] != row.url:
            # A run left "running" by a process that died (the demo killed mid-sync) is closed
            # first, as a new sync would close it; only a live run blocks the change.
            runs.close_stale_runs(conn, stale_after_s=STALE_AFTER_S)
            running = runs.active_run_id(conn, provider_id)
            if running is not None:
                raise SyncRunning(
                    running, "cancel the running sync before changing this provider's URL"
                )
        rebased = store.update_provider(conn, provider_id, changes)
        public = store.public_provider(store.get_provider(conn, provider_id))
    if rebased and public["snapshot_version"]:
        from iptvsync.snapshot.build import build_snapshot

        build_snapshot(db, settings, provider_id)
    return public, rebased

"""A provider whose stored secrets this server cannot decrypt (its secret key changed): the run
is closed ``failed`` with ``secrets_unreadable``, not left ``running`` holding the provider's
one-sync-at-a-time lock (every later sync a 409)."""

from __future__ import annotations

import sqlalchemy as sa

from iptvsync.providers.http import build_http_client
from iptvsync.providers.registry import make_client
from iptvsync.settings import Settings
from iptvsync.store import providers as provider_store
from iptvsync.store.models import providers
from iptvsync.store.secrets import PREFIX
from iptvsync.sync.engine import SyncContext, execute_run
from iptvsync.sync.service import prepare_run


async def test_unreadable_secret_closes_the_run(db: sa.Engine, settings: Settings) -> None:
    with db.begin() as conn:
        pid = provider_store.create_provider(
            conn,
            {
                "name": "p",
                "kind": "stalker",
                "url": "http://127.0.0.1:9/c/",
                "mac": "00:1A:79:00:00:01",
            },
        )
        # As sealed by another key: no codec of this process opens it.
        conn.execute(
            providers.update()
            .where(providers.c.id == pid)
            .values(mac=PREFIX + "gAAAAAB" + "x" * 80)
        )
    http = build_http_client()
    try:
        ctx = SyncContext(db=db, settings=settings, http=http, make_client=make_client)
        for _ in range(2):  # the second sync is not refused as "one is running"
            run_id, _ = prepare_run(db, settings, pid)
            run = await execute_run(ctx, run_id)
            assert run["status"] == "failed"
            assert run["error"]["code"] == "secrets_unreadable"
            assert "secret key" in run["error"]["message"]
    finally:
        await http.aclose()

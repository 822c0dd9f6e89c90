"""Opening the database the way every process must: the provider-secrets key bound, the schema
migrated, plain secrets encrypted (docs/security.md, "At rest"). The server, the workers and the
CLI all open it here, so none of them can read or write provider secrets without the key."""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa

from iptvsync.secret_key import ensure_private_dir
from iptvsync.settings import Settings
from iptvsync.store import secrets
from iptvsync.store.catalogue import build_deferred_indexes
from iptvsync.store.db import create_db_engine
from iptvsync.store.migrate import upgrade

log = logging.getLogger("iptvsync.api")


def open_database(settings: Settings) -> sa.Engine:
    """The engine, with the provider-secrets key bound, migrated, every secret encrypted."""
    url = settings.resolved_database_url()
    if url.startswith("sqlite"):
        ensure_private_dir(Path(settings.data_dir))
    elif settings.secret_key is None:
        log.warning(
            "IPTVSYNC_SECRET_KEY is unset: this process uses the key in its data dir; every "
            "replica and worker on this database must share one key (docs/security.md)"
        )
    db = create_db_engine(url)
    codec = secrets.codec_for(settings)
    secrets.bind(db, codec)
    if url.startswith("sqlite"):
        # A first load that died left its read indexes unbuilt: build them before a
        # migration expects them (store/first_load.py).
        with db.begin() as conn:
            build_deferred_indexes(conn)
    upgrade(db)
    with db.begin() as conn:
        secrets.seal_plain_rows(conn, codec)  # written by a tool without the key: encrypt now
    return db

"""encrypt provider secrets at rest

Revision ID: 0005
Revises: 0003

The MAC, user name and password of each provider (and the secret keys of its options, see
``store.secrets.SECRET_OPTION_KEYS``) were stored in clear. They become ``enc1:<Fernet token>``
under a key derived from the server's secret key (docs/security.md). The columns become TEXT:
a token is longer than the old VARCHAR limits (PostgreSQL enforced ``mac VARCHAR(32)``).

The key comes with the engine (``store.secrets.bind``, done by ``store.open.open_database``);
a database with plain secrets and no key to encrypt them stops here with a clear error.
Downgrade decrypts them again.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from iptvsync.store import secrets

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = {"mac": sa.String(32), "username": sa.String(200), "password": sa.String(500)}


def _alter(to_text: bool) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return  # SQLite does not enforce VARCHAR lengths
    for column, short in COLUMNS.items():
        old, new = (short, sa.Text()) if to_text else (sa.Text(), short)
        op.alter_column("providers", column, type_=new, existing_type=old)


def upgrade() -> None:
    _alter(to_text=True)
    conn = op.get_bind()
    codec = secrets.codec_of(conn)
    if codec is None:
        if conn.execute(sa.select(sa.func.count()).select_from(secrets.providers)).scalar():
            raise RuntimeError(
                "provider secrets need the server's secret key to be encrypted: run "
                "`iptvsync migrate` (or start the server) instead of alembic directly"
            )
        return
    secrets.seal_plain_rows(conn, codec)


def downgrade() -> None:
    conn = op.get_bind()
    rows = secrets.secret_rows(conn)  # this revision's columns only
    for row in rows:
        m = row._mapping
        values: dict[str, Any] = {c: secrets.reveal(m[c]) for c in secrets.SECRET_COLUMNS}
        values["options"] = secrets.reveal_options(m["options"])
        conn.execute(
            secrets.providers.update().where(secrets.providers.c.id == m["id"]).values(**values)
        )
    _alter(to_text=False)

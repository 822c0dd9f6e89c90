"""providers.endpoint: the Stalker API endpoint a sync found, so later syncs skip discovery

Revision ID: 0011
Revises: 0010

Discovery asks each candidate path with a token-less ``get_genres`` until one answers like a
portal (``providers/stalker/discovery.py``): two requests on a stock portal, before every
handshake, and requests no set-top box ever sends. The endpoint found (with whether its
session needed no token, and the family hint) is kept here; the next session starts with the
handshake, and finds it again only when it no longer answers like a portal (docs/stalker.md
§1). A learned fact, not a setting: NULL until a session finds one, and again when the
provider's URL moves.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain DDL, not batch mode: a nullable column needs no copy of the table on SQLite.
    op.add_column("providers", sa.Column("endpoint", sa.JSON(), nullable=True))


def downgrade() -> None:
    # SQLite drops a column in place since 3.35 (a batch copy would rebuild a table that
    # every catalogue table references).
    op.drop_column("providers", "endpoint")

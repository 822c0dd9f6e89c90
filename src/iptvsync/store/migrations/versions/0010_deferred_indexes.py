"""deferred_indexes: the read indexes a first load dropped, until they are built again

Revision ID: 0010
Revises: 0009

A sync that finds an item table empty drops its read indexes and builds them after its writes
(``store/first_load.py``; docs/sync.md, "A first sync's indexes"). Each dropped index's
statement is kept here, in the transaction that drops it, so a sync that dies leaves what to
build. Created on every backend, used on SQLite only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deferred_indexes",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("table_name", sa.String(length=200), nullable=False),
        sa.Column("sql", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_deferred_indexes"),
    )


def downgrade() -> None:
    op.drop_table("deferred_indexes")

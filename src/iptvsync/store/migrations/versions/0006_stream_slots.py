"""stream slots: connection slots held by running streams, shared by every replica

Revision ID: 0006
Revises: 0003

One row per slot in use. ``scope`` names the limit (``provider:<id>:<account key>`` or
``user:<id>``); ``slot_no`` < the limit; the unique (scope, slot_no) pair is what stops two
replicas from taking the same slot, on SQLite and PostgreSQL alike. A replica renews its rows'
``lease_until`` while it streams; a row past its lease is free for anyone to take over, so a
replica that dies frees its slots within one lease. ``users.max_streams``: a user's own limit
(NULL: the server default).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_slots",
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("slot_no", sa.Integer, nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("stream_id", sa.String(64), nullable=False),
        sa.Column("replica", sa.String(64), nullable=False),
        sa.Column("info", sa.JSON, nullable=False),
        sa.Column("since", sa.Float, nullable=False),
        sa.Column("lease_until", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("scope", "slot_no", name="pk_stream_slots"),
    )
    op.create_index("ix_stream_slots_holder", "stream_slots", ["holder"])
    op.create_index("ix_stream_slots_stream", "stream_slots", ["stream_id"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("max_streams", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("max_streams")
    op.drop_index("ix_stream_slots_stream", table_name="stream_slots")
    op.drop_index("ix_stream_slots_holder", table_name="stream_slots")
    op.drop_table("stream_slots")

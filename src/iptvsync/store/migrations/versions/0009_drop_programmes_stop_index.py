"""drop ix_programmes_stop: it slowed both the guide's writes and its reads

Revision ID: 0009
Revises: 0008

A guide sync inserts hundreds of thousands of programmes in channel order, so the
``(provider_id, stop)`` index took each row at a random place: ~2.3 µs of SQLite's ~5.6 µs a
programme (255k programmes for 5,000 channels × 3 days, docs/benchmarks.md). And no read was
better for it: the planner chose it for "the programmes of these channels not ended at now"
(``store/guide.upcoming``), walking every programme of the provider still to come (0.46 s at
5,000 channels) where ``ix_programmes_channel`` finds each asked channel's few (8.5 ms). The
one statement that filters on ``stop`` alone is the guide swap's delete, once per guide sync,
a scan of ~60 ms.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain DDL, not batch mode: on SQLite a batch would copy the whole table.
    op.drop_index("ix_programmes_stop", table_name="programmes")


def downgrade() -> None:
    op.create_index("ix_programmes_stop", "programmes", ["provider_id", "stop"], unique=False)

"""favourites and resume positions, per viewer (an output user, or the admin)

Revision ID: 0008
Revises: 0003

``user_id`` NULL is the admin (or everyone, when no admin token is set). A unique index on
``coalesce(user_id, 0)`` keeps one row per viewer and item on both backends (NULLs are never
equal in a plain unique constraint). Rows go with their user or provider (ON DELETE CASCADE);
rows of items removed from the catalogue stay, and are left out of the answers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _owner_columns(table: str) -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE", name=f"fk_{table}_user_id_users"),
            nullable=True,
        ),
        sa.Column(
            "provider_id",
            sa.Integer(),
            sa.ForeignKey(
                "providers.id", ondelete="CASCADE", name=f"fk_{table}_provider_id_providers"
            ),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "favourites",
        *_owner_columns("favourites"),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_favourites"),
    )
    op.create_table(
        "resume_positions",
        *_owner_columns("resume_positions"),
        sa.Column("position_s", sa.Float(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_resume_positions"),
    )
    for table in ("favourites", "resume_positions"):
        op.create_index(
            f"uq_{table}_key",
            table,
            [sa.text("coalesce(user_id, 0)"), "provider_id", "kind", "item_id"],
            unique=True,
        )


def downgrade() -> None:
    for table in ("resume_positions", "favourites"):
        op.drop_index(f"uq_{table}_key", table_name=table)
        op.drop_table(table)

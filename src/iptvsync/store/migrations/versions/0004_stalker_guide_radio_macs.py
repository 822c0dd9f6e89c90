"""stalker: a provider's MAC pool with each MAC's state

Revision ID: 0004
Revises: 0003

``provider_macs``: the MACs of a Stalker provider beyond ``providers.mac`` (which stays the
first of the pool), each with its own box identity (``sn``, ``device_id``, ``device_id2``) and
the state the portal last gave it (``active``, ``expired``, ``disabled``, ``refused``), the
reason and the expiry. The portal's guide and radio need no schema change: the guide goes to
``programmes`` like an XMLTV guide, radio stations are ``channels`` with ``radio`` set.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_macs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("mac", sa.Text(), nullable=False),  # encrypted at rest (store.secrets)
        sa.Column("identity", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name="fk_provider_macs_provider_id_providers",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_provider_macs"),
    )


def downgrade() -> None:
    op.drop_table("provider_macs")

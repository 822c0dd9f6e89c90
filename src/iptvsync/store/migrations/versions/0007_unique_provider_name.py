"""unique provider names

Revision ID: 0007
Revises: 0003

``iptvsync sync NAME`` and the other commands that take a name must find one provider, so a
name is unique (``uq_providers_name``); adding a provider under a taken name is refused with
409 ``provider_name_taken``. Databases that already hold duplicates keep the oldest provider's
name (the one ``sync NAME`` used to pick) and rename each later one to ``<name> (<id>)``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, name FROM providers ORDER BY id")).all()
    taken = {name for _, name in rows}
    seen: set[str] = set()
    for provider_id, name in rows:
        if name not in seen:
            seen.add(name)
            continue
        new = f"{name} ({provider_id})"
        n = 2
        while new in taken:
            new = f"{name} ({provider_id}-{n})"
            n += 1
        taken.add(new)
        seen.add(new)
        conn.execute(
            sa.text("UPDATE providers SET name = :name WHERE id = :id"),
            {"name": new[:200], "id": provider_id},
        )
    op.create_index("uq_providers_name", "providers", ["name"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_providers_name", table_name="providers")

"""Start-up skips Alembic when the database is already at the newest revision."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from iptvsync.store.migrate import alembic_config, at_head, head_revision, upgrade


def test_head_is_alembics_head_and_the_fast_path_follows_the_database(db: sa.Engine) -> None:
    assert head_revision() == ScriptDirectory.from_config(alembic_config(db)).get_current_head()
    assert at_head(db)
    command.downgrade(alembic_config(db), "0003")
    assert not at_head(db)
    upgrade(db)
    assert at_head(db)
    with db.connect() as conn:
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    assert version == head_revision()


def test_a_new_database_is_not_at_head(tmp_path: object) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/new.db")
    assert not at_head(engine)
    upgrade(engine)
    assert at_head(engine)
    engine.dispose()

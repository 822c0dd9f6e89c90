"""Schema migrations (Alembic), run by ``iptvsync migrate`` and at start-up."""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: sa.Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``; safe to call on every start.

    Alembic says what it does at INFO (nine lines on every start): quiet at WARNING unless the
    caller chose a level for the ``alembic`` logger (the CLI's ``-v`` sets INFO).
    """
    quiet = logging.getLogger("alembic")
    if quiet.level == logging.NOTSET:
        quiet.setLevel(logging.WARNING)
    command.upgrade(alembic_config(engine), revision)
    if engine.dialect.name == "postgresql":
        install_procrastinate_schema(engine)


#: Serialises concurrent installs (several replicas starting at once).
_PROCRASTINATE_LOCK = 0x69707476_50524F43


def install_procrastinate_schema(engine: sa.Engine) -> bool:
    """Install the job queue's tables on PostgreSQL (scale mode), once; True if it did.

    The schema is Procrastinate's own (``SchemaManager``, what ``procrastinate schema --apply``
    runs), applied in one transaction under an advisory lock, and only when its tables are
    absent: Procrastinate's schema file is not idempotent. Upgrading Procrastinate itself later
    means applying its migration files (docs/deploy.md). Installed on every PostgreSQL database,
    so switching ``IPTVSYNC_RUNNER`` to ``procrastinate`` needs no extra step.
    """
    from procrastinate.schema import SchemaManager

    with engine.begin() as conn:
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PROCRASTINATE_LOCK})")
        if conn.exec_driver_sql("SELECT to_regclass('procrastinate_jobs')").scalar():
            return False
        # The driver's cursor, without parameters: the file is many statements and has '%'.
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(SchemaManager.get_schema())
        cursor.close()
    return True

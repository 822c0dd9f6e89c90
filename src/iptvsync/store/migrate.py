"""Schema migrations (Alembic), run by ``iptvsync migrate`` and at start-up."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_ASSIGN = re.compile(r"^(revision|down_revision)\s*=\s*(.+)$", re.MULTILINE)
_QUOTED = re.compile(r"[\"']([^\"']+)[\"']")


def alembic_config(engine: sa.Engine) -> Config:
    from alembic.config import Config

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
    if revision != "head" or not at_head(engine):
        # Alembic (with Mako and more) costs ~0.15 s to import: only when there is work.
        from alembic import command

        command.upgrade(alembic_config(engine), revision)
    if engine.dialect.name == "postgresql":
        install_procrastinate_schema(engine)


def head_revision() -> str | None:
    """The newest revision of ``migrations/versions``, read from the files' ``revision =`` and
    ``down_revision =`` lines; None when that is not one revision (Alembic decides then)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for name, value in _ASSIGN.findall(path.read_text(encoding="utf-8")):
            found = _QUOTED.findall(value)
            (revisions if name == "revision" else parents).update(found)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def at_head(engine: sa.Engine) -> bool:
    """True when the database's ``alembic_version`` is the newest revision (nothing to do)."""
    head = head_revision()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            stored = [r[0] for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")]
    except sa.exc.DBAPIError:
        return False  # no table yet: a new database
    return stored == [head]


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

"""What every CLI command shares: consoles, the one-line error, settings, the database.

Kept light on purpose: ``iptvsync --help`` imports only this, ``cli.py``, ``cli_provider.py``,
``cli_demo.py``, Typer and Rich. Everything heavier (settings, SQLAlchemy, the engine, httpx,
FastAPI) is imported inside the functions that use it (figures: docs/benchmarks.md, "CLI
start-up").
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console

from iptvsync.numbers import ascii_int

if TYPE_CHECKING:
    from iptvsync.errors import IptvsyncError
    from iptvsync.settings import Settings

console = Console()
err = Console(stderr=True)


def fail(exc: IptvsyncError) -> NoReturn:
    err.print(f"[bold red]error[/]: {exc.code}: {exc.message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def fail_validation(message: str) -> NoReturn:
    err.print(f"[bold red]error[/]: validation_error: {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def load_settings() -> Settings:
    from iptvsync.settings import SettingsError
    from iptvsync.settings import load_settings as load

    try:
        return load()
    except SettingsError as exc:  # a variable that does not read as its type: no traceback
        err.print(f"[bold red]error[/]: {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def setup_logging(verbose: bool = False) -> None:
    """INFO (DEBUG with ``-v``) to stderr; migrations and HTTP clients only say what is wrong
    unless ``-v``."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.INFO if verbose else logging.WARNING)


def open_db(settings: Settings) -> Any:
    """The database engine, migrated, with the provider-secrets key bound (as the server).

    From ``store/open.py`` itself, not through ``runtime``: a command that only reads the
    database (``provider list``, or ``sync`` naming a provider that does not exist) then does
    not import the HTTP stack first (0.13 s on a fresh data dir, docs/benchmarks.md)."""
    from iptvsync.store.open import open_database

    return open_database(settings)


def resolve_provider(db: Any, ref: str) -> int:
    """A provider id from an id or a name (names are unique)."""
    from iptvsync.errors import NotFound
    from iptvsync.store import providers as store

    with db.connect() as conn:
        rows = store.list_providers(conn)
    for row in rows:
        if row.name == ref:
            return int(row.id)
    number = ascii_int(ref)
    for row in rows:
        if row.id == number:
            return int(row.id)
    raise NotFound(f"no provider with id or name {ref!r} (see `iptvsync provider list`)")

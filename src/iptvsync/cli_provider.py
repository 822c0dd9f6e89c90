"""``iptvsync provider add | list | edit | remove``: the CLI's side of ``/api/providers``."""

from __future__ import annotations

from typing import Any

import typer

from iptvsync.cli_common import (
    console,
    fail,
    fail_validation,
    load_settings,
    open_db,
    resolve_provider,
)
from iptvsync.errors import IptvsyncError

provider_app = typer.Typer(
    help="Register, list, change and remove providers.", no_args_is_help=True
)


def _validated(model: Any, **fields: Any) -> Any:
    """``model(**fields)``, or a one-line validation error in sentences."""
    from pydantic import ValidationError

    from iptvsync.api.messages import sentences

    try:
        return model(**fields)
    except ValidationError as exc:
        fail_validation(sentences(exc.errors()))


@provider_app.command("add")
def provider_add(
    kind: str = typer.Argument(..., help="stalker | xtream | m3u"),
    url: str = typer.Option(..., "--url", help="Portal / panel / playlist URL."),
    name: str = typer.Option(None, "--name", help="Unique; commands accept it in place of the id."),
    mac: list[str] = typer.Option(
        None,
        "--mac",
        help="Stalker: the MAC address; repeat it for a MAC pool (the first is the provider's).",
    ),
    username: str = typer.Option(None, "--username"),
    password: str = typer.Option(None, "--password"),
    epg_url: str = typer.Option(None, "--epg-url"),
) -> None:
    """Register a provider (syntax is checked, reachability is not: try `iptvsync probe`)."""
    from iptvsync.api.schemas import ProviderIn
    from iptvsync.store import macs as pool_store
    from iptvsync.store import providers as store

    body = _validated(
        ProviderIn,
        name=name or f"{kind} provider",
        kind=kind,
        url=url,
        mac=mac[0] if mac else None,
        macs=[{"mac": m} for m in mac[1:]] if mac and len(mac) > 1 else None,
        username=username,
        password=password,
        epg_url=epg_url,
    )
    db = open_db(load_settings())
    try:
        with db.begin() as conn:
            provider_id = store.create_provider(conn, body.model_dump(exclude={"macs"}))
            if body.macs:
                pool = [m.model_dump(by_alias=True) for m in body.macs]
                pool_store.set_pool(conn, provider_id, pool)
            row = store.public_provider(store.get_provider(conn, provider_id))
    except IptvsyncError as exc:
        fail(exc)
    console.print(
        f"added provider [bold]{provider_id}[/]: {row['name']} ({row['kind']})", highlight=False
    )


@provider_app.command("list")
def provider_list() -> None:
    """List providers with what is stored for each."""
    from rich.table import Table

    from iptvsync.store import catalogue
    from iptvsync.store import providers as store

    db = open_db(load_settings())
    table = Table()
    for column in ("id", "name", "kind", "url", "mac", "channels", "movies", "series"):
        # Fold long values rather than cut them with an ellipsis: a MAC or URL is read whole.
        table.add_column(column, overflow="fold", min_width=17 if column == "mac" else None)
    with db.connect() as conn:
        for row in store.list_providers(conn):
            p = store.public_provider(row)
            c = catalogue.live_counts(conn, row.id)
            table.add_row(
                str(p["id"]),
                p["name"],
                p["kind"],
                p["url"] or "",
                p["mac"] or "",
                f"{c['channels']:,}",
                f"{c['movies']:,}",
                f"{c['series']:,}",
            )
    console.print(table)


@provider_app.command("edit")
def provider_edit(
    provider: str = typer.Argument(..., help="Provider id or name."),
    name: str = typer.Option(None, "--name", help="A new name (unique)."),
    url: str = typer.Option(None, "--url", help="A new URL; stored image URLs follow it."),
    mac: str = typer.Option(None, "--mac"),
    username: str = typer.Option(None, "--username"),
    password: str = typer.Option(None, "--password"),
    epg_url: str = typer.Option(None, "--epg-url", help="A new guide URL ('' removes it)."),
) -> None:
    """Change a provider's name, URL or credentials (what the API's PATCH changes)."""
    from iptvsync.api.provider_changes import edit_provider
    from iptvsync.api.schemas import ProviderPatch

    given = {
        "name": name,
        "url": url,
        "mac": mac,
        "username": username,
        "password": password,
        "epg_url": epg_url,
    }
    fields = {k: v for k, v in given.items() if v is not None}
    if not fields:
        fail_validation(
            "Nothing to change: give --name, --url, --mac, --username, --password or --epg-url."
        )
    changes = _validated(ProviderPatch, **fields).model_dump(exclude_unset=True)
    if "epg_url" in changes and not changes["epg_url"]:
        changes["epg_url"] = None
    settings = load_settings()
    db = open_db(settings)
    try:
        provider_id = resolve_provider(db, provider)
        row, rebased = edit_provider(db, settings, provider_id, changes)
    except IptvsyncError as exc:
        fail(exc)
    what = ", ".join(sorted(changes))
    console.print(
        f"changed provider [bold]{provider_id}[/] ({row['name']}): {what}", highlight=False
    )
    if rebased:
        console.print(f"{rebased:,} stored image URLs now point at the new URL")


@provider_app.command("remove")
def provider_remove(
    provider: str = typer.Argument(..., help="Provider id or name."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Remove a provider and everything stored for it (catalogue, guide, runs, snapshots)."""
    from iptvsync.errors import SyncRunning
    from iptvsync.store import catalogue, runs
    from iptvsync.store import providers as store

    db = open_db(load_settings())
    try:
        provider_id = resolve_provider(db, provider)
        with db.connect() as conn:
            row = store.get_provider(conn, provider_id)
            counts = catalogue.live_counts(conn, provider_id)
        if not yes:
            typer.confirm(
                f"Remove provider {provider_id} ({row.name}) with {counts['channels']:,} "
                f"channels, {counts['movies']:,} movies and {counts['series']:,} series?",
                abort=True,
            )
        with db.begin() as conn:
            running = runs.active_run_id(conn, provider_id)
            if running is not None:
                raise SyncRunning(running, "cancel the running sync before removing this provider")
            store.delete_provider(conn, provider_id)
    except IptvsyncError as exc:
        fail(exc)
    console.print(f"removed provider [bold]{provider_id}[/] ({row.name})", highlight=False)

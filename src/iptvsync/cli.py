"""The command line: ``iptvsync serve | demo | provider | sync | probe | snapshot | fake-portal``.

Commands build the same resources as the app (settings, database, http client) and call the
same services; the CLI adds Rich progress bars and one-line errors. Imports of anything heavy
stay inside the commands, so ``iptvsync --help`` and every command start fast (cli_common.py).
"""

from __future__ import annotations

import gc
import ipaddress
import logging
import signal
import sys
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from iptvsync import cli_demo
from iptvsync.cli_common import console, err, fail, load_settings, open_db, resolve_provider
from iptvsync.cli_common import setup_logging as _setup_logging
from iptvsync.cli_provider import provider_app
from iptvsync.errors import IptvsyncError

if TYPE_CHECKING:
    from iptvsync.settings import Settings

app = typer.Typer(
    help="Keep a local copy of an IPTV provider's catalogue and serve it to apps and players.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
snapshot_app = typer.Typer(help="Snapshot files for nginx or a CDN.", no_args_is_help=True)
user_app = typer.Typer(help="Users for the player outputs (M3U, XMLTV, Xtream API).")
app.add_typer(provider_app, name="provider")
app.add_typer(snapshot_app, name="snapshot")
app.add_typer(user_app, name="user")

__all__ = ["app", "console", "err", "fail", "load_settings", "main"]


def _open_db(settings: Settings) -> Any:
    return open_db(settings)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- serve -----------------------------------------------------------------------------------


@app.command()
def serve(
    host: str = typer.Option(None, help="Address to listen on (default: settings, 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default 8000)."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Serve the API, the web page and the player outputs. Syncs (and schedules) run in this
    process by default; with IPTVSYNC_RUNNER=procrastinate (scale mode, PostgreSQL) this
    process only queues them and `iptvsync worker` processes run them (docs/deploy.md)."""
    settings = load_settings()
    if settings.runner == "procrastinate":
        _require_postgresql(settings, "`iptvsync serve` with IPTVSYNC_RUNNER=procrastinate")
    host = host or settings.host
    port = port or settings.port
    from iptvsync.secret_key import security_problems

    for problem in security_problems(settings):
        err.print(f"[bold red]error[/]: {problem}", highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    if settings.admin_token is None and not _is_loopback(host):
        err.print(
            "[bold red]error[/]: refusing to listen on a non-loopback address without "
            "IPTVSYNC_ADMIN_TOKEN: anyone on the network could control this server."
        )
        raise typer.Exit(2)
    _setup_logging(verbose)
    _serve(settings, host, port)


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from iptvsync.app import create_app, freeze_startup_heap

    runner = None
    if settings.runner == "procrastinate":
        from iptvsync.sync.procrastinate_runner import ProcrastinateRunner

        runner = ProcrastinateRunner(settings)
    served = create_app(settings, runner=runner)
    freeze_startup_heap()
    # uvicorn shuts down on SIGTERM (a service manager's stop, `kill`), then raises the signal
    # again for the handler it found. Python's default handler ends the process right there,
    # and its callers' cleanup never ran: `iptvsync demo` left its fake portal running. As
    # SystemExit, the signal unwinds them (the demo's portal stops, as on Ctrl-C).
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        uvicorn.run(
            served,
            host=host,
            port=port,
            log_level="info",
            access_log=False,
            timeout_graceful_shutdown=5,
        )
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


# --- sync ------------------------------------------------------------------------------------


@app.command()
def sync(
    provider: str = typer.Argument(..., help="Provider id or name."),
    channels: bool = typer.Option(False, "--channels", help="Channels only."),
    vod: bool = typer.Option(False, "--vod", help="Movies and series only."),
    full: bool = typer.Option(False, "--full", help="Walk everything (default: smart)."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Sync a provider now, with progress bars (smart by default: syncs what is missing)."""
    import asyncio

    from iptvsync.store.run_state import COMPLETED

    _setup_logging(verbose)
    logging.getLogger("iptvsync").setLevel(logging.WARNING if not verbose else logging.DEBUG)
    settings = load_settings()
    db = _open_db(settings)
    scope = "channels" if channels and not vod else "vod" if vod and not channels else "auto"
    if channels and vod:
        scope = "all"
    try:
        provider_id = _resolve_provider(db, provider)
        run = asyncio.run(run_sync_with_progress(db, settings, provider_id, scope, full))
    except IptvsyncError as exc:
        fail(exc)
        return
    if run["status"] not in COMPLETED:
        raise typer.Exit(1)


def _resolve_provider(db: Any, ref: str) -> int:
    return resolve_provider(db, ref)


async def run_sync_with_progress(
    db: Any, settings: Settings, provider_id: int, scope: str, full: bool
) -> dict[str, Any]:
    """Plan, run and show one sync in this process (the same engine the server runs)."""
    import asyncio

    from iptvsync.cli_progress import SyncProgress
    from iptvsync.providers.http import build_http_client
    from iptvsync.providers.registry import make_client
    from iptvsync.sync.engine import SyncContext, execute_run
    from iptvsync.sync.heap import bulk_work
    from iptvsync.sync.service import prepare_run

    run_id, plan = await asyncio.to_thread(
        prepare_run, db, settings, provider_id, scope=scope, mode="full" if full else "auto"
    )
    http = build_http_client(timeout_s=settings.request_timeout_s)

    async def on_changed(pid: int) -> None:
        from iptvsync.snapshot.build import build_snapshot_async  # at the end: not before

        await build_snapshot_async(db, settings, pid)

    view = SyncProgress(console)
    ctx = SyncContext(
        db=db,
        settings=settings,
        http=http,
        make_client=make_client,
        on_changed=on_changed,
        on_progress=view.update,
    )
    console.print(
        f"sync run [bold]{run_id}[/]: channels={plan.channels or '-'} vod={plan.vod or '-'}"
    )
    try:
        with view, bulk_work():  # the collector runs less during the sync (sync/heap.py)
            task = asyncio.create_task(execute_run(ctx, run_id))
            try:
                run = await asyncio.shield(task)
            except (KeyboardInterrupt, asyncio.CancelledError):
                ctx.cancel.set()
                run = await task
    finally:
        await http.aclose()
    view.summary(run)
    return run


# --- probe -----------------------------------------------------------------------------------


@app.command()
def probe(
    url: str = typer.Option(..., "--url", help="What you would paste into a player."),
    mac: str | None = typer.Option(None, "--mac", help="Stalker portals: the MAC address."),
    kind: str = typer.Option("stalker", "--kind", help="stalker | xtream | m3u"),
    username: str = typer.Option(None, "--username"),
    password: str = typer.Option(None, "--password"),
) -> None:
    """Connect to a provider and print what it is: family, page size, account, item counts."""
    import asyncio

    from iptvsync.api.schemas import check_url, normalise_mac
    from iptvsync.providers.base import ProviderConfig

    try:
        url = check_url(url)
        mac = normalise_mac(mac) if mac else None
    except ValueError as exc:
        err.print(f"[bold red]error[/]: validation_error: {exc}")
        raise typer.Exit(2) from None
    if kind == "stalker" and not mac:
        err.print("[bold red]error[/]: validation_error: a stalker portal needs --mac")
        raise typer.Exit(2)
    config = ProviderConfig(kind=kind, url=url, mac=mac, username=username, password=password)
    try:
        result = asyncio.run(_probe(config))
    except IptvsyncError as exc:
        fail(exc)
        return
    table = Table(show_header=False)
    table.add_row("family", result["family"])
    table.add_row("endpoint", result["endpoint"])
    table.add_row("page size", str(result["page_size"] or "-"))
    if result.get("version"):
        table.add_row("version", result["version"])
    account = result["account"]
    table.add_row("account", f"{account['status']} (expires {account['expires_at'] or 'never'})")
    # The portal's own totals, as it announces them: a sync stores what it can walk, which
    # can differ (duplicates, items listed in no category).
    for k, v in result["counts"].items():
        table.add_row(f"{k} (portal's total)", "-" if v is None else f"{v:,}")
    for module, total in result.get("modules", {}).items():
        shown = "answered" if total is None else f"{total:,} (portal's total)"
        table.add_row(f"module {module}", shown)
    for entry in result.get("macs", []):
        state = entry["state"] + (f": {entry['reason']}" if entry.get("reason") else "")
        expires = entry.get("expires_at") or "never"
        table.add_row(f"MAC {entry['mac']}", f"{state} (expires {expires})")
    console.print(table)


async def _probe(config: Any) -> dict[str, Any]:
    from iptvsync.api.providers import probe_dict
    from iptvsync.providers.http import build_http_client
    from iptvsync.providers.registry import make_client

    settings = load_settings()
    http = build_http_client(timeout_s=settings.request_timeout_s)
    try:
        client = make_client(config, http, settings)
        try:
            return probe_dict(await client.probe())
        finally:
            await client.aclose()
    finally:
        await http.aclose()


# --- snapshot --------------------------------------------------------------------------------


@snapshot_app.command("export")
def snapshot_export(
    provider: str = typer.Argument(None, help="Provider id or name (default: all)."),
) -> None:
    """Write the snapshot files (json, gz, br, zst) to the snapshot directory, atomically."""
    from iptvsync.snapshot.files import export_snapshots

    settings = load_settings()
    db = _open_db(settings)
    try:
        provider_id = _resolve_provider(db, provider) if provider else None
        paths = export_snapshots(db, settings, provider_id)
    except IptvsyncError as exc:
        fail(exc)
        return
    for path in paths:
        console.print(f"wrote {path} ({path.stat().st_size:,} bytes)")


# --- users (player outputs) ------------------------------------------------------------------


@user_app.command("add")
def user_add(
    name: str = typer.Argument(..., help="User name (letters, digits, . _ @ + -)."),
    password: str = typer.Option(
        ..., "--password", prompt=True, hide_input=True, confirmation_prompt=True
    ),
    provider: list[str] = typer.Option(
        [], "--provider", help="Provider id or name this user may see (repeatable)."
    ),
    all_providers: bool = typer.Option(False, "--all", help="Every provider, present and future."),
) -> None:
    """Add a user for the player outputs (M3U, XMLTV, Xtream API), with provider access."""
    from iptvsync.store.users import create_user

    settings = load_settings()
    db = _open_db(settings)
    if not provider and not all_providers:
        err.print("[bold red]error[/]: validation_error: give --provider ID (repeatable) or --all")
        raise typer.Exit(2)
    try:
        ids = [_resolve_provider(db, p) for p in provider]
        with db.begin() as conn:
            create_user(conn, name, password, provider_ids=ids, all_providers=all_providers)
    except IptvsyncError as exc:
        fail(exc)
        return
    access = "all providers" if all_providers else "providers " + ", ".join(map(str, ids))
    console.print(f"added user [bold]{name}[/] ({access})", highlight=False)
    if settings.admin_token is None:
        console.print(
            "note: IPTVSYNC_ADMIN_TOKEN is unset, so the outputs are open and accept any "
            "credentials; access per user applies once it is set."
        )


@user_app.command("list")
def user_list() -> None:
    """List output users and what they may see (never a password or token)."""
    from iptvsync.store.users import list_users

    db = _open_db(load_settings())
    table = Table("id", "name", "providers", "token", "created")
    with db.connect() as conn:
        for u in list_users(conn):
            access = "all" if u["all_providers"] else ", ".join(map(str, u["provider_ids"]))
            created = u["created_at"].strftime("%Y-%m-%d") if u["created_at"] else ""
            table.add_row(
                str(u["id"]),
                u["username"],
                access or "-",
                "yes" if u["has_token"] else "-",
                created,
            )
    console.print(table)


@user_app.command("token")
def user_token(name: str = typer.Argument(..., help="User name.")) -> None:
    """Print a new API token for a user (replaces the old one; only its hash is stored)."""
    from iptvsync.store.users import issue_token

    db = _open_db(load_settings())
    try:
        with db.begin() as conn:
            token = issue_token(conn, name)
    except IptvsyncError as exc:
        fail(exc)
        return
    # Plain print: the token is the output (scripts capture it); it is shown once, never again.
    print(token)


@user_app.command("remove")
def user_remove(name: str = typer.Argument(..., help="User name.")) -> None:
    """Remove a user; its players stop working at once (within a minute for cached logins)."""
    from iptvsync.store.users import delete_user

    db = _open_db(load_settings())
    try:
        with db.begin() as conn:
            delete_user(conn, name)
    except IptvsyncError as exc:
        fail(exc)
        return
    console.print(f"removed user [bold]{name}[/]", highlight=False)


@user_app.command("streams")
def user_streams(
    name: str = typer.Argument(..., help="User name."),
    limit: str = typer.Argument(..., help="Streams at once (1-100), or 'default'."),
) -> None:
    """Set how many streams a user may watch at once through the relay (and its HDHomeRun
    tuner count); 'default' uses IPTVSYNC_DEFAULT_MAX_STREAMS."""
    from iptvsync.errors import NotFound, ValidationFailed
    from iptvsync.numbers import ascii_int
    from iptvsync.store.streams import set_user_limit

    value = None if limit == "default" else ascii_int(limit) or -1
    if value is not None and not 1 <= value <= 100:
        fail(ValidationFailed("the limit is a number from 1 to 100, or 'default'"))
        return
    if not set_user_limit(_open_db(load_settings()), name, value):
        fail(NotFound(f"no user named {name!r}"))
        return
    console.print(f"user [bold]{name}[/]: {limit} stream(s) at once", highlight=False)


# --- migrate ---------------------------------------------------------------------------------


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (also done at every start)."""
    settings = load_settings()
    db = _open_db(settings)
    console.print(f"database at head ({settings.resolved_database_url().split('://')[0]})")
    if db.dialect.name == "postgresql":
        console.print("job queue schema (Procrastinate) installed")


@app.command("rotate-key")
def rotate_key() -> None:
    """Replace the secret key (docs/security.md): provider secrets are re-encrypted, and every
    play URL handed out before stops working. Restart running servers afterwards."""
    from iptvsync.store.secrets import rotate_key as rotate

    settings = load_settings()
    count = rotate(_open_db(settings), settings)
    console.print(
        f"secret key rotated: {count} provider(s) re-encrypted; old play URLs no longer work; "
        "restart running servers and workers",
        highlight=False,
    )


# --- worker (scale mode) ---------------------------------------------------------------------


@app.command()
def worker(
    concurrency: int = typer.Option(None, help="Syncs run at once (default: settings, 4)."),
    name: str = typer.Option(None, help="Worker name in logs (default: host:pid)."),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    """Run syncs from the PostgreSQL job queue (scale mode; start any number, anywhere)."""
    settings = load_settings()
    _require_postgresql(settings, "`iptvsync worker`")
    _setup_logging(verbose)
    from iptvsync.worker import run_worker

    run_worker(settings, concurrency=concurrency, name=name)


def _require_postgresql(settings: Settings, what: str) -> None:
    """Scale mode's processes share one PostgreSQL database; each reads its own environment, so
    one started without IPTVSYNC_DATABASE_URL would quietly use a SQLite file of its own."""
    if settings.resolved_database_url().startswith("postgresql"):
        return
    where = "set but not PostgreSQL" if settings.database_url else "not set"
    err.print(
        f"[bold red]error[/]: {what} needs the PostgreSQL database of scale mode, and "
        f"IPTVSYNC_DATABASE_URL is {where} in this process's environment. Set it where this "
        "process runs, e.g. IPTVSYNC_DATABASE_URL=postgresql+psycopg://user:password@db/iptvsync "
        "(docs/deploy.md).",
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(2)


app.command("fake-portal")(cli_demo.fake_portal)
app.command()(cli_demo.demo)


def main() -> None:
    """The ``iptvsync`` command (``python -m iptvsync`` too): the process ends when it returns."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        # The interpreter's teardown collects every object once more before the process ends:
        # 28-33 ms after a sync's heap, 12-18 ms with the heap frozen (the collector skips
        # frozen objects; the OS takes the memory back either way). Files, connections and
        # atexit handlers are closed as before (docs/benchmarks.md, session 27).
        gc.freeze()

"""``iptvsync demo`` and ``iptvsync fake-portal``: try iptvsync without a provider of your own.

The demo's fake portal listens on the same port on every run with the same data directory
(kept in ``<data dir>/demo-portal.port``), so what the first run stored keeps working: logo and
poster URLs point at the portal. Should that port be taken, the demo picks another and the
provider's URL change moves the stored image URLs along (docs/providers.md).
"""

from __future__ import annotations

import socket
from pathlib import Path

import typer

from iptvsync.cli_common import console, err, fail, load_settings, open_db, setup_logging
from iptvsync.errors import IptvsyncError

DEMO_MAC = "00:1A:79:12:34:56"
DEMO_NAME = "Demo portal (fake)"
PORT_FILE = "demo-portal.port"


def fake_portal(
    kind: str = typer.Option("stalker", "--kind", help="stalker | xtream | m3u"),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8765, "--port"),
    family: str = typer.Option("", "--family", help="stalker: stock | reseller"),
    seed: int = typer.Option(42, "--seed"),
    movies: int = typer.Option(64_106, "--movies"),
    series: int = typer.Option(19_076, "--series"),
    channels: int = typer.Option(5_000, "--channels"),
    latency_ms: float = typer.Option(0.0, "--latency-ms"),
    capacity: int = typer.Option(None, "--capacity", help="Requests in flight before slowing."),
) -> None:
    """Serve a fake provider with a generated catalogue (for trying iptvsync, tests, benches)."""
    from iptvsync.fakes.server import serve_fake

    serve_fake(
        kind,
        host,
        port,
        seed=seed,
        movies=movies,
        series=series,
        channels=channels,
        family=family,
        latency_ms=latency_ms,
        capacity=capacity,
    )


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def demo_portal_port(data_dir: Path, wanted: int | None = None) -> int:
    """The fake portal's port for this data dir: ``wanted``, else the one used last time, else
    a free one; a remembered port that is taken now is replaced by a free one. Remembered."""
    path = data_dir / PORT_FILE
    if wanted is None:
        try:
            remembered = int(path.read_text().strip())
        except (OSError, ValueError):
            remembered = 0
        if 0 < remembered < 65536 and port_is_free(remembered):
            wanted = remembered
        else:
            from iptvsync.fakes.server import free_port

            wanted = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{wanted}\n")
    return wanted


def demo(
    port: int = typer.Option(
        None,
        "--port",
        help="Where iptvsync serves the API and web page (default IPTVSYNC_PORT, 8000).",
    ),
    portal_port: int = typer.Option(
        None,
        "--portal-port",
        help="The fake portal's port (default: the one this data dir used last time).",
    ),
    movies: int = typer.Option(8_000, "--movies"),
    series: int = typer.Option(2_000, "--series"),
    channels: int = typer.Option(800, "--channels"),
    latency_ms: float = typer.Option(5.0, "--latency-ms", help="The fake portal's latency."),
    family: str = typer.Option("stock", "--family", help="stock | reseller"),
    full_size: bool = typer.Option(
        False, "--full-size", help="A real provider's size: 64,106 movies, 19,076 series."
    ),
    serve_after: bool = typer.Option(True, "--serve/--no-serve"),
) -> None:
    """Start a fake Stalker portal, register it, sync it with progress bars, then serve it."""
    import asyncio
    import logging

    from iptvsync.api.provider_changes import edit_provider
    from iptvsync.cli import _serve, run_sync_with_progress
    from iptvsync.fakes.server import ServerProcess
    from iptvsync.store import providers as store

    if full_size:
        movies, series, channels = 64_106, 19_076, 5_000
    settings = load_settings()
    port = port or settings.port
    logging.basicConfig(level=logging.WARNING)
    if portal_port is not None and not port_is_free(portal_port):
        err.print(f"[bold red]error[/]: port {portal_port} is taken; choose another --portal-port")
        raise typer.Exit(2)
    chosen = demo_portal_port(settings.data_dir, portal_port)
    console.print(
        f"[bold]iptvsync demo[/]: starting a fake {family} Stalker portal "
        f"({movies:,} movies, {series:,} series, {channels:,} channels, {latency_ms:g} ms latency)"
    )
    with ServerProcess(
        "stalker",
        port=chosen,
        movies=movies,
        series=series,
        channels=channels,
        family=family,
        latency_ms=latency_ms,
    ) as portal:
        url = f"{portal.url}/c/"
        db = open_db(settings)
        try:
            with db.begin() as conn:
                existing = next(
                    (r for r in store.list_providers(conn) if r.name == DEMO_NAME), None
                )
                if existing is None:
                    provider_id = store.create_provider(
                        conn, {"name": DEMO_NAME, "kind": "stalker", "url": url, "mac": DEMO_MAC}
                    )
            if existing is not None:
                provider_id = int(existing.id)
                if existing.url != url:
                    _, moved = edit_provider(db, settings, provider_id, {"url": url})
                    console.print(f"the portal moved: {moved:,} stored image URLs follow it")
        except IptvsyncError as exc:
            fail(exc)
        console.print(
            f"fake portal at {url} · provider {provider_id} · MAC 00:1A:79:XX:XX:56 · "
            f"data in {settings.data_dir.resolve()}",
            highlight=False,
        )
        try:
            asyncio.run(run_sync_with_progress(db, settings, provider_id, "auto", False))
        except IptvsyncError as exc:
            fail(exc)
        db.dispose()
        if not serve_after:
            return
        console.print(
            f"\n[bold green]serving[/] on http://127.0.0.1:{port}/ — open it in a browser.\n"
            f"  API:      http://127.0.0.1:{port}/api/providers/{provider_id}/movies\n"
            f"  snapshot: http://127.0.0.1:{port}/api/providers/{provider_id}/snapshot\n"
            f"  playlist: http://127.0.0.1:{port}/playlist.m3u\n"
            "Ctrl-C stops the server and the fake portal."
        )
        setup_logging()
        _serve(settings, "127.0.0.1", port)

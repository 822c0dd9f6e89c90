"""Run fake providers on a real socket: in a thread, in a child process, or from the CLI.

- ``ServerThread(app)`` serves any ASGI app under uvicorn on 127.0.0.1 in a daemon thread
  (a context manager; ``.url``). The socket is bound before the thread starts, so there is no
  free-port race. Good for tests.
- ``ServerProcess(kind, ...)`` runs ``python -m iptvsync.fakes.server`` in a child process:
  the fake gets its own interpreter (and GIL), which benchmarks at high concurrency need.
- ``serve_fake(kind, host, port, ...)`` builds a catalogue and the fake's app and serves it,
  blocking; the CLI's ``iptvsync fake-portal`` calls it.

Kinds: ``stalker`` (``fakes/stalker/``), ``xtream`` and ``m3u`` (``fakes/xtream/``,
``fakes/m3u.py``). Each module provides ``create_app(catalogue, config) -> Starlette``; a
module may also provide ``config_for_cli(family=, latency_ms=, capacity=)`` returning its
config object; otherwise its config dataclass (from ``create_app``'s annotation) is built from
the options it has fields for, the rest left at its defaults.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import json
import random
import select
import socket
import subprocess
import sys
import threading
import time
import typing
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from iptvsync.fakes.catalogue import Catalogue, generate
from iptvsync.providers.http import ProviderHttp, build_http_client
from iptvsync.providers.registry import PROVIDER_KINDS

_READY = "IPTVSYNC-FAKE-LISTENING"


#: Ports below the kernel's ephemeral range, which port 0 and every outgoing connection draw
#: from: a port chosen here is not handed to anyone else by the kernel before its server binds.
_LOW_PORTS = (10_000, 32_768)


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago, for a server started later in another process
    (prefer binding port 0 where you can).

    The port comes from below the kernel's ephemeral range: a port 0 bind, or any outgoing
    connection, could otherwise be given the same port while that server is still starting
    (the demo syncs for seconds first). The test suite runs side by side with itself, and a
    health check answered by another test's server on a "free" port has been seen
    (docs/contributing.md, rule 8).
    """
    low, high = _LOW_PORTS
    with contextlib.suppress(OSError, ValueError):
        first = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
        high = min(high, first)
    for _ in range(50 if high > low else 0):
        port = random.randrange(low, high)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def create_fake_app(
    kind: str,
    catalogue: Catalogue,
    *,
    family: str | None = None,
    latency_ms: float = 0.0,
    capacity: int | None = None,
    **options: Any,
) -> Any:
    """The fake provider app of ``kind`` over ``catalogue``.

    ``options`` are extra config fields (Stalker: any ``StalkerFakeConfig`` field).
    """
    if kind == "stalker":
        from iptvsync.fakes.stalker import StalkerFakeConfig, create_app

        config = StalkerFakeConfig(
            family=family or "stock", latency_ms=latency_ms, capacity=capacity, **options
        )
        if config.family not in ("stock", "reseller"):
            raise ValueError(f"unknown stalker family {config.family!r}")
        return create_app(catalogue, config)
    if kind not in PROVIDER_KINDS:
        raise ValueError(f"unknown fake kind {kind!r}; expected one of {PROVIDER_KINDS}")
    # Hook for the Xtream and M3U fakes (fakes/xtream/, fakes/m3u.py).
    module = importlib.import_module(f"iptvsync.fakes.{kind}")
    wanted = {"family": family or None, "latency_ms": latency_ms, "capacity": capacity, **options}
    return module.create_app(catalogue, _config_for(module, wanted))


def _config_for(module: Any, wanted: dict[str, Any]) -> Any:
    """The module's ``config_for_cli(**wanted)``, or its config dataclass built from the
    ``wanted`` values it has fields for (found from ``create_app``'s annotation)."""
    hook = getattr(module, "config_for_cli", None)
    if hook is not None:
        return hook(**wanted)
    annotation = typing.get_type_hints(module.create_app).get("config")
    for cls in typing.get_args(annotation) or (annotation,):
        if isinstance(cls, type) and dataclasses.is_dataclass(cls):
            names = {f.name for f in dataclasses.fields(cls)}
            return cls(**{k: v for k, v in wanted.items() if k in names and v is not None})
    return None


class ServerThread:
    """Serve an ASGI app under uvicorn in a background thread."""

    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"
    ) -> None:
        self.app = app
        self.host = host
        self._sock = _bind(host, port)
        self.port = int(self._sock.getsockname()[1])
        config = uvicorn.Config(app, log_level=log_level, lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake server did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class ServedHttp(ProviderHttp):
    """A provider HTTP layer whose every host name leads to one fake served in a thread
    (tests: ``http://portal.test/c/`` reaches the fake). ``aclose`` stops the server too."""

    def __init__(self, app: Any, **limits: Any) -> None:
        self.server = ServerThread(app).start()
        base = build_http_client(pins={"*": ("127.0.0.1", self.server.port)}, **limits)
        super().__init__(base.limits, pins={"*": ("127.0.0.1", self.server.port)})

    async def aclose(self) -> None:
        await super().aclose()
        self.server.stop()


class ServerProcess:
    """Run a fake provider in a child process (its own interpreter); ``.url`` once started."""

    def __init__(
        self,
        kind: str = "stalker",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 42,
        movies: int = 64_106,
        series: int = 19_076,
        channels: int = 5_000,
        family: str | None = None,
        latency_ms: float = 0.0,
        capacity: int | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        """``options``: more config fields of the fake (Stalker: ``StalkerFakeConfig``'s),
        JSON values."""
        self.host = host
        self.port = port
        self.args = [
            sys.executable,
            "-m",
            "iptvsync.fakes.server",
            f"--kind={kind}",
            f"--host={host}",
            f"--port={port}",
            f"--seed={seed}",
            f"--movies={movies}",
            f"--series={series}",
            f"--channels={channels}",
            f"--latency-ms={latency_ms}",
        ]
        if family:
            self.args.append(f"--family={family}")
        if capacity is not None:
            self.args.append(f"--capacity={capacity}")
        for key, value in (options or {}).items():
            self.args.append(f"--option={key}={json.dumps(value)}")
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 60.0) -> ServerProcess:
        self.proc = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("fake server process did not start")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                continue
            line = self.proc.stdout.readline()
            if line.startswith(_READY):
                self.port = int(line.split()[1])
                return self

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_fake(
    kind: str,
    host: str,
    port: int,
    *,
    seed: int,
    movies: int,
    series: int,
    channels: int,
    family: str,
    latency_ms: float,
    capacity: int | None,
    options: dict[str, Any] | None = None,
) -> None:
    """Generate a catalogue and serve the fake ``kind`` on host:port until interrupted.

    The Stalker fake registers every well-formed MAC here (``mac_allowed=None``), so a demo
    works with any ``00:1A:79:..`` address. Port 0 picks a free port; the chosen port is
    printed on stdout as ``IPTVSYNC-FAKE-LISTENING <port>``.
    """
    catalogue = generate(seed=seed, movies=movies, series=series, channels=channels)
    options = {**({"mac_allowed": None} if kind == "stalker" else {}), **(options or {})}
    app = create_fake_app(
        kind, catalogue, family=family, latency_ms=latency_ms, capacity=capacity, **options
    )
    sock = _bind(host, port)
    bound = int(sock.getsockname()[1])
    print(f"{_READY} {bound}", flush=True)
    print(f"fake {kind} provider ({family or 'default'}) on http://{host}:{bound}/", flush=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m iptvsync.fakes.server")
    parser.add_argument("--kind", choices=PROVIDER_KINDS, default="stalker")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--movies", type=int, default=64_106)
    parser.add_argument("--series", type=int, default=19_076)
    parser.add_argument("--channels", type=int, default=5_000)
    parser.add_argument("--family", default="")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--capacity", type=int, default=None)
    parser.add_argument(
        "--option", action="append", default=[], help="KEY=JSON: another config field"
    )
    args = parser.parse_args(argv)
    options = {}
    for item in args.option:
        key, _, value = item.partition("=")
        options[key] = json.loads(value)
    serve_fake(
        args.kind,
        args.host,
        args.port,
        seed=args.seed,
        movies=args.movies,
        series=args.series,
        channels=args.channels,
        family=args.family or ("stock" if args.kind == "stalker" else ""),
        latency_ms=args.latency_ms,
        capacity=args.capacity,
        options=options,
    )


if __name__ == "__main__":
    main()

"""A scale-mode deployment on loopback for tests and ``bench/scale.py``: a dedicated PostgreSQL
database, ``iptvsync serve`` replicas and ``iptvsync worker`` processes, each a real process
(so one can be killed with -9), every wait bounded."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import sqlalchemy as sa

from iptvsync.fakes.server import free_port

ADMIN_URL = os.environ.get("IPTVSYNC_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def scratch_database(prefix: str = "iptvsync_scale") -> Iterator[str]:
    """A database of its own (multi-process: no search_path tricks), dropped afterwards."""
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield str(sa.engine.make_url(ADMIN_URL).set(database=name).render_as_string(False))
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


class Proc:
    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log_path = log
        self._log: IO[bytes] = log.open("wb")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "iptvsync", *args],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.url = ""

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill9(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        self.popen.wait(10)

    def stop(self, timeout: float = 15.0) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        self._log.close()

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


class Cluster:
    """Processes sharing one database and one data directory (the shared snapshot directory)."""

    def __init__(self, workdir: Path, database_url: str, **settings: Any) -> None:
        self.workdir = workdir
        self.database_url = database_url
        self.settings = settings
        self.procs: list[Proc] = []

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IPTVSYNC_")}
        env.update(
            IPTVSYNC_DATABASE_URL=self.database_url,
            IPTVSYNC_DATA_DIR=str(self.workdir / "data"),
            IPTVSYNC_RUNNER="procrastinate",
        )
        env.update({f"IPTVSYNC_{k.upper()}": str(v) for k, v in self.settings.items()})
        return env

    def run(self, *args: str, timeout: float = 60.0) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "iptvsync", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def _start(self, name: str, args: list[str]) -> Proc:
        proc = Proc(name, args, self.env(), self.workdir / f"{name}.log")
        self.procs.append(proc)
        return proc

    def serve(self, name: str, timeout: float = 30.0) -> Proc:
        port = free_port()
        proc = self._start(name, ["serve", "--host", "127.0.0.1", "--port", str(port)])
        proc.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while True:
            assert proc.alive(), f"{name} exited:\n{proc.tail()}"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{proc.url}/healthz", timeout=2).status_code == 200:
                    return proc
            assert time.monotonic() < deadline, f"{name} did not start:\n{proc.tail()}"
            time.sleep(0.1)

    def worker(self, name: str, concurrency: int = 3) -> Proc:
        return self._start(name, ["worker", "--concurrency", str(concurrency), "--name", name])

    def stop(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(Exception):
                proc.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.tail()}" for p in self.procs)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

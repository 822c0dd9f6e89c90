"""iptvsync as a real ``iptvsync serve`` process on a loopback port, for the security tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from iptvsync.store.db import create_db_engine
from iptvsync.store.migrate import upgrade
from iptvsync.store.users import create_user

#: 24 characters or more: shorter admin tokens are refused at start.
ADMIN_TOKEN = "admin-token-for-security-tests-0123"
KNOWN_USER, KNOWN_PASS = "viewer", "viewer-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServeProcess:
    """``python -m iptvsync serve`` with ``env`` (IPTVSYNC_* settings) on 127.0.0.1."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "IPTVSYNC_DATA_DIR": str(data_dir),
            "IPTVSYNC_SCHEDULER": "false",
            **env,
        }
        self.env.pop("IPTVSYNC_DATABASE_URL", None)
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ServeProcess:
        args = [sys.executable, "-m", "iptvsync", "serve", "--port", str(self.port)]
        self.proc = subprocess.Popen(
            args, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"iptvsync serve exited: {self.proc.stderr.read()!r}")  # type: ignore[union-attr]
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("iptvsync serve did not start")
            time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data dir with a migrated SQLite database and one output user."""
    path = tmp_path / "data"
    engine = create_db_engine(f"sqlite:///{(path / 'iptvsync.db').as_posix()}")
    upgrade(engine)
    with engine.begin() as conn:
        create_user(conn, KNOWN_USER, KNOWN_PASS, all_providers=True)
    engine.dispose()
    return path


@pytest.fixture
def unthrottled(data_dir: Path) -> Iterator[ServeProcess]:
    """A locked server whose failed-login throttle is out of the way (every wrong password
    costs a real scrypt), with a small queue of password checks."""
    env = {
        "IPTVSYNC_ADMIN_TOKEN": ADMIN_TOKEN,
        "IPTVSYNC_LOGIN_FAILURES_PER_ADDRESS": "1000000",
        "IPTVSYNC_LOGIN_FAILURES_PER_USER": "1000000",
        "IPTVSYNC_PASSWORD_HASH_QUEUE": "8",
    }
    with ServeProcess(data_dir, env) as server:
        yield server

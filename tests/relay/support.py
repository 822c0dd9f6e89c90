"""Small helpers of the relay tests: players as threads and raw sockets, waiting."""

from __future__ import annotations

import base64
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa

from iptvsync.store import streams


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def held(db: sa.Engine, prefix: str = "") -> list[streams.SlotRow]:
    return streams.held(db, prefix, now=time.time())


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


class Player(threading.Thread):
    """Reads a stream until told to stop (or it ends); counts bytes, notes how it ended."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(daemon=True)
        self.url, self.headers = url, headers or {}
        self.status: int | None = None
        self.body: bytes = b""
        self.received = 0
        self.ended = threading.Event()
        self.started_reading = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with httpx.stream("GET", self.url, headers=self.headers, timeout=30) as r:
                self.status = r.status_code
                if r.status_code != 200:
                    self.body = r.read()
                    return
                for chunk in r.iter_raw():
                    self.received += len(chunk)
                    self.started_reading.set()
                    if self.stop.is_set():
                        return
        except BaseException as exc:
            self.error = exc
        finally:
            self.started_reading.set()
            self.ended.set()


def raw_get(url: str, headers: dict[str, str], *, rcvbuf: int | None = None) -> socket.socket:
    """A socket that sent ``GET url`` and reads nothing yet (a player that stalls or dies)."""
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect((parts.hostname or "127.0.0.1", parts.port or 80))
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


def abort(sock: socket.socket) -> None:
    """Close with a TCP reset, as a crashed player or a pulled cable does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def json_of(response: httpx.Response) -> Any:
    return response.json()

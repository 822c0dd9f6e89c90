"""A real app (uvicorn, lifespan on) in front of a real fake provider, both on loopback
sockets, with the provider synced through the API: what players and ffprobe talk to."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from iptvsync.app import create_app
from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.server import ServerThread, _bind, create_fake_app
from iptvsync.fakes.stalker.config import DEFAULT_MAC
from iptvsync.settings import Secret, Settings
from iptvsync.store.models import channels, users
from iptvsync.store.providers import create_provider
from iptvsync.store.users import create_user

ADMIN_TOKEN = "admin-secret-19-long-enough-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
needs_ffprobe = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffprobe")


class AppServer:
    """The iptvsync app under uvicorn in a thread, lifespan on."""

    def __init__(self, app: Any, sock: Any) -> None:
        self.sock = sock
        self.port = int(self.sock.getsockname()[1])
        config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
        self.server = uvicorn.Server(config)
        self.app = app
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> AppServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "app did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()


@dataclass
class Stack:
    app: AppServer
    fake: ServerThread
    fake_app: Any
    provider_id: int
    db: sa.Engine
    settings: Settings
    api: httpx.Client

    @property
    def media(self) -> Any:
        return self.fake_app.state.media

    def channel_ids(self) -> list[int]:
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(channels.c.id)
                .where(channels.c.provider_id == self.provider_id)
                .order_by(channels.c.id)
            )
            return [r[0] for r in rows]

    def play_url(self, item_id: int, kind: str = "channel") -> str:
        return f"{self.app.url}/api/providers/{self.provider_id}/play/{kind}/{item_id}"

    def add_user(self, name: str, max_streams: int | None = None) -> tuple[int, str]:
        """An output user; (user id, password)."""
        with self.db.begin() as conn:
            uid = create_user(conn, name, "pw-12345678", all_providers=True)
            conn.execute(sa.update(users).where(users.c.id == uid).values(max_streams=max_streams))
        return uid, "pw-12345678"


def sync(api: httpx.Client, provider_id: int) -> None:
    r = api.post(f"/api/providers/{provider_id}/sync", headers=ADMIN)
    assert r.status_code == 202, r.text
    run_id = r.json()["run_id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run = api.get(f"/api/sync-runs/{run_id}", headers=ADMIN).json()
        if run["status"] not in ("queued", "running"):
            assert run["status"] == "succeeded", run
            return
        time.sleep(0.05)
    raise AssertionError("sync did not finish")


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[Any]:
    opened: list[Any] = []

    def make(
        kind: str = "stalker",
        *,
        options: dict[str, Any] | None = None,
        fake_options: dict[str, Any] | None = None,
        database_url: str | None = None,
        **settings_overrides: Any,
    ) -> Stack:
        catalogue = generate(seed=3, channels=4, movies=2, series=0)
        fake_app = create_fake_app(kind, catalogue, **(fake_options or {}))
        fake = ServerThread(fake_app).start()
        opened.append(fake)
        sock = _bind("127.0.0.1", 0)
        settings = Settings(
            host="127.0.0.1",
            port=int(sock.getsockname()[1]),
            data_dir=tmp_path / f"data{len(opened)}",
            database_url=database_url,
            admin_token=Secret(ADMIN_TOKEN),
            scheduler=False,
            **settings_overrides,
        )
        from iptvsync.store.db import create_db_engine
        from iptvsync.store.migrate import upgrade

        db = create_db_engine(settings.resolved_database_url())
        upgrade(db)
        data: dict[str, Any] = {"name": kind, "kind": kind, "options": options or {}}
        if kind == "stalker":
            data |= {"url": f"{fake.url}/c/", "mac": DEFAULT_MAC}
        elif kind == "xtream":
            data |= {"url": fake.url, "username": "user", "password": "pass"}
        else:
            data |= {"url": f"{fake.url}/playlist.m3u"}
        with db.begin() as conn:
            provider_id = create_provider(conn, data)
        app = AppServer(create_app(settings), sock).__enter__()
        opened.append(app)
        api = httpx.Client(base_url=app.url, timeout=30)
        sync(api, provider_id)
        return Stack(app, fake, fake_app, provider_id, db, settings, api)

    yield make
    for thing in reversed(opened):
        if isinstance(thing, AppServer):
            thing.__exit__()
        else:
            thing.stop()


def ffprobe(url: str, *, timeout: float = 60) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_streams", "-rw_timeout", "15000000", url],
        capture_output=True,
        timeout=timeout,
        text=True,
    )
    return json.loads(out.stdout or "{}")


def video_codecs(info: dict[str, Any]) -> list[str]:
    return [s["codec_name"] for s in info.get("streams", []) if s.get("codec_type") == "video"]

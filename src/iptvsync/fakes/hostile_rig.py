"""A sync against a hostile provider, measured: what the tests and ``bench/hostile.py`` share.

``HostileRig.open(kind, ...)`` serves a small fake of ``kind`` behind ``HostileProvider`` on
127.0.0.2 (declared public through ``provider_public_networks``), an "internal service" on
127.0.0.1, and a database with the provider in it. ``sync()`` runs one sync through the
engine and returns the run, its seconds and the peak RSS of this process during it.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy as sa

from iptvsync.fakes.catalogue import Catalogue, generate
from iptvsync.fakes.hostile import HostileConfig, HostileProvider, Mode, internal_app
from iptvsync.fakes.server import ServerThread
from iptvsync.providers.http import ProviderHttp, build_http_client
from iptvsync.providers.registry import make_client
from iptvsync.settings import Settings
from iptvsync.store import batches
from iptvsync.store import providers as provider_store
from iptvsync.sync.engine import SyncContext, execute_run
from iptvsync.sync.service import prepare_run

PUBLIC_HOST = "127.0.0.2"
SECRET = "INTERNAL-ONLY-7f3a9c"

#: Short limits so every hostile case ends in seconds.
LIMITS: dict[str, Any] = {
    "request_timeout_s": 2.0,
    "provider_page_deadline_s": 3.0,
    "provider_list_deadline_s": 4.0,
    "provider_max_page_bytes": 4 * 2**20,
    "provider_max_list_bytes": 16 * 2**20,
    "provider_max_playlist_bytes": 16 * 2**20,
    "provider_max_guide_bytes": 16 * 2**20,
    "provider_public_networks": [f"{PUBLIC_HOST}/32"],
}


#: The sync before an attack (the catalogue the attack must leave as it was) is the case's
#: setup: it keeps the size limits and the address rules, not the short deadlines, which a
#: loaded test machine's first sync once missed (its five requests beside the browser tests,
#: session 26).
BASELINE_TIMES: dict[str, float] = {
    "request_timeout_s": 30.0,
    "provider_page_deadline_s": 60.0,
    "provider_list_deadline_s": 120.0,
}


def hostile_settings(settings: Settings) -> Settings:
    return settings.replace(**LIMITS)


def _inner_app(kind: str, catalogue: Catalogue) -> Any:
    if kind == "stalker":
        from iptvsync.fakes.stalker import StalkerFakeConfig
        from iptvsync.fakes.stalker import create_app as stalker_app

        return stalker_app(catalogue, StalkerFakeConfig(family="stock"))
    if kind == "xtream":
        from iptvsync.fakes.xtream import XtreamFakeConfig
        from iptvsync.fakes.xtream import create_app as xtream_app

        return xtream_app(catalogue, XtreamFakeConfig(epg_channels=0))
    from iptvsync.fakes.m3u import M3uFakeConfig
    from iptvsync.fakes.m3u import create_app as m3u_app

    return m3u_app(catalogue, M3uFakeConfig(epg_channels=0))


@dataclass
class HostileRig:
    kind: str
    db: sa.Engine
    settings: Settings
    http: ProviderHttp
    hostile: HostileProvider
    internal: Any  # the internal service's stats (hits)
    provider_id: int
    servers: list[ServerThread]
    secret_file: Path
    fifo: Path
    growth_mb: float = 0.0

    @classmethod
    def open(cls, kind: str, db: sa.Engine, settings: Settings, tmp: Path) -> HostileRig:
        settings = hostile_settings(settings)
        catalogue = generate(seed=3, movies=60, series=8, channels=20)
        hostile = HostileProvider(_inner_app(kind, catalogue), kind)
        internal = internal_app(SECRET)
        public = ServerThread(hostile, host=PUBLIC_HOST).start()
        inside = ServerThread(internal).start()
        secret_file = tmp / "secret.xml"
        secret_file.write_text(
            f"<tv><channel id='x'><display-name>{SECRET}</display-name></channel></tv>"
        )
        fifo = tmp / "guide.fifo"
        if not fifo.exists():
            os.mkfifo(fifo)
        hostile.config = HostileConfig(internal_url=f"{inside.url}/guide.xml")
        provider: dict[str, Any] = {"name": f"hostile-{kind}", "kind": kind}
        if kind == "stalker":
            from iptvsync.fakes.stalker import DEFAULT_MAC

            provider.update(url=f"{public.url}/c/", mac=DEFAULT_MAC)
        elif kind == "xtream":
            provider.update(url=public.url, username="user", password="pass")
        else:
            provider.update(url=f"{public.url}/playlist.m3u")
        with db.begin() as conn:
            provider_id = provider_store.create_provider(conn, provider)
        return cls(
            kind,
            db,
            settings,
            build_http_client(settings),
            hostile,
            internal.state.stats,
            provider_id,
            [public, inside],
            secret_file,
            fifo,
        )

    def set_mode(self, mode: Mode, **changes: Any) -> None:
        cfg = self.hostile.config
        cfg.mode = mode
        if mode is Mode.TVG_FILE:
            cfg.local_path = str(self.secret_file)
        elif mode is Mode.TVG_FIFO:
            cfg.local_path = str(self.fifo)
        for key, value in changes.items():
            setattr(cfg, key, value)

    async def sync(
        self, mode: str = "full", *, baseline: bool = False
    ) -> tuple[dict[str, Any], float, float]:
        """(the run, seconds to its end, peak RSS in MB of this process during it).
        ``baseline``: the sync before an attack, with ``BASELINE_TIMES``."""
        if not baseline:
            return await self._sync(mode, self.settings, self.http)
        settings = self.settings.replace(**BASELINE_TIMES)
        http = build_http_client(settings)
        try:
            return await self._sync(mode, settings, http)
        finally:
            await http.aclose()

    async def _sync(
        self, mode: str, settings: Settings, http: ProviderHttp
    ) -> tuple[dict[str, Any], float, float]:
        run_id, _ = prepare_run(self.db, settings, self.provider_id, scope="all", mode=mode)
        ctx = SyncContext(db=self.db, settings=settings, http=http, make_client=make_client)
        me = psutil.Process()
        peak = before = me.memory_info().rss
        done = asyncio.Event()

        async def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, me.memory_info().rss)
                await asyncio.sleep(0.01)

        sampler = asyncio.create_task(sample())
        started = time.perf_counter()
        try:
            run = await execute_run(ctx, run_id)
        finally:
            done.set()
            await sampler
        #: What the sync itself added to this process at its peak (a test process carries
        #: the heap of every test before it; a fresh one starts at ~90 MB).
        self.growth_mb = (peak - before) / 2**20
        return run, time.perf_counter() - started, peak / 2**20

    def catalogue(self) -> dict[str, set[str]]:
        """Live provider ids per kind, as stored."""
        return batches.live_item_keys(self.db, self.provider_id)

    def programme_titles(self) -> list[str]:
        return batches.programme_titles(self.db)

    async def close(self) -> None:
        await self.http.aclose()
        for server in self.servers:
            server.stop(timeout=2)

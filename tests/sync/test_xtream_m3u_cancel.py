"""Cancelling an Xtream or an M3U sync mid-walk: the run ends ``cancelled`` within 2 s, what was
written is kept, nothing is deleted (a cancelled walk is incomplete, so nothing is swept), and
the next sync is exact.

Each test syncs the catalogue in full, drops 3 movies and adds 4 at the provider, then starts a
full re-sync through the in-process runner, as the API does. A transport in front of the fake
holds one request of the VOD walk (a provider that stops answering), so the cancel always lands
mid-walk, whatever the machine's speed: the channels are written, the VOD walk is not finished.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import httpx
import pytest
import sqlalchemy as sa

from iptvsync.fakes.catalogue import Catalogue, generate
from iptvsync.fakes.m3u import M3uFakeConfig
from iptvsync.fakes.m3u import create_app as m3u_app
from iptvsync.fakes.server import ServedHttp
from iptvsync.fakes.xtream import XtreamFakeConfig
from iptvsync.fakes.xtream import create_app as xtream_app
from iptvsync.providers.http import ProviderHttp
from iptvsync.providers.registry import make_client
from iptvsync.settings import Settings
from iptvsync.store import providers as provider_store
from iptvsync.store.models import ITEM_TABLES
from iptvsync.sync.engine import SyncContext, execute_run
from iptvsync.sync.runner import InlineRunner
from iptvsync.sync.service import prepare_run, request_cancel, request_sync

CANCEL_WITHIN_S = 2.0


class HeldRequest(NamedTuple):
    url: httpx.URL


class Hold:
    """An ASGI app in front of the fake (served on a real socket): passes requests on, except
    those ``hold_when`` picks: they hang until released (``holding`` is set once one does)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.hold_when: Callable[[HeldRequest], bool] | None = None
        self.holding = threading.Event()
        self._released = threading.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.hold_when is not None:
            url = httpx.URL(f"http://fake{scope['path']}?{scope['query_string'].decode()}")
            if self.hold_when(HeldRequest(url)):
                self.holding.set()
                while not self._released.is_set():  # the server thread's own loop
                    await asyncio.sleep(0.01)
        await self.inner(scope, receive, send)

    async def wait_holding(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not self.holding.is_set():
            assert loop.time() < end, "no request was held"
            await asyncio.sleep(0.01)

    def release(self) -> None:
        self.hold_when = None
        self._released.set()


@dataclass
class Setup:
    db: sa.Engine
    settings: Settings
    http: ProviderHttp
    hold: Hold
    state: Any  # the fake's app.state.provider
    catalogue: Catalogue
    provider_id: int

    def context(self) -> SyncContext:
        return SyncContext(
            db=self.db, settings=self.settings, http=self.http, make_client=make_client
        )

    async def sync(self) -> dict[str, Any]:
        run_id, _ = prepare_run(self.db, self.settings, self.provider_id, scope="all", mode="full")
        return await execute_run(self.context(), run_id)

    def ids(self, kind: str, *, deleted: bool = False) -> set[str]:
        table = ITEM_TABLES[kind]
        gone = table.c.deleted_at.is_not(None) if deleted else table.c.deleted_at.is_(None)
        query = sa.select(table.c.provider_item_id).where(
            table.c.provider_id == self.provider_id, gone
        )
        with self.db.connect() as conn:
            return {r[0] for r in conn.execute(query)}

    def catalogue_ids(self, kind: str) -> set[str]:
        """What an Xtream sync stores: the panel's own ids (M3U ids are URL hashes)."""
        return {str(item.id) for item in self.catalogue.items(kind)}

    async def cancel_when_held(self, hold_when: Callable[[HeldRequest], bool]) -> dict[str, Any]:
        """Start a full sync through the runner, wait for a request that ``hold_when`` picks,
        then cancel: the run must end ``cancelled`` within ``CANCEL_WITHIN_S``."""
        runner = InlineRunner(self.context)
        self.hold.hold_when = hold_when
        run_id, _ = await request_sync(
            self.db, self.settings, runner, self.provider_id, scope="all", mode="full"
        )
        await self.hold.wait_holding(30)
        loop = asyncio.get_running_loop()
        asked = loop.time()
        assert await request_cancel(self.db, runner, self.provider_id) == run_id
        final = await asyncio.wait_for(runner.wait(run_id), 10 * CANCEL_WITHIN_S)
        assert final is not None
        assert loop.time() - asked < CANCEL_WITHIN_S
        assert final["status"] == "cancelled", final
        self.hold.release()
        return final


def _setup(
    db: sa.Engine, settings: Settings, app: Any, catalogue: Catalogue, provider: dict[str, Any]
) -> Setup:
    hold = Hold(app)
    http = ServedHttp(hold)
    with db.begin() as conn:
        provider_id = provider_store.create_provider(conn, provider)
    return Setup(db, settings, http, hold, app.state.provider, catalogue, provider_id)


async def _teardown(setup: Setup) -> None:
    setup.hold.release()
    await setup.http.aclose()


@pytest.fixture
async def xtream(db: sa.Engine, settings: Settings) -> AsyncIterator[Setup]:
    catalogue = generate(seed=21, movies=120, series=20, channels=40)
    app = xtream_app(catalogue, XtreamFakeConfig(epg_channels=5))
    provider = {
        "name": "xt",
        "kind": "xtream",
        "url": "http://panel.test",
        "username": "user",
        "password": "pass",
    }
    setup = _setup(db, settings, app, catalogue, provider)
    yield setup
    await _teardown(setup)


@pytest.fixture
async def m3u(db: sa.Engine, settings: Settings) -> AsyncIterator[Setup]:
    catalogue = generate(seed=22, movies=80, series=10, channels=40)
    app = m3u_app(catalogue, M3uFakeConfig(epg_channels=5, max_episodes_per_series=2))
    # Downloaded again for every pass, so the VOD walk has a request of its own to hold.
    options = {"playlist_cache_s": 0}
    provider = {"name": "m3u", "kind": "m3u", "url": "http://m3u.test/playlist.m3u"}
    setup = _setup(db, settings, app, catalogue, {**provider, "options": options})
    yield setup
    await _teardown(setup)


async def test_cancel_an_xtream_sync_mid_walk(xtream: Setup) -> None:
    first = await xtream.sync()
    assert first["status"] == "succeeded", first
    dropped = [m.id for m in xtream.catalogue.movies[:3]]
    xtream.state.remove("movie", dropped)
    gone = {str(i) for i in dropped}
    new = {str(i) for i in xtream.state.add("movie", 4)}

    # The VOD scope walks the movie list, then the series list: hold the series list.
    final = await xtream.cancel_when_held(
        lambda request: request.url.params.get("action") == "get_series"
    )

    assert final["counts"]["movies"]["removed"] == 0
    assert xtream.ids("movie", deleted=True) == set(), "a cancelled walk deletes nothing"
    assert gone <= xtream.ids("movie"), "the dropped movies are kept until a walk completes"
    assert xtream.ids("channel") == xtream.catalogue_ids("channel"), "the channels were written"
    # New movies still in the engine's write buffer (batch_size) when the cancel came are lost
    # with the run; whatever was written stays.
    written = new & xtream.ids("movie")

    run = await xtream.sync()
    assert run["status"] == "succeeded", run
    assert run["counts"]["movies"]["removed"] == 3
    assert run["counts"]["movies"]["added"] == len(new - written)
    assert xtream.ids("movie") == xtream.catalogue_ids("movie")
    assert xtream.ids("movie", deleted=True) == gone
    assert xtream.ids("series") == xtream.catalogue_ids("series")
    assert xtream.ids("channel") == xtream.catalogue_ids("channel")


async def test_cancel_an_m3u_sync_mid_walk(m3u: Setup) -> None:
    first = await m3u.sync()
    assert first["status"] == "succeeded", first
    movies_before = m3u.ids("movie")
    assert len(movies_before) == len(m3u.catalogue.movies)
    m3u.state.remove("movie", [m.id for m in m3u.catalogue.movies[:3]])
    m3u.state.add("movie", 4)

    # With playlist_cache_s=0 the sync downloads the playlist once per pass: categories and
    # walk of the channels, categories and walk of VOD, in that order. Hold the fourth: the
    # VOD walk's own download.
    downloads = 0

    def vod_walk(request: HeldRequest) -> bool:
        nonlocal downloads
        if request.url.path.endswith("/playlist.m3u"):
            downloads += 1
        return downloads >= 4

    final = await m3u.cancel_when_held(vod_walk)

    assert final["counts"]["movies"]["removed"] == 0
    assert m3u.ids("movie", deleted=True) == set(), "a cancelled walk deletes nothing"
    assert m3u.ids("movie") == movies_before, "the VOD walk never got its playlist"
    assert len(m3u.ids("channel")) == len(m3u.catalogue.channels)

    run = await m3u.sync()
    assert run["status"] == "succeeded", run
    assert run["counts"]["movies"]["removed"] == 3
    assert run["counts"]["movies"]["added"] == 4
    assert len(m3u.ids("movie")) == len(m3u.catalogue.movies)
    assert len(m3u.ids("movie", deleted=True)) == 3
    assert len(m3u.ids("channel")) == len(m3u.catalogue.channels)
    assert len(m3u.ids("series")) == len({s.name for s in m3u.catalogue.series})

"""Xtream and M3U/XMLTV providers through the same engine: exact counts, diffs that remove,
the guard, bad credentials, hostile input that loses nothing, and the guide."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

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
from iptvsync.store import catalogue as catalogue_store
from iptvsync.store import providers as provider_store
from iptvsync.store.models import programmes
from iptvsync.sync.engine import SyncContext, execute_run
from iptvsync.sync.service import prepare_run


@dataclass
class Panel:
    db: sa.Engine
    settings: Settings
    http: ProviderHttp
    state: Any  # the fake's app.state.provider
    catalogue: Catalogue
    provider_id: int

    async def sync(self, scope: str = "auto", mode: str = "auto") -> dict[str, Any]:
        run_id, _ = prepare_run(self.db, self.settings, self.provider_id, scope=scope, mode=mode)
        ctx = SyncContext(
            db=self.db, settings=self.settings, http=self.http, make_client=make_client
        )
        return await execute_run(ctx, run_id)

    def counts(self) -> dict[str, int]:
        with self.db.connect() as conn:
            return catalogue_store.live_counts(conn, self.provider_id)

    def programmes(self) -> int:
        with self.db.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(programmes)).scalar_one()


async def _panel(
    db: sa.Engine, settings: Settings, app: Any, catalogue: Catalogue, provider: dict[str, Any]
) -> Panel:
    http = ServedHttp(app)
    with db.begin() as conn:
        provider_id = provider_store.create_provider(conn, provider)
    return Panel(db, settings, http, app.state.provider, catalogue, provider_id)


# epg_hours=30: the fakes guide from midnight on, so 30 hours always cover "now".
@pytest.fixture(params=["xtream", "xui"])
async def xtream(
    request: pytest.FixtureRequest, db: sa.Engine, settings: Settings
) -> AsyncIterator[Panel]:
    catalogue = generate(seed=11, movies=150, series=30, channels=60)
    app = xtream_app(
        catalogue, XtreamFakeConfig(family=request.param, epg_channels=10, epg_hours=30)
    )
    panel = await _panel(
        db,
        settings,
        app,
        catalogue,
        {
            "name": "xt",
            "kind": "xtream",
            "url": "http://panel.test",
            "username": "user",
            "password": "pass",
        },
    )
    yield panel
    await panel.http.aclose()


@pytest.fixture
async def m3u(db: sa.Engine, settings: Settings) -> AsyncIterator[Panel]:
    catalogue = generate(seed=12, movies=80, series=12, channels=60)
    app = m3u_app(
        catalogue, M3uFakeConfig(epg_channels=10, max_episodes_per_series=3, epg_hours=30)
    )
    panel = await _panel(
        db,
        settings,
        app,
        catalogue,
        {"name": "m3u", "kind": "m3u", "url": "http://m3u.test/playlist.m3u"},
    )
    yield panel
    await panel.http.aclose()


@pytest.mark.both_backends  # the engine's writes
async def test_xtream_full_sync_is_exact_and_stores_the_guide(xtream: Panel) -> None:
    run = await xtream.sync()
    assert run["status"] == "succeeded", run
    c = xtream.counts()
    assert c["channels"] == len(xtream.catalogue.channels)
    assert c["movies"] == len(xtream.catalogue.movies)
    assert c["series"] == len(xtream.catalogue.series)
    assert run["progress"]["done_items"] == run["progress"]["total_items"]
    assert xtream.programmes() > 0


@pytest.mark.both_backends  # the engine's writes
async def test_xtream_resync_is_a_diff_that_adds_and_removes(xtream: Panel) -> None:
    await xtream.sync()
    xtream.state.add("movie", 4)
    xtream.state.remove("movie", [m.id for m in xtream.catalogue.movies[:3]])
    run = await xtream.sync(scope="vod")
    assert run["plan"]["vod"] == "incremental"
    assert run["status"] == "succeeded", run
    assert run["counts"]["movies"]["added"] == 4
    assert run["counts"]["movies"]["removed"] == 3
    assert xtream.counts()["movies"] == len(xtream.catalogue.movies)


async def test_xtream_guard_on_a_truncated_list(xtream: Panel) -> None:
    await xtream.sync()
    xtream.state.truncate("movie", 10)
    run = await xtream.sync(scope="vod")
    assert run["status"] == "guarded"
    assert xtream.counts()["movies"] == 150


async def test_xtream_bad_credentials_fail_cleanly(xtream: Panel) -> None:
    xtream.state.config.account = "auth0"
    run = await xtream.sync()
    assert run["status"] == "failed"
    assert run["error"]["code"] == "provider_auth_failed"
    assert "pass" not in run["error"]["message"]


async def test_xtream_truncated_json_fails_and_loses_nothing(xtream: Panel) -> None:
    await xtream.sync()
    before = xtream.counts()
    xtream.state.config.truncate_lists = True
    run = await xtream.sync(scope="all", mode="full")
    assert run["status"] == "failed"
    assert run["error"]["code"] == "provider_bad_response"
    assert xtream.counts() == before


@pytest.mark.both_backends  # the engine's writes
async def test_m3u_full_sync_counts_every_kind(m3u: Panel) -> None:
    run = await m3u.sync()
    assert run["status"] == "succeeded", run
    c = m3u.counts()
    assert c["channels"] == len(m3u.catalogue.channels)
    assert c["movies"] == len(m3u.catalogue.movies)
    assert c["series"] == len({s.name for s in m3u.catalogue.series})
    assert m3u.programmes() > 0


@pytest.mark.both_backends  # the engine's writes
async def test_m3u_resync_removes_dropped_entries(m3u: Panel) -> None:
    await m3u.sync()
    m3u.state.remove("channel", [c.id for c in m3u.catalogue.channels[:2]])
    m3u.state.add("channel", 3)
    run = await m3u.sync(scope="channels")
    assert run["status"] == "succeeded", run
    assert run["counts"]["channels"]["added"] == 3
    assert run["counts"]["channels"]["removed"] == 2


async def test_m3u_billion_laughs_guide_is_refused_but_channels_sync(m3u: Panel) -> None:
    m3u.state.config.xmltv = "billion_laughs"
    run = await m3u.sync()
    assert run["status"] == "succeeded", run
    assert any(w.startswith("epg_rejected") for w in run["warnings"])
    assert m3u.counts()["channels"] == len(m3u.catalogue.channels)
    assert m3u.programmes() == 0


@pytest.mark.parametrize("mode", ["binary", "html"])
async def test_m3u_garbage_playlist_fails_and_loses_nothing(m3u: Panel, mode: str) -> None:
    await m3u.sync()
    before = m3u.counts()
    m3u.state.config.playlist = mode
    run = await m3u.sync(scope="all", mode="full")
    assert run["status"] in ("failed", "guarded"), run
    assert m3u.counts() == before


async def test_guide_is_fetched_again_only_when_stale_or_full(xtream: Panel) -> None:
    """Guides are big: an incremental sync re-downloads one only after epg_refresh_after_s."""
    await xtream.sync()
    fetched = xtream.state.stats["xmltv.php"]
    assert fetched >= 1 and xtream.programmes() > 0
    await xtream.sync(scope="all")  # channels "incremental": the fresh guide is kept
    assert xtream.state.stats["xmltv.php"] == fetched
    await xtream.sync(scope="all", mode="full")
    assert xtream.state.stats["xmltv.php"] == fetched + 1
    assert xtream.programmes() > 0

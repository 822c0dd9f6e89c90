"""Run errors and warnings say what happened, over real sockets: an expired account whose user
name is "expired" keeps its message whole (secrets are masked where they sit, not by their
text), and an Xtream panel whose ``xmltv.php`` is 404 warns that it has no guide while the
catalogue still syncs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.server import ServerThread
from iptvsync.fakes.xtream import XtreamFakeConfig, create_app
from iptvsync.providers.http import build_http_client
from iptvsync.providers.masking import mask_secrets
from iptvsync.providers.registry import make_client
from iptvsync.settings import Settings
from iptvsync.store import catalogue as catalogue_store
from iptvsync.store import providers as provider_store
from iptvsync.sync.engine import SyncContext, execute_run
from iptvsync.sync.service import prepare_run


@pytest.fixture(params=["xtream", "xui"])
def panel(request: pytest.FixtureRequest) -> Iterator[tuple[ServerThread, XtreamFakeConfig]]:
    config = XtreamFakeConfig(family=request.param, username="expired", password="s3cretpw")
    app = create_app(generate(seed=5, movies=30, series=5, channels=20), config)
    with ServerThread(app) as server:
        yield server, config


async def _sync(db: sa.Engine, settings: Settings, url: str) -> tuple[int, dict]:
    with db.begin() as conn:
        provider_id = provider_store.create_provider(
            conn,
            {
                "name": "xt",
                "kind": "xtream",
                "url": url,
                "username": "expired",
                "password": "s3cretpw",
            },
        )
    run_id, _ = prepare_run(db, settings, provider_id, scope="auto", mode="auto")
    async with build_http_client(timeout_s=10) as http:
        ctx = SyncContext(db=db, settings=settings, http=http, make_client=make_client)
        return provider_id, await execute_run(ctx, run_id)


async def test_an_expired_account_named_expired_keeps_its_message(
    db: sa.Engine, settings: Settings, panel: tuple[ServerThread, XtreamFakeConfig]
) -> None:
    server, config = panel
    config.account = "expired"
    _, run = await _sync(db, settings, server.url)
    assert run["status"] == "failed"
    assert run["error"]["code"] == "provider_account_expired"
    assert "expired on 2020-01-01" in run["error"]["message"], run["error"]
    assert "***" not in run["error"]["message"] and "s3cretpw" not in run["error"]["message"]


async def test_a_panel_without_a_guide_warns_and_syncs(
    db: sa.Engine, settings: Settings, panel: tuple[ServerThread, XtreamFakeConfig]
) -> None:
    server, config = panel
    config.no_guide = True
    provider_id, run = await _sync(db, settings, server.url)
    assert run["status"] == "succeeded", run
    assert "epg_unavailable: the panel has no guide" in run["warnings"]
    assert not any("provider_auth_failed" in w for w in run["warnings"])
    with db.connect() as conn:
        assert catalogue_store.live_counts(conn, provider_id)["channels"] == 20


def test_secrets_are_masked_where_they_sit() -> None:
    secrets = ["expired", "s3cretpw", "00:1A:79:12:34:56"]
    text = (
        "provider account expired on 2020-01-01; GET http://expired:s3cretpw@h/live/expired/"
        "s3cretpw/1.ts?username=expired&password=s3cretpw&x=expired password=s3cretpw "
        "mac 00:1A:79:12:34:56 Bearer abcdef"
    )
    out = mask_secrets(text, secrets)
    assert out.startswith("provider account expired on 2020-01-01; ")
    assert "s3cretpw" not in out and "12:34" not in out and "abcdef" not in out
    assert "/live/***/***/1.ts" in out and "username=***" in out and "x=***" in out
    assert "http://***@h/" in out

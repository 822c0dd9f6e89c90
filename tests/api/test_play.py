"""End to end through a fake Stalker portal: a real sync from the API builds the snapshot;
series seasons come from the portal on first request; play resolves links at play time and
is answered only to the admin, an allowed user or a valid signature."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from iptvsync.api.signing import play_query, sign, sign_play_url, verify
from iptvsync.app import create_app
from iptvsync.fakes.catalogue import Catalogue, generate
from iptvsync.fakes.items import seasons
from iptvsync.fakes.server import ServedHttp
from iptvsync.fakes.stalker import DEFAULT_MAC, FakeStalkerPortal, StalkerFakeConfig
from iptvsync.fakes.stalker import create_app as create_portal
from iptvsync.providers.http import ProviderHttp
from iptvsync.settings import Secret, Settings
from iptvsync.store.models import episodes, user_providers, users
from iptvsync.store.providers import create_provider, utcnow
from iptvsync.store.users import hash_token
from tests.api.conftest import assert_error

ADMIN = {"Authorization": "Bearer admin-secret-long-enough-0123456"}


@dataclass
class Portal:
    client: TestClient
    portal: FakeStalkerPortal
    catalogue: Catalogue
    http: ProviderHttp
    provider_id: int
    settings: Settings

    def sync(self) -> dict[str, Any]:
        r = self.client.post(f"/api/providers/{self.provider_id}/sync", headers=ADMIN)
        assert r.status_code == 202, r.text
        run_id = r.json()["run_id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            run = self.client.get(f"/api/sync-runs/{run_id}", headers=ADMIN).json()
            if run["status"] not in ("queued", "running"):
                return dict(run)
            time.sleep(0.05)
        raise AssertionError("the sync did not finish")


@pytest.fixture
def portal(settings: Settings, db: sa.Engine) -> Iterator[Portal]:
    catalogue = generate(5, movies=30, series=6, channels=12)
    fake = create_portal(catalogue, StalkerFakeConfig(family="stock"))
    fake.state.media.end_after_bytes = 188 * 10  # a live stream ends, so a body read ends
    http = ServedHttp(fake)
    with db.begin() as conn:
        provider_id = create_provider(
            conn,
            {
                "name": "fake",
                "kind": "stalker",
                "url": "http://portal.test/c/",
                "mac": DEFAULT_MAC,
                # These tests are about the redirect; the relay has its own (tests/relay/).
                "options": {"play_mode": "redirect"},
            },
        )
    settings = settings.replace(
        admin_token=Secret("admin-secret-long-enough-0123456"), scheduler=False
    )
    with TestClient(create_app(settings), follow_redirects=False) as client:
        # The provider is reached through the fake on a loopback socket, as the sync tests do.
        client.app.state.services.http = http  # type: ignore[attr-defined]
        p = Portal(client, fake.state.portal, catalogue, http, provider_id, settings)
        run = p.sync()
        assert run["status"] == "succeeded", run
        yield p


def _our_id(p: Portal, path: str, provider_item_id: int) -> int:
    items = p.client.get(path, params={"limit": 500}, headers=ADMIN).json()["items"]
    return next(i["id"] for i in items if i["provider_item_id"] == str(provider_item_id))


def test_sync_builds_the_snapshot(portal: Portal) -> None:
    r = portal.client.get(f"/api/providers/{portal.provider_id}/snapshot", headers=ADMIN)
    assert r.status_code == 200
    body = r.json()
    assert body["stats"]["movies"] == 30 and len(body["channels"]) == 12
    assert r.headers["etag"] == f'W/"{body["version"]}"'
    # A sync that changes nothing keeps the version and the ETag.
    again = portal.sync()
    assert again["status"] == "succeeded"
    r2 = portal.client.get(f"/api/providers/{portal.provider_id}/snapshot", headers=ADMIN)
    assert r2.headers["etag"] == r.headers["etag"]
    portal.portal.add("movie", 2)
    portal.sync()
    r3 = portal.client.get(
        f"/api/providers/{portal.provider_id}/snapshot",
        params={"since": body["version"]},
        headers=ADMIN,
    )
    assert r3.status_code == 200
    assert len(r3.json()["added"]["movies"]) == 2


def test_series_seasons_are_fetched_once_and_cached(portal: Portal) -> None:
    fake_series = portal.catalogue.series[0]
    ours = _our_id(portal, f"/api/providers/{portal.provider_id}/series", fake_series.id)
    url = f"/api/providers/{portal.provider_id}/series/{ours}"
    r = portal.client.get(url, headers=ADMIN)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name"] == fake_series.name and "description" in body
    expected = seasons(fake_series)
    assert [s["number"] for s in body["seasons"]] == [s.number for s in expected]
    assert [len(s["episodes"]) for s in body["seasons"]] == [len(s.episodes) for s in expected]
    assert [e["number"] for e in body["seasons"][0]["episodes"]] == [
        e.number for e in expected[0].episodes
    ]
    requests_before = portal.portal.stats.requests
    again = portal.client.get(url, headers=ADMIN).json()
    assert again["seasons"] == body["seasons"], "same ids: cached, not fetched again"
    assert portal.portal.stats.requests == requests_before
    assert_error(
        portal.client.get(f"/api/providers/{portal.provider_id}/series/987654", headers=ADMIN),
        404,
        "not_found",
    )


def test_play_redirects_to_a_fresh_link(portal: Portal) -> None:
    pid = portal.provider_id
    channel = _our_id(portal, f"/api/providers/{pid}/channels", portal.catalogue.channels[0].id)
    r = portal.client.get(f"/api/providers/{pid}/play/channel/{channel}", headers=ADMIN)
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    assert location.startswith("http://portal.test/")
    assert r.headers["cache-control"] == "no-store"
    second = portal.client.get(f"/api/providers/{pid}/play/channel/{channel}", headers=ADMIN)
    assert second.headers["location"] != location, "a fresh link each time, never stored"
    stream = portal.client.portal.call(portal.http.get_small, location)  # type: ignore[union-attr]
    assert stream.status_code == 200

    movie = _our_id(portal, f"/api/providers/{pid}/movies", portal.catalogue.movies[0].id)
    r = portal.client.get(f"/api/providers/{pid}/play/movie/{movie}", headers=ADMIN)
    assert r.status_code == 302 and r.headers["location"].startswith("http")

    series = _our_id(portal, f"/api/providers/{pid}/series", portal.catalogue.series[1].id)
    detail = portal.client.get(f"/api/providers/{pid}/series/{series}", headers=ADMIN).json()
    episode = detail["seasons"][0]["episodes"][0]["id"]
    r = portal.client.get(f"/api/providers/{pid}/play/episode/{episode}", headers=ADMIN)
    assert r.status_code == 302, r.text

    for bad in ("channel/987654", "movie/987654", "episode/987654"):
        assert_error(
            portal.client.get(f"/api/providers/{pid}/play/{bad}", headers=ADMIN), 404, "not_found"
        )
    assert_error(
        portal.client.get(f"/api/providers/{pid}/play/book/1", headers=ADMIN),
        422,
        "validation_error",
    )


def test_a_refusing_portal_is_a_clear_502_without_secrets(portal: Portal) -> None:
    pid = portal.provider_id
    channel = _our_id(portal, f"/api/providers/{pid}/channels", portal.catalogue.channels[1].id)
    series = _our_id(portal, f"/api/providers/{pid}/series", portal.catalogue.series[2].id)
    portal.portal.config.mac_allowed = ()  # the portal no longer knows our MAC
    r = portal.client.get(f"/api/providers/{pid}/play/channel/{channel}", headers=ADMIN)
    error = assert_error(r, 502, "provider_auth_failed")
    assert DEFAULT_MAC not in r.text and DEFAULT_MAC.replace(":", "%3A") not in r.text
    assert "location" not in r.headers
    r = portal.client.get(f"/api/providers/{pid}/series/{series}", headers=ADMIN)
    assert_error(r, 502, error["code"])


def test_play_needs_credentials_or_a_valid_signature(portal: Portal, db: sa.Engine) -> None:
    pid = portal.provider_id
    channel = _our_id(portal, f"/api/providers/{pid}/channels", portal.catalogue.channels[2].id)
    path = f"/api/providers/{pid}/play/channel/{channel}"
    c = portal.client
    assert_error(c.get(path), 401, "unauthorized")
    assert_error(c.get(path, headers={"Authorization": "Bearer nope"}), 403, "forbidden")

    good = sign(portal.settings, pid, "channel", channel)
    assert c.get(path, params={"sig": good}).status_code == 302
    url = sign_play_url(portal.settings, pid, "channel", channel, base_url="http://testserver")
    assert c.get(url).status_code == 302
    assert (
        c.get(f"{path}?{play_query(portal.settings, pid, 'channel', channel)}").status_code == 302
    )

    expired = sign(portal.settings, pid, "channel", channel, ttl_s=-10)
    other_item = sign(portal.settings, pid, "channel", channel + 1)
    other_kind = sign(portal.settings, pid, "movie", channel)
    expires, _, mac = good.partition(".")
    later = f"{int(expires) + 1000}.{mac}"
    # Its last two characters changed, never to themselves (a MAC ends in "AA" once in 256).
    tampered = good[:-2] + ("BB" if good.endswith("AA") else "AA")
    # Digits int() refuses ("²" is a digit to str.isdigit) are a bad signature, not a crash.
    superscript = f"\u00b2\u00b3.{mac}"
    for bad in (expired, other_item, other_kind, later, "garbage", tampered, superscript):
        assert_error(c.get(path, params={"sig": bad}), 403, "forbidden")

    # An output user sees only the providers it is given.
    with db.begin() as conn:
        uid = conn.execute(
            users.insert().values(
                username="viewer",
                password_hash="x",
                token_hash=hash_token("viewer-token"),
                all_providers=False,
                created_at=utcnow(),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    viewer = {"Authorization": "Bearer viewer-token"}
    assert_error(c.get(path, headers=viewer), 404, "not_found")
    with db.begin() as conn:
        conn.execute(user_providers.insert().values(user_id=uid, provider_id=pid))
    assert c.get(path, headers=viewer).status_code == 302
    assert c.get(f"/api/providers/{pid}/movies", headers=viewer).status_code == 200


def test_signatures_are_bound_to_the_key(settings: Settings) -> None:
    sig = sign(settings, 1, "movie", 5, now=1_000)
    assert verify(settings, 1, "movie", 5, sig, now=1_001)
    assert not verify(settings, 1, "movie", 5, sig, now=1_000 + 8 * 24 * 3600)
    other = settings.replace(secret_key=Secret("another key"))
    assert not verify(other, 1, "movie", 5, sig, now=1_001)
    # Without a configured key, the random key file keeps signatures valid across restarts.
    assert (settings.data_dir / "secret.key").exists()
    assert verify(settings.replace(), 1, "movie", 5, sig, now=1_001)
    # The admin token plays no part in it (a play URL must not let anyone test token guesses).
    tokened = settings.replace(admin_token=Secret("x" * 30))
    assert verify(tokened, 1, "movie", 5, sig, now=1_001)


def test_episodes_are_kept_by_id(portal: Portal, db: sa.Engine) -> None:
    pid = portal.provider_id
    series = _our_id(portal, f"/api/providers/{pid}/series", portal.catalogue.series[3].id)
    first = portal.client.get(f"/api/providers/{pid}/series/{series}", headers=ADMIN).json()
    with db.begin() as conn:  # make the cache stale: the next request fetches again
        from iptvsync.store.models import series as series_table

        conn.execute(
            series_table.update()
            .where(series_table.c.id == series)
            .values(episodes_fetched_at=utcnow().replace(year=2000))
        )
    again = portal.client.get(f"/api/providers/{pid}/series/{series}", headers=ADMIN).json()
    assert again["seasons"] == first["seasons"]
    with db.connect() as conn:
        count = conn.execute(
            sa.select(sa.func.count()).where(episodes.c.series_id == series)
        ).scalar_one()
    assert count == sum(len(s["episodes"]) for s in first["seasons"])

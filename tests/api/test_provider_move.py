"""A provider whose URL changes keeps every picture (docs/providers.md, "When a provider's URL
changes"), and provider names are unique (409 ``provider_name_taken``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from iptvsync.app import create_app
from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.server import ServerThread
from iptvsync.fakes.stalker import DEFAULT_MAC, StalkerFakeConfig
from iptvsync.fakes.stalker import create_app as portal_app
from iptvsync.settings import Settings
from iptvsync.store.models import movies
from iptvsync.store.rebase import origin, rebase_images
from tests.api.conftest import seed_provider

SIZES = {"movies": 120, "series": 30, "channels": 40}


def _wait(client: TestClient, pid: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = client.get(f"/api/providers/{pid}/sync").json()
        if state["running"] is None and state["last_runs"]:
            return state["last_runs"][0]  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError("the run did not end")


def _images(client: TestClient, pid: int) -> list[str]:
    urls = []
    for kind, key in (("movies", "poster"), ("series", "poster"), ("channels", "logo")):
        page = client.get(f"/api/providers/{pid}/{kind}?limit=500").json()
        urls += [item[key] for item in page["items"] if item[key]]
    return urls


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def test_a_provider_url_change_keeps_every_image(client: TestClient) -> None:
    catalogue = generate(seed=3, **SIZES)
    with ServerThread(portal_app(catalogue, StalkerFakeConfig())) as old:
        body = {"name": "moving", "kind": "stalker", "url": f"{old.url}/c/", "mac": DEFAULT_MAC}
        pid = client.post("/api/providers", json=body).json()["id"]
        client.post(f"/api/providers/{pid}/sync")
        assert _wait(client, pid)["status"] == "succeeded"
        before = client.get(f"/api/providers/{pid}/snapshot").json()
        assert all(u.startswith(old.url + "/") for u in _images(client, pid))
    # The old portal is gone; the provider now answers on another port.
    with ServerThread(portal_app(catalogue, StalkerFakeConfig())) as new:
        assert new.url != old.url
        answer = client.patch(f"/api/providers/{pid}", json={"url": f"{new.url}/c/"})
        assert answer.status_code == 200, answer.text
        urls = _images(client, pid)
        assert len(urls) >= SIZES["movies"] + SIZES["channels"]
        with httpx.Client(timeout=10) as http:
            failed = [u for u in urls if http.get(u).status_code != 200]
        assert failed == [], failed[:5]
        # Apps see the move too: a new snapshot version and a delta that carries the rows.
        after = client.get(f"/api/providers/{pid}/snapshot").json()
        assert after["version"] == before["version"] + 1
        assert all(m["poster"].startswith(new.url + "/") for m in after["movies"] if m["poster"])
        delta = client.get(f"/api/providers/{pid}/snapshot?since={before['version']}").json()
        changed = {m["id"] for m in delta["changed"]["movies"]}
        assert changed == {m["id"] for m in before["movies"] if m["poster"]}
        # The next sync from the new host finds nothing to change.
        client.post(f"/api/providers/{pid}/sync", json={"mode": "full"})
        run = _wait(client, pid)
        assert run["status"] == "succeeded"
        assert all(u.startswith(new.url + "/") for u in _images(client, pid))


def test_only_urls_on_the_old_origin_move(db: sa.Engine) -> None:
    seeded = seed_provider(db)
    with db.begin() as conn:
        ids = list(
            conn.execute(sa.select(movies.c.id).where(movies.c.provider_id == seeded.provider_id))
        )
        cdn, own, upper = ids[0].id, ids[1].id, ids[2].id
        for row_id, url in (
            (cdn, "http://cdn.example.com/p/1.jpg"),
            (own, "http://portal.test/stalker_portal/screenshots/1.jpg"),
            (upper, "HTTP://Portal.Test/images/2.jpg"),
        ):
            conn.execute(movies.update().where(movies.c.id == row_id).values(poster=url))
        conn.execute(
            movies.update()
            .where(movies.c.id == ids[3].id)
            .values(poster="http://portal.test.evil.com/x.jpg")
        )
        moved = rebase_images(
            conn, seeded.provider_id, "http://portal.test/c/", "https://new.test:8443/c/"
        )
        posters = dict(
            conn.execute(
                sa.select(movies.c.id, movies.c.poster).where(
                    movies.c.id.in_([i.id for i in ids[:4]])
                )
            ).all()
        )
    assert moved >= 2
    assert posters[cdn] == "http://cdn.example.com/p/1.jpg"
    assert posters[own] == "https://new.test:8443/stalker_portal/screenshots/1.jpg"
    assert posters[upper] == "https://new.test:8443/images/2.jpg"
    assert posters[ids[3].id] == "http://portal.test.evil.com/x.jpg"
    assert origin("http://user:pw@Host:81/c/") == "http://host:81"
    assert origin("not a url") is None


def test_a_taken_name_is_409_on_add_and_rename(client: TestClient) -> None:
    body = {"name": "home", "kind": "m3u", "url": "http://host.test/a.m3u"}
    first = client.post("/api/providers", json=body)
    assert first.status_code == 201
    again = client.post("/api/providers", json={**body, "url": "http://other.test/b.m3u"})
    assert again.status_code == 409, again.text
    error = again.json()["error"]
    assert error["code"] == "provider_name_taken" and "home" in error["message"]
    assert error["detail"]["provider_id"] == first.json()["id"]
    assert [p["name"] for p in client.get("/api/providers").json()["items"]] == ["home"]
    second = client.post("/api/providers", json={**body, "name": "work"}).json()
    renamed = client.patch(f"/api/providers/{second['id']}", json={"name": "home"})
    assert renamed.status_code == 409 and renamed.json()["error"]["code"] == "provider_name_taken"
    same = client.patch(f"/api/providers/{first.json()['id']}", json={"name": "home"})
    assert same.status_code == 200


def test_no_url_change_under_a_running_sync_and_no_empty_name(client: TestClient) -> None:
    catalogue = generate(seed=5, movies=600, series=20, channels=20)
    with ServerThread(portal_app(catalogue, StalkerFakeConfig(latency_ms=60))) as portal:
        body = {"name": "busy", "kind": "stalker", "url": f"{portal.url}/c/", "mac": DEFAULT_MAC}
        pid = client.post("/api/providers", json=body).json()["id"]
        assert client.patch(f"/api/providers/{pid}", json={"name": None}).status_code == 422
        assert client.post(f"/api/providers/{pid}/sync").status_code == 202
        moved = client.patch(f"/api/providers/{pid}", json={"url": "http://elsewhere.test/c/"})
        assert moved.status_code == 409 and moved.json()["error"]["code"] == "sync_running"
        renamed = client.patch(f"/api/providers/{pid}", json={"name": "still busy"})
        assert renamed.status_code == 200  # only the URL waits for the sync
        client.post(f"/api/providers/{pid}/sync/cancel")
        _wait(client, pid)
        assert client.get(f"/api/providers/{pid}").json()["url"] == f"{portal.url}/c/"

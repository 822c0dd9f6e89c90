"""The guide endpoints, fed by a real sync of a fake Xtream panel on a real socket."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from iptvsync.app import create_app
from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.server import ServerThread
from iptvsync.fakes.xtream import XtreamFakeConfig
from iptvsync.fakes.xtream import create_app as xtream_app
from iptvsync.settings import Settings

pytestmark = pytest.mark.both_backends


@pytest.fixture
def synced(settings: Settings) -> Iterator[tuple[TestClient, int]]:
    catalogue = generate(seed=5, movies=20, series=4, channels=30)
    # The fake guides from midnight on: 30 hours always cover "now".
    panel = xtream_app(catalogue, XtreamFakeConfig(epg_channels=10, epg_hours=30))
    with ServerThread(panel) as server, TestClient(create_app(settings)) as client:
        created = client.post(
            "/api/providers",
            json={
                "name": "xt",
                "kind": "xtream",
                "url": server.url,
                "username": "user",
                "password": "pass",
            },
        )
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        assert client.post(f"/api/providers/{pid}/sync").status_code == 202
        run = _wait(client, pid)
        assert run["status"] == "succeeded", run
        yield client, pid


def _wait(client: TestClient, pid: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = client.get(f"/api/providers/{pid}/sync").json()
        if state["running"] is None and state["last_runs"]:
            return state["last_runs"][0]  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError("sync did not finish")


def test_now_and_next_for_every_channel(synced: tuple[TestClient, int]) -> None:
    client, pid = synced
    body = client.get(f"/api/providers/{pid}/epg/now", params={"limit": 500}).json()
    assert body["total"] == 30 and len(body["items"]) == 30 and body["hasMore"] is False
    guided = [i for i in body["items"] if i["now"] is not None]
    assert guided, "channels with a guide have a programme on now"
    now = datetime.now(UTC)
    for item in guided:
        start = datetime.fromisoformat(item["now"]["start"].replace("Z", "+00:00"))
        stop = datetime.fromisoformat(item["now"]["stop"].replace("Z", "+00:00"))
        assert start <= now < stop
        if item["next"]:
            assert item["next"]["start"] >= item["now"]["stop"]
    assert any(i["now"] is None and i["next"] is None for i in body["items"])


def test_channel_programmes_in_a_range(synced: tuple[TestClient, int]) -> None:
    client, pid = synced
    now_items = client.get(f"/api/providers/{pid}/epg/now", params={"limit": 500}).json()
    channel = next(i for i in now_items["items"] if i["now"])
    running = channel["now"]
    start = datetime.fromisoformat(running["start"].replace("Z", "+00:00"))
    mid = start + (datetime.fromisoformat(running["stop"].replace("Z", "+00:00")) - start) / 2
    url = f"/api/providers/{pid}/channels/{channel['channel_id']}/epg"
    items = client.get(url, params={"from": int(mid.timestamp())}).json()["items"]
    assert items[0]["start"] == running["start"], "the programme running at `from` is included"
    later = client.get(
        url, params={"from": mid.isoformat(), "to": (mid + timedelta(hours=2)).isoformat()}
    ).json()["items"]
    assert later and all(p["start"] < (mid + timedelta(hours=2)).isoformat() for p in later)
    assert {"start", "stop", "title", "subtitle", "description", "category", "episode"} == set(
        items[0]
    )


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"from": "yesterday"}, 422),
        ({"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, 422),
        ({"from": "0", "to": "99999999"}, 422),
    ],
)
def test_bad_ranges_are_refused(
    synced: tuple[TestClient, int], params: dict[str, str], status: int
) -> None:
    client, pid = synced
    channel = client.get(f"/api/providers/{pid}/channels").json()["items"][0]["id"]
    answer = client.get(f"/api/providers/{pid}/channels/{channel}/epg", params=params)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == "validation_error"


def test_unknown_channel_and_provider(synced: tuple[TestClient, int]) -> None:
    client, pid = synced
    assert client.get(f"/api/providers/{pid}/channels/999999/epg").status_code == 404
    missing = client.get("/api/providers/999/epg/now")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert client.get(f"/api/providers/{pid}/epg/now", params={"page": 0}).status_code == 422

"""A Stalker portal's own guide end to end, over real sockets, on both families of the fake:
portal → sync → the guide tables → ``/xmltv.xml``, ``/epg/now``, ``/channels/{id}/epg`` and
the Xtream output's ``get_short_epg``. And bad input: a guide action that errors or times out
still syncs channels and VOD with a warning; broken programme times are dropped and counted."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from iptvsync.app import create_app
from iptvsync.fakes.catalogue import Catalogue, generate
from iptvsync.fakes.server import ServerThread
from iptvsync.fakes.stalker import DEFAULT_MAC, StalkerFakeConfig
from iptvsync.fakes.stalker import create_app as portal_app
from iptvsync.settings import Settings
from iptvsync.store.db import create_db_engine
from iptvsync.store.models import programmes

FAMILIES = ["stock", "reseller"]


def _wait(client: TestClient, pid: int) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        state = client.get(f"/api/providers/{pid}/sync").json()
        if state["running"] is None and state["last_runs"]:
            return state["last_runs"][0]  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError("sync did not finish")


def _sync(
    settings: Settings, family: str, options: dict[str, Any] | None = None, **fake: Any
) -> Iterator[tuple[TestClient, int, dict[str, Any], Catalogue]]:
    catalogue = generate(seed=9, movies=30, series=4, channels=40)
    portal = portal_app(catalogue, StalkerFakeConfig(family=family, **fake))
    with ServerThread(portal) as server, TestClient(create_app(settings)) as client:
        created = client.post(
            "/api/providers",
            json={
                "name": "mag",
                "kind": "stalker",
                "url": f"{server.url}/c/",
                "mac": DEFAULT_MAC,
                "options": options or {},
            },
        )
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        assert client.post(f"/api/providers/{pid}/sync").status_code == 202
        yield client, pid, _wait(client, pid), catalogue


def _guided(catalogue: Catalogue) -> set[str]:
    return {c.xmltv_id for c in catalogue.channels if c.xmltv_id}


def _stored(settings: Settings) -> int:
    engine = create_db_engine(settings.resolved_database_url())
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(programmes)).scalar_one()
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("bulk", [True, False], ids=["get_epg_info", "short_epg"])
def test_the_portals_guide_end_to_end(settings: Settings, family: str, bulk: bool) -> None:
    for client, pid, run, catalogue in _sync(settings, family, epg_info=bulk):
        assert run["status"] == "succeeded", run
        assert not [w for w in run["warnings"] if w.startswith("epg")], run["warnings"]
        # /xmltv.xml has the portal's programmes, on the channels' xmltv ids, in UTC.
        doc = ET.fromstring(client.get("/xmltv.xml").content)
        progs = doc.findall("programme")
        assert {p.get("channel") for p in progs} == _guided(catalogue)
        assert all(str(p.get("start")).endswith("+0000") for p in progs)
        # /epg/now: every guided channel has a programme running now, in UTC.
        now = datetime.now(UTC)
        items = client.get(f"/api/providers/{pid}/epg/now", params={"limit": 500}).json()["items"]
        running = [i for i in items if i["now"]]
        assert len(running) == sum(1 for c in catalogue.channels if c.xmltv_id)
        for item in running:
            start = datetime.fromisoformat(item["now"]["start"].replace("Z", "+00:00"))
            stop = datetime.fromisoformat(item["now"]["stop"].replace("Z", "+00:00"))
            assert start <= now < stop
            assert item["next"] and item["next"]["start"] == item["now"]["stop"]
        channel = running[0]["channel_id"]
        listed = client.get(f"/api/providers/{pid}/channels/{channel}/epg").json()["items"]
        assert listed and listed[0]["title"]
        # The Xtream output's EPG action.
        xt = client.get(
            "/player_api.php",
            params={"username": "u", "password": "p", "action": "get_short_epg",
                    "stream_id": channel, "limit": 3},
        ).json()  # fmt: skip
        assert len(xt["epg_listings"]) == 3


def test_guide_times_are_utc_whatever_the_portals_zone(settings: Settings) -> None:
    """No Unix timestamps: only local times in the cookie's zone (here Europe/Paris)."""
    fake = {"epg_timestamps": False, "epg_broken_every": 5}
    catalogue = generate(seed=9, movies=30, series=4, channels=40)
    portal = portal_app(catalogue, StalkerFakeConfig(**fake))
    with ServerThread(portal) as server, TestClient(create_app(settings)) as client:
        created = client.post(
            "/api/providers",
            json={"name": "mag", "kind": "stalker", "url": f"{server.url}/c/",
                  "mac": DEFAULT_MAC, "options": {"timezone": "Europe/Paris"}},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        client.post(f"/api/providers/{pid}/sync")
        run = _wait(client, pid)
        assert run["status"] == "succeeded", run
        assert any(w.startswith("epg_bad_times: ") for w in run["warnings"]), run["warnings"]
        now = datetime.now(UTC)
        items = client.get(f"/api/providers/{pid}/epg/now", params={"limit": 500}).json()["items"]
        running = [i for i in items if i["now"]]
        assert running
        for item in running:
            start = datetime.fromisoformat(item["now"]["start"].replace("Z", "+00:00"))
            stop = datetime.fromisoformat(item["now"]["stop"].replace("Z", "+00:00"))
            assert start <= now < stop, "a zone slip would shift every programme by 1-2 hours"


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("failure", ["500", "timeout"])
def test_a_failing_guide_still_syncs_the_catalogue(
    settings: Settings, family: str, failure: str
) -> None:
    fake = {"epg_fail": failure, "epg_delay_s": 3.0}
    options = {"guide_timeout_s": 1.0}
    for client, pid, run, catalogue in _sync(settings, family, options, **fake):
        assert run["status"] == "succeeded", run
        expected = "provider_timeout" if failure == "timeout" else "provider_unreachable"
        assert f"epg_unavailable: {expected}" in run["warnings"], run["warnings"]
        counts = client.get(f"/api/providers/{pid}").json()
        assert client.get(f"/api/providers/{pid}/channels").json()["total"] == len(
            catalogue.channels
        ), counts
        assert client.get(f"/api/providers/{pid}/movies").json()["total"] == len(catalogue.movies)
    assert _stored(settings) == 0

"""A Stalker provider's MAC pool over real sockets, on both families of the fake: a sync uses
one healthy MAC, refused MACs are marked with their reason in the store and skipped next time,
the provider API and probe show each MAC's state and expiry, and a pool whose every MAC is
refused fails with one clear error naming how many were tried, losing nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from iptvsync.app import create_app
from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.server import ServerThread
from iptvsync.fakes.stalker import DEFAULT_MAC, FakeStalkerPortal, StalkerFakeConfig
from iptvsync.fakes.stalker import create_app as portal_app
from iptvsync.settings import Settings
from tests.api.test_stalker_guide import FAMILIES, _wait

SECOND = "00:1A:79:00:00:02"
THIRD = "00:1A:79:00:00:03"
FOURTH = "00:1A:79:00:00:04"


@pytest.fixture(params=FAMILIES)
def rig(
    request: pytest.FixtureRequest, settings: Settings
) -> Iterator[tuple[TestClient, int, FakeStalkerPortal]]:
    catalogue = generate(seed=9, movies=30, series=4, channels=40)
    # The provider's own MAC is refused, the second is expired, the third disabled, the
    # fourth works.
    config = StalkerFakeConfig(
        family=request.param,
        mac_allowed=(SECOND, THIRD, FOURTH),
        mac_states={SECOND: "expired", THIRD: "disabled"},
    )
    app = portal_app(catalogue, config)
    with ServerThread(app) as server, TestClient(create_app(settings)) as client:
        created = client.post(
            "/api/providers",
            json={"name": "mag", "kind": "stalker", "url": f"{server.url}/c/", "mac": DEFAULT_MAC},
        )
        pid = created.json()["id"]
        pool = client.put(
            f"/api/providers/{pid}/macs",
            json={
                "macs": [{"mac": SECOND}, {"mac": THIRD}, {"mac": FOURTH, "sn": "0A1B2C3D4E5F6"}]
            },
        )
        assert pool.status_code == 200, pool.text
        assert [m["state"] for m in pool.json()["items"]] == ["unknown"] * 4
        yield client, pid, app.state.portal


def _sync(client: TestClient, pid: int, **params: Any) -> dict[str, Any]:
    assert client.post(f"/api/providers/{pid}/sync", params=params).status_code == 202
    return _wait(client, pid)


def test_a_sync_uses_the_healthy_mac_and_records_the_others(
    rig: tuple[TestClient, int, FakeStalkerPortal],
) -> None:
    client, pid, portal = rig
    run = _sync(client, pid)
    assert run["status"] == "succeeded", run
    items = client.get(f"/api/providers/{pid}/macs").json()["items"]
    assert [m["mac"] for m in items] == [
        "00:1A:79:XX:XX:56", "00:1A:79:XX:XX:02", "00:1A:79:XX:XX:03", "00:1A:79:XX:XX:04",
    ]  # fmt: skip
    assert [m["state"] for m in items] == ["refused", "expired", "disabled", "ok"]
    assert items[0]["reason"].startswith("provider_auth_failed: ")
    assert items[1]["reason"].startswith("provider_account_expired: ")
    assert items[2]["reason"].startswith("provider_account_disabled: ")
    assert items[3]["expires_at"].startswith("2027-03-05") and items[3]["reason"] is None
    assert all(m["checked_at"] for m in items)
    body = str(client.get(f"/api/providers/{pid}/macs").json())
    assert "12:34" not in body and "00:00:04" not in body
    assert client.get(f"/api/providers/{pid}/channels").json()["total"] == 40
    # The next sync starts with the MAC that works: one profile asked, not four.
    portal.reset_stats()
    assert _sync(client, pid, mode="full")["status"] == "succeeded"
    assert portal.stats.profiles == 1
    # probe shows every MAC's state.
    probe = client.post(f"/api/providers/{pid}/probe").json()
    states = {m["mac"]: m["state"] for m in probe["macs"]}
    assert states == {
        "00:1A:79:XX:XX:04": "ok", "00:1A:79:XX:XX:56": "refused",
        "00:1A:79:XX:XX:02": "expired", "00:1A:79:XX:XX:03": "disabled",
    }  # fmt: skip


def test_every_mac_refused_is_one_clear_error_and_loses_nothing(
    rig: tuple[TestClient, int, FakeStalkerPortal],
) -> None:
    client, pid, portal = rig
    assert _sync(client, pid)["status"] == "succeeded"
    portal.configure(mac_allowed=[])
    run = _sync(client, pid, mode="full")
    assert run["status"] == "failed"
    assert run["error"]["code"] == "provider_auth_failed"
    assert run["error"]["message"] == "the portal refused every MAC of this provider (4 tried)"
    assert client.get(f"/api/providers/{pid}/channels").json()["total"] == 40
    assert client.get(f"/api/providers/{pid}/movies").json()["total"] == 30
    items = client.get(f"/api/providers/{pid}/macs").json()["items"]
    assert {m["state"] for m in items} == {"refused"}  # unregistered now, every one


def test_only_stalker_providers_have_macs(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        pid = client.post(
            "/api/providers",
            json={"name": "m", "kind": "m3u", "url": "http://127.0.0.1:9/list.m3u"},
        ).json()["id"]
        answer = client.put(f"/api/providers/{pid}/macs", json={"macs": [{"mac": SECOND}]})
        assert answer.status_code == 422
        bad = client.get("/api/providers/999/macs")
        assert bad.status_code == 404


def test_a_pool_given_at_creation_is_kept_and_shown_masked(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        created = client.post(
            "/api/providers",
            json={
                "name": "pool-at-birth",
                "kind": "stalker",
                "url": "http://127.0.0.1:9/c/",
                "mac": DEFAULT_MAC,
                "macs": [
                    {"mac": SECOND, "serial": "0A1B2C3D4E5F6", "signature": "sig-1"},
                    {"mac": THIRD.lower(), "sn": "SN3"},
                ],
            },
        )
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        expected = ["00:1A:79:XX:XX:56", "00:1A:79:XX:XX:02", "00:1A:79:XX:XX:03"]
        assert [m["mac"] for m in created.json()["macs"]] == expected
        shown = client.get(f"/api/providers/{pid}").json()
        assert [m["mac"] for m in shown["macs"]] == expected
        assert {m["state"] for m in shown["macs"]} == {"unknown"}
        text = str(shown)
        assert "00:00:02" not in text and "0A1B2C3D4E5F6" not in text and "sig-1" not in text
        # The box identities are stored with each MAC (the serial under the portal's name).
        with client.app.state.services.db.connect() as conn:  # type: ignore[attr-defined]
            from iptvsync.store import macs

            identities = [e["identity"] for e in macs.pool(conn, pid)]
        assert identities == [{}, {"sn": "0A1B2C3D4E5F6", "signature": "sig-1"}, {"sn": "SN3"}]


def test_a_pool_on_another_kind_or_a_bad_mac_is_refused(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        other = client.post(
            "/api/providers",
            json={
                "name": "x",
                "kind": "m3u",
                "url": "http://127.0.0.1:9/l.m3u",
                "macs": [{"mac": SECOND}],
            },
        )
        assert other.status_code == 422 and "MAC pool" in other.text
        bad = client.post(
            "/api/providers",
            json={
                "name": "y", "kind": "stalker", "url": "http://127.0.0.1:9/c/",
                "mac": DEFAULT_MAC, "macs": [{"mac": "not-a-mac"}],
            },
        )  # fmt: skip
        assert bad.status_code == 422
        assert client.get("/api/providers").json()["items"] == []

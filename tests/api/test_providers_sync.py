"""docs/api.md, "Providers" and "Sync", exactly: paths, shapes, statuses, error codes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from iptvsync.app import create_app
from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.server import ServerThread
from iptvsync.fakes.stalker import DEFAULT_MAC, FakeStalkerPortal, StalkerFakeConfig
from iptvsync.fakes.stalker import create_app as portal_app
from iptvsync.settings import Secret, Settings

RUN_KEYS = {
    "id", "provider_id", "scope", "mode", "plan", "status", "phase", "progress", "counts",
    "requests", "incomplete", "warnings", "error", "created_at", "started_at", "finished_at",
}  # fmt: skip
PROGRESS_KEYS = {"done_pages", "total_pages", "done_items", "total_items", "items_per_s", "eta_s"}


@dataclass
class Env:
    client: TestClient
    portal: FakeStalkerPortal
    portal_url: str

    def add(self, **over: Any) -> dict[str, Any]:
        body = {
            "name": "home",
            "kind": "stalker",
            "url": f"{self.portal_url}/c/",
            "mac": DEFAULT_MAC,
        }
        answer = self.client.post("/api/providers", json={**body, **over})
        assert answer.status_code == 201, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def wait(self, pid: int, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.client.get(f"/api/providers/{pid}/sync").json()
            if state["running"] is None and state["last_runs"]:
                return state["last_runs"][0]  # type: ignore[no-any-return]
            time.sleep(0.05)
        raise AssertionError("the run did not end")


@pytest.fixture
def env(settings: Settings) -> Iterator[Env]:
    catalogue = generate(seed=9, movies=300, series=40, channels=40)
    portal = portal_app(catalogue, StalkerFakeConfig())
    # No ticking scheduler here: a provider created with a schedule is due at once, so its
    # first run would start whenever the first tick lands, and DELETE is 409 while it runs.
    # Schedules have their own tests (tests/api/test_schedules_and_events.py).
    settings = settings.replace(scheduler=False)
    with ServerThread(portal) as server, TestClient(create_app(settings)) as client:
        yield Env(client, portal.state.portal, server.url)


def error_of(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


def test_provider_crud_shapes_and_secrets(env: Env) -> None:
    created = env.add(options={"schedule": {"every": "6h"}})
    assert created["kind"] == "stalker" and created["name"] == "home"
    assert created["mac"] == "00:1A:79:XX:XX:56"
    assert DEFAULT_MAC not in orjson.dumps(created).decode()
    pid = created["id"]
    listed = env.client.get("/api/providers").json()
    assert [p["id"] for p in listed["items"]] == [pid]
    patched = env.client.patch(f"/api/providers/{pid}", json={"name": "renamed"}).json()
    assert (
        patched["name"] == "renamed" and env.client.get(f"/api/providers/{pid}").json() == patched
    )
    assert env.client.get(f"/api/providers/{pid}/sync").json()["last_runs"] == []
    assert env.client.delete(f"/api/providers/{pid}").status_code == 204
    error_of(env.client.get(f"/api/providers/{pid}"), 404, "not_found")


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "kind": "stalker", "url": "ftp://host/c/", "mac": DEFAULT_MAC},
        {"name": "x", "kind": "nope", "url": "http://host/c/", "mac": DEFAULT_MAC},
        {"name": "x", "kind": "stalker", "url": "http://host/c/", "mac": "00:1A:79:12:34"},
        {"name": "x", "kind": "stalker", "url": "http://host/c/"},
        {"name": "x", "kind": "xtream", "url": "http://host", "username": "u"},
        {"name": "", "kind": "m3u", "url": "http://host/a.m3u"},
        {"name": "x", "kind": "m3u", "url": "http://host/a.m3u", "surprise": 1},
        {
            "name": "x",
            "kind": "m3u",
            "url": "http://h/a.m3u",
            "options": {"schedule": {"every": "0s"}},
        },
    ],
)
def test_bad_provider_bodies_are_422(env: Env, body: dict[str, Any]) -> None:
    error = error_of(env.client.post("/api/providers", json=body), 422, "validation_error")
    assert error["detail"]["errors"]


def test_sync_lifecycle_409_events_and_run_shape(env: Env) -> None:
    pid = env.add()["id"]
    env.portal.configure(latency_ms=30)
    started = env.client.post(f"/api/providers/{pid}/sync")
    assert started.status_code == 202
    body = started.json()
    assert set(body) == {"run_id", "plan"}
    assert body["plan"] == {"channels": "full", "vod": "full"}
    again = error_of(env.client.post(f"/api/providers/{pid}/sync-channels"), 409, "sync_running")
    assert again["detail"]["run_id"] == body["run_id"]
    state = env.client.get(f"/api/providers/{pid}/sync").json()
    assert set(state) == {"stats", "running", "last_runs"}
    assert set(state["stats"]) == {"movies", "series", "channels", "categories", "episodes"}
    env.portal.configure(latency_ms=0)
    events: list[dict[str, Any]] = []
    with env.client.stream("GET", f"/api/providers/{pid}/sync/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in stream.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: ") and name:
                events.append({"event": name, "run": orjson.loads(line[6:])})
    assert events[-1]["event"] == "end"
    final = events[-1]["run"]
    assert set(final) == RUN_KEYS and set(final["progress"]) == PROGRESS_KEYS
    assert final["status"] == "succeeded"
    assert set(final["counts"]) == {"movies", "series", "channels"}
    assert final["progress"]["done_items"] == final["progress"]["total_items"]
    assert env.client.get(f"/api/sync-runs/{body['run_id']}").json() == final
    error_of(env.client.get("/api/sync-runs/999999"), 404, "not_found")
    stats = env.client.get(f"/api/providers/{pid}/sync").json()["stats"]
    assert (stats["movies"], stats["series"], stats["channels"]) == (300, 40, 40)


def test_sync_channels_and_smart_plans(env: Env) -> None:
    pid = env.add()["id"]
    answer = env.client.post(f"/api/providers/{pid}/sync-channels")
    assert answer.status_code == 202 and answer.json()["plan"] == {"channels": "full", "vod": None}
    env.wait(pid)
    smart = env.client.post(f"/api/providers/{pid}/sync").json()
    assert smart["plan"] == {"channels": None, "vod": "full"}
    env.wait(pid)
    scoped = env.client.post(f"/api/providers/{pid}/sync", json={"scope": "vod", "mode": "full"})
    assert scoped.json()["plan"] == {"channels": None, "vod": "full"}
    env.wait(pid)
    error_of(
        env.client.post(f"/api/providers/{pid}/sync", json={"scope": "everything"}),
        422,
        "validation_error",
    )


def test_cancel_and_nothing_running(env: Env) -> None:
    pid = env.add()["id"]
    error_of(env.client.post(f"/api/providers/{pid}/sync/cancel"), 409, "nothing_running")
    env.portal.configure(latency_ms=60)
    run_id = env.client.post(f"/api/providers/{pid}/sync").json()["run_id"]
    time.sleep(0.5)
    cancel = env.client.post(f"/api/providers/{pid}/sync/cancel")
    assert cancel.status_code == 202 and cancel.json()["run_id"] == run_id
    final = env.wait(pid, timeout=5)
    assert final["status"] == "cancelled"


def test_clean_keeps_settings_and_refuses_while_running(env: Env) -> None:
    pid = env.add()["id"]
    env.client.post(f"/api/providers/{pid}/sync")
    env.wait(pid)
    cleaned = env.client.delete(f"/api/providers/{pid}/clean")
    assert cleaned.status_code == 200
    deleted = cleaned.json()["deleted"]
    assert set(deleted) == {"movies", "series", "channels", "categories", "episodes"}
    assert deleted["movies"] == 300
    assert env.client.get(f"/api/providers/{pid}").status_code == 200
    stats = env.client.get(f"/api/providers/{pid}/sync").json()["stats"]
    assert stats["movies"] == stats["channels"] == 0
    error_of(env.client.get(f"/api/providers/{pid}/snapshot"), 404, "no_snapshot")
    env.portal.configure(latency_ms=60)
    env.client.post(f"/api/providers/{pid}/sync")
    error_of(env.client.delete(f"/api/providers/{pid}/clean"), 409, "sync_running")
    error_of(env.client.delete(f"/api/providers/{pid}"), 409, "sync_running")
    env.client.post(f"/api/providers/{pid}/sync/cancel")
    env.wait(pid)


def test_probe_answers_and_its_errors(env: Env) -> None:
    pid = env.add()["id"]
    probe = env.client.post(f"/api/providers/{pid}/probe")
    assert probe.status_code == 200, probe.text
    body = probe.json()
    assert body["family"] == "stock" and body["page_size"] == 14
    assert body["account"]["status"] == "active"
    # The portal's own count: its adult genre is hidden from "All" (docs/stalker.md §8).
    assert 0 < body["counts"]["channels"] <= 40
    wrong = env.add(name="wrong", mac="00:1A:79:00:00:01")["id"]
    error_of(env.client.post(f"/api/providers/{wrong}/probe"), 502, "provider_auth_failed")
    dead = env.add(name="dead", url="http://127.0.0.1:9/c/")["id"]
    error_of(env.client.post(f"/api/providers/{dead}/probe"), 502, "provider_unreachable")
    elsewhere = env.add(name="elsewhere", url=f"{env.portal_url}/_control/stats")["id"]
    error_of(env.client.post(f"/api/providers/{elsewhere}/probe"), 502, "not_a_portal")


def test_admin_token_guards_writes(settings: Settings) -> None:
    locked = settings.replace(admin_token=Secret("t0ken-for-tests-long-enough-0123"))
    with TestClient(create_app(locked)) as client:
        assert client.get("/healthz").status_code == 200
        error_of(client.get("/api/providers"), 401, "unauthorized")
        wrong = {"Authorization": "Bearer nope"}
        error_of(client.get("/api/providers", headers=wrong), 403, "forbidden")
        error_of(client.get("/metrics"), 401, "unauthorized")
        good = {"Authorization": "Bearer t0ken-for-tests-long-enough-0123"}
        assert client.get("/api/providers", headers=good).status_code == 200
        assert client.get("/metrics", headers=good).status_code == 200
        body = {"name": "x", "kind": "m3u", "url": "http://h/a.m3u"}
        error_of(client.post("/api/providers", json=body), 401, "unauthorized")
        assert client.post("/api/providers", json=body, headers=good).status_code == 201


def test_request_size_limit(env: Env) -> None:
    huge = {"name": "x", "kind": "m3u", "url": "http://h/a.m3u", "options": {"x": "y" * 2_000_000}}
    answer = env.client.post("/api/providers", json=huge)
    assert answer.status_code == 413
    # docs/api.md's code for it (it answered ``validation_error`` before)
    assert answer.json()["error"]["code"] == "payload_too_large"


def test_plays_reuse_one_portal_session(env: Env) -> None:
    pid = env.add(options={"play_mode": "redirect"})["id"]  # the relay has tests/relay/
    env.client.post(f"/api/providers/{pid}/sync")
    env.wait(pid)
    channels = env.client.get(f"/api/providers/{pid}/channels").json()["items"]
    env.portal.reset_stats()
    for channel in channels[:3]:
        answer = env.client.get(
            f"/api/providers/{pid}/play/channel/{channel['id']}", follow_redirects=False
        )
        assert answer.status_code == 302, answer.text
        assert answer.headers["location"].startswith("http")
    stats = env.portal.stats_dict()
    assert stats["handshakes"] == 1, "one session for every play, not one per play"
    assert stats["by_action"].get("itv.create_link") == 3

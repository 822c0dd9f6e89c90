"""Scale mode as an operator follows docs/deploy.md (issue 18, point 10), over the real API:
schedules faster than the scheduler's tick are refused, a 6-field cron has its seconds last,
and a progress stream opened before a run waits for it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from fastapi.testclient import TestClient

from iptvsync.api import sync as sync_routes
from iptvsync.app import create_app
from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.server import ServerThread
from iptvsync.fakes.stalker import DEFAULT_MAC, StalkerFakeConfig
from iptvsync.fakes.stalker import create_app as portal_app
from iptvsync.settings import Settings
from iptvsync.sync.schedule import next_due, parse_schedule


def _body(options: dict[str, Any], name: str = "home") -> dict[str, Any]:
    return {
        "name": name,
        "kind": "m3u",
        "url": "http://127.0.0.1:9/list.m3u",
        "options": options,
    }


def _refused(answer: httpx.Response, *words: str) -> str:
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    for word in words:
        assert word in error["message"], error["message"]
    return str(error["message"])


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as test_client:
        yield test_client


# --- the scheduler's tick ------------------------------------------------------------------


@pytest.mark.parametrize(
    "schedule",
    [{"every": "30s"}, {"every": 59}, "45s", {"cron": "* * * * * 30", "scope": "vod"}],
)
def test_a_schedule_faster_than_the_tick_is_refused(settings: Settings, schedule: Any) -> None:
    settings = settings.replace(schedule_tick_s=120.0)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        message = _refused(
            client.post("/api/providers", json=_body({"schedule": schedule})),
            "IPTVSYNC_SCHEDULE_TICK_S",
            "120 s",
        )
        assert "once per check" in message
        assert client.get("/api/providers").json()["items"] == []


def test_the_tick_rule_holds_for_edits_and_follows_the_setting(client: TestClient) -> None:
    # The default tick is 60 s: a minute is fine, half a minute is not, on create and on edit.
    created = client.post("/api/providers", json=_body({"schedule": {"every": "1m"}}))
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    _refused(
        client.patch(f"/api/providers/{pid}", json={"options": {"schedule": {"every": "30s"}}}),
        "60 s",
    )
    assert client.get(f"/api/providers/{pid}").json()["options"]["schedule"] == {"every": "1m"}
    ok = client.patch(f"/api/providers/{pid}", json={"options": {"schedule": "*/5 * * * *"}})
    assert ok.status_code == 200, ok.text


def test_a_shorter_tick_allows_shorter_schedules(settings: Settings) -> None:
    settings = settings.replace(schedule_tick_s=10.0)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        answer = client.post("/api/providers", json=_body({"schedule": {"every": "30s"}}))
        assert answer.status_code == 201, answer.text


# --- the order of a 6-field cron -----------------------------------------------------------


@pytest.mark.parametrize(
    "cron",
    [
        "0 */5 * * * *",  # Quartz / Spring: second 0 of every 5th minute
        "0 0 3 * * ?",  # Quartz: 03:00:00 every day
        "0 30 3 * * MON-FRI",
    ],
)
def test_a_seconds_first_cron_is_refused_with_the_order(client: TestClient, cron: str) -> None:
    _refused(
        client.post("/api/providers", json=_body({"schedule": {"cron": cron}})),
        "the 6th is the second",
        "minute hour day month weekday",
    )


def test_a_seconds_last_cron_is_accepted_and_means_seconds(client: TestClient) -> None:
    answer = client.post("/api/providers", json=_body({"schedule": {"cron": "0 */6 * * * 30"}}))
    assert answer.status_code == 201, answer.text
    stored = client.get(f"/api/providers/{answer.json()['id']}").json()["options"]
    schedule = parse_schedule(stored)
    assert schedule is not None
    last = datetime(2026, 3, 1, 7, 15, tzinfo=UTC)
    due = next_due(schedule, last_created_at=last, last_finished_at=None)
    assert due == datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)  # minute 0 of hour 12, second 30


# --- progress events opened before the run ----------------------------------------------------


@contextmanager
def _serving(settings: Settings) -> Iterator[str]:
    """The app under uvicorn, lifespan on: progress streams are read as they are written."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(settings), lifespan="on", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


def _events(lines: Iterator[str], until: str) -> list[tuple[str, Any]]:
    """(event name or comment, data) pairs up to and including the first ``until`` event."""
    seen: list[tuple[str, Any]] = []
    name = ""
    for line in lines:
        if line.startswith(":"):
            seen.append((line, None))
            if until == ":" or line.startswith(until):
                return seen
        elif line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            seen.append((name, orjson.loads(line[6:])))
            if name == until:
                return seen
    raise AssertionError(f"the stream ended before {until!r}: {seen}")


def _wait_idle(api: httpx.Client, pid: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = api.get(f"/api/providers/{pid}/sync").json()
        if state["running"] is None and state["last_runs"]:
            return state["last_runs"][0]  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError("the run did not end")


def test_a_stream_opened_before_the_run_waits_for_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync_routes, "SSE_KEEPALIVE_S", 0.5)
    portal = portal_app(generate(seed=3, movies=60, series=8, channels=10), StalkerFakeConfig())
    with (
        ServerThread(portal) as fake,
        _serving(settings) as url,
        httpx.Client(base_url=url, timeout=30) as api,
    ):
        body = {"name": "home", "kind": "stalker", "url": f"{fake.url}/c/", "mac": DEFAULT_MAC}
        pid = api.post("/api/providers", json=body).json()["id"]
        assert api.post(f"/api/providers/{pid}/sync").status_code == 202
        earlier = _wait_idle(api, pid)
        assert earlier["status"] == "succeeded"

        with api.stream("GET", f"/api/providers/{pid}/sync/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            waiting = _events(lines, ": no sync is running")
            assert not [e for e in waiting if e[1] is not None]  # the old run is not replayed
            assert _events(lines, ": keep-alive")  # the connection is kept open meanwhile
            started = api.post(f"/api/providers/{pid}/sync", json={"mode": "full"})
            assert started.status_code == 202
            new_id = started.json()["run_id"]
            events = _events(lines, "end")

        runs = [data for name, data in events if name in ("progress", "end")]
        assert runs and {run["id"] for run in runs} == {new_id} and new_id != earlier["id"]
        assert events[-1][0] == "end" and events[-1][1]["status"] == "succeeded"
        assert events[-1][1]["counts"]["movies"]["unchanged"] == 60

        # Following one run by id never waits: an ended run is sent once, then the end.
        with api.stream("GET", f"/api/providers/{pid}/sync/events?run_id={earlier['id']}") as one:
            names = [name for name, data in _events(one.iter_lines(), "end") if data is not None]
        assert names[-2:] == ["progress", "end"]
        other = api.post(
            "/api/providers", json={**body, "name": "other", "mac": "00:1A:79:00:00:02"}
        ).json()["id"]
        wrong = api.get(f"/api/providers/{other}/sync/events?run_id={earlier['id']}")
        assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "not_found"

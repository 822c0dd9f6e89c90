"""Secrets (MACs, passwords, tokens) appear in no response, log line, error, run or snapshot.

One scenario with distinctive secrets walks every kind of endpoint — providers, probe, sync
(succeeding and failing), runs and their events, catalogue, search, snapshot in every
encoding, files on disk, player outputs, metrics, OpenAPI — recording every response and every
log record at DEBUG, then greps all of it. The ``Location`` of a play redirect is the one place
a provider credential may appear (docs/api.md, "Play"), so it alone is not searched.
"""

from __future__ import annotations

import gzip
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import brotli
import pytest
import sqlalchemy as sa
import zstandard
from fastapi.testclient import TestClient

from iptvsync.app import create_app
from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.server import ServerThread
from iptvsync.fakes.stalker import StalkerFakeConfig
from iptvsync.fakes.stalker import create_app as stalker_app
from iptvsync.fakes.xtream import XtreamFakeConfig
from iptvsync.fakes.xtream import create_app as xtream_app
from iptvsync.settings import Secret, Settings
from iptvsync.store.models import sync_runs

MAC = "00:1A:79:5E:C7:E7"
XT_USER, XT_PASS = "xuser-Qz81", "xpass-Qz81"
ADMIN = "adm-token-Qz81-long-enough-0123"
OUT_USER, OUT_PASS = "viewer", "viewer-pass-Qz81"
SECRETS = [MAC, "5E:C7:E7", "5e:c7:e7", quote(MAC, safe=""), XT_USER, XT_PASS, ADMIN, OUT_PASS]


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except (TypeError, ValueError):
            text = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            text += " " + repr(record.exc_info[1])
        self.lines.append(f"{record.name}: {text}")


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    handler = Recorder()
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


def _decode(body: bytes, encoding: str | None) -> bytes:
    if encoding == "br":
        return brotli.decompress(body)
    if encoding == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    if encoding == "gzip":
        return gzip.decompress(body)
    return body


def _wait(client: TestClient, pid: int, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = client.get(f"/api/providers/{pid}/sync", headers=headers).json()
        if state["running"] is None and state["last_runs"]:
            return state["last_runs"][0]  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError("run did not end")


def test_no_secret_anywhere(settings: Settings, db: sa.Engine, recorder: Recorder) -> None:
    locked = settings.replace(admin_token=Secret(ADMIN))
    seen: list[str] = []

    def keep(answer: Any) -> Any:
        headers = {k: v for k, v in answer.headers.items() if k.lower() != "location"}
        body = answer.content  # httpx has already undone br / zstd / gzip
        text = body.decode("utf-8", "replace")
        if answer.request.url.path == "/player_api.php":
            # The Xtream login answer echoes the caller's own credentials, as every panel
            # does: players read them back to build stream URLs. Nobody else's appear.
            text = text.replace(f'"password":"{OUT_PASS}"', '"password":"(own)"')
        seen.append(f"{answer.status_code} {headers} {text}")
        return answer

    catalogue = generate(seed=31, movies=60, series=8, channels=12)
    stalker = stalker_app(catalogue, StalkerFakeConfig(mac_allowed=(MAC,)))
    # Stalker plays through the relay: its live stream must end for the body to be recorded.
    stalker.state.media.end_after_bytes = 188 * 200
    panel = xtream_app(catalogue, XtreamFakeConfig(username=XT_USER, password=XT_PASS))
    with (
        ServerThread(stalker) as portal,
        ServerThread(panel) as xtream,
        TestClient(create_app(locked)) as client,
    ):
        admin = {"Authorization": f"Bearer {ADMIN}"}
        made = [
            keep(client.post("/api/providers", headers=admin, json=body))
            for body in (
                {"name": "s", "kind": "stalker", "url": f"{portal.url}/c/", "mac": MAC},
                {
                    "name": "x",
                    "kind": "xtream",
                    "url": xtream.url,
                    "username": XT_USER,
                    "password": XT_PASS,
                },
                {
                    "name": "m",
                    "kind": "m3u",
                    "url": f"{xtream.url}/get.php?username={XT_USER}&password={XT_PASS}",
                },
            )
        ]
        ids = [m.json()["id"] for m in made]
        for pid in ids:
            keep(client.post(f"/api/providers/{pid}/probe", headers=admin))
            keep(client.post(f"/api/providers/{pid}/sync", headers=admin))
            _wait(client, pid, admin)
        # A failing sync and probe: the wrong password must not come back in the error.
        bad = keep(
            client.post(
                "/api/providers",
                headers=admin,
                json={
                    "name": "bad",
                    "kind": "xtream",
                    "url": xtream.url,
                    "username": XT_USER,
                    "password": XT_PASS + "-wrong",
                },
            )
        ).json()["id"]
        keep(client.post(f"/api/providers/{bad}/probe", headers=admin))
        keep(client.post(f"/api/providers/{bad}/sync", headers=admin))
        failed = _wait(client, bad, admin)
        assert failed["status"] == "failed"
        keep(client.get(f"/api/sync-runs/{failed['id']}", headers=admin))
        last = client.get(f"/api/providers/{ids[0]}/sync", headers=admin).json()["last_runs"][0]
        for pid, run_id in ((ids[0], last["id"]), (bad, failed["id"])):
            events = f"/api/providers/{pid}/sync/events?run_id={run_id}"
            with client.stream("GET", events, headers=admin) as ev:
                seen.append("".join(ev.iter_text()))

        keep(client.get("/api/providers", headers=admin))
        keep(client.post("/api/providers", json={"name": "x"}))  # 401, no token
        keep(client.get("/api/providers", headers={"Authorization": f"Bearer {ADMIN}x"}))
        for pid in ids:
            keep(client.get(f"/api/providers/{pid}", headers=admin))
            keep(client.get(f"/api/providers/{pid}/sync", headers=admin))
            for kind in ("movies", "series", "channels"):
                page = keep(client.get(f"/api/providers/{pid}/{kind}", headers=admin)).json()
                for item in page["items"][:2]:
                    keep(client.get(f"/api/providers/{pid}/{kind}/{item['id']}", headers=admin))
            for enc in ("br", "zstd", "gzip", "identity"):
                keep(
                    client.get(
                        f"/api/providers/{pid}/snapshot",
                        headers={**admin, "Accept-Encoding": enc},
                    )
                )
            keep(client.get(f"/api/providers/{pid}/snapshot/essentials", headers=admin))
            keep(client.get(f"/api/providers/{pid}/epg/now", headers=admin))
            channel = client.get(f"/api/providers/{pid}/channels", headers=admin).json()
            if channel["items"]:
                play = client.get(
                    f"/api/providers/{pid}/play/channel/{channel['items'][0]['id']}",
                    headers=admin,
                    follow_redirects=False,
                )
                keep(play)
        keep(client.get("/api/search?q=the", headers=admin))
        keep(client.get("/metrics", headers=admin))
        keep(client.get("/openapi.json"))

        from iptvsync.store.users import create_user

        with db.begin() as conn:
            create_user(conn, OUT_USER, OUT_PASS, all_providers=True)
        creds = {"username": OUT_USER, "password": OUT_PASS}
        keep(client.get("/playlist.m3u", auth=(OUT_USER, OUT_PASS)))
        keep(client.get("/xmltv.xml", auth=(OUT_USER, OUT_PASS)))
        keep(client.get("/player_api.php", params=creds))
        for action in ("get_live_streams", "get_vod_streams", "get_series"):
            keep(client.get("/player_api.php", params={**creds, "action": action}))

        files = [
            p.read_bytes()
            for p in Path(locked.resolved_snapshot_dir()).rglob("*")
            if p.is_file() and p.suffix in (".json", ".gz", ".br", ".zst")
        ]
    assert files, "snapshot files were exported"
    for raw in files:
        name_enc = None
        if raw[:2] == b"\x1f\x8b":
            name_enc = "gzip"
        elif raw[:4] == b"\x28\xb5\x2f\xfd":
            name_enc = "zstd"
        try:
            text = _decode(raw, name_enc).decode("utf-8", "replace")
        except Exception:
            text = brotli.decompress(raw).decode("utf-8", "replace")
        seen.append(text)
    with db.connect() as conn:
        for row in conn.execute(sa.select(sync_runs.c.warnings, sync_runs.c.error)):
            seen.append(repr(tuple(row)))

    haystacks = {"responses and files": "\n".join(seen), "logs": "\n".join(recorder.lines)}
    assert recorder.lines, "logs were recorded"
    for where, text in haystacks.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} found in {where}"

"""Catch-up on a Stalker portal, over real sockets: the fake portal and iptvsync each on a
loopback port. A channel with ``tv_archive`` syncs with its archive days; a past programme
plays through the play endpoint in both play modes (a 302 to the portal's recording, or the
relay's bytes), whatever form the portal's ``tv_archive`` link has; the outputs carry the
archive (Xtream ``tv_archive`` and ``/timeshift/``, M3U ``catchup``) as they do for Xtream;
and every refusal is the contract's answer (404 outside the archive, 503 when the storage is
full)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from iptvsync.app import create_app
from iptvsync.fakes.catalogue import Catalogue, generate
from iptvsync.fakes.items import FakeChannel
from iptvsync.fakes.server import ServerThread, _bind
from iptvsync.fakes.stalker import DEFAULT_MAC, FakeStalkerPortal, StalkerFakeConfig
from iptvsync.fakes.stalker import create_app as portal_app
from iptvsync.fakes.stalker.epg import slot_times
from iptvsync.settings import Settings
from tests.relay.conftest import AppServer

TS_SYNC = 0x47


@dataclass
class Served:
    http: httpx.Client
    pid: int
    portal: FakeStalkerPortal
    catalogue: Catalogue
    portal_url: str

    def channel(self, archive: bool = True) -> tuple[FakeChannel, dict[str, Any]]:
        """A guided channel with (or without) an archive, and iptvsync's row of it."""
        fake = next(c for c in self.catalogue.channels if c.xmltv_id and c.archive is archive)
        items = self.http.get(f"/api/providers/{self.pid}/channels", params={"limit": 500}).json()[
            "items"
        ]
        ours = next(i for i in items if i["provider_item_id"] == str(fake.id))
        return fake, ours

    def play(self, channel_id: int, start: int, duration: int | None = None) -> httpx.Response:
        query = f"start={start}" + (f"&duration={duration}" if duration else "")
        return self.http.get(f"/api/providers/{self.pid}/play/channel/{channel_id}?{query}")


def past_programme(channel: FakeChannel, hours_ago: float = 3) -> tuple[int, int]:
    """(start, stop) of the channel's programme that was on ``hours_ago`` hours ago."""
    when = time.time() - hours_ago * 3600
    begin, end = slot_times(channel, 0)
    k = int((when - begin) // (end - begin))
    return slot_times(channel, k)


def _wait(http: httpx.Client, pid: int) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        state = http.get(f"/api/providers/{pid}/sync").json()
        if state["running"] is None and state["last_runs"]:
            return state["last_runs"][0]  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError("sync did not finish")


def serve(settings: Settings, mode: str, **fake: Any) -> Iterator[Served]:
    catalogue = generate(seed=9, movies=10, series=2, channels=40)
    portal = portal_app(catalogue, StalkerFakeConfig(family="stock", **fake))
    yield from _serve_app(settings, portal, catalogue, mode)


def _serve_app(
    settings: Settings, portal: Any, catalogue: Catalogue, mode: str
) -> Iterator[Served]:
    with (
        ServerThread(portal) as provider,
        AppServer(create_app(settings), _bind("127.0.0.1", 0)) as app,
        httpx.Client(base_url=app.url, timeout=30) as http,
    ):
        created = http.post(
            "/api/providers",
            json={"name": "mag", "kind": "stalker", "url": f"{provider.url}/c/",
                  "mac": DEFAULT_MAC, "options": {"play_mode": mode}},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        pid = created.json()["id"]
        assert http.post(f"/api/providers/{pid}/sync").status_code == 202
        run = _wait(http, pid)
        assert run["status"] == "succeeded", run
        yield Served(http, pid, portal.state.portal, catalogue, provider.url)


@pytest.fixture
def redirect(settings: Settings) -> Iterator[Served]:
    yield from serve(settings, "redirect")


def _first_bytes(http: httpx.Client, url: str, size: int = 188 * 20) -> bytes:
    with http.stream("GET", url) as response:
        assert response.status_code == 200, response.read()[:300]
        got = b""
        for chunk in response.iter_bytes():
            got += chunk
            if len(got) >= size:
                break
        return got


def test_archive_channels_sync_with_their_days(redirect: Served) -> None:
    fake, ours = redirect.channel()
    detail = redirect.http.get(f"/api/providers/{redirect.pid}/channels/{ours['id']}").json()
    # tv_archive_duration is in hours on stock portals: read back as days.
    assert detail["archive"] is True and detail["archive_days"] == fake.archive_days
    _, plain = redirect.channel(archive=False)
    detail = redirect.http.get(f"/api/providers/{redirect.pid}/channels/{plain['id']}").json()
    assert detail["archive"] is False
    now = datetime.now(UTC)
    guide = redirect.http.get(
        f"/api/providers/{redirect.pid}/guide",
        params={"channels": f"{ours['id']},{plain['id']}",
                "from": (now.timestamp() - 6 * 3600), "to": now.timestamp()},
    )  # fmt: skip
    assert guide.status_code == 200, guide.text
    days = {i["channel_id"]: i["archive_days"] for i in guide.json()["items"]}
    assert days == {ours["id"]: fake.archive_days, plain["id"]: None}


@pytest.mark.parametrize("form", ["storage", "flussonic", "position"])
def test_a_past_programme_redirects_to_the_portals_recording(redirect: Served, form: str) -> None:
    redirect.portal.configure(archive_link=form)
    fake, ours = redirect.channel()
    start, stop = past_programme(fake)
    before = redirect.portal.archive_links
    answer = redirect.play(ours["id"], start, stop - start)
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    # The portal's recording, not its live link; no player marker left in the URL.
    assert location.startswith(redirect.portal_url)
    assert "/stream/live/" not in location and "position:" not in location
    assert {"storage": "/stalker_portal/storage/get.php", "flussonic": "/mpegts",
            "position": f"/archive/{fake.id}/"}[form] in urlsplit(location).path  # fmt: skip
    assert redirect.portal.archive_links == before + 1
    body = httpx.get(location, timeout=30).content
    assert len(body) > 188 * 100 and body[0] == TS_SYNC  # the real ffmpeg media
    by_action = redirect.portal.stats.by_action
    assert by_action["epg.get_simple_data_table"] >= 1
    assert by_action["tv_archive.create_link"] >= 1


def test_a_past_programme_plays_through_the_relay(settings: Settings) -> None:
    for served in serve(settings, "relay"):
        fake, ours = served.channel()
        start, stop = past_programme(fake, hours_ago=5)
        query = f"start={start}&duration={stop - start}"
        url = f"/api/providers/{served.pid}/play/channel/{ours['id']}?{query}"
        body = _first_bytes(served.http, url)
        assert body[0] == TS_SYNC and body[188] == TS_SYNC
        assert served.portal.archive_links == 1
        # The live channel still plays live, from the portal's own create_link.
        live = _first_bytes(served.http, f"/api/providers/{served.pid}/play/channel/{ours['id']}")
        assert live[0] == TS_SYNC
        assert served.portal.archive_links == 1


def test_refusals_are_the_contracts_answers(redirect: Served) -> None:
    fake, ours = redirect.channel()
    now = int(time.time())
    # Not yet recorded, beyond the archive's days, or a channel without one: 404.
    assert redirect.play(ours["id"], now + 600).status_code == 404
    assert redirect.play(ours["id"], now - (fake.archive_days + 1) * 86400).status_code == 404
    _, plain = redirect.channel(archive=False)
    assert redirect.play(plain["id"], now - 7200).status_code == 404
    # The programme on now is not in the portal's archive yet (mark_archive 0): 404.
    on_now, _ = past_programme(fake, hours_ago=0)
    refused = redirect.play(ours["id"], on_now + 1)
    assert refused.status_code == 404, refused.text
    # The archive storage is full: the busy answer players know (503 no_free_connection).
    redirect.portal.configure(archive_error="limit")
    start, stop = past_programme(fake)
    busy = redirect.play(ours["id"], start, stop - start)
    assert busy.status_code == 503 and busy.json()["error"]["code"] == "no_free_connection"
    redirect.portal.configure(archive_error="link_fault")
    fault = redirect.play(ours["id"], start, stop - start)
    assert fault.status_code == 502 and fault.json()["error"]["code"] == "provider_bad_response"
    assert DEFAULT_MAC not in fault.text


def test_the_outputs_carry_the_archive(redirect: Served) -> None:
    fake, ours = redirect.channel()
    _, plain = redirect.channel(archive=False)
    streams = redirect.http.get(
        "/player_api.php", params={"username": "u", "password": "p", "action": "get_live_streams"}
    ).json()
    rows = {s["stream_id"]: s for s in streams}
    assert rows[ours["id"]]["tv_archive"] == 1
    assert rows[ours["id"]]["tv_archive_duration"] == fake.archive_days
    assert rows[plain["id"]]["tv_archive"] == 0
    playlist = redirect.http.get("/playlist.m3u").text
    entry = next(line for line in playlist.splitlines() if f'tvg-name="{fake.name}"' in line
                 or line.endswith(f",{fake.name}"))  # fmt: skip
    assert 'catchup="default"' in entry and f'catchup-days="{fake.archive_days}"' in entry
    # The Xtream output's /timeshift/ URL (start in UTC) reaches the portal's recording.
    start, stop = past_programme(fake)
    when = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%d:%H-%M")
    minutes = (stop - start) // 60
    shifted = redirect.http.get(f"/timeshift/u/p/{minutes}/{when}/{ours['id']}.ts")
    assert shifted.status_code == 302, shifted.text
    assert "/stalker_portal/storage/get.php" in shifted.headers["location"]


def test_a_later_sync_keeps_the_past_the_portal_no_longer_lists(settings: Settings) -> None:
    """A portal's guide starts at the programme on now; the programmes an earlier sync stored
    that have ended since stay (within the past window), so the grid can offer them."""
    catalogue = generate(seed=9, movies=10, series=2, channels=40)
    portal = portal_app(catalogue, StalkerFakeConfig(family="stock"))
    fake = portal.state.portal
    real_clock = fake.clock
    fake.clock = lambda: real_clock() - 3 * 3600  # the first sync runs "three hours ago"
    for served in _serve_app(settings, portal, catalogue, "redirect"):
        channel, ours = served.channel()
        start, stop = past_programme(channel, hours_ago=2.5)
        window = {"channels": str(ours["id"]), "from": start, "to": stop}

        def listed(served: Served = served, window: dict[str, Any] = window) -> list[str]:
            items = served.http.get(f"/api/providers/{served.pid}/guide", params=window).json()
            return [p["start"] for p in items["items"][0]["programmes"]]

        assert listed(), "the first guide holds the programme (then on now or next)"
        fake.clock = real_clock
        again = served.http.post(f"/api/providers/{served.pid}/sync", json={"mode": "full"})
        assert again.status_code == 202, again.text
        assert _wait(served.http, served.pid)["status"] == "succeeded"
        kept = listed()
        assert kept and datetime.fromisoformat(kept[0].replace("Z", "+00:00")).timestamp() <= start
        # ... and it plays from the portal's archive.
        assert served.play(ours["id"], start, stop - start).status_code == 302

"""Catch-up from a Stalker portal in the browser: a fake portal whose channels keep an archive
(``tv_archive``), synced through the API; in the guide grid a past programme of such a channel
is marked catch-up, and a click plays the portal's recording (the real ffmpeg media) through
the play endpoint's relay: the video's ``currentTime`` advances."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect

from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.server import ServerThread
from iptvsync.fakes.stalker import StalkerFakeConfig, create_app
from iptvsync.fakes.stalker.epg import slot_times
from tests.e2e.support import Server, shot, show_in_guide
from tests.e2e.test_player import _open, _wait_playing

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def archive_portal() -> Iterator[ServerThread]:
    catalogue = generate(seed=9, movies=5, series=1, channels=40)
    with ServerThread(create_app(catalogue, StalkerFakeConfig())) as fake:
        yield fake


def test_a_past_stalker_programme_plays_from_the_portals_archive(
    page: Any, server: Server, archive_portal: ServerThread
) -> None:
    pid = server.add_provider(f"Archive portal {uuid.uuid4().hex[:6]}", archive_portal.url)
    portal = archive_portal.app.state.portal
    # A portal's guide starts at the programme on now: the past comes from an earlier sync
    # (here one "three hours ago"), which the later one keeps.
    real_clock = portal.clock
    portal.clock = lambda: real_clock() - 3 * 3600
    try:
        run = server.sync_and_wait(pid)
    finally:
        portal.clock = real_clock
    assert run["status"] == "succeeded", (run, server.log_tail())
    again = server.api("POST", f"/api/providers/{pid}/sync", json={"mode": "full"})
    assert again.status_code == 202, again.text
    assert server.wait_idle(pid)["status"] == "succeeded"
    fake = next(c for c in portal.catalogue.channels if c.archive and c.xmltv_id)
    channels = server.api("GET", f"/api/providers/{pid}/channels?limit=100").json()["items"]
    ours = next(c for c in channels if c["provider_item_id"] == str(fake.id))
    # The programme that was on two hours ago (ended, within the archive, today or not).
    begin, end = slot_times(fake, 0)
    k = int((time.time() - 2 * 3600 - begin) // (end - begin))
    start, stop = slot_times(fake, k)
    guide = server.api(
        "GET",
        f"/api/providers/{pid}/guide",
        params={"channels": str(ours["id"]), "from": start, "to": stop},
    ).json()["items"][0]
    assert guide["archive_days"] == fake.archive_days, guide
    programme = next(
        p for p in guide["programmes"]
        if int(datetime.fromisoformat(p["start"].replace("Z", "+00:00")).timestamp()) == start
    )  # fmt: skip
    _open(page, "guide", pid)
    show_in_guide(page, start * 1000)  # two hours ago may be yesterday
    grid = page.locator("#guide-grid")
    row = grid.locator(f'.guide-row[data-channel="{ours["id"]}"]')
    past = row.locator(f'.guide-cell.catchup[data-start="{programme["start"]}"]')
    expect(past).to_be_visible(timeout=20_000)
    before = portal.archive_links
    past.click()
    expect(page.locator("#player .player-sub")).to_contain_text("catch-up")
    _wait_playing(page, "mpegts.js")
    assert portal.archive_links == before + 1, "the portal's tv_archive link was asked for"
    assert portal.stats.by_action["epg.get_simple_data_table"] >= 1
    shot(page, "player-stalker-catchup")
    assert datetime.now(UTC).timestamp() > stop  # it was a past programme all along

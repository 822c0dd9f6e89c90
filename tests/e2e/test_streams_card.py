"""The dashboard shows who is watching, live, and the admin can stop a stream from it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.support import Server
from tests.e2e.test_web import open_view
from tests.relay.support import Player

pytestmark = pytest.mark.e2e


def test_dashboard_lists_a_stream_and_stops_it(
    page: Any, server: Server, synced_provider: int
) -> None:
    channels = server.api("GET", f"/api/providers/{synced_provider}/channels").json()["items"]
    channel = channels[0]["id"]
    url = f"{server.url}/api/providers/{synced_provider}/play/channel/{channel}"
    headers = {"Authorization": f"Bearer {server.token}"} if server.token else {}
    player = Player(url, headers)  # Stalker plays through the relay by default
    player.start()
    assert player.started_reading.wait(20) and player.status == 200
    try:
        open_view(page, "dashboard", synced_provider)
        row = page.locator("#streams-list li.stream")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(f"channel {channel}")
        expect(row).to_contain_text("00:1A:79:XX:XX:")
        row.get_by_role("button", name="Stop").click()
        assert player.ended.wait(10), "the stopped stream kept playing"
        expect(page.locator("#streams-list li.stream")).to_have_count(0)
    finally:
        player.stop.set()

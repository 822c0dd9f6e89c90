"""The screenshots of docs/web.md: the player, the guide and the continue-watching row, at
1366×800 and on a phone (390×844). They are written to tests/e2e/screenshots/docs-*.png;
``scripts/docs-screenshots.sh`` runs this file and copies them, palette-reduced by ffmpeg,
into docs/screenshots/."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from iptvsync.fakes.server import ServerThread
from tests.e2e.seed import seed_channels
from tests.e2e.support import Server, shot
from tests.e2e.test_player import _item, _wait_playing, media, media_provider  # noqa: F401

pytestmark = pytest.mark.e2e
SIZES = {
    "desktop": ({"width": 1366, "height": 800}, {}),
    "phone": ({"width": 390, "height": 844}, {"is_mobile": True, "has_touch": True}),
}


@pytest.fixture(scope="session")
def guide_provider(server: Server, portal: ServerThread) -> int:
    """A guide like tests/e2e/test_guide.py's, with the channels a screen shows (the 5,000
    there are for its scroll timings, and seeding them took 12 s of this test's setup)."""
    provider_id = server.add_provider(f"Guide {uuid.uuid4().hex[:6]}", portal.url)
    seed_channels(server.settings, provider_id, 200, days=3)
    return provider_id


@pytest.mark.parametrize("size", list(SIZES))
def test_docs_screenshots(
    browser: Any,
    server: Server,
    media_provider: int,  # noqa: F811
    guide_provider: int,
    size: str,
) -> None:
    viewport, extra = SIZES[size]
    pid = media_provider
    movie = _item(server, pid, "movies", "Test Movie")
    server.api(
        "PUT", f"/api/me/progress/movie/{pid}/{movie['id']}", json={"position": 14, "duration": 40}
    )

    context = browser.new_context(viewport=viewport, base_url=server.url, **extra)
    context.add_init_script(f"localStorage.setItem('iptvsync.provider', '{pid}')")
    page = context.new_page()
    page.goto("/#/movies")
    expect(page.locator("#movies-continue")).to_be_visible()
    shot(page, f"docs-continue-watching-{size}")

    channel = _item(server, pid, "channels", "HLS Channel")
    page.goto(f"/#/live/{channel['id']}")
    page.locator("#detail").get_by_role("button", name="Play HLS Channel").click()
    _wait_playing(page, "hls.js")
    shot(page, f"docs-player-{size}")
    page.keyboard.press("Escape")
    context.close()

    context = browser.new_context(viewport=viewport, base_url=server.url, **extra)
    context.add_init_script(f"localStorage.setItem('iptvsync.provider', '{guide_provider}')")
    page = context.new_page()
    page.goto("/#/guide")
    expect(page.locator("#guide-grid .guide-cell.on-now:visible").first).to_be_visible(
        timeout=20_000
    )
    shot(page, f"docs-guide-{size}")
    page.goto("/#/live")
    expect(page.locator("#view-live .row-guide .now-title").first).to_be_visible()
    assert re.search("Live", page.title())
    shot(page, f"docs-live-now-next-{size}")
    context.close()

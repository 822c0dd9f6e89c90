"""A Stalker portal's own guide end to end in the browser: the fake portal → a sync through the
API → the web page's channel detail shows what is on now and next (issue 16)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.support import Server, shot
from tests.e2e.test_web import open_view

pytestmark = pytest.mark.e2e


def test_channel_detail_shows_now_and_next_from_the_portal(
    page: Any, server: Server, synced_provider: int
) -> None:
    pid = synced_provider
    guide = server.api("GET", f"/api/providers/{pid}/epg/now?limit=500").json()["items"]
    on_now = [i for i in guide if i["now"] and i["next"]]
    assert on_now, "the sync stored the portal's guide"
    channel = on_now[0]
    detail = server.api("GET", f"/api/providers/{pid}/channels/{channel['channel_id']}").json()
    open_view(page, "live", pid)
    page.get_by_label("Search channels").fill(detail["name"])
    listbox = page.get_by_role("listbox", name=re.compile("^Live TV"))
    expect(listbox.get_by_role("option").first).to_contain_text(detail["name"])
    page.get_by_label("Search channels").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=detail["name"])).to_be_visible()
    guide_block = dialog.locator("section.guide")
    expect(guide_block.get_by_role("heading", name="Today")).to_be_visible()
    now_item = guide_block.locator("li.programme.now")
    expect(now_item).to_have_count(1)
    expect(now_item).to_contain_text(channel["now"]["title"])
    expect(now_item).to_contain_text("Now")
    expect(now_item.locator("xpath=following-sibling::li[1]")).to_contain_text(
        channel["next"]["title"]
    )
    shot(page, "live-detail-guide")

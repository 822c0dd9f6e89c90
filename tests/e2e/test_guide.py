"""The guide in Debian's Chromium: now/next on the Live TV rows and the virtualised grid, on a
provider of 5,000 channels with 3 days of guide seeded into the database. Measures the first
paint of Live TV with now/next (≤ 1.5 s after load) and the grid's scroll frame times (p95 ≤
32 ms from requestAnimationFrame timestamps) with at most ~100 rows in the DOM."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from iptvsync.fakes.server import ServerThread
from tests.e2e.seed import channel_name, seed_channels
from tests.e2e.support import Server, shot

pytestmark = [pytest.mark.e2e, pytest.mark.serial]  # frame and paint timings: alone
CHANNELS = 5_000
SCROLL_RUNS = 3
DESKTOP = {"width": 1366, "height": 800}
PHONE = {"width": 390, "height": 844}

# Set by an init script (Playwright's, not the page's, so the CSP does not apply): the time
# after navigation start at which the first Live row shows what is on now.
FIRST_NOW_PAINT = """
window.__firstNow = null;
new MutationObserver((_, observer) => {
  if (document.querySelector('.row-guide .now-title')) {
    window.__firstNow = performance.now();
    observer.disconnect();
  }
}).observe(document, { childList: true, subtree: true });
"""

SCROLL_THROUGH = """async ({ steps }) => {
  const grid = document.getElementById('guide-grid');
  const stepPx = Math.ceil((grid.scrollHeight - grid.clientHeight) / steps);
  const times = [];
  let maxRows = 0;
  await new Promise((resolve) => {
    const frame = (t) => {
      times.push(t);
      maxRows = Math.max(maxRows, grid.querySelectorAll('.guide-row').length);
      if (times.length > steps) return resolve();
      grid.scrollTop += stepPx;
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
  const deltas = times.slice(1).map((t, i) => t - times[i]).sort((a, b) => a - b);
  return {
    p95: deltas[Math.floor(deltas.length * 0.95)],
    median: deltas[Math.floor(deltas.length / 2)],
    late: deltas.filter((d) => d > 20).length,
    max: deltas[deltas.length - 1],
    frames: deltas.length,
    maxRows,
    atEnd: grid.scrollTop + grid.clientHeight >= grid.scrollHeight - 2,
  };
}"""


@pytest.fixture(scope="session")
def guide_provider(server: Server, portal: ServerThread) -> int:
    provider_id = server.add_provider(f"Big guide {uuid.uuid4().hex[:6]}", portal.url)
    seed_channels(server.settings, provider_id, CHANNELS, days=3)
    return provider_id


def _context(browser: Any, server: Server, pid: int, viewport: dict[str, int], **kw: Any) -> Any:
    context = browser.new_context(viewport=viewport, base_url=server.url, **kw)
    context.add_init_script(f"localStorage.setItem('iptvsync.provider', '{pid}')")
    return context


def test_live_rows_show_now_and_next_fast(
    browser: Any, server: Server, guide_provider: int
) -> None:
    pid = guide_provider
    # One visit first, in its own context: the server's first reads of the freshly seeded
    # database are not what a user sees. The measured visit is a cold browser all the same.
    warm = _context(browser, server, pid, DESKTOP)
    warm_page = warm.new_page()
    warm_page.goto("/#/live")
    expect(warm_page.locator("#view-live .row-guide .now-title").first).to_be_visible()
    warm.close()
    context = _context(browser, server, pid, DESKTOP)
    context.add_init_script(FIRST_NOW_PAINT)
    page = context.new_page()
    page.goto("/#/live")
    first = page.locator("#view-live [aria-posinset='1']")
    expect(first).to_contain_text(channel_name(1))
    expect(first.locator(".now-title")).to_be_visible()
    one = server.api("GET", f"/api/providers/{pid}/channels?limit=1").json()["items"][0]
    expected = server.api(
        "GET", f"/api/providers/{pid}/guide/now", params={"channels": str(one["id"])}
    )
    now = expected.json()["items"][0]["now"]
    expect(first.locator(".now-title")).to_have_text(now["title"])
    expect(first.locator(".next-title")).to_contain_text(
        expected.json()["items"][0]["next"]["title"]
    )
    first_now_ms = page.evaluate("() => window.__firstNow")
    print(f"first paint of Live TV with now/next ({CHANNELS} channels): {first_now_ms:.0f} ms")
    assert first_now_ms is not None and first_now_ms <= 1500, first_now_ms
    shot(page, "live-now-next")
    context.close()


def test_guide_grid_scrolls_5000_channels(
    browser: Any, server: Server, guide_provider: int
) -> None:
    pid = guide_provider
    context = _context(browser, server, pid, DESKTOP)
    page = context.new_page()
    page.goto("/#/live")
    page.get_by_role("link", name="TV guide").click()
    grid = page.locator("#guide-grid")
    expect(grid.locator(".guide-cell.on-now:visible").first).to_be_visible(timeout=20_000)
    # Jump to now: the now line is in the grid's view, at any hour (just past midnight the
    # grid has nothing to scroll: asking for a scroll failed there), and so is the programme
    # on now, right of the channel column.
    now_in_view = grid.evaluate(
        """g => {
          const view = g.getBoundingClientRect();
          const x = g.querySelector('.guide-now-line').getBoundingClientRect().left;
          return x > view.left && x < view.right;
        }"""
    )
    assert now_in_view
    on_now = grid.locator(".guide-cell.on-now:visible").first.bounding_box()
    assert on_now is not None and on_now["x"] < DESKTOP["width"]
    shot(page, "guide")

    # The same page's frames without scrolling: what this host gives at all (a CI box shared
    # with other jobs can miss frames doing nothing).
    idle = page.evaluate(
        SCROLL_THROUGH.replace("grid.scrollTop += stepPx", "void stepPx"), {"steps": 120}
    )
    print(f"guide grid idle frames: {idle}")
    # Several runs: the first while the guide blocks are still arriving, the others through a
    # guide already loaded (every row has its programmes: the heavier case).
    runs = []
    for run in range(SCROLL_RUNS):
        if run:
            grid.evaluate("el => { el.scrollTop = 0; }")
            page.wait_for_timeout(800)
        result = page.evaluate(SCROLL_THROUGH, {"steps": 300})
        print(f"guide grid scroll through {CHANNELS} channels, run {run + 1}: {result}")
        assert result["atEnd"], result
        assert result["maxRows"] <= 100, result
        runs.append(result)
    p95s = sorted(r["p95"] for r in runs)
    print(f"guide grid scroll p95 per run (ms): {[round(r['p95'], 1) for r in runs]}")
    # rAF timestamps come in whole frames (16.7 ms at 60 Hz): the target "p95 <= 32 ms" is
    # one frame, 95 % of frames on time (docs/web.md, "The guide"). A shared host misses
    # frames for reasons of its own, so the test holds the median run to two frames, or to
    # one frame more than idle where the host already misses frames doing nothing.
    frame = idle["median"]
    budget = 2 * frame + 0.5 if idle["p95"] <= frame + 1 else idle["p95"] + frame + 0.5
    assert p95s[len(p95s) // 2] <= budget, (runs, idle)
    last = grid.locator(".guide-channel", has_text=channel_name(CHANNELS))
    expect(last).to_be_visible()
    last_row = grid.locator(f'.guide-row[data-index="{CHANNELS - 1}"]')
    expect(last_row.locator(".guide-cell").first).to_be_visible(timeout=20_000)

    # The day picker: tomorrow's programmes, no "on now" among them.
    day = page.get_by_label("Day")
    options = day.locator("option")
    today_index = next(
        i for i in range(options.count()) if options.nth(i).inner_text().startswith("Today")
    )
    day.select_option(index=today_index + 1)
    expect(grid.locator(".guide-cell").first).to_be_visible()
    expect(grid.locator(".guide-cell.on-now:visible")).to_have_count(0)
    page.get_by_role("button", name="Now").click()
    expect(day).to_have_value(options.nth(today_index).get_attribute("value") or "")
    expect(grid.locator(".guide-cell.on-now:visible").first).to_be_visible(timeout=20_000)
    context.close()


def test_channel_detail_lists_the_day(browser: Any, server: Server, guide_provider: int) -> None:
    pid = guide_provider
    context = _context(browser, server, pid, DESKTOP)
    page = context.new_page()
    channel = server.api("GET", f"/api/providers/{pid}/channels?limit=1").json()["items"][0]
    page.goto(f"/#/live/{channel['id']}")
    dialog = page.locator("#detail")
    items = dialog.locator(".programmes li")
    # 2-hour programmes: a local day overlaps 12 or 13 of them.
    expect(items.first).to_be_visible()
    assert 12 <= items.count() <= 13, items.count()
    expect(dialog.locator(".programme.now")).to_have_count(1)
    context.close()


def test_guide_on_a_phone(browser: Any, server: Server, guide_provider: int) -> None:
    context = _context(
        browser,
        server,
        guide_provider,
        PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.goto("/#/guide")
    grid = page.locator("#guide-grid")
    expect(grid.locator(".guide-cell.on-now:visible").first).to_be_visible(timeout=20_000)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths
    shot(page, "phone-guide")
    page.goto("/#/live")
    expect(page.locator("#view-live .row-guide .now-title").first).to_be_visible()
    shot(page, "phone-live-now-next")
    assert re.search(r"Live", page.title())
    context.close()

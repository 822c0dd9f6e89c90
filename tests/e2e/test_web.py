"""The web page in a real browser: add a provider, sync it, browse, search, open a series,
scroll a 64,000-item list, cancel a sync, use it offline, on a phone, with a token.

Each test writes screenshots of the screens it visits to tests/e2e/screenshots/.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from iptvsync.fakes.server import ServerThread
from tests.e2e.seed import movie_name
from tests.e2e.support import (
    BIG_MOVIES,
    HUGE_MOVIES,
    MAC,
    SMALL,
    Server,
    shot,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.e2e


def open_view(page: Any, view: str, provider_id: int) -> None:
    """Load the page on a view with the given provider already selected (as a returning
    user would have it), so nothing of another provider is painted first."""
    page.context.add_init_script(f"localStorage.setItem('iptvsync.provider', '{provider_id}')")
    page.goto(f"/#/{view}")
    expect(page.locator("html[data-ready=true]")).to_have_count(1)
    expect(page.locator("#provider-select")).to_have_value(str(provider_id))


def pick_provider(page: Any, view: str, provider_id: int) -> None:
    """Load the page, then choose the provider in the header's picker."""
    page.goto(f"/#/{view}")
    expect(page.locator("html[data-ready=true]")).to_have_count(1)
    page.get_by_label("Provider", exact=True).select_option(str(provider_id))


def tab(page: Any, view: str) -> None:
    page.locator(f"nav.tabs a[data-view={view}]").click()


def test_add_provider_then_sync_to_100_percent(
    page: Any, server: Server, portal: ServerThread
) -> None:
    page.goto("/#/providers")
    submit = page.get_by_role("button", name="Add provider")

    # Nothing filled in: the page says what is missing, next to each field.
    submit.click()
    expect(page.locator("#p-name-error")).to_have_text("Enter a name for this provider.")
    expect(page.locator("#p-url-error")).to_have_text("Enter the URL.")
    expect(page.locator("#p-mac-error")).to_contain_text("needs a MAC address")
    expect(page.locator("#provider-form-errors")).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_be_focused()

    # A malformed MAC gets through the page; the server's 422 lands under the MAC field.
    page.get_by_label("Name", exact=True).fill("Fake portal")
    page.get_by_label("URL", exact=True).fill(f"{portal.url}/c/")
    page.get_by_label("MAC address").fill("00:1A:79:12:34")
    submit.click()
    expect(page.locator("#p-mac-error")).to_contain_text("00:1A:79:12:34:56")
    expect(page.get_by_label("MAC address")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#p-name-error")).to_be_hidden()
    shot(page, "providers-validation")

    before = page.locator("#provider-select").input_value()
    page.get_by_label("MAC address").fill(MAC)
    submit.click()
    result = page.locator("#provider-form-result")
    expect(result).to_contain_text("Fake portal added")
    if before:
        # Another provider was selected: it stays so, and switching is offered, not done.
        expect(result).to_contain_text("stays selected")
        expect(page.locator("#provider-select")).to_have_value(before)
        result.get_by_role("button", name="Switch to Fake portal").click()
        expect(result).to_contain_text("Fake portal selected")
    else:
        expect(result).to_contain_text("added and selected")
    listed = page.locator("#provider-list li", has_text="Fake portal")
    expect(listed).to_contain_text("00:1A:79:XX:XX:56")  # masked, never the whole MAC
    expect(page.locator("#provider-list")).not_to_contain_text(MAC)
    shot(page, "providers")

    # The new provider is selected now; sync it from the dashboard and watch it over SSE.
    portal.app.state.portal.configure(latency_ms=100)
    try:
        tab(page, "dashboard")
        expect(page.locator("#dashboard-provider")).to_contain_text("Fake portal")
        page.evaluate(
            """() => {
                window.__statuses = [];
                const el = document.getElementById('run-status');
                new MutationObserver(() => window.__statuses.push(el.textContent))
                    .observe(el, { childList: true, characterData: true, subtree: true });
            }"""
        )
        page.get_by_role("button", name="Start sync").click()
        expect(page.get_by_role("button", name="Cancel sync")).to_be_enabled()
        items = page.get_by_role("progressbar", name="Items")
        expect(items).to_have_attribute("aria-valuenow", "100", timeout=60_000)
    finally:
        portal.app.state.portal.configure(latency_ms=0)
    expect(page.locator("#run-status")).to_have_text("succeeded")
    expect(page.get_by_role("progressbar", name="Pages")).to_have_attribute("aria-valuenow", "100")
    assert "running" in page.evaluate("window.__statuses")
    expect(page.locator("#stat-movies")).to_have_text(str(SMALL["movies"]))
    expect(page.locator("#stat-channels")).to_have_text(str(SMALL["channels"]))
    # The category count is what the tabs list: the categories that hold something.
    pid = int(page.locator("#provider-select").input_value())
    categories = server.api("GET", f"/api/providers/{pid}/categories").json()["items"]
    listed = sum(1 for c in categories if c["count"] > 0)
    expect(page.locator("#stat-categories")).to_have_text(f"{listed:,}")
    expect(page.locator("#stat-episodes + .stat-label")).to_have_text("Episodes fetched")
    expect(page.locator("#last-run-status")).to_have_text("succeeded")
    expect(page.locator("#runs-chart .run")).to_have_count(1)
    expect(page.get_by_role("button", name="Start sync")).to_be_enabled()
    expect(page.get_by_role("button", name="Cancel sync")).to_be_disabled()
    shot(page, "dashboard-synced")


def test_browse_a_category_and_search(page: Any, server: Server, synced_provider: int) -> None:
    pid = synced_provider
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    categories = server.api("GET", f"/api/providers/{pid}/categories?kind=movie").json()["items"]
    category = max(categories, key=lambda c: c["count"])

    open_view(page, "movies", pid)
    chips = page.get_by_role("tablist", name="Movies categories")
    shown = [c for c in categories if c["count"] > 0]
    if len(shown) > 20:
        # Many categories: one chip opens a searchable picker; empty categories are left out.
        picker = chips.get_by_role("tab", name=re.compile(rf"^Categories \({len(shown)}\)"))
        expect(picker).to_be_visible()
        picker = chips.locator(".chip-picker")  # its name becomes the chosen category
    else:
        expect(
            chips.get_by_role("tab", name=re.compile(re.escape(category["title"])))
        ).to_be_visible()
    # First paint comes from the essentials; no category slice is fetched until asked for.
    assert any("/snapshot/essentials" in u for u in requests)
    assert not any("/snapshot/categories/" in u for u in requests)
    assert not any(re.search(r"/snapshot($|\?)", u) for u in requests)
    shot(page, "movies")

    if len(shown) > 20:
        picker.click()
        page.locator("#movies-category-search").fill(category["title"])
        page.locator("#movies-category-list").get_by_role(
            "button", name=re.compile(re.escape(category["title"]))
        ).first.click()
        expect(picker).to_have_attribute("aria-selected", "true")
        expect(picker).to_contain_text(category["title"])
    else:
        chips.get_by_role("tab", name=re.compile(re.escape(category["title"]))).first.click()
    expect(page.locator("#movies-count")).to_have_text(
        f"{category['count']} movie{'s' if category['count'] != 1 else ''}"
    )
    assert any(f"/snapshot/categories/{category['id']}" in u for u in requests)
    listbox = page.locator("#view-movies [role=listbox]")
    expect(listbox).to_have_attribute("aria-label", f"Movies: {category['title']}")
    slice_ = server.api("GET", f"/api/providers/{pid}/snapshot/categories/{category['id']}").json()
    first = slice_["items"][0]
    expect(listbox.locator("[aria-posinset='1']")).to_contain_text(first["name"])
    shot(page, "movies-category")

    # Search (the catalogue's word-prefix search) within the whole kind.
    chips.get_by_role("tab", name=re.compile("^All")).click()
    # One of the oldest titles: far below the first screen of "All" until searched for.
    target = server.api("GET", f"/api/providers/{pid}/movies?limit=1&page=230").json()["items"][0]
    page.get_by_label("Search movies").fill(target["name"])
    expect(listbox).to_have_attribute("aria-label", f"Movies: “{target['name']}” in All")
    expect(page.locator("#movies-count")).not_to_have_text(f"{SMALL['movies']} movies")
    expect(page.locator("#movies-count")).to_have_text(re.compile(r"^\d+ movies?$"))
    option = listbox.get_by_role("option").filter(has_text=target["name"]).first
    expect(option).to_be_visible()
    shot(page, "movies-search")

    # The detail view: poster, play link; Escape closes it and focus returns to the list.
    option.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=target["name"])).to_be_visible()
    # Play in the page (a button), or open the stream in a player app (a plain link).
    expect(dialog.get_by_role("button", name=f"Play {target['name']}")).to_be_visible()
    play = dialog.get_by_role("link", name=re.compile("^Open .* in a player app$"))
    expect(play).to_have_attribute("href", f"/api/providers/{pid}/play/movie/{target['id']}")
    expect(page).to_have_url(re.compile(rf"#/movies/{target['id']}$"))
    shot(page, "movie-detail")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(listbox).to_be_focused()
    expect(page).to_have_url(re.compile(r"#/movies$"))


def test_open_a_series(page: Any, server: Server, synced_provider: int) -> None:
    pid = synced_provider
    open_view(page, "series", pid)
    chips = page.get_by_role("tablist", name="Series categories")
    chips.get_by_role("tab", name=re.compile("^All")).click()
    listbox = page.get_by_role("listbox", name="Series: All")
    expect(page.locator("#series-count")).to_have_text(f"{SMALL['series']} series")
    listbox.get_by_role("option").first.click()

    dialog = page.get_by_role("dialog")
    season = dialog.get_by_label("Season", exact=True)
    expect(season).to_be_visible(timeout=20_000)
    episodes = dialog.locator("#episode-list li")
    expect(episodes.first).to_be_visible()
    count = episodes.count()
    assert count > 0
    expect(episodes.first.get_by_role("button", name=re.compile("^Play"))).to_be_visible()
    first_play = episodes.first.get_by_role("link", name=re.compile("^Open"))
    expect(first_play).to_have_attribute(
        "href", re.compile(rf"^/api/providers/{pid}/play/episode/\d+$")
    )
    shot(page, "series-detail")
    options = season.locator("option")
    if options.count() > 1:
        season.select_option(index=options.count() - 1)
        expect(dialog.locator("#episode-list li").first).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


def test_live_tv_by_keyboard(page: Any, server: Server, synced_provider: int) -> None:
    pid = synced_provider
    open_view(page, "live", pid)
    listbox = page.get_by_role("listbox", name=re.compile("^Live TV"))
    expect(page.locator("#live-count")).to_have_text(f"{SMALL['channels']} channels")

    # Search box -> ArrowDown -> the list; arrows move the active option.
    page.get_by_label("Search channels").focus()
    page.keyboard.press("ArrowDown")
    expect(listbox).to_be_focused()
    expect(listbox).to_have_attribute("aria-activedescendant", re.compile(r"-o0$"))
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(listbox).to_have_attribute("aria-activedescendant", re.compile(r"-o2$"))
    page.keyboard.press("End")
    last_index = SMALL["channels"] - 1
    expect(listbox).to_have_attribute("aria-activedescendant", re.compile(rf"-o{last_index}$"))
    last = listbox.locator(f"[aria-posinset='{SMALL['channels']}']")
    expect(last).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Home")
    expect(listbox).to_have_attribute("aria-activedescendant", re.compile(r"-o0$"))
    shot(page, "live")

    first = server.api("GET", f"/api/providers/{pid}/channels?limit=1").json()["items"][0]
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=first["name"])).to_be_visible()
    expect(dialog.get_by_role("link", name=re.compile("^Open"))).to_have_attribute(
        "href", f"/api/providers/{pid}/play/channel/{first['id']}"
    )
    expect(dialog.get_by_role("button", name="Close")).to_be_focused()
    shot(page, "live-detail")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(listbox).to_be_focused()

    # The category chips are tabs: arrow keys move between them.
    selected = page.locator("#live-categories [aria-selected=true]")
    selected.focus()
    before = selected.get_attribute("data-value")
    page.keyboard.press("ArrowRight")
    focused = page.locator("#live-categories [role=tab]:focus")
    expect(focused).not_to_have_attribute("data-value", before or "")
    on_picker = "chip-picker" in (focused.get_attribute("class") or "")
    if on_picker:
        # Many categories: the last chip opens the picker; Enter does, arrows only reach it.
        expect(focused).to_have_attribute("aria-selected", "false")
        page.keyboard.press("Enter")
        expect(page.locator("#live-category-search")).to_be_focused()
        page.keyboard.press("Escape")
        expect(focused).to_be_focused()
        page.keyboard.press("ArrowLeft")
    after = page.locator("#live-categories [aria-selected=true]")
    if not on_picker:
        expect(after).not_to_have_attribute("data-value", before or "")
    expect(after).to_be_focused()


def test_scroll_far_down_a_64k_list(page: Any, server: Server, big_provider: int) -> None:
    open_view(page, "movies", big_provider)
    page.get_by_role("tablist", name="Movies categories").get_by_role(
        "tab", name=re.compile("^All")
    ).click()
    expect(page.locator("#movies-count")).to_have_text(f"{BIG_MOVIES:,} movies")
    listbox = page.get_by_role("listbox", name="Movies: All")
    expect(listbox.locator("[aria-posinset='1']")).to_contain_text(movie_name(BIG_MOVIES))

    # Half way, then to the very end: rows are fetched a page at a time as they come into view.
    listbox.evaluate("el => { el.scrollTop = el.scrollHeight / 2; }")
    middle = listbox.get_by_role("option").filter(has_text="Seeded Movie").nth(3)
    expect(middle).to_be_visible()
    # To the end, once, as a user drags the thumb there. All was already the list shown, so
    # the click above loads it again, and that load may still be on its way here: when it
    # ends it keeps the view where it is (the test below holds it back on purpose).
    listbox.evaluate("el => { el.scrollTop = el.scrollHeight; }")
    last = listbox.locator(f"[aria-posinset='{BIG_MOVIES}']")
    expect(last).to_contain_text(movie_name(1), timeout=10_000)
    expect(last).to_have_attribute("aria-setsize", str(BIG_MOVIES))
    # Only what is on screen (and a few rows around it) is in the DOM.
    assert listbox.get_by_role("option").count() < 200
    shot(page, "movies-64k-end")

    # Keyboard: Home jumps back to the top, End to the end again.
    listbox.focus()
    page.keyboard.press("Home")
    expect(listbox.locator("[aria-posinset='1']")).to_contain_text(movie_name(BIG_MOVIES))
    page.keyboard.press("End")
    expect(listbox).to_have_attribute("aria-activedescendant", re.compile(rf"-o{BIG_MOVIES - 1}$"))
    expect(last).to_contain_text(movie_name(1))


# The page's next request for a movies list's first page waits until window.__release() is
# called: a slow answer, as on a loaded CI host, but one the test ends when it chooses.
HOLD_NEXT_FIRST_PAGE = """() => {
  const real = window.fetch;
  window.fetch = (url, init) => {
    if (window.__release || !/\\/movies\\?page=1&/.test(String(url))) return real(url, init);
    return new Promise((resolve) => { window.__release = resolve; }).then(() => real(url, init));
  };
}"""


def test_a_reload_of_the_list_shown_keeps_a_jump_to_its_end(
    page: Any, server: Server, big_provider: int
) -> None:
    """Clicking the chip of the list already shown loads that list again. A user who jumps to
    the end of it while that load is on its way stays at the end when the load ends (the view
    used to go back to the top: the 64k test above, on a slow CI run, never saw its last row)."""
    listbox = open_big_all(page, big_provider)
    page.evaluate(HOLD_NEXT_FIRST_PAGE)
    all_tab(page).click()
    expect(page.locator("#movies-status")).to_have_text("Loading…")
    page.wait_for_function("() => Boolean(window.__release)")
    listbox.evaluate("el => { el.scrollTop = el.scrollHeight; }")
    last = listbox.locator(f"[aria-posinset='{BIG_MOVIES}']")
    expect(last).to_contain_text(movie_name(1))

    page.evaluate("() => window.__release()")
    expect(page.locator("#movies-status")).to_be_hidden()
    expect(last).to_contain_text(movie_name(1))
    below = listbox.evaluate("el => el.scrollHeight - el.clientHeight - el.scrollTop")
    assert below <= 1, below


# The first item in a list's view (the lowest aria-posinset not above its top edge), with where
# its top is relative to the list's top edge and its size.
FIRST_IN_VIEW = """el => {
  const top = el.getBoundingClientRect().top;
  let first = null;
  for (const option of el.querySelectorAll('[role=option]')) {
    const box = option.getBoundingClientRect();
    if (box.bottom <= top + 1) continue;
    const at = Number(option.getAttribute('aria-posinset'));
    if (!first || at < first.at) {
      first = {at, text: option.textContent, offset: box.top - top, width: box.width,
               height: box.height};
    }
  }
  return first;
}"""


def all_tab(page: Any) -> Any:
    """The movies' All chip."""
    tabs = page.get_by_role("tablist", name="Movies categories")
    return tabs.get_by_role("tab", name=re.compile("^All"))


def open_big_all(page: Any, big_provider: int, count: int = BIG_MOVIES) -> Any:
    """A seeded provider's All list (``count`` movies), shown (All is the chip selected on
    opening)."""
    open_view(page, "movies", big_provider)
    expect(all_tab(page)).to_have_attribute("aria-selected", "true")
    listbox = page.get_by_role("listbox", name="Movies: All")
    expect(listbox.locator("[aria-posinset='1']")).to_contain_text(movie_name(count))
    return listbox


#: The seeded catalogues the resize tests run on: 64k movies, and 240k, whose list is taller than
#: the scroll range's cap, so that the list maps its offset through a scale.
SIZES = pytest.mark.parametrize(
    ("catalogue", "count"), [("big_provider", BIG_MOVIES), ("huge_provider", HUGE_MOVIES)]
)


@SIZES
def test_a_resize_keeps_the_first_item_in_view_at_the_top(
    page: Any, server: Server, request: pytest.FixtureRequest, catalogue: str, count: int
) -> None:
    """A narrower window has fewer, other-sized columns. The list used to keep its scroll offset
    in pixels, which then was another row: the view jumped thousands of items away."""
    listbox = open_big_all(page, request.getfixturevalue(catalogue), count)
    scaled = listbox.evaluate("el => el.scrollHeight") >= 7_999_000
    assert scaled == (count == HUGE_MOVIES), "the huge list no longer reaches the cap"
    listbox.evaluate("el => { el.scrollTop = Math.round(el.scrollHeight * 0.4); }")
    handle = listbox.element_handle()
    page.wait_for_function(
        f"el => ({FIRST_IN_VIEW})(el)?.text.includes('Seeded Movie')", arg=handle
    )
    before = listbox.evaluate(FIRST_IN_VIEW)
    assert count // 4 < before["at"] < count * 3 // 4, before
    name = re.search(r"Seeded Movie \d+", before["text"])
    assert name, before

    page.set_viewport_size({"width": 700, "height": 860})
    # Laid out again: the cards have another width.
    page.wait_for_function(
        f"el => Math.abs(({FIRST_IN_VIEW})(el)?.width - {before['width']}) > 2", arg=handle
    )
    item = listbox.locator(f"[aria-posinset='{before['at']}']")
    expect(item).to_contain_text(name[0], timeout=5_000)
    after = listbox.evaluate(FIRST_IN_VIEW)
    # The same item, at the top of the view (or within one row of it: a card and the gap).
    row = after["height"] + 12
    offset = item.evaluate("(el) => el.getBoundingClientRect().top") - listbox.evaluate(
        "el => el.getBoundingClientRect().top"
    )
    assert -row < offset < row, (before, after, offset)
    shot(page, f"movies-{count // 1000}k-resized")


@SIZES
def test_a_resize_at_the_end_of_a_list_stays_at_its_end(
    page: Any, server: Server, request: pytest.FixtureRequest, catalogue: str, count: int
) -> None:
    """Narrower, the list is taller: a view at its end stays there, its last row in view."""
    listbox = open_big_all(page, request.getfixturevalue(catalogue), count)
    listbox.evaluate("el => { el.scrollTop = el.scrollHeight; }")
    last = listbox.locator(f"[aria-posinset='{count}']")
    expect(last).to_contain_text(movie_name(1))
    width = last.evaluate("el => el.getBoundingClientRect().width")

    page.set_viewport_size({"width": 700, "height": 860})
    page.wait_for_function(
        f"el => Math.abs(el.getBoundingClientRect().width - {width}) > 2",
        arg=last.element_handle(),
    )
    expect(last).to_contain_text(movie_name(1))
    expect(last).to_be_in_viewport()
    below = listbox.evaluate("el => el.scrollHeight - el.clientHeight - el.scrollTop")
    assert below <= 1, below
    box = last.bounding_box()
    list_box = listbox.bounding_box()
    assert box is not None and list_box is not None
    assert box["y"] + box["height"] <= list_box["y"] + list_box["height"] + 1, (box, list_box)


def test_cancel_a_running_sync(page: Any, server: Server, slow_portal: ServerThread) -> None:
    pid = server.add_provider("Slow portal", slow_portal.url)
    pick_provider(page, "dashboard", pid)
    expect(page.locator("#dashboard-provider")).to_contain_text("Slow portal")
    page.get_by_role("button", name="Start sync").click()
    expect(page.locator("#run-status")).to_have_text("running", timeout=20_000)
    expect(page.get_by_role("progressbar", name="Pages")).to_have_attribute(
        "aria-valuenow", re.compile(r"^\d+$"), timeout=20_000
    )
    shot(page, "dashboard-running")
    page.get_by_role("button", name="Cancel sync").click()
    expect(page.locator("#run-status")).to_have_text("cancelled", timeout=30_000)
    expect(page.locator("#last-run-status")).to_have_text("cancelled")
    expect(page.get_by_role("button", name="Start sync")).to_be_enabled()
    expect(page.locator("#sync-message")).to_contain_text("cancelled")
    shot(page, "dashboard-cancelled")
    run = server.wait_idle(pid)
    assert run["status"] == "cancelled"


VIEWS = ["dashboard", "movies", "series", "live", "providers"]


def test_phone_viewport_has_no_horizontal_scroll(
    phone: Any, server: Server, synced_provider: int
) -> None:
    open_view(phone, "dashboard", synced_provider)
    for view in VIEWS:
        tab(phone, view)
        expect(phone.locator(f"#view-{view}")).to_be_visible()
        phone.wait_for_load_state("networkidle")
        widths = phone.evaluate(
            "() => [document.documentElement.scrollWidth, document.body.scrollWidth,"
            " window.innerWidth]"
        )
        assert max(widths[:2]) <= widths[2], (view, widths)
        nav = phone.get_by_role("navigation", name="Main").bounding_box()
        assert nav is not None and abs(nav["y"] + nav["height"] - 844) <= 1, nav
        # Nothing cut off: the provider picker inside the screen, no box hiding its content.
        clipped = phone.evaluate(
            """() => {
                const out = [];
                const picker = document.querySelector('#provider-select').getBoundingClientRect();
                if (picker.left < 0 || picker.right > window.innerWidth) out.push('picker');
                for (const el of document.querySelectorAll('.table-scroll, .stat, .card')) {
                    if (el.offsetParent && el.scrollWidth > el.clientWidth + 1) {
                        out.push(el.className + ' ' + el.scrollWidth + '>' + el.clientWidth);
                    }
                }
                return out;
            }"""
        )
        assert not clipped, (view, clipped)
        shot(phone, f"phone-{view}")
    tab(phone, "series")
    phone.get_by_role("tablist", name="Series categories").get_by_role(
        "tab", name=re.compile("^All")
    ).click()
    phone.get_by_role("listbox", name="Series: All").get_by_role("option").first.click()
    season = phone.get_by_role("dialog").get_by_label("Season", exact=True)
    expect(season).to_be_visible(timeout=20_000)
    widths = phone.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths
    shot(phone, "phone-series-detail")
    phone.get_by_role("button", name="Close").click()

    # The runs table, opened, fits the phone's width too.
    tab(phone, "dashboard")
    phone.wait_for_load_state("networkidle")
    phone.locator("summary", has_text="Runs as a table").click()
    table = phone.locator(".runs-table .table-scroll")
    expect(table).to_be_visible()
    assert table.evaluate("el => el.scrollWidth <= el.clientWidth + 1")
    shot(phone, "phone-runs-table")


def test_the_runs_table_stays_the_same_element_across_repaints(
    page: Any, server: Server, synced_provider: int
) -> None:
    """The chart repaints on each refresh and resize. The runs table's <details> and summary
    stay the same elements, open stays open, and only the table inside is new: a click on the
    summary during a repaint pressed one element and released over its replacement, and the
    table never opened (the phone test, on a loaded host)."""
    open_view(page, "dashboard", synced_provider)
    summary = page.locator("summary", has_text="Runs as a table")
    summary.click()
    table = page.locator(".runs-table .table-scroll")
    expect(table).to_be_visible()
    page.evaluate(
        """() => {
            document.querySelector('details.runs-table summary').dataset.kept = 'yes';
            document.querySelector('.runs-table .table-scroll').dataset.kept = 'yes';
            document.querySelector('#runs-chart-box svg').dataset.kept = 'yes';
        }"""
    )
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"] - 240, "height": size["height"]})
    # Repainted: the chart's drawing and the table are new elements...
    expect(page.locator("#runs-chart-box svg")).to_have_count(1)
    expect(page.locator("#runs-chart-box svg[data-kept]")).to_have_count(0)
    expect(page.locator(".runs-table .table-scroll[data-kept]")).to_have_count(0)
    # ...the summary is the one the user pressed, and the table is still open.
    expect(page.locator("details.runs-table[open] > summary[data-kept]")).to_have_count(1)
    expect(table).to_be_visible()
    summary.click()  # and it still closes
    expect(table).to_be_hidden()


def test_offline_from_the_cached_snapshot(page: Any, server: Server, synced_provider: int) -> None:
    pid = synced_provider
    open_view(page, "dashboard", pid)
    # Waited for inside one evaluate: `wait_for_function` polls through the page's own `eval`,
    # which the page's CSP (script-src 'self', no 'unsafe-eval') rightly refuses.
    controlled = page.evaluate(
        """() => {
            const sw = navigator.serviceWorker;
            const claimed = sw.ready.then(() => sw.controller !== null || new Promise(
                (resolve) => sw.addEventListener("controllerchange", () => resolve(true))));
            const late = new Promise((resolve) => setTimeout(() => resolve(false), 20000));
            return Promise.race([claimed, late]);
        }"""
    )
    assert controlled, "the service worker never took control of the page"
    revalidations: list[int] = []

    def watch(response: Any) -> None:
        if "/snapshot/essentials" in response.url and response.request.headers.get("if-none-match"):
            revalidations.append(response.status)

    page.context.on("response", watch)
    page.get_by_role("button", name="Save for offline").click()
    expect(page.locator("#offline-note")).to_contain_text("Saved", timeout=20_000)
    tab(page, "movies")
    expect(page.locator("#movies-count")).to_have_text(re.compile(r"\d+ movies"))
    # Reload online: the worker revalidates the cached essentials by ETag (304).
    page.reload()
    expect(page.locator("#movies-count")).to_have_text(re.compile(r"\d+ movies"))
    assert 304 in revalidations, revalidations

    page.context.set_offline(True)
    try:
        page.reload()
        expect(page.locator("#net-status")).to_be_visible()
        expect(page.locator("#movies-count")).to_have_text(re.compile(r"\d+ movies"))
        chips = page.get_by_role("tablist", name="Movies categories")
        chips.get_by_role("tab", name=re.compile("^All")).click()
        listbox = page.locator("#view-movies [role=listbox]")
        expect(page.locator("#movies-count")).to_have_text(f"{SMALL['movies']} movies")
        expect(listbox.locator("[aria-posinset='1']")).not_to_have_class(re.compile("placeholder"))
        name = listbox.locator("[aria-posinset='3'] .card-title").inner_text()
        page.get_by_label("Search movies").fill(name)
        # Searched offline in the saved snapshot: fewer results, and all of them match.
        expect(page.locator("#movies-count")).not_to_have_text(f"{SMALL['movies']} movies")
        expect(listbox).to_have_attribute("aria-label", f"Movies: “{name}” in All")
        options = listbox.get_by_role("option")
        expect(options.first).to_contain_text(name)
        for text in options.all_inner_texts():
            assert name.lower() in text.lower(), text
        shot(page, "offline-movies")
    finally:
        page.context.set_offline(False)


def test_asks_for_the_admin_token(browser: Any, tmp_path: Any, portal: ServerThread) -> None:
    secured = start_server(tmp_path / "secured", token="s3cret-token-long-enough-0123")
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=secured.url)
        page = context.new_page()
        page.goto("/")
        dialog = page.get_by_role("dialog", name="Admin token")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("needs its admin token")
        shot(page, "token-prompt")
        # Cancelled: no more prompts until asked for; the page says what is wrong.
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_be_hidden()
        expect(page.locator("#provider-list")).to_contain_text("credentials required")
        page.get_by_role("button", name="Enter token").click()
        expect(dialog).to_be_visible()
        dialog.get_by_label("Token").fill("wrong")
        dialog.get_by_role("button", name="Use token").click()
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("not valid")
        dialog.get_by_label("Token").fill("s3cret-token-long-enough-0123")
        page.keyboard.press("Enter")
        expect(dialog).to_be_hidden()
        expect(page.locator("#provider-list")).to_contain_text("No provider yet")
        assert (
            page.evaluate("localStorage.getItem('iptvsync.token')")
            == "s3cret-token-long-enough-0123"
        )

        # With the token kept, adding a provider and following its sync work too.
        page.get_by_label("Name", exact=True).fill("Behind a token")
        page.get_by_label("URL", exact=True).fill(f"{portal.url}/c/")
        page.get_by_label("MAC address").fill(MAC)
        page.get_by_role("button", name="Add provider").click()
        expect(page.locator("#provider-list")).to_contain_text("Behind a token")
        tab(page, "dashboard")
        page.get_by_role("button", name="Start sync").click()
        expect(page.locator("#run-status")).to_have_text("succeeded", timeout=60_000)
        expect(page.locator("#stat-movies")).to_have_text(str(SMALL["movies"]))

        # A plain link cannot carry the token: the play link is swapped for a signed one.
        tab(page, "movies")
        page.get_by_role("tablist", name="Movies categories").get_by_role(
            "tab", name=re.compile("^All")
        ).click()
        page.get_by_role("listbox", name="Movies: All").get_by_role("option").first.click()
        play = page.get_by_role("dialog").get_by_role("link", name=re.compile("^Open"))
        play.focus()
        expect(play).to_have_attribute("href", re.compile(r"/play/movie/\d+\?sig=[\w.-]+$"))
        signed = httpx.get(secured.url + play.get_attribute("href"), timeout=30)
        # No Authorization header needed; Stalker movies play through the relay by default.
        assert signed.status_code == 200 and signed.content[:1] == b"\x47"
        context.close()
    finally:
        stop_server(secured)


def test_installable(page: Any, server: Server) -> None:
    page.goto("/")
    expect(page.locator("html[data-ready=true]")).to_have_count(1)
    scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == server.url + "/"
    manifest = page.evaluate("fetch('/manifest.webmanifest').then(r => r.json())")
    assert manifest["display"] == "standalone" and manifest["start_url"].startswith("/")
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        response = page.request.get(icon["src"])
        assert response.status == 200 and response.headers["content-type"] == icon["type"]
    # Nothing is loaded from anywhere but this server.
    assert page.evaluate(
        "performance.getEntriesByType('resource').every(e => e.name.startsWith(location.origin))"
    )


NAMELESS_CONTROLS = """() => {
    const named = (el) => {
        if (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')) return true;
        if (el.labels && el.labels.length) return true;
        return (el.textContent || '').trim().length > 0;
    };
    const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
    return [...document.querySelectorAll(
        'a[href], button, input, select, textarea, [role=listbox], [role=tab], [role=option]'
    )].filter((el) => visible(el) && !named(el)).map((el) => el.outerHTML.slice(0, 120));
}"""


def test_every_control_has_a_name_and_the_keyboard_gets_everywhere(
    page: Any, server: Server, synced_provider: int
) -> None:
    open_view(page, "dashboard", synced_provider)
    for view in VIEWS:
        tab(page, view)
        expect(page.locator(f"#view-{view}")).to_be_visible()
        page.wait_for_load_state("networkidle")
        assert page.evaluate(NAMELESS_CONTROLS) == [], view

    # The first Tab reaches the skip link, which moves focus to the content.
    page.goto("/#/movies")
    page.reload()
    expect(page.locator("html[data-ready=true]")).to_have_count(1)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    expect(page).to_have_url(re.compile(r"#/movies$"))
    # From the content, Tab goes to the search box, then the selected category tab, then the list.
    page.keyboard.press("Tab")
    expect(page.get_by_label("Search movies")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#movies-categories [aria-selected=true]")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("listbox", name=re.compile("^Movies"))).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()


def test_the_sse_parser_handles_split_chunks(page: Any, server: Server) -> None:
    page.goto("/")
    events = page.evaluate(
        """async () => {
            const { SseParser } = await import('/static/sse.js');
            const parser = new SseParser();
            const out = [];
            // A CRLF split between chunks, a comment, a multi-line data field, no space after
            // the colon, and an event without data (which dispatches nothing).
            for (const chunk of ['retry: 2000\\r', '\\n\\r\\nevent: progress\\r\\nda',
                                 'ta: {"a":1}\\r\\n\\r\\n: keep-alive\\n\\n',
                                 'event: end\\ndata:line1\\ndata: line2\\n\\nevent: x\\n\\n']) {
                out.push(...parser.push(chunk));
            }
            return out;
        }"""
    )
    assert events == [
        {"event": "progress", "data": '{"a":1}', "id": None},
        {"event": "end", "data": "line1\nline2", "id": None},
    ]

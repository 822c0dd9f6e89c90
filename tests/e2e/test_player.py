"""Watching in the page, in Debian's Chromium: a live HLS channel (hls.js), an MPEG-TS channel
(mpegts.js) and a movie (native) play through iptvsync's play endpoints from an M3U provider
whose streams are real ffmpeg-made media; favourites and resume positions are kept by the
server, so they survive a reload and show up in a second browser context."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.media import MOVIE_SECONDS, MediaHost, m3u_playlist, media_host
from tests.e2e.support import DESKTOP, Server, shot, show_in_guide

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaHost]:
    with media_host(tmp_path_factory.mktemp("media")) as host:
        yield host


@pytest.fixture(scope="session")
def media_provider(server: Server, media: MediaHost) -> int:
    url = media.playlist("playlist.m3u", m3u_playlist(media))
    # A session fixture runs again when an earlier run of it failed: a name of its own each time.
    name = f"Media {uuid.uuid4().hex[:6]}"
    response = server.api("POST", "/api/providers", json={"name": name, "kind": "m3u", "url": url})
    assert response.status_code == 201, response.text
    provider_id = int(response.json()["id"])
    run = server.sync_and_wait(provider_id)
    assert run["status"] == "succeeded", (run, server.log_tail())
    return provider_id


def _open(page: Any, view: str, provider_id: int) -> None:
    page.context.add_init_script(f"localStorage.setItem('iptvsync.provider', '{provider_id}')")
    page.goto(f"/#/{view}")
    expect(page.locator("html[data-ready=true]")).to_have_count(1)
    expect(page.locator("#provider-select")).to_have_value(str(provider_id))


def _item(server: Server, pid: int, plural: str, name: str) -> dict[str, Any]:
    items = server.api("GET", f"/api/providers/{pid}/{plural}?limit=50").json()["items"]
    return next(i for i in items if i["name"] == name)


def until(page: Any, predicate: str, timeout: float = 20_000) -> None:
    """Poll ``() => predicate`` with evaluate (wait_for_function evaluates strings, which the
    page's CSP refuses)."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(f"() => !!({predicate})"):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {predicate}")
        page.wait_for_timeout(50)


VIDEO = "document.querySelector('#player video')"


def _current_time(page: Any) -> float:
    return float(page.evaluate("document.querySelector('#player video').currentTime"))


def _wait_playing(page: Any, engine: str, past: float = 1.0) -> float:
    """The player uses engine, and its video's currentTime moves by more than past seconds."""
    player = page.locator("#player")
    expect(player).to_have_attribute("data-engine", engine, timeout=20_000)
    until(page, f"{VIDEO}.readyState >= 2 && {VIDEO}.currentTime > 0")
    start = _current_time(page)
    until(page, f"{VIDEO}.currentTime > {start + past}")
    assert not page.locator("#player .player-error").is_visible()
    return _current_time(page)


def _play_from_detail(page: Any, name: str) -> None:
    dialog = page.locator("#detail")
    expect(dialog.get_by_role("heading", name=name)).to_be_visible()
    dialog.get_by_role("button", name=f"Play {name}").click()


def test_live_hls_mpegts_and_a_movie_play_in_the_page(
    page: Any, server: Server, media_provider: int
) -> None:
    pid = media_provider
    hls = _item(server, pid, "channels", "HLS Channel")
    ts = _item(server, pid, "channels", "TS Channel")
    movie = _item(server, pid, "movies", "Test Movie")

    _open(page, "live", pid)
    page.goto(f"/#/live/{hls['id']}")
    _play_from_detail(page, "HLS Channel")
    _wait_playing(page, "hls.js")
    shot(page, "player-live-hls")

    # Channel up: the next channel of the Live list, MPEG-TS through mpegts.js.
    page.locator("#player video").focus()
    page.keyboard.press("ArrowUp")
    expect(page.locator("#player-title")).to_have_text("TS Channel")
    _wait_playing(page, "mpegts.js")
    # m mutes, space pauses.
    page.keyboard.press("m")
    assert page.evaluate("document.querySelector('#player video').muted") is True
    page.keyboard.press(" ")
    until(page, f"{VIDEO}.paused")
    page.keyboard.press("Escape")
    expect(page.locator("#player")).to_be_hidden()
    assert ts["id"] != hls["id"]

    page.goto(f"/#/movies/{movie['id']}")
    _play_from_detail(page, "Test Movie")
    at = _wait_playing(page, "native")
    page.keyboard.press("ArrowRight")  # +10 s
    until(page, f"{VIDEO}.currentTime >= {at + 9}")
    shot(page, "player-movie")


def test_a_refused_stream_is_explained_in_words(
    page: Any, server: Server, media_provider: int
) -> None:
    pid = media_provider
    movie = _item(server, pid, "movies", "Test Movie")
    _open(page, "movies", pid)
    # The play endpoint refuses (as it does a link whose signature expired): 403.
    page.route(
        re.compile(r".*/api/providers/\d+/play/movie/.*"),
        lambda route: route.fulfill(
            status=403,
            content_type="application/json",
            body='{"error": {"code": "forbidden", "message": "this play link has expired"}}',
        ),
    )
    page.goto(f"/#/movies/{movie['id']}")
    _play_from_detail(page, "Test Movie")
    alert = page.locator("#player .player-error")
    expect(alert).to_be_visible(timeout=20_000)
    expect(alert).to_contain_text("Not allowed to play this (403)")
    expect(alert.get_by_role("button", name="Retry")).to_be_visible()


def test_favourites_and_resume_follow_the_viewer(
    browser: Any, server: Server, media_provider: int, tmp_path: Path
) -> None:
    pid = media_provider
    movie = _item(server, pid, "movies", "Test Movie")
    channel = _item(server, pid, "channels", "HLS Channel")
    for kind, item in (("movie", movie), ("channel", channel)):
        server.api("DELETE", f"/api/me/favourites/{pid}/{kind}/{item['id']}")
    server.api("DELETE", f"/api/me/progress/movie/{pid}/{movie['id']}")

    first = browser.new_context(viewport=DESKTOP, base_url=server.url)
    page = first.new_page()
    _open(page, "movies", pid)
    expect(page.locator("#movies-continue")).to_be_hidden()
    page.goto(f"/#/movies/{movie['id']}")
    detail = page.locator("#detail")
    star = detail.get_by_role("button", name=re.compile("Favourite"))
    expect(star).to_have_attribute("aria-pressed", "false")
    star.click()
    expect(star).to_have_attribute("aria-pressed", "true")
    _play_from_detail(page, "Test Movie")
    _wait_playing(page, "native", past=0.5)
    page.evaluate("document.querySelector('#player video').currentTime = 15")
    until(page, f"{VIDEO}.currentTime > 15.5")
    page.keyboard.press(" ")  # pause: the position is saved
    until(page, f"{VIDEO}.paused")

    def stored() -> float | None:
        body = server.api("GET", f"/api/me/progress/movie/{pid}/{movie['id']}").json()
        return body["position"]

    deadline_ok = False
    for _ in range(50):
        position = stored()
        if position is not None and position >= 15:
            deadline_ok = True
            break
        page.wait_for_timeout(100)
    assert deadline_ok, stored()
    page.keyboard.press("Escape")

    # A reload: the row and the chip come from the server.
    page.reload()
    expect(page.locator("html[data-ready=true]")).to_have_count(1)
    row = page.locator("#movies-continue")
    expect(row).to_be_visible()
    card = row.get_by_role("button", name=re.compile("^Resume Test Movie at 0:1[5-9]"))
    expect(card).to_be_visible()
    chips = page.get_by_role("tablist", name="Movies categories")
    expect(chips.get_by_role("tab", name=re.compile("^Favourites"))).to_be_visible()
    shot(page, "continue-watching")
    first.close()

    # A second device (a fresh context: no localStorage, no cache) sees the same library.
    second = browser.new_context(viewport=DESKTOP, base_url=server.url)
    page2 = second.new_page()
    _open(page2, "movies", pid)
    chips2 = page2.get_by_role("tablist", name="Movies categories")
    chips2.get_by_role("tab", name=re.compile("^Favourites")).click()
    listbox = page2.locator("#view-movies [role=listbox]")
    expect(listbox.get_by_role("option")).to_have_count(1)
    expect(listbox.get_by_role("option").first).to_contain_text("Test Movie")
    card2 = page2.locator("#movies-continue").get_by_role(
        "button", name=re.compile("^Resume Test Movie")
    )
    card2.click()
    resumed = _wait_playing(page2, "native", past=0.5)
    assert resumed >= 15, resumed
    # Played to the end: the title leaves "continue watching".
    page2.evaluate(f"document.querySelector('#player video').currentTime = {MOVIE_SECONDS - 1}")
    until(page2, f"{VIDEO}.ended")
    page2.keyboard.press("Escape")
    for _ in range(50):
        if stored() is None:
            break
        page2.wait_for_timeout(100)
    assert stored() is None
    second.close()


def test_a_past_programme_plays_from_the_archive(
    page: Any, server: Server, media_provider: int
) -> None:
    """The HLS channel's playlist entry has catch-up (catchup-source): a past programme in
    the guide plays its archive (the ffmpeg-made archive HLS) through the play endpoint."""
    from datetime import UTC, datetime, timedelta

    import sqlalchemy as sa

    from iptvsync.store.db import create_db_engine
    from iptvsync.store.models import programmes

    pid = media_provider
    now = datetime.now(UTC)
    db = create_db_engine(server.settings.resolved_database_url())
    try:
        with db.begin() as conn:
            conn.execute(programmes.delete().where(programmes.c.provider_id == pid))
            for title, start, stop in (
                ("Earlier news", now - timedelta(minutes=50), now - timedelta(minutes=20)),
                ("Live news", now - timedelta(minutes=20), now + timedelta(minutes=40)),
            ):
                conn.execute(
                    sa.insert(programmes).values(
                        provider_id=pid, channel_key="hls.test", start=start, stop=stop, title=title
                    )
                )
    finally:
        db.dispose()
    _open(page, "guide", pid)
    grid = page.locator("#guide-grid")
    # Each on its own day: past midnight the two can be on two days.
    show_in_guide(page, int((now - timedelta(minutes=20)).timestamp() * 1000))
    expect(grid.locator(".guide-cell.on-now", has_text="Live news")).to_be_visible(timeout=20_000)
    show_in_guide(page, int((now - timedelta(minutes=50)).timestamp() * 1000))
    past = grid.locator(".guide-cell.catchup", has_text="Earlier news")
    expect(past).to_be_visible(timeout=20_000)
    past.click()
    expect(page.locator("#player .player-sub")).to_contain_text("catch-up")
    _wait_playing(page, "hls.js")
    shot(page, "player-catchup")
    # The play endpoint refuses a start outside the archive, in words.
    channel = _item(server, pid, "channels", "HLS Channel")
    future = int((now + timedelta(hours=1)).timestamp())
    refused = server.api("GET", f"/api/providers/{pid}/play/channel/{channel['id']}?start={future}")
    assert refused.status_code == 404, refused.text  # the contract: no archive for that time
    assert refused.json()["error"]["code"] == "not_found"
    assert "archive" in refused.json()["error"]["message"]
    archive = server.api(
        "GET",
        f"/api/providers/{pid}/play/channel/{channel['id']}?start={int(now.timestamp()) - 3000}",
        follow_redirects=False,
    )
    assert archive.status_code == 302
    assert "/archive/index.m3u8?utc=" in archive.headers["location"]


def test_an_output_users_library_follows_them_not_others(
    browser: Any, media: MediaHost, tmp_path: Path
) -> None:
    """On a server with an admin token, an output user's favourite and resume position (made
    in the page, with the user's own token) show up in a second browser context with the same
    token, and not for another user."""
    from iptvsync.store.db import create_db_engine
    from iptvsync.store.users import create_user, issue_token
    from tests.e2e.support import start_server, stop_server

    secured = start_server(tmp_path / "secured", token="admin-secret-20-long-enough-for-tests")
    try:
        url = media.playlist("playlist.m3u", m3u_playlist(media))
        created = secured.api(
            "POST", "/api/providers", json={"name": "Media", "kind": "m3u", "url": url}
        )
        pid = int(created.json()["id"])
        assert secured.sync_and_wait(pid)["status"] == "succeeded"
        db = create_db_engine(secured.settings.resolved_database_url())
        try:
            with db.begin() as conn:
                create_user(conn, "ann", "ann-password-1", provider_ids=[pid])
                create_user(conn, "bob", "bob-password-1", provider_ids=[pid])
                tokens = {u: issue_token(conn, u) for u in ("ann", "bob")}
        finally:
            db.dispose()
        movie = _item(secured, pid, "movies", "Test Movie")

        def device(user: str) -> tuple[Any, Any]:
            context = browser.new_context(viewport=DESKTOP, base_url=secured.url)
            context.add_init_script(
                f"localStorage.setItem('iptvsync.token', '{tokens[user]}');"
                f"localStorage.setItem('iptvsync.provider', '{pid}');"
            )
            page = context.new_page()
            page.goto(f"/#/movies/{movie['id']}")
            expect(page.locator("html[data-ready=true]")).to_have_count(1)
            return context, page

        phone_like, page = device("ann")
        star = page.locator("#detail").get_by_role("button", name=re.compile("Favourite"))
        star.click()
        expect(star).to_have_attribute("aria-pressed", "true")
        _play_from_detail(page, "Test Movie")
        _wait_playing(page, "native", past=0.5)
        page.evaluate(f"{VIDEO}.currentTime = 12")
        until(page, f"{VIDEO}.currentTime > 12.5")
        page.keyboard.press(" ")
        until(page, f"{VIDEO}.paused")
        page.keyboard.press("Escape")
        # The position goes to the server from the pause and again from closing the player;
        # a device is not put away within milliseconds, so wait for the server to hold it
        # before closing this browser context (closing it can cut a request in flight).
        import httpx

        def me(user: str, path: str) -> Any:
            """``GET /api/me/<path>`` as ``user``: what the server holds for them."""
            headers = {"Authorization": f"Bearer {tokens[user]}"}
            return httpx.get(f"{secured.url}/api/me/{path}", headers=headers, timeout=30).json()

        def ann_position() -> float:
            return float(me("ann", f"progress/movie/{pid}/{movie['id']}")["position"] or 0)

        deadline = time.monotonic() + 20
        while ann_position() < 12 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ann_position() >= 12
        phone_like.close()

        laptop, page = device("ann")
        page.keyboard.press("Escape")
        expect(
            page.locator("#movies-continue").get_by_role(
                "button", name=re.compile("^Resume Test Movie at 0:1")
            )
        ).to_be_visible()
        expect(
            page.get_by_role("tablist", name="Movies categories").get_by_role(
                "tab", name=re.compile("^Favourites")
            )
        ).to_be_visible()
        laptop.close()

        other, page = device("bob")
        star = page.locator("#detail").get_by_role("button", name=re.compile("Favourite"))
        expect(star).to_have_attribute("aria-pressed", "false")
        page.keyboard.press("Escape")
        expect(
            page.get_by_role("tablist", name="Movies categories").get_by_role(
                "tab", name=re.compile("^All")
            )
        ).to_be_visible()
        chips = page.get_by_role("tablist", name="Movies categories")
        expect(chips.get_by_role("tab", name=re.compile("^Favourites"))).to_have_count(0)
        expect(page.locator("#movies-continue")).to_be_hidden()
        other.close()
        # What the server holds, per user.

        def mine(user: str, what: str) -> list[int]:
            return [i["item_id"] for i in me(user, what)["items"]]

        assert mine("ann", "favourites") == [movie["id"]]
        assert mine("ann", "continue") == [movie["id"]]
        assert mine("bob", "favourites") == [] and mine("bob", "continue") == []
    finally:
        stop_server(secured)

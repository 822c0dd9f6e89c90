"""Browser tests: the real server (``iptvsync serve`` in a child process, a temporary data dir,
a free loopback port), fake Stalker portals on real sockets, and Debian's Chromium driven by
Playwright's sync API.

Chromium comes from ``apt-get install chromium`` (``.ci/run`` installs it); without it these
tests fail, loudly, rather than skip. Screenshots go to ``tests/e2e/screenshots/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.server import ServerThread
from iptvsync.fakes.stalker import StalkerFakeConfig, create_app
from tests.e2e.support import (
    BIG_MOVIES,
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    HUGE_MOVIES,
    PHONE,
    SMALL,
    Server,
    start_server,
    stop_server,
)

# --- the iptvsync server ------------------------------------------------------------------


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("iptvsync-e2e"))
    yield srv
    stop_server(srv)


# --- fake portals ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def portal() -> Iterator[ServerThread]:
    """A small fake Stalker portal (stock family), fast."""
    catalogue = generate(seed=5, **SMALL)
    with ServerThread(create_app(catalogue, StalkerFakeConfig())) as fake:
        yield fake


@pytest.fixture
def slow_portal() -> Iterator[ServerThread]:
    """A fake portal whose answers take a while, so a sync runs long enough to cancel: above 4
    requests in flight its latency grows with the load, so no concurrency gets it done fast."""
    catalogue = generate(seed=9, movies=3000, series=200, channels=100)
    app = create_app(catalogue, StalkerFakeConfig(latency_ms=250, capacity=4))
    with ServerThread(app) as fake:
        yield fake


@pytest.fixture(scope="session")
def synced_provider(server: Server, portal: ServerThread) -> int:
    """A provider synced once through the API (the UI tests browse it)."""
    provider_id = server.add_provider("Synced portal", portal.url)
    run = server.sync_and_wait(provider_id)
    assert run["status"] == "succeeded", (run, server.log_tail())
    return provider_id


@pytest.fixture(scope="session")
def big_provider(server: Server, portal: ServerThread) -> int:
    """A provider with 64,000 movies, seeded straight into the database (see seed.py)."""
    from tests.e2e.seed import seed_movies

    provider_id = server.add_provider("Big catalogue", portal.url)
    seed_movies(server.settings, provider_id, BIG_MOVIES)
    return provider_id


@pytest.fixture(scope="session")
def huge_provider(server: Server, portal: ServerThread) -> int:
    """A provider with 240,000 movies (seeded, ~5 s): a list past the scroll range's cap."""
    from tests.e2e.seed import seed_movies

    provider_id = server.add_provider("Huge catalogue", portal.url)
    seed_movies(server.settings, provider_id, HUGE_MOVIES)
    return provider_id


# --- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: the browser tests need Debian's Chromium "
            "(apt-get install -y chromium; .ci/run installs it) or IPTVSYNC_CHROMIUM=<path>.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class PageErrors(list[str]):
    """Uncaught exceptions and console errors of a page (failed loads of API 4xx aside)."""

    def watch(self, page: Any) -> None:
        page.on("pageerror", lambda exc: self.append(f"pageerror: {exc}"))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.append(f"console: {message.text}")


def _page(browser: Any, server: Server, viewport: dict[str, int], **options: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=viewport, base_url=server.url, **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = PageErrors()
    errors.watch(page)
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    yield from _page(browser, server, DESKTOP)


@pytest.fixture
def phone(browser: Any, server: Server) -> Iterator[Any]:
    yield from _page(browser, server, PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)

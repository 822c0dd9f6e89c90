"""The demo as a newcomer runs it, twice in a row on one data dir: every picture loads in
Chromium both times (issue 22). A third run finds the portal's remembered port taken: the
portal moves, and the stored image URLs move with it.

The demo runs as ``python -m iptvsync demo`` (what ``scripts/demo.sh`` execs after installing)
in its own process group, stopped with Ctrl-C (SIGINT) as a user stops it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from iptvsync.cli_demo import PORT_FILE
from iptvsync.fakes.server import free_port
from tests.e2e.support import CHROMIUM, CHROMIUM_ARGS, DESKTOP, shot

pytestmark = pytest.mark.e2e

SIZE = ["--movies", "160", "--series", "40", "--channels", "48", "--latency-ms", "0"]


class Demo:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"demo-{self.port}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("IPTVSYNC_")}
        # One page per incremental walk: like a real catalogue far larger than what an
        # incremental sync refreshes, most stored rows are not seen again by the next sync.
        env.update(
            IPTVSYNC_DATA_DIR=str(data_dir), IPTVSYNC_INCREMENTAL_PAGE_CAP="1", COLUMNS="120"
        )
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "iptvsync", "demo", "--port", str(self.port), *SIZE],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        serving = f"on http://127.0.0.1:{self.port}/"
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"the demo exited:\n{self.tail()}")
            # Its own line first: a health check alone could be answered by another server
            # on this port (docs/contributing.md, rule 8).
            if serving in self.log.read_text(errors="replace") and self._healthy():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the demo did not start serving:\n{self.tail()}")
            time.sleep(0.2)

    def _healthy(self) -> bool:
        try:
            return httpx.get(self.url + "/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)  # Ctrl-C in the demo's terminal
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def provider(self) -> dict[str, Any]:
        items = httpx.get(self.url + "/api/providers").json()["items"]
        assert len(items) == 1, items
        return dict(items[0])


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM}"
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _check_every_picture(browser: Any, demo: Demo, name: str) -> str:
    """Browse movies and channels, then load every image URL of the snapshot in the page.
    Returns the portal origin the images came from."""
    provider = demo.provider()
    pid = provider["id"]
    snapshot = httpx.get(f"{demo.url}/api/providers/{pid}/snapshot", timeout=30).json()
    urls = [m["poster"] for k in ("movies", "series") for m in snapshot[k] if m["poster"]]
    urls += [c["logo"] for c in snapshot["channels"] if c["logo"]]
    assert len(urls) >= 160 + 48, len(urls)
    origins = {u.split("/", 3)[2] for u in urls}
    assert len(origins) == 1, origins

    context = browser.new_context(viewport=DESKTOP, base_url=demo.url)
    page = context.new_page()
    page.set_default_timeout(20_000)
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
    page.on(
        "response",
        lambda r: failed.append(f"{r.url} {r.status}") if r.status >= 400 else None,
    )
    page.context.add_init_script(f"localStorage.setItem('iptvsync.provider', '{pid}')")
    for view in ("movies", "series", "live"):
        page.goto(f"/#/{view}")
        expect(page.locator("html[data-ready=true]")).to_have_count(1)
        shown = page.locator(f"#view-{view} img")
        expect(shown.first).to_be_visible()
        page.wait_for_function(
            """(view) => {
                const imgs = [...document.querySelectorAll(`#view-${view} img`)];
                return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
            }""",
            arg=view,
        )
        shot(page, f"{name}-{view}")
    # The grid shows a screenful; every other picture the apps would show is loaded too.
    broken = page.evaluate(
        """async (urls) => {
            const load = (url) => new Promise((done) => {
                const img = new Image();
                img.onload = () => done(img.naturalWidth > 0 ? null : url);
                img.onerror = () => done(url);
                img.src = url;
            });
            return (await Promise.all(urls.map(load))).filter(Boolean);
        }""",
        urls,
    )
    context.close()
    assert broken == [], (len(broken), broken[:5])
    assert failed == [], failed[:5]
    return origins.pop()


def test_the_demo_twice_in_a_row_keeps_every_picture(browser: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = Demo(data_dir)
    try:
        origin_1 = _check_every_picture(browser, first, "demo-first-run")
    finally:
        first.stop()
    assert first.proc.returncode is not None
    portal_port = int((data_dir / PORT_FILE).read_text())
    assert origin_1 == f"127.0.0.1:{portal_port}"

    second = Demo(data_dir)
    try:
        origin_2 = _check_every_picture(browser, second, "demo-second-run")
        runs = httpx.get(f"{second.url}/api/providers/{second.provider()['id']}/sync").json()
        assert [r["status"] for r in runs["last_runs"][:2]] == ["succeeded", "succeeded"]
    finally:
        second.stop()
    assert origin_2 == origin_1  # the same portal port: nothing had to move

    # The remembered port is taken by something else: the portal starts elsewhere, the
    # provider's URL changes, and the stored pictures follow.
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
        squatter.bind(("127.0.0.1", portal_port))
        squatter.listen()
        third = Demo(data_dir)
        try:
            origin_3 = _check_every_picture(browser, third, "demo-moved-portal")
        finally:
            third.stop()
    assert origin_3 != origin_1
    assert "stored image URLs follow it" in third.tail()


def test_a_terminated_demo_stops_its_portal(tmp_path: Path) -> None:
    """SIGTERM (a service manager's stop, `kill`) to the demo alone, not its process group:
    it shuts down and its fake portal goes with it, as on Ctrl-C. uvicorn raises the signal
    again once it has shut down, and the default handler used to end the process before the
    demo could stop the portal, which went on holding its port."""
    data_dir = tmp_path / "data"
    demo = Demo(data_dir)
    try:
        portal_port = int((data_dir / PORT_FILE).read_text())
        assert _listening(portal_port)
        os.kill(demo.proc.pid, signal.SIGTERM)
        assert demo.proc.wait(30) == 128 + signal.SIGTERM, demo.tail()
        deadline = time.monotonic() + 10
        while _listening(portal_port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _listening(portal_port), "the fake portal outlived the demo"
    finally:
        if demo.proc.poll() is None:
            demo.stop()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(demo.proc.pid, signal.SIGKILL)  # whatever is left of the group


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0

"""Helpers of the browser tests: the iptvsync server in a child process, screenshots."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from iptvsync.fakes.server import free_port
from iptvsync.fakes.stalker import DEFAULT_MAC
from iptvsync.settings import Settings

CHROMIUM = os.environ.get("IPTVSYNC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
SMALL = {"movies": 240, "series": 36, "channels": 90}
BIG_MOVIES = 64_000
#: A catalogue whose list is taller than the web list's scroll range (vlist.js MAX_SCROLL_PX,
#: 8M px): the list maps its scroll offset through a scale (~10M px at 1280 px wide).
HUGE_MOVIES = 240_000
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
MAC = DEFAULT_MAC


@dataclass
class Server:
    url: str
    data_dir: Path
    proc: subprocess.Popen[bytes]
    log: Path
    token: str | None = None
    settings: Settings = field(init=False)

    def __post_init__(self) -> None:
        self.settings = Settings(data_dir=self.data_dir)

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def add_provider(self, name: str, portal_url: str) -> int:
        body = {"name": name, "kind": "stalker", "url": portal_url + "/c/", "mac": MAC}
        response = self.api("POST", "/api/providers", json=body)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def sync_and_wait(self, provider_id: int, timeout: float = 90) -> dict[str, Any]:
        response = self.api("POST", f"/api/providers/{provider_id}/sync")
        assert response.status_code == 202, response.text
        return self.wait_idle(provider_id, timeout)

    def wait_idle(self, provider_id: int, timeout: float = 90) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.api("GET", f"/api/providers/{provider_id}/sync").json()
            if status["running"] is None:
                return dict(status["last_runs"][0])
            time.sleep(0.25)
        raise AssertionError(f"the sync of provider {provider_id} did not end in {timeout} s")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_server(data_dir: Path, token: str | None = None) -> Server:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPTVSYNC_")}
    env.update(IPTVSYNC_DATA_DIR=str(data_dir), IPTVSYNC_HOST="127.0.0.1")
    if token:
        env["IPTVSYNC_ADMIN_TOKEN"] = token
    log = data_dir / "server.log"
    code = "import sys; from iptvsync.cli import main; sys.argv[0] = 'iptvsync'; main()"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", data_dir, proc, log, token)
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"iptvsync serve exited:\n{server.log_tail()}")
        try:
            if httpx.get(server.url + "/healthz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            stop_server(server)
            raise RuntimeError(f"iptvsync serve did not start:\n{server.log_tail()}")
        time.sleep(0.1)


def stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()


def shot(page: Any, name: str, full_page: bool = False) -> Path:
    """Write a screenshot to tests/e2e/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


#: Scroll the guide to a time: the ruler's half-hour marks give where a minute of the day is.
_SCROLL_TO = """(grid, ms) => {
  const day = new Date(ms);
  day.setHours(0, 0, 0, 0);
  const marks = grid.querySelectorAll('.guide-mark');
  const x0 = parseFloat(marks[0].style.left);
  const perMinute = (parseFloat(marks[1].style.left) - x0) / 30;
  grid.scrollLeft = Math.max(0, x0 + ((ms - day.getTime()) / 60000) * perMinute - 120);
}"""


def show_in_guide(page: Any, start_ms: int) -> None:
    """What a viewer does to see a programme in the guide: pick its day (in the browser's own
    time zone) when it is not the one shown, then scroll to its time. Past midnight, the
    programme that ended a few minutes ago is yesterday's."""
    day = page.evaluate(
        "ms => { const d = new Date(ms); d.setHours(0, 0, 0, 0); return d.getTime(); }", start_ms
    )
    select = page.locator("#guide-day")
    if select.input_value() != str(day):
        select.select_option(str(day))
    page.locator("#guide-grid").evaluate(_SCROLL_TO, start_ms)

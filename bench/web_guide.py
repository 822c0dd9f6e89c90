"""The web page's guide grid in Debian's Chromium, this tree against another (A B A B).

One ``iptvsync serve`` with a provider of 5,000 channels × 3 days of 2-hour programmes seeded
into its database (``tests/e2e/seed.py``). Each run opens the grid in a fresh browser context
and measures, from ``requestAnimationFrame`` timestamps: the idle page's frames (what the host
gives at all), then three scrolls from the first to the last channel in 300 frames, one while
the guide blocks are still arriving and two through a guide already loaded. Runs alternate
between this tree's ``guide.js``/``style.css`` and those of ``--vs`` (a git ref), served in
their place by Playwright, so both meet the same host load. One JSON line per run.

    .venv/bin/python bench/web_guide.py --vs main --pairs 3
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.seed import seed_channels
from tests.e2e.support import CHROMIUM, CHROMIUM_ARGS, start_server, stop_server
from tests.e2e.test_guide import SCROLL_THROUGH

from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.server import ServerThread
from iptvsync.fakes.stalker import StalkerFakeConfig, create_app

STATIC = "src/iptvsync/web/static"
VIEWPORT = {"width": 1366, "height": 800}


def measure(browser: Any, url: str, pid: int, replaced: dict[str, str]) -> dict[str, Any]:
    context = browser.new_context(viewport=VIEWPORT, base_url=url, service_workers="block")
    context.add_init_script(f"localStorage.setItem('iptvsync.provider', '{pid}')")
    for name, body in replaced.items():
        kind = "text/javascript" if name.endswith(".js") else "text/css"

        def fulfil(route: Any, request: Any, body: str = body, kind: str = kind) -> None:
            route.fulfill(status=200, body=body, content_type=kind)

        context.route(f"**/static/{name}", fulfil)
    page = context.new_page()
    page.goto("/#/guide")
    expect(page.locator("#guide-grid .guide-cell.on-now:visible").first).to_be_visible(
        timeout=30_000
    )
    idle = page.evaluate(SCROLL_THROUGH.replace("grid.scrollTop += stepPx", "void stepPx"),
                         {"steps": 120})  # fmt: skip
    runs = []
    for run in range(3):
        if run:
            page.evaluate("() => { document.getElementById('guide-grid').scrollTop = 0; }")
            page.wait_for_timeout(800)
        runs.append(page.evaluate(SCROLL_THROUGH, {"steps": 300}))
    context.close()
    return {
        "idle_late": idle["late"],
        "p95": [round(r["p95"], 1) for r in runs],
        "late": [r["late"] for r in runs],
        "max": [round(r["max"]) for r in runs],
        "rows": max(r["maxRows"] for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vs", default="main", help="git ref of the other grid (B)")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--channels", type=int, default=5_000)
    args = parser.parse_args()
    other = {
        name: subprocess.run(
            ["git", "show", f"{args.vs}:{STATIC}/{name}"],
            check=True, capture_output=True, text=True,
        ).stdout
        for name in ("guide.js", "style.css")
    }  # fmt: skip
    with (
        tempfile.TemporaryDirectory() as tmp,
        ServerThread(
            create_app(generate(seed=5, movies=10, series=2, channels=20), StalkerFakeConfig())
        ) as portal,
    ):
        server = start_server(Path(tmp) / "data")
        try:
            pid = server.add_provider("Big guide", portal.url)
            seed_channels(server.settings, pid, args.channels, days=3)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                measure(browser, server.url, pid, {})  # warm the server's first reads
                for pair in range(args.pairs):
                    for name, replaced in (("A (this tree)", {}), (f"B ({args.vs})", other)):
                        result = measure(browser, server.url, pid, replaced)
                        print(json.dumps({"pair": pair + 1, "grid": name, **result}), flush=True)
                browser.close()
        finally:
            stop_server(server)


if __name__ == "__main__":
    main()

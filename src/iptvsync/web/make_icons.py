"""Render the PNG app icons from ``static/icons/icon.svg`` with Chromium (a dev tool).

    python -m iptvsync.web.make_icons [--chromium /usr/bin/chromium]

Writes ``icon-192.png``, ``icon-512.png`` and ``icon-maskable-512.png`` (the artwork shrunk
into the maskable safe zone, the central 80% circle, on a full-bleed background). The PNGs are
committed; this only needs to run again when the SVG changes.
"""

from __future__ import annotations

import argparse
import base64
from pathlib import Path

ICONS = Path(__file__).parent / "static" / "icons"
BACKGROUND = "#10131a"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def icon_page(svg: bytes, size: int, scale: float) -> str:
    data = base64.b64encode(svg).decode()
    inner = round(size * scale)
    return (
        "<!doctype html><html><body style='margin:0'>"
        f"<div style='width:{size}px;height:{size}px;display:grid;place-items:center;"
        f"background:{BACKGROUND if scale < 1 else 'transparent'}'>"
        f"<img src='data:image/svg+xml;base64,{data}' width='{inner}' height='{inner}'>"
        "</div></body></html>"
    )


def render(chromium: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    svg = (ICONS / "icon.svg").read_bytes()
    targets = [("icon-192.png", 192, 1.0), ("icon-512.png", 512, 1.0)]
    targets.append(("icon-maskable-512.png", 512, 0.72))
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for name, size, scale in targets:
            page = browser.new_page(viewport={"width": size, "height": size})
            page.set_content(icon_page(svg, size, scale))
            page.wait_for_function("document.images[0].complete")
            out = ICONS / name
            page.screenshot(path=str(out), omit_background=scale >= 1)
            page.close()
            written.append(out)
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m iptvsync.web.make_icons")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    for path in render(args.chromium):
        print(path)


if __name__ == "__main__":
    main()

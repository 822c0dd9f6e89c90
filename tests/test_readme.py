"""The README's demo section (issue 22): the options it names exist, the screenshot is there
and small."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from iptvsync.cli import app

ROOT = Path(__file__).resolve().parent.parent


def _demo_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## The demo")
    return text[start : text.index("\n## ", start + 1)]


def test_the_demo_options_the_readme_names_exist() -> None:
    section = _demo_section()
    named = set(re.findall(r"(--[a-z][a-z-]+)", section))
    assert {"--port", "--portal-port", "--full-size"} <= named
    shown = CliRunner().invoke(app, ["demo", "--help"], env={"COLUMNS": "200"}).output
    assert [o for o in named if o not in shown] == []
    assert "IPTVSYNC_DATA_DIR" in section and "demo-portal.port" in section
    assert "What you will see" in section


def test_the_screenshot_is_a_small_png() -> None:
    (image,) = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", _demo_section())
    data = (ROOT / image).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) < 100_000

"""Caching of private answers, malformed paths, M3U line separators (issue points 5 and 7)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from iptvsync.app import create_app
from iptvsync.outputs.m3u import clean_name, clean_value, entry
from iptvsync.settings import Secret, Settings
from iptvsync.snapshot.build import build_snapshot
from iptvsync.store.users import create_user
from tests.api.conftest import Seeded, seeded

from .conftest import ADMIN_TOKEN

__all__ = ["seeded"]

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def test_authenticated_answers_are_private(
    db: sa.Engine, settings: Settings, seeded: Seeded
) -> None:
    pid = seeded.provider_id
    build_snapshot(db, settings, pid)
    with db.begin() as conn:
        create_user(conn, "viewer", "viewer-password", all_providers=True)
    locked = settings.replace(admin_token=Secret(ADMIN_TOKEN))
    base = f"/api/providers/{pid}"
    with TestClient(create_app(locked)) as client:
        for path in (
            f"{base}/snapshot",
            f"{base}/snapshot/essentials",
            f"{base}/snapshot?kind=movies",
            f"{base}/movies",
            "/api/providers",
        ):
            r = client.get(path, headers=ADMIN)
            assert r.status_code == 200, (path, r.text)
            cache = r.headers["cache-control"]
            assert cache.startswith("private") and "public" not in cache, (path, cache)
            assert "authorization" in r.headers["vary"].lower(), (path, r.headers["vary"])
        # Output users' playlists (credentials in the query) too.
        r = client.get(
            "/playlist.m3u", params={"username": "viewer", "password": "viewer-password"}
        )
        assert r.status_code == 200 and r.headers["cache-control"].startswith("private")
        # A 304 says the same.
        first = client.get(f"{base}/snapshot", headers=ADMIN)
        again = client.get(
            f"{base}/snapshot", headers={**ADMIN, "If-None-Match": first.headers["etag"]}
        )
        assert again.status_code == 304 and again.headers["cache-control"].startswith("private")
        # The web page's files are the same for everyone: not made private.
        assert "private" not in client.get("/static/app.js").headers["cache-control"]
    # Open mode: the snapshot is public by configuration and says so.
    with TestClient(create_app(settings)) as client:
        r = client.get(f"{base}/snapshot")
        assert r.headers["cache-control"].startswith("public")


def test_malformed_paths_are_404(settings: Settings) -> None:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for path in (
            "/static/app.js%00.js",
            "/static/%00",
            "/sw.js%00",
            "/api/providers/1%00",
            "/static/a%e2%80%a8.js",
            "/live/u%00/p/1.ts",
        ):
            r = client.get(path)
            assert r.status_code == 404, (path, r.status_code, r.text)
            assert r.json()["error"]["code"] == "not_found"


#: Every character ``str.splitlines()`` ends a line on, and the other C0/C1 controls.
BREAKERS = [chr(c) for c in range(0x110000) if len(f"a{chr(c)}b".splitlines()) > 1]


def test_m3u_lines_hold_no_unicode_line_separator() -> None:
    assert {"\x85", "\u2028", "\u2029", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"} <= set(BREAKERS)
    nasty = "News" + "".join(BREAKERS) + "HD\x80\x9f"
    line = entry(nasty, "http://x/1.ts" + "\u2028#EXTINF", [("group-title", nasty)])
    assert len(line.splitlines()) == 2, line.splitlines()
    for cleaned in (clean_name(nasty), clean_value(nasty)):
        assert len(cleaned.splitlines()) == 1
        assert not any(ch in cleaned for ch in [*BREAKERS, "\x80", "\x9f"])

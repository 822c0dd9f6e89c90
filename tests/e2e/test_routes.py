"""The routes that serve the web page (no browser needed): the page, its files, the manifest,
the service worker, ETags, and the signed play links the page uses behind a token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest

from iptvsync.app import create_app
from iptvsync.settings import Settings
from iptvsync.web.routes import STATIC_DIR, etag_matches
from tests.e2e.support import Server


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    # The static routes need no services, so the app's lifespan is not run here.
    app = create_app(Settings(data_dir=tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
        yield c


async def test_the_page_has_a_strict_csp_and_revalidates(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    # The players change nothing for scripts and workers: this origin only, no eval, no blob:.
    assert directives["script-src"] == "'self'" and directives["worker-src"] == "'self'"
    assert "blob:" in directives["media-src"]  # Media Source Extensions
    assert response.headers["cache-control"] == "no-cache"
    etag = response.headers["etag"]
    again = await client.get("/", headers={"If-None-Match": f"W/{etag}"})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize(
    ("path", "type_"),
    [
        ("/static/app.js", "text/javascript"),
        ("/static/style.css", "text/css"),
        ("/static/icons/icon.svg", "image/svg+xml"),
        ("/static/icons/icon-192.png", "image/png"),
        ("/manifest.webmanifest", "application/manifest+json"),
    ],
)
async def test_files_have_their_types(client: httpx.AsyncClient, path: str, type_: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(type_)
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/static/../routes.py",
        "/static/..%2Froutes.py",
        "/static/%2e%2e/routes.py",
        "/static/.hidden.js",
        "/static/nope.js",
        "/static/index.html",  # one URL per file: the page is at /
        "/static/sw.js",  # the worker only at the root, where its scope is the site
        "/static/icons",
    ],
)
async def test_only_the_static_files_are_served(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_the_service_worker_knows_the_shell_and_its_version(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["service-worker-allowed"] == "/"
    body = response.text
    assert "__IPTVSYNC" not in body
    version = re.search(r"const VERSION = '([0-9a-f]{16})';", body)
    assert version is not None
    shell_json = re.search(r"const SHELL = (\[.*?\]);", body)
    assert shell_json is not None
    shell = orjson.loads(shell_json.group(1))
    assert "/" in shell and "/static/app.js" in shell and "/manifest.webmanifest" in shell
    assert "/sw.js" not in shell and "/static/sw.js" not in shell
    # The worker precaches every shell file: each one must be there, or install fails.
    for url in shell:
        assert (await client.get(url)).status_code == 200, url


def test_modules_import_only_files_that_exist() -> None:
    for module in STATIC_DIR.glob("*.js"):
        for name in re.findall(r"from '\./([\w-]+\.js)'", module.read_text()):
            assert (STATIC_DIR / name).is_file(), f"{module.name} imports missing {name}"


def test_if_none_match() -> None:
    assert etag_matches('"a", W/"b"', '"b"')
    assert etag_matches("*", '"b"')
    assert not etag_matches('"a"', '"b"')
    assert not etag_matches(None, '"b"')


def test_the_page_gets_signed_play_links(server: Server, synced_provider: int) -> None:
    pid = synced_provider
    movie = server.api("GET", f"/api/providers/{pid}/movies?limit=1").json()["items"][0]
    response = server.api("GET", f"/api/providers/{pid}/play-link/movie/{movie['id']}")
    assert response.status_code == 200
    body = response.json()
    assert body["url"].startswith(f"/api/providers/{pid}/play/movie/{movie['id']}?sig=")
    assert body["expires_in"] > 3600
    # Stalker plays through the relay by default: the signed link answers the stream itself.
    play = httpx.get(server.url + body["url"], follow_redirects=False, timeout=30)
    assert play.status_code == 200 and play.content[:1] == b"\x47", play.text[:200]
    bad = server.api("GET", f"/api/providers/{pid}/play-link/trailer/{movie['id']}")
    assert bad.status_code == 422
    missing = server.api("GET", f"/api/providers/{pid}/play-link/movie/99999999")
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("cmd", "extension", "expected"),
    [
        ("http://cdn.test/live/1.m3u8?token=x", None, "hls"),
        ("ffmpeg http://cdn.test/movie/u/p/5.mkv", None, "file"),
        ("http://cdn.test/live/u/p/7.ts|User-Agent=VLC", None, "mpegts"),
        ("ffrt http://portal.test/ch/1", None, None),
        (None, "mp4", "file"),
        ("http://cdn.test/vod/9", "MPG", "mpegts"),
    ],
)
def test_stream_type_hint(cmd: str | None, extension: str | None, expected: str | None) -> None:
    from iptvsync.web.routes import stream_type

    assert stream_type(cmd, extension) == expected

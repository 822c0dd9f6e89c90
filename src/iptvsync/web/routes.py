"""The web page, served by iptvsync itself: ``/`` (the page), ``/static/...`` (its modules,
styles and icons), ``/manifest.webmanifest`` and ``/sw.js`` (at the root, so the service
worker's scope is the whole site).

Files are read from ``static/`` and kept in memory with a content hash as their ETag; a file
that changes on disk is read again. Every response says ``Cache-Control: no-cache``: browsers
revalidate (a 304 costs a round trip, not the file), and offline use is the service worker's
job. The service worker gets the list of shell files and a version (a hash over their ETags)
written into it, so a changed file installs a new worker and refreshes its cache.

One API route lives here because only the page needs it: ``GET /api/providers/{id}/play-link/
{kind}/{item_id}`` answers ``{url, expires_in}``, a signed play URL. With an admin token set, a
plain ``<a href>`` to the play endpoint cannot carry the ``Authorization`` header; the signed
URL needs none, so the page can hand it to the browser or a player.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from iptvsync.api import signing
from iptvsync.api.auth import Reader
from iptvsync.api.services import Svc
from iptvsync.errors import NotFound
from iptvsync.store import queries

STATIC_DIR = Path(__file__).parent / "static"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".webmanifest": "application/manifest+json",
}
# Served at the root instead of under /static/ (the page, the manifest, the service worker).
ROOT_FILES = {"index.html": "/", "manifest.webmanifest": "/manifest.webmanifest"}
SERVICE_WORKER = "sw.js"
# The players (scripts/vendor-web.sh): loaded when something plays, not precached for offline
# use (nothing plays offline), so installing the page stays light.
VENDOR = "vendor/"
# The page talks to its own origin only; posters and logos come from the provider's hosts.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob: http: https:",
        # Streams: hls.js and mpegts.js fetch a provider's stream after the play endpoint's
        # 302, and <video> plays it, from hosts not known in advance (docs/web.md, "Playback").
        "connect-src 'self' http: https:",
        "media-src 'self' blob: http: https:",
        "manifest-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
#: A signed link from the page stays valid long enough to watch a film with pauses.
PLAY_LINK_TTL_S = 6 * 3600
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

router = APIRouter()


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    etag: str
    media_type: str
    mtime_ns: int


class StaticFiles:
    """The files under ``root``, read once and again when they change."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._cache: dict[str, Asset] = {}

    def path_of(self, name: str) -> Path | None:
        """The file for a request path, or None when it is not one we serve."""
        parts = name.split("/")
        if not name or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
            return None
        if not name.isprintable():  # a NUL or control character: no file has that name
            return None
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root) or path.suffix not in MEDIA_TYPES:
            return None
        return path if path.is_file() else None

    def get(self, name: str) -> Asset | None:
        path = self.path_of(name)
        if path is None:
            return None
        mtime = path.stat().st_mtime_ns
        cached = self._cache.get(name)
        if cached is not None and cached.mtime_ns == mtime:
            return cached
        body = path.read_bytes()
        asset = Asset(body, etag_of(body), MEDIA_TYPES[path.suffix], mtime)
        self._cache[name] = asset
        return asset

    def names(self) -> list[str]:
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in self.root.rglob("*")
            if p.is_file() and p.suffix in MEDIA_TYPES and not p.name.startswith(".")
        )

    def shell(self) -> list[str]:
        """The URLs the service worker precaches: everything the page needs to start."""
        urls = []
        for name in self.names():
            if name == SERVICE_WORKER or name.startswith(VENDOR):
                continue
            urls.append(ROOT_FILES.get(name, f"/static/{name}"))
        return sorted(urls)

    def version(self) -> str:
        digest = hashlib.sha256()
        for name in self.names():
            asset = self.get(name)
            if asset is not None:
                digest.update(f"{name}={asset.etag};".encode())
        return digest.hexdigest()[:16]

    def service_worker(self) -> Asset:
        source = self.get(SERVICE_WORKER)
        if source is None:
            raise NotFound("the service worker is missing")
        body = source.body.replace(b"__IPTVSYNC_VERSION__", self.version().encode()).replace(
            b"__IPTVSYNC_SHELL__", orjson.dumps(self.shell())
        )
        return Asset(body, etag_of(body), source.media_type, source.mtime_ns)


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:24] + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags


def serve(request: Request, asset: Asset, headers: dict[str, str] | None = None) -> Response:
    all_headers = {
        "ETag": asset.etag,
        "Cache-Control": "no-cache",
        **SECURITY_HEADERS,
        **(headers or {}),
    }
    if etag_matches(request.headers.get("if-none-match"), asset.etag):
        return Response(status_code=304, headers=all_headers)
    return Response(asset.body, media_type=asset.media_type, headers=all_headers)


files = StaticFiles(STATIC_DIR)


def _asset(name: str) -> Asset:
    asset = files.get(name)
    if asset is None:
        raise NotFound(f"no such file: {name}")
    return asset


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
def index(request: Request) -> Response:
    return serve(request, _asset("index.html"), {"Content-Security-Policy": CSP})


@router.api_route("/manifest.webmanifest", methods=["GET", "HEAD"], include_in_schema=False)
def manifest(request: Request) -> Response:
    return serve(request, _asset("manifest.webmanifest"))


@router.api_route("/sw.js", methods=["GET", "HEAD"], include_in_schema=False)
def service_worker(request: Request) -> Response:
    return serve(request, files.service_worker(), {"Service-Worker-Allowed": "/"})


@router.api_route("/static/{name:path}", methods=["GET", "HEAD"], include_in_schema=False)
def static(name: str, request: Request) -> Response:
    if name in ROOT_FILES or name == SERVICE_WORKER:
        # One URL per file: the page and the worker live at the root.
        raise NotFound(f"no such file: {name}")
    return serve(request, _asset(name))


@router.get("/api/providers/{provider_id}/play-link/{kind}/{item_id}", tags=["play"])
def play_link(
    provider_id: int,
    kind: Literal["channel", "movie", "episode"],
    item_id: int,
    svc: Svc,
    who: Reader,
    start: int | None = None,
    duration: int | None = None,
) -> dict[str, Any]:
    """A signed play URL for the web page: ``{url, expires_in, type}`` (no header needed to
    play). ``type`` is what the stream most likely is (``hls``, ``mpegts``, ``file``) from the
    item's stored link or extension, or null when only the provider knows (docs/web.md)."""
    who.check(provider_id)
    with svc.db.connect() as conn:
        provider = queries.check_provider(conn, provider_id)
        if kind == "episode":
            row = queries.episode_row(conn, provider_id, item_id)
        else:
            row = queries.item_row(conn, kind, provider_id, item_id)
    extension = getattr(row, "extension", None) if kind != "channel" else None
    url = signing.sign_play_url(svc.settings, provider_id, kind, item_id, ttl_s=PLAY_LINK_TTL_S)
    kind_of_stream = stream_type(row.cmd, extension)
    if start is not None and kind == "channel":
        # Catch-up: the play endpoint checks the window; the archive's own form decides the type.
        url += f"&start={int(start)}" + (f"&duration={int(duration)}" if duration else "")
        detail = row.detail if isinstance(row.detail, dict) else {}
        source = detail.get("catchup-source") if provider.kind == "m3u" else None
        # Xtream's /timeshift/ and a Stalker portal's archive (storage get.php, Flussonic
        # .../mpegts) are MPEG-TS whatever the live link is (docs/stalker.md, Catch-up).
        kind_of_stream = (
            "mpegts"
            if provider.kind in ("xtream", "stalker")
            else stream_type(source or row.cmd, None)
        )
    return {"url": url, "expires_in": PLAY_LINK_TTL_S, "type": kind_of_stream}


FILE_EXTENSIONS = frozenset({"mp4", "m4v", "mkv", "webm", "mov", "avi", "ogv", "mp3", "aac"})
MPEGTS_EXTENSIONS = frozenset({"ts", "mpg", "mpeg", "m2ts"})


def stream_type(cmd: str | None, extension: str | None) -> str | None:
    """``hls``, ``mpegts`` or ``file`` from a stored link's path or a file extension; None
    when neither says (a Stalker ``ffrt`` command, an Xtream live id)."""
    candidates = [extension or ""]
    if cmd:
        link = cmd.split(" ", 1)[-1].split("|", 1)[0]
        path = link.split("?", 1)[0].split("#", 1)[0]
        candidates.append(path.rsplit("/", 1)[-1].rpartition(".")[2] if "." in path else "")
    for ext in (c.lower().strip(".") for c in candidates):
        if ext == "m3u8":
            return "hls"
        if ext in MPEGTS_EXTENSIONS:
            return "mpegts"
        if ext in FILE_EXTENSIONS:
            return "file"
    return None

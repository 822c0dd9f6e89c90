"""The fake portal as a Starlette app: ``create_app``, its routes (load.php, version.js,
placeholder images, streams behind temporary links) and the JSON control API under
``/_control/``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
from typing import Any
from urllib.parse import unquote

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from iptvsync.fakes.catalogue import Catalogue
from iptvsync.fakes.media import FakeMedia, wants_hls
from iptvsync.fakes.stalker.archive import archive_routes
from iptvsync.fakes.stalker.config import RESELLER_PATHS, STOCK_PATHS, StalkerFakeConfig
from iptvsync.fakes.stalker.epg import prerender_guide
from iptvsync.fakes.stalker.payloads import _Ctx
from iptvsync.fakes.stalker.portal import FakeStalkerPortal


def placeholder_svg(name: str) -> bytes:
    """A 2:3 card with a colour and a label derived from ``name``."""
    stem = name.rsplit(".", 1)[0][-6:] or "?"
    hue = int(hashlib.md5(name.encode()).hexdigest()[:4], 16) % 360
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="300" viewBox="0 0 200 300">'
        f'<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="hsl({hue},55%,42%)"/>'
        f'<stop offset="1" stop-color="hsl({(hue + 40) % 360},60%,18%)"/></linearGradient></defs>'
        '<rect width="200" height="300" fill="url(#g)"/>'
        '<text x="100" y="160" font-family="sans-serif" font-size="34" fill="rgba(255,255,255,.8)" '
        f'text-anchor="middle">{html.escape(stem)}</text></svg>'
    ).encode()


def create_app(catalogue: Catalogue, config: StalkerFakeConfig | None = None) -> Starlette:
    """The fake portal. ``app.state.portal`` is the ``FakeStalkerPortal`` behind it."""
    portal = FakeStalkerPortal(catalogue, config)
    if portal.config.epg_prerendered:
        prerender_guide(portal, portal.config)
    media = FakeMedia()

    def mag_box(request: Request) -> bool:
        """Gated mode: a stream needs the MAG User-Agent and a registered MAC's cookie."""
        if not portal.config.gated_streams:
            return True
        if "MAG" not in request.headers.get("user-agent", ""):
            return False
        mac = unquote(request.cookies.get("mac", "")).upper()  # boxes send it URL-encoded
        allowed = portal.config.mac_allowed
        return bool(mac) and (allowed is None or mac in {m.upper() for m in allowed})

    media.gate = mag_box

    async def load_php(request: Request) -> Response:
        return await portal.handle(request)

    async def version_js(request: Request) -> Response:
        body = f"var ver = '{portal.config.version}';\n".encode()
        return Response(body, media_type="application/javascript")

    async def index_html(request: Request) -> Response:
        return Response(
            b"<html><head><title>stalker_portal</title></head></html>", media_type="text/html"
        )

    async def image(request: Request) -> Response:
        # A coloured placeholder per file, so posters and logos in the demo tell apart
        # (SVG whatever the extension: browsers go by the Content-Type).
        name = request.url.path.rsplit("/", 1)[-1]
        return Response(
            placeholder_svg(name),
            media_type="image/svg+xml",
            headers={"Cache-Control": "max-age=86400"},
        )

    async def stream(request: Request) -> Response:
        key = request.query_params.get("play_token") or request.path_params.get("key", "")
        key = key.split(".", 1)[0]
        if not portal.link_valid(key):
            return Response(b"", 403)  # expired temporary link
        path = request.url.path
        live = path.startswith("/stream/live/") or path == "/play/live.php"
        return await media.respond(request, live=live, hls=wants_hls(path))

    routes = [
        Route(path, load_php, methods=["GET", "POST"])
        for path in dict.fromkeys(STOCK_PATHS + RESELLER_PATHS)
    ]
    routes += [
        Route("/c/version.js", version_js),
        Route("/stalker_portal/c/version.js", version_js),
        Route("/c/", index_html),
        Route("/stalker_portal/c/", index_html),
        Route("/stalker_portal/misc/logos/{size}/{name}", image),
        Route("/misc/logos/{size}/{name}", image),
        Route("/stalker_portal/screenshots/{bucket}/{name}", image),
        Route("/images/{name}", image),
        Route("/t/p/{size}/{name}", image),
        Route("/stream/{kind}/{key}", stream),
        Route("/play/live.php", stream),
        Route("/movie/{user}/{password}/{name}", stream),
        Route("/series/{user}/{password}/{name}", stream),
        Route("/ads/{name}", stream),
    ]
    routes += _control_routes(portal)
    routes += media.routes()
    routes += archive_routes(portal, media)  # last: its Flussonic path starts with a variable
    app = Starlette(routes=routes)
    app.state.portal = portal
    app.state.media = media
    return app


def _control_routes(portal: FakeStalkerPortal) -> list[Route]:
    """JSON control API under /_control/ (not counted in stats, no latency, no 429)."""

    def ok(value: Any, status: int = 200) -> Response:
        return Response(orjson.dumps(value), status, media_type="application/json")

    async def body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        data = orjson.loads(raw) if raw else {}
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        return data

    async def add(request: Request) -> Response:
        data = await body(request)
        return ok({"ids": portal.add(data["kind"], int(data.get("count", 1)))})

    async def remove(request: Request) -> Response:
        data = await body(request)
        return ok({"removed": portal.remove(data["kind"], [int(i) for i in data["ids"]])})

    async def truncate(request: Request) -> Response:
        data = await body(request)
        return ok({"removed": portal.truncate(data["kind"], int(data["keep"]))})

    async def config(request: Request) -> Response:
        if request.method == "POST":
            data = await body(request)
            if "mac_allowed" in data and data["mac_allowed"] is not None:
                data["mac_allowed"] = tuple(data["mac_allowed"])
            try:
                portal.configure(**data)
            except ValueError as exc:
                return ok({"error": str(exc)}, 422)
        return ok(dataclasses.asdict(portal.config))

    async def stats(request: Request) -> Response:
        return ok(portal.stats_dict())

    async def reset_stats(request: Request) -> Response:
        portal.reset_stats()
        return ok(portal.stats_dict())

    async def kick(request: Request) -> Response:
        data = await body(request)
        return ok({"kicked": portal.kick(data.get("mac"))})

    async def counts(request: Request) -> Response:
        return ok(portal.catalogue.counts())

    async def warm(request: Request) -> Response:
        """Render every movie, series and channel row ahead for this origin and ``sortby``
        (default "added", what iptvsync walks by), as a portal with warm caches answers:
        benchmarks call it so the fake's own rendering is not counted on the client's cores
        (docs/benchmarks.md). The rows stay until the catalogue changes."""
        data = await body(request)
        sortby = str(data.get("sortby", "added"))
        ctx = _Ctx(portal, request, {"sortby": sortby}, mac="")
        items = [*portal.catalogue.items("movie"), *portal.catalogue.items("series")]
        for item in items:
            ctx.vod_row(item)
        # The lists in portal order too (the whole list, without its adult part, and by
        # category), which the first page of each walk would otherwise sort.
        hide = portal.config.hide_adult_from_all
        for kinds in ("movie", "series", "both"):
            portal.vod_list(kinds, "*", sortby, hide)
            portal.vod_list(kinds, "0", sortby, hide)
        for hide_adult in (False, True):
            for channel in portal.channel_list("*", "number", hide_adult):
                ctx.channel_row(channel)
        portal.channel_list("0", "number", hide)
        portal.newest_added()
        return ok({"rows": len(items)})

    return [
        Route("/_control/add", add, methods=["POST"]),
        Route("/_control/remove", remove, methods=["POST"]),
        Route("/_control/truncate", truncate, methods=["POST"]),
        Route("/_control/config", config, methods=["GET", "POST"]),
        Route("/_control/stats", stats),
        Route("/_control/reset-stats", reset_stats, methods=["POST"]),
        Route("/_control/kick", kick, methods=["POST"]),
        Route("/_control/counts", counts),
        Route("/_control/warm", warm, methods=["POST"]),
    ]

"""The fake panel as a Starlette app: its routes."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route

from iptvsync.fakes.catalogue import Catalogue
from iptvsync.fakes.media import FakeMedia
from iptvsync.fakes.xtream.panel import XtreamPanel
from iptvsync.fakes.xtream.state import FakeXtreamProvider, XtreamFakeConfig, control_endpoint


def create_app(catalogue: Catalogue, config: XtreamFakeConfig | None = None) -> Starlette:
    provider = FakeXtreamProvider(catalogue, config or XtreamFakeConfig())
    media = FakeMedia()
    panel = XtreamPanel(provider, media)
    routes = [
        Route(
            "/_control/{what}",
            control_endpoint(provider, lambda: {"streams_open": provider.streams_open}),
            methods=["GET", "POST"],
        ),
        Route("/_asset/stream.ts", panel.asset),
        Route("/_asset/stream.m3u8", panel.asset),
        Route("/_asset/vod.ts", panel.asset),
        Route("/_asset/vod.m3u8", panel.asset),
        *media.routes(),
        Route("/player_api.php", panel.player_api, methods=["GET", "POST"]),
        Route("/panel_api.php", panel.player_api, methods=["GET", "POST"]),
        Route("/get.php", panel.get_php),
        Route("/xmltv.php", panel.xmltv_php),
        Route("/timeshift/{username}/{password}/{duration}/{start}/{file}", panel.stream),
        Route("/{kind:str}/{username}/{password}/{file}", panel.stream),
        Route("/{username}/{password}/{file}", panel.stream),
    ]
    app = Starlette(routes=routes)
    app.state.provider = provider
    app.state.media = media
    return app

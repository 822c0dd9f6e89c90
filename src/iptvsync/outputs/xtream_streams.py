"""The Xtream stream paths players play (``/live|movie|series/{u}/{p}/{id}.{ext}``, the
timeshift form and the bare playlist form): the user is checked, then the play service answers
(a panel's 302, or the relay; docs/outputs.md). The lists that carry these URLs are
``outputs/routes.py``.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response

from iptvsync.access import Principal
from iptvsync.api import play
from iptvsync.api.services import Svc
from iptvsync.errors import Forbidden, NotFound
from iptvsync.outputs import xtream_api as xt
from iptvsync.outputs.routes import login_async, visible_item
from iptvsync.runtime import Services
from iptvsync.store import batches as read

router = APIRouter(tags=["outputs"])


async def _redirect(
    svc: Services,
    request: Request,
    username: str,
    password: str,
    kind: str,
    item_id: int | None,
    catchup: tuple[int, int] | None = None,
) -> Response:
    who = await login_async(svc, request, username, password)
    if who is None:
        raise Forbidden("wrong username or password")
    if kind == "episode":
        row = await asyncio.to_thread(read.get_episode, svc.db, item_id) if item_id else None
        if row is not None and not who.can_see(row.provider_id):
            row = None
    else:
        row = await asyncio.to_thread(visible_item, svc, who, kind, item_id)
    if row is None:
        raise NotFound(f"no {kind} with that stream id")
    return await _play(svc, request, row.provider_id, kind, row.id, who, catchup)


async def _play(
    svc: Services,
    request: Request,
    provider_id: int,
    kind: str,
    item_id: int,
    who: Principal,
    catchup: tuple[int, int | None] | None = None,
) -> Response:
    """Play through the play service (a 302 like a panel's, or the relay), as the user who
    was authenticated and checked against the provider above."""
    return await play.serve(
        svc, request, provider_id, kind, item_id, play.who_of(who), catchup
    )


@router.api_route(
    methods=["GET", "HEAD"],
    path="/live/{username}/{password}/{stream_id}.{ext}",
    response_class=Response,
)
async def live_stream(
    request: Request, svc: Svc, username: str, password: str, stream_id: int, ext: str
) -> Response:
    return await _redirect(svc, request, username, password, "channel", xt.channel_id_of(stream_id))


@router.api_route(
    methods=["GET", "HEAD"],
    path="/live/{username}/{password}/{stream_id:int}",
    response_class=Response,
)
async def live_stream_bare(
    request: Request, svc: Svc, username: str, password: str, stream_id: int
) -> Response:
    return await _redirect(svc, request, username, password, "channel", xt.channel_id_of(stream_id))


@router.api_route(
    methods=["GET", "HEAD"],
    path="/timeshift/{username}/{password}/{minutes:int}/{start}/{stream_id:int}.{ext}",
    response_class=Response,
)
async def timeshift_stream(
    request: Request, svc: Svc, username: str, password: str, minutes: int, start: str,
    stream_id: int, ext: str,
) -> Response:  # fmt: skip
    """A panel's catch-up URL: ``start`` is ``YYYY-MM-DD:HH-MM`` (UTC), ``minutes`` long."""
    window = xt.timeshift_window(start, minutes)
    channel = xt.channel_id_of(stream_id)
    return await _redirect(svc, request, username, password, "channel", channel, window)


@router.api_route(
    methods=["GET", "HEAD"],
    path="/movie/{username}/{password}/{stream_id}.{ext}",
    response_class=Response,
)
async def movie_stream(
    request: Request, svc: Svc, username: str, password: str, stream_id: int, ext: str
) -> Response:
    return await _redirect(svc, request, username, password, "movie", xt.movie_id_of(stream_id))


@router.api_route(
    methods=["GET", "HEAD"],
    path="/series/{username}/{password}/{stream_id}.{ext}",
    response_class=Response,
)
async def episode_stream(
    request: Request, svc: Svc, username: str, password: str, stream_id: int, ext: str
) -> Response:
    return await _redirect(svc, request, username, password, "episode", xt.episode_id_of(stream_id))


@router.api_route(
    methods=["GET", "HEAD"],
    path="/{username}/{password}/{stream_id:int}.{ext}",
    response_class=Response,
)
async def panel_stream(
    request: Request, svc: Svc, username: str, password: str, stream_id: int, ext: str
) -> Response:
    """The playlist form of a live URL, without ``/live/`` (docs/providers.md §1.7)."""
    if ext not in ("ts", "m3u8"):
        raise NotFound("not found")
    return await _redirect(svc, request, username, password, "channel", xt.channel_id_of(stream_id))

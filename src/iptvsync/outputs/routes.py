"""Outputs for existing players: ``/playlist.m3u``, ``/xmltv.xml[.gz]`` and the Xtream player
API (``/player_api.php``, ``/get.php``, ``/xmltv.php``, ``/live|movie|series/{u}/{p}/{id}.{ext}``).

Everything big is streamed: bodies are generators over keyset batches (``outputs.catalogue``),
run by Starlette in a worker thread one batch at a time, so 100k channels or a 200 MB guide
never sit in memory.

Who may read (docs/outputs.md): with ``IPTVSYNC_ADMIN_TOKEN`` unset everything is open; otherwise
an output user's name and password (query ``username``/``password``, path segments, or HTTP
Basic), their API token (``?token=`` or Bearer), or the admin token. Players only ever hold an
output user's credentials; provider credentials appear nowhere but in the ``Location`` of a
play redirect.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from iptvsync.api import catalogue as catalogue_api
from iptvsync.api import play, signing
from iptvsync.api.auth import (
    OPEN,
    Principal,
    authenticate_token,
    client_address,
    principal_from_request_blocking,
)
from iptvsync.api.services import Services, Svc
from iptvsync.errors import Forbidden, NotFound, ProviderError, Unauthorized
from iptvsync.outputs import catalogue as read
from iptvsync.outputs import m3u, xmltv
from iptvsync.outputs import xtream_api as xt
from iptvsync.outputs.catalogue import ProviderRef
from iptvsync.store.models import users

router = APIRouter(tags=["outputs"])
log = logging.getLogger("iptvsync.outputs")

M3U_TYPE = "audio/x-mpegurl"
XML_TYPE = "application/xml"


# ---------------------------------------------------------------------------------------------
# Who is asking


def _login(svc: Services, request: Request, username: str, password: str) -> Principal | None:
    """An output user by name and password (open mode: anyone); for sync routes."""
    if svc.settings.admin_token is None:
        return OPEN
    address = client_address(request)
    return svc.logins.login_blocking(svc.db, username, password, address)


async def _login_async(
    svc: Services, request: Request, username: str, password: str
) -> Principal | None:
    if svc.settings.admin_token is None:
        return OPEN
    return await svc.logins.login(svc.db, username, password, client_address(request))


def _reader(
    request: Request, svc: Services, username: str | None, password: str | None, token: str | None
) -> Principal:
    """A principal for ``/playlist.m3u`` and ``/xmltv.xml``: header, ``?token=`` or
    ``?username=&password=``. Raises 401/403 (the error envelope)."""
    settings = svc.settings
    if settings.admin_token is None:
        return OPEN
    if request.headers.get("authorization"):
        return principal_from_request_blocking(request)
    if token:
        if hmac.compare_digest(token.encode(), settings.admin_token.get_secret_value().encode()):
            return Principal(admin=True)
        who = authenticate_token(svc.db, token)
        if who is None:
            raise Forbidden("that token is not valid")
        return who
    if username is not None or password is not None:
        who = _login(svc, request, username or "", password or "")
        if who is None:
            raise Forbidden("wrong username or password")
        return who
    raise Unauthorized(
        "credentials required: ?username=&password=, ?token=, HTTP Basic or a Bearer token"
    )


def _base(request: Request) -> str:
    """Our address as the player reached us (a proxy's X-Forwarded-* is honoured by uvicorn's
    ``--proxy-headers``)."""
    return str(request.base_url).rstrip("/")


def _auth_query(
    username: str | None, password: str | None, token: str | None
) -> list[tuple[str, str]]:
    """The query credentials a request came with, to pass on to URLs we hand out (the guide URL
    in a playlist header): a player fetches those without any header."""
    if token:
        return [("token", token)]
    if username is not None and password is not None:
        return [("username", username), ("password", password)]
    return []


# ---------------------------------------------------------------------------------------------
# Play URLs


def _signed_play_url(
    svc: Services, base: str, provider_id: int, kind: str, item_id: int, user_id: int | None = None
) -> str:
    """A signed play URL; bound to the output user who asked, so its streams count for them."""
    if user_id is None:
        return signing.sign_play_url(svc.settings, provider_id, kind, item_id, base_url=base)
    return play.user_play_url(svc, base, provider_id, kind, item_id, user_id)


def _xtream_play_url(
    base: str, username: str, password: str, kind: str, stream_id: int, ext: str
) -> str:
    return f"{base}/{kind}/{quote(username, safe='')}/{quote(password, safe='')}/{stream_id}.{ext}"


# ---------------------------------------------------------------------------------------------
# M3U


def _encoded(chunks: Iterable[str]) -> Iterator[bytes]:
    for chunk in chunks:
        if chunk:
            yield chunk.encode()


def _providers_or_404(svc: Services, who: Principal, wanted: list[int] | None) -> list[ProviderRef]:
    found = read.visible_providers(svc.db, who, wanted)
    if wanted and not found:
        raise NotFound(f"provider {wanted[0]} not found", detail={"provider_id": wanted[0]})
    return found


@router.get("/playlist.m3u", response_class=Response)
def playlist(
    request: Request,
    svc: Svc,
    provider: list[int] | None = Query(None, description="Provider id(s); default: all visible."),
    content: str = Query("live", pattern="^(live|vod|all)$"),
    username: str | None = None,
    password: str | None = None,
    token: str | None = None,
) -> StreamingResponse:
    """An M3U Plus playlist whose entries play through the play endpoint with a signed URL."""
    who = _reader(request, svc, username, password, token)
    providers = _providers_or_404(svc, who, provider)
    base = _base(request)
    guide_query = [("provider", str(p)) for p in provider or []] + _auth_query(
        username, password, token
    )
    guide_url = f"{base}/xmltv.xml.gz" + (f"?{urlencode(guide_query)}" if guide_query else "")

    def play_url(provider_id: int, kind: str, item_id: int, _ext: str) -> str:
        return _signed_play_url(svc, base, provider_id, kind, item_id, who.user_id)

    def catchup_source(_provider_id: int, _channel_id: int, url: str) -> str:
        # The signed play URL with the catch-up window (docs/outputs.md).
        return url + "&start={utc}&duration={duration}"

    def body() -> Iterator[str]:
        yield m3u.header([("x-tvg-url", guide_url), ("url-tvg", guide_url)])
        yield from m3u.playlist(svc.db, providers, content, play_url, catchup_source=catchup_source)

    return StreamingResponse(
        _encoded(body()),
        media_type=M3U_TYPE,
        headers={"Content-Disposition": 'inline; filename="iptvsync.m3u"'},
    )


# ---------------------------------------------------------------------------------------------
# XMLTV


def _guide_response(
    svc: Services, providers: list[ProviderRef], gz: bool, filename: str
) -> StreamingResponse:
    chunks = xmltv.document(svc.db, providers)
    if gz:
        return StreamingResponse(
            xmltv.gzip_stream(chunks),
            media_type="application/gzip",
            headers={"Content-Disposition": f'attachment; filename="{filename}.gz"'},
        )
    return StreamingResponse(chunks, media_type=XML_TYPE)


@router.get("/xmltv.xml", response_class=Response)
def guide(
    request: Request,
    svc: Svc,
    provider: list[int] | None = Query(None),
    username: str | None = None,
    password: str | None = None,
    token: str | None = None,
) -> StreamingResponse:
    """The stored guide as XMLTV: channels (by guide id), then programmes."""
    who = _reader(request, svc, username, password, token)
    return _guide_response(svc, _providers_or_404(svc, who, provider), False, "xmltv.xml")


@router.get("/xmltv.xml.gz", response_class=Response)
def guide_gz(
    request: Request,
    svc: Svc,
    provider: list[int] | None = Query(None),
    username: str | None = None,
    password: str | None = None,
    token: str | None = None,
) -> StreamingResponse:
    """The same guide, gzipped as it streams (a real ``.gz`` file, not Content-Encoding)."""
    who = _reader(request, svc, username, password, token)
    return _guide_response(svc, _providers_or_404(svc, who, provider), True, "xmltv.xml")


# ---------------------------------------------------------------------------------------------
# Xtream player API


async def _params(request: Request) -> dict[str, str]:
    """Query parameters merged with a form body: panels accept POST too (reference §1.1)."""
    params = dict(request.query_params)
    if request.method == "POST":
        kind = request.headers.get("content-type", "")
        if kind.startswith("application/x-www-form-urlencoded"):
            body = (await request.body()).decode(errors="replace")
            params.update(parse_qsl(body, keep_blank_values=True))
    return params


def _json(payload: Any) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json")


def _json_list(parts: Iterable[list[dict[str, Any]]]) -> Iterator[bytes]:
    """A JSON array streamed from batches of objects."""
    yield b"["
    first = True
    for batch in parts:
        if not batch:
            continue
        body = b",".join(orjson.dumps(item) for item in batch)
        yield body if first else b"," + body
        first = False
    yield b"]"


def _stream_json(parts: Iterable[list[dict[str, Any]]]) -> StreamingResponse:
    return StreamingResponse(_json_list(parts), media_type="application/json")


def _int(value: str | None) -> int | None:
    try:
        return int(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None


KIND_OF_ACTION = {
    "get_live_categories": "channel",
    "get_vod_categories": "movie",
    "get_series_categories": "series",
}


@router.api_route("/player_api.php", methods=["GET", "POST"], response_class=Response)
async def player_api(request: Request, svc: Svc) -> Response:
    params = await _params(request)
    username = params.get("username", "")
    password = params.get("password", "")
    who = await _login_async(svc, request, username, password)
    if who is None:
        # XC 2.x answers wrong credentials with HTTP 200 and auth 0, for every action.
        return _json(xt.REFUSED)
    action = params.get("action", "")
    if action in KIND_OF_ACTION:
        return await asyncio.to_thread(_categories, svc, who, KIND_OF_ACTION[action])
    if action in ("get_live_streams", "get_vod_streams", "get_series"):
        kind = {"get_live_streams": "channel", "get_vod_streams": "movie"}.get(action, "series")
        return _streams(svc, who, kind, _int(params.get("category_id")))
    if action == "get_vod_info":
        return await asyncio.to_thread(_vod_info, svc, who, _int(params.get("vod_id")))
    if action == "get_series_info":
        return await _series_info(svc, who, _int(params.get("series_id")))
    if action in ("get_short_epg", "get_simple_data_table", "get_simple_date_table"):
        limit = _int(params.get("limit")) if action == "get_short_epg" else None
        if action == "get_short_epg":
            limit = min(limit or 4, 1000)
        return await asyncio.to_thread(
            _epg, svc, who, _int(params.get("stream_id")), limit, action == "get_short_epg"
        )
    # No action, get_account_info or anything unknown: the login payload (reference §1.1).
    return _json(await asyncio.to_thread(_login_payload, svc, request, username, password))


def _login_payload(svc: Services, request: Request, username: str, password: str) -> dict[str, Any]:
    created = None
    if username:
        with svc.db.connect() as conn:
            created = conn.execute(
                sa.select(users.c.created_at).where(users.c.username == username)
            ).scalar()
    url = request.base_url
    scheme = url.scheme or "http"
    port = url.port or (443 if scheme == "https" else 80)
    return xt.login_payload(
        username,
        password,
        created_at=created,
        host=url.hostname or "",
        port=port,
        scheme=scheme,
        now=datetime.now(UTC),
    )


def _categories(svc: Services, who: Principal, kind: str) -> Response:
    providers = read.visible_providers(svc.db, who)
    several = len(providers) > 1
    out = []
    for provider in providers:
        for cat in read.listed_categories(svc.db, provider.id, kind):
            out.append(
                xt.category_row(cat["id"], read.group_title(cat["title"], provider, several))
            )
    return _json(out)


STREAM_LISTS: dict[
    str, tuple[Callable[..., Iterator[list[Any]]], Callable[..., dict[str, Any]]]
] = {
    "channel": (read.iter_channels, xt.live_row),
    "movie": (read.iter_movies, xt.vod_row),
    "series": (read.iter_series, xt.series_row),
}


def _streams(
    svc: Services, who: Principal, kind: str, category_id: int | None
) -> StreamingResponse:
    def parts() -> Iterator[list[dict[str, Any]]]:
        providers = read.visible_providers(svc.db, who)
        if category_id is not None:
            owner = read.category_provider(svc.db, category_id)
            providers = [p for p in providers if p.id == owner]
        num = 0
        for provider in providers:
            cats = read.category_refs(svc.db, provider.id, kind)
            reader, shape = STREAM_LISTS[kind]
            for rows in reader(svc.db, provider.id, category_id=category_id):
                batch = []
                for row in rows:
                    num += 1
                    batch.append(shape(num, row, cats))
                yield batch

    return _stream_json(parts())


def _visible_item(svc: Services, who: Principal, kind: str, item_id: int | None) -> Any:
    if item_id is None or item_id <= 0:
        return None
    row = read.get_item(svc.db, kind, item_id)
    if row is None or not who.can_see(row.provider_id):
        return None
    return row


def _vod_info(svc: Services, who: Principal, vod_id: int | None) -> Response:
    movie_id = xt.movie_id_of(vod_id) if vod_id is not None else None
    row = _visible_item(svc, who, "movie", movie_id)
    if row is None:
        return _json(xt.EMPTY_VOD_INFO)
    return _json(xt.vod_info(row, read.category_refs(svc.db, row.provider_id, "movie")))


async def _series_info(svc: Services, who: Principal, series_id: int | None) -> Response:
    row = await asyncio.to_thread(_visible_item, svc, who, "series", series_id)
    if row is None:
        return _json({"seasons": [], "info": {}, "episodes": {}})
    await _ensure_episodes(svc, who, row)
    episodes = await asyncio.to_thread(read.series_episodes, svc.db, row.id)
    cats = await asyncio.to_thread(read.category_refs, svc.db, row.provider_id, "series")
    return _json(xt.series_info(row, episodes, cats))


async def _ensure_episodes(svc: Services, who: Principal, row: Any) -> None:
    """Episodes come from the provider on first request (and again when stale), through the
    catalogue API's series detail. A provider failure leaves what is cached: a player gets the
    series with the episodes known so far (maybe none) rather than an error it cannot show."""
    try:
        await catalogue_api.get_series(row.provider_id, row.id, svc, who)
    except ProviderError as exc:
        log.warning("series %s: episodes not fetched (%s)", row.id, exc.code)


def _epg(
    svc: Services, who: Principal, stream_id: int | None, limit: int | None, upcoming: bool
) -> Response:
    channel_id = xt.channel_id_of(stream_id) if stream_id is not None else None
    row = _visible_item(svc, who, "channel", channel_id)
    if row is None or not row.epg_id:
        return _json({"epg_listings": []})
    now = datetime.now(UTC)
    programmes = read.channel_programmes(
        svc.db, row.provider_id, row.epg_id, since=now if upcoming else None, limit=limit
    )
    listings = [xt.epg_listing(p, row.id, now, archive=bool(row.archive)) for p in programmes]
    return _json({"epg_listings": listings})


@router.get("/get.php", response_class=Response)
def get_php(
    request: Request,
    svc: Svc,
    username: str = "",
    password: str = "",
    type: str = "m3u_plus",
    output: str = "ts",
) -> Response:
    """The panel playlist: live channels, movies and the episodes fetched so far, with stream
    URLs of this API (``/live|movie|series/{user}/{pass}/{id}.{ext}``)."""
    who = _login(svc, request, username, password)
    if who is None:
        raise Forbidden("wrong username or password")
    ext = "m3u8" if output.lower() in ("m3u8", "hls") else "ts"
    base = _base(request)
    providers = read.visible_providers(svc.db, who)
    plain = type.lower() == "m3u"

    def play_url(_provider_id: int, kind: str, item_id: int, item_ext: str) -> str:
        if kind == "channel":
            return _xtream_play_url(base, username, password, "live", item_id, ext)
        if kind == "movie":
            return _xtream_play_url(
                base, username, password, "movie", xt.movie_stream_id(item_id), item_ext
            )
        return _xtream_play_url(
            base, username, password, "series", xt.episode_stream_id(item_id), item_ext
        )

    guide_url = f"{base}/xmltv.php?" + urlencode({"username": username, "password": password})

    def catchup_source(_provider_id: int, channel_id: int, _url: str) -> str:
        # A panel's timeshift URL (its start in UTC), as XC players build it.
        return (
            f"{base}/timeshift/{quote(username, safe='')}/{quote(password, safe='')}"
            f"/{{duration:60}}/{{Y}}-{{m}}-{{d}}:{{H}}-{{M}}/{channel_id}.ts"
        )

    def body() -> Iterator[str]:
        yield m3u.header([("x-tvg-url", guide_url), ("url-tvg", guide_url)])
        yield from m3u.playlist(
            svc.db, providers, "all", play_url, bare=plain, catchup_source=catchup_source
        )

    return StreamingResponse(
        _encoded(body()),
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="tv_channels_{quote(username)}_plus.m3u"'
        },
    )


@router.get("/xmltv.php", response_class=Response)
def xmltv_php(
    request: Request,
    svc: Svc,
    username: str = "",
    password: str = "",
    gzip: str | None = None,
) -> StreamingResponse:
    who = _login(svc, request, username, password)
    if who is None:
        raise Forbidden("wrong username or password")
    gz = gzip not in (None, "", "0")
    return _guide_response(svc, read.visible_providers(svc.db, who), gz, "xmltv.xml")


# ---------------------------------------------------------------------------------------------
# Stream redirects


async def _redirect(
    svc: Services,
    request: Request,
    username: str,
    password: str,
    kind: str,
    item_id: int | None,
    catchup: tuple[int, int] | None = None,
) -> Response:
    who = await _login_async(svc, request, username, password)
    if who is None:
        raise Forbidden("wrong username or password")
    if kind == "episode":
        row = await asyncio.to_thread(read.get_episode, svc.db, item_id) if item_id else None
        if row is not None and not who.can_see(row.provider_id):
            row = None
    else:
        row = await asyncio.to_thread(_visible_item, svc, who, kind, item_id)
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
    """The playlist form of a live URL, without ``/live/`` (reference §1.7)."""
    if ext not in ("ts", "m3u8"):
        raise NotFound("not found")
    return await _redirect(svc, request, username, password, "channel", xt.channel_id_of(stream_id))

"""Play: the one endpoint every output points at, whatever the provider's play mode.

``redirect`` mode: resolve a fresh stream link now and answer 302 (Stalker ``create_link``
tokens live seconds, so nothing is stored). ``relay`` mode: iptvsync fetches the stream with
the provider's headers and passes the bytes on (``relay/``); the player never sees a provider
URL, cookie or credential. The mode, limits and remux profile come from the provider's options
(``relay.modes``; docs/outputs.md).

Who may play: the admin, an output user allowed to see the provider, or a request with a valid
signed ``sig`` (``api.signing``). A URL signed for one output user carries ``u=<user id>`` and
a signature over ``<kind>@u<id>``, so its streams count against that user's ``max_streams``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from iptvsync.api.auth import Principal, principal_from_request
from iptvsync.api.catalogue import scrubbed
from iptvsync.api.services import Services, Svc
from iptvsync.api.signing import play_path, sign, verify
from iptvsync.errors import (
    Forbidden,
    NotFound,
    ProviderBadResponse,
    ProviderError,
    ValidationFailed,
)
from iptvsync.providers.catchup import resolve_catchup
from iptvsync.relay import upstream
from iptvsync.relay.broker import Relay, Who
from iptvsync.relay.lookups import lookups
from iptvsync.relay.modes import PlayMode, play_options
from iptvsync.store import queries
from iptvsync.store.providers import provider_config
from iptvsync.store.secrets import reveal

router = APIRouter(tags=["play"])


#: The ``kind`` a per-user play URL is signed under.
def user_kind(kind: str, user_id: int) -> str:
    return f"{kind}@u{user_id}"


def user_play_url(svc: Services, base: str, provider_id: int, kind: str, item_id: int,
                  user_id: int | None, ttl_s: int | None = None) -> str:  # fmt: skip
    """A signed play URL; bound to ``user_id`` (its streams count against that user) if given."""
    extra: dict[str, Any] = {} if ttl_s is None else {"ttl_s": ttl_s}
    if user_id is None:
        sig = sign(svc.settings, provider_id, kind, item_id, **extra)
        return f"{base}{play_path(provider_id, kind, item_id)}?sig={sig}"
    sig = sign(svc.settings, provider_id, user_kind(kind, user_id), item_id, **extra)
    return f"{base}{play_path(provider_id, kind, item_id)}?u={user_id}&sig={sig}"


def get_relay(svc: Services) -> Relay:
    if svc.relay is None:
        svc.relay = Relay(svc)
    return svc.relay


@router.api_route(
    "/api/providers/{provider_id}/play/{kind}/{item_id}",
    methods=["GET", "HEAD"],
    response_class=RedirectResponse,
    status_code=302,
)
async def play(
    provider_id: int,
    kind: Literal["channel", "movie", "episode"],
    item_id: int,
    request: Request,
    svc: Svc,
    sig: str | None = Query(None, max_length=64, description="a signed play link's signature"),
    u: int | None = Query(None, description="the output user a signed link was made for"),
    start: int | None = Query(None, description="catch-up: Unix start of a past programme"),
    duration: int | None = Query(None, ge=60, le=86400, description="catch-up: seconds"),
) -> Response:
    """302 to a fresh stream URL (redirect mode) or the stream itself (relay mode); 502 with
    the provider's error code, 503 ``no_free_connection`` when every slot is held. With
    ``start`` (a channel with catch-up): the archive from then (docs/api.md)."""
    who = await _authorise(request, svc, provider_id, kind, item_id, sig, u)
    catchup = None if start is None else (start, duration)
    return await serve(svc, request, provider_id, kind, item_id, who, catchup)


async def serve(
    svc: Services,
    request: Request,
    provider_id: int,
    kind: str,
    item_id: int,
    who: Who,
    catchup: tuple[int, int | None] | None = None,
) -> Response:
    """Play one item for an already authorised ``who`` (the Xtream paths come here too)."""
    shared = lookups(svc)
    provider, target = await shared.target(provider_id, kind, item_id)
    options = play_options(provider, await shared.pool_macs(provider))
    window = None
    if catchup is not None:
        archive = await asyncio.to_thread(_archive, svc, provider_id, kind, item_id)
        window = catchup_window(archive, *catchup)

    async def resolve(account: str = "default") -> tuple[str, dict[str, str]]:
        """A fresh link and the headers to fetch it with, through the account (MAC) whose
        slot the stream holds."""
        client = await _client_for(svc, provider, account)
        try:
            if window is None:
                url = await client.resolve_play(target)
            else:  # the archive: Stalker asks the portal, the others derive it (catchup.py)
                url = await resolve_catchup(client, provider.kind, target, *window)
        except ProviderError as exc:
            raise scrubbed(exc, provider) from None
        if not url or not isinstance(url, str):
            raise ProviderBadResponse(
                "the provider returned no stream link", detail={"kind": kind, "id": item_id}
            )
        opts = provider.options if isinstance(provider.options, dict) else {}
        return url, upstream.stream_headers(client, provider.kind, opts)

    if options.mode is PlayMode.REDIRECT:
        url, _ = await resolve(options.accounts[0])
        return RedirectResponse(
            url,
            status_code=302,
            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        )
    if request.method == "HEAD":
        return Response(media_type="video/mp2t", headers={"Cache-Control": "no-store"})
    base = str(request.base_url).rstrip("/")

    def hls_url(session: str, index: int, ext: str) -> str:
        return _hls_url(svc, base, provider_id, session, index, ext)

    # A catch-up stream is its own (never the live channel's shared upstream).
    relayed_kind = kind if window is None else "catchup"
    try:
        return await get_relay(svc).open(
            provider, options, relayed_kind, item_id, who, resolve, hls_url,
            byte_range=request.headers.get("range") if kind != "channel" else None,
        )  # fmt: skip
    except ProviderError as exc:
        raise scrubbed(exc, provider) from None


def _hls_url(svc: Services, base: str, provider_id: int, session: str, index: int, ext: str) -> str:
    """A relay URL for one HLS part. It keeps the part's extension (``.m3u8``, ``.ts``,
    ``.aac``...): players such as ffmpeg refuse HLS segments of unknown extensions."""
    path = f"/api/relay/hls/{provider_id}/{session}/{index}.{ext}"
    return f"{base}{path}?sig={sign(svc.settings, provider_id, 'hls-' + session, index)}"


@router.get("/api/relay/hls/{provider_id}/{session}/{index}.{ext}", include_in_schema=False)
async def hls_part(
    provider_id: int, session: str, index: int, ext: str, request: Request, svc: Svc,
    sig: str = Query(..., max_length=64),
) -> Response:  # fmt: skip
    """A relayed HLS variant playlist or segment (URLs handed out in rewritten playlists)."""
    if not verify(svc.settings, provider_id, "hls-" + session, index, sig):
        raise Forbidden("this relay link's signature is not valid or has expired")
    base = str(request.base_url).rstrip("/")

    def hls_url(sid: str, i: int, part_ext: str) -> str:
        return _hls_url(svc, base, provider_id, sid, i, part_ext)

    found = await get_relay(svc).segment(session, index, hls_url)
    if found is None:
        raise NotFound("this HLS session has ended; open the channel again")
    return found


async def _client_for(svc: Services, provider: Any, account: str) -> Any:
    """The provider's shared client, or for another MAC of a Stalker pool a client of that MAC
    (kept per provider version and MAC, like ``ClientPool`` keeps the provider's own)."""
    own = str(reveal(provider.mac) or "").upper()
    if provider.kind != "stalker" or account in ("default", own):
        return await svc.clients.get(provider)
    pool = svc.relay_mac_clients
    key = (provider.id, provider.updated_at, account)
    client = pool.get(key)
    if client is None:
        config = provider_config(provider)
        config.mac = account
        client = pool[key] = svc.make_client(config, svc.http, svc.settings)
    return client


def who_of(principal: Principal) -> Who:
    return Who(user_id=principal.user_id, username=principal.username, admin=principal.admin)


async def _authorise(
    request: Request, svc: Services, provider_id: int, kind: str, item_id: int,
    sig: str | None, user_id: int | None,
) -> Who:  # fmt: skip
    if sig is not None:
        signed_kind = kind if user_id is None else user_kind(kind, user_id)
        if verify(svc.settings, provider_id, signed_kind, item_id, sig):
            if user_id is None:
                return Who(user_id=None, username=None, admin=True)
            # The name (and whether the user still exists) is read with the user's slot, in
            # the relay's gathered transaction; a redirect needs neither.
            return Who(user_id=user_id, username=None, admin=False)
    anonymous = not request.headers.get("authorization")
    if sig is not None and svc.settings.admin_token is not None and anonymous:
        raise Forbidden("this play link's signature is not valid or has expired")
    principal = await principal_from_request(request)
    principal.check(provider_id)
    return who_of(principal)


def _archive(svc: Services, provider_id: int, kind: str, item_id: int) -> int | None:
    """Days of archive of a channel (1 when it has one of unknown length), else None."""
    if kind != "channel":
        return None
    with svc.db.connect() as conn:
        row = queries.item_row(conn, kind, provider_id, item_id)
    return (row.archive_days or 1) if row.archive else None


def catchup_window(
    archive_days: int | None, start: int, duration: int | None
) -> tuple[datetime, int]:
    """(start, seconds) of a catch-up request, checked against the channel's archive."""
    if not archive_days:
        raise NotFound("this channel has no archive (catch-up)", detail={"start": start})
    now = datetime.now(UTC)
    try:
        begin = datetime.fromtimestamp(start, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValidationFailed("start is not a time", detail={"start": start}) from None
    if begin >= now:
        raise NotFound("the archive has no programme at that time yet", detail={"start": start})
    if begin < now - timedelta(days=archive_days):
        raise NotFound(f"the archive keeps {archive_days} day(s)", detail={"start": start})
    return begin, duration or 3600

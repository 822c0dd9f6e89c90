"""The relay for one app: play requests in, provider bytes out, slots counted.

``Relay.open`` takes a viewer through: a user slot (zapping: a user at its limit gives up its
own oldest stream at once), the channel's shared upstream if one is running, else a provider
slot (zapping again: a channel only this user watches is closed for the new one), a fresh link,
the upstream itself, and a ``RelayResponse`` that gives every slot back when the player leaves,
however it leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from iptvsync.errors import NoFreeConnection, ProviderBadResponse
from iptvsync.providers.http import mask_mac
from iptvsync.relay import hls, upstream
from iptvsync.relay.hub import Channel, Viewer
from iptvsync.relay.modes import PlayOptions
from iptvsync.relay.remux import remux
from iptvsync.relay.slots import SlotBook, provider_scope, user_scope
from iptvsync.store import streams

HLS_IDLE_S = 30.0


@dataclass(frozen=True, slots=True)
class Who:
    user_id: int | None
    username: str | None
    admin: bool


@dataclass
class HlsSession:
    id: str
    provider_id: int
    headers: dict[str, str]
    holders: list[str]
    allow_private: bool = False
    urls: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)  # a live playlist lists URLs again
    used: float = field(default_factory=time.monotonic)


class RelayResponse(Response):
    """Streams ``chunks`` to the player; ``cleanup`` runs exactly once whatever happens (the
    player vanishing before the first byte included). ``on_disconnect`` ends the body early."""

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        *,
        media_type: str,
        cleanup: Callable[[], None],
        on_disconnect: Callable[[], None],
        kicked: asyncio.Event | None = None,
    ) -> None:
        # No super().__init__: without a ``body`` Starlette sends no Content-Length (chunked).
        self.status_code = 200
        self.media_type = media_type
        self.background = None
        self.init_headers({"Cache-Control": "no-store"})
        self.chunks = chunks
        self.cleanup = cleanup
        self.on_disconnect = on_disconnect
        self.kicked = kicked

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            self.on_disconnect()

        async def stream() -> None:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async for chunk in self.chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        watcher = asyncio.create_task(watch())
        sender = asyncio.create_task(stream())
        waits: set[asyncio.Future[Any]] = {sender}
        if self.kicked is not None:
            waits.add(asyncio.ensure_future(self.kicked.wait()))
        try:
            # A dropped viewer's send may be stuck on a full socket: stop it, don't wait.
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (*waits, watcher):
                task.cancel()
            with contextlib.suppress(BaseException):
                await sender
            self.cleanup()


class Relay:
    def __init__(self, svc: Any) -> None:
        self.svc = svc
        settings = svc.settings
        self.slots = SlotBook(svc.db, lease_s=settings.stream_lease_s)
        self.buffer_bytes = settings.relay_buffer_bytes
        self.linger_s = 1.0
        self.channels: dict[tuple[Any, ...], Channel] = {}
        self.viewers: dict[str, tuple[Channel, Viewer, str | None]] = {}
        self.hls: dict[str, HlsSession] = {}
        self._locks: dict[tuple[Any, ...], asyncio.Lock] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    # -- public --------------------------------------------------------------------------

    async def open(
        self,
        provider: Any,
        options: PlayOptions,
        kind: str,
        item_id: int,
        who: Who,
        resolve: Callable[[str], Awaitable[tuple[str, dict[str, str]]]],
        hls_url: Callable[[str, int, str], str],
    ) -> Response:
        self._sweep_hls()
        viewer = Viewer(user_id=who.user_id, username=who.username)
        item = {"provider_id": provider.id, "kind": kind, "item_id": item_id}
        key = (provider.id, kind, item_id) if kind == "channel" else (uuid.uuid4().hex,)
        user_holder = await self._user_slot(who, viewer, item)
        try:
            lock = self._locks.setdefault(key, asyncio.Lock())
            async with lock:
                channel = self.channels.get(key)
                if channel is None or channel.closed:
                    opened = await self._open_channel(
                        provider, options, key, item, who, resolve, hls_url, user_holder
                    )
                    if isinstance(opened, Response):
                        return opened  # HLS: the session holds the slots now
                    channel = opened
                channel.join(viewer)
        except BaseException:
            await self.slots.release(user_holder)
            raise
        self.viewers[viewer.id] = (channel, viewer, user_holder)
        self._describe(user_holder, channel, viewer)

        def cleanup() -> None:
            channel.leave(viewer)
            self.viewers.pop(viewer.id, None)
            self._spawn(self.slots.release(user_holder))

        def gone() -> None:
            viewer.dropped = True
            viewer.finish()

        return RelayResponse(
            viewer.body(),
            media_type="video/mp2t",
            cleanup=cleanup,
            on_disconnect=gone,
            kicked=viewer.kicked,
        )

    async def segment(
        self, session_id: str, index: int, hls_url: Callable[[str, int, str], str]
    ) -> Response | None:
        """An HLS variant or segment of a session, fetched with the provider's headers."""
        session = self.hls.get(session_id)
        if session is None or index >= len(session.urls):
            return None
        session.used = time.monotonic()
        up = await upstream.open(
            self.svc.http,
            session.urls[index],
            session.headers,
            allow_private=session.allow_private,
        )
        if up.status >= 400:
            await up.close()
            raise _refused(up.status)
        if hls.is_playlist(up.content_type, up.url):
            try:
                text = (await up.read_all(hls.MAX_PLAYLIST_BYTES)).decode("utf-8", "replace")
            finally:
                await up.close()
            body = hls.rewrite(text, up.url, lambda u: self._register(session, u, hls_url))
            return Response(body, media_type="application/vnd.apple.mpegurl")

        async def chunks() -> AsyncIterator[bytes]:
            async for chunk in up.chunks():
                yield chunk

        stop = asyncio.Event()

        def cleanup() -> None:
            self._spawn(up.close())

        return RelayResponse(
            chunks(), media_type=up.content_type or "video/mp2t", cleanup=cleanup,
            on_disconnect=stop.set, kicked=stop,
        )  # fmt: skip

    async def stop_viewer(self, holder: str) -> bool:
        """Stop a stream by its viewer id (``/api/streams/{id}``), here or on any replica."""
        for channel, viewer, user_holder in list(self.viewers.values()):
            if user_holder == holder or viewer.id == holder:
                viewer.dropped = True
                viewer.finish()
                channel.leave(viewer)
        return bool(await asyncio.to_thread(streams.release, self.svc.db, [holder]))

    def stats(self) -> dict[str, int]:
        return {
            "channels": len(self.channels),
            "viewers": len(self.viewers),
            "hls_sessions": len(self.hls),
        }

    async def aclose(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for channel in list(self.channels.values()):
            channel.stop()
        for channel in list(self.channels.values()):
            await channel.wait_closed()
        for task in list(self._background):
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task
        await self.slots.aclose()
        mac_clients, self.svc.relay_mac_clients = self.svc.relay_mac_clients, {}
        for client in mac_clients.values():
            with contextlib.suppress(Exception):
                await client.aclose()

    # -- slots -------------------------------------------------------------------------

    async def _user_slot(self, who: Who, viewer: Viewer, item: dict[str, Any]) -> str:
        info = {**item, "user_id": who.user_id, "username": who.username, "viewer": viewer.id}
        if who.user_id is None:
            holder = await self.slots.acquire(
                f"admin:{viewer.id}", 1, stream_id=viewer.id, info=info,
                on_lost=lambda: self._kill(viewer), holder=viewer.id,
            )  # fmt: skip
            assert holder is not None
            return holder
        limit = await asyncio.to_thread(streams.user_limit, self.svc.db, who.user_id)
        limit = limit if limit is not None else self.svc.settings.default_max_streams
        scope = user_scope(who.user_id)
        for attempt in range(2):
            holder = await self.slots.acquire(
                scope, limit, stream_id=viewer.id, info=info,
                on_lost=lambda: self._kill(viewer), holder=viewer.id,
            )  # fmt: skip
            if holder is not None or attempt:
                break
            # Zapping: the user's own oldest stream gives its slot to the new one at once.
            mine = await self.slots.holders(scope)
            if mine:
                await self.stop_viewer(mine[0].holder)
        if holder is None:
            raise NoFreeConnection(
                f"user {who.username!r} already watches {limit} stream(s)",
                detail={"limit": limit, "held_by": "user"},
            )
        return holder

    async def _provider_slot(
        self, provider: Any, options: PlayOptions, channel_id: str, info: dict[str, Any],
        who: Who, on_lost: Callable[[], None],
    ) -> tuple[str, str]:  # fmt: skip
        for attempt in range(2):
            for account in options.accounts:
                shown = mask_mac(account) if account != "default" else account
                holder = await self.slots.acquire(
                    provider_scope(provider.id, account), options.max_connections,
                    stream_id=channel_id, info={**info, "account": shown}, on_lost=on_lost,
                )  # fmt: skip
                if holder is not None:
                    return holder, account
            if attempt == 0 and not await self._zap_channel(provider.id, who):
                break
        rows = await self.slots.holders(f"provider:{provider.id}:")
        raise NoFreeConnection(
            f"every connection of this provider is in use ({options.max_connections} per account)",
            detail={"held_by": [_holding(r, who) for r in rows]},
        )

    async def _zap_channel(self, provider_id: int, who: Who) -> bool:
        """Close one of this provider's channels that nobody but ``who`` watches."""
        for channel in list(self.channels.values()):
            if channel.info.get("provider_id") != provider_id or channel.closed:
                continue
            users = {v.user_id for v in channel.viewers.values()}
            if not users or (who.user_id is not None and users == {who.user_id}):
                channel.stop()
                await channel.wait_closed()
                return True
        return False

    # -- channels ----------------------------------------------------------------------

    async def _open_channel(
        self, provider: Any, options: PlayOptions, key: tuple[Any, ...], item: dict[str, Any],
        who: Who, resolve: Callable[[str], Awaitable[tuple[str, dict[str, str]]]],
        hls_url: Callable[[str, int, str], str], user_holder: str,
    ) -> Channel | Response:  # fmt: skip
        channel_id = uuid.uuid4().hex
        box: dict[str, Channel] = {}
        holder, account = await self._provider_slot(
            provider, options, channel_id, item, who,
            on_lost=lambda: box["c"].stop() if "c" in box else None,
        )  # fmt: skip
        try:
            url, headers = await resolve(account)
            private = upstream.may_reach_private(self.svc.http, provider.url)
            up = await upstream.open(self.svc.http, url, headers, allow_private=private)
            if up.status >= 400:
                await up.close()
                raise _refused(up.status)
        except BaseException:
            await self.slots.release(holder)
            raise
        if hls.is_playlist(up.content_type, up.url):
            session = HlsSession(
                uuid.uuid4().hex, provider.id, headers, [holder, user_holder], private
            )
            try:
                text = (await up.read_all(hls.MAX_PLAYLIST_BYTES)).decode("utf-8", "replace")
            finally:
                await up.close()
            self.hls[session.id] = session
            if self._sweeper is None or self._sweeper.done():
                self._sweeper = asyncio.create_task(self._sweep_forever())
            body = hls.rewrite(text, up.url, lambda u: self._register(session, u, hls_url))
            return Response(body, media_type="application/vnd.apple.mpegurl")
        source: AsyncIterator[bytes] = up.chunks()
        if options.remux:
            source = remux(source)

        async def closed(channel: Channel) -> None:
            if self.channels.get(key) is channel:
                del self.channels[key]
                self._locks.pop(key, None)
            with contextlib.suppress(Exception):
                await up.close()
            await self.slots.release(holder)

        shown = mask_mac(account) if account != "default" else account
        channel = Channel(
            key, source, on_close=closed, buffer_bytes=self.buffer_bytes,
            linger_s=self.linger_s, info={**item, "account": shown},
        )  # fmt: skip
        channel.id = channel_id
        box["c"] = channel
        held = self.slots.local(holder)
        if held is not None:
            held.refresh = lambda: {"viewers": len(channel.viewers), "bytes": channel.bytes}
        self.channels[key] = channel
        channel.start()
        return channel

    def _describe(self, user_holder: str, channel: Channel, viewer: Viewer) -> None:
        held = self.slots.local(user_holder)
        if held is None:
            return
        held.info = {**held.info, "stream": channel.id, "account": channel.info.get("account")}
        held.refresh = lambda: {"bytes": viewer.sent, "viewers": len(channel.viewers)}

    def _kill(self, viewer: Viewer) -> None:
        found = self.viewers.get(viewer.id)
        viewer.dropped = True
        viewer.finish()
        if found is not None:
            found[0].leave(viewer)

    # -- HLS ---------------------------------------------------------------------------

    def _register(
        self, session: HlsSession, url: str, hls_url: Callable[[str, int, str], str]
    ) -> str:
        number = session.index.get(url)
        if number is None:
            number = session.index[url] = len(session.urls)
            session.urls.append(url)
        return hls_url(session.id, number, hls.extension(url))

    def _sweep_hls(self) -> None:
        now = time.monotonic()
        for sid, session in list(self.hls.items()):
            if now - session.used > HLS_IDLE_S:
                del self.hls[sid]
                self._spawn(self.slots.release(*session.holders))

    async def _sweep_forever(self) -> None:
        while self.hls:
            await asyncio.sleep(5)
            self._sweep_hls()

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _refused(status: int) -> ProviderBadResponse:
    return ProviderBadResponse(
        f"the provider refused the stream with HTTP {status}", detail={"upstream_status": status}
    )


def _holding(row: streams.SlotRow, who: Who) -> dict[str, Any]:
    info = row.info
    return {
        "account": info.get("account"),
        "kind": info.get("kind"),
        "item_id": info.get("item_id"),
        "viewers": info.get("viewers"),
        "since": row.since,
    }

"""The relay for one app: play requests in, provider bytes out, slots counted.

``Relay.open`` takes a viewer through: a user slot (zapping: a user at its limit gives up its
own oldest stream at once), the channel's shared upstream if one is running (TS: ``hub``; HLS:
``hlsshare``), else a provider slot (zapping again: a channel only this user watches, or a
movie it watches, is closed for the new one), a fresh link, the upstream itself, and a response
that gives every slot back when the player leaves, however it leaves. Movies and episodes get
an upstream of their own, piped at the player's pace with its ``Range`` passed on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from iptvsync.errors import Forbidden, NoFreeConnection
from iptvsync.providers.http import mask_mac
from iptvsync.relay import hls, upstream
from iptvsync.relay.hlsshare import (
    PLAYLIST_TYPE,
    HlsHub,
    HlsSession,
    HlsUpstream,
    Part,
    refresh_window,
    refused,
)
from iptvsync.relay.hub import Channel, Viewer
from iptvsync.relay.modes import PlayOptions
from iptvsync.relay.remux import remux
from iptvsync.relay.response import RelayResponse
from iptvsync.relay.slots import SlotBook, provider_scope, user_scope
from iptvsync.store import streams

__all__ = ["Relay", "RelayResponse", "Who"]

HLS_IDLE_S = 30.0
#: Items a viewer watches from its own upstream, seeking with ``Range``.
VOD_KINDS = frozenset({"movie", "episode"})
Resolve = Callable[[str], Awaitable[tuple[str, dict[str, str]]]]
HlsUrl = Callable[[str, int, str], str]


@dataclass(frozen=True, slots=True)
class Who:
    user_id: int | None
    username: str | None
    admin: bool


@dataclass(eq=False)
class VodStream:
    """A movie or episode playing from its own upstream (not shared)."""

    viewer: Viewer
    provider_id: int
    item: tuple[str, int]
    user_id: int | None
    done: asyncio.Event


class Relay:
    def __init__(self, svc: Any) -> None:
        self.svc = svc
        settings = svc.settings
        self.slots = SlotBook(svc.db, lease_s=settings.stream_lease_s)
        self.buffer_bytes = settings.relay_buffer_bytes
        self.linger_s = 1.0
        self.channels: dict[tuple[Any, ...], Channel] = {}
        # viewer id → (its shared TS channel, or None for a VOD stream; viewer; user slot)
        self.viewers: dict[str, tuple[Channel | None, Viewer, str | None]] = {}
        self.vod: dict[str, VodStream] = {}
        self.hls = HlsHub(svc.http, idle_s=HLS_IDLE_S, cache_bytes=settings.relay_hls_cache_bytes)
        self._locks: dict[tuple[Any, ...], asyncio.Lock] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    # -- public --------------------------------------------------------------------------

    async def open(
        self, provider: Any, options: PlayOptions, kind: str, item_id: int, who: Who,
        resolve: Resolve, hls_url: HlsUrl, byte_range: str | None = None,
    ) -> Response:  # fmt: skip
        """A viewer's stream of an item. ``byte_range``: the player's ``Range`` (movies and
        episodes pass it upstream)."""
        self._sweep_hls()
        viewer = Viewer(user_id=who.user_id, username=who.username)
        item = {"provider_id": provider.id, "kind": kind, "item_id": item_id}
        shared = kind == "channel"
        key = (provider.id, kind, item_id) if shared else (uuid.uuid4().hex,)
        user_holder = await self._user_slot(who, viewer, item)
        try:
            lock = self._locks.setdefault(key, asyncio.Lock()) if shared else asyncio.Lock()
            async with lock:
                running = self.hls.open_upstream(key)
                if running is not None:  # the channel's HLS is relayed already: share it
                    return await self._join_hls(running, who, user_holder, hls_url)
                channel = self.channels.get(key)
                if channel is None or channel.closed:
                    opened = await self._open_upstream(
                        provider, options, key, item, who, resolve, hls_url, user_holder,
                        viewer, byte_range,
                    )  # fmt: skip
                    if isinstance(opened, Response):
                        return opened  # HLS or VOD: the stream holds the slots now
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

    async def segment(self, session_id: str, index: int, hls_url: HlsUrl) -> Response | None:
        """An HLS variant or segment of a session, through the channel's shared cache."""
        self._sweep_hls()
        return await self.hls.part(session_id, index, hls_url)

    async def stop_viewer(self, holder: str) -> bool:
        """Stop a stream by its viewer id (``/api/streams/{id}``), here or on any replica."""
        for channel, viewer, user_holder in list(self.viewers.values()):
            if user_holder == holder or viewer.id == holder:
                viewer.dropped = True
                viewer.finish()
                if channel is not None:
                    channel.leave(viewer)
        session = self.hls.find(holder)
        if session is not None:
            await self.slots.release(*self._end_hls_session(session))
        return bool(await asyncio.to_thread(streams.release, self.svc.db, [holder]))

    def stats(self) -> dict[str, int]:
        return {
            "channels": len(self.channels),
            "viewers": len(self.viewers),
            "vod_streams": len(self.vod),
            **self.hls.stats(),
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
        scope = user_scope(who.user_id)
        default = self.svc.settings.default_max_streams
        for attempt in range(2):
            # The user's own limit is read with the slot, in the same gathered transaction.
            holder, grant = await self.slots.take(
                scope, default, stream_id=viewer.id, info=info,
                on_lost=lambda: self._kill(viewer), holder=viewer.id, user_id=who.user_id,
            )  # fmt: skip
            if grant.user_missing:
                raise Forbidden("this play link's user no longer exists")
            if holder is not None or attempt:
                break
            # Zapping: the user's own oldest stream gives its slot to the new one at once.
            mine = await self.slots.holders(scope)
            if mine:
                await self.stop_viewer(mine[0].holder)
        if holder is None:
            name = grant.username or who.username
            raise NoFreeConnection(
                f"user {name!r} already watches {grant.limit} stream(s)",
                detail={"limit": grant.limit, "held_by": "user"},
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
            if attempt == 0 and not await self._zap(provider.id, who):
                break
        rows = await self.slots.holders(f"provider:{provider.id}:")
        raise NoFreeConnection(
            f"every connection of this provider is in use ({options.max_connections} per account)",
            detail={"held_by": [_holding(r, who) for r in rows]},
        )

    async def _zap(self, provider_id: int, who: Who) -> bool:
        """Free one of this provider's connections for ``who``: a channel (TS or HLS) nobody
        but ``who`` watches, else a movie ``who`` watches (a player seeking opens the next
        request before the last one is gone)."""
        for channel in list(self.channels.values()):
            if channel.info.get("provider_id") != provider_id or channel.closed:
                continue
            users = {v.user_id for v in channel.viewers.values()}
            if not users or (who.user_id is not None and users == {who.user_id}):
                channel.stop()
                await channel.wait_closed()
                return True
        for up in list(self.hls.upstreams.values()):
            users = {s.user_id for s in up.sessions.values()}
            if up.provider_id == provider_id and (
                not users or (who.user_id is not None and users == {who.user_id})
            ):
                await self.slots.release(*self._close_hls(up))
                return True
        for vod in list(self.vod.values()):
            if vod.provider_id == provider_id and vod.user_id == who.user_id:
                self._kill(vod.viewer)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(5):
                        await vod.done.wait()
                return True
        return False

    # -- upstreams ---------------------------------------------------------------------

    async def _open_upstream(
        self, provider: Any, options: PlayOptions, key: tuple[Any, ...], item: dict[str, Any],
        who: Who, resolve: Resolve, hls_url: HlsUrl, user_holder: str, viewer: Viewer,
        byte_range: str | None,
    ) -> Channel | Response:  # fmt: skip
        channel_id = uuid.uuid4().hex
        stop: list[Callable[[], None]] = []
        holder, account = await self._provider_slot(
            provider, options, channel_id, item, who,
            on_lost=lambda: stop[0]() if stop else None,
        )  # fmt: skip
        vod = item["kind"] in VOD_KINDS
        try:
            url, headers = await resolve(account)
            private = upstream.may_reach_private(self.svc.http, provider.url)
            up = await upstream.open(
                self.svc.http, url, headers, allow_private=private,
                byte_range=byte_range if vod else None,
            )  # fmt: skip
            if up.status >= 400 and not (vod and up.status == 416):
                await up.close()
                raise refused(up.status)
        except BaseException:
            await self.slots.release(holder)
            raise
        shown = mask_mac(account) if account != "default" else account
        if hls.is_playlist(up.content_type, up.url):
            return await self._start_hls(
                up, key, provider.id, headers, private, holder, shown, who, user_holder,
                hls_url, stop,
            )  # fmt: skip
        if vod and not options.remux:
            return self._vod(up, item, holder, shown, who, viewer, user_holder, stop)
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

        channel = Channel(
            key, source, on_close=closed, buffer_bytes=self.buffer_bytes,
            linger_s=self.linger_s, info={**item, "account": shown},
        )  # fmt: skip
        channel.id = channel_id
        stop.append(channel.stop)
        held = self.slots.local(holder)
        if held is not None:
            held.refresh = lambda: {"viewers": len(channel.viewers), "bytes": channel.bytes}
        self.channels[key] = channel
        channel.start()
        return channel

    def _vod(
        self, up: upstream.Upstream, item: dict[str, Any], holder: str, shown: str, who: Who,
        viewer: Viewer, user_holder: str, stop: list[Callable[[], None]],
    ) -> Response:  # fmt: skip
        """A movie or episode piped from its own upstream with the player's pace (a paused
        player pauses the provider too, instead of being dropped), ``Range`` passed on: 206
        with the provider's ``Content-Range`` when it honoured it, else 200."""
        stream = VodStream(viewer, item["provider_id"], (item["kind"], item["item_id"]),
                           who.user_id, asyncio.Event())  # fmt: skip
        self.vod[viewer.id] = stream
        self.viewers[viewer.id] = (None, viewer, user_holder)
        stop.append(lambda: self._kill(viewer))
        for slot in (holder, user_holder):
            held = self.slots.local(slot)
            if held is not None:
                held.info = {**held.info, "stream": viewer.id, "account": shown}
                held.refresh = lambda: {"bytes": viewer.sent, "viewers": 1}

        async def chunks() -> AsyncIterator[bytes]:
            async for chunk in up.chunks():
                viewer.sent += len(chunk)
                yield chunk

        async def close() -> None:
            try:
                with contextlib.suppress(Exception):
                    await up.close()
                await self.slots.release(holder, user_holder)
            finally:
                # Listed until its slots are free: a seek that zapped this stream (its user's
                # slot first) finds it here and waits for ``done`` before taking the slot.
                self.vod.pop(viewer.id, None)
                stream.done.set()

        def cleanup() -> None:
            self.viewers.pop(viewer.id, None)
            self._spawn(close())

        def gone() -> None:
            viewer.dropped = True
            viewer.finish()

        passed = ("Content-Length", "Content-Range", "Accept-Ranges")
        headers = {name: value for name in passed if (value := up.header(name)) is not None}
        return RelayResponse(
            chunks(), media_type=up.content_type or "video/mp2t", cleanup=cleanup,
            on_disconnect=gone, kicked=viewer.kicked,
            status_code=up.status if up.status in (206, 416) else 200, headers=headers,
        )  # fmt: skip

    # -- HLS ---------------------------------------------------------------------------

    async def _start_hls(
        self, up: upstream.Upstream, key: tuple[Any, ...], provider_id: int,
        headers: dict[str, str], private: bool, holder: str, shown: str, who: Who,
        user_holder: str, hls_url: HlsUrl, stop: list[Callable[[], None]],
    ) -> Response:  # fmt: skip
        try:
            try:
                body = await up.read_all(hls.MAX_PLAYLIST_BYTES)
            finally:
                await up.close()
        except BaseException:
            await self.slots.release(holder)
            raise
        text = body.decode("utf-8", "replace")
        shared = HlsUpstream(key, provider_id, headers, private, holder, up.url, account=shown)
        first = Part(body, PLAYLIST_TYPE, up.url, True, _now() + refresh_window(text))
        self.hls.start(shared, first)
        stop.append(lambda: self._spawn(self.slots.release(*self._close_hls(shared))))
        held = self.slots.local(holder)
        if held is not None:
            held.refresh = lambda: {"viewers": len(shared.sessions)}
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep_forever())
        return await self._join_hls(shared, who, user_holder, hls_url)

    async def _join_hls(
        self, shared: HlsUpstream, who: Who, user_holder: str, hls_url: HlsUrl
    ) -> Response:
        session, response = await self.hls.join(shared, user_holder, who.user_id, hls_url)
        held = self.slots.local(user_holder)
        if held is not None:
            held.info = {**held.info, "stream": shared.id, "account": shared.account}
            held.refresh = lambda: {"bytes": session.sent, "viewers": len(shared.sessions)}
            held.on_lost = lambda: self._spawn(self.slots.release(*self._end_hls_session(session)))
        return response

    def _end_hls_session(self, session: HlsSession) -> list[str]:
        """End a viewer's HLS session: the slots to free (its user slot, and the provider
        slot when it was the channel's last viewer)."""
        closed = self.hls.end_session(session)
        holders = [session.user_holder] if session.user_holder else []
        if closed is not None:
            self._locks.pop(closed.key, None)
            holders.append(closed.holder)
        return holders

    def _close_hls(self, shared: HlsUpstream) -> list[str]:
        sessions = list(shared.sessions.values())
        self.hls.close(shared)
        self._locks.pop(shared.key, None)
        return [shared.holder, *(s.user_holder for s in sessions if s.user_holder)]

    def _sweep_hls(self) -> None:
        for session in self.hls.idle():
            self._spawn(self.slots.release(*self._end_hls_session(session)))

    async def _sweep_forever(self) -> None:
        while self.hls.sessions:
            await asyncio.sleep(5)
            self._sweep_hls()

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
        if found is not None and found[0] is not None:
            found[0].leave(viewer)

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _holding(row: streams.SlotRow, who: Who) -> dict[str, Any]:
    info = row.info
    return {
        "account": info.get("account"),
        "kind": info.get("kind"),
        "item_id": info.get("item_id"),
        "viewers": info.get("viewers"),
        "since": row.since,
    }


def _now() -> float:
    return time.monotonic()

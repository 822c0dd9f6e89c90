"""The relay's streaming response: provider bytes to one player, slots freed however it ends."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send


class RelayResponse(Response):
    """Streams ``chunks`` to the player; ``cleanup`` runs exactly once whatever happens (the
    player vanishing before the first byte included). ``on_disconnect`` ends the body early.
    Without a ``Content-Length`` in ``headers`` the body is sent chunked (a live stream)."""

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        *,
        media_type: str,
        cleanup: Callable[[], None],
        on_disconnect: Callable[[], None],
        kicked: asyncio.Event | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        # No super().__init__: without a ``body`` Starlette sends no Content-Length itself.
        self.status_code = status_code
        self.media_type = media_type
        self.background = None
        self.init_headers({"Cache-Control": "no-store", **(headers or {})})
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
            await send(
                {"type": "http.response.start", "status": self.status_code,
                 "headers": self.raw_headers}
            )  # fmt: skip
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

"""The relay's fan-out (relay/hub.py) without sockets: a viewer that falls too far behind is
dropped at once, and a channel left with no viewer closes its upstream after the linger.

Over real sockets (tests/relay/test_streams.py) which of the kernel's buffers or the hub's
queue fills first is a matter of timing; here it is the hub's queue, always.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from iptvsync.relay.hub import Channel, Viewer


async def test_a_viewer_too_far_behind_is_dropped_and_the_empty_channel_closes() -> None:
    upstream_open = asyncio.Event()

    async def source() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"x" * 1000
        upstream_open.set()
        await asyncio.Event().wait()  # the upstream never ends by itself

    closed: list[Channel] = []

    async def on_close(channel: Channel) -> None:
        closed.append(channel)

    channel = Channel(("t", 1), source(), on_close=on_close, buffer_bytes=1500, linger_s=0.05)
    viewer = Viewer()
    channel.join(viewer)
    channel.start()
    # The second chunk would put 2,000 bytes in a 1,500-byte queue: the viewer goes at once.
    await asyncio.wait_for(viewer.kicked.wait(), 5)
    assert viewer.dropped and channel.viewers == {}
    assert [chunk async for chunk in viewer.body()] == [], "a dropped viewer's body ends now"
    # Nobody is left: the channel closes its upstream after the linger, by itself.
    await asyncio.wait_for(channel.wait_closed(), 5)
    assert channel.closed and closed == [channel]
    assert channel.bytes == 3000 and upstream_open.is_set()

"""The ``remux`` profile: ``ffmpeg -c copy`` from the upstream's bytes into MPEG-TS.

No transcoding: the container is rewritten (fresh timestamps, clean PAT/PMT) for players that
cannot read a provider's stream as sent. ffmpeg reads the upstream through a pipe, so the
provider is still fetched by ``relay.upstream`` with its headers, once per shared channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator

from iptvsync.errors import ProviderBadResponse

CHUNK = 64 * 1024
COMMAND = (
    "-hide_banner", "-loglevel", "error", "-fflags", "+genpts+discardcorrupt",
    "-i", "pipe:0", "-map", "0", "-c", "copy", "-f", "mpegts", "pipe:1",
)  # fmt: skip


async def remux(source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise ProviderBadResponse("the remux profile needs ffmpeg, which is not installed")
    proc = await asyncio.create_subprocess_exec(
        ffmpeg,
        *COMMAND,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None

    async def feed() -> None:
        assert proc.stdin is not None
        try:
            async for chunk in source:
                proc.stdin.write(chunk)
                await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with contextlib.suppress(Exception):
                proc.stdin.close()

    feeder = asyncio.create_task(feed())
    try:
        while True:
            chunk = await proc.stdout.read(CHUNK)
            if not chunk:
                break
            yield chunk
    finally:
        feeder.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await feeder
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        with contextlib.suppress(Exception):
            await proc.wait()
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()

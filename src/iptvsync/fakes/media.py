"""Real media for the fake providers: an MPEG-TS and an HLS rendition of a test pattern.

ffmpeg makes them once (a few seconds of ``testsrc`` + a sine tone, H.264/AAC) into a cache
directory, so tests and benchmarks pay for the encode once per machine: ``cache_dir`` given,
else ``$IPTVSYNC_FAKE_MEDIA_DIR``, else ``~/.cache/iptvsync/fake-media``. Without ffmpeg the
fakes fall back to a single MPEG-TS null packet (enough for catalogue tests, not for players).

``FakeMedia`` serves them:

- live TS: the file looped forever, paced (the first ``burst_s`` seconds at once, as real
  providers do, then ``rate_bps`` or the file's own bitrate); ``die_after_bytes`` cuts the
  connection mid-stream (a provider that dies);
- VOD TS: the file once;
- HLS: ``/_media/hls/master.m3u8`` → ``index.m3u8`` → ``seg<N>.ts`` (a VOD playlist).

It counts connections (``opened``: every media request; ``active``: live TS bodies being sent)
for tests of the relay's shared upstream. A ``gate`` callable (the Stalker fake's gated mode)
answers 403 to media requests that fail it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

NULL_PACKET = b"\x47" + b"\x00" * 187
TS_CHUNK = 188 * 348  # ~64 KiB, whole TS packets
SECONDS = 6
MEDIA_VERSION = "v1"  # bump when the ffmpeg recipe changes: a new cache subdirectory

_lock = threading.Lock()


def default_cache_dir() -> Path:
    env = os.environ.get("IPTVSYNC_FAKE_MEDIA_DIR")
    base = Path(env) if env else Path.home() / ".cache" / "iptvsync" / "fake-media"
    return base / MEDIA_VERSION


def ensure_media(cache_dir: Path | None = None) -> Path | None:
    """The directory holding ``stream.ts`` and ``hls/``; made with ffmpeg on first call.
    None when ffmpeg is missing."""
    root = cache_dir or default_cache_dir()
    if (root / "stream.ts").exists() and (root / "hls" / "index.m3u8").exists():
        return root
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return None
    with _lock:
        if (root / "stream.ts").exists() and (root / "hls" / "index.m3u8").exists():
            return root
        root.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".media-", dir=root.parent))
        (work / "hls").mkdir()
        quiet = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y"]
        subprocess.run(
            [
                *quiet,
                "-f", "lavfi", "-i", f"testsrc=size=320x240:rate=25:duration={SECONDS}",
                "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={SECONDS}",
                "-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-b:a", "64k", "-f", "mpegts", str(work / "stream.ts"),
            ],
            check=True,
            timeout=120,
        )  # fmt: skip
        subprocess.run(
            [
                *quiet, "-i", str(work / "stream.ts"), "-c", "copy", "-f", "hls",
                "-hls_time", "2", "-hls_list_size", "0", "-hls_playlist_type", "vod",
                "-hls_segment_filename", str(work / "hls" / "seg%d.ts"),
                str(work / "hls" / "index.m3u8"),
            ],
            check=True,
            timeout=120,
        )  # fmt: skip
        (work / "hls" / "master.m3u8").write_text(
            "#EXTM3U\n#EXT-X-VERSION:3\n"
            '#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=320x240,CODECS="avc1.64000d,mp4a.40.2"\n'
            "index.m3u8\n"
        )
        if root.exists():  # another process won the race
            shutil.rmtree(work, ignore_errors=True)
        else:
            work.rename(root)
    return root


@dataclass
class FakeMedia:
    """What a fake serves at its play URLs. Fields may change while the app runs."""

    cache_dir: Path | None = None
    rate_bps: float | None = None  # live pace in bytes/s; None: the file's own bitrate
    burst_s: float = 1.0  # seconds of media sent at once when a live stream opens
    die_after_bytes: int | None = None  # live TS: drop the connection after this many bytes
    end_after_bytes: int | None = None  # live TS: end the body cleanly after this many bytes
    refuse_with: int | None = None  # answer every media request with this HTTP status
    opened: int = 0
    active: int = 0
    gate: Callable[[Request], bool] | None = field(default=None, repr=False)
    _ts: bytes | None = field(default=None, repr=False)
    _root: Path | None = field(default=None, repr=False)

    def _load(self) -> tuple[bytes, Path | None]:
        if self._ts is None:
            root = ensure_media(self.cache_dir)
            self._root = root
            self._ts = (root / "stream.ts").read_bytes() if root else NULL_PACKET
        return self._ts, self._root

    def _bitrate(self, ts: bytes) -> float:
        return self.rate_bps or max(len(ts) / SECONDS, 1.0)

    def stats(self) -> dict[str, int]:
        return {"opened": self.opened, "active": self.active}

    def blocked(self, request: Request) -> Response | None:
        if self.refuse_with is not None:
            return Response(b"refused", self.refuse_with, media_type="text/plain")
        if self.gate is not None and not self.gate(request):
            return Response(b"403 Forbidden", 403, media_type="text/plain")
        return None

    async def respond(self, request: Request, *, live: bool, hls: bool = False) -> Response:
        """The play URL's answer: live TS, VOD TS, or a redirect into the HLS tree."""
        blocked = self.blocked(request)
        if blocked is not None:
            return blocked
        ts, root = await asyncio.to_thread(self._load)
        self.opened += 1
        if hls and root is not None:
            return Response(status_code=302, headers={"Location": "/_media/hls/master.m3u8"})
        if not live:
            return Response(ts, media_type="video/mp2t")
        return StreamingResponse(self._live(ts), media_type="video/mp2t")

    async def _live(self, ts: bytes) -> AsyncIterator[bytes]:
        self.active += 1
        try:
            rate = self._bitrate(ts)
            loop = asyncio.get_running_loop()
            start = loop.time()
            sent = 0
            allowance = rate * self.burst_s
            pos = 0
            while True:
                end = min(pos + TS_CHUNK, len(ts))
                chunk = ts[pos:end]
                pos = 0 if end >= len(ts) else end
                if self.die_after_bytes is not None and sent + len(chunk) > self.die_after_bytes:
                    chunk = chunk[: max(0, self.die_after_bytes - sent)]
                    if chunk:
                        yield chunk
                    raise ConnectionAbortedError("fake provider died mid-stream")
                if self.end_after_bytes is not None and sent + len(chunk) >= self.end_after_bytes:
                    yield chunk[: max(0, self.end_after_bytes - sent)]
                    return
                yield chunk
                sent += len(chunk)
                due = (sent - allowance) / rate - (loop.time() - start)
                if due > 0:
                    await asyncio.sleep(due)
        finally:
            self.active -= 1

    async def hls_file(self, request: Request) -> Response:
        blocked = self.blocked(request)
        if blocked is not None:
            return blocked
        _, root = await asyncio.to_thread(self._load)
        name = request.path_params["name"]
        if root is None or "/" in name or name.startswith("."):
            return Response(b"", 404)
        path = root / "hls" / name
        if not path.is_file():
            return Response(b"", 404)
        self.opened += 1
        kind = "application/vnd.apple.mpegurl" if name.endswith(".m3u8") else "video/mp2t"
        return Response(await asyncio.to_thread(path.read_bytes), media_type=kind)

    def routes(self) -> list[Route]:
        """``/_media/hls/{name}`` and ``/_media/stats`` (GET) / ``/_media/config`` (POST)."""

        async def stats(request: Request) -> Response:
            import orjson

            return Response(orjson.dumps(self.stats()), media_type="application/json")

        async def config(request: Request) -> Response:
            import orjson

            data = orjson.loads(await request.body() or b"{}")
            for name in (
                "rate_bps",
                "burst_s",
                "die_after_bytes",
                "end_after_bytes",
                "refuse_with",
            ):
                if name in data:
                    setattr(self, name, data[name])
            if data.get("reset"):
                self.opened = 0
            return Response(orjson.dumps(self.stats()), media_type="application/json")

        return [
            Route("/_media/hls/{name}", self.hls_file),
            Route("/_media/stats", stats),
            Route("/_media/config", config, methods=["POST"]),
        ]


def wants_hls(path: str) -> bool:
    """A play URL asking for HLS (``.m3u8`` before any query)."""
    return path.split("?", 1)[0].endswith(".m3u8")

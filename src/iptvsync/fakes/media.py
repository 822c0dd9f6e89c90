"""Real media for the fake providers: an MPEG-TS and an HLS rendition of a test pattern.

ffmpeg makes them once (a few seconds of ``testsrc`` + a sine tone, H.264/AAC) into a cache
directory, so tests and benchmarks pay for the encode once per machine: ``cache_dir`` given,
else ``$IPTVSYNC_FAKE_MEDIA_DIR``, else ``~/.cache/iptvsync/fake-media``. Without ffmpeg the
fakes fall back to a single MPEG-TS null packet (enough for catalogue tests, not for players).

``FakeMedia`` serves them:

- live TS: the file looped forever, paced (the first ``burst_s`` seconds at once, as real
  providers do, then ``rate_bps`` or the file's own bitrate); ``die_after_bytes`` cuts the
  connection mid-stream (a provider that dies);
- VOD TS: the file once, honouring ``Range: bytes=N-[M]`` (206 with ``Content-Range``) unless
  ``ranges`` is off (then 200 and the whole file, as a server that ignores ranges does);
- HLS: ``/_media/hls/master.m3u8`` → ``index.m3u8`` → ``seg<N>.ts`` (a VOD playlist); with
  ``hls_live``: ``live-master.m3u8`` → ``live.m3u8``, a sliding window of three ``live<N>.ts``
  (target duration 2 s, one new segment every 2 s; the bytes are the VOD segments looped).

It counts connections (``opened``: every media request; ``active``: live TS bodies being sent;
``hits``: requests per file name) for tests of the relay's shared upstream. A ``gate``
callable (the Stalker fake's gated mode) answers 403 to media requests that fail it.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

NULL_PACKET = b"\x47" + b"\x00" * 187
TS_CHUNK = 188 * 348  # ~64 KiB, whole TS packets
SECONDS = 6
LIVE_SEGMENT_S = 2
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
_LIVE_SEGMENT = re.compile(r"^live(\d+)\.ts$")
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
    ranges: bool = True  # VOD answers Range requests with 206
    vod_rate_bps: float | None = None  # VOD paced at this many bytes/s; None: all at once
    hls_live: bool = False  # HLS channels are a live sliding window
    opened: int = 0
    hits: Counter[str] = field(default_factory=Counter)
    _live_start: float | None = field(default=None, repr=False)
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
            master = "live-master.m3u8" if self.hls_live else "master.m3u8"
            return Response(status_code=302, headers={"Location": f"/_media/hls/{master}"})
        if not live:
            self.hits["vod.ts"] += 1
            return self._vod(request, ts)
        return StreamingResponse(self._live(ts), media_type="video/mp2t")

    def _vod(self, request: Request, ts: bytes) -> Response:
        asked = request.headers.get("range", "")
        found = _RANGE.match(asked.strip()) if self.ranges else None
        if found is None:
            return self._body(ts, 200, self._accepts())
        first = int(found.group(1))
        last = min(int(found.group(2) or len(ts) - 1), len(ts) - 1)
        if first >= len(ts) or first > last:
            return Response(b"", 416, headers={"Content-Range": f"bytes */{len(ts)}"})
        headers = {"Content-Range": f"bytes {first}-{last}/{len(ts)}", **self._accepts()}
        return self._body(ts[first : last + 1], 206, headers)

    def _body(self, data: bytes, status: int, headers: dict[str, str]) -> Response:
        rate = self.vod_rate_bps
        if rate is None:
            return Response(data, status, media_type="video/mp2t", headers=headers)

        async def paced() -> AsyncIterator[bytes]:
            for start in range(0, len(data), TS_CHUNK):
                yield data[start : start + TS_CHUNK]
                await asyncio.sleep(TS_CHUNK / rate)

        headers = {**headers, "Content-Length": str(len(data))}
        return StreamingResponse(paced(), status, media_type="video/mp2t", headers=headers)

    def _accepts(self) -> dict[str, str]:
        return {"Accept-Ranges": "bytes"} if self.ranges else {}

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
        self.hits[name] += 1
        live = self._live_hls(root, name)
        if live is not None:
            self.opened += 1
            return live
        path = root / "hls" / name
        if not path.is_file():
            return Response(b"", 404)
        self.opened += 1
        kind = "application/vnd.apple.mpegurl" if name.endswith(".m3u8") else "video/mp2t"
        return Response(await asyncio.to_thread(path.read_bytes), media_type=kind)

    def _live_hls(self, root: Path, name: str) -> Response | None:
        """The live rendition's playlists and segments (None: not one of its names)."""
        playlist = "application/vnd.apple.mpegurl"
        if name == "live-master.m3u8":
            text = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=320x240\nlive.m3u8\n"
            return Response(text, media_type=playlist)
        segments = sorted((root / "hls").glob("seg*.ts"), key=lambda p: int(p.stem[3:]))
        if name == "live.m3u8" and segments:
            loop_time = asyncio.get_running_loop().time()
            if self._live_start is None:
                self._live_start = loop_time
            sequence = int((loop_time - self._live_start) / LIVE_SEGMENT_S)
            lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{LIVE_SEGMENT_S}",
                     f"#EXT-X-MEDIA-SEQUENCE:{sequence}"]  # fmt: skip
            for n in range(sequence, sequence + 3):
                lines += [f"#EXTINF:{LIVE_SEGMENT_S}.0,", f"live{n}.ts"]
            return Response("\n".join(lines) + "\n", media_type=playlist)
        found = _LIVE_SEGMENT.match(name)
        if found and segments:
            path = segments[int(found.group(1)) % len(segments)]
            return Response(path.read_bytes(), media_type="video/mp2t")
        return None

    def routes(self) -> list[Route]:
        """``/_media/hls/{name}`` and ``/_media/stats`` (GET) / ``/_media/config`` (POST)."""

        async def stats(request: Request) -> Response:
            import orjson

            return Response(orjson.dumps(self.stats()), media_type="application/json")

        async def config(request: Request) -> Response:
            import orjson

            data = orjson.loads(await request.body() or b"{}")
            for name in (
                "ranges",
                "vod_rate_bps",
                "hls_live",
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
                self.hits.clear()
            return Response(orjson.dumps(self.stats()), media_type="application/json")

        return [
            Route("/_media/hls/{name}", self.hls_file),
            Route("/_media/stats", stats),
            Route("/_media/config", config, methods=["POST"]),
        ]


def wants_hls(path: str) -> bool:
    """A play URL asking for HLS (``.m3u8`` before any query)."""
    return path.split("?", 1)[0].endswith(".m3u8")

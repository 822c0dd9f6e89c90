"""Real media for the player tests, made with ffmpeg, and an M3U provider that lists it.

What Debian's Chromium decodes decides the formats (docs/web.md, "Playback"): it plays H.264 and
AAC, both natively (MP4) and through Media Source Extensions (hls.js, mpegts.js), and VP8/VP9.
So: a live HLS channel (H.264/AAC segments, no ``#EXT-X-ENDLIST``, so hls.js treats it as
live), an MPEG-TS channel (mpegts.js), an MP4 movie (native playback, seekable: Starlette's
file responses answer ``Range``), and a catch-up HLS archive for the M3U ``catchup-source``.
Served by a real HTTP server on loopback, with CORS (as a relay or a CORS-enabled CDN would).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.staticfiles import StaticFiles

from iptvsync.fakes.server import ServerThread

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
MOVIE_SECONDS = 40


def _ffmpeg(*args: str) -> None:
    cmd = [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args]
    subprocess.run(cmd, check=True, timeout=180)


def _source(seconds: int) -> list[str]:
    return [
        "-f", "lavfi", "-i", f"testsrc2=size=320x180:rate=25:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
    ]  # fmt: skip


H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "50"]
AAC = ["-c:a", "aac", "-b:a", "64k"]


def make_media(root: Path) -> None:
    """Write live/hls/, live/ts/, movie/ and archive/ under root (a few seconds of CPU)."""
    (root / "live" / "hls").mkdir(parents=True, exist_ok=True)
    (root / "live" / "ts").mkdir(parents=True, exist_ok=True)
    (root / "movie").mkdir(parents=True, exist_ok=True)
    (root / "archive").mkdir(parents=True, exist_ok=True)
    hls = ["-f", "hls", "-hls_time", "2", "-hls_list_size", "0"]
    _ffmpeg(*_source(30), *H264, *AAC, *hls, "-hls_flags", "omit_endlist",
            str(root / "live" / "hls" / "index.m3u8"))  # fmt: skip
    _ffmpeg(*_source(20), *H264, *AAC, "-f", "mpegts", str(root / "live" / "ts" / "stream.ts"))
    _ffmpeg(*_source(MOVIE_SECONDS), *H264, *AAC, "-movflags", "+faststart",
            str(root / "movie" / "film.mp4"))  # fmt: skip
    _ffmpeg(*_source(20), *H264, *AAC, *hls, str(root / "archive" / "index.m3u8"))


@dataclass
class MediaHost:
    url: str
    root: Path

    def playlist(self, name: str, body: str) -> str:
        (self.root / name).write_text(body, encoding="utf-8")
        return f"{self.url}/{name}"


@contextmanager
def media_host(root: Path) -> Iterator[MediaHost]:
    make_media(root)
    app = Starlette(
        routes=[],
        middleware=[Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "HEAD"])],
    )
    app.mount("/", StaticFiles(directory=str(root)))
    with ServerThread(app) as server:
        yield MediaHost(server.url, root)


def m3u_playlist(host: MediaHost, guide_url: str | None = None) -> str:
    """Two live channels (HLS with catch-up, MPEG-TS) and a movie."""
    header = f'#EXTM3U x-tvg-url="{guide_url}"' if guide_url else "#EXTM3U"
    base = host.url
    return "\n".join(
        [
            header,
            '#EXTINF:-1 tvg-id="hls.test" tvg-chno="1" group-title="News" catchup="default" '
            f'catchup-days="3" catchup-source="{base}/archive/index.m3u8?utc={{utc}}",HLS Channel',
            f"{base}/live/hls/index.m3u8",
            '#EXTINF:-1 tvg-id="ts.test" tvg-chno="2" group-title="News",TS Channel',
            f"{base}/live/ts/stream.ts",
            '#EXTINF:-1 group-title="Films",Test Movie',
            f"{base}/movie/film.mp4",
            "",
        ]
    )

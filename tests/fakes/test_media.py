"""The fakes serve real media made by ffmpeg, and the Stalker fake's gated mode."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess

import httpx
import pytest

from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.server import ServerThread, create_fake_app
from iptvsync.fakes.stalker.config import DEFAULT_MAC

pytestmark = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffprobe")

MAG_UA = "Mozilla/5.0 (QtEmbedded; U; Linux; C) AppleWebKit/533.3 MAG200 stbapp ver: 2"


def probe(url: str, *headers: str) -> dict:
    args = ["ffprobe", "-v", "error", "-of", "json", "-show_streams", "-rw_timeout", "10000000"]
    if headers:
        args += ["-headers", "".join(f"{h}\r\n" for h in headers)]
    out = subprocess.run([*args, url], capture_output=True, timeout=60, text=True)
    return json.loads(out.stdout or "{}")


def video_codecs(info: dict) -> list[str]:
    return [s["codec_name"] for s in info.get("streams", []) if s.get("codec_type") == "video"]


@pytest.mark.parametrize("path", ["/_asset/stream.ts", "/_asset/stream.m3u8", "/u/p/1.ts"])
def test_m3u_fake_serves_decodable_media(path: str) -> None:
    app = create_fake_app("m3u", generate(seed=1, channels=3, movies=0, series=0))
    with ServerThread(app) as server:
        assert video_codecs(probe(server.url + path)) == ["h264"]


def test_stalker_gated_mode_needs_mag_headers_and_mac_cookie() -> None:
    app = create_fake_app("stalker", generate(seed=1, channels=3, movies=0, series=0))
    portal = app.state.portal
    portal.configure(gated_streams=True, link_ttl_s=60)
    key = portal.new_link("channel", 1)
    with ServerThread(app) as server:
        url = f"{server.url}/stream/live/{key}"

        async def status(headers: dict[str, str]) -> int:
            async with httpx.AsyncClient() as http, http.stream("GET", url, headers=headers) as r:
                return r.status_code

        assert asyncio.run(status({})) == 403
        assert asyncio.run(status({"User-Agent": MAG_UA})) == 403
        good = {"User-Agent": MAG_UA, "Cookie": f"mac={DEFAULT_MAC}"}
        assert asyncio.run(status({"User-Agent": MAG_UA, "Cookie": "mac=00:1A:79:00:00:01"})) == 403
        assert asyncio.run(status(good)) == 200
        info = probe(url, f"User-Agent: {MAG_UA}", f"Cookie: mac={DEFAULT_MAC}")
        assert video_codecs(info) == ["h264"]

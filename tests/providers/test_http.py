"""The provider HTTP layer: decoding, redirects, error mapping, and secret masking."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import subprocess
import sys
import zlib
from collections.abc import AsyncIterator

import orjson
import pytest
from aiohttp import web

from iptvsync.errors import ProviderBadResponse, ProviderTimeout, ProviderUnreachable
from iptvsync.providers.http import BodyKind, build_http_client, mask_mac, redact, safe_url


def test_redact_masks_macs_tokens_and_credentials() -> None:
    text = (
        "mac=00%3A1A%3A79%3A12%3A34%3A56 and 00:1a:79:ab:cd:ef and 00-1A-79-12-34-56; "
        "Authorization: Bearer 3F2A9C0D7E1B; http://h/live.php?mac=x&play_token=zz&stream=1"
    )
    out = redact(text, secrets=["s3cret", None])
    assert "12%3A34" not in out and "00%3A1A%3A79%3AXX%3AXX%3A56" in out
    assert "00:1A:79:XX:XX:EF" in out and "00-1A-79-XX-XX-56" in out
    assert "3F2A9C0D7E1B" not in out and "Bearer ***" in out
    assert "play_token=***" in out and "stream=1" in out
    assert redact("password is s3cret!", ["s3cret"]) == "password is ***!"


def test_mask_mac_and_safe_url() -> None:
    assert mask_mac("00:1A:79:12:34:56") == "00:1A:79:XX:XX:56"
    assert safe_url("http://user:pw@h:8080/p.php?token=abc&x=1#frag") == (
        "http://h:8080/p.php?token=***&x=1"
    )


@pytest.fixture(params=[True, False], ids=["lean", "aiohttp"])
def lean(request: pytest.FixtureRequest) -> bool:
    """``get_small`` on the page fast path (providers/lean.py) or through aiohttp."""
    return bool(request.param)


@pytest.fixture
async def small_server() -> AsyncIterator[str]:
    """A real server for ``get_small``: gzip and deflate bodies, a redirect, a header echo."""
    text = b'{"js": {"data": ["caf\xc3\xa9"]}}'

    async def plain(request: web.Request) -> web.Response:
        return web.Response(body=text, headers={"Retry-After": "7"}, status=429)

    async def gz(request: web.Request) -> web.Response:
        assert "gzip" in request.headers["Accept-Encoding"]
        return web.Response(body=gzip.compress(text), headers={"Content-Encoding": "gzip"})

    async def deflate(request: web.Request) -> web.Response:
        raw = zlib.compressobj(wbits=-15)
        body = raw.compress(text) + raw.flush()
        return web.Response(body=body, headers={"Content-Encoding": "deflate"})

    async def broken(request: web.Request) -> web.Response:
        return web.Response(body=b"not gzip at all", headers={"Content-Encoding": "gzip"})

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/gz")

    async def bomb(request: web.Request) -> web.Response:
        body = gzip.compress(b"0" * 4_000_000)  # ~4 KB on the wire
        return web.Response(body=body, headers={"Content-Encoding": "gzip"})

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def slow(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(50):  # a byte every 0.1 s: each read is quick, the whole is not
            await response.write(b"x")
            await asyncio.sleep(0.1)
        return response

    async def echo(request: web.Request) -> web.Response:
        return web.json_response({k: v for k, v in request.headers.items()})

    app = web.Application()
    for path, handler in [
        ("/plain", plain),
        ("/gz", gz),
        ("/deflate", deflate),
        ("/broken", broken),
        ("/moved", moved),
        ("/echo", echo),
        ("/loop", loop),
        ("/bomb", bomb),
        ("/slow", slow),
    ]:
        app.router.add_get(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_get_small_decodes_follows_and_sends_headers(small_server: str, lean: bool) -> None:
    async with build_http_client(timeout_s=3, lean_pages=lean) as http:
        plain = await http.get_small(f"{small_server}/plain")
        assert plain.status_code == 429 and plain.headers.get("retry-after") == "7"
        for path in ("gz", "deflate", "moved"):
            got = await http.get_small(f"{small_server}/{path}")
            assert got.status_code == 200
            assert orjson.loads(got.content) == {"js": {"data": ["café"]}}
        assert (await http.get_small(f"{small_server}/moved")).url.endswith("/gz")
        echo = await http.get_small(
            f"{small_server}/echo", headers={"Cookie": "mac=x", "User-Agent": "MAG"}
        )
        sent = {k.lower(): v for k, v in orjson.loads(echo.content).items()}
        assert sent["cookie"] == "mac=x" and sent["user-agent"] == "MAG"
        with pytest.raises(ProviderBadResponse, match="undecodable"):
            await http.get_small(f"{small_server}/broken")


async def test_redirect_loop_and_deadline(small_server: str, lean: bool) -> None:
    async with build_http_client(timeout_s=3, page_deadline_s=0.5, lean_pages=lean) as http:
        with pytest.raises(ProviderBadResponse, match="redirects more than 5"):
            await http.get_small(f"{small_server}/loop")
        with pytest.raises(ProviderTimeout):
            await http.get_small(f"{small_server}/slow")
        async with http.stream(f"{small_server}/slow", kind=BodyKind.MEDIA) as stream:
            got = b""
            async for chunk in stream.iter_chunks():  # no total deadline for media
                got += chunk
                if len(got) >= 8:
                    break
        assert got.startswith(b"x")


async def test_gzip_bomb_is_counted_after_decoding(small_server: str, lean: bool) -> None:
    url = f"{small_server}/bomb"
    async with build_http_client(timeout_s=3, max_page_bytes=100_000, lean_pages=lean) as http:
        with pytest.raises(ProviderBadResponse, match="response too large"):
            await http.get_small(url)
        async with http.stream(url, kind=BodyKind.LIST, max_bytes=100_000) as stream:
            seen = 0
            with pytest.raises(ProviderBadResponse, match="response too large"):
                async for chunk in stream.iter_chunks():
                    seen += len(chunk)
            assert seen <= 100_000  # at most the limit was inflated and handed on


async def test_connection_refused_is_unreachable(lean: bool) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connection refused
        async with build_http_client(timeout_s=2, lean_pages=lean) as http:
            with pytest.raises(ProviderUnreachable, match="refused"):
                await http.get_small(f"http://127.0.0.1:{port}/x")


async def test_only_http_and_https(lean: bool) -> None:
    async with build_http_client(lean_pages=lean) as http:
        for url in ("file:///etc/passwd", "ftp://h/x", "/etc/passwd"):
            with pytest.raises(ProviderBadResponse, match="not http"):
                await http.get_small(url)


# The first request that needs aiohttp, in an interpreter that has not imported it: a Stalker
# sync's guide stream starts during the VOD walk, and ~0.14 s of imports on the event loop
# held every page in flight (docs/benchmarks.md, "aiohttp off the loop").
_FIRST_STREAM = """
import asyncio, http.server, json, sys, threading

first = {}


class Watch:  # notes the thread that imports aiohttp first
    def find_spec(self, name, path=None, target=None):
        if name == "aiohttp" and not first:
            first["thread"] = threading.current_thread().name
        return None


sys.meta_path.insert(0, Watch())


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"a guide" * 1000
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()

from iptvsync.providers.http import BodyKind, build_http_client

assert "aiohttp" not in sys.modules


async def main():
    http = build_http_client()
    url = f"http://127.0.0.1:{server.server_address[1]}/guide"
    async with http.stream(url, kind=BodyKind.GUIDE) as stream:
        body = await stream.read()
    again = await http.get_small(url)  # the fast path, beside an aiohttp session
    await http.aclose()
    return {"loop": threading.current_thread().name, "import": first.get("thread"),
            "sizes": [len(body), len(again.content)]}


print(json.dumps(asyncio.run(main())))
"""


def test_the_first_stream_imports_aiohttp_off_the_event_loop() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_STREAM], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout)
    assert seen["import"] is not None and seen["import"] != seen["loop"]
    assert seen["sizes"] == [7000, 7000]

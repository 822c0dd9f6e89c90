"""Shared provider HTTP helpers: error translation and secret masking."""

from __future__ import annotations

import gzip
import socket
import zlib
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from aiohttp import web

from iptvsync.errors import ProviderBadResponse, ProviderTimeout, ProviderUnreachable
from iptvsync.providers import http as http_module
from iptvsync.providers.http import (
    build_http_client,
    get_small,
    mask_mac,
    redact,
    safe_url,
    translate_transport_error,
)


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


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (httpx.ConnectError("refused"), ProviderUnreachable),
        (httpx.ReadTimeout("slow"), ProviderTimeout),
        (httpx.ConnectTimeout("slow"), ProviderTimeout),
        (httpx.RemoteProtocolError("peer closed"), ProviderUnreachable),
        (httpx.TooManyRedirects("loop"), ProviderBadResponse),
        (httpx.DecodingError("bad gzip"), ProviderBadResponse),
    ],
)
def test_translate(exc: httpx.HTTPError, kind: type) -> None:
    err = translate_transport_error(exc, url="http://h/p.php?mac=00:1A:79:12:34:56")
    assert isinstance(err, kind)
    assert "12:34" not in err.message


async def test_build_http_client() -> None:
    async with build_http_client(timeout_s=3) as http:
        assert http.timeout.read == 3 and http.follow_redirects


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
    ]:
        app.router.add_get(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.mark.parametrize("direct", [True, False], ids=["aiohttp", "httpx"])
async def test_get_small_answers_the_same_both_ways(small_server: str, direct: bool) -> None:
    http = build_http_client(timeout_s=3) if direct else httpx.AsyncClient(follow_redirects=True)
    async with http:
        assert (http in http_module._DIRECT) is direct
        plain = await get_small(http, f"{small_server}/plain", headers={}, timeout=3)
        assert plain.status_code == 429 and plain.headers.get("retry-after") == "7"
        for path in ("gz", "deflate", "moved"):
            got = await get_small(http, f"{small_server}/{path}", headers={}, timeout=3)
            assert got.status_code == 200
            assert orjson.loads(got.content) == {"js": {"data": ["café"]}}
        echo = await get_small(
            http,
            f"{small_server}/echo",
            headers={"Cookie": "mac=x", "User-Agent": "MAG"},
            timeout=3,
        )
        sent = {k.lower(): v for k, v in orjson.loads(echo.content).items()}
        assert sent["cookie"] == "mac=x" and sent["user-agent"] == "MAG"
        with pytest.raises(httpx.DecodingError):
            await get_small(http, f"{small_server}/broken", headers={}, timeout=3)


async def test_get_small_errors_are_httpx_errors() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connection refused
        async with build_http_client(timeout_s=2) as http:
            with pytest.raises(httpx.ConnectError) as info:
                await get_small(http, f"http://127.0.0.1:{port}/x", headers={}, timeout=2)
    assert isinstance(translate_transport_error(info.value), ProviderUnreachable)

"""The page fast path (providers/lean.py) against the plain path (aiohttp) on the same answers.

A scripted server speaks raw HTTP/1.x bytes, the odd and the hostile among them; every case
runs through ``get_small`` twice, once on each path, and both must end the same way: the same
reply, or the same error class and message. Then what only the fast path has to get right
itself: keeping connections alive (and not reusing one it should not), replacing a stale one,
its connection cap, the address guard, and that a Stalker walk really goes through it.
"""

from __future__ import annotations

import asyncio
import datetime
import gc
import gzip
import ipaddress
import ssl
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from iptvsync.errors import (
    ProviderBadResponse,
    ProviderError,
    ProviderTimeout,
    ProviderUnreachable,
)
from iptvsync.providers.http import ProviderHttp, Reply, build_http_client
from iptvsync.providers.lean import sendable

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world"

#: path → the bytes answered, then whether the server closes the connection.
SCRIPT: dict[str, tuple[bytes, bool]] = {
    "/ok": (OK, False),
    "/close-delimited": (b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello world", True),
    "/coded-until-close": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nhello world",
        True,
    ),
    "/chunked": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        False,
    ),
    "/continue": (b"HTTP/1.1 100 Continue\r\n\r\n" + OK, False),
    "/big-header": (
        b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 9000 + b"\r\nContent-Length: 2\r\n\r\nhi",
        False,
    ),
    "/many-headers": (
        b"HTTP/1.1 200 OK\r\n"
        + b"".join(b"X-H%d: v\r\n" % i for i in range(200))
        + b"Content-Length: 2\r\n\r\nhi",
        False,
    ),
    "/endless-header": (b"HTTP/1.1 200 OK\r\nX-Endless: " + b"a" * 3_000_000, False),
    "/garbage": (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", True),
    "/bad-length": (b"HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\nhello world!", True),
    "/announced": (b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 10, False),
    "/chunked-large": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"".join(b"100\r\n" + b"y" * 256 + b"\r\n" for _ in range(8))
        + b"0\r\n\r\n",
        False,
    ),
    "/cut": (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b", True),
    "/silent": (b"", True),
    "/stall": (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome", False),
    "/redirect": (b"HTTP/1.1 302 Found\r\nLocation: /ok\r\nContent-Length: 0\r\n\r\n", False),
    "/conn-close": (
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 11\r\n\r\nhello world",
        False,
    ),
    "/extra": (OK + b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra", False),
    "/gzip": (
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s"
        % (len(gzip.compress(b"hello world")), gzip.compress(b"hello world")),
        False,
    ),
}


@dataclass
class Scripted:
    """A raw HTTP server answering ``SCRIPT`` by request path; it counts what it saw."""

    url: str = ""
    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    requests: list[str] = field(default_factory=list)
    heads: list[bytes] = field(default_factory=list)
    hold_s: float = 0.0  # how long each answer waits (to have requests overlap)
    close_after_each: bool = False  # close silently after every answer (no Connection: close)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                self.heads.append(head)
                path = head.split(b" ", 2)[1].decode()
                self.requests.append(path)
                answer, close = SCRIPT[path.split("?")[0]]
                if self.hold_s:
                    await asyncio.sleep(self.hold_s)
                writer.write(answer)
                await writer.drain()
                if close or self.close_after_each:
                    return
        finally:
            self.open_now -= 1
            writer.close()


@pytest.fixture
async def scripted() -> AsyncIterator[Scripted]:
    state = Scripted()
    server = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    state.url = f"http://127.0.0.1:{port}"
    yield state
    server.close()


def _client(lean: bool, **limits: object) -> ProviderHttp:
    return build_http_client(timeout_s=0.5, lean_pages=lean, **limits)  # type: ignore[arg-type]


async def _outcome(get: Callable[[], Awaitable[Reply]]) -> tuple[object, ...]:
    """What a request came to: the reply's status and body, or the error's class and text."""
    try:
        reply = await get()
    except ProviderError as exc:
        return (type(exc).__name__, exc.message)
    return (reply.status_code, reply.content)


CASES: dict[str, tuple[int, bytes] | type[ProviderError]] = {
    "/ok": (200, b"hello world"),
    "/close-delimited": (200, b"hello world"),
    "/coded-until-close": (200, b"hello world"),
    "/chunked": (200, b"hello world"),
    "/continue": (200, b"hello world"),
    "/gzip": (200, b"hello world"),
    "/redirect": (200, b"hello world"),
    "/big-header": ProviderBadResponse,
    "/many-headers": ProviderBadResponse,
    "/endless-header": ProviderBadResponse,  # cut by its size, not by the read timeout
    "/garbage": ProviderBadResponse,
    "/bad-length": ProviderBadResponse,
    "/announced": ProviderBadResponse,
    "/chunked-large": ProviderBadResponse,
    "/cut": ProviderUnreachable,
    "/silent": ProviderUnreachable,
    "/stall": ProviderTimeout,
}


@pytest.mark.parametrize("path", list(CASES))
async def test_both_paths_end_the_same_way(scripted: Scripted, path: str) -> None:
    outcomes = {}
    for lean in (True, False):
        async with _client(lean, max_page_bytes=1000) as http:
            outcomes[lean] = await _outcome(lambda: http.get_small(scripted.url + path))
            served = http.lean_pool(True).requests
        assert served == (0 if not lean else 2 if path == "/redirect" else 1), (lean, served)
    expected = CASES[path]
    if isinstance(expected, tuple):
        assert outcomes[True] == outcomes[False] == expected
    else:
        assert outcomes[True][0] == outcomes[False][0] == expected.__name__, outcomes
        # The same text to the user, whichever path read it.
        assert outcomes[True] == outcomes[False], outcomes


async def test_the_request_is_what_aiohttp_sends(scripted: Scripted) -> None:
    """Host and headers: the same on both paths (the order aside). The target goes as the
    caller wrote it, where aiohttp's URL object decodes what needs no quoting (``%2F`` in a
    query): the same values for the portal, which reads the query decoded."""
    headers = {"Cookie": "mac=00%3A1A%3A79%3A00%3A00%3A01", "Authorization": "Bearer T"}
    for lean in (True, False):
        async with _client(lean) as http:
            await http.get_small(scripted.url + "/ok?a=1&b=%2F&mac=00%3A1A", headers=headers)
    lean_head, plain_head = (h.decode().split("\r\n") for h in scripted.heads)
    assert lean_head[0] == "GET /ok?a=1&b=%2F&mac=00%3A1A HTTP/1.1"
    assert urllib.parse.unquote(lean_head[0]) == urllib.parse.unquote(plain_head[0])
    assert sorted(h.lower() for h in lean_head[1:] if h) == sorted(
        h.lower() for h in plain_head[1:] if h
    )


async def test_connections_are_kept_alive_and_reused(scripted: Scripted) -> None:
    async with _client(True) as http:
        for _ in range(5):
            assert (await http.get_small(scripted.url + "/ok")).content == b"hello world"
        assert scripted.connections == 1
        # "Connection: close", a body that ends with the connection, bytes nobody asked for:
        # each connection is used for that answer only.
        for path in ("/conn-close", "/close-delimited", "/extra", "/ok"):
            assert (await http.get_small(scripted.url + path)).content == b"hello world"
        assert scripted.connections == 4
        assert http.lean_pool(True).requests == 9


@pytest.mark.parametrize("lean", [True, False], ids=["lean", "aiohttp"])
async def test_a_request_leaves_no_reference_cycle(scripted: Scripted, lean: bool) -> None:
    """A page's answer is freed when its caller drops it, not at the collector's next full
    pass: a timer callback that re-armed itself as a closure made one cycle per request,
    holding ~27 MB of pages by the end of a 6,000-page walk."""
    async with _client(lean) as http:
        await http.get_small(scripted.url + "/ok")  # the pool and its connection exist
        gc.collect()
        gc.disable()
        try:
            for _ in range(20):
                await http.get_small(scripted.url + "/chunked")
            found = gc.collect()
        finally:
            gc.enable()
    assert found == 0


async def test_a_connection_closed_while_idle_is_replaced_once(scripted: Scripted) -> None:
    scripted.close_after_each = True  # a server whose keep-alive ends right after each answer
    async with _client(True) as http:
        for _ in range(3):
            assert (await http.get_small(scripted.url + "/ok")).content == b"hello world"
    assert scripted.connections == 3 and scripted.requests == ["/ok"] * 3


async def test_at_most_max_connections_in_use(scripted: Scripted) -> None:
    scripted.hold_s = 0.05
    async with build_http_client(timeout_s=2) as http:
        http._max_connections = 3  # the pool is made on first use, with this cap
        replies = await asyncio.gather(*(http.get_small(scripted.url + "/ok") for _ in range(12)))
    assert [r.status_code for r in replies] == [200] * 12
    assert scripted.most_open == 3 and scripted.connections == 3


async def test_a_cancelled_request_closes_its_connection(scripted: Scripted) -> None:
    async with _client(True) as http:
        task = asyncio.create_task(http.get_small(scripted.url + "/stall"))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.05)
        assert scripted.open_now == 0  # half an answer is never left for the next request
        assert (await http.get_small(scripted.url + "/ok")).status_code == 200


async def test_the_public_only_pool_refuses_private_addresses(scripted: Scripted) -> None:
    async with _client(True) as http:
        with pytest.raises(ProviderBadResponse, match="private"):
            await http.get_small(scripted.url + "/ok", allow_private=False)
    async with build_http_client(pins={"portal.test": ("127.0.0.1", 1)}) as http:
        with pytest.raises(ProviderBadResponse, match="private"):
            await http.get_small("http://portal.test/ok", allow_private=False)
    assert scripted.requests == []
    # A loopback server counted public (tests' ``provider_public_networks``) is reached.
    async with _client(True, public_networks=("127.0.0.0/8",)) as http:
        reply = await http.get_small(scripted.url + "/ok", allow_private=False)
    assert reply.status_code == 200 and not reply.peer_private


async def test_pins_send_the_name_and_reach_the_pinned_address(scripted: Scripted) -> None:
    port = int(scripted.url.rsplit(":", 1)[1])
    async with build_http_client(pins={"portal.test": ("127.0.0.1", port)}) as http:
        reply = await http.get_small("http://portal.test/ok")
        assert reply.status_code == 200 and reply.peer_private
        assert http.lean_pool(True).requests == 1
    assert b"\r\nHost: portal.test\r\n" in scripted.heads[0]


async def test_urls_and_headers_it_would_have_to_quote_go_through_aiohttp(
    scripted: Scripted,
) -> None:
    async with _client(True) as http:
        await http.get_small(scripted.url + "/ok?q=caf\u00e9 au lait")
        with pytest.raises(ValueError, match="header injection"):  # aiohttp's refusal
            await http.get_small(scripted.url + "/ok", headers={"Cookie": "a\r\nX-Evil: 1"})
        assert http.lean_pool(True).requests == 0
    assert scripted.requests == ["/ok?q=caf%C3%A9+au+lait"]  # as yarl quotes it
    assert all(b"X-Evil" not in h for h in scripted.heads)


@pytest.mark.parametrize(
    ("url", "headers", "sent"),
    [
        ("http://portal.test:8080/c/portal.php?a=1&b=%2F", {"Cookie": "mac=x"}, True),
        ("https://[::1]/x", {}, True),
        ("http://user:secret@portal.test/x", {}, False),  # aiohttp makes it a header
        ("http://caf\u00e9.test/x", {}, False),  # a name that needs IDNA
        ("http://portal.test:99999/x", {}, False),  # a port out of range
        ("http://portal.test/a b", {}, False),
        ("http://portal.test/x", {"Host": "elsewhere"}, False),
        ("http://portal.test/x", {"X": "a\tb"}, False),
        ("ftp://portal.test/x", {}, False),
    ],
)
def test_what_the_fast_path_sends_as_written(url: str, headers: dict[str, str], sent: bool) -> None:
    assert sendable(urllib.parse.urlsplit(url), headers) is sent


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_https_verifies_the_certificate_as_aiohttp_does(
    scripted: Scripted, tmp_path: Path
) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*_self_signed(tmp_path))
    server = await asyncio.start_server(scripted.handle, "127.0.0.1", 0, ssl=context)
    url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/ok"
    try:
        outcomes = {}
        for lean in (True, False):
            async with build_http_client(timeout_s=2, lean_pages=lean) as http:
                outcomes[lean] = await _outcome(lambda: http.get_small(url))
        # A self-signed certificate: refused on both paths, with the same words.
        assert outcomes[True][0] == outcomes[False][0] == "ProviderUnreachable", outcomes
        assert "cannot connect to the provider" in str(outcomes[True][1])
        async with build_http_client(timeout_s=2, verify=False) as http:
            reply = await http.get_small(url)
            assert (reply.status_code, reply.content) == (200, b"hello world")
            assert http.lean_pool(True).requests == 1
    finally:
        server.close()

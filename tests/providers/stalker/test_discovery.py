"""Portal URL discovery (docs/stalker.md §1): candidate order, classification, and real answers."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from iptvsync.errors import (
    NotAPortal,
    ProviderBanned,
    ProviderTimeout,
    ProviderUnreachable,
    ValidationFailed,
)
from iptvsync.fakes.catalogue import generate
from iptvsync.fakes.server import ServedHttp
from iptvsync.fakes.stalker import StalkerFakeConfig, create_app
from iptvsync.providers.stalker.discovery import (
    Fetch,
    FetchResult,
    Verdict,
    candidate_endpoints,
    classify,
    discover,
    parse_version_js,
)
from iptvsync.providers.stalker.identity import StalkerIdentity

MAC = "00:1A:79:12:34:56"


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        ("http://host:8080/c/", ["http://host:8080/portal.php", "http://host:8080/server/load.php",
                                 "http://host:8080/stalker_portal/server/load.php"]),
        ("host.example.com", ["http://host.example.com/portal.php",
                              "http://host.example.com/server/load.php",
                              "http://host.example.com/stalker_portal/server/load.php"]),
        ("http://host/stalker_portal/c/", ["http://host/stalker_portal/server/load.php",
                                           "http://host/stalker_portal/portal.php"]),
        ("http://host/stalker_portal/c/index.html?x=1#y",
         ["http://host/stalker_portal/server/load.php", "http://host/stalker_portal/portal.php"]),
        ("http://host/stalker_portal/server/load.php",
         ["http://host/stalker_portal/server/load.php", "http://host/stalker_portal/portal.php"]),
        ("https://host/portal.php?mac=00:1A:79:12:34:56",
         ["https://host/portal.php", "https://host/server/load.php",
          "https://host/stalker_portal/server/load.php"]),
        ("http://host/sub/c", ["http://host/sub/portal.php", "http://host/sub/server/load.php",
                               "http://host/sub/stalker_portal/server/load.php"]),
        ("HTTP://Host:80//c//", ["http://host:80/portal.php", "http://host:80/server/load.php",
                                 "http://host:80/stalker_portal/server/load.php"]),
    ],
)  # fmt: skip
def test_candidates(pasted: str, expected: list[str]) -> None:
    assert candidate_endpoints(pasted) == expected


@pytest.mark.parametrize("pasted", ["", "ftp://host/c/", "http://", "http://host:99999/"])
def test_bad_urls(pasted: str) -> None:
    with pytest.raises(ValidationFailed):
        candidate_endpoints(pasted)


@pytest.mark.parametrize(
    ("status", "raw", "verdict", "hint"),
    [
        (200, b'{"js":[{"id":"*","title":"All"}],"text":"generated in"}', Verdict.OPEN, "stock"),
        (200, b'{"js":[{"id":"*","title":"All"}]}', Verdict.OPEN, None),
        (200, b"Authorization failed.", Verdict.AUTH, "stock"),
        (200, b"Access denied.", Verdict.AUTH, "stock"),
        (200, b'{"js":{"error":"Unknown action"}}', Verdict.AUTH, None),
        (200, b"", Verdict.MAYBE, "reseller"),
        (200, b"<html><body>It works!</body></html>", Verdict.NOT_PORTAL, None),
        (200, b'{"status":"ok"}', Verdict.NOT_PORTAL, None),
        (200, b"Too many connections", Verdict.RETRY, None),
        (404, b"<h1>404</h1>", Verdict.NOT_PORTAL, None),
        (502, b"", Verdict.RETRY, None),
        (403, b"<html>Cloudflare</html>", Verdict.BLOCKED, None),
        (429, b"", Verdict.BLOCKED, None),
    ],
)
def test_classify(status: int, raw: bytes, verdict: Verdict, hint: str | None) -> None:
    assert classify(status, raw) == (verdict, hint)


def test_version_js() -> None:
    assert parse_version_js("var ver = '5.3.1';\n") == "5.3.1"
    assert parse_version_js('var  ver="5.1.1-r2";') == "5.1.1-r2"
    assert parse_version_js("<html>") is None


def asgi_fetch(app: Starlette) -> Fetch:
    headers = StalkerIdentity.from_mac(MAC).headers()

    async def fetch(url: str, params: dict[str, str]) -> FetchResult:
        async with ServedHttp(app) as http:
            r = await http.get_small(f"{url}?{urlencode(params)}", headers=headers)
            return FetchResult(r.status_code, r.content, r.url)

    return fetch


@pytest.mark.parametrize(
    ("family", "pasted", "endpoint", "hint"),
    [
        ("stock", "http://portal.test/stalker_portal/c/",
         "http://portal.test/stalker_portal/server/load.php", "stock"),
        ("stock", "portal.test", "http://portal.test/server/load.php", "stock"),
        ("reseller", "http://portal.test/c/", "http://portal.test/portal.php", "reseller"),
        ("reseller", "http://portal.test/stalker_portal/c/",
         "http://portal.test/stalker_portal/server/load.php", "reseller"),
    ],
)  # fmt: skip
async def test_discover_on_the_fake(family: str, pasted: str, endpoint: str, hint: str) -> None:
    app = create_app(generate(1, movies=5, series=2, channels=5), StalkerFakeConfig(family=family))
    found = await discover(pasted, asgi_fetch(app))
    assert found.url == endpoint and found.family_hint == hint
    # Stock answers content calls before any token is bound to the MAC; reseller never does.
    assert found.token_free is (family == "stock")


async def test_discover_token_free_panel() -> None:
    cfg = StalkerFakeConfig(family="reseller", token_free=True)
    app = create_app(generate(1, movies=5, series=2, channels=5), cfg)
    found = await discover("http://portal.test/", asgi_fetch(app))
    assert found.token_free and found.url == "http://portal.test/portal.php"


async def test_not_a_portal() -> None:
    async def page(request: object) -> Response:
        return HTMLResponse("<html><body>My blog</body></html>")

    blog = Starlette(routes=[Route("/{path:path}", page)])
    with pytest.raises(NotAPortal) as info:
        await discover("http://blog.test/c/", asgi_fetch(blog))
    assert len(info.value.detail["tried"]) == 3


async def test_blocked_everywhere_is_a_ban() -> None:
    cfg = StalkerFakeConfig(family="stock", html_403=True)
    app = create_app(generate(1, movies=5, series=2, channels=5), cfg)
    with pytest.raises(ProviderBanned):
        await discover("http://portal.test/stalker_portal/c/", asgi_fetch(app))


async def test_refused_connection_stops_at_once() -> None:
    calls: list[str] = []

    async def fetch(url: str, params: dict[str, str]) -> FetchResult:
        calls.append(url)
        raise ProviderUnreachable("refused")

    with pytest.raises(ProviderUnreachable):
        await discover("http://host/c/", fetch)
    assert len(calls) == 1


async def test_only_timeouts_and_server_errors() -> None:
    async def slow(url: str, params: dict[str, str]) -> FetchResult:
        raise ProviderTimeout("slow")

    with pytest.raises(ProviderTimeout):
        await discover("http://host/c/", slow)

    async def broken(url: str, params: dict[str, str]) -> FetchResult:
        return FetchResult(503, b"", url)

    with pytest.raises(ProviderUnreachable):
        await discover("http://host/c/", broken)


async def test_redirect_target_becomes_the_endpoint() -> None:
    fake = create_app(generate(1, movies=5, series=2, channels=5), StalkerFakeConfig())

    async def moved(request: object) -> Response:
        return Response(
            status_code=301, headers={"Location": "http://new.test/stalker_portal/server/load.php"}
        )

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if (
            scope["type"] == "http"
            and scope["headers"]
            and dict(scope["headers"]).get(b"host") == b"old.test"
        ):
            await Starlette(routes=[Route("/{p:path}", moved)])(scope, receive, send)
        else:
            await fake(scope, receive, send)

    found = await discover("http://old.test/stalker_portal/c/", asgi_fetch(app))  # type: ignore[arg-type]
    assert found.url == "http://new.test/stalker_portal/server/load.php"

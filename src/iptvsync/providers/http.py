"""Shared HTTP plumbing for provider clients: one way to build the client, translate its errors
and keep secrets out of messages.

Provider clients take an injected ``httpx.AsyncClient`` (STYLE 2); ``build_http_client`` is the
factory the app and the CLI use so every provider gets the same timeouts and pool limits. httpx
exceptions never leave a provider module: ``translate_transport_error`` maps them onto the
``errors.py`` tree at the boundary, with messages built from ``redact``-ed text.
"""

from __future__ import annotations

import logging
import re
import weakref
from collections.abc import Iterable, Mapping
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from iptvsync.errors import ProviderBadResponse, ProviderError, ProviderTimeout, ProviderUnreachable
from iptvsync.providers.aiohttp_transport import AiohttpTransport, SmallResponse
from iptvsync.providers.budget import Outcome

DEFAULT_TIMEOUT_S = 15.0
DEFAULT_CONNECT_TIMEOUT_S = 10.0

# A MAC written with ":" or "-" (or URL-encoded colons, as in a ``mac=`` cookie or query).
# No leading \b: a MAC inside URL-encoded JSON follows "%22", a word character.
_MAC_RE = re.compile(
    r"(?i)([0-9a-f]{2})((?::|-|%3a)[0-9a-f]{2})((?::|-|%3a)[0-9a-f]{2})"
    r"((?::|-|%3a))[0-9a-f]{2}((?::|-|%3a))[0-9a-f]{2}((?::|-|%3a)[0-9a-f]{2})(?![0-9a-f])"
)
_BEARER_RE = re.compile(r"(?i)(bearer\s+)[^\s,;\"']+")
_QUERY_SECRET_RE = re.compile(
    r"(?i)([?&](?:token|play_token|password|pass|username|mac)=)[^&#\s\"']*"
)


def mask_mac(mac: str) -> str:
    """``00:1A:79:12:34:56`` → ``00:1A:79:XX:XX:56``: enough to tell accounts apart in a log."""
    parts = re.split(r"[:\-]", mac.strip())
    if len(parts) != 6:
        compact = re.sub(r"[^0-9A-Fa-f]", "", mac)
        if len(compact) != 12:
            return "XX:XX:XX:XX:XX:XX"
        parts = [compact[i : i + 2] for i in range(0, 12, 2)]
    parts = [p.upper() for p in parts]
    return ":".join([*parts[:3], "XX", "XX", parts[5]])


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every MAC masked, bearer tokens and credential query values hidden, and each
    explicit secret (tokens, passwords, URL-encoded forms too) replaced by ``***``."""
    out = text
    for secret in secrets:
        if secret and len(secret) >= 3:
            out = out.replace(secret, "***")
            encoded = quote(secret, safe="")
            if encoded != secret:
                out = out.replace(encoded, "***")
    out = _MAC_RE.sub(
        lambda m: (
            f"{m.group(1).upper()}{m.group(2).upper()}{m.group(3).upper()}"
            f"{m.group(4)}XX{m.group(5)}XX{m.group(6).upper()}"
        ),
        out,
    )
    out = _BEARER_RE.sub(r"\1***", out)
    return _QUERY_SECRET_RE.sub(r"\1***", out)


def safe_url(url: str | httpx.URL) -> str:
    """A URL fit for a message: no userinfo, no query values that could carry a secret."""
    parts = urlsplit(str(url))
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    cleaned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return redact(cleaned)


class RedactingFilter(logging.Filter):
    """Masks MACs and credential query values in log records.

    httpx logs every request URL at INFO, and a Stalker ``get_profile`` URL carries the MAC
    (in ``metrics``), a play link carries ``mac=``/``play_token=``: the filter rewrites the
    record before any handler sees it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_log_redaction(*names: str) -> None:
    """Attach ``RedactingFilter`` to the HTTP libraries' loggers (idempotent)."""
    for name in names or ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


install_log_redaction()


def build_http_client(
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
    max_connections: int = 64,
    transport: httpx.AsyncBaseTransport | None = None,
    verify: bool = True,
) -> httpx.AsyncClient:
    """The ``httpx.AsyncClient`` provider clients share: bounded pool, explicit timeouts, no
    environment proxies picked up by surprise, redirects followed (portals move http → https).

    The pool is larger than any politeness budget's cap so the budget, not the pool, decides
    how many requests a provider sees at once. The I/O goes through aiohttp (see
    ``aiohttp_transport``: a quarter of httpcore's CPU per request) unless a transport is given.
    """
    if transport is None:
        transport = AiohttpTransport(max_connections=max_connections, verify=verify)
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=30.0,
        ),
        follow_redirects=True,
        max_redirects=5,
        trust_env=False,
        transport=transport,
        verify=verify,
    )
    if isinstance(transport, AiohttpTransport):
        _DIRECT[client] = transport
    return client


#: Clients built on the aiohttp transport, for ``get_small``'s direct path.
_DIRECT: weakref.WeakKeyDictionary[httpx.AsyncClient, AiohttpTransport] = (
    weakref.WeakKeyDictionary()
)


async def get_small(
    http: httpx.AsyncClient, url: str, *, headers: Mapping[str, str], timeout: float
) -> SmallResponse | httpx.Response:
    """GET a small document (a portal page) and read it whole.

    The hot path of a Stalker walk: thousands of requests. On a client from
    ``build_http_client`` it goes straight to aiohttp (``AiohttpTransport.get_small``); any
    other client (a test's mock transport) and any redirect go through httpx. Both answer an
    object with ``status_code``, case-insensitive ``headers`` and ``content``, and both raise
    httpx's exceptions. The request must not depend on the client's cookie jar: callers that
    use this send their cookies as a header.
    """
    transport = _DIRECT.get(http)
    if transport is not None:
        small = await transport.get_small(url, headers, timeout)
        if small is not None:
            return small
    response = await http.get(url, headers=dict(headers), timeout=timeout)
    await response.aread()
    return response


def translate_transport_error(
    exc: httpx.HTTPError, *, url: str | httpx.URL | None = None
) -> ProviderError:
    """Map an httpx failure onto the provider error tree. The caller raises it ``from exc``."""
    where = f" ({safe_url(url)})" if url is not None else ""
    if isinstance(exc, httpx.TimeoutException):
        return ProviderTimeout(f"the provider did not answer in time{where}")
    if isinstance(exc, httpx.ConnectError):
        return ProviderUnreachable(f"cannot connect to the provider{where}: {_reason(exc)}")
    if isinstance(exc, httpx.TooManyRedirects):
        return ProviderBadResponse(f"the provider redirects in a loop{where}")
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return ProviderUnreachable(f"the provider dropped the connection{where}: {_reason(exc)}")
    if isinstance(exc, httpx.DecodingError):
        return ProviderBadResponse(f"the provider sent an undecodable body{where}")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return ProviderUnreachable(f"unsupported or invalid provider URL{where}")
    return ProviderUnreachable(f"network error talking to the provider{where}: {_reason(exc)}")


def transport_outcome(exc: httpx.HTTPError, error: ProviderError) -> Outcome:
    """What a failed request tells the politeness budget: a dead host, a slow one, or a
    server that broke the exchange."""
    if is_connection_failure(exc):
        return Outcome.CONNECT_ERROR
    if isinstance(error, ProviderTimeout):
        return Outcome.TIMEOUT
    return Outcome.SERVER_ERROR


def is_connection_failure(exc: BaseException) -> bool:
    """True for failures that say the host is down (refused, DNS, reset) rather than slow."""
    return isinstance(exc, httpx.ConnectError | httpx.RemoteProtocolError | httpx.ReadError)


def _reason(exc: BaseException) -> str:
    text = str(exc) or exc.__class__.__name__
    return redact(text)[:200]

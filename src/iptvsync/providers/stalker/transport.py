"""One Stalker API call: URL, MAG headers, the politeness budget, retries and back-off.

429 / 5xx / timeouts / the transient "Too many connections" page are retried with
back-off; 403 or 429 that persist become ProviderBanned; an auth failure re-authenticates
once (``session.py``).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any
from urllib.parse import quote

from iptvsync.errors import (
    NotAPortal,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderBanned,
    ProviderServerError,
    ValidationFailed,
)
from iptvsync.providers.base import ProviderConfig
from iptvsync.providers.budget import BudgetConfig, Outcome, PolitenessBudget, Slot
from iptvsync.providers.http import ProviderHttp, safe_url
from iptvsync.providers.send import Retry, RetryPolicy, retry_after_seconds, send
from iptvsync.providers.stalker import parse
from iptvsync.providers.stalker.discovery import (
    Endpoint,
    FetchResult,
)
from iptvsync.providers.stalker.identity import StalkerIdentity
from iptvsync.providers.stalker.options import StalkerSettings
from iptvsync.providers.stalker.pool import MacPool
from iptvsync.providers.steps import Steps, run_steps_async
from iptvsync.settings import Settings

#: Handshakes one request may do itself before the session counts as stolen for good.
_MAX_REAUTHS = 2
#: Attempts for a request answered 429: a rate-limited portal is busy, not refusing us.
_THROTTLED_ATTEMPTS = 10


_IDENTITY_KEYS = frozenset(f.name for f in fields(StalkerIdentity)) - {"mac"}


class StalkerTransport:
    """Session state and one polite, retried API call (``_call``); the session itself
    (handshake, re-authentication) is ``session.py``'s ``StalkerSession``."""

    def __init__(
        self,
        config: ProviderConfig,
        http: ProviderHttp,
        *,
        budget: PolitenessBudget | None = None,
        settings: Settings | StalkerSettings | None = None,
    ) -> None:
        """``settings``: the app's Settings (timeouts, budget defaults) or, in tests, the
        client's own StalkerSettings. Provider ``options`` override both."""
        if not config.mac:
            raise ValidationFailed("a Stalker provider needs a MAC", detail={"field": "mac"})
        options = dict(config.options or {})
        identity_options = dict(options.get("identity") or {})
        identity_options.update({k: v for k, v in options.items() if k in _IDENTITY_KEYS})
        self._config = config
        self._http = http
        self._identity = StalkerIdentity.from_mac(config.mac, **identity_options)
        self._pool = MacPool.build(self._identity, options.get("mac_pool"), identity_options)
        self._identity = self._pool.identities[0]
        app = settings if isinstance(settings, Settings) else None
        self._budget = budget or PolitenessBudget(BudgetConfig.from_options(options, app))
        self._settings = (
            settings
            if isinstance(settings, StalkerSettings)
            else StalkerSettings.from_options(options, app)
        )
        endpoint = options.get("endpoint")
        self._endpoint: Endpoint | None = Endpoint(url=str(endpoint)) if endpoint else None
        #: Where an earlier session found the API (``providers.endpoint``), tried before any
        #: discovery; the endpoint set in ``options`` is used as it is.
        self._learned = None if self._endpoint else Endpoint.from_stored(config.endpoint)
        #: The endpoint this client's discovery found, for the provider to keep.
        self._found: Endpoint | None = None
        self._family: str | None = options.get("family") if options.get("family") else None
        self._token: str | None = None
        self._tokenless = False
        self._profile: parse.Profile | None = None
        self._auth_lock = asyncio.Lock()
        self._requests = 0
        self._answered = False  # a content call succeeded once: a later 404 means a ban
        self._handshakes = 0
        self._page_size: int | None = None
        self._closed = False
        self._header_cache: tuple[tuple[str | None, str | None], dict[str, str]] | None = None
        self._category_answers: dict[tuple[str, str], asyncio.Future[Any]] = {}
        self._series_module: bool | None = None
        self._channel_keys: dict[str, str] = {}  # channel id → guide key (xmltv_id)
        self._guide_notes: list[str] = []
        self._guide_mode = str(options.get("guide", "portal"))  # "portal" | "none"

    async def _category_call(self, module: str, action: str) -> Any:
        """A category list, asked once per client (one sync run): the engine's categories and
        the walk's censored genres are the same answer."""
        key = (module, action)
        # The request itself is shared: the engine asks every kind's categories at once
        # (``concurrent_scopes``), and movies and stock series both read the VOD list.
        asked = self._category_answers.get(key)
        if asked is None:
            asked = asyncio.ensure_future(self._call({"type": module, "action": action}))
            # Its failure is raised to whoever awaits it; retrieved here too, so an answer
            # whose askers were all cancelled is not reported as "never retrieved".
            asked.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._category_answers[key] = asked
        try:
            return await asyncio.shield(asked)
        except BaseException:
            if asked.done() and (asked.cancelled() or asked.exception() is not None):
                self._category_answers.pop(key, None)  # asked again next time
            raise

    # -- requests ----------------------------------------------------------------------------

    async def _call(
        self,
        params: Mapping[str, str],
        *,
        auth: bool = True,
        send_token: bool | None = None,
        timeout: float | None = None,
        decode: Callable[[bytes], Any] = parse.decode_envelope,
        whole_list: Callable[[bytes], Steps[Any]] | None = None,
    ) -> Any:
        """One API call with retries and back-off. ``auth``: needs a session, and an auth
        failure re-authenticates once; ``send_token`` (default: ``auth``) adds the Bearer
        token, as get_profile and do_auth need during the handshake itself. ``whole_list``,
        instead of ``decode``: thousands of rows to render, send and decode (docs/sync.md
        §6). Its time is no sample of the portal's load for the budget (it read as a queue,
        and the walk's slow start ended at 4 in flight), and it is decoded in steps on the
        event loop, which reads the other answers in between (``providers/steps.py``)."""
        if auth:
            await self._ensure_session()
        endpoint = self._require_endpoint().url
        url = with_query(endpoint, {**params, "JsHttpRequest": "1-xml"})
        with_token = auth if send_token is None else send_token
        sent: list[str | None] = [None]

        async def attempt(slot: Slot) -> Any:
            sent[0] = token = self._token if with_token else None
            return await self._attempt(
                slot,
                url,
                endpoint=endpoint,
                token=token,
                timeout=timeout,
                decode=decode,
                whole_list=whole_list,
            )

        own = 0  # handshakes this request did itself (others' renewals are just retried)

        async def reauth(exc: ProviderAuthFailed, done: int) -> bool:
            # A walk with many requests in flight can see a session kicked again while this
            # request waited: a few renewals are normal, a session refused every time is not.
            nonlocal own
            if own >= _MAX_REAUTHS or done >= 4 * _MAX_REAUTHS:
                raise ProviderAuthFailed(
                    "the portal rejected the session again after re-authenticating "
                    "(is the MAC in use on another device?)",
                    detail={"reason": "session"},
                ) from None
            if not auth or self._tokenless:
                return False
            own += await self._reauthenticate(sent[0])
            return True

        env = await send(
            self._budget,
            attempt,
            policy=RetryPolicy(attempts=self._settings.max_attempts),
            reauth=reauth,
        )
        if auth:
            self._answered = True
        return env

    async def _attempt(
        self,
        slot: Slot,
        url: str,
        *,
        endpoint: str,
        token: str | None,
        timeout: float | None,
        decode: Callable[[bytes], Any] = parse.decode_envelope,
        whole_list: Callable[[bytes], Steps[Any]] | None = None,
    ) -> Any:
        """One request and the verdict on its answer (``send`` retries a ``Retry``)."""
        self._requests += 1
        response = await self._http.get_small(
            url, headers=self._headers(token), timeout=timeout or self._settings.request_timeout_s
        )
        if slot.answered():
            # A waiting request took the slot: let it be sent before this answer is decoded
            # and parsed. Two turns of the loop, so that every request woken by this round of
            # answers goes out before any of the round's answers is read.
            await asyncio.sleep(0)
            await asyncio.sleep(0)
        status = response.status_code
        if status == 200:
            try:
                if whole_list is not None:  # decoded in steps (see ``_call``)
                    env = await run_steps_async(whole_list(response.content))
                else:
                    env = decode(response.content)
            except parse.PortalBusy as exc:
                slot.record(Outcome.SERVER_ERROR)
                raise Retry(exc) from None
            except ProviderAuthFailed:
                slot.record(Outcome.NEUTRAL)
                raise
            except ProviderBadResponse as exc:
                slot.record(Outcome.NEUTRAL)
                raise Retry(
                    exc, attempts=min(self._settings.bad_body_attempts, self._settings.max_attempts)
                ) from None
            slot.record(Outcome.OK if whole_list is None else Outcome.NEUTRAL)
            return env
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        if status == 429:
            slot.record(Outcome.THROTTLED)
            raise Retry(
                ProviderBanned("the portal keeps answering HTTP 429 (too many requests)"),
                retry_after=retry_after,
                attempts=max(_THROTTLED_ATTEMPTS, self._settings.max_attempts),
            )
        if status == 403:
            slot.record(Outcome.THROTTLED)
            raise Retry(
                ProviderBanned("the portal keeps answering HTTP 403 (blocked)"),
                retry_after=retry_after,
            )
        if status >= 500:
            slot.record(Outcome.SERVER_ERROR)
            raise Retry(
                ProviderServerError(f"the portal keeps answering HTTP {status}"),
                retry_after=retry_after,
            )
        slot.record(Outcome.NEUTRAL)
        if status == 404:
            if self._answered:
                # XC_VM answers 404 to a banned IP (docs/stalker.md §9): stop everything.
                raise ProviderBanned("the portal answered HTTP 404 after working: IP banned?")
            raise NotAPortal(f"the portal endpoint answered HTTP 404 ({safe_url(endpoint)})")
        raise ProviderBadResponse(f"the portal answered HTTP {status}")

    async def _page(self, params: Mapping[str, str]) -> parse.PagePayload:
        return parse.parse_page((await self._call(params)).js)

    async def _all_rows(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Every row of a small paged list (seasons, episodes): page 1, then the rest at once."""
        first = await self._page({**params, "p": "1"})
        rows = list(first.rows)
        pages = min(_pages_by_rows(first) or 1, self._settings.detail_page_cap)
        if pages > 1 and first.rows:
            rest = await asyncio.gather(
                *(self._page({**params, "p": str(n)}) for n in range(2, pages + 1))
            )
            ids = {parse.to_str(r.get("id")) for r in rows}
            for payload in rest:
                new = [r for r in payload.rows if parse.to_str(r.get("id")) not in ids]
                if not new:
                    break  # a portal that repeats page 1
                ids.update(parse.to_str(r.get("id")) for r in new)
                rows += new
        return rows

    @staticmethod
    def _itv_params(genre: str, page: int) -> dict[str, str]:
        # Send genre/sortby/fav even for "all": some panels answer nothing without them.
        return {
            "type": "itv",
            "action": "get_ordered_list",
            "genre": genre,
            "force_ch_link_check": "",
            "fav": "0",
            "sortby": "number",
            "hd": "0",
            "p": str(page),
        }

    @staticmethod
    def _vod_params(module: str, category: str, page: int) -> dict[str, str]:
        # ``category=``, not ``genre=``: on stock, ``genre`` is a cat_genre (docs/stalker.md §6.2).
        return {
            "type": module,
            "action": "get_ordered_list",
            "category": category,
            "genre": "*",
            "sortby": "added",
            "fav": "0",
            "hd": "0",
            "not_ended": "0",
            "abc": "*",
            "years": "*",
            "p": str(page),
        }

    # -- session -----------------------------------------------------------------------------

    def _require_endpoint(self) -> Endpoint:
        if self._endpoint is None:
            raise RuntimeError("not connected")  # programming error: _ensure_session first
        return self._endpoint

    def _headers(self, token: str | None) -> dict[str, str]:
        # Built once per token: this runs for every request of a 10,000-page walk.
        key = (token, self._endpoint.url if self._endpoint else None)
        if self._header_cache is None or self._header_cache[0] != key:
            headers = self._identity.headers(referer=self._referer(), token=token)
            self._header_cache = (key, headers)
        return self._header_cache[1]

    def _referer(self) -> str | None:
        return f"{self._endpoint.urls.base}/c/" if self._endpoint else None

    async def _discovery_fetch(self, url: str, params: dict[str, str]) -> FetchResult:
        headers = self._identity.headers(referer=None)

        async def attempt(slot: Slot) -> FetchResult:
            self._requests += 1
            response = await self._http.get_small(
                with_query(url, params), headers=headers, timeout=self._settings.request_timeout_s
            )
            if response.status_code == 429:  # rate-limited, not refused: wait as told
                slot.record(Outcome.THROTTLED)
                raise Retry(
                    ProviderBanned("the portal keeps answering HTTP 429 (too many requests)"),
                    retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                    attempts=max(_THROTTLED_ATTEMPTS, self._settings.max_attempts),
                )
            slot.record(Outcome.OK if response.status_code < 500 else Outcome.SERVER_ERROR)
            return FetchResult(response.status_code, response.content, response.url)

        return await send(self._budget, attempt, policy=RetryPolicy(attempts=1))

    async def _ensure_session(self) -> None:
        raise NotImplementedError  # session.py

    async def _reauthenticate(self, stale_token: str | None) -> bool:
        raise NotImplementedError  # session.py


def with_query(url: str, params: Mapping[str, str]) -> str:
    """``url?query`` built once, cheaper than httpx merging ``params`` on every request.

    Values are encoded once (PHP decodes once); ``/ : ? *`` stay readable as the box sends
    them, while ``&``, ``#``, ``%``, ``+`` and spaces are encoded (docs/stalker.md §2). A walk sends
    the same few keys and values thousands of times: each is encoded once."""
    return f"{url}?" + "&".join(f"{_encoded(k)}={_encoded(v)}" for k, v in params.items())


@functools.lru_cache(maxsize=8192)
def _encoded(text: str) -> str:
    return quote(text, safe="*:/?")


def radio_params(page: int) -> dict[str, str]:
    return {"type": "radio", "action": "get_ordered_list", "fav": "0", "p": str(page)}


def _pages_by_rows(first: parse.PagePayload) -> int | None:
    """Pages of a list from its first page: ``max_page_items``, or the rows page 1 held when
    fewer (a portal's claimed page size may differ from what its pages hold)."""
    size, total, rows = first.page_size, first.total_items, len(first.rows)
    if total is None or not size:
        return first.total_pages
    if 0 < rows < total:
        size = min(size, rows)
    return -(-total // size)

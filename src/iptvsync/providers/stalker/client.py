"""The Stalker / Ministra portal client: session, polite transport, walks, play links.

I/O lives here; every payload goes through the pure functions of ``parse/``. Session rules
(reference §4, §9):

- lazy connect: discovery → handshake → get_profile (→ do_auth when the profile says status 2);
- the token lives in this object and goes out as ``Authorization: Bearer`` with the MAG
  cookies and headers on every request;
- on an auth failure the request re-authenticates ONCE. Handshakes are serialised by a lock
  and a request that finds the token already renewed just retries: reseller panels rotate the
  token on every handshake, so two overlapping handshakes would kill each other's token;
- 429 / 5xx / timeouts / the transient "Too many connections" page are retried with
  back-off; 403 or 429 that persist become ProviderBanned.

Walks page concurrently within the provider's ``PolitenessBudget`` (see ``paging.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from iptvsync.errors import (
    NotAPortal,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderBanned,
    ProviderError,
    ProviderTimeout,
    ValidationFailed,
)
from iptvsync.providers.base import PageHandler, PlayTarget, ProviderConfig
from iptvsync.providers.budget import BudgetConfig, Outcome, PolitenessBudget
from iptvsync.providers.http import (
    get_small,
    is_connection_failure,
    safe_url,
    translate_transport_error,
)
from iptvsync.providers.stalker import parse
from iptvsync.providers.stalker.discovery import (
    Endpoint,
    FetchResult,
    discover,
    parse_version_js,
)
from iptvsync.providers.stalker.identity import StalkerIdentity
from iptvsync.providers.stalker.paging import (
    Deliver,
    FetchedPage,
    FetchPage,
    StreamOutcome,
    walk_stream,
)
from iptvsync.records import (
    CategoryRecord,
    ChannelRecord,
    Kind,
    Page,
    ProbeResult,
    ProgrammeRecord,
    Scope,
    SeasonRecord,
    WalkResult,
)
from iptvsync.settings import Settings

log = logging.getLogger(__name__)

_IDENTITY_KEYS = frozenset(f.name for f in fields(StalkerIdentity)) - {"mac"}


@dataclass(frozen=True, slots=True)
class StalkerSettings:
    """Client knobs; ``from_options`` reads them from a provider's ``options``."""

    request_timeout_s: float = 15.0
    #: create_link can be slow (IPTVnator uses 30 s).
    link_timeout_s: float = 30.0
    #: Attempts per request for 429 / 5xx / timeouts / busy pages (1 = no retry).
    max_attempts: int = 5
    #: Attempts for a malformed body (a hostile payload stays malformed).
    bad_body_attempts: int = 2
    #: get_all_channels answers everything at once; hand it to the engine in slices.
    channel_chunk: int = 1000
    max_ahead_pages: int = 256
    #: Pages sampled to estimate the series share of a stock VOD list in ``probe``.
    probe_sample_pages: int = 4
    #: Pages of seasons / episodes read per series before giving up.
    detail_page_cap: int = 50

    @classmethod
    def from_options(
        cls, options: Mapping[str, Any], app: Settings | None = None
    ) -> StalkerSettings:
        """Defaults, then the app settings (``request_timeout_s``), then provider options."""
        values: dict[str, Any] = {}
        if app is not None:
            values["request_timeout_s"] = float(app.request_timeout_s)
        defaults = cls()
        for f in fields(cls):
            if options.get(f.name) is not None:
                default = getattr(defaults, f.name)
                try:
                    values[f.name] = type(default)(options[f.name])
                except (TypeError, ValueError) as exc:
                    raise ValidationFailed(
                        f"bad provider option {f.name!r}", detail={"field": f.name}
                    ) from exc
        return cls(**values)


class _Retry(Exception):
    """A transient failure of one attempt; ``error`` is raised when attempts run out."""

    def __init__(
        self, error: ProviderError, *, retry_after: float | None = None, limit: int | None = None
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after
        self.limit = limit


class StalkerClient:
    """``ProviderClient`` for Stalker / Ministra MAC portals (stock and reseller families)."""

    whole_lists = False

    def __init__(
        self,
        config: ProviderConfig,
        http: httpx.AsyncClient,
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
        app = settings if isinstance(settings, Settings) else None
        self._budget = budget or PolitenessBudget(BudgetConfig.from_options(options, app))
        self._settings = (
            settings
            if isinstance(settings, StalkerSettings)
            else StalkerSettings.from_options(options, app)
        )
        endpoint = options.get("endpoint")
        self._endpoint: Endpoint | None = Endpoint(url=str(endpoint)) if endpoint else None
        self._family: str | None = options.get("family") if options.get("family") else None
        self._token: str | None = None
        self._tokenless = False
        self._profile: parse.Profile | None = None
        self._auth_lock = asyncio.Lock()
        self._deliver_lock = asyncio.Lock()
        self._requests = 0
        self._answered = False  # a content call succeeded once: a later 404 means a ban
        self._handshakes = 0
        self._page_size: int | None = None
        self._closed = False
        self._header_cache: tuple[tuple[str | None, str | None], dict[str, str]] | None = None
        self._category_answers: dict[tuple[str, str], Any] = {}

    # -- ProviderClient ----------------------------------------------------------------------

    @property
    def requests(self) -> int:
        return self._requests

    @property
    def budget(self) -> PolitenessBudget:
        return self._budget

    @property
    def handshakes(self) -> int:
        """Handshakes done so far (the first connect included)."""
        return self._handshakes

    @property
    def family(self) -> str | None:
        return self._family

    def __repr__(self) -> str:
        return (
            f"StalkerClient(url={safe_url(self._config.url)!r}, mac={self._identity.masked_mac!r})"
        )

    async def aclose(self) -> None:
        # The http client is injected: its owner closes it.
        self._closed = True

    def guide(self) -> AsyncIterator[ProgrammeRecord] | None:
        return None

    async def probe(self) -> ProbeResult:
        """Connect, then read the portal's own totals: channels from the ITV list, movies from
        the VOD list; series from ``type=series`` on reseller panels, and on stock portals
        (series are VOD items there) estimated from the share of ``is_series`` items in a few
        pages sampled across the VOD list."""
        await self._ensure_session()
        family = await self._detect_family()
        account = await self._account_info()
        channels_page, vod_page = await asyncio.gather(
            self._page(self._itv_params("*", 1)), self._page(self._vod_params("vod", "*", 1))
        )
        self._page_size = vod_page.page_size or channels_page.page_size
        counts: dict[str, int | None] = {
            "channels": _total(channels_page),
            "movies": _total(vod_page),
            "series": None,
        }
        if family == "reseller":
            series_page = await self._page(self._vod_params("series", "*", 1))
            counts["series"] = _total(series_page)
        else:
            movies, series = await self._estimate_stock_split(vod_page)
            counts["movies"], counts["series"] = movies, series
        return ProbeResult(
            family=family,
            endpoint=safe_url(self._require_endpoint().url),
            page_size=self._page_size,
            account=account,
            counts=counts,
            version=await self._portal_version(),
        )

    async def categories(self, kind: Kind) -> list[CategoryRecord]:
        await self._ensure_session()
        if kind is Kind.CHANNEL:
            env = await self._category_call("itv", "get_genres")
        elif kind is Kind.SERIES and await self._detect_family() == "reseller":
            env = await self._category_call("series", "get_categories")
        else:  # stock portals keep series in the VOD categories
            env = await self._category_call("vod", "get_categories")
        return parse.parse_categories(env.js, kind)

    async def _category_call(self, module: str, action: str) -> Any:
        """A category list, asked once per client (one sync run): the engine's categories and
        the walk's censored genres are the same answer."""
        key = (module, action)
        if key not in self._category_answers:
            self._category_answers[key] = await self._call({"type": module, "action": action})
        return self._category_answers[key]

    async def walk(
        self,
        scope: Scope,
        on_page: PageHandler,
        *,
        newest_first: bool = False,
        page_cap: int | None = None,
    ) -> WalkResult:
        """Walk channels or VOD. VOD is always read ``sortby=added`` (newest first), which
        suits full and incremental walks alike; ``newest_first`` is accepted for the protocol."""
        await self._ensure_session()
        seen: set[tuple[str, str]] = set()

        async def deliver(page: Page) -> bool:
            # One consumer call at a time, whatever stream the page belongs to.
            async with self._deliver_lock:
                return (await on_page(page)) is not False

        if scope is Scope.CHANNELS:
            outcomes = await self._walk_channels(deliver, seen, page_cap)
        else:
            outcomes = await self._walk_vod(deliver, seen, page_cap)
        return _merge(outcomes)

    async def series_detail(self, series_provider_id: str) -> list[SeasonRecord]:
        await self._ensure_session()
        if await self._detect_family() == "reseller":
            rows = await self._all_rows(
                {
                    "type": "series",
                    "action": "get_ordered_list",
                    "movie_id": series_provider_id,
                    "season_id": "0",
                    "episode_id": "0",
                }
            )
            return parse.parse_reseller_seasons(rows, series_provider_id)
        base = {"type": "vod", "action": "get_ordered_list", "movie_id": series_provider_id}
        seasons = parse.parse_stock_seasons(await self._all_rows(base))

        async def episodes(season: parse.StockSeason) -> SeasonRecord:
            rows = await self._all_rows({**base, "season_id": season.id})
            eps = parse.parse_stock_episodes(rows, movie_id=series_provider_id, season=season)
            return SeasonRecord(number=season.number, name=season.name, episodes=tuple(eps))

        return list(await asyncio.gather(*(episodes(s) for s in seasons)))

    async def resolve_play(self, target: PlayTarget) -> str:
        """A fresh stream URL for a channel, movie or episode (``create_link`` at play time;
        links live seconds, so they are never stored)."""
        await self._ensure_session()
        kind = target.kind
        item = target.provider_item_id
        if kind == "channel":
            cmd = target.cmd or f"ffrt http://localhost/ch/{item}_"
            tmp = parse.to_bool(target.extra.get("use_http_tmp_link")) or parse.to_bool(
                target.extra.get("use_load_balancing")
            )
            if not parse.needs_create_link(cmd, tmp_link=tmp):
                return parse.strip_solution(cmd).replace("%mac%", self._identity.mac)
            return await self._create_link("itv", cmd)
        if kind == "movie":
            return await self._create_link("vod", target.cmd or f"/media/{item}.mpg")
        if kind == "episode":
            return await self._resolve_episode(target)
        raise ValidationFailed(f"cannot play a {kind!r}", detail={"field": "kind"})

    def stream_headers(self) -> dict[str, str]:
        """What the box sends with a stream request (MAG User-Agent, MAC cookie, token):
        gated portals answer 403 without them. For the relay; never shown to a player."""
        return dict(self._headers(self._token))

    # -- walks -------------------------------------------------------------------------------

    async def _walk_channels(
        self, deliver: Deliver, seen: set[tuple[str, str]], page_cap: int | None
    ) -> list[StreamOutcome]:
        genres = parse.parse_categories(
            (await self._category_call("itv", "get_genres")).js, Kind.CHANNEL
        )
        censored = frozenset(g.provider_id for g in genres if g.censored)
        urls = self._require_endpoint().urls

        def fetcher(genre: str) -> FetchPage:
            async def fetch(number: int) -> FetchedPage:
                payload = await self._page(self._itv_params(genre, number))
                records = parse.parse_channels(payload.rows, urls, censored_genres=censored)
                return _fetched(records, payload)

            return fetch

        main = await self._all_channels_stream(deliver, seen, censored, page_cap)
        jobs: list[tuple[str, FetchPage]] = []
        if main is None:  # get_all_channels failed, was empty or is disabled: page ITV
            jobs.append(("itv", fetcher("*")))
        # Adult genres may be missing from "All" and get_all_channels (reference §5.2, §8).
        for genre in sorted(censored):
            jobs.append((f"itv:genre:{genre}", fetcher(genre)))
        outcomes = [main] if main is not None else []
        outcomes += await self._run_streams(jobs, deliver, seen, page_cap)
        return outcomes

    async def _all_channels_stream(
        self,
        deliver: Deliver,
        seen: set[tuple[str, str]],
        censored: frozenset[str],
        page_cap: int | None,
    ) -> StreamOutcome | None:
        urls = self._require_endpoint().urls

        def decode(body: bytes) -> list[ChannelRecord]:
            return parse.parse_channel_stream(body, urls, censored_genres=censored)

        try:
            records = await self._call(
                {"type": "itv", "action": "get_all_channels", "force_ch_link_check": ""},
                decode=decode,
            )
        except ProviderBadResponse as exc:
            log.info(
                "stalker %s: get_all_channels unusable (%s); paging ITV instead",
                self._identity.masked_mac,
                exc.message,
            )
            return None
        if not records:
            return None
        outcome = StreamOutcome(stream="itv", complete=False)
        size = max(1, self._settings.channel_chunk)
        chunks = [records[i : i + size] for i in range(0, len(records), size)]
        for number, chunk in enumerate(chunks, start=1):
            keys = [(str(r.kind), r.provider_id) for r in chunk]
            fresh = [r for r, k in zip(chunk, keys, strict=True) if k not in seen]
            seen.update(keys)
            outcome.pages += 1
            outcome.items += len(fresh)
            page = Page("itv", number, list(fresh), len(chunks), len(records))
            keep_going = await deliver(page)
            if number == len(chunks):
                outcome.complete = True
            elif keep_going is False:
                outcome.stop_reason = "early_termination"
                break
            elif page_cap is not None and number >= page_cap:
                outcome.stop_reason = "page_cap"
                break
        return outcome

    async def _walk_vod(
        self, deliver: Deliver, seen: set[tuple[str, str]], page_cap: int | None
    ) -> list[StreamOutcome]:
        reseller = await self._detect_family() == "reseller"
        modules = ["vod", "series"] if reseller else ["vod"]
        urls = self._require_endpoint().urls
        cats: dict[str, list[CategoryRecord]] = {}
        for module in list(modules):
            try:
                env = await self._category_call(module, "get_categories")
                kind = Kind.SERIES if module == "series" else Kind.MOVIE
                cats[module] = parse.parse_categories(env.js, kind)
            except ProviderBadResponse:
                if module == "vod":
                    raise
                # Older panels have no type=series module: their VOD list is all there is.
                log.info("stalker %s: no series module", self._identity.masked_mac)
                modules.remove(module)

        def fetcher(module: str, category: str) -> FetchPage:
            censored = frozenset(c.provider_id for c in cats[module] if c.censored)

            async def fetch(number: int) -> FetchedPage:
                payload = await self._page(self._vod_params(module, category, number))
                if payload.page_size and self._page_size is None:
                    self._page_size = payload.page_size
                records = parse.parse_vod_items(
                    payload.rows,
                    urls,
                    force_series=module == "series",
                    censored_categories=censored,
                )
                return _fetched(list(records), payload)

            return fetch

        jobs: list[tuple[str, FetchPage]] = [(m, fetcher(m, "*")) for m in modules]
        # Censored categories may be hidden from "All" (show_adult_*_in_common_list=false).
        for module in modules:
            for cat in cats[module]:
                if cat.censored:
                    jobs.append(
                        (f"{module}:category:{cat.provider_id}", fetcher(module, cat.provider_id))
                    )
        return await self._run_streams(jobs, deliver, seen, page_cap)

    async def _run_streams(
        self,
        jobs: list[tuple[str, FetchPage]],
        deliver: Deliver,
        seen: set[tuple[str, str]],
        page_cap: int | None,
    ) -> list[StreamOutcome]:
        """Walk the streams concurrently (they share the budget); the first failure cancels
        the others and is raised as it is."""
        if not jobs:
            return []
        tasks = [
            asyncio.create_task(
                walk_stream(
                    name,
                    fetch,
                    deliver,
                    window=lambda: self._budget.limit,
                    seen=seen,
                    page_cap=page_cap,
                    max_ahead=self._settings.max_ahead_pages,
                )
            )
            for name, fetch in jobs
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in tasks:
                if task in done and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            return [task.result() for task in tasks]
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task

    # -- requests ----------------------------------------------------------------------------

    async def _call(
        self,
        params: Mapping[str, str],
        *,
        auth: bool = True,
        send_token: bool | None = None,
        timeout: float | None = None,
        decode: Callable[[bytes], Any] = parse.decode_envelope,
    ) -> Any:
        """One API call with retries and back-off. ``auth``: needs a session, and an auth
        failure re-authenticates once; ``send_token`` (default: ``auth``) adds the Bearer
        token, as get_profile and do_auth need during the handshake itself."""
        if auth:
            await self._ensure_session()
        endpoint = self._require_endpoint().url
        query = {**params, "JsHttpRequest": "1-xml"}
        with_token = auth if send_token is None else send_token
        attempt = 0
        reauthed = False
        while True:
            token = self._token if with_token else None
            try:
                env = await self._attempt(
                    endpoint, query, token=token, timeout=timeout, decode=decode
                )
            except _Retry as retry:
                attempt += 1
                limit = min(self._settings.max_attempts, retry.limit or self._settings.max_attempts)
                if attempt >= limit:
                    raise retry.error from None
                await self._budget.wait_backoff(attempt - 1, retry_after=retry.retry_after)
                continue
            except ProviderAuthFailed:
                if not auth or reauthed or self._tokenless:
                    if reauthed:
                        raise ProviderAuthFailed(
                            "the portal rejected the session again after re-authenticating "
                            "(is the MAC in use on another device?)",
                            detail={"reason": "session"},
                        ) from None
                    raise
                reauthed = True
                await self._reauthenticate(token)
                continue
            if auth:
                self._answered = True
            return env

    async def _attempt(
        self,
        url: str,
        params: Mapping[str, str],
        *,
        token: str | None,
        timeout: float | None,
        decode: Callable[[bytes], Any] = parse.decode_envelope,
    ) -> Any:
        headers = self._headers(token)
        async with self._budget.slot() as slot:
            self._requests += 1
            try:
                response = await get_small(
                    self._http,
                    _with_query(url, params),
                    headers=headers,
                    timeout=timeout or self._settings.request_timeout_s,
                )
            except httpx.TimeoutException as exc:
                slot.record(Outcome.TIMEOUT)
                raise _Retry(translate_transport_error(exc, url=url)) from exc
            except httpx.HTTPError as exc:
                failed = is_connection_failure(exc)
                slot.record(Outcome.CONNECT_ERROR if failed else Outcome.NEUTRAL)
                raise _Retry(translate_transport_error(exc, url=url)) from exc
            status = response.status_code
            if status == 200:
                try:
                    env = decode(response.content)
                except parse.PortalBusy as exc:
                    slot.record(Outcome.SERVER_ERROR)
                    raise _Retry(exc) from None
                except ProviderAuthFailed:
                    slot.record(Outcome.NEUTRAL)
                    raise
                except ProviderBadResponse as exc:
                    slot.record(Outcome.NEUTRAL)
                    raise _Retry(exc, limit=self._settings.bad_body_attempts) from None
                slot.record(Outcome.OK)
                return env
            retry_after = _retry_after(response.headers.get("Retry-After"))
            if status == 429:
                slot.record(Outcome.THROTTLED)
                raise _Retry(
                    ProviderBanned("the portal keeps answering HTTP 429 (too many requests)"),
                    retry_after=retry_after,
                )
            if status == 403:
                slot.record(Outcome.THROTTLED)
                raise _Retry(
                    ProviderBanned("the portal keeps answering HTTP 403 (blocked)"),
                    retry_after=retry_after,
                )
            if status >= 500:
                slot.record(Outcome.SERVER_ERROR)
                raise _Retry(
                    ProviderBadResponse(f"the portal keeps answering HTTP {status}"),
                    retry_after=retry_after,
                )
            slot.record(Outcome.NEUTRAL)
            if status == 404:
                if self._answered:
                    # XC_VM answers 404 to a banned IP (reference §9): stop everything.
                    raise ProviderBanned("the portal answered HTTP 404 after working: IP banned?")
                raise NotAPortal(f"the portal endpoint answered HTTP 404 ({safe_url(url)})")
            raise ProviderBadResponse(f"the portal answered HTTP {status}")

    async def _page(self, params: Mapping[str, str]) -> parse.PagePayload:
        return parse.parse_page((await self._call(params)).js)

    async def _all_rows(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Every row of a small paged list (seasons, episodes): page 1, then the rest at once."""
        first = await self._page({**params, "p": "1"})
        rows = list(first.rows)
        pages = min(first.total_pages or 1, self._settings.detail_page_cap)
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
        # ``category=`` (not ``genre=``): on stock ``genre`` is a cat_genre id (reference §6.2).
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

    async def _ensure_session(self) -> None:
        if self._token is not None or self._tokenless:
            return
        async with self._auth_lock:
            if self._token is not None or self._tokenless:
                return
            if self._endpoint is None:
                self._endpoint = await discover(self._config.url, self._discovery_fetch)
                if self._family is None:
                    self._family = self._endpoint.family_hint
            await self._authenticate()

    async def _reauthenticate(self, stale_token: str | None) -> None:
        async with self._auth_lock:
            if self._token != stale_token:
                return  # another request already renewed the session: just retry
            log.info("stalker %s: session rejected, re-authenticating", self._identity.masked_mac)
            self._token = None
            await self._authenticate()

    async def _authenticate(self) -> None:
        """handshake → get_profile (→ do_auth → get_profile). Caller holds ``_auth_lock``."""
        self._handshakes += 1
        try:
            env = await self._call(
                {"type": "stb", "action": "handshake", "token": "", "prehash": "0"}, auth=False
            )
            handshake = parse.parse_handshake(env.js)
        except ProviderAuthFailed:
            if self._endpoint is not None and self._endpoint.token_free:
                self._tokenless = True  # a token-free panel: content calls need no session
                return
            raise
        if env.has_text and self._family is None:
            self._family = "stock"
        self._token = handshake.token
        profile = await self._get_profile(handshake.random, second_step=False)
        if profile.needs_login:
            login, password = self._config.username, self._config.password
            if not (login and password):
                self._token = None
                raise ProviderAuthFailed(
                    "the portal asks for a login and password; set them on the provider",
                    detail={"reason": "login_required"},
                )
            env = await self._call(
                self._identity.auth_params(login, password), auth=False, send_token=True
            )
            parse.parse_do_auth(env.js)
            profile = await self._get_profile(handshake.random, second_step=True)
            if profile.needs_login:
                self._token = None
                raise ProviderAuthFailed("the portal refused the login and password")
        self._profile = profile

    async def _get_profile(self, random: str | None, *, second_step: bool) -> parse.Profile:
        params = self._identity.profile_params(
            random=random or "", timestamp=int(time.time()), auth_second_step=second_step
        )
        try:
            env = await self._call(params, auth=False, send_token=True)
            return parse.parse_profile(env.js)
        except ProviderError:
            self._token = None
            raise

    async def _discovery_fetch(self, url: str, params: dict[str, str]) -> FetchResult:
        headers = self._identity.headers(referer=None)
        async with self._budget.slot() as slot:
            self._requests += 1
            try:
                response = await self._http.get(
                    _with_query(url, params),
                    headers=headers,
                    timeout=self._settings.request_timeout_s,
                )
            except httpx.TimeoutException as exc:
                slot.record(Outcome.TIMEOUT)
                raise ProviderTimeout(f"no answer in time from {safe_url(url)}") from exc
            except httpx.HTTPError as exc:
                slot.record(
                    Outcome.CONNECT_ERROR if is_connection_failure(exc) else Outcome.NEUTRAL
                )
                raise translate_transport_error(exc, url=url) from exc
            slot.record(Outcome.OK if response.status_code < 500 else Outcome.SERVER_ERROR)
            return FetchResult(response.status_code, response.content, str(response.url))

    async def _detect_family(self) -> str:
        """stock | reseller. Hints from the bodies first; otherwise ask for the reseller-only
        ``type=series`` module."""
        if self._family in ("stock", "reseller"):
            return self._family
        family = "stock"
        with contextlib.suppress(ProviderBadResponse):
            env = await self._category_call("series", "get_categories")
            if parse.parse_categories(env.js, Kind.SERIES):
                family = "reseller"
        self._family = family
        return family

    # -- probe helpers -----------------------------------------------------------------------

    async def _account_info(self) -> Any:
        js: Any = None
        with contextlib.suppress(ProviderBadResponse, NotAPortal):
            js = (await self._call({"type": "account_info", "action": "get_main_info"})).js
        return parse.parse_account_info(js, self._profile, now=datetime.now(UTC))

    async def _estimate_stock_split(
        self, first: parse.PagePayload
    ) -> tuple[int | None, int | None]:
        total = _total(first)
        pages = first.total_pages or 1
        if total is None:
            return None, None
        sample = max(1, self._settings.probe_sample_pages)
        picks = sorted({1 + (pages - 1) * i // max(1, sample - 1) for i in range(sample)} - {1})
        payloads = [first]
        if picks and pages > 1:
            payloads += await asyncio.gather(
                *(self._page(self._vod_params("vod", "*", p)) for p in picks)
            )
        rows = [r for p in payloads for r in p.rows]
        if not rows:
            return total, 0
        share = sum(1 for r in rows if parse.is_series_row(r)) / len(rows)
        series = round(total * share)
        return total - series, series

    async def _portal_version(self) -> str | None:
        urls = self._require_endpoint().urls
        with contextlib.suppress(ProviderError, httpx.HTTPError):
            async with self._budget.slot() as slot:
                self._requests += 1
                response = await self._http.get(
                    f"{urls.base}/c/version.js",
                    headers=self._identity.headers(),
                    timeout=self._settings.request_timeout_s,
                )
                slot.record(Outcome.NEUTRAL)
            if response.status_code == 200:
                return parse_version_js(response.text)
        return None

    # -- play --------------------------------------------------------------------------------

    async def _create_link(self, module: str, cmd: str, *, series: str = "") -> str:
        env = await self._call(
            {
                "type": module,
                "action": "create_link",
                "cmd": cmd,
                "series": series,
                "forced_storage": "",
                "disable_ad": "0",
                "download": "0",
                "force_ch_link_check": "0",
            },
            timeout=self._settings.link_timeout_s,
        )
        return parse.parse_create_link(
            env.js,
            env.top,
            origin=self._require_endpoint().urls.origin,
            original_cmd=cmd,
            mac=self._identity.mac,
        )

    async def _resolve_episode(self, target: PlayTarget) -> str:
        parts = target.provider_item_id.split(":")
        if await self._detect_family() == "reseller":
            # "<show>:<season>:<position>"; the season cmd picks the k-th episode (§7.C).
            show = target.series_provider_id or parts[0]
            season = target.season if target.season is not None else _int_at(parts, 1)
            position = _int_at(parts, 2) if len(parts) >= 3 else target.episode
            if position is None:
                raise ValidationFailed("episode id lacks its position", detail={"field": "id"})
            cmd = target.cmd or f"/media/{show}:{season}.mpg"
            return await self._create_link("vod", cmd, series=str(position))
        if target.cmd:
            return await self._create_link("vod", target.cmd)
        if len(parts) != 3:
            raise ValidationFailed("not a Stalker episode id", detail={"field": "id"})
        movie_id, season_id, episode_id = parts
        rows = await self._all_rows(
            {
                "type": "vod",
                "action": "get_ordered_list",
                "movie_id": movie_id,
                "season_id": season_id,
                "episode_id": episode_id,
            }
        )
        files = parse.parse_stock_files(rows)
        if not files:
            raise ProviderBadResponse("the portal lists no file for this episode")
        return await self._create_link("vod", files[0])


def _with_query(url: str, params: Mapping[str, str]) -> str:
    """``url?query`` built once, cheaper than httpx merging ``params`` on every request.

    Values are encoded once (PHP decodes once); ``/ : ? *`` stay readable as the box sends
    them, while ``&``, ``#``, ``%``, ``+`` and spaces are encoded (reference §2). A walk sends
    the same few keys and values thousands of times: each is encoded once."""
    return f"{url}?" + "&".join(f"{_encoded(k)}={_encoded(v)}" for k, v in params.items())


@functools.lru_cache(maxsize=8192)
def _encoded(text: str) -> str:
    return quote(text, safe="*:/?")


def _fetched(records: list[Any], payload: parse.PagePayload) -> FetchedPage:
    return FetchedPage(
        records=list(records),
        rows=len(payload.rows),
        total_items=payload.total_items,
        page_size=payload.page_size or (len(payload.rows) if payload.total_items else None),
    )


def _total(payload: parse.PagePayload) -> int | None:
    return payload.total_items if payload.total_items is not None else len(payload.rows) or None


def _int_at(parts: list[str], index: int) -> int | None:
    if index < len(parts):
        return parse.to_int(parts[index])
    return None


def _retry_after(value: str | None) -> float | None:
    seconds = parse.to_float(value) if value else None
    return seconds if seconds is not None and seconds >= 0 else None


_STOP_PRIORITY = ("repeated_page", "page_cap", "early_termination")


def _merge(outcomes: list[StreamOutcome]) -> WalkResult:
    incomplete = [o for o in outcomes if not o.complete]
    reasons = [o.stop_reason for o in incomplete if o.stop_reason]
    stop = next((r for r in _STOP_PRIORITY if r in reasons), reasons[0] if reasons else None)
    if incomplete and stop is None:
        stop = "incomplete"
    return WalkResult(
        complete=not incomplete,
        pages=sum(o.pages for o in outcomes),
        items=sum(o.items for o in outcomes),
        stop_reason=stop,
        warnings=[w for o in outcomes for w in o.warnings],
    )

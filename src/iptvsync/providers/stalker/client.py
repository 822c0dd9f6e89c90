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
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from iptvsync.errors import (
    NotAPortal,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderBanned,
    ProviderError,
    ValidationFailed,
)
from iptvsync.providers.base import PageHandler, PlayTarget, ProviderConfig
from iptvsync.providers.budget import BudgetConfig, Outcome, PolitenessBudget, Slot
from iptvsync.providers.http import ProviderHttp, safe_url
from iptvsync.providers.send import Retry, RetryPolicy, retry_after_seconds, send
from iptvsync.providers.stalker import parse
from iptvsync.providers.stalker.discovery import (
    Endpoint,
    FetchResult,
    discover,
    parse_version_js,
)
from iptvsync.providers.stalker.filters import CategoryStream
from iptvsync.providers.stalker.guide import guide_stream
from iptvsync.providers.stalker.identity import StalkerIdentity, mask_mac
from iptvsync.providers.stalker.paging import (
    Deliver,
    FetchedPage,
    FetchPage,
    StreamOutcome,
    walk_stream,
)
from iptvsync.providers.stalker.pool import REFUSALS, MacPool
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
    #: Hours of the portal's all-channels guide asked (``get_epg_info&period=``).
    guide_period_h: int = 72
    #: Programmes asked per channel from the short EPG (portals without the bulk guide).
    guide_short_size: int = 10
    #: Channels whose short EPG is asked at once (within the politeness budget).
    guide_workers: int = 4
    #: The all-channels guide is one large answer a portal builds before sending it.
    guide_timeout_s: float = 120.0

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


#: Handshakes one request may do itself before the session counts as stolen for good.
_MAX_REAUTHS = 2
#: Attempts for a request answered 429: a rate-limited portal is busy, not refusing us.
_THROTTLED_ATTEMPTS = 10


class StalkerClient:
    """``ProviderClient`` for Stalker / Ministra MAC portals (stock and reseller families)."""

    whole_lists = False

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
        self._notes: list[str] = []  # warnings of the current walk (hidden categories)
        self._hidden_streams: list[CategoryStream] = []
        self._series_module: bool | None = None
        self._channel_keys: dict[str, str] = {}  # channel id → guide key (xmltv_id)
        self._guide_notes: list[str] = []
        self._guide_mode = str(options.get("guide", "portal"))  # "portal" | "none"

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
        """The portal's own guide (``guide.py``); ``options.guide = "none"`` turns it off."""
        if self._guide_mode == "none":
            return None
        self._guide_notes = []
        return guide_stream(self, self._guide_channels, self._guide_notes)

    @property
    def guide_warnings(self) -> list[str]:
        """Warnings of the last guide read (programmes with broken times dropped)."""
        return list(self._guide_notes)

    async def _guide_channels(self) -> dict[str, str]:
        """Channel id → guide key, from this client's channel walk (walked now if none ran)."""
        if not self._channel_keys:

            async def ignore(page: Page) -> bool:
                return True

            await self.walk(Scope.CHANNELS, ignore)
        return dict(self._channel_keys)

    # -- what guide.py uses -------------------------------------------------------------------

    @property
    def identity(self) -> StalkerIdentity:
        return self._identity

    @property
    def settings(self) -> StalkerSettings:
        return self._settings

    @property
    def http(self) -> ProviderHttp:
        return self._http

    async def connect(self) -> None:
        await self._ensure_session()

    def count_request(self) -> None:
        self._requests += 1

    def request_parts(self, params: Mapping[str, str]) -> tuple[str, dict[str, str], float]:
        """URL, headers and timeout of one API call with the current session."""
        url = _with_query(self._require_endpoint().url, {**params, "JsHttpRequest": "1-xml"})
        return url, self._headers(self._token), self._settings.request_timeout_s

    async def call(self, params: Mapping[str, str]) -> Any:
        """One API call with the usual retries and re-authentication."""
        return await self._call(params)

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
        modules: dict[str, int | None] = {"itv": _total(channels_page), "vod": _total(vod_page)}
        counts: dict[str, int | None] = {
            "channels": _total(channels_page),
            "movies": _total(vod_page),
            "series": None,
        }
        # Every module the portal may have is asked, whatever the family looks like.
        with contextlib.suppress(ProviderBadResponse):
            radio = await self._page(_radio_params(1))
            if radio.rows:
                modules["radio"] = _total(radio)
        series_total: int | None = None
        if await self._has_series_module():
            series_page = await self._page(self._vod_params("series", "*", 1))
            series_total = modules["series"] = _total(series_page)
        if family == "reseller":
            counts["series"] = series_total
        else:
            movies, series = await self._estimate_stock_split(vod_page)
            counts["movies"] = movies
            if series is not None or series_total is not None:
                counts["series"] = (series or 0) + (series_total or 0)
        if len(self._pool) > 1:
            await self._check_pool()
        self._pool.states[self._identity.mac]["state"] = account.status
        self._pool.states[self._identity.mac]["expires_at"] = account.expires_at
        macs = [
            {
                "mac": mask_mac(state["mac"]),
                "state": state["state"],
                "reason": state["reason"],
                "expires_at": state["expires_at"].isoformat() if state["expires_at"] else None,
            }
            for state in self.mac_states
        ]
        return ProbeResult(
            modules=modules,
            macs=macs,
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
        elif kind is Kind.SERIES and await self._has_series_module():
            env = await self._category_call("series", "get_categories")
            found = parse.parse_categories(env.js, kind)
            if await self._detect_family() == "reseller":
                return found
            # A stock portal with a series module may keep is_series items in VOD too.
            vod = await self._category_call("vod", "get_categories")
            ids = {c.provider_id for c in found}
            extra = [c for c in parse.parse_categories(vod.js, kind) if c.provider_id not in ids]
            return found + [replace(c, position=len(found) + i) for i, c in enumerate(extra)]
        else:  # stock portals keep series in the VOD categories
            env = await self._category_call("vod", "get_categories")
        return parse.parse_categories(env.js, kind)

    async def _has_series_module(self) -> bool:
        """Whether the portal answers ``type=series`` with categories: asked on every
        portal, since no family guess may switch a module off."""
        if self._series_module is None:
            try:
                env = await self._category_call("series", "get_categories")
                self._series_module = bool(parse.parse_categories(env.js, Kind.SERIES))
            except ProviderBadResponse:
                self._series_module = False
        return self._series_module

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
                if scope is Scope.CHANNELS:
                    for record in page.records:
                        if isinstance(record, ChannelRecord) and record.epg_id:
                            self._channel_keys[record.provider_id] = record.epg_id
                return (await on_page(page)) is not False

        self._notes = []
        self._hidden_streams = []
        if scope is Scope.CHANNELS:
            outcomes = await self._walk_channels(deliver, seen, page_cap)
        else:
            outcomes = await self._walk_vod(deliver, seen, page_cap)
        for stream in self._hidden_streams:
            stream.finish()  # stray rows dropped from a hidden category: a warning
        result = _merge(outcomes)
        result.warnings.extend(n for n in self._notes if n not in result.warnings)
        return result

    def _hidden(self, module: str, category: str, to_records: Any) -> FetchPage:
        """Pages of one hidden category, its filter parameter found by trying (filters.py)."""

        def params(variant: dict[str, str], number: int) -> dict[str, str]:
            if module == "itv":
                base = self._itv_params(category, number)
                base.pop("genre")
            else:
                base = self._vod_params(module, category, number)
                base.pop("category")
                base.pop("genre")
            return {**base, **variant}

        stream = CategoryStream(
            module,
            category,
            params=params,
            get_page=self._page,
            to_records=to_records,
            warn=self._notes.append,
        )
        self._hidden_streams.append(stream)
        return stream.fetch

    async def series_detail(self, series_provider_id: str) -> list[SeasonRecord]:
        """Seasons and episodes. The series module is asked first where the portal has one,
        then the VOD drill-down; every row shape is read on either path (``series`` lists of
        positions, ``is_season`` rows to drill into). Rows listed but none readable is an
        error (ProviderBadResponse), never a silent empty series."""
        await self._ensure_session()
        listed = 0
        paths = ["series", "vod"] if await self._has_series_module() else ["vod"]
        if await self._detect_family() == "reseller":
            paths = ["series"]  # a panel's VOD list ignores movie_id
        for module in paths:
            params = {"type": module, "action": "get_ordered_list", "movie_id": series_provider_id}
            if module == "series":
                params.update({"season_id": "0", "episode_id": "0"})
            rows = await self._all_rows(params)
            listed += len(rows)
            positional, stock = parse.parse_season_rows(rows, series_provider_id)
            if positional or stock:
                return positional + await self._stock_episodes(params, series_provider_id, stock)
        if listed:
            log.warning(
                "stalker %s: series %s: %s season rows, none readable",
                self._identity.masked_mac,
                series_provider_id,
                listed,
            )
            raise ProviderBadResponse(
                f"the portal listed {listed} season rows for this series and none could be read",
                detail={"reason": "unreadable_seasons"},
            )
        return []

    async def _stock_episodes(
        self, base: dict[str, str], series_id: str, seasons: list[parse.StockSeason]
    ) -> list[SeasonRecord]:
        async def episodes(season: parse.StockSeason) -> SeasonRecord:
            rows = await self._all_rows({**base, "season_id": season.id})
            eps = parse.parse_stock_episodes(rows, movie_id=series_id, season=season)
            return SeasonRecord(number=season.number, name=season.name, episodes=tuple(eps))

        return list(await asyncio.gather(*(episodes(s) for s in seasons)))

    async def resolve_play(self, target: PlayTarget) -> str:
        """A fresh stream URL for a channel, movie or episode (``create_link`` at play time;
        links live seconds, so they are never stored)."""
        await self._ensure_session()
        kind = target.kind
        item = target.provider_item_id
        if kind == "channel" and item.startswith(parse.RADIO_PREFIX):
            # Stations play their cmd as it is (the radio module has no temporary links);
            # only a cmd that is no URL at all is handed to create_link.
            url = parse.strip_solution(target.cmd or "").replace("%mac%", self._identity.mac)
            if url.startswith(("http://", "https://")):
                return url
            return await self._create_link("radio", target.cmd or "")
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
        def channels_of(rows: list[dict[str, Any]]) -> list[Any]:
            return list(parse.parse_channels(rows, urls, censored_genres=censored))

        for genre in sorted(censored):
            jobs.append((f"itv:genre:{genre}", self._hidden("itv", genre, channels_of)))
        # The radio module is asked on every portal too; what answers is channels flagged radio.
        jobs.append(("radio", self._radio_fetcher()))
        outcomes = [main] if main is not None else []
        outcomes += await self._run_streams(jobs, deliver, seen, page_cap)
        return outcomes

    def _radio_fetcher(self) -> FetchPage:
        urls = self._require_endpoint().urls

        async def fetch(number: int) -> FetchedPage:
            try:
                payload = await self._page(_radio_params(number))
            except ProviderBadResponse:
                payload = parse.PagePayload(rows=[], total_items=None, page_size=None)
            return _fetched(parse.radio_channels(payload.rows, urls), payload)

        return fetch

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
        # No family guess switches a module off: the series module is asked on every portal
        # and kept when it answers (a stock path may serve one too).
        modules = ["vod", "series"] if await self._has_series_module() else ["vod"]
        urls = self._require_endpoint().urls
        cats: dict[str, list[CategoryRecord]] = {}
        for module in modules:
            env = await self._category_call(module, "get_categories")
            kind = Kind.SERIES if module == "series" else Kind.MOVIE
            cats[module] = parse.parse_categories(env.js, kind)

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
            censored = frozenset(c.provider_id for c in cats[module] if c.censored)

            def items_of(
                rows: list[dict[str, Any]],
                module: str = module,
                censored: frozenset[str] = censored,
            ) -> list[Any]:
                return list(
                    parse.parse_vod_items(
                        rows,
                        urls,
                        force_series=module == "series",
                        censored_categories=censored,
                    )
                )

            for cat in cats[module]:
                if cat.censored:
                    name = f"{module}:category:{cat.provider_id}"
                    jobs.append((name, self._hidden(module, cat.provider_id, items_of)))
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
        url = _with_query(endpoint, {**params, "JsHttpRequest": "1-xml"})
        with_token = auth if send_token is None else send_token
        sent: list[str | None] = [None]

        async def attempt(slot: Slot) -> Any:
            sent[0] = token = self._token if with_token else None
            return await self._attempt(
                slot, url, endpoint=endpoint, token=token, timeout=timeout, decode=decode
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
    ) -> Any:
        """One request and the verdict on its answer (``send`` retries a ``Retry``)."""
        self._requests += 1
        response = await self._http.get_small(
            url, headers=self._headers(token), timeout=timeout or self._settings.request_timeout_s
        )
        status = response.status_code
        if status == 200:
            try:
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
            slot.record(Outcome.OK)
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
                ProviderBadResponse(f"the portal keeps answering HTTP {status}"),
                retry_after=retry_after,
            )
        slot.record(Outcome.NEUTRAL)
        if status == 404:
            if self._answered:
                # XC_VM answers 404 to a banned IP (reference §9): stop everything.
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
            await self._authenticate_pool()

    async def _authenticate_pool(self) -> None:
        """Authenticate with the first MAC of the pool the portal accepts (``pool.py``).
        Caller holds ``_auth_lock``."""
        for identity in self._pool.identities:
            self._use(identity)
            try:
                await self._authenticate()
            except REFUSALS as exc:
                self._pool.refused(identity, exc)
                if len(self._pool) == 1:
                    raise
                log.info("stalker %s: refused (%s), next MAC", identity.masked_mac, exc.code)
                continue
            self._pool.accepted(identity, self._profile.expires_at if self._profile else None)
            return
        raise self._pool.exhausted()

    def _use(self, identity: StalkerIdentity) -> None:
        self._identity = identity
        self._token = None
        self._header_cache = None

    @property
    def mac_states(self) -> list[dict[str, Any]]:
        """What the portal said of each MAC tried (for the store; MACs whole: secrets)."""
        return list(self._pool.states.values())

    async def _check_pool(self) -> None:
        """Probe: ask the portal about every MAC of the pool, then go back to the one in use."""
        current, token, profile = self._identity, self._token, self._profile
        async with self._auth_lock:
            for identity in self._pool.identities:
                if identity.mac in self._pool.states:
                    continue
                self._use(identity)
                try:
                    await self._authenticate()
                    expires = self._profile.expires_at if self._profile else None
                    self._pool.accepted(identity, expires)
                except REFUSALS as exc:
                    self._pool.refused(identity, exc)
            self._use(current)
            self._token, self._profile = token, profile

    async def _reauthenticate(self, stale_token: str | None) -> bool:
        """Renew the session unless another request already did; True when this one did."""
        async with self._auth_lock:
            if self._token != stale_token:
                return False  # another request already renewed the session: just retry
            log.info("stalker %s: session rejected, re-authenticating", self._identity.masked_mac)
            self._token = None
            await self._authenticate()
            return True

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

        async def attempt(slot: Slot) -> FetchResult:
            self._requests += 1
            response = await self._http.get_small(
                _with_query(url, params), headers=headers, timeout=self._settings.request_timeout_s
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
        with contextlib.suppress(ProviderError):
            async with self._budget.slot() as slot:
                self._requests += 1
                response = await self._http.get_small(
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
        # "<show>:<season>:<position>" ids come from seasons listed with a ``series`` list of
        # positions (reseller panels, and stock paths with a series module): the season cmd
        # picks the k-th episode. Stock drill-down ids are "<movie>:<season id>:<episode id>".
        positional = (
            target.cmd is not None
            and len(parts) == 3
            and parts[1] == str(target.season)
            and parts[2] == str(target.episode)
        )
        if positional or await self._detect_family() == "reseller":
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


def _radio_params(page: int) -> dict[str, str]:
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


def _total(payload: parse.PagePayload) -> int | None:
    return payload.total_items if payload.total_items is not None else len(payload.rows) or None


def _int_at(parts: list[str], index: int) -> int | None:
    if index < len(parts):
        return parse.to_int(parts[index])
    return None


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

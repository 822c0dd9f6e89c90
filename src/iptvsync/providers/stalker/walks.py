"""Stalker walks: channels (get_all_channels, else ITV pages), radio, VOD and series
streams, hidden categories, series detail; concurrent within the budget (``paging.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from iptvsync.errors import ProviderBadResponse, ProviderServerError
from iptvsync.providers.base import PageHandler
from iptvsync.providers.stalker import parse
from iptvsync.providers.stalker.filters import CategoryStream
from iptvsync.providers.stalker.paging import (
    Deliver,
    FetchedPage,
    FetchPage,
    Seen,
    StreamOutcome,
    StreamUnavailable,
    seen_key,
    walk_stream,
)
from iptvsync.providers.stalker.session import StalkerSession
from iptvsync.providers.stalker.transport import radio_params
from iptvsync.providers.steps import Steps
from iptvsync.records import (
    CategoryRecord,
    ChannelRecord,
    Kind,
    Page,
    Scope,
    SeasonRecord,
    WalkResult,
)

log = logging.getLogger(__name__)


class StalkerWalks(StalkerSession):
    """``walk`` and ``series_detail``."""

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
        seen = Seen()
        # A walk's own state: the channel and VOD walks of one sync may run at once
        # (``concurrent_scopes``), each with its consumer.
        walk = _Walk()

        async def deliver(page: Page) -> bool:
            # One consumer call at a time, whatever stream of this walk the page belongs to.
            async with walk.deliver_lock:
                if scope is Scope.CHANNELS:
                    for record in page.records:
                        if isinstance(record, ChannelRecord) and record.epg_id:
                            self._channel_keys[record.provider_item_id] = record.epg_id
                return (await on_page(page)) is not False

        if scope is Scope.CHANNELS:
            outcomes = await self._walk_channels(walk, deliver, seen, page_cap)
        else:
            outcomes = await self._walk_vod(walk, deliver, seen, page_cap)
        for stream in walk.hidden_streams:
            stream.finish()  # stray rows dropped from a hidden category: a warning
        result = _merge(outcomes)
        result.warnings.extend(n for n in walk.notes if n not in result.warnings)
        return result

    def _hidden(self, walk: _Walk, module: str, category: str, to_records: Any) -> FetchPage:
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
            warn=walk.notes.append,
        )
        walk.hidden_streams.append(stream)
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

    # -- walks -------------------------------------------------------------------------------

    async def _walk_channels(
        self, walk: _Walk, deliver: Deliver, seen: Seen, page_cap: int | None
    ) -> list[StreamOutcome]:
        genres = parse.parse_categories(
            (await self._category_call("itv", "get_genres")).js, Kind.CHANNEL
        )
        censored = frozenset(g.provider_category_id for g in genres if g.censored)
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

        # Adult genres may be missing from "All" and get_all_channels (docs/stalker.md §5.2, §8).
        def channels_of(rows: list[dict[str, Any]]) -> list[Any]:
            return list(parse.parse_channels(rows, urls, censored_genres=censored))

        for genre in sorted(censored):
            jobs.append((f"itv:genre:{genre}", self._hidden(walk, "itv", genre, channels_of)))
        # The radio module is asked on every portal too; what answers is channels flagged radio.
        jobs.append(("radio", self._radio_fetcher()))
        outcomes = [main] if main is not None else []
        outcomes += await self._run_streams(jobs, deliver, seen, page_cap)
        return outcomes

    def _radio_fetcher(self) -> FetchPage:
        urls = self._require_endpoint().urls

        async def fetch(number: int) -> FetchedPage:
            try:
                payload = await self._page(radio_params(number))
            except ProviderServerError as exc:
                # Failing, not absent: read as empty, every radio channel would look removed.
                raise StreamUnavailable(
                    f"the radio module keeps failing ({exc.message}); its channels are kept"
                ) from exc
            except ProviderBadResponse:  # not the API's answer: no radio module
                payload = parse.PagePayload(rows=[], total_items=None, page_size=None)
            return _fetched(parse.radio_channels(payload.rows, urls), payload)

        return fetch

    async def _all_channels_stream(
        self,
        deliver: Deliver,
        seen: Seen,
        censored: frozenset[str],
        page_cap: int | None,
    ) -> StreamOutcome | None:
        urls = self._require_endpoint().urls

        def decode(body: bytes) -> Steps[list[ChannelRecord]]:
            return parse.channel_stream_steps(body, urls, censored_genres=censored)

        try:
            records = await self._call(
                {"type": "itv", "action": "get_all_channels", "force_ch_link_check": ""},
                whole_list=decode,
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
            keys = [seen_key(r) for r in chunk]
            fresh = [r for r, k in zip(chunk, keys, strict=True) if k not in seen]
            seen.add("itv", keys)
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
        self, walk: _Walk, deliver: Deliver, seen: Seen, page_cap: int | None
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
            censored = frozenset(c.provider_category_id for c in cats[module] if c.censored)

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
            censored = frozenset(c.provider_category_id for c in cats[module] if c.censored)

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
                    name = f"{module}:category:{cat.provider_category_id}"
                    fetch = self._hidden(walk, module, cat.provider_category_id, items_of)
                    jobs.append((name, fetch))
        return await self._run_streams(jobs, deliver, seen, page_cap)

    async def _run_streams(
        self,
        jobs: list[tuple[str, FetchPage]],
        deliver: Deliver,
        seen: Seen,
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


@dataclass(slots=True)
class _Walk:
    """One walk's warnings (hidden categories), hidden-category streams and consumer lock."""

    notes: list[str] = field(default_factory=list)
    hidden_streams: list[CategoryStream] = field(default_factory=list)
    deliver_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _fetched(records: list[Any], payload: parse.PagePayload) -> FetchedPage:
    return FetchedPage(
        records=list(records),
        rows=len(payload.rows),
        total_items=payload.total_items,
        page_size=payload.page_size or (len(payload.rows) if payload.total_items else None),
    )


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

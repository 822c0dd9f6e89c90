"""``probe`` and ``categories``: what the portal holds, by its own totals."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from iptvsync.errors import (
    NotAPortal,
    ProviderBadResponse,
    ProviderError,
)
from iptvsync.providers.budget import Outcome
from iptvsync.providers.http import safe_url
from iptvsync.providers.stalker import parse
from iptvsync.providers.stalker.discovery import parse_version_js
from iptvsync.providers.stalker.identity import mask_mac
from iptvsync.providers.stalker.session import StalkerSession
from iptvsync.providers.stalker.transport import radio_params
from iptvsync.records import (
    CategoryRecord,
    Kind,
    ProbeResult,
)


class StalkerProbe(StalkerSession):
    """Module totals, account state, every MAC's state; category lists."""

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
            radio = await self._page(radio_params(1))
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
            ids = {c.provider_category_id for c in found}
            extra = [
                c for c in parse.parse_categories(vod.js, kind) if c.provider_category_id not in ids
            ]
            return found + [replace(c, position=len(found) + i) for i, c in enumerate(extra)]
        else:  # stock portals keep series in the VOD categories
            env = await self._category_call("vod", "get_categories")
        return parse.parse_categories(env.js, kind)

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


def _total(payload: parse.PagePayload) -> int | None:
    return payload.total_items if payload.total_items is not None else len(payload.rows) or None

"""The Stalker session (docs/stalker.md §4, §9): lazy connect, MAC pool, re-authentication.

discovery → handshake → get_profile (→ do_auth when the profile says status 2). The token
lives in the client and goes out as ``Authorization: Bearer`` with the MAG cookies and
headers on every request. Handshakes are serialised by a lock and a request that finds the
token already renewed just retries: reseller panels rotate the token on every handshake,
so two overlapping handshakes would kill each other's token.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

from iptvsync.errors import (
    NotAPortal,
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderError,
    ProviderServerError,
)
from iptvsync.providers.stalker import parse
from iptvsync.providers.stalker.discovery import discover
from iptvsync.providers.stalker.identity import StalkerIdentity
from iptvsync.providers.stalker.pool import REFUSALS
from iptvsync.providers.stalker.transport import StalkerTransport
from iptvsync.records import Kind

log = logging.getLogger(__name__)


class StalkerSession(StalkerTransport):
    """Connect, authenticate (MAC pool), renew; the family and the series module."""

    async def _ensure_session(self) -> None:
        if self._token is not None or self._tokenless:
            return
        async with self._auth_lock:
            if self._token is not None or self._tokenless:
                return
            if self._endpoint is None and self._learned is not None and await self._resume():
                return
            if self._endpoint is None:
                self._endpoint = self._found = await discover(
                    self._config.url, self._discovery_fetch
                )
                if self._family is None:
                    self._family = self._endpoint.family_hint
            await self._authenticate_pool()

    async def _resume(self) -> bool:
        """A session at the endpoint an earlier one found (``providers.endpoint``): True when
        it started. False when that endpoint no longer answers like a portal (a 404, a page
        that is not the API: the portal moved), and discovery finds it again, one request a
        candidate. Any other failure (a refused MAC, a ban, a timeout, only server errors after
        every retry) is the portal's answer and raised as it is. Caller holds
        ``_auth_lock``."""
        learned, self._learned = self._learned, None
        assert learned is not None
        family = self._family
        self._endpoint = learned
        if self._family is None:
            self._family = learned.family_hint
        try:
            await self._authenticate_pool()
        except ProviderServerError:
            raise  # the portal is failing where it was found: finding it again would not help
        except (NotAPortal, ProviderBadResponse) as exc:
            log.info(
                "stalker: the endpoint found before answers no more (%s); finding it again",
                exc.code,
            )
            self._endpoint, self._family, self._token = None, family, None
            return False
        return True

    @property
    def endpoint_found(self) -> dict[str, Any] | None:
        """The endpoint this client's discovery found and a session started at, for the
        provider to keep (``providers.endpoint``); None when none was found here."""
        if self._found is None or self._endpoint is not self._found:
            return None
        if self._token is None and not self._tokenless:
            return None
        # Token-free as this session found it, not as the probe said: a stock portal answers
        # the token-less probe until a token is bound to the MAC, and a kept "token-free"
        # would later read a refused handshake as a panel that needs none.
        return replace(self._found, token_free=self._tokenless).stored()

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

    async def _detect_family(self) -> str:
        """stock | reseller. Hints from the bodies first; otherwise ask for the reseller-only
        ``type=series`` module."""
        if self._family in ("stock", "reseller"):
            return self._family
        self._family = "reseller" if await self._has_series_module() else "stock"
        return self._family

    async def _has_series_module(self) -> bool:
        """Whether the portal answers ``type=series`` with categories: asked on every
        portal, since no family guess may switch a module off."""
        if self._series_module is None:
            try:
                env = await self._category_call("series", "get_categories")
                self._series_module = bool(parse.parse_categories(env.js, Kind.SERIES))
            except ProviderServerError:
                # The module asked during an outage: walked without it, every series of a
                # panel would look gone. The run fails with the portal's error instead.
                raise
            except ProviderBadResponse:
                self._series_module = False  # an answer not the API's: no such module
        return self._series_module

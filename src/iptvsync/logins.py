"""Checking a user name and password without hurting the server (docs/security.md).

- **scrypt off the event loop, bounded**: every password check runs in one small thread pool
  (``password_hash_workers`` threads; scrypt takes ~16 MiB and ~40 ms of CPU each). At most
  ``password_hash_queue`` checks wait; beyond that a login is answered 429 at once, so a flood
  of wrong passwords costs a bounded amount of memory and never stalls other requests.
- **The same work for every name**: an unknown user name is checked against a dummy hash, so
  the answer time does not say whether a name exists.
- **A short-lived cache of successes** (``login_cache_s``): a player's burst of requests costs
  one scrypt, not one each. The cache key is an HMAC (per-process random key) of the name, the
  password *and the stored hash*, so a changed password or a removed user misses at once; the
  user's access list is read from the database on every request.
- **Throttling**: more than ``login_failures_per_address`` failures from one client address, or
  ``login_failures_per_user`` for one user name, within ``login_window_s`` seconds gets 429 with
  ``Retry-After`` (a cached success still passes, so a user whose name is being attacked keeps
  playing on the devices already logged in). Failures are logged with the name and the
  address, never the password.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from iptvsync.access import Principal
from iptvsync.errors import TooManyRequests
from iptvsync.settings import Settings
from iptvsync.store.users import hash_password, load_user, user_by_name, verify_password

log = logging.getLogger("iptvsync.auth")


def default_hash_workers() -> int:
    """Half the cores (at least 1, at most 4): password checks never take the whole machine."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


class HashPool:
    """A bounded pool for scrypt: ``workers`` threads, at most ``queue`` checks waiting."""

    def __init__(self, workers: int, queue: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="scrypt")
        self._limit = max(1, queue)
        self._pending = 0
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., bool], *args: Any) -> Future[bool]:
        with self._lock:
            if self._pending >= self._limit:
                raise TooManyRequests("too many logins at once; try again", retry_after_s=1)
            self._pending += 1
        try:
            future = self._pool.submit(fn, *args)
        except BaseException:
            self._done(None)
            raise
        future.add_done_callback(self._done)
        return future

    def _done(self, _: object) -> None:
        with self._lock:
            self._pending -= 1

    async def run(self, fn: Callable[..., bool], *args: Any) -> bool:
        return await asyncio.wrap_future(self.submit(fn, *args))

    def run_blocking(self, fn: Callable[..., bool], *args: Any) -> bool:
        return self.submit(fn, *args).result()

    def warm(self, fn: Callable[[], object]) -> None:
        self._pool.submit(fn)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class SuccessCache:
    """Recent successful logins: keys only (an HMAC under a per-process key), never a password."""

    def __init__(self, ttl_s: float, max_entries: int = 4096) -> None:
        self.ttl_s = ttl_s
        self._max = max_entries
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    def key(self, username: str, password: str, stored_hash: str) -> bytes:
        material = "\0".join((username, password, stored_hash)).encode()
        return hmac.new(self._key, material, hashlib.sha256).digest()

    def hit(self, key: bytes) -> bool:
        with self._lock:
            expires = self._entries.get(key)
            if expires is None:
                return False
            if expires < time.monotonic():
                del self._entries[key]
                return False
            return True

    def put(self, key: bytes) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            self._entries[key] = time.monotonic() + self.ttl_s
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class Throttle:
    """Failures per key (``addr:…`` / ``user:…``) in a sliding window; bounded memory."""

    def __init__(self, window_s: float, max_keys: int = 20_000) -> None:
        self.window_s = window_s
        self._max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, key: str, limit: int) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        if limit <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            seen = self._failures.get(key)
            if seen is None:
                return 0.0
            while seen and seen[0] <= now - self.window_s:
                seen.popleft()
            if len(seen) < limit:
                return 0.0
            return seen[-limit] + self.window_s - now

    def failed(self, key: str, limit: int) -> None:
        now = time.monotonic()
        with self._lock:
            seen = self._failures.get(key)
            if seen is None:
                seen = self._failures[key] = deque(maxlen=max(1, limit))
            seen.append(now)
            self._failures.move_to_end(key)
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()


@dataclass(frozen=True, slots=True)
class _Attempt:
    username: str
    address: str
    stored_hash: str
    principal: Principal | None  # who it is when the password is right (None: no such user)
    cache_key: bytes


class Logins:
    """Name-and-password logins for the API (HTTP Basic) and the player outputs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        workers = settings.password_hash_workers or default_hash_workers()
        self.pool = HashPool(workers, settings.password_hash_queue)
        self.cache = SuccessCache(settings.login_cache_s)
        self.throttle = Throttle(settings.login_window_s)
        self.pool.warm(dummy_hash)  # made once, ahead: the first unknown name is not slower

    async def login(
        self, db: sa.Engine, username: str, password: str, address: str
    ) -> Principal | None:
        """The principal, or None for a wrong name or password; raises TooManyRequests."""
        prepared = await asyncio.to_thread(self._prepare, db, username, password, address)
        if not isinstance(prepared, _Attempt):
            return prepared
        ok = await self.pool.run(verify_password, password, prepared.stored_hash)
        return self._finish(prepared, ok)

    def login_blocking(
        self, db: sa.Engine, username: str, password: str, address: str
    ) -> Principal | None:
        """``login`` for code already in a worker thread (sync routes)."""
        prepared = self._prepare(db, username, password, address)
        if not isinstance(prepared, _Attempt):
            return prepared
        ok = self.pool.run_blocking(verify_password, password, prepared.stored_hash)
        return self._finish(prepared, ok)

    def forget(self) -> None:
        """Drop every cached success (after a change made in this process)."""
        self.cache.clear()

    # -- the steps -----------------------------------------------------------------------------

    def _prepare(
        self, db: sa.Engine, username: str, password: str, address: str
    ) -> Principal | _Attempt | None:
        if not username or not password or len(password) > 1024 or len(username) > 256:
            return None
        with db.connect() as conn:
            row = user_by_name(conn, username)
            principal = load_user(conn, row) if row is not None else None
        stored = row.password_hash if row is not None else dummy_hash()
        key = self.cache.key(username, password, stored)
        if principal is not None and self.cache.hit(key):
            return principal
        self._check_throttle(username, address)
        return _Attempt(username, address, stored, principal, key)

    def _check_throttle(self, username: str, address: str) -> None:
        s = self.settings
        wait = max(
            self.throttle.retry_after(f"addr:{address}", s.login_failures_per_address),
            self.throttle.retry_after(f"user:{username}", s.login_failures_per_user),
        )
        if wait > 0:
            raise TooManyRequests(
                "too many failed logins; try again later", retry_after_s=int(wait) + 1
            )

    def _finish(self, attempt: _Attempt, ok: bool) -> Principal | None:
        if ok and attempt.principal is not None:
            self.cache.put(attempt.cache_key)
            return attempt.principal
        s = self.settings
        self.throttle.failed(f"addr:{attempt.address}", s.login_failures_per_address)
        self.throttle.failed(f"user:{attempt.username}", s.login_failures_per_user)
        # The name as typed can be anything: repr() keeps control characters out of the log.
        log.warning("failed login for user %r from %s", attempt.username[:64], attempt.address)
        return None


@functools.cache
def dummy_hash() -> str:
    """What an unknown user's password is checked against: as costly as a real hash."""
    return hash_password(secrets.token_urlsafe(16))

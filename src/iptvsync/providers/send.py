"""``send``: one request with retries, the way every provider client makes it.

Each attempt runs inside a politeness-budget slot (``budget.py``). The caller's ``attempt`` does
the request and judges the answer: it returns a value, raises ``Retry`` for a transient failure
(429, 5xx, a busy page), or raises a ``ProviderError`` that is final. Transport failures from
``http.py`` are recorded on the slot and retried when they say "slow" or "down"
(``ProviderTimeout``, ``ProviderUnreachable``); a hostile answer (too large, a redirect loop, a
private address, a request past its whole deadline) is final at once. Between attempts: back-off
with full jitter, a server's ``Retry-After`` as its floor. ``reauth``: called when an attempt
raises ``ProviderAuthFailed``, with the number of re-authentications this request already did;
returning True retries with the renewed session.

``sending`` is the streamed form: it yields the attempt's value while the slot is held, and
once a value was handed on nothing is retried.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

from iptvsync.errors import (
    ProviderAuthFailed,
    ProviderError,
    ProviderTimeout,
    ProviderUnreachable,
)
from iptvsync.providers.budget import Outcome, PolitenessBudget, Slot
from iptvsync.providers.http import outcome_of

T = TypeVar("T")


class Retry(Exception):
    """A transient failure of one attempt; ``error`` is raised when attempts run out.
    ``attempts`` sets the number of attempts for this kind of failure instead of the policy's
    (a malformed body stays malformed: two tries are enough; a 429 deserves more)."""

    def __init__(
        self,
        error: ProviderError,
        *,
        retry_after: float | None = None,
        attempts: int | None = None,
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after
        self.attempts = attempts


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4  # 1 = no retry


Reauth = Callable[[ProviderAuthFailed, int], Awaitable[bool]]


class _Attempts:
    def __init__(self, budget: PolitenessBudget, policy: RetryPolicy, reauth: Reauth | None):
        self.budget = budget
        self.policy = policy
        self.reauth = reauth
        self.count = 0
        self.reauths = 0

    def judge_transport(self, slot: Slot, error: ProviderError) -> Retry:
        """Record a transport failure; a Retry when it is worth another attempt."""
        if not slot.recorded:
            slot.record(outcome_of(error))
        if isinstance(error, ProviderTimeout) and error.detail.get("deadline"):
            raise error  # the whole request's time ran out: a slow drip stays a slow drip
        if isinstance(error, ProviderTimeout | ProviderUnreachable):
            return Retry(error)
        raise error

    async def after(self, failure: Retry | ProviderAuthFailed) -> None:
        """Wait before the next attempt, or raise when there is none."""
        if isinstance(failure, ProviderAuthFailed):
            if self.reauth is None or not await self.reauth(failure, self.reauths):
                raise failure
            self.reauths += 1
            return
        if failure.retry_after:
            self.budget.pause(failure.retry_after)
        self.count += 1
        limit = failure.attempts or self.policy.attempts
        if self.count >= limit:
            raise failure.error from None
        await self.budget.wait_backoff(self.count - 1, retry_after=failure.retry_after)


async def send(
    budget: PolitenessBudget,
    attempt: Callable[[Slot], Awaitable[T]],
    *,
    policy: RetryPolicy = RetryPolicy(),
    reauth: Reauth | None = None,
) -> T:
    """``attempt(slot)`` until it returns, with retries and back-off (module doc)."""
    state = _Attempts(budget, policy, reauth)
    while True:
        failure: Retry | ProviderAuthFailed
        async with budget.slot() as slot:
            try:
                return await attempt(slot)
            except Retry as retry:
                failure = retry
            except ProviderAuthFailed as exc:
                if not slot.recorded:
                    slot.record(Outcome.NEUTRAL)
                failure = exc
            except ProviderError as exc:
                failure = state.judge_transport(slot, exc)
        await state.after(failure)


@asynccontextmanager
async def sending(
    budget: PolitenessBudget,
    attempt: Callable[[Slot], AbstractAsyncContextManager[T]],
    *,
    policy: RetryPolicy = RetryPolicy(),
    reauth: Reauth | None = None,
) -> AsyncIterator[T]:
    """``send`` for a streamed answer: ``attempt(slot)`` is entered until it yields a value,
    which is handed on with the slot held. Once handed on, failures are the caller's."""
    state = _Attempts(budget, policy, reauth)
    while True:
        failure: Retry | ProviderAuthFailed
        handed_on = False
        async with budget.slot() as slot:
            try:
                async with attempt(slot) as value:
                    handed_on = True
                    yield value
                    return
            except Retry as retry:
                if handed_on:
                    raise retry.error from None
                failure = retry
            except ProviderAuthFailed as exc:
                if handed_on:
                    raise
                if not slot.recorded:
                    slot.record(Outcome.NEUTRAL)
                failure = exc
            except ProviderError as exc:
                if handed_on:
                    raise
                failure = state.judge_transport(slot, exc)
        await state.after(failure)


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (the HTTP-date form is read as "unknown")."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None

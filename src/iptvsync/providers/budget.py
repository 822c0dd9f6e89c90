"""The politeness budget: how many requests a provider sees at once, how fast (docs/sync.md §6).

One ``PolitenessBudget`` per provider, shared by every request to it. It combines:

- an adaptive concurrency limit, judged once per round trip (a window of ``limit`` answers):
  * slow start: from 2 in flight, double while answers come back as fast as ever (leave early,
    HyStart-style, when a quarter of the round trip already shows a clear queue; hold the
    limit through up to two round trips that are a little slower but not clearly queued,
    HyStart++'s guard against a spurious exit);
  * then a delay gradient (TCP Vegas, Netflix's concurrency-limits): by Little's law a portal
    that answers ``load`` requests ``ratio`` times slower than with no queue is really serving
    ``load / ratio`` at a time; the next limit is that capacity plus ``headroom`` (25%) of
    queue. A portal past its knee slows down before it refuses, so the limit settles just
    above the knee instead of sawing between "fine" and 429. The capacity estimate is the best
    of the last 8 round trips (a max filter, as BBR keeps its bottleneck bandwidth);
  * ``ratio`` compares the window's median latency with the lowest window MEDIAN seen lately
    (not the fastest single answer, which on a jittery link is luck); every 10 s the limit dips
    to the capacity for one round trip so that baseline is re-measured without a queue;
  * every 4 round trips it tries 25% more and keeps it only if answers per second rose by
    10% (BBR's bandwidth probe), so jitter cannot freeze the limit below the knee;
  * errors (429, 5xx, the transient "Too many connections" page, timeouts) cut
    multiplicatively (×0.5) at most once per round trip, as AIMD does; latency alone never
    pushes the limit below its starting value;
- an optional requests-per-second ceiling (token bucket);
- exponential back-off with full jitter for retries;
- a circuit breaker: after N consecutive connection failures the host is taken for dead for a
  cool-down, and requests fail fast with ``ProviderUnreachable`` instead of queueing timeouts.

Pure logic around asyncio primitives: the clock, the sleep and the random source are injected,
so tests drive it with a fake clock.

    budget = PolitenessBudget()
    async with budget.slot() as slot:
        response = await http.get(url)
        slot.record(Outcome.OK)          # latency measured from slot acquisition
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from iptvsync.errors import ProviderUnreachable, ValidationFailed
from iptvsync.settings import Settings

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class Outcome(StrEnum):
    """What one request told us about the provider's load."""

    OK = "ok"  # a clean answer: a latency sample
    THROTTLED = "throttled"  # HTTP 429
    SERVER_ERROR = "server_error"  # 5xx, or a 200 "Too many connections" page
    TIMEOUT = "timeout"
    CONNECT_ERROR = "connect_error"  # refused, reset, DNS: the host may be down
    NEUTRAL = "neutral"  # an answer that says nothing about load (auth failure, 404...)


_CUT_OUTCOMES = frozenset({Outcome.THROTTLED, Outcome.SERVER_ERROR, Outcome.TIMEOUT})
#: Fewest answers a decision is made on: one or two samples are mostly jitter.
_MIN_SAMPLES = 4
#: Round trips the capacity estimate is remembered for (its max is used).
_CAPACITY_WINDOWS = 8
#: Probe for more room every this many round trips; keep it if answers/s rose this much.
_PROBE_EVERY = 4
_PROBE_GAIN = 0.10
#: Slow-start windows in a row held for a latency rise that is not clearly a queue, before
#: slow start ends (``_adjust``).
_SLOW_START_DOUBTS = 2


@dataclass(frozen=True, slots=True)
class BudgetConfig:
    """Tuning knobs. The defaults are the product's defaults: no tuning per provider needed."""

    start: float = 2.0
    cap: int = 32
    floor: int = 1
    max_rps: float | None = None
    #: Queue allowed on top of the estimated capacity, as a share of it.
    headroom: float = 0.25
    #: A window whose median latency is within this share of the baseline counts as "fast".
    fast_tolerance: float = 0.15
    #: Multiplicative cut on 429 / 5xx / timeouts.
    cut_factor: float = 0.5
    #: Latencies below this are noise, not queueing: on a local 0-2 ms server the event
    #: loop's own CPU time dominates, and a gradient on it would throttle for nothing.
    latency_floor_s: float = 0.010
    #: The fastest answer of the last ``baseline_horizon_s`` seconds is the baseline.
    baseline_horizon_s: float = 60.0
    #: How often to dip to the estimated capacity for one round trip so the baseline is
    #: re-measured without queueing (otherwise it creeps up, as in TCP Vegas).
    probe_interval_s: float = 10.0
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    breaker_threshold: int = 5
    breaker_cooldown_s: float = 30.0

    @classmethod
    def from_options(cls, options: Mapping[str, Any], app: Settings | None = None) -> BudgetConfig:
        """A provider's politeness options (``max_concurrency``, ``start_concurrency``,
        ``max_rps``) over the app settings, over the defaults (docs/sync.md §6)."""
        base = cls()
        cap = _number(options, "max_concurrency", app.max_concurrency if app else base.cap)
        start = _number(options, "start_concurrency", app.start_concurrency if app else base.start)
        rps = options.get("max_rps") or (app.max_rps if app else None)
        try:
            max_rps = float(rps) if rps else None
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(
                "bad provider option 'max_rps'", detail={"field": "max_rps"}
            ) from exc
        cap = max(1, int(cap))
        return cls(start=max(1.0, min(float(start), cap)), cap=cap, max_rps=max_rps)

    def __post_init__(self) -> None:
        if self.cap < 1 or self.floor < 1 or self.floor > self.cap:
            raise ValueError("budget needs 1 <= floor <= cap")
        if self.max_rps is not None and self.max_rps <= 0:
            raise ValueError("max_rps must be positive")


def _number(options: Mapping[str, Any], name: str, default: float) -> float:
    value = options.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"bad provider option {name!r}", detail={"field": name}) from exc


@dataclass(frozen=True, slots=True)
class BudgetStats:
    limit: int
    peak_limit: int
    in_flight: int
    requests: int
    throttled: int  # 429s seen
    server_errors: int
    timeouts: int
    connect_failures: int
    cuts: int
    circuit_open: bool
    baseline_ms: float | None


class Slot:
    """One admitted request. ``record`` once; latency runs from admission to ``answered``."""

    __slots__ = (
        "_answered",
        "_budget",
        "_epoch",
        "_held",
        "_load",
        "_recorded",
        "started",
        "trial",
    )

    def __init__(
        self, budget: PolitenessBudget, started: float, epoch: int, load: int, trial: bool
    ) -> None:
        self._budget = budget
        self.started = started
        self._epoch = epoch
        self._load = load  # requests in flight when this one was admitted, itself included
        self._recorded = False
        self._answered: float | None = None
        self._held = True  # counts as in flight at the provider
        self.trial = trial  # the one request let through a half-open circuit breaker

    def answered(self) -> bool:
        """The answer is in: its latency stops here, and the request leaves the count in
        flight (what the caller then does with it, such as decoding a 5,000-channel list, is
        not the provider's time; docs/sync.md §6). True when a waiting request got in."""
        if self._answered is None:
            self._answered = self._budget._clock()
        held, self._held = self._held, False
        return held and self._budget._release()

    @property
    def recorded(self) -> bool:
        return self._recorded

    def record(self, outcome: Outcome, latency: float | None = None) -> None:
        if self._recorded:
            return
        self._recorded = True
        if latency is None:
            end = self._answered if self._answered is not None else self._budget._clock()
            latency = max(0.0, end - self.started)
        self._budget._record(outcome, latency, self._epoch, self._load)


class PolitenessBudget:
    """Adaptive concurrency + rate limit + back-off + circuit breaker for one provider."""

    def __init__(
        self,
        config: BudgetConfig | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.config = cfg = config or BudgetConfig()
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._limit = float(min(max(cfg.start, cfg.floor), cfg.cap))
        self._peak = self._limit
        self._in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        # AIMD / gradient state
        self._slow_start = True
        self._doubts = 0  # slow-start windows in a row that were slower, but not clearly queued
        self._epoch = 0  # bumped on every limit change; older samples don't judge the new limit
        self._window: list[tuple[float, int]] = []  # (latency, load) of current-epoch answers
        self._window_peak = 0  # most requests in flight while this window's samples were taken
        self._capacities: deque[float] = deque(maxlen=_CAPACITY_WINDOWS)  # recent estimates
        self._probe: tuple[float, float] | None = None  # (limit, answer rate) before a probe
        self._since_probe = 0
        self._minima: deque[tuple[float, float]] = deque()  # (time, window minimum)
        self._last_probe = clock()
        # token bucket
        self._tokens = 1.0
        self._token_time = clock()
        self._rate_lock = asyncio.Lock()
        #: A server's Retry-After holds every request to it, not only the one it answered.
        self._paused_until = 0.0
        # circuit breaker
        self._consecutive_connect_failures = 0
        self._open_until: float | None = None
        self._half_open_trial = False
        # stats
        self._requests = 0
        self._throttled = 0
        self._server_errors = 0
        self._timeouts = 0
        self._connect_failures = 0
        self._cuts = 0

    # -- public API ---------------------------------------------------------------------------

    @property
    def limit(self) -> int:
        """Requests allowed in flight right now."""
        return max(self.config.floor, int(self._limit))

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def stats(self) -> BudgetStats:
        baseline = self._baseline()
        return BudgetStats(
            limit=self.limit,
            peak_limit=max(self.config.floor, int(self._peak)),
            in_flight=self._in_flight,
            requests=self._requests,
            throttled=self._throttled,
            server_errors=self._server_errors,
            timeouts=self._timeouts,
            connect_failures=self._connect_failures,
            cuts=self._cuts,
            circuit_open=self.circuit_open,
            baseline_ms=None if baseline is None else round(baseline * 1000, 3),
        )

    @property
    def circuit_open(self) -> bool:
        return self._open_until is not None and self._clock() < self._open_until

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[Slot]:
        """Wait for room (concurrency, then rate), yield a ``Slot``; release on exit.

        Raises ProviderUnreachable at once while the circuit breaker is open.
        """
        trial = self._check_circuit()
        try:
            await self._acquire()
        except BaseException:
            if trial:
                self._half_open_trial = False
            raise
        slot: Slot | None = None
        try:
            if not trial and self.circuit_open:  # it opened while we queued
                self._check_circuit()
            await self._wait_pause()
            await self._take_token()
            self._requests += 1
            self._window_peak = max(self._window_peak, self._in_flight)
            slot = Slot(self, self._clock(), self._epoch, self._in_flight, trial)
            yield slot
        finally:
            if trial and (slot is None or not slot.recorded):
                self._half_open_trial = False  # the trial ended without a verdict: allow another
            if slot is None or slot._held:
                self._release()

    def record(self, outcome: Outcome, latency: float) -> None:
        """Report a request's outcome when not using ``Slot.record`` (counts as current)."""
        self._record(outcome, latency, self._epoch, self._in_flight or 1)

    def backoff_delay(self, attempt: int, *, retry_after: float | None = None) -> float:
        """Seconds to wait before retry ``attempt`` (0-based): full jitter,
        ``uniform(0, min(cap, base × 2^attempt))``; a server's Retry-After is a floor."""
        cfg = self.config
        ceiling = min(cfg.backoff_cap_s, cfg.backoff_base_s * (2 ** max(0, attempt)))
        delay = self._rng.uniform(0.0, ceiling)
        if retry_after is not None and retry_after > 0:
            delay = max(delay, min(retry_after, cfg.backoff_cap_s))
        return delay

    def pause(self, seconds: float) -> None:
        """Hold new requests for ``seconds`` (a 429's Retry-After, capped at the back-off cap):
        the provider asked for quiet, so the requests queued behind this one wait too."""
        seconds = min(seconds, self.config.backoff_cap_s)
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def _wait_pause(self) -> None:
        while (left := self._paused_until - self._clock()) > 0:
            await self._sleep(left)

    async def wait_backoff(self, attempt: int, *, retry_after: float | None = None) -> None:
        await self._sleep(self.backoff_delay(attempt, retry_after=retry_after))

    # -- admission ----------------------------------------------------------------------------

    def _check_circuit(self) -> bool:
        """Raise while the breaker is open; True when this request is the half-open trial."""
        if self._open_until is None:
            return False
        if self._clock() < self._open_until:
            raise ProviderUnreachable(
                "the provider failed repeatedly; not retrying until the cool-down ends",
                detail={"retry_in_s": round(self._open_until - self._clock(), 1)},
            )
        # Cool-down over: half-open. One trial request goes through; its outcome decides.
        if self._half_open_trial:
            raise ProviderUnreachable("the provider is being re-tested after failures")
        self._half_open_trial = True
        return True

    async def _acquire(self) -> None:
        if self._in_flight < self.limit and not self._waiters:
            self._in_flight += 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                # We were handed a slot as we got cancelled: pass it on.
                self._in_flight -= 1
                self._wake()
            else:
                self._remove_waiter(fut)
            raise

    def _remove_waiter(self, fut: asyncio.Future[None]) -> None:
        with suppress(ValueError):
            self._waiters.remove(fut)

    def _release(self) -> bool:
        self._in_flight -= 1
        return self._wake()

    def _wake(self) -> bool:
        before = self._in_flight
        while self._waiters and self._in_flight < self.limit:
            fut = self._waiters.popleft()
            if not fut.done():
                self._in_flight += 1
                fut.set_result(None)
        return self._in_flight > before

    async def _take_token(self) -> None:
        rate = self.config.max_rps
        if rate is None:
            return
        async with self._rate_lock:  # FIFO: one waiter computes its delay at a time
            while True:
                now = self._clock()
                self._tokens = min(1.0, self._tokens + (now - self._token_time) * rate)
                self._token_time = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await self._sleep((1.0 - self._tokens) / rate)

    # -- control ------------------------------------------------------------------------------

    def _record(self, outcome: Outcome, latency: float, epoch: int, load: int) -> None:
        cfg = self.config
        if outcome is Outcome.CONNECT_ERROR:
            self._connect_failures += 1
            self._consecutive_connect_failures += 1
            if self._half_open_trial or self._consecutive_connect_failures >= cfg.breaker_threshold:
                self._open_until = self._clock() + cfg.breaker_cooldown_s
            self._half_open_trial = False
            self._cut(epoch)
            return
        # Any answer at all proves the host is alive.
        self._consecutive_connect_failures = 0
        self._open_until = None
        self._half_open_trial = False
        if outcome is Outcome.THROTTLED:
            self._throttled += 1
        elif outcome is Outcome.SERVER_ERROR:
            self._server_errors += 1
        elif outcome is Outcome.TIMEOUT:
            self._timeouts += 1
        if outcome in _CUT_OUTCOMES:
            self._cut(epoch)
            return
        if outcome is not Outcome.OK:
            return
        if epoch != self._epoch:
            return  # admitted under an older limit: says nothing about the current one
        self._window.append((latency, load))
        if len(self._window) >= max(_MIN_SAMPLES, self.limit):
            self._adjust()
        elif (
            self._slow_start
            and len(self._window) >= max(_MIN_SAMPLES, self.limit // 4)
            and self._measure()[0] > 1.0 + 2 * self.config.headroom
        ):
            # HyStart: leave slow start as soon as a quarter of the round trip shows a clear
            # queue, before the rest of a doubled burst piles onto the server.
            self._adjust()

    def _cut(self, epoch: int) -> None:
        # At most one cut per round trip: failures of requests admitted before the last
        # change are echoes of the load that caused it.
        if epoch != self._epoch:
            return
        self._cuts += 1
        self._slow_start = False
        self._capacities.clear()  # a refusal says the remembered capacity was too high
        self._probe = None
        self._since_probe = 0
        self._set_limit(self._limit * self.config.cut_factor)

    def _adjust(self) -> None:
        cfg = self.config
        ratio, load, rate = self._measure(note=True)
        limit = self._limit
        used = self._window_peak >= self.limit
        # Slow start tolerates the queue it is allowed to build anyway (headroom) before it
        # ends: single samples jitter by more than fast_tolerance on a busy machine.
        fast = 1.0 + (cfg.headroom if self._slow_start else cfg.fast_tolerance)
        doubtful = (
            self._slow_start
            and ratio <= 1.0 + 2 * cfg.headroom
            and self._doubts < _SLOW_START_DOUBTS
        )
        if ratio <= fast:
            self._doubts = 0
            # Answers as fast as ever: the server has room. Grow only if we actually used the
            # whole limit (RFC 7661): a caller sending one request at a time proves nothing
            # about 32, and a limit inflated that way would burst at the next walk.
            if not used:
                new = limit
            elif self._slow_start:
                new = limit * 2.0
            else:
                # Below the knee: step past it by a little more than the queue we allow, so
                # a limit cut by jitter recovers in a few round trips; the gradient below
                # brings an overshoot straight back.
                new = max(limit + 1.0, limit * (1.0 + 2 * cfg.headroom) / ratio)
        elif doubtful:
            # A little slower, not clearly queued: a stall of our own (a GC pass, a list
            # decoded, the write process starting) reads the same as a portal near its knee.
            # Hold the limit and judge the next window: slow start goes on if it is fast
            # again, and ends if it stays slow (HyStart++'s spurious-exit guard, RFC 9406;
            # docs/sync.md §6). A clear queue (the early exit above) ends it at once.
            self._doubts += 1
            new = limit
        else:
            self._slow_start = False
            # Little's law: with `load` in flight answering `ratio` times slower than one alone,
            # the server is really serving load / ratio at a time; allow a little queue on top.
            # The best such estimate of the last few round trips is used (a max filter, as BBR
            # keeps its bottleneck bandwidth): one window slowed by our own busy CPU or a GC
            # pause must not throw away a capacity the portal showed a moment ago.
            self._capacities.append(load / ratio)
            capacity = max(self._capacities)
            # Latency alone never pushes below the starting concurrency: a slower answer is not
            # a refusal, and two requests in flight is the polite default anyway (docs/sync.md §6).
            new = max(
                limit * cfg.cut_factor,
                capacity * (1.0 + cfg.headroom),
                min(limit, cfg.start),
            )
        new = self._probe_up(new, limit, rate, used)
        now = self._clock()
        if not self._slow_start and now - self._last_probe >= cfg.probe_interval_s:
            # Dip to the capacity estimate for one round trip so the queue drains and the
            # baseline is measured afresh.
            self._last_probe = now
            self._probe = None
            new = min(new, max(load / ratio, min(limit, cfg.start)))
        self._set_limit(new)

    def _probe_up(self, new: float, limit: float, rate: float, used: bool) -> float:
        """Now and then try 25% more and keep it only if the portal answered more per second.

        On a jittery link no window looks "fast" enough to grow, so the latency rules alone
        would freeze the limit wherever it is (BBR probes its bandwidth for the same reason).
        Past the knee the extra requests only queue, the answer rate stays flat, and the limit
        goes back to what it was.
        """
        probe = self._probe
        self._probe = None
        if probe is not None:
            before_limit, before_rate = probe
            if rate >= before_rate * (1.0 + _PROBE_GAIN):
                self._since_probe = _PROBE_EVERY  # it paid: try again next round trip
                return max(new, limit)
            self._since_probe = 0
            return min(new, before_limit)
        if self._slow_start or not used or new > limit:
            return new  # growing anyway, or nothing to learn
        self._since_probe += 1
        if self._since_probe < _PROBE_EVERY or new < 0.9 * limit or new >= self.config.cap:
            return new
        self._since_probe = 0
        self._probe = (new, rate)
        return max(new + 1.0, new * (1.0 + self.config.headroom))

    def _measure(self, *, note: bool = False) -> tuple[float, float, float]:
        """(latency ratio, mean load, answers per second) of the newest half of the window.

        The ratio is the window's median latency over the baseline (1.0 = no queueing). Only
        the newest half counts: right after a change the first answers come from requests
        admitted while the new limit was still filling up, and they would hide the queue that
        builds behind them. ``note`` feeds this median to the baseline first.
        """
        window = self._window
        # Judge the limit by the answers that ran at (nearly) the limit. Right after a change
        # the first answers come from requests admitted while the pipe was still filling up or
        # draining: they would hide the queue that builds behind them (or the room left).
        full = [sample for sample in window if sample[1] >= 0.75 * self.limit]
        if len(full) >= max(2, len(window) // 2):
            recent = full
        else:  # the caller is not using the limit: the newest half, or all of a small window
            recent = window[len(window) // 2 :] if len(window) >= 2 * _MIN_SAMPLES else window
        ordered = sorted(lat for lat, _ in recent)
        mid = len(ordered) // 2
        p50 = ordered[mid] if len(ordered) % 2 else (ordered[mid] + ordered[mid - 1]) / 2
        if note:
            self._note_baseline(p50)
        floor = self.config.latency_floor_s
        baseline = self._baseline() or p50
        ratio = max(p50, floor) / max(baseline, floor)
        load = sum(n for _, n in recent) / len(recent)
        return ratio, load, load / max(p50, 1e-6)

    def _set_limit(self, value: float) -> None:
        cfg = self.config
        self._limit = min(float(cfg.cap), max(float(cfg.floor), value))
        self._peak = max(self._peak, self._limit)
        self._epoch += 1
        self._window.clear()
        self._window_peak = self._in_flight
        self._wake()

    def _note_baseline(self, latency: float) -> None:
        """The baseline is the lowest window MEDIAN of the horizon, not the fastest single
        answer: on a jittery link the fastest answer is luck, and every median would look
        "queued" next to it, so the limit would never grow. Medians of windows taken before
        any queue formed (slow start, the periodic dips) carry the jitter too and cancel it."""
        now = self._clock()
        horizon = self.config.baseline_horizon_s
        minima = self._minima
        # Keep a monotonic deque: older entries that are not smaller can never be the minimum.
        while minima and minima[-1][1] >= latency:
            minima.pop()
        minima.append((now, latency))
        while len(minima) > 1 and minima[0][0] < now - horizon:
            minima.popleft()

    def _baseline(self) -> float | None:
        return self._minima[0][1] if self._minima else None

"""The sync engine: plan → walk → diff/upsert → sweep → snapshot.

The engine does not know which runner calls it (in-process or Procrastinate): it gets a
``SyncContext`` (database, http client, settings, a cancel signal, a progress sink) and a run id,
and it is the same function in both. Progress, heartbeat and the cancel flag go through the
run's row, so any API replica can watch or cancel a run that any worker executes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa

from iptvsync.errors import (
    IptvsyncError,
    SyncCancelled,
)
from iptvsync.providers.base import ProviderClient, ProviderConfig
from iptvsync.providers.http import ProviderHttp
from iptvsync.providers.masking import mask_secrets
from iptvsync.records import CatalogueRecord, Kind, Page, RecordBatch, Scope, WalkResult
from iptvsync.settings import Settings
from iptvsync.store import catalogue as store
from iptvsync.store import macs, runs
from iptvsync.store.providers import (
    get_provider,
    mark_walked,
    provider_config,
    provider_secrets,
    record_endpoint,
    set_snapshot_version,
    utcnow,
)
from iptvsync.store.run_state import COMPLETED, Phase, RunStatus, move
from iptvsync.sync import categories
from iptvsync.sync.background import OneInFlight, in_db_thread_retrying, run_db_thread
from iptvsync.sync.batch_write import COUNT_KEY, write_items
from iptvsync.sync.diff import record_kind
from iptvsync.sync.guide import refresh_guide
from iptvsync.sync.indexes import LoadIndexes
from iptvsync.sync.write_process import RunWriter

log = logging.getLogger("iptvsync.sync")
T = TypeVar("T")

ClientFactory = Callable[[ProviderConfig, ProviderHttp, Settings], ProviderClient]
FLUSH_EVERY_S = 0.5


@dataclass
class SyncContext:
    db: sa.Engine
    settings: Settings
    http: ProviderHttp
    make_client: ClientFactory
    #: Called after a run that changed the catalogue (builds the snapshot).
    on_changed: Callable[[int], Awaitable[None]] | None = None
    #: Set by the runner to stop the run (the cancel flag on the row works too).
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    #: Receives the public run dict at every flush (CLI progress bars).
    on_progress: Callable[[dict[str, Any]], None] | None = None
    worker: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    #: Warnings the runner already knows (e.g. "resumed: …"), part of the run from its start.
    notes: list[str] = field(default_factory=list)


@dataclass
class RunState:
    """What a running sync knows; flushed to its row twice a second."""

    run_id: int
    provider_id: int
    version: int
    #: Where the bulk writes go: this process, or the write process for a large run.
    writer: RunWriter
    phase: Phase = Phase.PLANNING
    counts: dict[str, dict[str, int]] = field(default_factory=runs.empty_counts)
    warnings: list[str] = field(default_factory=list)
    incomplete: bool = False
    guarded: bool = False
    stream_pages: dict[str, int] = field(default_factory=dict)
    stream_totals: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    done_items: int = 0
    walk_started: float | None = None
    finished_totals: bool = False
    client: ProviderClient | None = None
    #: The guide, stored beside the VOD walk (``_run_plan``).
    guide: asyncio.Task[None] | None = None
    #: Walks in progress (the channel and VOD walks may run at once).
    walks: int = 0
    #: Channels' categories stored before the VOD walk's (``sync/categories.py``).
    category_order: categories.CategoryOrder = field(default_factory=categories.CategoryOrder)
    #: A first load's read indexes, built once its writes are over (``sync/indexes.py``).
    indexes: LoadIndexes = field(init=False)
    #: Kinds with no live item when the run began: every live row of them is this run's,
    #: so the sweep skips its scan there (docs/sync.md, §3).
    empty_at_start: set[Kind] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.indexes = LoadIndexes(self.run_id, self.writer)

    def progress(self) -> dict[str, Any]:
        done_pages = sum(self.stream_pages.values())
        total_pages = sum((t[0] or 0) for t in self.stream_totals.values())
        total_items = sum((t[1] or 0) for t in self.stream_totals.values())
        if self.finished_totals:
            total_pages, total_items = done_pages, self.done_items
        total_pages = max(total_pages, done_pages)
        total_items = max(total_items, self.done_items)
        rate = 0.0
        if self.walk_started is not None:
            elapsed = max(time.monotonic() - self.walk_started, 1e-6)
            rate = self.done_items / elapsed
        eta = (total_items - self.done_items) / rate if rate > 0 else None
        return {
            "done_pages": done_pages,
            "total_pages": total_pages,
            "done_items": self.done_items,
            "total_items": total_items,
            "items_per_s": round(rate, 1),
            "eta_s": round(eta, 1) if eta is not None else None,
        }

    def changed(self) -> bool:
        return any(c["added"] or c["updated"] or c["removed"] for c in self.counts.values())


#: Batches a walk may hand to the writer before it waits for the oldest (``OneInFlight``).
#: With one, any write slower than the next batch's fetch held every stream of the walk: the
#: WAL checkpoint (~40 MB copied, once or twice a large first load) took 3× a batch's write,
#: and the walk fell to 1-6 requests in flight (0.02-0.08 s a run under half its limit; with
#: three, none: docs/benchmarks.md, issue 21). Memory: two batches of 1,000 items more.
WRITES_AHEAD = 3

#: Blocking database work on the run's thread, retried while the database is away
#: (``background.in_db_thread_retrying``, shared with the guide's writes).
_db = in_db_thread_retrying


async def execute_run(ctx: SyncContext, run_id: int) -> dict[str, Any]:
    """Run sync ``run_id`` to its end and return the public run. Never raises for provider
    failures or cancellation: they end up in the run's status."""
    with run_db_thread(f"sync-{run_id}-db"):
        return await _execute(ctx, run_id)


async def _execute(ctx: SyncContext, run_id: int) -> dict[str, Any]:
    db = ctx.db

    def start() -> tuple[Any, Any]:
        with db.begin() as conn:
            run = runs.get_run(conn, run_id)
            provider = get_provider(conn, run.provider_id)
            if run.status != RunStatus.QUEUED:
                return run, provider
            move(
                conn,
                run_id,
                RunStatus.RUNNING,
                # A run resumed after its worker died keeps when it first started.
                started_at=run.started_at or utcnow(),
                heartbeat_at=utcnow(),
                worker=ctx.worker,
            )
            return runs.get_run(conn, run_id), provider

    run, provider = await _db(start)
    if run.status != RunStatus.RUNNING:
        return runs.public_run(run)
    state = RunState(
        run_id,
        provider.id,
        version=provider.snapshot_version + 1,
        writer=RunWriter(db, enabled=ctx.settings.write_process),
    )
    state.indexes.beside_snapshot = ctx.on_changed is not None
    try:
        return await _run(ctx, state, run, provider)
    finally:
        # The child finishes the write it has (nothing is queued past it) and exits.
        await asyncio.shield(asyncio.to_thread(state.writer.close))
        # A failed or cancelled first load still ends with its indexes.
        await asyncio.shield(state.indexes.finish())


async def _run(ctx: SyncContext, state: RunState, run: Any, provider: Any) -> dict[str, Any]:
    state.warnings.extend(ctx.notes)
    try:
        secrets = provider_secrets(provider)
    except IptvsyncError as exc:
        # The provider's secrets cannot be read (the server's secret key changed): the run is
        # already ``running``, so it must be closed here, or it would hold the provider's
        # one-sync-at-a-time lock for good (every later sync a 409).
        unreadable = {"code": exc.code, "message": exc.message}
        return await _db(_finish, ctx, state, RunStatus.FAILED, unreadable)
    if run.cancel_requested:
        ctx.cancel.set()

    work = asyncio.create_task(_run_plan(ctx, state, run, provider))
    ticker = asyncio.create_task(_tick(ctx, state, work))
    status, error = RunStatus.SUCCEEDED, None
    try:
        await work
    except (asyncio.CancelledError, SyncCancelled):
        status = RunStatus.CANCELLED
    except IptvsyncError as exc:  # provider failures included (ProviderError is one)
        status = RunStatus.FAILED
        error = {"code": exc.code, "message": mask_secrets(exc.message, secrets)}
    except Exception as exc:  # a bug must still close the run, not leave it running
        log.exception("sync run %s crashed", state.run_id)
        status = RunStatus.FAILED
        error = {"code": "internal_error", "message": type(exc).__name__}
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
    if ctx.cancel.is_set() and status is RunStatus.SUCCEEDED:
        status = RunStatus.CANCELLED
    if status is RunStatus.SUCCEEDED and state.guarded:
        status = RunStatus.GUARDED
    if status in COMPLETED:
        state.finished_totals = True
    return await _db(_finish, ctx, state, status, error)


def _finish(
    ctx: SyncContext, state: RunState, status: RunStatus, error: dict[str, str] | None
) -> dict[str, Any]:
    with ctx.db.begin() as conn:
        move(
            conn,
            state.run_id,
            status,
            source=RunStatus.RUNNING,
            error=error,
            progress=state.progress(),
            counts=state.counts,
            warnings=state.warnings,
            incomplete=state.incomplete,
            requests=state.client.requests if state.client else 0,
            heartbeat_at=utcnow(),
        )
        public = runs.public_run(runs.get_run(conn, state.run_id))
    if ctx.on_progress:
        ctx.on_progress(public)
    log.info(
        "sync run %s of provider %s: %s (%s requests)",
        state.run_id,
        state.provider_id,
        status,
        public["requests"],
    )
    return public


async def _tick(ctx: SyncContext, state: RunState, work: asyncio.Task[None]) -> None:
    """Flush progress and heartbeat; turn a cancel request (row or event) into task cancel."""
    while not work.done():
        cancel = await _db(_flush, ctx, state)
        if cancel or ctx.cancel.is_set():
            ctx.cancel.set()
            work.cancel()
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(ctx.cancel.wait(), FLUSH_EVERY_S)


def _flush(ctx: SyncContext, state: RunState) -> bool:
    with ctx.db.begin() as conn:
        runs.record_progress(
            conn,
            state.run_id,
            phase=state.phase,
            progress=state.progress(),
            counts=state.counts,
            warnings=state.warnings,
            requests=state.client.requests if state.client else 0,
        )
        cancel = runs.cancel_requested(conn, state.run_id)
        public = runs.public_run(runs.get_run(conn, state.run_id)) if ctx.on_progress else None
    if ctx.on_progress and public is not None:
        ctx.on_progress(public)
    return cancel


async def _run_plan(ctx: SyncContext, state: RunState, run: Any, provider: Any) -> None:
    config = provider_config(provider)
    if config.kind == "stalker":
        # The MAC pool, healthy MACs first; what the portal says of each is written back.
        config.options["mac_pool"] = await _db(_mac_pool, ctx, state)
    client = ctx.make_client(config, ctx.http, ctx.settings)
    state.client = client
    try:
        plan = run.plan or {}
        state.empty_at_start = await _db(_empty_kinds, ctx, state)
        if ctx.settings.defer_first_load_indexes:
            await state.indexes.defer(ctx.db)
        await _walk_scopes(ctx, state, client, provider, plan)
        guide = state.guide
        if guide is not None:
            if not guide.done():
                state.phase = Phase.EPG
            await guide
        # The bulk writes are over: the write process's memory goes before the snapshot's.
        await _end_bulk_writes(state)
        if state.changed() or provider.snapshot_version == 0:
            state.phase = Phase.SNAPSHOT
            await _db(_bump_version, ctx, state)
            # The last write before the snapshot's own: a first load's last indexes are built
            # from here, beside the snapshot (``sync/indexes.py``).
            state.indexes.start_rest()
            if ctx.on_changed is not None:
                await ctx.on_changed(state.provider_id)
        await state.indexes.finish()
    finally:
        await client.aclose()
        tried: list[dict[str, Any]] = list(getattr(client, "mac_states", None) or [])
        if tried:
            await asyncio.shield(_db(_record_macs, ctx, state, tried))
        # Where the portal's API was found: the next session starts there (docs/stalker.md §1).
        found = getattr(client, "endpoint_found", None)
        if found is not None and found != config.endpoint:
            await asyncio.shield(_db(_record_endpoint, ctx, state, found))


async def _walk_scopes(
    ctx: SyncContext, state: RunState, client: ProviderClient, provider: Any, plan: dict[str, Any]
) -> None:
    """The channel walk, then the guide beside what follows; the VOD walk beside both where
    the client allows (``concurrent_scopes``): its start then no longer waits for the
    channels' (~0.3 s of a Stalker sync, docs/benchmarks.md, issue 21), and it starts first
    (``sync/categories.py``: one round trip sooner, categories stored in the same order as
    ever). The guide needs only the channels; it is one long streamed answer whose database
    writes release the interpreter, so it and the VOD walk overlap instead of adding up
    (issue 16).

    The first failure cancels the rest (each walk keeps what it fetched) and is raised as
    it is; so is a cancellation."""

    async def channels() -> None:
        try:
            await _sync_scope(ctx, state, client, Scope.CHANNELS, plan["channels"])
        finally:
            state.category_order.channels_done()  # however it ended: the VOD walk goes on
        state.guide = asyncio.create_task(
            _sync_guide(ctx, state, client, provider, plan["channels"])
        )

    async def vod() -> None:
        await _sync_scope(ctx, state, client, Scope.VOD, plan["vod"])

    walks: list[asyncio.Task[None]] = []
    try:
        if plan.get("channels") and plan.get("vod") and client.concurrent_scopes:
            # The VOD walk first: its category lists take the session's first two requests
            # (sync/categories.py), the channels' categories are still stored first.
            state.category_order.expect_channels()
            walks = [asyncio.create_task(vod()), asyncio.create_task(channels())]
            done, _ = await asyncio.wait(walks, return_when=asyncio.FIRST_EXCEPTION)
            for task in walks:
                if task in done:
                    task.result()  # the first failure, as it is
        else:
            if plan.get("channels"):
                await channels()
            if plan.get("vod"):
                await vod()
    except BaseException:
        pending = [t for t in (*walks, state.guide) if t is not None and not t.done()]
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(BaseException):
                await task
        raise


def _mac_pool(ctx: SyncContext, state: RunState) -> list[dict[str, Any]]:
    with ctx.db.connect() as conn:
        return macs.pool_for_sync(conn, state.provider_id)


def _record_macs(ctx: SyncContext, state: RunState, tried: list[dict[str, Any]]) -> None:
    with ctx.db.begin() as conn:
        macs.record_states(conn, state.provider_id, tried, utcnow())


def _record_endpoint(ctx: SyncContext, state: RunState, found: dict[str, Any]) -> None:
    with ctx.db.begin() as conn:
        record_endpoint(conn, state.provider_id, found)


async def _sync_scope(
    ctx: SyncContext, state: RunState, client: ProviderClient, scope: Scope, mode: str
) -> None:
    state.walks += 1  # before any wait; counted down once its last batch is written
    kinds = [Kind.CHANNEL] if scope is Scope.CHANNELS else [Kind.MOVIE, Kind.SERIES]
    state.phase = Phase.walking(scope, "categories")
    found = await categories.ask(client, kinds)
    # Stored while the walk's first pages are fetched; its first write waits for them.
    cats = categories.store_soon(
        ctx.db, state.provider_id, state.version, scope, found, state.category_order
    )

    incremental_paging = mode == "incremental" and not client.whole_lists
    batch_size = (
        ctx.settings.whole_list_batch_size if client.whole_lists else ctx.settings.batch_size
    )
    write_batch_size = min(batch_size, ctx.settings.write_process_batch_size)
    state.phase = Phase.walking(scope)
    if state.walk_started is None:
        state.walk_started = time.monotonic()
    buffer: dict[Kind, dict[str, CatalogueRecord]] = {k: {} for k in kinds}
    buffered = 0
    # The batches being written while the walk goes on fetching (see ``WRITES_AHEAD``).
    writing: OneInFlight[int] = OneInFlight(ahead=WRITES_AHEAD)

    async def write(batches: dict[Kind, list[CatalogueRecord]]) -> int:
        new, deltas = await _db(
            state.writer.call,
            write_items,
            state.provider_id,
            state.run_id,
            state.version,
            batches,
            await cats.maps(),
        )
        for name, delta in deltas.items():
            for key, value in delta.items():
                state.counts[name][key] += value
        return new

    async def flush(*, wait: bool) -> int:
        """Write the buffer: in the background, or (``wait``) before returning its new count."""
        nonlocal buffered
        batches: dict[Kind, list[CatalogueRecord]] = {
            k: RecordBatch(v.values()) for k, v in buffer.items() if v
        }
        for v in buffer.values():
            v.clear()
        buffered = 0
        if wait or not batches:
            await writing.wait()  # in order, and a failed write stops the walk
            return await write(batches) if batches else 0
        # A whole batch with the walk still going: a large catalogue (docs/sync.md).
        state.writer.expect_more()
        await writing.submit(write(batches))
        return 0

    async def on_page(page: Page) -> bool:
        nonlocal buffered
        if ctx.cancel.is_set():
            raise SyncCancelled("cancelled")
        state.stream_pages[page.stream] = state.stream_pages.get(page.stream, 0) + 1
        if page.total_pages is not None or page.total_items is not None:
            state.stream_totals[page.stream] = (page.total_pages, page.total_items)
            large = not incremental_paging and (page.total_items or 0) > batch_size
            if large and not state.writer.started:
                state.writer.expect_more()  # a large list's first page: no need to fill a batch
        for record in page.records:
            kind = record_kind(record)
            if kind in buffer:
                buffer[kind][record.provider_item_id] = record
        buffered += len(page.records)
        state.done_items += len(page.records)
        if incremental_paging:
            return await flush(wait=True) > 0
        if buffered >= (write_batch_size if state.writer.started else batch_size):
            await flush(wait=False)
        if (first := state.indexes.early(state.stream_totals, state.stream_pages)) is not None:
            await writing.submit(first)  # a large first load near its end (sync/indexes.py)
        return True

    try:
        result: WalkResult = await client.walk(
            scope,
            on_page,
            newest_first=mode == "incremental",
            page_cap=ctx.settings.incremental_page_cap if incremental_paging else None,
        )
    except (asyncio.CancelledError, SyncCancelled):
        # Cancelled: what was fetched is kept too (at most WRITES_AHEAD + 1 batches, written
        # in well under a second).
        cats.abandon()
        await asyncio.shield(flush(wait=True))
        raise
    except Exception:
        # The provider failed: keep what was fetched before it did, then report its error.
        cats.abandon()
        try:
            await asyncio.shield(flush(wait=True))
        except Exception:
            log.exception("writing the pages fetched before a failed walk failed too")
        raise
    await flush(wait=True)
    await cats.maps()  # stored, even where the walk wrote nothing
    state.walks -= 1
    if scope is Scope.VOD and not state.walks and (state.guide is None or state.guide.done()):
        # The run's bulk writes are over (the VOD walk is the last, no other walk is still
        # writing, and no guide is being stored): the write process goes now, before the
        # sweep below reads every row here, so the two processes' memory never adds up with
        # that read's (docs/sync.md).
        await _end_bulk_writes(state)
    state.warnings.extend(w for w in result.warnings if w not in state.warnings)
    if result.stop_reason not in (None, "early_termination", "end") and not result.complete:
        state.incomplete = True
        warning = f"walk of {scope.value} stopped early: {result.stop_reason}"
        if warning not in state.warnings:
            state.warnings.append(warning)
    # Removal follows any walk that reached the end of everything, whatever the plan called
    # it: a Stalker channel refresh is one complete list; an incremental VOD walk that never
    # met a known page saw it all too. A walk that stopped early never removes.
    if result.complete:
        state.phase = Phase.walking(scope, "sweep")
        for kind, swept in await _db(_sweep, ctx, state, kinds, cats.seen):
            if swept.guarded:
                state.guarded = True
                state.warnings.append(
                    f"mass_removal_guard: the provider no longer lists {swept.stale} of "
                    f"{swept.alive} {COUNT_KEY[kind]}; kept them (more than "
                    f"{ctx.settings.guard_ratio:.0%})"
                )
            state.counts[COUNT_KEY[kind]]["removed"] += swept.removed
    await _db(_mark_synced, ctx, state, scope)


def _empty_kinds(ctx: SyncContext, state: RunState) -> set[Kind]:
    with ctx.db.begin() as conn:
        return {Kind(k) for k in store.kinds_without_live_items(conn, state.provider_id)}


async def _end_bulk_writes(state: RunState) -> None:
    """The run's bulk writes are over: a first load's indexes (all of them, or the snapshot's
    three when the rest are built beside it: ``sync/indexes.py``) are built where the writes
    were made, then the write process goes and no other starts."""
    if state.indexes.waiting:
        state.phase = Phase.INDEXES
    await state.indexes.end_writes()


def _sweep(
    ctx: SyncContext, state: RunState, kinds: list[Kind], seen_categories: dict[Kind, set[str]]
) -> list[tuple[Kind, store.SweepResult]]:
    now = utcnow()
    results = []
    with ctx.db.begin() as conn:
        for kind in kinds:
            # Every live row of a kind empty at the start is this run's, so none is unseen:
            # the scan is skipped (a first load's 64k movies: 0.1 s).
            if kind not in state.empty_at_start:
                result = store.sweep_unseen(
                    conn,
                    kind.value,
                    state.provider_id,
                    run_id=state.run_id,
                    version=state.version,
                    now=now,
                    guard_ratio=ctx.settings.guard_ratio,
                    guard_min_items=ctx.settings.guard_min_items,
                )
                results.append((kind, result))
            store.retire_categories(
                conn, state.provider_id, kind.value, seen_categories[kind], now, state.version
            )
    return results


def _mark_synced(ctx: SyncContext, state: RunState, scope: Scope) -> None:
    with ctx.db.begin() as conn:
        mark_walked(conn, state.provider_id, channels=scope is Scope.CHANNELS)


def _bump_version(ctx: SyncContext, state: RunState) -> None:
    with ctx.db.begin() as conn:
        set_snapshot_version(conn, state.provider_id, state.version)


async def _sync_guide(
    ctx: SyncContext, state: RunState, client: ProviderClient, provider: Any, mode: str
) -> None:
    notes = await refresh_guide(
        ctx.db,
        ctx.settings,
        state.writer,
        state.provider_id,
        client,
        provider.last_epg_sync_at,
        mode,
    )
    state.warnings.extend(n for n in notes if n not in state.warnings)
    await state.indexes.guide_written()  # while the walk goes on (sync/indexes.py)

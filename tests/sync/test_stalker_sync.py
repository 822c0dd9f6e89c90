"""The sync engine against a fake Stalker portal of both families (the tests of what it writes
on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
import sqlalchemy as sa

from iptvsync.store import providers as provider_store
from iptvsync.store import runs
from iptvsync.store.models import categories, channels, movies
from iptvsync.sync.runner import InlineRunner
from iptvsync.sync.service import request_cancel, request_sync
from tests.sync.conftest import Harness


def _assert_exact(h: Harness) -> None:
    for kind in ("channel", "movie", "series"):
        assert h.stored_ids(kind) == h.expected_ids(kind), kind


@pytest.mark.both_backends  # the engine's writes
async def test_full_sync_stores_exactly_the_catalogue(harness: Harness) -> None:
    run = await harness.sync()
    assert run["status"] == "succeeded", run
    assert run["plan"] == {"channels": "full", "vod": "full"}
    _assert_exact(harness)
    c = run["counts"]
    assert c["movies"]["added"] == len(harness.catalogue.movies)
    assert c["series"]["added"] == len(harness.catalogue.series)
    assert c["channels"]["added"] == len(harness.catalogue.channels)
    p = run["progress"]
    assert p["done_items"] == p["total_items"] > 0
    assert p["done_pages"] == p["total_pages"] > 0
    assert run["requests"] > 0
    with harness.db.connect() as conn:
        logos = [
            r[0] for r in conn.execute(sa.select(channels.c.logo).where(channels.c.logo != ""))
        ]
        cats = conn.execute(
            sa.select(sa.func.count()).where(categories.c.provider_category_id == "*")
        ).scalar_one()
    assert logos and all(url.startswith("http") for url in logos)
    assert cats == 0, "the portal's All pseudo-category is not stored"


async def test_a_sync_asks_for_each_category_list_once(harness: Harness) -> None:
    run = await harness.sync()
    assert run["status"] == "succeeded", run
    asked = harness.portal.stats_dict()["by_action"]
    lists = {k: v for k, v in asked.items() if k.endswith((".get_genres", ".get_categories"))}
    # The genres twice: once without a token to find the portal's endpoint (discovery), once
    # for the channel categories and the walk's censored genres.
    assert lists.pop("itv.get_genres") == 2
    assert lists.pop("vod.get_categories") == 1
    assert all(count == 1 for count in lists.values()), lists


@pytest.mark.both_backends  # the engine's writes
async def test_ids_are_stable_and_unchanged_rows_are_only_touched(harness: Harness) -> None:
    await harness.sync()
    with harness.db.connect() as conn:
        before = dict(conn.execute(sa.select(movies.c.provider_item_id, movies.c.id)).all())
    run = await harness.sync(scope="all", mode="full")
    assert run["status"] == "succeeded"
    assert run["counts"]["movies"]["unchanged"] == len(harness.catalogue.movies)
    assert run["counts"]["movies"]["updated"] == 0
    with harness.db.connect() as conn:
        after = dict(conn.execute(sa.select(movies.c.provider_item_id, movies.c.id)).all())
    assert before == after


async def test_incremental_adds_exactly_the_new_items_with_few_requests(harness: Harness) -> None:
    full = await harness.sync()
    harness.portal.add("movie", 5)
    harness.portal.add("series", 2)
    run = await harness.sync()
    assert run["plan"]["vod"] == "incremental"
    assert run["status"] == "succeeded", run
    assert run["counts"]["movies"]["added"] == 5
    assert run["counts"]["series"]["added"] == 2
    assert run["counts"]["movies"]["removed"] == 0
    _assert_exact(harness)
    # Over a real socket a few read-ahead pages land before the walk stops: 0.6, not 0.5.
    assert run["requests"] < full["requests"] * 0.6


async def test_unchanged_incremental_uses_a_tiny_share_of_requests(harness: Harness) -> None:
    full = await harness.sync()
    run = await harness.sync()
    assert run["status"] == "succeeded"
    assert sum(c["added"] for c in run["counts"].values()) == 0
    # A fixed overhead (handshake, profile, categories, page 1 of each stream): it does not grow
    # with the catalogue (bench/sync_stalker.py: 0.2% of a full sync at the default size).
    assert run["requests"] <= full["requests"] * 0.35


@pytest.mark.both_backends  # the engine's writes
async def test_full_sync_removes_items_the_portal_dropped(harness: Harness) -> None:
    await harness.sync()
    gone = [m.id for m in harness.catalogue.movies[:3]]
    harness.portal.remove("movie", gone)
    run = await harness.sync(scope="vod", mode="full")
    assert run["status"] == "succeeded"
    assert run["counts"]["movies"]["removed"] == 3
    assert not {str(g) for g in gone} & harness.stored_ids("movie")
    _assert_exact(harness)
    # The soft-deleted rows keep their ids for the day the titles come back.
    with harness.db.connect() as conn:
        deleted = conn.execute(
            sa.select(sa.func.count()).where(movies.c.deleted_at.is_not(None))
        ).scalar_one()
    assert deleted == 3


@pytest.mark.both_backends  # the sweep's statements
async def test_the_sweep_scans_only_kinds_that_held_rows_when_the_run_began(
    harness: Harness,
) -> None:
    scans: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # The sweep's count of live and unseen rows (store.catalogue.sweep_unseen).
        found = re.match(r"\s*SELECT count\(\*\).*?count\(CASE .*?FROM (\w+)", statement, re.S)
        if found and "last_seen_run" in statement:
            scans.append(found.group(1))

    sa.event.listen(harness.db, "before_cursor_execute", seen)
    try:
        first = await harness.sync()
        # A first sync wrote every live row itself: nothing can be unseen, nothing is scanned.
        assert first["status"] == "succeeded"
        assert scans == []
        harness.portal.remove("movie", [harness.catalogue.movies[0].id])
        again = await harness.sync(mode="full")
    finally:
        sa.event.remove(harness.db, "before_cursor_execute", seen)
    assert sorted(scans) == ["channels", "movies", "series"]
    assert again["counts"]["movies"]["removed"] == 1
    _assert_exact(harness)


@pytest.mark.both_backends  # the engine's writes
async def test_guard_keeps_rows_when_the_catalogue_shrinks_massively(harness: Harness) -> None:
    await harness.sync()
    before = harness.stored_ids("movie")
    harness.portal.truncate("movie", 20)
    run = await harness.sync(scope="vod", mode="full")
    assert run["status"] == "guarded", run
    assert run["counts"]["movies"]["removed"] == 0
    assert any("mass_removal_guard" in w for w in run["warnings"])
    assert harness.stored_ids("movie") == before


async def test_incremental_never_removes(harness: Harness) -> None:
    await harness.sync()
    harness.portal.remove("movie", [harness.catalogue.movies[-1].id])
    run = await harness.sync(scope="vod", mode="incremental")
    assert run["counts"]["movies"]["removed"] == 0
    assert len(harness.stored_ids("movie")) == len(harness.catalogue.movies) + 1


async def test_kicked_session_mid_sync_still_completes_exactly(harness: Harness) -> None:
    harness.portal.configure(kick_after=7)
    run = await harness.sync()
    assert run["status"] == "succeeded", run
    _assert_exact(harness)


async def test_429_storm_backs_off_and_completes(harness: Harness) -> None:
    harness.portal.configure(capacity=1, hard_limit=2, latency_ms=2)
    run = await harness.sync()
    assert run["status"] == "succeeded", run
    _assert_exact(harness)


async def test_5xx_errors_are_retried(harness: Harness) -> None:
    harness.portal.configure(error_rate=0.08)
    run = await harness.sync()
    assert run["status"] == "succeeded", run
    _assert_exact(harness)


async def test_repeated_page_one_marks_the_walk_incomplete_and_removes_nothing(
    harness: Harness,
) -> None:
    await harness.sync()
    harness.portal.configure(repeat_page1_after=2)
    run = await harness.sync(scope="vod", mode="full")
    assert run["status"] == "succeeded"
    assert run["incomplete"] is True
    assert run["warnings"]
    assert run["counts"]["movies"]["removed"] == 0
    assert harness.stored_ids("movie") == harness.expected_ids("movie")


async def test_wrong_mac_fails_with_auth_code(harness: Harness) -> None:
    harness.portal.configure(mac_allowed=("00:1A:79:00:00:01",))
    run = await harness.sync()
    assert run["status"] == "failed"
    assert run["error"]["code"] == "provider_auth_failed"
    assert "12:34" not in str(run), "no MAC in a run"


@pytest.mark.both_backends  # the engine's writes
async def test_the_vod_walk_goes_beside_the_channel_walk(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Stalker portal's VOD walk starts without waiting for its channel walk to end
    (``concurrent_scopes``): the portal is asked for VOD while channel requests are still
    unanswered, and the run stores exactly the catalogue."""
    from iptvsync.fakes.stalker import FakeStalkerPortal

    harness.portal.configure(latency_ms=20)
    events: list[tuple[str, str]] = []  # ("asked" | "answered", module), in order
    handle = FakeStalkerPortal.handle

    async def logged(portal: FakeStalkerPortal, request: Any) -> Any:
        module = request.query_params.get("type", "")
        if request.query_params.get("action") in ("get_epg_info", "get_short_epg"):
            module = "guide"  # the guide goes beside the VOD walk anyway
        events.append(("asked", module))
        response = await handle(portal, request)
        events.append(("answered", module))
        return response

    monkeypatch.setattr(FakeStalkerPortal, "handle", logged)
    run = await harness.sync()
    assert run["status"] == "succeeded", run
    _assert_exact(harness)
    first_vod = events.index(("asked", "vod"))
    # Asked, not answered: a walk's cancelled look-ahead page is still answered later.
    channel_asks = (("asked", "itv"), ("asked", "radio"))
    last_channel = max(i for i, e in enumerate(events) if e in channel_asks)
    assert first_vod < last_channel, events


def _log_portal(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, float]]:
    """("asked" | "answered", "module.action", loop time) of every portal request, in order."""
    from iptvsync.fakes.stalker import FakeStalkerPortal

    events: list[tuple[str, str, float]] = []
    handle = FakeStalkerPortal.handle

    async def logged(portal: FakeStalkerPortal, request: Any) -> Any:
        q = request.query_params
        name = f"{q.get('type', '')}.{q.get('action', '')}"
        events.append(("asked", name, asyncio.get_running_loop().time()))
        response = await handle(portal, request)
        events.append(("answered", name, asyncio.get_running_loop().time()))
        return response

    monkeypatch.setattr(FakeStalkerPortal, "handle", logged)
    return events


async def test_the_vod_walks_lists_take_the_sessions_first_requests(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both walks at once: after the handshake and the profile, the VOD walk's two lists take
    the two requests a session starts with, and its first page is asked before the channels'
    list is answered (sync/categories.py): one round trip sooner than when the channels'
    list took one of the two."""
    # The channels' list answers in 150 ms, the rest in 20: between the VOD lists' answers
    # and its first page a busy CI machine (four test workers on two cores) took more than
    # one 20 ms round trip, twice with 30 ms (sessions 23 and 24). A walk that waited for the
    # channels' list would still ask its first page after it, and fail the last assertion.
    harness.portal.configure(latency_ms=20, action_latency_ms={"itv.get_genres": 150.0})
    events = _log_portal(monkeypatch)
    run = await harness.sync()
    assert run["status"] == "succeeded", run
    asked = [name for kind, name, _ in events if kind == "asked"]
    after_profile = asked[asked.index("stb.get_profile") + 1 :]
    assert set(after_profile[:2]) == {"vod.get_categories", "series.get_categories"}, asked
    assert after_profile[2] == "itv.get_genres", asked
    order = [(kind, name) for kind, name, _ in events]
    first_page = order.index(("asked", "vod.get_ordered_list"))
    genres_answered = len(order) - 1 - order[::-1].index(("answered", "itv.get_genres"))
    assert first_page < genres_answered, asked


@pytest.mark.both_backends  # the ids the database hands out
async def test_channel_categories_are_stored_first_whichever_list_comes_last(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The channels' list answered 0.4 s after the VOD walk's lists and first pages: the VOD
    walk went on walking, and the channels' categories still have the lower ids, as in a sync
    where they come first (a first sync numbers its categories the same way every time)."""
    harness.portal.configure(latency_ms=5, action_latency_ms={"itv.get_genres": 400.0})
    events = _log_portal(monkeypatch)
    run = await harness.sync()
    assert run["status"] == "succeeded", run
    _assert_exact(harness)
    genres = [t for k, n, t in events if (k, n) == ("answered", "itv.get_genres")][-1]
    pages_before = [
        t for k, n, t in events if (k, n) == ("answered", "vod.get_ordered_list") and t < genres
    ]
    assert len(pages_before) >= 10, "the VOD walk waited for the channels' categories"
    with harness.db.connect() as conn:
        rows = conn.execute(sa.select(categories.c.kind, categories.c.id)).all()
    channel_ids = [i for kind, i in rows if kind == "channel"]
    vod_ids = [i for kind, i in rows if kind in ("movie", "series")]
    assert channel_ids and vod_ids
    assert max(channel_ids) < min(vod_ids)


async def test_cancel_stops_quickly_and_keeps_what_was_written(harness: Harness) -> None:
    # Slow enough that the walk is still going when the cancel lands (one page at a time).
    harness.portal.configure(latency_ms=300, capacity=1, hard_limit=100)
    runner = InlineRunner(harness.context)
    run_id, _ = await request_sync(harness.db, harness.settings, runner, harness.provider_id)
    for _ in range(200):
        await asyncio.sleep(0.05)
        with harness.db.connect() as conn:
            progress = runs.get_run(conn, run_id).progress
        if progress["done_items"] > 20:
            break
    asked = asyncio.get_running_loop().time()
    assert await request_cancel(harness.db, runner, harness.provider_id) == run_id
    final = await runner.wait(run_id)
    assert final is not None
    assert asyncio.get_running_loop().time() - asked < 2.0
    assert final["status"] == "cancelled"
    stored = len(harness.stored_ids("movie")) + len(harness.stored_ids("channel"))
    assert stored > 0
    with harness.db.connect() as conn:
        deleted = conn.execute(
            sa.select(sa.func.count()).where(movies.c.deleted_at.is_not(None))
        ).scalar_one()
    assert deleted == 0
    # The next run resumes: smart detection plans what is still missing and completes.
    harness.portal.configure(latency_ms=0, capacity=None, hard_limit=None)
    run = await harness.sync()
    assert run["plan"]["vod"] == "full", "no VOD walk finished yet: walk it all again"
    assert run["status"] == "succeeded"
    _assert_exact(harness)


@pytest.mark.both_backends  # the engine's writes
async def test_channel_refresh_removes_channels_the_portal_dropped(harness: Harness) -> None:
    await harness.sync()
    gone = [c.id for c in harness.catalogue.channels[:2]]
    harness.portal.remove("channel", gone)
    run = await harness.sync(scope="channels")
    assert run["plan"]["channels"] == "incremental"
    assert run["counts"]["channels"]["removed"] == 2
    _assert_exact(harness)


def _few_attempts(h: Harness) -> None:
    """Two attempts a request (the default five wait ~6 s for an answer that never comes)."""
    with h.db.begin() as conn:
        provider_store.update_provider(conn, h.provider_id, {"options": {"max_attempts": 2}})


async def test_a_broken_vod_category_list_fails_the_run_with_the_portals_error(
    harness: Harness, family: str
) -> None:
    """A VOD list answers 502 every time, the rest of the portal answers: the run fails with
    the portal's error (after its retries), and the channel walk beside it keeps what it
    stored. Nothing waits forever on categories that never come. A reseller panel's series
    list failing is not taken for a panel without series (walked without them, every series
    would look gone)."""
    module = "vod" if family == "stock" else "series"
    _few_attempts(harness)
    harness.portal.configure(action_status={f"{module}.get_categories": 502})
    run = await asyncio.wait_for(harness.sync(), timeout=60)
    assert run["status"] == "failed", run
    assert run["error"]["code"] == "provider_bad_response", run["error"]
    assert "502" in run["error"]["message"]
    with harness.db.connect() as conn:
        kinds = {r[0] for r in conn.execute(sa.select(categories.c.kind).distinct())}
    assert "channel" in kinds and not kinds & {"movie", "series"}


async def test_a_broken_channel_list_fails_the_run_and_keeps_the_vod_walks_pages(
    harness: Harness, family: str
) -> None:
    """The channels' list answers 502 every time: the run fails with that error. The VOD walk,
    which went first and waits to store its categories after the channels', is not left
    waiting: it stores them and keeps the pages it had fetched when the run stopped."""
    # The endpoint is known (``providers.endpoint``): discovery, which asks the genres too,
    # is not what fails here.
    path = {"stock": "/server/load.php", "reseller": "/portal.php"}[family]
    endpoint = {"url": f"http://portal.test{path}", "token_free": False, "family_hint": None}
    with harness.db.begin() as conn:
        provider_store.record_endpoint(conn, harness.provider_id, endpoint)
    _few_attempts(harness)
    harness.portal.configure(latency_ms=2, action_status={"itv.get_genres": 502})
    run = await asyncio.wait_for(harness.sync(), timeout=60)
    assert run["status"] == "failed", run
    assert "502" in run["error"]["message"]
    with harness.db.connect() as conn:
        kinds = {r[0] for r in conn.execute(sa.select(categories.c.kind).distinct())}
        stored = conn.execute(sa.select(sa.func.count()).select_from(movies)).scalar_one()
    assert kinds & {"movie", "series"} and "channel" not in kinds
    assert stored > 0


@pytest.mark.both_backends  # the sweep's removals
async def test_a_failing_radio_module_keeps_its_channels(harness: Harness) -> None:
    """The radio module (optional: many portals have none) answers 502 every time on the next
    full sync: its stream stops incomplete with a warning, the rest of the run goes on, and
    no radio channel is taken as removed. A portal without the module (an answer that is not
    the API's) is still read as having no radio."""
    harness.portal.configure(radio_module=True)
    first = await harness.sync()
    assert first["status"] == "succeeded", first
    radio = _live_radio(harness)
    assert radio, "the fake serves radio channels"
    _few_attempts(harness)
    harness.portal.configure(action_status={"radio.get_ordered_list": 502})
    again = await harness.sync(mode="full")
    assert any("the radio module keeps failing" in w for w in again["warnings"]), again
    assert again["counts"]["channels"]["removed"] == 0
    assert _live_radio(harness) == radio
    assert again["counts"]["movies"]["unchanged"] == len(harness.catalogue.movies)


def _live_radio(h: Harness) -> set[str]:
    with h.db.connect() as conn:
        rows = conn.execute(
            sa.select(channels.c.provider_item_id).where(
                channels.c.radio.is_(True), channels.c.deleted_at.is_(None)
            )
        )
        return {r[0] for r in rows}

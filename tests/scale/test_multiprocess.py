"""Scale mode for real: 2 ``iptvsync serve`` replicas and 2 ``iptvsync worker`` processes on
loopback, one dedicated PostgreSQL database, 3 providers syncing at once; a cancel issued
through the other replica; one worker killed with -9 mid-sync. Every provider ends with exact
counts, no duplicate rows and a snapshot that agrees with the database."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from iptvsync.fakes.catalogue import Catalogue, generate
from iptvsync.fakes.server import ServerThread
from iptvsync.fakes.stalker import DEFAULT_MAC, StalkerFakeConfig, create_app
from iptvsync.store.models import ITEM_TABLES
from iptvsync.sync.procrastinate_runner import PREFIX
from tests.scale.cluster import Cluster, scratch_database

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

# Big enough that a sync at 20 ms per request lasts several seconds (time to cancel and kill),
# small enough for CI on two cores.
SIZES = {"movies": 2_000, "series": 400, "channels": 120}
KINDS = {"movies": "movie", "series": "series", "channels": "channel"}


def wait(what: str, check: Callable[[], Any], timeout: float, logs: Callable[[], str]) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{logs()}"
        time.sleep(0.1)


@pytest.fixture
def portals() -> Iterator[list[tuple[ServerThread, Catalogue]]]:
    out = []
    try:
        for seed in (1, 2, 3):
            catalogue = generate(seed=seed, **SIZES)
            server = ServerThread(create_app(catalogue, StalkerFakeConfig(latency_ms=40)))
            out.append((server.start(), catalogue))
        yield out
    finally:
        for server, _ in out:
            server.stop()


def test_two_replicas_two_workers_cancel_and_kill(
    tmp_path: Path, portals: list[tuple[ServerThread, Catalogue]]
) -> None:
    with (
        scratch_database() as url,
        Cluster(
            tmp_path,
            url,
            worker_heartbeat_s=1,
            worker_stalled_after_s=4,
            worker_poll_s=1,
            schedule_tick_s=2,
            batch_size=100,
            whole_list_batch_size=100,
        ) as cluster,
    ):
        assert "Procrastinate" in cluster.run("migrate")
        a, b = cluster.serve("serve-a"), cluster.serve("serve-b")
        # Two syncs per worker: three syncs cannot all land on the worker that gets killed.
        workers = [cluster.worker("worker-1", 2), cluster.worker("worker-2", 2)]
        api_a, api_b = httpx.Client(base_url=a.url), httpx.Client(base_url=b.url)

        ids = []
        for i, (server, _) in enumerate(portals):
            r = api_a.post(
                "/api/providers",
                json={
                    "name": f"p{i}",
                    "kind": "stalker",
                    "url": f"{server.url}/c/",
                    "mac": DEFAULT_MAC,
                },
            )
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        run_ids, other_replica = {}, {}
        for i, pid in enumerate(ids):
            api = api_a if i % 2 == 0 else api_b
            other_replica[pid] = api_b if api is api_a else api_a
            r = api.post(f"/api/providers/{pid}/sync")
            assert r.status_code == 202, r.text
            run_ids[pid] = r.json()["run_id"]
        # One sync per provider, whichever replica is asked.
        r = api_b.post(f"/api/providers/{ids[0]}/sync")
        assert r.status_code == 409 and r.json()["error"]["code"] == "sync_running"

        def run(api: httpx.Client, pid: int) -> dict[str, Any]:
            return api.get(f"/api/sync-runs/{run_ids[pid]}").json()  # type: ignore[no-any-return]

        def progressing(pid: int) -> dict[str, Any] | None:
            r = run(api_a, pid)
            return r if r["status"] == "running" and r["progress"]["done_items"] > 100 else None

        wait("all three syncs running", lambda: all(progressing(p) for p in ids), 60, cluster.logs)
        pids = {p: _pid_of(_worker_of(url, run_ids[p])) for p in ids}

        # Kill -9 the worker that runs the first provider's sync, mid-walk.
        to_kill = ids[0]
        victim = next(w for w in workers if w.pid == pids[to_kill])
        victim.kill9()
        killed_at = time.monotonic()
        survivor = next(w for w in workers if w is not victim)
        # Cancel, through the replica that did not start it, a sync that runs on the live
        # worker (Procrastinate's abort reaches it through LISTEN/NOTIFY).
        to_cancel, other = sorted(ids[1:], key=lambda p: pids[p] == victim.pid)
        assert pids[to_cancel] == survivor.pid
        cancel_at = time.monotonic()
        r = other_replica[to_cancel].post(f"/api/providers/{to_cancel}/sync/cancel")
        assert r.status_code == 202, r.text

        cancelled = wait(
            "the cancel",
            lambda: (r := run(api_a, to_cancel))["status"] not in ("queued", "running") and r,
            15,
            cluster.logs,
        )
        assert cancelled["status"] == "cancelled", cancelled
        print(f"cancel took {time.monotonic() - cancel_at:.1f} s")
        assert time.monotonic() - cancel_at < 5

        # The surviving worker retries the dead worker's job: the same run resumes and ends.
        resumed = wait(
            "the killed worker's sync to resume and end",
            lambda: (r := run(api_b, to_kill))["status"] not in ("queued", "running") and r,
            90,
            cluster.logs,
        )
        assert resumed["status"] == "succeeded", resumed
        print(f"kill -9 to resumed run's end: {time.monotonic() - killed_at:.1f} s")
        assert _pid_of(_worker_of(url, run_ids[to_kill])) == survivor.pid  # the same run id
        wait(
            "the resumed run's warning",
            lambda: any(w.startswith("resumed") for w in run(api_b, to_kill)["warnings"]),
            5,
            cluster.logs,
        )
        done = wait(
            "the third sync",
            lambda: (r := run(api_a, other))["status"] not in ("queued", "running") and r,
            90,
            cluster.logs,
        )
        assert done["status"] == "succeeded", done

        # The cancelled provider syncs again, in full (asked through B), and completes.
        r = api_b.post(f"/api/providers/{to_cancel}/sync", json={"scope": "all", "mode": "full"})
        assert r.status_code == 202, r.text
        run_ids[to_cancel] = r.json()["run_id"]
        again = wait(
            "the re-sync",
            lambda: (r := run(api_b, to_cancel))["status"] not in ("queued", "running") and r,
            90,
            cluster.logs,
        )
        assert again["status"] == "succeeded", again

        for pid, (_, catalogue) in zip(ids, portals, strict=True):
            expected = {
                "movies": len(catalogue.movies),
                "series": len(catalogue.series),
                "channels": len(catalogue.channels),
            }
            for api in (api_a, api_b):
                stats = api.get(f"/api/providers/{pid}/sync").json()["stats"]
                assert {k: stats[k] for k in expected} == expected, (pid, stats)
            _assert_no_duplicates(url, pid, expected)
            snapshot = api_b.get(f"/api/providers/{pid}/snapshot")
            assert snapshot.status_code == 200, snapshot.text
            body = snapshot.json()
            assert {k: len(body[k]) for k in expected} == expected, pid
            assert body["version"] == api_a.get(f"/api/providers/{pid}/snapshot").json()["version"]
            assert (tmp_path / "data" / "snapshots" / f"provider-{pid}.json").exists()
        assert all(w.alive() for w in workers if w is not victim)


def _worker_of(url: str, run_id: int) -> str:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            worker = conn.exec_driver_sql(
                f"SELECT worker FROM sync_runs WHERE id = {int(run_id)}"
            ).scalar_one()
    finally:
        engine.dispose()
    assert worker.startswith(PREFIX) and "@" in worker, worker
    return str(worker)


def _pid_of(worker: str) -> int:
    return int(worker.rsplit(":", 1)[1])


def _assert_no_duplicates(url: str, provider_id: int, expected: dict[str, int]) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            for plural, kind in KINDS.items():
                table = ITEM_TABLES[kind]
                total, distinct = conn.execute(
                    sa.select(
                        sa.func.count(), sa.func.count(sa.distinct(table.c.provider_item_id))
                    ).where(table.c.provider_id == provider_id)
                ).one()
                assert total == distinct == expected[plural], (provider_id, kind, total, distinct)
    finally:
        engine.dispose()

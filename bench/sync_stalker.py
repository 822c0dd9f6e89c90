"""Full sync of a Stalker portal against the fake portal in a separate process.

Cases (default catalogue: 64,106 movies + 19,076 series + 5,000 channels):
  latency 0 ms, no capacity limit          → items/s (with the portal's 3-day guide)
  the same without the guide               → the guide's cost (0ms ÷ 0ms-noguide ≤ 1.3)
  latency 20 ms, capacity 4 / capacity 16  → ratio to the protocol floor
  an incremental re-sync of the unchanged catalogue → its share of the full sync's requests
  cli-20ms: the ``iptvsync sync`` CLI on a fresh data dir, 20 ms latency, unlimited capacity
    (the budget's default cap of 32 in flight): wall from process start to exit, snapshot
    included, its peak RSS and CPU, the ratio to the floor (issue 21: ≤ 1.5×); then
    ``cli-20ms-resync``: the same command again on the unchanged catalogue (≤ 1.0 s, ≤ 12
    requests)
  cli-0ms: the same CLI sync at 0 ms: items/s (issue 21: ≥ 15,000) and peak RSS (≤ 150 MB)
  cli-20ms-vod: ``iptvsync sync --vod`` (movies and series) at 20 ms
  harness-20ms: the fake's VOD pages ("All", newest first) read by a bare aiohttp client at
    32 in flight: the harness's own floor on this machine, before any of iptvsync's work

``--guide-prerendered`` has the fake render its 3-day guide when it starts and serve it from
memory: on this two-core machine, the fake rendering 255k programmes during the sync (one
process serving the walk too: 3-7 s of its CPU until session 26, 1.0-1.4 s since) measured
as the guide's cost to the client, which a real portal's machine does not charge it
(docs/benchmarks.md, issues 16 and 21).

``--replay`` puts a lean front (``bench/_replay.py``) before the fake, which then runs at 0 ms:
the front answers every page it has seen from memory after the case's latency, for about a
third of the fake's CPU. Each ``cli-*`` case first runs one sync and its re-sync through it
unmeasured (the recording), then the measured ones; ``harness-20ms`` walks twice. The fake's
~0.45 ms of CPU a page is CPU a real portal spends on its own machine, not on the client's
(docs/benchmarks.md, "The portal's CPU").

``--pin`` puts the fake portal on the last core and the client on the others (where the machine
has two or more), so the portal's CPU is not the client's; ``--pin-portal`` puts the portal on
the last core and leaves the client every core, as its own machine's ("-noguide" CLI cases: the
provider's ``guide: "none"``). One JSON line per case: wall seconds, requests, 429s received,
items/s, peak RSS (MB), the CPU seconds the sync's process and the fake portal's spent during
the sync (for the CLI, ``children_cpu_s``: the write process's share of ``cpu_s``), and the
ratio to the protocol floor (content pages × latency ÷ capacity, or ÷ 32 in flight for the CLI
cases), and ``host_ms``: ``bench/host.py``'s total, run in the case's process just before it.
The adaptive politeness budget runs with its defaults.

    .venv/bin/python bench/sync_stalker.py [--movies N --series N --channels N] [--case NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import host
from bench._replay import ReplayPortal
from bench._rss import running_children

from iptvsync.fakes.server import ServerProcess
from iptvsync.providers.http import build_http_client
from iptvsync.providers.registry import make_client
from iptvsync.settings import Settings
from iptvsync.store import providers as provider_store
from iptvsync.store.db import create_db_engine
from iptvsync.store.migrate import upgrade
from iptvsync.store.models import programmes
from iptvsync.store.open import open_database
from iptvsync.sync.engine import SyncContext, execute_run
from iptvsync.sync.service import prepare_run

CASES: dict[str, dict[str, Any]] = {
    "0ms": {"latency_ms": 0.0, "capacity": None},
    # The same sync without the portal's guide (3 days of it for every guided channel in the
    # others): "0ms" ÷ "0ms-noguide" is what the guide costs.
    "0ms-noguide": {"latency_ms": 0.0, "capacity": None, "guide": False},
    "20ms-cap4": {"latency_ms": 20.0, "capacity": 4},
    "20ms-cap16": {"latency_ms": 20.0, "capacity": 16},
    # The whole CLI process (imports, migrations, walk, guide, snapshot), issue 21's targets.
    "cli-20ms": {"latency_ms": 20.0, "capacity": None, "cli": True, "floor_in_flight": 32},
    "cli-0ms": {"latency_ms": 0.0, "capacity": None, "cli": True},
    "cli-20ms-noguide": {
        "latency_ms": 20.0,
        "capacity": None,
        "cli": True,
        "floor_in_flight": 32,
        "guide": False,
    },
    "cli-0ms-noguide": {"latency_ms": 0.0, "capacity": None, "cli": True, "guide": False},
    # ``iptvsync sync --vod``: movies and series only (issue 21's job beside MacReplayXC's and
    # stalker-to-m3u's walks), 20 ms, 32 in flight.
    "cli-20ms-vod": {
        "latency_ms": 20.0,
        "capacity": None,
        "cli": True,
        "floor_in_flight": 32,
        "sync_args": ["--vod"],
    },
    # A portal across the world: the walk waits on the latency more than on the CPU, so a
    # round's answers are read while the next round is at the portal (docs/sync.md §6).
    "cli-60ms-noguide": {
        "latency_ms": 60.0,
        "capacity": None,
        "cli": True,
        "floor_in_flight": 32,
        "guide": False,
    },
}
# The harness's own floor: the same fake serving the VOD walk's pages (the "All" list) to a
# client that only reads them, 32 in flight: what the portal and the machine allow before
# any of iptvsync's work (issue 21).
CASES["harness-20ms"] = {"latency_ms": 20.0, "capacity": None, "harness": True}
CLI = str(Path(sys.executable).parent / "iptvsync")
MAC = "00:1A:79:12:34:56"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def portal_stats(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{url}/_control/stats")).json()  # type: ignore[no-any-return]


async def reset_stats(url: str) -> None:
    async with httpx.AsyncClient() as http:
        await http.post(f"{url}/_control/reset-stats")


def warm_portal(url: str, args: argparse.Namespace) -> str:
    """``--warm-portal``: the fake renders every VOD and channel row and builds its lists in
    portal order ahead (``/_control/warm``), as a portal with warm caches answers; "cold"
    otherwise, or where the fake has no such route (an older checkout in an A/B run)."""
    if not args.warm_portal:
        return "cold"
    answer = httpx.post(f"{url}/_control/warm", json={"sortby": "added"}, timeout=600)
    return "warm" if answer.status_code == 200 else "cold"


def cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def portal_processes(portal: ServerProcess | ReplayPortal) -> list[psutil.Process]:
    """The portal's processes: the fake's, or with ``--replay`` the front's and the fake's."""
    if isinstance(portal, ReplayPortal):
        return [psutil.Process(pid) for pid in portal.processes()]
    assert portal.proc is not None
    return [psutil.Process(portal.proc.pid)]


def portal_cpu_s(processes: list[psutil.Process]) -> float:
    return sum(cpu_s(p) for p in processes)


def content_pages(stats: dict[str, Any]) -> int:
    """Requests that fetched catalogue pages (what the floor counts)."""
    per_action = stats.get("by_action") or {}
    return sum(v for k, v in per_action.items() if "get_ordered_list" in k or "all_channels" in k)


def _pin(portal: ServerProcess, pin: str | None) -> set[int] | None:
    """``--pin``: the portal on the last core, the client's cores (the rest) returned.
    ``--pin-portal``: the portal on the last core, the client on every core (None), as a
    client whose provider is another machine has its own machine's cores: it shares the last
    one with the portal's (at 0 ms, about a quarter of it)."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if not pin or len(cores) < 2 or portal.proc is None:
        return None
    os.sched_setaffinity(portal.proc.pid, {cores[-1]})
    return set(cores[:-1]) if pin == "both" else None


def _pinning(args: argparse.Namespace) -> str | None:
    return "both" if args.pin else "portal" if args.pin_portal else None


class _TreeRss:
    """Samples the summed RSS of a process and its children until stopped, and each child's
    CPU seconds as last seen (within a sample, 10 ms, of its exit)."""

    def __init__(self, pid: int) -> None:
        self.peak = 0
        self.children_cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._proc = psutil.Process(pid)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            try:
                # Not a child between its fork and its exec: it repeats this one's pages.
                procs = [self._proc, *running_children(self._proc)]
                total = 0
                for p in procs:
                    with contextlib.suppress(psutil.Error):
                        total += p.memory_info().rss
                        if p is not self._proc:
                            used = p.cpu_times()
                            self.children_cpu[p.pid] = used.user + used.system
            except psutil.Error:
                return
            self.peak = max(self.peak, total)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _cli(args: list[str], env: dict[str, str], cores: set[int] | None) -> dict[str, Any]:
    """Run ``iptvsync ARGS`` to its exit: wall from spawn to exit, its own peak RSS and CPU."""

    def pinned() -> None:
        if cores:
            os.sched_setaffinity(0, cores)

    started = time.perf_counter()
    spawned_at = time.time()
    proc = subprocess.Popen(
        [CLI, *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=pinned,
    )
    tree_peak = _TreeRss(proc.pid)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    exited_at = time.time()
    tree_peak.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    error = proc.stderr.read().decode(errors="replace")[-500:] if proc.stderr else ""
    return {
        "exit": proc.returncode,
        "wall_s": round(wall, 2),
        # The whole process tree (a large sync writes in a child process): the peak of the
        # summed RSS, sampled every 10 ms, and never less than the largest process's own peak.
        "peak_rss_mb": round(max(usage.ru_maxrss * 1024, tree_peak.peak) / 2**20, 1),
        "peak_rss_main_mb": round(usage.ru_maxrss / 1024, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        # Of it, the write process's (and any other child's), as last sampled: the rest is the
        # CLI's own process (its event loop, database thread and snapshot threads).
        "children_cpu_s": round(sum(tree_peak.children_cpu.values()), 2),
        "error": error if proc.returncode else None,
        "spawned_at": spawned_at,
        "exited_at": exited_at,
    }


def _fake(args: argparse.Namespace, case: dict[str, Any]) -> ServerProcess | ReplayPortal:
    """The fake portal of a case, in its own process; with ``--replay``, behind the replaying
    front (``bench/_replay.py``), which adds the case's latency to a fake run at 0 ms."""
    replay = getattr(args, "replay", False)
    if replay and case["capacity"]:
        raise SystemExit("--replay has no capacity model: use the fake itself for this case")
    fake = ServerProcess(
        "stalker",
        movies=args.movies,
        series=args.series,
        channels=args.channels,
        family=args.family,
        latency_ms=0.0 if replay else case["latency_ms"],
        capacity=case["capacity"],
        options={"epg_prerendered": args.guide_prerendered},
    )
    return ReplayPortal(fake, case["latency_ms"]) if replay else fake


def record(portal: ServerProcess | ReplayPortal, case: dict[str, Any]) -> None:
    """``--replay``: one sync and its re-sync through the front into a throwaway data dir, so
    that the measured runs ask it nothing it has not answered before."""
    if not isinstance(portal, ReplayPortal):
        return
    with tempfile.TemporaryDirectory() as tmp:
        env = cli_provider(portal.url, tmp, guide=case.get("guide", True))
        sync = [CLI, "sync", "b", *case.get("sync_args", [])]
        for _ in range(2):
            subprocess.run(sync, env=env, capture_output=True, check=True)


def cli_provider(portal_url: str, data_dir: str, *, guide: bool = True) -> dict[str, str]:
    """The environment of a CLI on a fresh data dir holding the fake portal as provider "b"
    (without its guide unless ``guide``): what every CLI benchmark of the portal starts from."""
    # None of the caller's settings, but its choice of the plain or the compiled paths
    # (``IPTVSYNC_COMPILED=0``, iptvsync/speedups.py), so that the two compare in one checkout.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("IPTVSYNC_") or k == "IPTVSYNC_COMPILED"
    }
    env["IPTVSYNC_DATA_DIR"] = data_dir
    add = [CLI, "provider", "add", "stalker", "--url", f"{portal_url}/c/", "--mac", MAC]
    subprocess.run([*add, "--name", "b"], env=env, capture_output=True, check=True)
    if not guide:
        db = open_database(Settings(data_dir=Path(data_dir)))
        with db.begin() as conn:
            provider_store.update_provider(conn, 1, {"options": {"guide": "none"}})
        db.dispose()
    return env


def run_cli_case(name: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """A full ``iptvsync sync`` on a fresh data dir, then the unchanged re-sync."""
    case = CASES[name]
    out: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        _fake(args, case) as portal,
    ):
        cores = _pin(portal, _pinning(args))
        env = cli_provider(portal.url, tmp, guide=case.get("guide", True))
        fake = portal_processes(portal)
        warmth = warm_portal(portal.url, args)
        record(portal, case)
        for label in (name, f"{name}-resync"):
            httpx.post(f"{portal.url}/_control/reset-stats")
            fake_before = portal_cpu_s(fake)
            ran = _cli(["sync", "b", *case.get("sync_args", [])], env, cores)
            stats = httpx.get(f"{portal.url}/_control/stats").json()
            spawned_at, exited_at = ran.pop("spawned_at"), ran.pop("exited_at")
            # The run's three parts: before its first request (imports, the database), the
            # requests, and after the last one (the last writes, the snapshot, the exit).
            phases = (
                {
                    "start_s": round(stats["first_at"] - spawned_at, 2),
                    "requests_s": round(stats["last_at"] - stats["first_at"], 2),
                    "end_s": round(exited_at - stats["last_at"], 2),
                }
                if stats.get("first_at")
                else {}
            )
            db = create_db_engine(f"sqlite:///{tmp}/iptvsync.db")
            with db.connect() as conn:
                last = conn.execute(
                    sa.text("SELECT status, requests, counts FROM sync_runs ORDER BY id DESC")
                ).first()
            db.dispose()
            counts = json.loads(last[2]) if last and isinstance(last[2], str) else {}
            items = sum(c.get("added", 0) for c in counts.values()) if counts else 0
            pages = content_pages(stats)
            # The floor is the full walk's; a re-sync is judged by its wall and requests.
            in_flight = case.get("floor_in_flight") if label == name else None
            floor = pages * case["latency_ms"] / 1000 / in_flight if in_flight else None
            out.append(
                {
                    "bench": "sync_stalker",
                    "case": label,
                    "family": args.family,
                    "pinned": _pinning(args),
                    "guide_prerendered": args.guide_prerendered,
                    "portal": warmth,
                    "replay": isinstance(portal, ReplayPortal),
                    **ran,
                    "status": last[0] if last else None,
                    "items": items,
                    "items_per_s": round(items / ran["wall_s"], 1) if items else None,
                    "requests": last[1] if last else None,
                    "content_pages": pages,
                    "portal_cpu_s": round(portal_cpu_s(fake) - fake_before, 2),
                    **phases,
                    "floor_s": round(floor, 2) if floor else None,
                    "ratio_to_floor": round(ran["wall_s"] / floor, 3) if floor else None,
                }
            )
    return out


async def run_harness_case(name: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The fake's pages read by a bare aiohttp client (no parsing, no database)."""
    import aiohttp

    case = CASES[name]
    in_flight = 32
    with _fake(args, case) as portal:
        _pin(portal, _pinning(args))
        fake = portal_processes(portal)
        warmth = await asyncio.to_thread(warm_portal, portal.url, args)
        path = "/stalker_portal/server/load.php" if args.family == "stock" else "/portal.php"
        endpoint = f"{portal.url}{path}?JsHttpRequest=1-xml&"
        box = {"Cookie": f"mac={MAC}; stb_lang=en; timezone=UTC", "User-Agent": "MAG200"}
        vod = "type=vod&action=get_ordered_list&category=*&genre=*&sortby=added&p="
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:

            async def get(query: str, headers: dict[str, str]) -> bytes:
                async with http.get(endpoint + query, headers=headers) as response:
                    return await response.read()

            hello = await get("type=stb&action=handshake&token=&prehash=0", box)
            headers = {**box, "Authorization": f"Bearer {json.loads(hello)['js']['token']}"}
            await get("type=stb&action=get_profile", headers)
            first = json.loads(await get(vod + "1", headers))["js"]
            pages = -(-int(first["total_items"]) // len(first["data"]))
            gate = asyncio.Semaphore(in_flight)
            latencies: list[float] = []

            async def page(number: int) -> None:
                async with gate:
                    sent = time.perf_counter()
                    await get(vod + str(number), headers)
                    latencies.append(time.perf_counter() - sent)

            if isinstance(portal, ReplayPortal):  # the recording walk, not measured
                await asyncio.gather(*(page(n) for n in range(1, pages + 1)))
                latencies.clear()
            fake_before, client_before = portal_cpu_s(fake), time.process_time()
            started = time.perf_counter()
            await asyncio.gather(*(page(n) for n in range(1, pages + 1)))
            wall = time.perf_counter() - started
        latencies.sort()
        floor = pages * case["latency_ms"] / 1000 / in_flight
        return [
            {
                "bench": "sync_stalker",
                "case": name,
                "family": args.family,
                "pinned": _pinning(args),
                "portal": warmth,
                "replay": isinstance(portal, ReplayPortal),
                "pages": pages,
                "wall_s": round(wall, 2),
                "pages_per_s": round(pages / wall, 1),
                "median_ms": round(latencies[len(latencies) // 2] * 1000, 1),
                "client_cpu_s": round(time.process_time() - client_before, 2),
                "portal_cpu_s": round(portal_cpu_s(fake) - fake_before, 2),
                "floor_s": round(floor, 2),
                "ratio_to_floor": round(wall / floor, 3),
            }
        ]


async def run_case(name: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    case = CASES[name]
    if case.get("harness"):
        return await run_harness_case(name, args)
    if case.get("cli"):
        return await asyncio.to_thread(run_cli_case, name, args)
    if args.replay:
        raise SystemExit(f"--replay is for the cli-* and harness-* cases, not {name}")
    out: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        _fake(args, case) as portal,
    ):
        cores = _pin(portal, _pinning(args))
        if cores:
            os.sched_setaffinity(0, cores)
        settings = Settings(data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/bench.db")
        db = create_db_engine(settings.resolved_database_url())
        upgrade(db)
        with db.begin() as conn:
            provider_id = provider_store.create_provider(
                conn,
                {
                    "name": "bench",
                    "kind": "stalker",
                    "url": f"{portal.url}/c/",
                    "mac": MAC,
                    "options": {} if case.get("guide", True) else {"guide": "none"},
                },
            )
        http = build_http_client(timeout_s=30)
        ctx = SyncContext(db=db, settings=settings, http=http, make_client=make_client)
        try:
            warmth = await asyncio.to_thread(warm_portal, portal.url, args)
            await reset_stats(portal.url)
            run_id, _ = prepare_run(db, settings, provider_id)
            # CPU seconds of this process (the client) and of the fake portal's, during the
            # sync: on two cores the fake's share is CPU the client does not get.
            assert portal.proc is not None
            client, fake = psutil.Process(), psutil.Process(portal.proc.pid)
            cpu_before = cpu_s(client), cpu_s(fake)
            started = time.perf_counter()
            run = await execute_run(ctx, run_id)
            wall = time.perf_counter() - started
            client_cpu, fake_cpu = cpu_s(client) - cpu_before[0], cpu_s(fake) - cpu_before[1]
            stats = await portal_stats(portal.url)
            items = sum(c["added"] for c in run["counts"].values())
            with db.connect() as conn:
                programmes_stored = conn.execute(
                    sa.select(sa.func.count()).select_from(programmes)
                ).scalar_one()
            pages = content_pages(stats)
            floor = (
                pages * case["latency_ms"] / 1000 / case["capacity"] if case["capacity"] else None
            )
            out.append(
                {
                    "bench": "sync_stalker",
                    "case": name,
                    "family": args.family,
                    "pinned": _pinning(args),
                    "guide_prerendered": args.guide_prerendered,
                    "portal": warmth,
                    "status": run["status"],
                    "items": items,
                    "programmes": programmes_stored,
                    "warnings": run["warnings"],
                    "wall_s": round(wall, 2),
                    "requests": run["requests"],
                    "content_pages": pages,
                    "http_429": stats.get("sent_429"),
                    "items_per_s": round(items / wall, 1),
                    "peak_rss_mb": round(peak_rss_mb(), 1),
                    "client_cpu_s": round(client_cpu, 2),
                    "portal_cpu_s": round(fake_cpu, 2),
                    "floor_s": round(floor, 2) if floor else None,
                    "ratio_to_floor": round(wall / floor, 3) if floor else None,
                }
            )
            if name == "0ms":
                run_id, _ = prepare_run(db, settings, provider_id, scope="vod")
                started = time.perf_counter()
                again = await execute_run(ctx, run_id)
                out.append(
                    {
                        "bench": "sync_stalker",
                        "case": "incremental-unchanged",
                        "family": args.family,
                        "status": again["status"],
                        "wall_s": round(time.perf_counter() - started, 3),
                        "requests": again["requests"],
                        "full_requests": run["requests"],
                        "share_of_full": round(again["requests"] / run["requests"], 4),
                    }
                )
        finally:
            await http.aclose()
            db.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--movies", type=int, default=64_106)
    parser.add_argument("--series", type=int, default=19_076)
    parser.add_argument("--channels", type=int, default=5_000)
    parser.add_argument("--family", default="stock")
    parser.add_argument("--case", action="append", choices=sorted(CASES))
    parser.add_argument(
        "--pin", action="store_true", help="portal on its own core, client on the rest"
    )
    parser.add_argument(
        "--pin-portal", action="store_true", help="portal on its own core, client on every core"
    )
    parser.add_argument(
        "--guide-prerendered",
        action="store_true",
        help="the fake renders its guide at start and serves it from memory (its CPU is then"
        " not the client's machine's, as a real portal's is not)",
    )
    parser.add_argument(
        "--warm-portal",
        action="store_true",
        help="the fake renders its rows and sorts its lists before the sync and serves them"
        " from memory, as a portal with warm caches does (docs/benchmarks.md)",
    )
    parser.add_argument(
        "--replay",
        action="store_true",
        help="a lean front answers the pages from memory after the latency, the fake behind it"
        " at 0 ms: the portal's CPU is then a third of the fake's (cli-* and harness-* cases;"
        " bench/_replay.py, docs/benchmarks.md)",
    )
    args = parser.parse_args()
    if not args.case:
        # One process per case, so each peak RSS is that case's own.
        sizes = [f"--movies={args.movies}", f"--series={args.series}"]
        sizes += [f"--channels={args.channels}", f"--family={args.family}"]
        sizes += ["--pin"] if args.pin else ["--pin-portal"] if args.pin_portal else []
        sizes += ["--guide-prerendered"] if args.guide_prerendered else []
        sizes += ["--warm-portal"] if args.warm_portal else []
        sizes += ["--replay"] if args.replay else []
        for name, case in CASES.items():
            measured_by_replay = (case.get("cli") or case.get("harness")) and not case["capacity"]
            if args.replay and not measured_by_replay:
                continue
            subprocess.run([sys.executable, __file__, "--case", name, *sizes], check=False)
        return
    for name in args.case:
        # The host's speed, measured in this process just before the case (nothing else of
        # the case is running yet): a figure is read against its host (docs/benchmarks.md).
        host_ms = host.measure()["total_ms"]
        for line in asyncio.run(run_case(name, args)):
            print(json.dumps({**line, "host_ms": host_ms}), flush=True)


if __name__ == "__main__":
    main()

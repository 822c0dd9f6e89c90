"""Scale mode: N providers synced by 1 and by 2 ``iptvsync worker`` processes on PostgreSQL.

Each case gets a fresh PostgreSQL database, fake Stalker portals in their own processes (each
serving several providers, one MAC per provider; every portal answers after ``--latency-ms``),
and W worker processes with the default concurrency. All N syncs are queued at once through the
same ``ProcrastinateRunner`` the API uses; the clock runs from the first enqueue to the last run
ending. One JSON line per case, then one with the speed-up of 2 workers over 1.

    .venv/bin/python bench/scale.py                       # 10 providers, default catalogue
    .venv/bin/python bench/scale.py --providers 10 --movies 16000 --series 4800 --channels 1250
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.scale.cluster import Cluster, scratch_database

from iptvsync.fakes.server import ServerProcess
from iptvsync.settings import Settings
from iptvsync.store import providers as provider_store
from iptvsync.store import runs
from iptvsync.store.db import create_db_engine
from iptvsync.store.migrate import upgrade
from iptvsync.store.run_state import FINAL
from iptvsync.sync.procrastinate_runner import ProcrastinateRunner
from iptvsync.sync.service import request_sync


def mac(i: int) -> str:
    return f"00:1A:79:00:{i // 256:02X}:{i % 256:02X}"


async def run_case(workers: int, args: argparse.Namespace) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database("iptvsync_bench") as url,
        Cluster(Path(tmp), url, worker_concurrency=args.concurrency) as cluster,
    ):
        portals = [
            ServerProcess(
                "stalker",
                movies=args.movies,
                series=args.series,
                channels=args.channels,
                latency_ms=args.latency_ms,
            ).start(timeout=300)
            for _ in range(args.portals)
        ]
        try:
            settings = Settings(data_dir=Path(tmp) / "data", database_url=url)
            db = create_db_engine(url)
            upgrade(db)
            ids = []
            with db.begin() as conn:
                for i in range(args.providers):
                    portal = portals[i % len(portals)]
                    ids.append(
                        provider_store.create_provider(
                            conn,
                            {
                                "name": f"p{i}",
                                "kind": "stalker",
                                "url": f"{portal.url}/c/",
                                "mac": mac(i),
                            },
                        )
                    )
            procs = [cluster.worker(f"worker-{n}") for n in range(workers)]
            await asyncio.sleep(3)  # let them register
            runner = ProcrastinateRunner(settings, db=db)
            started = time.perf_counter()
            run_ids = [(await request_sync(db, settings, runner, pid))[0] for pid in ids]
            finished: dict[int, Any] = {}
            deadline = time.monotonic() + args.timeout
            while len(finished) < len(run_ids):
                assert time.monotonic() < deadline, cluster.logs()
                assert all(p.alive() for p in procs), cluster.logs()
                await asyncio.sleep(0.25)
                with db.connect() as conn:
                    for run_id in run_ids:
                        if run_id not in finished:
                            row = runs.get_run(conn, run_id)
                            if row.status in FINAL:
                                finished[run_id] = row
            wall = time.perf_counter() - started
            await runner.stop()
            public = [runs.public_run(r) for r in finished.values()]
            with db.connect() as conn:
                stored = {
                    table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                    for table in ("movies", "series", "channels")
                }
            db.dispose()
            items = sum(stored.values())
            return {
                "bench": "scale",
                "workers": workers,
                "concurrency_per_worker": args.concurrency,
                "providers": args.providers,
                "latency_ms": args.latency_ms,
                "catalogue": {
                    "movies": args.movies,
                    "series": args.series,
                    "channels": args.channels,
                },
                "statuses": sorted({p["status"] for p in public}),
                "items_stored": items,
                "requests": sum(p["requests"] for p in public),
                "wall_s": round(wall, 1),
                "items_per_s": round(items / wall),
            }
        finally:
            for portal in portals:
                portal.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--providers", type=int, default=10)
    parser.add_argument("--movies", type=int, default=64_106)
    parser.add_argument("--series", type=int, default=19_076)
    parser.add_argument("--channels", type=int, default=5_000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--portals", type=int, default=2, help="fake portal processes")
    parser.add_argument("--concurrency", type=int, default=4, help="syncs per worker")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    results = {}
    for w in (int(x) for x in args.workers.split(",")):
        results[w] = asyncio.run(run_case(w, args))
        print(json.dumps(results[w]), flush=True)
    if 1 in results and 2 in results:
        speedup = results[1]["wall_s"] / results[2]["wall_s"]
        print(json.dumps({"bench": "scale", "speedup_2_over_1": round(speedup, 2)}), flush=True)


if __name__ == "__main__":
    main()

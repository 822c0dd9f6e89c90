"""Syncs against a hostile provider (fakes/hostile.py), one JSON line per case.

Each case: a first sync of a small fake catalogue (Stalker, Xtream or M3U) succeeds; then the
provider turns hostile in one mode and a second full sync runs. Printed: the run's status and
error code, seconds to its end, the deadline it had (the whole-list deadline of the test
limits in ``fakes/hostile_rig.py``), peak RSS of this process during the run, whether every
stored row is intact (the live ids exactly as after the first sync), and the hits the
"internal service" got (must be 0). Targets: seconds ≤ deadline + 5, peak RSS ≤ 300 MB, rows
intact, 0 hits. The rate-limited case (429 with Retry-After: 1 over ``--rate`` requests/s)
runs ``--rate-runs`` syncs and counts failed ones.

    .venv/bin/python bench/hostile.py [--kind stalker --kind xtream --kind m3u] [--mode NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from iptvsync.fakes.hostile import Mode
from iptvsync.fakes.hostile_rig import LIMITS, SECRET, HostileRig
from iptvsync.settings import Settings
from iptvsync.store.db import create_db_engine
from iptvsync.store.migrate import upgrade

MODES: dict[str, tuple[Mode, ...]] = {
    "stalker": (
        Mode.GZIP_BOMB,
        Mode.ENDLESS_BODY,
        Mode.HUGE_LENGTH,
        Mode.SLOWLORIS,
        Mode.REDIRECT_LOOP,
        Mode.REDIRECT_INTERNAL,
        Mode.RATE_LIMIT,
    ),
    "xtream": (
        Mode.GZIP_BOMB,
        Mode.ENDLESS_BODY,
        Mode.HUGE_LENGTH,
        Mode.ENDLESS_JSON,
        Mode.SLOWLORIS,
        Mode.REDIRECT_LOOP,
        Mode.REDIRECT_INTERNAL,
        Mode.RATE_LIMIT,
    ),
    "m3u": (
        Mode.GZIP_BOMB,
        Mode.ENDLESS_BODY,
        Mode.HUGE_LENGTH,
        Mode.SLOWLORIS,
        Mode.REDIRECT_LOOP,
        Mode.REDIRECT_INTERNAL,
        Mode.TVG_FILE,
        Mode.TVG_FIFO,
        Mode.TVG_INTERNAL,
    ),
}


async def run_case(kind: str, mode: Mode, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="iptvsync-bench-hostile-") as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/bench.db")
        db = create_db_engine(settings.resolved_database_url())
        upgrade(db)
        rig = HostileRig.open(kind, db, settings, Path(tmp))
        try:
            first, _, _ = await rig.sync(baseline=True)
            assert first["status"] == "succeeded", first
            before = rig.catalogue()
            runs = 1
            if mode is Mode.RATE_LIMIT:
                rig.set_mode(mode, rate_per_s=args.rate, retry_after_s=1.0)
                runs = args.rate_runs
            else:
                rig.set_mode(mode)
            failed, seconds, rss, run = 0, 0.0, 0.0, {}
            for _ in range(runs):
                run, took, peak = await rig.sync()
                failed += run["status"] == "failed"
                seconds, rss = max(seconds, took), max(rss, peak)
            text = json.dumps(run, default=str)
            return {
                "bench": "hostile",
                "kind": kind,
                "mode": str(mode),
                "status": run["status"],
                "error": (run.get("error") or {}).get("code"),
                "warnings": [w.split(":")[0] for w in run.get("warnings") or []],
                "runs": runs,
                "failed_runs": failed,
                "seconds": round(seconds, 2),
                "deadline_s": LIMITS["provider_list_deadline_s"],
                "peak_rss_mb": round(rss, 1),
                "rows_intact": rig.catalogue() == before,
                "internal_hits": rig.internal.hits,
                "leaked": SECRET in text,
                "throttled": rig.hostile.stats.throttled,
            }
        finally:
            await rig.close()
            db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", action="append", choices=sorted(MODES))
    parser.add_argument("--mode", action="append", choices=[str(m) for m in Mode])
    parser.add_argument("--rate", type=float, default=2.0)
    parser.add_argument("--rate-runs", type=int, default=3)
    args = parser.parse_args()
    for kind in args.kind or list(MODES):
        for mode in MODES[kind]:
            if args.mode and str(mode) not in args.mode:
                continue
            print(json.dumps(asyncio.run(run_case(kind, mode, args))), flush=True)


if __name__ == "__main__":
    main()

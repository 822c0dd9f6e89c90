"""How full a CLI sync keeps its walk: ``iptvsync sync`` of the fake Stalker portal (20 ms,
warm, without the guide) with the politeness budget sampled every 10 ms
(``bench/_walk_tracer.py``). A wall time on a shared two-core host moves ±20 % between runs;
these figures say where a walk lost time: how long its slow start took to reach the cap, how
many requests were in flight over its first second and over the whole walk, and how long
mid-walk it spent under half its limit (a stall: the walk waiting on something of its own).

One JSON line per run: ``walk_s`` (first to last sample with a request in flight),
``to_cap_s`` (from the first request to the limit reaching 32), ``in_flight_first_s`` and
``in_flight_mean``, ``under_half_s`` (after the cap was reached, before the last 0.2 s).

    PYTHONPATH=<checkout>/src .venv/bin/python bench/walk_trace.py [--vod] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sync_stalker import _fake, cli_provider, warm_portal

TRACER = str(Path(__file__).resolve().parent / "_walk_tracer.py")


def figures(samples: list[list[float]], cap: int = 32) -> dict[str, Any]:
    busy = [s for s in samples if s[1] > 0]
    if not busy:
        return {"error": "no request was sampled in flight"}
    first, last = busy[0][0], busy[-1][0]
    capped = next((t for t, _, limit in busy if limit >= cap), None)
    early = [s for s in busy if s[0] <= first + 1.0]
    under = sum(
        0.01
        for t, flying, limit in samples
        if capped is not None and capped < t < last - 0.2 and flying < limit / 2
    )
    return {
        "walk_s": round(last - first, 2),
        "to_cap_s": round(capped - first, 2) if capped is not None else None,
        "in_flight_first_s": round(sum(s[1] for s in early) / len(early), 1),
        "in_flight_mean": round(sum(s[1] for s in busy) / len(busy), 1),
        "under_half_s": round(under, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--movies", type=int, default=64106)
    ap.add_argument("--series", type=int, default=19076)
    ap.add_argument("--channels", type=int, default=5000)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--vod", action="store_true", help="iptvsync sync --vod")
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    args.family, args.guide_prerendered, args.warm_portal = "stock", False, True
    case = {"latency_ms": args.latency_ms, "capacity": None}
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp, _fake(args, case) as portal:
            env = cli_provider(portal.url, tmp, guide=False)
            env["WALK_TRACE_OUT"] = trace = f"{tmp}/trace.json"
            warm_portal(portal.url, args)
            sync = [sys.executable, TRACER, "sync", "b", *(["--vod"] if args.vod else [])]
            ran = subprocess.run(sync, env=env, capture_output=True, text=True, check=False)
            line: dict[str, Any] = {
                "bench": "walk_trace",
                "case": "vod" if args.vod else "full",
                "exit": ran.returncode,
            }
            if ran.returncode == 0:
                line.update(figures(json.loads(Path(trace).read_text())))
            else:
                line["error"] = ran.stderr[-500:]
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()

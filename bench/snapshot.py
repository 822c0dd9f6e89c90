"""Snapshot build and serving on the default catalogue (83,182 titles + 5,000 channels) and on a
300k-title one. One JSON line per case:

- ``build``: seconds, peak RSS added by the build (sampled every 5 ms), bytes per encoding;
- ``serve``: per encoding, time to first byte and to the last one of ``GET .../snapshot`` from
  the API running under uvicorn in its own process;
- ``not_modified``: latency of ``If-None-Match`` → 304;
- ``essentials``: time to first byte of ``/snapshot/essentials``.

    .venv/bin/python bench/snapshot.py                 # both sizes
    .venv/bin/python bench/snapshot.py --size default  # one
    .venv/bin/python bench/snapshot.py --data-dir /tmp/iptvsync-bench   # reuse seeded DBs
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._seed import ensure_seeded, machine, percentiles, serve_api

from iptvsync.settings import Settings
from iptvsync.snapshot.build import build_snapshot
from iptvsync.store.db import create_db_engine
from iptvsync.store.models import providers


def emit(case: str, **fields: Any) -> None:
    print(json.dumps({"bench": "snapshot", "case": case, **fields}), flush=True)


class PeakRss:
    """Sample this process's RSS in a thread; ``added`` is the peak above the start."""

    def __init__(self, every_s: float = 0.005) -> None:
        self.proc = psutil.Process()
        self.every_s = every_s
        self.start = self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.every_s)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)

    @property
    def added_mb(self) -> float:
        return round((self.peak - self.start) / 2**20, 1)


def build_in_child(url: str, data_dir: str, provider_id: int, rounds: int, out: Any) -> None:
    """Runs in a fresh interpreter: imports done and the engine open before the first build,
    so "added RSS" is what a build adds to a process that serves the API."""
    settings = Settings(data_dir=Path(data_dir), database_url=url)
    db = create_db_engine(url)
    with db.connect() as conn:
        conn.execute(providers.select()).all()
    results = []
    for _ in range(rounds):
        with PeakRss() as rss:
            t0 = time.perf_counter()
            info = build_snapshot(db, settings, provider_id)
            seconds = time.perf_counter() - t0
        assert info is not None
        results.append(
            {
                "seconds": seconds,
                "added_mb": rss.added_mb,
                "rss_before_mb": round(rss.start / 2**20, 1),
                "sizes": info.sizes,
                "stats": info.stats,
                "version": info.version,
            }
        )
    db.dispose()
    out.put(results)


def bench_size(size: str, data_dir: Path, rounds: int) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{(data_dir / f'{size}.db').as_posix()}"
    started = time.perf_counter()
    provider_id = ensure_seeded(url, size)
    emit("seed", size=size, seconds=round(time.perf_counter() - started, 1))
    settings = Settings(data_dir=data_dir / f"{size}-data", database_url=url)
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    child = ctx.Process(
        target=build_in_child, args=(url, str(settings.data_dir), provider_id, rounds, out)
    )
    child.start()
    builds = out.get()
    child.join()
    best = min(builds, key=lambda b: b["seconds"])
    sizes = {k: v for k, v in best["sizes"].items() if k != "essentials"}
    emit(
        "build",
        size=size,
        titles=best["stats"]["movies"] + best["stats"]["series"],
        channels=best["stats"]["channels"],
        version=best["version"],
        seconds=round(best["seconds"], 2),
        seconds_all=[round(b["seconds"], 2) for b in builds],
        rss_before_mb=builds[0]["rss_before_mb"],
        peak_rss_added_mb=max(b["added_mb"] for b in builds),
        bytes=sizes,
        mb={k: round(v / 1e6, 2) for k, v in sizes.items()},
        essentials_bytes=best["sizes"]["essentials"],
    )

    with serve_api(settings.data_dir, url) as base, httpx.Client(base_url=base) as client:
        path = f"/api/providers/{provider_id}/snapshot"
        client.get(path, headers={"Accept-Encoding": "br"}).read()  # warm the page cache
        for encoding in ("br", "zstd", "gzip", "identity"):
            ttfb, total = [], []
            size_on_wire = 0
            for _ in range(5):
                t0 = time.perf_counter()
                with client.stream("GET", path, headers={"Accept-Encoding": encoding}) as r:
                    first = True
                    size_on_wire = 0
                    for chunk in r.iter_raw():
                        if first:
                            ttfb.append(time.perf_counter() - t0)
                            first = False
                        size_on_wire += len(chunk)
                total.append(time.perf_counter() - t0)
                assert r.headers.get("content-encoding", "identity") == encoding
            emit(
                "serve",
                size=size,
                encoding=encoding,
                bytes_on_wire=size_on_wire,
                ttfb_ms=round(min(ttfb) * 1000, 2),
                ttfb_p50_ms=round(sorted(ttfb)[len(ttfb) // 2] * 1000, 2),
                download_ms=round(sorted(total)[len(total) // 2] * 1000, 1),
            )
        etag = client.get(path).headers["etag"]
        samples = []
        for _ in range(300):
            t0 = time.perf_counter()
            r = client.get(path, headers={"If-None-Match": etag, "Accept-Encoding": "br"})
            samples.append(time.perf_counter() - t0)
            assert r.status_code == 304
        emit("not_modified", size=size, requests=len(samples), **percentiles(samples))
        samples = []
        for _ in range(100):
            t0 = time.perf_counter()
            with client.stream("GET", path + "/essentials", headers={"Accept-Encoding": "br"}) as r:
                next(r.iter_raw())
                samples.append(time.perf_counter() - t0)
        emit("essentials", size=size, requests=len(samples), **percentiles(samples))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("default", "large", "both"), default="both")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/iptvsync-bench"))
    parser.add_argument("--rounds", type=int, default=3, help="builds per size (best kept)")
    args = parser.parse_args()
    emit("machine", **machine())
    for size in ("default", "large") if args.size == "both" else (args.size,):
        bench_size(size, args.data_dir, args.rounds)


if __name__ == "__main__":
    main()

"""How fast this host runs the kind of work a sync does: a fixed workload, no I/O.

The machines this project is measured on share one label (2 vCPU "AMD EPYC") but not one
speed: the same code has run 2–3× slower on one host than on another. Run this next to any
other benchmark and compare hosts by its figures before comparing theirs (docs/benchmarks.md).

The workload is deterministic and single-threaded, one part per cost a sync pays per item:
``json`` (orjson: a provider page parsed, a row's hash input dumped), ``hash`` (blake2b of that
blob), ``text`` (regular expressions and string work on an #EXTINF line), ``rows`` (dataclass
records built and turned into dicts) and ``sqlite`` (rows inserted into an in-memory table
with two indexes, in one transaction). Each part runs ``--repeat`` times; the best time
counts (the least disturbed by the host's neighbours). One JSON line, milliseconds.

    .venv/bin/python bench/host.py
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson

N = 20_000
EXTINF = re.compile(r'([\w-]+)="([^"]*)"')


@dataclass(frozen=True, slots=True)
class Row:
    provider_id: str
    name: str
    year: int | None
    rating: float | None
    poster: str


def _items() -> list[dict[str, object]]:
    return [
        {
            "id": str(i),
            "name": f"Movie number {i} ({1950 + i % 70})",
            "rating_imdb": f"{(i % 90) / 10:.1f}",
            "screenshot_uri": f"/stalker_portal/screenshots/{i % 977}/{i}.jpg",
            "added": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d} 12:00:00",
            "category_id": str(i % 40),
        }
        for i in range(N)
    ]


def json_part(items: list[dict[str, object]]) -> None:
    blob = orjson.dumps({"js": {"data": items}})
    for item in orjson.loads(blob)["js"]["data"]:
        orjson.dumps(item, option=orjson.OPT_SORT_KEYS)


def hash_part(items: list[dict[str, object]]) -> None:
    for item in items:
        hashlib.blake2b(orjson.dumps(item), digest_size=16).hexdigest()


def text_part(items: list[dict[str, object]]) -> None:
    for item in items:
        line = (
            f'#EXTINF:-1 tvg-id="{item["id"]}" tvg-name="{item["name"]}" '
            f'tvg-logo="http://x/{item["screenshot_uri"]}" '
            f'group-title="VOD | {item["category_id"]}",{item["name"]}'
        )
        attrs = dict(EXTINF.findall(line))
        title = line.rpartition(",")[2].strip().casefold()
        _ = (attrs["group-title"].split("|")[-1].strip(), title.startswith("movie"))


def rows_part(items: list[dict[str, object]]) -> None:
    for item in items:
        year = str(item["added"])[:4]
        row = Row(
            str(item["id"]),
            str(item["name"]),
            int(year),
            float(str(item["rating_imdb"])),
            str(item["screenshot_uri"]),
        )
        _ = {
            "provider_item_id": row.provider_id,
            "name": row.name,
            "year": row.year,
            "rating": row.rating,
            "poster": row.poster,
        }


def sqlite_part(items: list[dict[str, object]]) -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, key TEXT, name TEXT, added TEXT)")
    db.execute("CREATE UNIQUE INDEX t_key ON t (key)")
    db.execute("CREATE INDEX t_name ON t (name COLLATE NOCASE, id)")
    with db:
        db.executemany(
            "INSERT INTO t (key, name, added) VALUES (?, ?, ?)",
            ((i["id"], i["name"], i["added"]) for i in items),
        )
    db.close()


PARTS: dict[str, Callable[[list[dict[str, object]]], None]] = {
    "json": json_part,
    "hash": hash_part,
    "text": text_part,
    "rows": rows_part,
    "sqlite": sqlite_part,
}


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.machine()


def measure(repeat: int = 5) -> dict[str, object]:
    """The workload's figures: each part's best of ``repeat`` and their total (ms)."""
    items = _items()
    best: dict[str, float] = {}
    for name, part in PARTS.items():
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            part(items)
            times.append(time.perf_counter() - started)
        best[name] = round(min(times) * 1000, 1)
    return {
        "bench": "host",
        "items": N,
        "best_ms": best,
        "total_ms": round(sum(best.values()), 1),
        "cpu": _cpu(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(measure(args.repeat)), flush=True)


if __name__ == "__main__":
    main()

"""Catalogue query and search latency on the default catalogue (83,182 titles + 5,000
channels) and on a 300k-title one. One JSON line per case.

Requests go over HTTP to the API running under uvicorn in its own process (one client, one
request at a time, keep-alive), so a figure is what an app sees on the same host: routing,
auth, the queries and JSON. The query-only figures (``*_db`` cases) call ``store.queries``
directly on one connection.

- ``pages``: a mix of list pages: every kind, every sort, random pages anywhere in the list,
  category pages (targets: p95 <= 20 ms at 300k titles);
- ``search``: ``/api/search`` and ``/movies?q=`` with one or two words from the generator's
  vocabulary, cut to prefixes of 3+ letters (target: p95 <= 50 ms at 300k titles);
- ``search_common``: a word in a quarter of all titles ("the"), the worst case, reported apart.

    .venv/bin/python bench/api.py [--size default|large|both] [--requests 400]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._seed import ensure_seeded, machine, percentiles, serve_api

from iptvsync.fakes import invent as fake
from iptvsync.store import queries, search
from iptvsync.store.db import create_db_engine

SORTS = {
    "movies": ("added", "name", "rating", "year"),
    "series": ("added", "name", "rating", "year"),
    "channels": ("number", "name", "added"),
}
KIND = {"movies": "movie", "series": "series", "channels": "channel"}


def emit(case: str, **fields: Any) -> None:
    print(json.dumps({"bench": "api", "case": case, **fields}), flush=True)


def search_words(rng: random.Random) -> str:
    vocabulary = fake._ADJ + fake._NOUN + fake._PLACE + fake._FIRST + fake._LAST
    words = []
    for _ in range(rng.choice((1, 1, 2))):
        word = rng.choice(vocabulary).split()[0]
        words.append(word[: rng.randint(3, max(3, len(word)))])
    return " ".join(words)


def page_requests(
    rng: random.Random, provider_id: int, totals: dict[str, int], categories: list[dict[str, Any]]
) -> list[tuple[str, dict[str, Any]]]:
    """A mix of list requests: (path, params)."""
    out = []
    for _ in range(2000):
        plural = rng.choice(("movies", "movies", "series", "channels"))
        limit = rng.choice((20, 50, 50, 100))
        params: dict[str, Any] = {"limit": limit, "sort": rng.choice(SORTS[plural])}
        mine = [c for c in categories if c["kind"] == KIND[plural] and c["count"]]
        total = totals[plural]
        if rng.random() < 0.3 and mine:
            category = rng.choice(mine)
            params["category"] = category["id"]
            total = category["count"]
            params["sort"] = SORTS[plural][0]  # category pages in the kind's own order
        pages = max(1, -(-total // limit))
        # Most people look at the first pages; some scroll far.
        params["page"] = (
            rng.randint(1, min(pages, 5)) if rng.random() < 0.6 else rng.randint(1, pages)
        )
        out.append((f"/api/providers/{provider_id}/{plural}", params))
    return out


def timed(client: httpx.Client, requests: list[tuple[str, dict[str, Any]]], n: int) -> list[float]:
    samples = []
    for path, params in requests[:n]:
        t0 = time.perf_counter()
        r = client.get(path, params=params)
        samples.append(time.perf_counter() - t0)
        assert r.status_code == 200, (path, params, r.text[:200])
    return samples


def timed_db(calls: list[Callable[[], Any]]) -> list[float]:
    samples = []
    for call in calls:
        t0 = time.perf_counter()
        call()
        samples.append(time.perf_counter() - t0)
    return samples


def bench_size(size: str, data_dir: Path, n: int) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{(data_dir / f'{size}.db').as_posix()}"
    provider_id = ensure_seeded(url, size)
    rng = random.Random(5)
    db = create_db_engine(url)
    with db.connect() as conn:
        categories = queries.list_categories(conn, provider_id)
        totals = {
            plural: queries.list_items(conn, KIND[plural], provider_id, limit=1)["total"]
            for plural in KIND
        }
    pages = page_requests(rng, provider_id, totals, categories)
    words = [search_words(rng) for _ in range(2 * n)]
    titles = totals["movies"] + totals["series"]

    with db.connect() as conn:
        db_pages = []
        for path, params in pages[:n]:
            kind = KIND[path.rsplit("/", 1)[1]]
            db_pages.append(
                lambda kind=kind, p=params: queries.list_items(conn, kind, provider_id, **p)
            )
        timed_db(db_pages[:50])  # warm the cache
        emit("pages_db", size=size, titles=titles, requests=n, **percentiles(timed_db(db_pages)))
        db_search = [lambda q=q: search.search(conn, q) for q in words[:n]]
        emit("search_db", size=size, titles=titles, requests=n, **percentiles(timed_db(db_search)))
    db.dispose()

    with serve_api(data_dir / f"{size}-data", url) as base, httpx.Client(base_url=base) as client:
        timed(client, pages[n : n + 100], 100)  # warm up
        samples = timed(client, pages, n)
        emit("pages", size=size, titles=titles, requests=n, **percentiles(samples))
        searches = [("/api/search", {"q": q}) for q in words[:n]]
        emit(
            "search",
            size=size,
            titles=titles,
            requests=n,
            **percentiles(timed(client, searches, n)),
        )
        in_list = [(f"/api/providers/{provider_id}/movies", {"q": q}) for q in words[n:]]
        emit(
            "search_movies_list",
            size=size,
            titles=titles,
            requests=n,
            **percentiles(timed(client, in_list, n)),
        )
        common = [("/api/search", {"q": "the"})] * 30
        r = client.get("/api/search", params={"q": "the"}).json()
        emit(
            "search_common",
            size=size,
            titles=titles,
            q="the",
            matches=r["total"],
            requests=len(common),
            **percentiles(timed(client, common, len(common))),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("default", "large", "both"), default="both")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/iptvsync-bench"))
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    emit("machine", **machine())
    for size in ("default", "large") if args.size == "both" else (args.size,):
        bench_size(size, args.data_dir, args.requests)


if __name__ == "__main__":
    main()

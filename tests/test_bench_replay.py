"""bench/_replay.py, the replaying front of ``bench/sync_stalker.py --replay``: a GET answered
200 is asked of the portal once and then answered from memory after the latency; anything else
goes to the portal every time; its stats count what it served, in the fake's shape."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from bench._replay import ReplayPortal
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from iptvsync.fakes.server import ServerThread

LATENCY_MS = 80.0


class _Upstream(ServerThread):
    """A portal that counts what it is asked: the replay's ``fake``."""

    proc = None

    def __init__(self) -> None:
        self.asked: Counter[str] = Counter()

        async def load(request: Request) -> Response:
            self.asked[f"{request.method} {request.url.query}"] += 1
            if request.query_params.get("action") == "missing":
                return Response(b"gone", 404)
            body = await request.body()
            return JSONResponse({"js": {"n": self.asked.total(), "body": body.decode()}})

        async def stats(request: Request) -> Response:
            return JSONResponse({"requests": self.asked.total()})

        async def reset(request: Request) -> Response:
            self.asked.clear()
            return JSONResponse({})

        app = Starlette(
            routes=[
                Route("/load.php", load, methods=["GET", "POST"]),
                Route("/_control/stats", stats),
                Route("/_control/reset-stats", reset, methods=["POST"]),
            ]
        )
        super().__init__(app)


@pytest.fixture
def replay() -> Iterator[tuple[ReplayPortal, _Upstream]]:
    upstream = _Upstream()
    with ReplayPortal(upstream, LATENCY_MS) as front:
        yield front, upstream


def test_a_get_is_asked_once_then_answered_from_memory_after_the_latency(
    replay: tuple[ReplayPortal, _Upstream],
) -> None:
    front, upstream = replay
    with httpx.Client(base_url=front.url) as client:
        first = client.get("/load.php?type=vod&action=get_ordered_list&p=1")
        started = time.perf_counter()
        again = client.get("/load.php?type=vod&action=get_ordered_list&p=1")
        waited = time.perf_counter() - started
        other = client.get("/load.php?type=vod&action=get_ordered_list&p=2")
        stats = client.get("/_control/stats").json()
    assert first.status_code == again.status_code == 200
    assert again.content == first.content and again.json()["js"]["n"] == 1
    assert other.json()["js"]["n"] == 2  # another page: asked of the portal
    assert upstream.asked["GET type=vod&action=get_ordered_list&p=1"] == 1
    assert waited >= LATENCY_MS / 1000
    assert stats["requests"] == 3 and (stats["hits"], stats["misses"]) == (1, 2)
    assert stats["by_action"] == {"vod.get_ordered_list": 3}
    assert stats["first_at"] <= stats["last_at"]
    assert stats["upstream"] == {"requests": 2}


def test_posts_and_failed_answers_go_to_the_portal_every_time(
    replay: tuple[ReplayPortal, _Upstream],
) -> None:
    front, upstream = replay
    with httpx.Client(base_url=front.url) as client:
        posts = [client.post("/load.php?type=stb&action=log", content=b"x=1") for _ in range(2)]
        gone = [client.get("/load.php?type=vod&action=missing") for _ in range(2)]
    assert [p.json()["js"]["body"] for p in posts] == ["x=1", "x=1"]
    assert upstream.asked["POST type=stb&action=log"] == 2
    assert [g.status_code for g in gone] == [404, 404] and gone[1].content == b"gone"
    assert upstream.asked["GET type=vod&action=missing"] == 2


def test_reset_stats_resets_the_front_and_the_portal(
    replay: tuple[ReplayPortal, _Upstream],
) -> None:
    front, upstream = replay
    with httpx.Client(base_url=front.url) as client:
        client.get("/load.php?type=itv&action=get_all_channels")
        assert client.post("/_control/reset-stats").status_code == 200
        stats = client.get("/_control/stats").json()
    assert stats["requests"] == 0 and stats["by_action"] == {} and stats["first_at"] is None
    assert stats["upstream"] == {"requests": 0}
    assert not upstream.asked

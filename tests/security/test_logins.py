"""Password checks under attack (issue points 1 and 2; docs/security.md "Logins").

Against a real ``iptvsync serve`` process: a flood of wrong Basic passwords leaves ``/healthz``
fast and the server's memory flat; an unknown user name costs the same time as a known one;
failed logins are throttled per address and per name with 429 + ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import base64
import multiprocessing
import statistics
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest

from iptvsync.errors import TooManyRequests
from iptvsync.logins import Logins
from iptvsync.settings import Secret, Settings
from iptvsync.store.db import create_db_engine

from .conftest import ADMIN_TOKEN, KNOWN_PASS, KNOWN_USER, ServeProcess


def basic(username: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def _sample_healthz(url: str, stop: threading.Event, out: list[float], rss: list[int], pid: int):
    proc = psutil.Process(pid)
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            started = time.perf_counter()
            assert client.get(url + "/healthz").status_code == 200
            out.append((time.perf_counter() - started) * 1000)
            rss.append(proc.memory_info().rss)
            stop.wait(0.05)


async def _flood(url: str, requests: int, connections: int) -> list[int]:
    statuses: list[int] = []
    todo = iter(range(requests))
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def worker() -> None:
            for i in todo:
                # Half on a play link (an async route: scrypt ran on the event loop there),
                # half on the API (sync dependencies: one scrypt per worker thread).
                path = "/api/providers/1/play/channel/1" if i % 2 else "/api/providers"
                r = await client.get(url + path, headers=basic(KNOWN_USER, f"wrong-password-{i}"))
                statuses.append(r.status_code)

        await asyncio.gather(*(worker() for _ in range(connections)))
    return statuses


def flood_in_child(url: str, requests: int, connections: int) -> list[int]:
    return asyncio.run(_flood(url, requests, connections))


@pytest.mark.slow
@pytest.mark.serial  # healthz latency bounds: parallel neighbours would set them
def test_wrong_password_flood_leaves_the_server_responsive(unthrottled: ServeProcess) -> None:
    assert unthrottled.proc is not None
    pid = unthrottled.proc.pid
    baseline = psutil.Process(pid).memory_info().rss
    latencies: list[float] = []
    rss: list[int] = []
    stop = threading.Event()
    sampler = threading.Thread(
        target=_sample_healthz, args=(unthrottled.url, stop, latencies, rss, pid)
    )
    sampler.start()
    try:
        started = time.monotonic()
        # The flood's client in a process of its own: it would otherwise hold this process's
        # GIL and delay the sampler's own measurement.
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
            statuses = child.submit(flood_in_child, unthrottled.url, 400, 16).result(timeout=240)
        flood_s = time.monotonic() - started
    finally:
        stop.set()
        sampler.join(30)
    assert len(statuses) == 400 and set(statuses) <= {403, 429}, set(statuses)
    # The pool really checked passwords all along (403s), and the queue bound answered the rest.
    assert statuses.count(403) >= 10
    assert len(latencies) >= 10, (flood_s, len(latencies))
    latencies.sort()
    median = statistics.median(latencies)
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    growth_mb = (max(rss) - baseline) / 2**20
    print(
        f"flood {flood_s:.1f}s, {statuses.count(403)} checked, {statuses.count(429)} refused; "
        f"healthz median {median:.1f} ms, p95 {p95:.1f} ms ({len(latencies)} samples); "
        f"rss +{growth_mb:.1f} MB"
    )
    assert median < 50, latencies
    assert p95 < 200, latencies
    assert growth_mb < 100


@pytest.mark.slow
# Alone: beside the parallel run (with --cov, its workers traced) the fastest of 50 still came
# apart, 35 against 49 ms, neighbours on the 2 cores adding time to one side.
@pytest.mark.serial
def test_unknown_and_known_users_take_the_same_time(unthrottled: ServeProcess) -> None:
    known: list[float] = []
    unknown: list[float] = []
    with httpx.Client(timeout=30) as client:
        client.get(unthrottled.url + "/healthz")
        for i in range(50):
            # Interleaved, so a noisy neighbour slows both sides alike.
            for name, out in ((KNOWN_USER, known), (f"nobody-{i}", unknown)):
                started = time.perf_counter()
                r = client.get(
                    unthrottled.url + "/api/providers", headers=basic(name, "wrong-password")
                )
                out.append(time.perf_counter() - started)
                assert r.status_code == 403
    # The fastest of each: a busy host only ever adds time, to one side or the other, and the
    # suite runs this beside the browser tests on 2 cores, where medians (0.19 s against
    # 0.26 s) and even lower quartiles (76 ms against 60 ms) came apart. What is left is the
    # work itself: without the dummy hash an unknown user takes ~1 ms against ~30 ms.
    k, u = min(known), min(unknown)
    print(f"known {k * 1000:.1f} ms, unknown {u * 1000:.1f} ms (fastest of 50)")
    assert abs(k - u) <= 0.2 * max(k, u), (k, u)


@pytest.mark.serial  # a latency bound: parallel neighbours would set it
def test_right_password_is_checked_once_then_cached(unthrottled: ServeProcess) -> None:
    with httpx.Client(timeout=30) as client:
        r = client.get(unthrottled.url + "/api/providers", headers=basic(KNOWN_USER, KNOWN_PASS))
        assert r.status_code == 200
        started = time.perf_counter()
        for _ in range(20):
            r = client.get(
                unthrottled.url + "/api/providers", headers=basic(KNOWN_USER, KNOWN_PASS)
            )
            assert r.status_code == 200
        per_request_ms = (time.perf_counter() - started) * 1000 / 20
    # scrypt alone is ~40 ms here; 20 cached logins cost far less than one each.
    assert per_request_ms < 25, per_request_ms


def test_failed_logins_are_throttled_per_address_and_name(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = {
        "IPTVSYNC_ADMIN_TOKEN": ADMIN_TOKEN,
        "IPTVSYNC_LOGIN_FAILURES_PER_ADDRESS": "5",
        "IPTVSYNC_LOGIN_FAILURES_PER_USER": "1000",
    }
    with ServeProcess(data_dir, env) as server, httpx.Client(timeout=30) as client:
        url = server.url + "/api/providers"
        codes = [client.get(url, headers=basic("nobody", "wrong-password")).status_code]
        codes += [client.get(url, headers=basic("nobody", "wrong-password")).status_code]
        for _ in range(3):
            codes.append(client.get(url, headers=basic(KNOWN_USER, "bad-password")).status_code)
        assert codes == [403] * 5
        refused = client.get(url, headers=basic(KNOWN_USER, KNOWN_PASS))
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "too_many_requests"
        assert 1 <= int(refused.headers["Retry-After"]) <= 301
        # The player outputs share the throttle.
        xt = client.get(
            server.url + "/player_api.php", params={"username": KNOWN_USER, "password": "x" * 9}
        )
        assert xt.status_code == 429


def test_throttle_per_name_and_logging_without_password(
    tmp_path: Path, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        data_dir=data_dir,
        admin_token=Secret(ADMIN_TOKEN),
        login_failures_per_user=3,
        login_failures_per_address=1000,
    )
    db = create_db_engine(settings.resolved_database_url())
    logins = Logins(settings)
    try:
        # A good login first: it stays usable (cached) while the name is under attack.
        assert logins.login_blocking(db, KNOWN_USER, KNOWN_PASS, "10.0.0.9") is not None
        with caplog.at_level("WARNING", logger="iptvsync.auth"):
            for n in range(3):
                assert (
                    logins.login_blocking(db, KNOWN_USER, "guess-number-x", f"10.1.0.{n}") is None
                )
        assert "guess-number-x" not in caplog.text
        assert "failed login for user 'viewer' from 10.1.0.0" in caplog.text
        with pytest.raises(TooManyRequests) as caught:
            logins.login_blocking(db, KNOWN_USER, "guess-number-y", "10.2.0.1")
        assert caught.value.retry_after_s >= 1
        # Another name from the same addresses is not affected...
        assert logins.login_blocking(db, "someone-else", "guess-number-x", "10.1.0.0") is None
        # ...and the device that logged in before keeps working (a cached success).
        assert logins.login_blocking(db, KNOWN_USER, KNOWN_PASS, "10.0.0.9") is not None
    finally:
        logins.pool.close()
        db.dispose()
